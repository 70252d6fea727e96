package genesys

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordedHooks collects what the client's hooks hear.
type recordedHooks struct {
	mu       sync.Mutex
	waits    []time.Duration
	renewals int
}

func (h *recordedHooks) config(cfg Config) Config {
	cfg.OnRetryAfter = func(wait time.Duration) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.waits = append(h.waits, wait)
	}
	cfg.OnTokenRenewed = func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.renewals++
	}
	return cfg
}

func TestHooksHearTheWaitOfEach429(t *testing.T) {
	for name, tc := range map[string]struct {
		api  http.HandlerFunc
		want []time.Duration
	}{
		"Retry-After header": {respond(http.StatusTooManyRequests, genesysError(429, "too.many.requests", "slow down"), "Retry-After", "7"),
			[]time.Duration{7 * time.Second}},
		"seconds in the message": {respond(http.StatusTooManyRequests, genesysError(429, "too.many.requests", "Rate limit exceeded the maximum. Retry the request in [42] seconds")),
			[]time.Duration{42 * time.Second}},
		"no wait named":    {respond(http.StatusTooManyRequests, genesysError(429, "too.many.requests", "slow down")), nil},
		"not a 429":        {respond(http.StatusServiceUnavailable, genesysError(503, "unavailable", "down"), "Retry-After", "5"), nil},
		"a plain-text 429": {respond(http.StatusTooManyRequests, "Retry the request in [3] seconds"), []time.Duration{3 * time.Second}},
	} {
		t.Run(name, func(t *testing.T) {
			var h recordedHooks
			c, err := New(h.config(newFake(t, nil, tc.api).config()))
			require.NoError(t, err)
			_, err = fetchOne(t, c)
			require.Error(t, err)
			assert.Equal(t, tc.want, h.waits)
		})
	}
}

func TestHooksHearEachNewToken(t *testing.T) {
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		// The first token is refused once, which makes the client get a
		// second one.
		if r.Header.Get("Authorization") == "Bearer access-token-1" {
			writeJSON(w, http.StatusUnauthorized, genesysError(401, "bad.credentials", "expired"))
			return
		}
		writeJSON(w, http.StatusOK, conversationJSON(fixtureID))
	})
	var h recordedHooks
	c, err := New(h.config(f.config()))
	require.NoError(t, err)
	for range 3 {
		_, err = fetchOne(t, c)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, h.renewals, "the first token and its replacement; the cached one is no renewal")
}
