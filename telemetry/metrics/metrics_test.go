package metrics

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestRegistryServesSDKAndRuntimeMetrics(t *testing.T) {
	r, err := New(zap.NewNop())
	require.NoError(t, err)
	r.Handler().Counter("genesys_ingest_conversations_stored").Inc(3)

	rec := httptest.NewRecorder()
	r.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	assert.Equal(t, 200, rec.Code)
	assert.Contains(t, string(body), "genesys_ingest_conversations_stored")
	assert.Contains(t, string(body), "go_goroutines")
}
