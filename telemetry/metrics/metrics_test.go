package metrics

import (
	"bytes"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestRegistryServesSDKAndRuntimeMetrics(t *testing.T) {
	r, err := New(Config{Interval: time.Minute}, zap.NewNop())
	require.NoError(t, err)
	r.Handler().Counter("genesys_ingest_conversations_stored").Inc(3)

	body := scrape(t, r)
	assert.Contains(t, body, "genesys_ingest_conversations_stored")
	assert.Contains(t, body, "go_goroutines")
}

// The Prometheus names are the README's; dashboards and the bench read
// them.
func TestPrometheusNamesOfTheContract(t *testing.T) {
	var emf bytes.Buffer
	r, err := New(Config{EMF: true, Interval: time.Minute, Namespace: "GenesysIngest", Output: &emf}, zap.NewNop())
	require.NoError(t, err)
	g, err := r.Genesys(4.5)
	require.NoError(t, err)
	g.Observe("GET /api/v2/analytics/conversations/details", 429, 80*time.Millisecond)
	g.RetryAfter(42 * time.Second)
	g.TokenRenewed()
	r.Handler().WithTags(map[string]string{"reason": "RateLimited"}).Counter("genesys_ingest_blocked").Inc(1)
	r.Handler().Timer("genesys_ingest_freshness").Record(2 * time.Second)

	body := scrape(t, r)
	for _, want := range []string{
		`genesys_ingest_genesys_requests_total{endpoint="GET /api/v2/analytics/conversations/details",status_class="429"} 1`,
		`genesys_ingest_genesys_rate_limited_total 1`,
		`genesys_ingest_genesys_retry_after_seconds_bucket{le="60"} 1`,
		`genesys_ingest_genesys_token_renewals_total 1`,
		`genesys_ingest_genesys_response_time_seconds_bucket{endpoint="GET /api/v2/analytics/conversations/details",le="0.1"} 1`,
		`genesys_ingest_genesys_budget_use_percent `,
		`genesys_ingest_freshness_seconds_bucket{le="2"} 1`,
		`genesys_ingest_blocked{reason="RateLimited"} 1`,
	} {
		assert.Contains(t, body, want)
	}
	assert.Empty(t, emf.String(), "nothing is written before the interval ends")
}

func TestIntervalIsRequired(t *testing.T) {
	_, err := New(Config{}, zap.NewNop())
	assert.ErrorContains(t, err, "Interval must be above 0")
}

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return string(body)
}
