package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestFiftyConcurrentClients exercises reads, emissions, settings changes and
// counter resets at once; run with -race it guards the server's locking.
func TestFiftyConcurrentClients(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Settings = DefaultSettings()
		c.Settings.RateLimitPerMinute = 1_000_000
	})
	tokens := make([]string, 50)
	for i := range tokens {
		tokens[i] = h.token()
	}
	get := func(path, token string) (int, []byte, error) {
		req, _ := http.NewRequest(http.MethodGet, h.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res.StatusCode, body, err
	}

	var wg sync.WaitGroup
	for w, token := range tokens {
		wg.Go(func() {
			for k := range 20 {
				ids := make([]string, 10)
				for j := range ids {
					ids[j] = h.srv.gen.ConversationID((w*31 + k*10 + j) % 200)
				}
				status, body, err := get(multiGetPath(ids...), token)
				var out struct{ Conversations []json.RawMessage }
				if err != nil || status != http.StatusOK || json.Unmarshal(body, &out) != nil {
					t.Errorf("worker %d: %d %v", w, status, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := h.srv.Emit(EmitRequest{Conversations: 20, Poison: true}); err != nil {
				t.Errorf("emit: %v", err)
			}
		}
	})
	wg.Go(func() {
		for k := range 10 {
			res, err := http.Post(h.url+"/sim/settings", "application/json", strings.NewReader(fmt.Sprintf(`{"absentFor":"%ds"}`, k)))
			if err != nil {
				t.Errorf("settings: %v", err)
				return
			}
			res.Body.Close()
			h.srv.counters.reset()
		}
	})
	wg.Wait()
}
