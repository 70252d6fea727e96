package simulator

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimitRejectsThe301stRequestOfAWindow(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	path := conversationPath(h.srv.gen.ConversationID(0))

	for i := 1; i <= 300; i++ {
		res := h.do(http.MethodGet, path, token, nil)
		if res.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, res.status, res.body)
		}
		if got := res.header.Get("inin-ratelimit-count"); got != strconv.Itoa(i) {
			t.Fatalf("request %d: inin-ratelimit-count = %q", i, got)
		}
		if res.header.Get("inin-ratelimit-allowed") != "300" || res.header.Get("inin-ratelimit-reset") != "60" {
			t.Fatalf("request %d: rate headers %v", i, res.header)
		}
	}

	h.clock.Advance(20 * time.Second)
	res := h.do(http.MethodGet, path, token, nil)
	body := assertGenesysError(t, res, http.StatusTooManyRequests, "too.many.requests.retry.after")
	if got := res.header.Get("Retry-After"); got != "40" {
		t.Errorf("Retry-After = %q, want 40", got)
	}
	if want := "Rate limit exceeded the maximum. Retry the request in [40] seconds"; body["message"] != want {
		t.Errorf("message = %q, want %q", body["message"], want)
	}
	if len(body) != 6 {
		t.Errorf("body has keys beyond message, code, status, contextId, details, errors: %s", res.body)
	}
	if res.header.Get("inin-ratelimit-count") != "301" || res.header.Get("inin-ratelimit-reset") != "40" {
		t.Errorf("rate headers on 429: %v", res.header)
	}

	h.clock.Advance(40 * time.Second)
	res = h.do(http.MethodGet, path, token, nil)
	if res.status != http.StatusOK || res.header.Get("inin-ratelimit-count") != "1" {
		t.Fatalf("after the window: %d count %q", res.status, res.header.Get("inin-ratelimit-count"))
	}
	if c := h.srv.Counters(); c.RateLimited != 1 || c.Requests != 302 {
		t.Errorf("counters = %+v", c)
	}
}

func TestRateLimitIsPerToken(t *testing.T) {
	h := newHarness(t)
	h.settings(`{"rateLimitPerMinute": 2}`)
	first, second := h.token(), h.token()
	path := conversationPath(h.srv.gen.ConversationID(0))
	for range 2 {
		h.do(http.MethodGet, path, first, nil)
	}
	if res := h.do(http.MethodGet, path, first, nil); res.status != http.StatusTooManyRequests {
		t.Fatalf("first token, 3rd request: %d", res.status)
	}
	if res := h.do(http.MethodGet, path, second, nil); res.status != http.StatusOK {
		t.Fatalf("second token: %d", res.status)
	}
}
