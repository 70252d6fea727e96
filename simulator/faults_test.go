package simulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaultError5xxAnswers503ServiceUnavailable(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	h.settings(`{"error5xxRate": 1}`)
	res := h.do(http.MethodGet, conversationPath(h.srv.gen.ConversationID(0)), token, nil)
	assertGenesysError(t, res, http.StatusServiceUnavailable, "service.unavailable")
	if res.header.Get("inin-ratelimit-count") != "1" {
		t.Error("faulted response lacks rate-limit headers")
	}
	if c := h.srv.Counters(); c.Faults["error5xx"] != 1 || c.FaultsInjected != 1 {
		t.Errorf("counters = %+v", c)
	}
}

func TestFaultTimeoutAnswers504RequestTimeout(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	h.settings(`{"timeout504Rate": 1}`)
	assertGenesysError(t, h.do(http.MethodGet, multiGetPath(h.srv.gen.ConversationID(0)), token, nil), http.StatusGatewayTimeout, "request.timeout")
}

func TestFaultSlowDelaysTheResponse(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	h.settings(`{"slowRate": 1, "slowDelay": "150ms"}`)
	start := time.Now()
	res := h.do(http.MethodGet, conversationPath(h.srv.gen.ConversationID(0)), token, nil)
	if elapsed := time.Since(start); res.status != http.StatusOK || elapsed < 150*time.Millisecond {
		t.Fatalf("status %d after %s", res.status, elapsed)
	}
}

func TestFaultResetClosesTheConnectionWithoutResponse(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	h.settings(`{"resetRate": 1}`)
	req, _ := http.NewRequest(http.MethodGet, h.url+conversationPath(h.srv.gen.ConversationID(0)), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if res, err := client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("got a response (%d), want a dropped connection", res.StatusCode)
	}
	if h.srv.Counters().Faults["reset"] == 0 {
		t.Error("reset not counted")
	}
}

func TestFaultMalformedServes200WithInvalidJSON(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	h.settings(`{"malformedRate": 1}`)
	res := h.do(http.MethodGet, multiGetPath(h.srv.gen.ConversationID(0)), token, nil)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/json" || json.Valid(res.body) || len(res.body) == 0 {
		t.Fatalf("status %d, valid JSON %v", res.status, json.Valid(res.body))
	}
}

func TestFaultsSpareTheTokenAndControlEndpoints(t *testing.T) {
	h := newHarness(t)
	h.settings(`{"error5xxRate": 1}`)
	h.token()
	h.emit(EmitRequest{Conversations: 1})
	if res := h.do(http.MethodGet, "/healthz", "", nil); res.status != http.StatusOK || string(res.body) != "ok" {
		t.Fatalf("healthz: %d %q", res.status, res.body)
	}
}

func TestFaultsAreRepeatableForASeed(t *testing.T) {
	statuses := func() []int {
		h := newHarness(t)
		token := h.token()
		h.settings(`{"error5xxRate": 0.3, "timeout504Rate": 0.2}`)
		var out []int
		for range 40 {
			out = append(out, h.do(http.MethodGet, conversationPath(h.srv.gen.ConversationID(0)), token, nil).status)
		}
		return out
	}
	a, b := statuses(), statuses()
	if !slices.Equal(a, b) {
		t.Fatalf("fault sequences differ:\n%v\n%v", a, b)
	}
	for _, s := range []int{200, 503, 504} {
		if !slices.Contains(a, s) {
			t.Errorf("no %d in %v", s, a)
		}
	}
}

func TestSettingsRejectInvalidValuesAndChangeNothing(t *testing.T) {
	h := newHarness(t)
	before := h.do(http.MethodGet, "/sim/settings", "", nil).body
	for _, patch := range []string{
		`{"error5xxRate": 1.5}`, `{"slowRate": -0.1}`, `{"error5xxRate": 0.6, "resetRate": 0.6}`,
		`{"absentFor": "soon"}`, `{"wrapupFor": "-1s"}`, `{"tokenLifetime": "10ms"}`, `{"rateLimitPerMinute": 0}`,
		`{"absentFor": 30}`, `{"unknownKnob": true}`, `not json`,
		`{"htmlErrorRate": 0.5, "rateLimitStormRate": 0.6}`, `{"outage": "down"}`, `{"stormRetryAfter": "0s"}`,
		`{"poisonRate": 2}`, `{"forceUnauthorized": -1}`,
	} {
		res := h.do(http.MethodPost, "/sim/settings", "", patch)
		var e controlError
		res.json(t, &e)
		if res.status != http.StatusBadRequest || e.Error == "" {
			t.Errorf("%s: %d %s", patch, res.status, res.body)
		}
	}
	if after := h.do(http.MethodGet, "/sim/settings", "", nil).body; string(after) != string(before) {
		t.Fatalf("settings changed by rejected patches: %s", after)
	}
}

func TestSettingsPartialUpdateKeepsOtherFields(t *testing.T) {
	h := newHarness(t)
	h.settings(`{"absentFor": "45s", "slowRate": 0.25}`)
	var got settingsJSON
	h.do(http.MethodGet, "/sim/settings", "", nil).json(t, &got)
	want := settingsJSON{
		RateLimitPerMinute: 300, TokenRateLimitPerMinute: 60, TokenLifetime: "24h0m0s", AbsentFor: "45s",
		WrapupFor: "0s", LateWrapUpFor: "0s", SlowRate: 0.25, SlowDelay: "2s", StormRetryAfter: "30s", QueryResultLimit: 100_000,
	}
	if got != want {
		t.Fatalf("settings = %+v, want %+v", got, want)
	}
}

func TestOutage503AnswersEveryAPIRequestUntilSwitchedOff(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	id := h.srv.gen.ConversationID(0)
	h.settings(`{"outage": "503"}`)
	for _, tok := range []string{token, ""} { // the front door is down: no token needed to see it
		assertGenesysError(t, h.do(http.MethodGet, multiGetPath(id), tok, nil), http.StatusServiceUnavailable, "service.unavailable")
	}
	if c := h.srv.Counters(); c.Faults["outage"] != 2 || c.Requests != 2 || c.Unauthorized != 0 {
		t.Fatalf("counters = %+v", c)
	}
	h.settings(`{"outage": ""}`)
	if got := h.multiGet(token, id); len(got) != 1 {
		t.Fatalf("after the outage: %d conversations", len(got))
	}
}

func TestOutageResetDropsEveryConnection(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	h.settings(`{"outage": "reset"}`)
	req, _ := http.NewRequest(http.MethodGet, h.url+conversationPath(h.srv.gen.ConversationID(0)), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if res, err := client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("got a response (%d), want a dropped connection", res.StatusCode)
	}
	if h.srv.Counters().Faults["outage"] != 1 {
		t.Error("outage not counted")
	}
}

func TestFaultHTMLErrorAnswers502WithAnHTMLPage(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	h.settings(`{"htmlErrorRate": 1}`)
	res := h.do(http.MethodGet, multiGetPath(h.srv.gen.ConversationID(0)), token, nil)
	if res.status != http.StatusBadGateway || res.header.Get("Content-Type") != "text/html" ||
		!strings.HasPrefix(string(res.body), "<html>") || json.Valid(res.body) {
		t.Fatalf("status %d, %s: %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	if h.srv.Counters().Faults["htmlError"] != 1 {
		t.Error("html error not counted")
	}
}

func TestRateLimitStormAnswers429WithTheConfiguredRetryAfter(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	h.settings(`{"rateLimitStormRate": 1, "stormRetryAfter": "45s"}`)
	res := h.do(http.MethodGet, multiGetPath(h.srv.gen.ConversationID(0)), token, nil)
	body := assertGenesysError(t, res, http.StatusTooManyRequests, "too.many.requests.retry.after")
	if res.header.Get("Retry-After") != "45" || !strings.Contains(body["message"].(string), "[45]") {
		t.Fatalf("Retry-After %q, message %q", res.header.Get("Retry-After"), body["message"])
	}
	if res.header.Get("inin-ratelimit-count") != "1" {
		t.Error("a storm's 429 lacks the token's rate-limit headers")
	}
	if c := h.srv.Counters(); c.RateLimited != 1 || c.Faults["rateLimitStorm"] != 1 {
		t.Fatalf("counters = %+v", c)
	}
}

func TestForceUnauthorizedAnswers401ForTheNextRequestsOnly(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	id := h.srv.gen.ConversationID(0)
	h.settings(`{"forceUnauthorized": 2}`)
	for range 2 {
		assertGenesysError(t, h.do(http.MethodGet, conversationPath(id), token, nil), http.StatusUnauthorized, "credentials.expired")
	}
	if res := h.do(http.MethodGet, conversationPath(id), token, nil); res.status != http.StatusOK {
		t.Fatalf("third request: %d %s", res.status, res.body)
	}
	if c := h.srv.Counters(); c.Unauthorized != 2 || c.Faults["forcedUnauthorized"] != 2 {
		t.Fatalf("counters = %+v", c)
	}
}

func TestPermissionRevokedAnswers403UntilRestored(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	id := h.srv.gen.ConversationID(0)
	h.settings(`{"permissionRevoked": true}`)
	body := assertGenesysError(t, h.do(http.MethodGet, multiGetPath(id), token, nil), http.StatusForbidden, "missing.permissions")
	if !strings.Contains(body["message"].(string), "analytics:conversationDetail:view") {
		t.Errorf("message %q does not name the permission", body["message"])
	}
	// Authentication still comes first.
	assertGenesysError(t, h.do(http.MethodGet, multiGetPath(id), "", nil), http.StatusUnauthorized, "authentication.required")
	h.settings(`{"permissionRevoked": false}`)
	if got := h.multiGet(token, id); len(got) != 1 {
		t.Fatalf("after restoring: %d conversations", len(got))
	}
	if h.srv.Counters().Faults["permissionRevoked"] != 1 {
		t.Error("403 not counted")
	}
}
