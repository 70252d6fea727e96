package simulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// poisoned emits n conversations at rate and returns the ground truth of
// each, by id.
func (h *harness) poisoned(n int, rate string) (ids []string, truth map[string]GroundTruth) {
	h.t.Helper()
	h.settings(`{"poisonRate": ` + rate + `}`)
	ids = h.emit(EmitRequest{Conversations: n}).ConversationIDs
	truth = map[string]GroundTruth{}
	for _, id := range ids {
		var gt GroundTruth
		h.do(http.MethodGet, "/sim/conversations/"+id+"/expected", "", nil).json(h.t, &gt)
		truth[id] = gt
	}
	return ids, truth
}

// byKind returns the poisoned ids of each kind, "" being the clean ones.
func byKind(ids []string, truth map[string]GroundTruth) map[string][]string {
	out := map[string][]string{}
	for _, id := range ids {
		gt := truth[id]
		if gt.Poisoned != (gt.PoisonKind != "") {
			panic("poisoned and poisonKind disagree for " + id)
		}
		out[gt.PoisonKind] = append(out[gt.PoisonKind], id)
	}
	return out
}

func TestPoisonRatePoisonsTheSameIDsForASeedAndExposesThem(t *testing.T) {
	ids, truth := newHarness(t).poisoned(200, "0.2")
	kinds := byKind(ids, truth)
	bad := len(kinds["badRequest"]) + len(kinds["brokenRecord"])
	if bad < 20 || bad > 60 || len(kinds["badRequest"]) == 0 || len(kinds["brokenRecord"]) == 0 {
		t.Fatalf("poisoned at 0.2 of 200: %d badRequest, %d brokenRecord", len(kinds["badRequest"]), len(kinds["brokenRecord"]))
	}
	ids2, truth2 := newHarness(t).poisoned(200, "0.2")
	if !slices.Equal(ids, ids2) {
		t.Fatal("ids differ between servers with the same seed")
	}
	for _, id := range ids {
		if truth[id].PoisonKind != truth2[id].PoisonKind {
			t.Fatalf("%s poisoned %q once and %q the other time", id, truth[id].PoisonKind, truth2[id].PoisonKind)
		}
	}
}

func TestPoisonRateAppliesToConversationsEmittedAfterwards(t *testing.T) {
	h := newHarness(t)
	cleanIDs, clean := h.poisoned(30, "0")
	if kinds := byKind(cleanIDs, clean); len(kinds[""]) != 30 {
		t.Fatalf("poisoned at rate 0: %v", kinds)
	}
	badIDs, bad := h.poisoned(10, "1")
	if kinds := byKind(badIDs, bad); len(kinds[""]) != 0 {
		t.Fatalf("clean at rate 1: %v", kinds[""])
	}
	// Switching the rate off does not heal the ones already poisoned.
	h.settings(`{"poisonRate": 0}`)
	var gt GroundTruth
	h.do(http.MethodGet, "/sim/conversations/"+badIDs[0]+"/expected", "", nil).json(t, &gt)
	if !gt.Poisoned {
		t.Fatal("a poisoned conversation healed when the rate went to 0")
	}
}

func TestPoisonBadRequestRefusesEveryRequestNamingTheID(t *testing.T) {
	h := newHarness(t)
	ids, truth := h.poisoned(40, "0.3")
	kinds := byKind(ids, truth)
	bad, clean := kinds["badRequest"][0], kinds[""][:2]
	token := h.token()

	body := assertGenesysError(t, h.do(http.MethodGet, multiGetPath(clean[0], bad, clean[1]), token, nil), http.StatusBadRequest, "bad.request")
	msg := body["message"].(string)
	if !strings.Contains(msg, bad) || strings.Contains(msg, clean[0]) {
		t.Fatalf("message %q should name %s and only it", msg, bad)
	}
	assertGenesysError(t, h.do(http.MethodGet, conversationPath(bad), token, nil), http.StatusBadRequest, "bad.request")
	if got := h.multiGet(token, clean...); len(got) != 2 {
		t.Fatalf("clean ids: %d conversations", len(got))
	}
	if c := h.srv.Counters(); c.Faults["poisonBadRequest"] != 2 {
		t.Fatalf("counters = %+v", c)
	}
}

func TestPoisonBrokenRecordServesARecordThatCannotBeMapped(t *testing.T) {
	h := newHarness(t)
	ids, truth := h.poisoned(40, "0.3")
	broken := byKind(ids, truth)["brokenRecord"][0]
	token := h.token()
	for _, res := range []response{h.do(http.MethodGet, conversationPath(broken), token, nil), h.do(http.MethodGet, multiGetPath(broken, ids[0]), token, nil)} {
		if res.status != http.StatusOK || !json.Valid(res.body) || !strings.Contains(string(res.body), `"participants":"x"`) {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
	}
	var rec AnalyticsConversation
	if err := json.Unmarshal(h.do(http.MethodGet, conversationPath(broken), token, nil).body, &rec); err == nil {
		t.Fatal("the broken record maps onto the analytics model")
	}
	if gt := truth[broken]; gt.Complete.ConversationID != broken || len(gt.Complete.Participants) == 0 {
		t.Fatal("the ground truth of a broken record is not the generated conversation")
	}
	if h.srv.Counters().Faults["poisonBrokenRecord"] != 3 {
		t.Fatalf("counters = %+v", h.srv.Counters())
	}
}
