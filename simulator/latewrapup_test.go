package simulator

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

// TestLateWrapUpShowsConversationEndBeforeTheWrapUpCodes: after the
// not-ready window, an emitted conversation is served closed (conversationEnd,
// every segment ended) but without its wrap-up codes for LateWrapUpFor, then
// exactly as generated.
func TestLateWrapUpShowsConversationEndBeforeTheWrapUpCodes(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Settings = DefaultSettings()
		c.Settings.WrapupFor = 10 * time.Second
		c.Settings.LateWrapUpFor = 30 * time.Second
	})
	token := h.token()
	ids := h.emit(EmitRequest{Conversations: 20}).ConversationIDs
	k := 0
	for len(Generate(testSeed, k).Expected.WrapUpCodes) == 0 {
		k++
	}
	id, truth := ids[k], Generate(testSeed, k)

	h.clock.Advance(10 * time.Second)
	var rec AnalyticsConversation
	res := h.do(http.MethodGet, conversationPath(id), token, nil)
	res.json(t, &rec)
	if res.status != http.StatusOK || rec.ConversationEnd != truth.Record.ConversationEnd {
		t.Fatalf("late wrap-up: %d, conversationEnd %q, want %q", res.status, rec.ConversationEnd, truth.Record.ConversationEnd)
	}
	if !bytes.Equal(mustMarshal(rec), mustMarshal(truth.LateWrapUp())) {
		t.Fatalf("late wrap-up record differs from Conversation.LateWrapUp")
	}
	wrapups := 0
	for _, p := range rec.Participants {
		for _, s := range p.Sessions {
			for _, g := range s.Segments {
				if g.SegmentEnd == "" || g.WrapUpCode != "" {
					t.Fatalf("segment %+v: open, or its wrap-up code is already there", g)
				}
				if g.SegmentType == "wrapup" {
					wrapups++
				}
			}
		}
	}
	if wrapups != len(truth.Expected.WrapUpCodes) {
		t.Fatalf("%d wrap-up segments, want %d", wrapups, len(truth.Expected.WrapUpCodes))
	}
	var gt GroundTruth
	h.do(http.MethodGet, "/sim/conversations/"+id+"/expected", "", nil).json(t, &gt)
	if gt.State != "lateWrapUp" {
		t.Fatalf("ground truth state %q", gt.State)
	}

	h.clock.Advance(30 * time.Second)
	if res = h.do(http.MethodGet, conversationPath(id), token, nil); !bytes.Equal(res.body, mustMarshal(truth.Record)) {
		t.Fatalf("record after the late window differs from Generate")
	}
}

func TestLateWrapUpIsOffByDefault(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Settings = DefaultSettings() })
	id := h.emit(EmitRequest{Conversations: 1}).ConversationIDs[0]
	if res := h.do(http.MethodGet, conversationPath(id), h.token(), nil); !bytes.Equal(res.body, mustMarshal(Generate(testSeed, 0).Record)) {
		t.Fatalf("a conversation ready at once is served as generated")
	}
}
