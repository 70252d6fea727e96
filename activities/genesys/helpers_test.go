package genesys

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
)

const (
	testClientID     = "test-client-id"
	testClientSecret = "s3cret-VALUE-never-printed"
	// Conversation ids from the fixtures in the module's testdata/analytics.
	fixtureID = "5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e10"
	otherID   = "7f1e2d3c-4b5a-4968-8776-655443322110"
)

// fakeGenesys serves the token endpoint and the analytics API on one test
// server and counts the requests each receives.
type fakeGenesys struct {
	*httptest.Server
	tokenRequests atomic.Int64
	apiRequests   atomic.Int64
}

// newFake starts a server. A nil token handler issues "access-token-<n>"
// valid for a day; api handles everything under /api/.
func newFake(t *testing.T, token, api http.HandlerFunc) *fakeGenesys {
	t.Helper()
	f := &fakeGenesys{}
	if token == nil {
		token = issueTokens(86400)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		f.tokenRequests.Add(1)
		token(w, r)
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		f.apiRequests.Add(1)
		api(w, r)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// issueTokens answers every token request with a new token, numbered from 1.
func issueTokens(expiresIn int) http.HandlerFunc {
	var issued atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		n := issued.Add(1)
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"access_token":"access-token-%d","token_type":"bearer","expires_in":%d}`, n, expiresIn))
	}
}

func (f *fakeGenesys) config() Config {
	return Config{
		APIBaseURL:   f.URL,
		LoginBaseURL: f.URL,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Timeout:      5 * time.Second,
	}
}

func (f *fakeGenesys) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(f.config())
	require.NoError(t, err)
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string, headerPairs ...string) {
	for i := 0; i+1 < len(headerPairs); i += 2 {
		w.Header().Set(headerPairs[i], headerPairs[i+1])
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// hang never answers. It drains the body first because the server only
// notices the client hanging up, and cancels r.Context(), once the body has
// been read.
func hang(_ http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// respond returns a handler that always answers with status and body.
func respond(status int, body string, headerPairs ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, body, headerPairs...) }
}

func genesysError(status int, code, message string) string {
	return fmt.Sprintf(`{"message":%q,"code":%q,"status":%d,"contextId":"ctx-123","details":[],"errors":[]}`, message, code, status)
}

func conversationJSON(id string) string {
	return `{"conversationId":"` + id + `","conversationStart":"2026-11-27T10:54:47.667Z"}`
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	return fixtures.Read(t, "analytics/"+name)
}

// fakeClock is a settable clock for token-expiry tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func fetchOne(t *testing.T, c *Client, ids ...string) (*Fetched, error) {
	t.Helper()
	if len(ids) == 0 {
		ids = []string{fixtureID}
	}
	return c.FetchConversations(context.Background(), ids)
}
