package simulator

import (
	"bytes"
	"compress/gzip"
	"testing"
)

func gzippedSize(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

func TestOversizedConversationsAreTooLargeForAnItemEvenGzipped(t *testing.T) {
	g := NewGenerator(3, DefaultBaseTime).WithOversizeRate(1)
	for i := range 5 {
		c := g.Generate(i)
		raw := mustMarshal(c.Record)
		if size := gzippedSize(t, raw); !c.Expected.Oversized || size < 450*1024 || len(raw) > 8<<20 {
			t.Fatalf("conversation %d: oversized %v, %d bytes, %d gzipped", i, c.Expected.Oversized, len(raw), size)
		} else {
			t.Logf("conversation %d: %d bytes, %d gzipped", i, len(raw), size)
		}
	}
}

func TestOversizeRateChangesOnlyTheConversationsItPicks(t *testing.T) {
	plain, some := NewGenerator(3, DefaultBaseTime), NewGenerator(3, DefaultBaseTime).WithOversizeRate(0.05)
	picked := 0
	for i := range 400 {
		a, b := plain.Generate(i), some.Generate(i)
		if !b.Expected.Oversized {
			if !bytes.Equal(mustMarshal(a), mustMarshal(b)) {
				t.Fatalf("conversation %d changed though it was not picked", i)
			}
			continue
		}
		picked++
		// The picked one is the same conversation with the flows added.
		b.Record.Participants = b.Record.Participants[:len(b.Record.Participants)-oversizeFlows]
		b.Expected.ParticipantCount -= oversizeFlows
		b.Expected.Oversized = false
		if !bytes.Equal(mustMarshal(a), mustMarshal(b)) {
			t.Fatalf("conversation %d: padding changed more than the flow participant", i)
		}
	}
	if picked < 8 || picked > 35 {
		t.Fatalf("%d of 400 picked at rate 0.05", picked)
	}
}

func TestServerServesOversizedRecordsAndSaysSoInTheGroundTruth(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Conversations, c.OversizeRate = 2, 1 })
	id := h.srv.gen.ConversationID(1)
	var got AnalyticsConversation
	h.do("GET", conversationPath(id), h.token(), nil).json(t, &got)
	if len(got.Participants) <= oversizeFlows {
		t.Fatalf("served %d participants", len(got.Participants))
	}
	var truth GroundTruth
	h.do("GET", "/sim/conversations/"+id+"/expected", "", nil).json(t, &truth)
	if !truth.Oversized || truth.ParticipantCount != len(got.Participants) {
		t.Fatalf("ground truth: oversized %v, %d participants", truth.Oversized, truth.ParticipantCount)
	}
}

func TestServerRejectsAnOversizeRateOutsideZeroToOne(t *testing.T) {
	for _, rate := range []float64{-0.1, 1.5} {
		if _, err := New(Config{Seed: 1, ClientID: "a", ClientSecret: "b", OversizeRate: rate}); err == nil {
			t.Errorf("rate %g accepted", rate)
		}
	}
}
