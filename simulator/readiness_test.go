package simulator

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

func TestReadinessLagGoesAbsentThenNotReadyThenComplete(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Settings = DefaultSettings()
		c.Settings.AbsentFor = 30 * time.Second
		c.Settings.WrapupFor = time.Minute
	})
	token := h.token()
	id := h.emit(EmitRequest{Conversations: 1}).ConversationIDs[0]
	truth := Generate(testSeed, 0)
	if truth.Record.ConversationID != id {
		t.Fatalf("emitted %s, conversation 0 is %s", id, truth.Record.ConversationID)
	}

	// Absent: 404 alone, missing from a multi-get.
	assertGenesysError(t, h.do(http.MethodGet, conversationPath(id), token, nil), http.StatusNotFound, "not.found")
	if got := h.multiGet(token, id); len(got) != 0 {
		t.Fatalf("absent conversation served by multi-get")
	}

	// Not ready: present, but no end, no wrap-up, no tAcw/tHandle.
	h.clock.Advance(30 * time.Second)
	var rec AnalyticsConversation
	res := h.do(http.MethodGet, conversationPath(id), token, nil)
	res.json(t, &rec)
	if res.status != http.StatusOK || rec.ConversationEnd != "" {
		t.Fatalf("not-ready: %d, conversationEnd %q", res.status, rec.ConversationEnd)
	}
	for _, p := range rec.Participants {
		for _, s := range p.Sessions {
			for _, g := range s.Segments {
				if g.SegmentType == "wrapup" {
					t.Errorf("not-ready record has a wrap-up segment")
				}
			}
			for _, m := range s.Metrics {
				if m.Name == "tAcw" || m.Name == "tHandle" {
					t.Errorf("not-ready record has %s", m.Name)
				}
			}
		}
	}

	// Complete: exactly the ground truth.
	h.clock.Advance(time.Minute)
	res = h.do(http.MethodGet, conversationPath(id), token, nil)
	if !bytes.Equal(res.body, mustMarshal(truth.Record)) {
		t.Fatalf("complete record differs from Generate")
	}
}

func TestNeverEmittedConversationsAreComplete(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Settings = DefaultSettings()
		c.Settings.AbsentFor = time.Hour
	})
	var rec AnalyticsConversation
	h.do(http.MethodGet, conversationPath(h.srv.gen.ConversationID(5)), h.token(), nil).json(t, &rec)
	if rec.ConversationEnd == "" {
		t.Fatal("historical conversation has no conversationEnd")
	}
}
