package simulator

import (
	"net/http"
	"testing"
)

func TestCountersCountEachOutcomeAndReset(t *testing.T) {
	h := newHarness(t)
	g := h.srv.gen
	token := h.token()
	h.requestToken(testID, "wrong", "client_credentials")
	h.do(http.MethodGet, conversationPath(g.ConversationID(0)), token, nil)
	h.do(http.MethodGet, conversationPath("missing"), token, nil)
	h.do(http.MethodGet, multiGetPath(g.ConversationID(1), g.ConversationID(2), "missing"), token, nil)
	h.do(http.MethodGet, multiGetPath(g.ConversationID(1)), "", nil)
	h.do(http.MethodGet, "/api/v2/nothing-here", token, nil)
	h.emit(EmitRequest{Conversations: 2})

	var c Counters
	h.do(http.MethodGet, "/sim/counters", "", nil).json(t, &c)
	want := Counters{
		Requests: 5, TokenRequests: 2, Unauthorized: 1, IDsRequested: 5, IDsServed: 3, NotFound: 2, Emitted: 2,
	}
	if c.Requests != want.Requests || c.TokenRequests != want.TokenRequests || c.Unauthorized != want.Unauthorized ||
		c.IDsRequested != want.IDsRequested || c.IDsServed != want.IDsServed || c.NotFound != want.NotFound ||
		c.Emitted != want.Emitted || c.EventsEmitted == 0 {
		t.Fatalf("counters = %+v", c)
	}
	byEndpoint := map[string]int64{
		"POST /oauth/token": 2, "GET /api/v2/analytics/conversations/{id}/details": 2,
		"GET /api/v2/analytics/conversations/details": 2, "POST /api/v2/analytics/conversations/details/query": 0, "other /api": 1,
	}
	for k, v := range byEndpoint {
		if c.ByEndpoint[k] != v {
			t.Errorf("byEndpoint[%s] = %d, want %d", k, c.ByEndpoint[k], v)
		}
	}

	if res := h.do(http.MethodPost, "/sim/counters/reset", "", nil); res.status != http.StatusOK {
		t.Fatalf("reset: %d", res.status)
	}
	if c := h.srv.Counters(); c.Requests != 0 || c.TokenRequests != 0 || c.Emitted != 0 || c.ByEndpoint["POST /oauth/token"] != 0 {
		t.Fatalf("after reset: %+v", c)
	}
}
