package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestGenerateIsDeterministicPerSeed(t *testing.T) {
	for i := range 50 {
		a, b := mustMarshal(Generate(1, i)), mustMarshal(Generate(1, i))
		if !bytes.Equal(a, b) {
			t.Fatalf("conversation %d differs between two calls", i)
		}
		if bytes.Equal(a, mustMarshal(Generate(2, i))) {
			t.Fatalf("conversation %d is the same for seeds 1 and 2", i)
		}
	}
	if NewCatalog(1).OrgID == NewCatalog(2).OrgID {
		t.Fatal("org id does not depend on the seed")
	}
}

func TestServedBytesAreIdenticalAcrossServersWithTheSameSeed(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = a.srv.gen.ConversationID(i)
	}
	ra := a.do(http.MethodGet, multiGetPath(ids...), a.token(), nil)
	rb := b.do(http.MethodGet, multiGetPath(ids...), b.token(), nil)
	if ra.status != http.StatusOK || !bytes.Equal(ra.body, rb.body) {
		t.Fatal("same seed served different bytes")
	}
	c := newHarness(t, func(c *Config) { c.Seed = testSeed + 1 })
	if c.srv.gen.ConversationID(0) == ids[0] {
		t.Fatal("different seed produced the same ids")
	}
}

// sessionFigures re-derives a session's figures from its segments alone.
type sessionFigures struct {
	interact, hold, wrapup, alert int64
	wrapEnd                       int64
	hasInteract, hasWrapup        bool
}

func figures(t *testing.T, s Session) sessionFigures {
	t.Helper()
	var f sessionFigures
	var prevEnd int64
	for k, g := range s.Segments {
		start, end := parseMs(g.SegmentStart), parseMs(g.SegmentEnd)
		if end < start || (k > 0 && start != prevEnd) {
			t.Fatalf("session %s: segments not contiguous at %d", s.SessionID, k)
		}
		prevEnd = end
		switch g.SegmentType {
		case "interact":
			f.interact += end - start
			f.hasInteract = true
		case "hold":
			f.hold += end - start
		case "wrapup":
			f.wrapup += end - start
			f.wrapEnd = end
			f.hasWrapup = true
			if g.WrapUpCode == "" {
				t.Errorf("wrap-up without wrapUpCode")
			}
		case "alert":
			f.alert += end - start
		}
	}
	return f
}

func metrics(s Session) map[string]int64 {
	out := map[string]int64{}
	for _, m := range s.Metrics {
		out[m.Name] = m.Value
	}
	return out
}

func TestGeneratedMetricsAreConsistentWithSegments(t *testing.T) {
	g := NewGenerator(3, DefaultBaseTime)
	for i := range 1000 {
		c := g.Generate(i)
		rec, exp := c.Record, c.Expected
		var talk, hold, acw, handle, lastWrapEnd int64
		var users, codes, queues []string
		for _, p := range rec.Participants {
			if p.Purpose == "agent" {
				users = append(users, p.UserID)
			}
			for _, s := range p.Sessions {
				f, m := figures(t, s), metrics(s)
				for _, seg := range s.Segments {
					if (p.Purpose == "agent" || p.Purpose == "acd") && seg.QueueID == "" {
						t.Fatalf("conversation %d: %s segment without queueId", i, p.Purpose)
					}
					if (p.Purpose == "agent" || p.Purpose == "acd") && !slices.Contains(queues, seg.QueueID) {
						queues = append(queues, seg.QueueID)
					}
				}
				switch p.Purpose {
				case "customer":
					if m["tConnected"] != f.interact || m["nConnected"] != 1 {
						t.Fatalf("conversation %d: tConnected %d, interact %d", i, m["tConnected"], f.interact)
					}
				case "acd":
					if m["tAcd"] != f.interact {
						t.Fatalf("conversation %d: tAcd %d, interact %d", i, m["tAcd"], f.interact)
					}
				case "agent":
					if !f.hasInteract { // alerted, never answered
						if _, ok := m["tAnswered"]; ok || f.hasWrapup || m["tAlert"] != f.alert || m["tTalk"] != 0 {
							t.Fatalf("conversation %d: unanswered alert has %v", i, m)
						}
						continue
					}
					if m["tTalk"] != f.interact || m["tTalkComplete"] != f.interact || m["tHeld"] != f.hold ||
						m["tAcw"] != f.wrapup || m["tHandle"] != m["tTalk"]+m["tHeld"]+m["tAcw"] {
						t.Fatalf("conversation %d: metrics %v disagree with segments %+v", i, m, f)
					}
					if rec.OriginatingDirection == "inbound" && (m["tAlert"] != f.alert || m["tAnswered"] < m["tAlert"]) {
						t.Fatalf("conversation %d: tAlert %d / tAnswered %d, alert %d", i, m["tAlert"], m["tAnswered"], f.alert)
					}
					talk, hold, acw, handle = talk+m["tTalk"], hold+m["tHeld"], acw+m["tAcw"], handle+m["tHandle"]
					lastWrapEnd = max(lastWrapEnd, f.wrapEnd)
					codes = append(codes, s.Segments[len(s.Segments)-1].WrapUpCode)
				}
			}
		}
		start, end := parseMs(rec.ConversationStart), parseMs(rec.ConversationEnd)
		if end != lastWrapEnd {
			t.Fatalf("conversation %d: conversationEnd is not the last wrap-up end", i)
		}
		if exp.TalkTimeMs != talk || exp.HoldTimeMs != hold || exp.AcwTimeMs != acw || exp.HandleTimeMs != handle ||
			exp.HandleTimeMs != talk+hold+acw || exp.DurationMs != end-start {
			t.Fatalf("conversation %d: expected %+v, segments give talk %d hold %d acw %d handle %d", i, exp, talk, hold, acw, handle)
		}
		if !slices.Equal(exp.UserIDs, users) || !slices.Equal(exp.WrapUpCodes, codes) ||
			!sameSet(exp.QueueIDs, queues) || !slices.Equal(exp.DivisionIDs, rec.DivisionIDs) ||
			exp.ParticipantCount != len(rec.Participants) || exp.OriginatingDirection != rec.OriginatingDirection {
			t.Fatalf("conversation %d: expected ids %+v disagree with the record", i, exp)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b) && len(slices.Compact(a)) == len(a)
}

func TestGeneratedConversationsCoverTheRealisticMix(t *testing.T) {
	g := NewGenerator(1, DefaultBaseTime)
	seen := map[string]int{}
	var prevStart int64
	for i := range 1000 {
		c := g.Generate(i)
		seen["media:"+c.Expected.MediaType]++
		seen["direction:"+c.Expected.OriginatingDirection]++
		if start := parseMs(c.Record.ConversationStart); start <= prevStart || start < DefaultBaseTime.UnixMilli() {
			t.Fatalf("conversation %d does not start after its predecessor and the base time", i)
		} else {
			prevStart = start
		}
		for _, p := range c.Record.Participants {
			seen["purpose:"+p.Purpose]++
			for _, s := range p.Sessions {
				f := figures(t, s)
				if p.Purpose == "agent" && !f.hasInteract {
					seen["unanswered alert"]++
				}
				if f.hold > 0 {
					seen["hold"]++
				}
				if _, ok := metrics(s)["nTransferred"]; ok {
					seen["transfer"]++
				}
			}
		}
	}
	for _, k := range []string{"media:voice", "media:message", "media:email", "media:callback", "direction:inbound",
		"direction:outbound", "purpose:ivr", "purpose:acd", "unanswered alert", "hold", "transfer"} {
		if seen[k] == 0 {
			t.Errorf("no %s in 1000 conversations", k)
		}
	}
	if seen["media:voice"] < 500 {
		t.Errorf("voice is not the majority: %v", seen)
	}
}

// fixtureFields are the field names of testdata/analytics, plus the
// contact fields non-voice sessions carry (named as in the events schema).
var fixtureFields = map[string][]string{
	"conversation": {"conversationId", "conversationStart", "conversationEnd", "originatingDirection", "divisionIds", "mediaStatsMinConversationMos", "participants"},
	"participant":  {"participantId", "participantName", "purpose", "userId", "sessions"},
	"session":      {"sessionId", "mediaType", "direction", "ani", "dnis", "provider", "metrics", "segments", "messageType", "addressFrom", "addressTo", "callbackUserName", "callbackNumbers"},
	"metric":       {"name", "value", "emitDate"},
	"segment":      {"segmentType", "segmentStart", "segmentEnd", "queueId", "wrapUpCode", "disconnectType"},
}

func TestGeneratedRecordsUseFixtureFieldNamesAndFormats(t *testing.T) {
	check := func(kind string, obj map[string]any) {
		for k := range obj {
			if !slices.Contains(fixtureFields[kind], k) {
				t.Fatalf("%s field %q is not in the fixtures", kind, k)
			}
		}
	}
	isUUID := func(s any) bool {
		u, err := uuid.Parse(s.(string))
		return err == nil && u.Version() == 4
	}
	isTime := func(s any) bool {
		ts, err := time.Parse(timeLayout, s.(string))
		return err == nil && ts.Format(timeLayout) == s
	}
	for i := range 300 {
		var conv map[string]any
		if err := json.Unmarshal(mustMarshal(Generate(5, i).Record), &conv); err != nil {
			t.Fatal(err)
		}
		check("conversation", conv)
		if !isUUID(conv["conversationId"]) || !isTime(conv["conversationStart"]) || !isTime(conv["conversationEnd"]) {
			t.Fatalf("conversation %d: bad id or timestamps", i)
		}
		for _, p := range conv["participants"].([]any) {
			p := p.(map[string]any)
			check("participant", p)
			for _, s := range p["sessions"].([]any) {
				s := s.(map[string]any)
				check("session", s)
				if !isUUID(s["sessionId"]) || !slices.Contains([]any{"voice", "message", "email", "callback"}, s["mediaType"]) {
					t.Fatalf("conversation %d: session %v", i, s["sessionId"])
				}
				for _, m := range s["metrics"].([]any) {
					check("metric", m.(map[string]any))
				}
				for _, g := range s["segments"].([]any) {
					g := g.(map[string]any)
					check("segment", g)
					if !isTime(g["segmentStart"]) || !isTime(g["segmentEnd"]) {
						t.Fatalf("conversation %d: bad segment times", i)
					}
				}
			}
		}
	}
}
