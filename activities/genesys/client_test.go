package genesys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validConfig() Config {
	return Config{
		APIBaseURL:   "https://api.mypurecloud.ie",
		LoginBaseURL: "https://login.mypurecloud.ie",
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
	}
}

func TestNew_RejectsEachInvalidSetting(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"missing API base URL", func(c *Config) { c.APIBaseURL = "" }, "APIBaseURL is empty"},
		{"API base URL without scheme", func(c *Config) { c.APIBaseURL = "api.mypurecloud.ie" }, "APIBaseURL"},
		{"API base URL with path", func(c *Config) { c.APIBaseURL = "https://api.mypurecloud.ie/api/v2" }, "scheme://host only"},
		{"API base URL with query", func(c *Config) { c.APIBaseURL = "https://api.mypurecloud.ie?x=1" }, "scheme://host only"},
		{"API base URL with ftp scheme", func(c *Config) { c.APIBaseURL = "ftp://api.mypurecloud.ie" }, "scheme must be https"},
		{"unparsable login base URL", func(c *Config) { c.LoginBaseURL = "https://bad host" }, "LoginBaseURL is not a URL"},
		{"missing login base URL", func(c *Config) { c.LoginBaseURL = "" }, "LoginBaseURL is empty"},
		{"missing client id", func(c *Config) { c.ClientID = " " }, "ClientID is empty"},
		{"missing client secret", func(c *Config) { c.ClientSecret = "" }, "ClientSecret is empty"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "Timeout -1s is negative"},
		{"negative response limit", func(c *Config) { c.MaxResponseBytes = -1 }, "MaxResponseBytes -1 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.mutate(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), testClientSecret)
		})
	}
}

func TestNew_ReportsAllProblemsAtOnce(t *testing.T) {
	_, err := New(Config{})
	require.Error(t, err)
	for _, want := range []string{"APIBaseURL", "LoginBaseURL", "ClientID", "ClientSecret"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestNew_AppliesDefaultsAndTrimsTrailingSlash(t *testing.T) {
	cfg := validConfig()
	cfg.APIBaseURL += "/"
	c, err := New(cfg)
	require.NoError(t, err)
	assert.Equal(t, "https://api.mypurecloud.ie", c.apiBase)
	assert.Equal(t, 30*time.Second, c.timeout)
	assert.Equal(t, defaultUserAgent, c.userAgent)
	assert.EqualValues(t, 16<<20, c.maxBody)
}

func TestNew_TransportKeepsConnectionsForFiftyConcurrentRequests(t *testing.T) {
	c, err := New(validConfig())
	require.NoError(t, err)
	tr, ok := c.http.Transport.(*http.Transport)
	require.True(t, ok)
	assert.GreaterOrEqual(t, tr.MaxIdleConnsPerHost, 50)
	assert.GreaterOrEqual(t, tr.MaxIdleConns, 50)
	assert.NotZero(t, tr.TLSHandshakeTimeout)
	assert.NotZero(t, tr.IdleConnTimeout)
}

func TestClient_PrintsNoCredentialsWithAnyVerb(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, conversationJSON(fixtureID)))
	c := f.client(t)
	_, err := fetchOne(t, c)
	require.NoError(t, err)
	holder := struct{ C *Client }{c}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		for _, v := range []any{c, holder} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, testClientSecret, verb)
			assert.NotContains(t, out, "access-token-1", verb)
		}
	}
	assert.Contains(t, fmt.Sprintf("%+v", c), testClientID)
}

func TestFetch_SendsUserAgentAndAcceptHeaders(t *testing.T) {
	var ua, accept string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		ua, accept = r.UserAgent(), r.Header.Get("Accept")
		writeJSON(w, http.StatusOK, conversationJSON(fixtureID))
	})
	cfg := f.config()
	cfg.UserAgent = "ingest-test/1.0"
	c, err := New(cfg)
	require.NoError(t, err)
	_, err = fetchOne(t, c)
	require.NoError(t, err)
	assert.Equal(t, "ingest-test/1.0", ua)
	assert.Equal(t, "application/json", accept)
}

func TestFetch_ObserverSeesEveryRequestByRouteTemplate(t *testing.T) {
	type observation struct {
		endpoint string
		status   int
	}
	var (
		mu   sync.Mutex
		seen []observation
	)
	f := newFake(t, nil, respond(http.StatusNotFound, genesysError(404, "not.found", "nope")))
	cfg := f.config()
	cfg.Observer = func(endpoint string, status int, elapsed time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, observation{endpoint, status})
		assert.Positive(t, elapsed)
	}
	c, err := New(cfg)
	require.NoError(t, err)

	_, err = fetchOne(t, c)
	require.NoError(t, err)

	assert.Equal(t, []observation{
		{"POST /oauth/token", 200},
		{"GET /api/v2/analytics/conversations/{conversationId}/details", 404},
	}, seen)
}

func TestFetch_ObserverGetsStatusZeroWhenNoResponse(t *testing.T) {
	var status = -1
	cfg := validConfig()
	cfg.APIBaseURL, cfg.LoginBaseURL = closedServerURL(t), closedServerURL(t)
	cfg.Observer = func(_ string, s int, _ time.Duration) { status = s }
	c, err := New(cfg)
	require.NoError(t, err)
	_, err = fetchOne(t, c)
	require.Error(t, err)
	assert.Equal(t, 0, status)
}

func TestFetch_ConnectionErrorIsPlainWrappedError(t *testing.T) {
	cfg := validConfig()
	cfg.APIBaseURL, cfg.LoginBaseURL = closedServerURL(t), closedServerURL(t)
	c, err := New(cfg)
	require.NoError(t, err)

	_, err = fetchOne(t, c)

	require.Error(t, err)
	var apiErr *APIError
	var tokErr *TokenError
	assert.False(t, errors.As(err, &apiErr))
	assert.False(t, errors.As(err, &tokErr))
	var opErr *net.OpError
	assert.True(t, errors.As(err, &opErr), "want the dial error wrapped, got %v", err)
	assert.Contains(t, err.Error(), "POST /oauth/token")
}

func TestFetch_ContextCancelledSurfacesCtxErr(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	c := f.client(t)

	_, err := c.FetchConversations(ctx, []string{fixtureID})

	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "GET /api/v2/analytics/conversations/")
}

func TestFetch_AlreadyCancelledContextFailsWhileWaitingForToken(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, conversationJSON(fixtureID)))
	c := f.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := c.FetchConversations(ctx, []string{fixtureID})

	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, f.apiRequests.Load())
}

func TestFetch_CallerDeadlineSurfacesDeadlineExceeded(t *testing.T) {
	f := newFake(t, nil, hang)
	c := f.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err := c.FetchConversations(ctx, []string{fixtureID})

	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestFetch_PerRequestTimeoutIsTransientError(t *testing.T) {
	f := newFake(t, nil, hang)
	cfg := f.config()
	cfg.Timeout = 50 * time.Millisecond
	c, err := New(cfg)
	require.NoError(t, err)

	_, err = fetchOne(t, c)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "no complete response within 50ms")
	var apiErr *APIError
	assert.False(t, errors.As(err, &apiErr))
}

// clientWithLimit returns a client for f reading at most limit bytes of a
// body.
func clientWithLimit(t *testing.T, f *fakeGenesys, limit int64) *Client {
	t.Helper()
	cfg := f.config()
	cfg.MaxResponseBytes = limit
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

func TestFetch_BodyOverLimitWrapsErrResponseTooLarge(t *testing.T) {
	body := `{"conversations":[` + conversationJSON(fixtureID) + `]}`
	for name, api := range map[string]http.HandlerFunc{
		"with Content-Length": respond(http.StatusOK, body),
		"streamed": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			// Sending the header before the body leaves its length unknown.
			_ = http.NewResponseController(w).Flush()
			_, _ = w.Write([]byte(body))
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, nil, api)

			_, err := fetchOne(t, clientWithLimit(t, f, int64(len(body)-1)), fixtureID, otherID)

			require.ErrorIs(t, err, ErrResponseTooLarge)
		})
	}
}

func TestFetch_BodyAtLimitIsAccepted(t *testing.T) {
	body := `{"conversations":[` + conversationJSON(fixtureID) + `]}`
	f := newFake(t, nil, respond(http.StatusOK, body))

	got, err := fetchOne(t, clientWithLimit(t, f, int64(len(body))), fixtureID, otherID)

	require.NoError(t, err)
	assert.Len(t, got.Conversations, 1)
}

// TestFetch_HugeBodyCostsAboutTheLimitInMemory streams 64 MiB to a client
// limited to 1 MiB: it must give up after the limit instead of buffering
// the body, and when the server announces the length, before reading.
func TestFetch_HugeBodyCostsAboutTheLimitInMemory(t *testing.T) {
	const (
		limit = 1 << 20
		huge  = 64 << 20
	)
	tests := []struct {
		name          string
		contentLength bool
		maxAllocated  uint64
	}{
		// Reading up to the limit allocates about twice the limit, and
		// twice that again under the race detector.
		{"streamed", false, 6 * limit},
		{"announced", true, limit / 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			chunk := bytes.Repeat([]byte(" "), 32<<10)
			f := newFake(t, nil, func(w http.ResponseWriter, _ *http.Request) {
				if tc.contentLength {
					w.Header().Set("Content-Length", strconv.Itoa(huge))
				}
				w.WriteHeader(http.StatusOK)
				for sent.Load() < huge {
					n, err := w.Write(chunk)
					sent.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			c := clientWithLimit(t, f, limit)
			_, err := c.bearer(context.Background()) // the token request is not measured
			require.NoError(t, err)

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err = fetchOne(t, c, fixtureID, otherID)
			runtime.ReadMemStats(&after)

			require.ErrorIs(t, err, ErrResponseTooLarge)
			allocated := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, allocated, tc.maxAllocated, "allocated %d bytes", allocated)
			assert.Less(t, sent.Load(), int64(huge), "the client must hang up, not drain the body")
		})
	}
}

// closedServerURL returns the URL of a port nothing listens on.
func closedServerURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}
