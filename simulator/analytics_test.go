package simulator

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMultiGetServesKnownIDsAndOmitsUnknownOnes(t *testing.T) {
	h := newHarness(t)
	g := h.srv.gen
	ids := []string{g.ConversationID(3), "00000000-0000-4000-8000-000000000000", g.ConversationID(1), "junk", g.ConversationID(3)}
	got := h.multiGet(h.token(), ids...)
	if len(got) != 2 || got[0].ConversationID != ids[0] || got[1].ConversationID != ids[2] {
		t.Fatalf("got %d conversations", len(got))
	}
	if c := h.srv.Counters(); c.IDsRequested != 5 || c.IDsServed != 2 || c.NotFound != 2 {
		t.Errorf("counters = %+v", c)
	}
}

func TestMultiGetRejectsMoreThan100IDs(t *testing.T) {
	h := newHarness(t)
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = h.srv.gen.ConversationID(i)
	}
	assertGenesysError(t, h.do(http.MethodGet, multiGetPath(ids...), h.token(), nil), http.StatusBadRequest, "bad.request")
}

func TestSingleGetOfUnknownIDIs404WithGenesysBody(t *testing.T) {
	h := newHarness(t)
	res := h.do(http.MethodGet, conversationPath("3f0c8e8e-0000-4000-8000-000000000000"), h.token(), nil)
	body := assertGenesysError(t, res, http.StatusNotFound, "not.found")
	if len(body) != 6 {
		t.Errorf("unexpected keys in %s", res.body)
	}
}

// query posts a details query and decodes the answer.
func (h *harness) query(token, body string) (int, []AnalyticsConversation, map[string]any) {
	h.t.Helper()
	res := h.do(http.MethodPost, queryPath, token, body)
	var raw map[string]any
	res.json(h.t, &raw)
	var out struct{ Conversations []AnalyticsConversation }
	res.json(h.t, &out)
	return res.status, out.Conversations, raw
}

func interval(from, to time.Time) string {
	return from.Format(timeLayout) + "/" + to.Format(timeLayout)
}

func TestQueryRejectsBadIntervalsAndDeepPaging(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	long := interval(DefaultBaseTime, DefaultBaseTime.Add(32*24*time.Hour))
	for name, body := range map[string]string{
		"missing interval": `{}`,
		"over 31 days":     fmt.Sprintf(`{"interval":%q}`, long),
		"reversed":         fmt.Sprintf(`{"interval":%q}`, interval(DefaultBaseTime, DefaultBaseTime.Add(-time.Hour))),
		"page size 101":    fmt.Sprintf(`{"interval":%q,"paging":{"pageSize":101}}`, interval(DefaultBaseTime, DefaultBaseTime.Add(time.Hour))),
	} {
		res := h.do(http.MethodPost, queryPath, token, body)
		if res.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, res.status)
			continue
		}
		assertGenesysError(t, res, http.StatusBadRequest, "bad.request")
	}
	res := h.do(http.MethodPost, queryPath, token, fmt.Sprintf(`{"interval":%q,"paging":{"pageSize":100,"pageNumber":1001}}`,
		interval(DefaultBaseTime, DefaultBaseTime.Add(time.Hour))))
	body := assertGenesysError(t, res, http.StatusBadRequest, "bad.request")
	if !strings.Contains(body["message"].(string), "Pagination may not exceed 100000 results") {
		t.Errorf("message = %v", body["message"])
	}
}

func TestQueryConversationFiltersSelectByID(t *testing.T) {
	h := newHarness(t)
	token := h.token()
	g := h.srv.gen
	iv := interval(DefaultBaseTime, DefaultBaseTime.Add(24*time.Hour))
	pred := func(i int) string {
		return fmt.Sprintf(`{"dimension":"conversationId","value":%q}`, g.ConversationID(i))
	}

	_, convs, _ := h.query(token, fmt.Sprintf(`{"interval":%q,"conversationFilters":[{"type":"or","predicates":[%s,%s,%s]}]}`, iv, pred(42), pred(7), pred(100)))
	if len(convs) != 3 || convs[0].ConversationID != g.ConversationID(7) || convs[2].ConversationID != g.ConversationID(100) {
		t.Fatalf("or filter: %d results", len(convs))
	}
	_, _, raw := h.query(token, fmt.Sprintf(`{"interval":%q,"conversationFilters":[{"type":"and","predicates":[%s,%s]}]}`, iv, pred(1), pred(2)))
	if raw["totalHits"] != float64(0) {
		t.Fatalf("and of two ids matched %v", raw["totalHits"])
	}
	_, convs, _ = h.query(token, fmt.Sprintf(`{"interval":%q,"conversationFilters":[{"type":"or","predicates":[%s,%s]},{"type":"and","predicates":[%s]}]}`, iv, pred(1), pred(2), pred(2)))
	if len(convs) != 1 || convs[0].ConversationID != g.ConversationID(2) {
		t.Fatalf("filters are not ANDed together")
	}
	res := h.do(http.MethodPost, queryPath, token, fmt.Sprintf(`{"interval":%q,"conversationFilters":[{"type":"or","predicates":[{"dimension":"mediaType","value":"voice"}]}]}`, iv))
	assertGenesysError(t, res, http.StatusBadRequest, "bad.request")
}
