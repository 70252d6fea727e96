package simulator

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
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
	interact, hold, wrapup, alert, dialing, contacting int64
	wrapEnd                                            int64
	hasInteract, hasWrapup                             bool
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
		case "dialing":
			f.dialing += end - start
		case "contacting":
			f.contacting += end - start
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
		// Every figure of Expected, derived again from the record alone.
		var derived Expected
		var lastEnd, customerEnd int64
		var queues []string
		for _, p := range rec.Participants {
			if p.Purpose == "agent" {
				derived.UserIDs = append(derived.UserIDs, p.UserID)
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
				derived.Transfers += int(m["nTransferred"])
				switch p.Purpose {
				case "customer":
					if m["tConnected"] != f.interact || m["nConnected"] != 1 {
						t.Fatalf("conversation %d: tConnected %d, interact %d", i, m["tConnected"], f.interact)
					}
					last := s.Segments[len(s.Segments)-1]
					derived.DisconnectType, customerEnd = last.DisconnectType, parseMs(last.SegmentEnd)
					derived.CustomerAni, derived.CustomerDnis = s.Ani, s.Dnis
				case "ivr":
					derived.IvrTimeMs += m["tIvr"]
				case "acd":
					if m["tAcd"] != f.interact {
						t.Fatalf("conversation %d: tAcd %d, interact %d", i, m["tAcd"], f.interact)
					}
					if abandon, ok := m["tAbandon"]; ok {
						if abandon != m["tAcd"] || s.Segments[0].DisconnectType != "peer" {
							t.Fatalf("conversation %d: abandoned after %d in a queue waited %d", i, abandon, m["tAcd"])
						}
						derived.Abandoned = true
					}
					derived.WaitTimeMs += m["tAcd"]
				case "agent":
					if !f.hasInteract { // alerted, never answered
						if _, ok := m["tAnswered"]; ok || f.hasWrapup || m["tAlert"] != f.alert || m["tTalk"] != 0 {
							t.Fatalf("conversation %d: unanswered alert has %v", i, m)
						}
						continue
					}
					if m["tTalk"] != f.interact || m["tTalkComplete"] != f.interact || m["tHeldComplete"] != f.hold ||
						m["tAcw"] != f.wrapup || m["tDialing"] != f.dialing || m["tContacting"] != f.contacting ||
						m["tHandle"] != m["tTalkComplete"]+m["tHeldComplete"]+m["tAcw"]+m["tDialing"]+m["tContacting"] {
						t.Fatalf("conversation %d: metrics %v disagree with segments %+v", i, m, f)
					}
					_, answered := m["tAnswered"]
					if answered != (rec.OriginatingDirection == "inbound") || answered && (m["tAlert"] != f.alert || m["tAnswered"] < m["tAlert"]) {
						t.Fatalf("conversation %d: tAlert %d / tAnswered %d, alert %d", i, m["tAlert"], m["tAnswered"], f.alert)
					}
					code := s.Segments[len(s.Segments)-1].WrapUpCode
					derived.Agents = append(derived.Agents, ExpectedAgent{UserID: p.UserID, QueueID: s.Segments[0].QueueID,
						WrapUpCode: code, Answered: answered, HandleTimeMs: m["tHandle"], TalkTimeMs: m["tTalkComplete"],
						HoldTimeMs: m["tHeldComplete"], AcwTimeMs: m["tAcw"]})
					derived.TalkTimeMs += m["tTalkComplete"]
					derived.HoldTimeMs += m["tHeldComplete"]
					derived.AcwTimeMs += m["tAcw"]
					derived.HandleTimeMs += m["tHandle"]
					derived.AnswerTimeMs += m["tAnswered"]
					derived.WrapUpCodes = append(derived.WrapUpCodes, code)
					lastEnd = max(lastEnd, f.wrapEnd)
				}
			}
		}
		start, end := parseMs(rec.ConversationStart), parseMs(rec.ConversationEnd)
		if end != max(lastEnd, customerEnd) {
			t.Fatalf("conversation %d: conversationEnd is neither the last wrap-up end nor the customer's", i)
		}
		derived.ConversationID, derived.ConversationStart, derived.ConversationEnd = rec.ConversationID, rec.ConversationStart, rec.ConversationEnd
		derived.DurationMs, derived.QueueIDs, derived.DivisionIDs = end-start, exp.QueueIDs, rec.DivisionIDs
		derived.MediaType, derived.OriginatingDirection = exp.MediaType, rec.OriginatingDirection
		derived.ParticipantCount = len(rec.Participants)
		derived.FirstEventAt, derived.LastEventTopic = exp.FirstEventAt, exp.LastEventTopic // checked against the events in events_test
		derived.Events = exp.Events                                                         // likewise, in attributes_test
		derived.ParticipantAttributes = mergedAttributes(c.Queried())
		if !sameSet(exp.QueueIDs, queues) {
			t.Fatalf("conversation %d: queues %v, segments name %v", i, exp.QueueIDs, queues)
		}
		if !bytes.Equal(mustMarshal(exp), mustMarshal(derived)) {
			t.Fatalf("conversation %d:\nexpected %s\nrecord   %s", i, mustMarshal(exp), mustMarshal(derived))
		}
	}
}

func TestExpectedEventTimesAreThoseOfTheEmittedEvents(t *testing.T) {
	g := NewGenerator(4, DefaultBaseTime)
	em := &emitter{r: rand.New(rand.NewPCG(1, 2)), orgID: NewCatalog(4).OrgID}
	for i := range 300 {
		c := g.Generate(i)
		var first, last int64
		var lastTopic string
		for _, ev := range em.events(c.Record, []string{TopicCustomerEnd, TopicACW}, 0) {
			var env Envelope
			if err := json.Unmarshal(ev.body, &env); err != nil {
				t.Fatal(err)
			}
			at := env.Detail.EventBody.EventTime
			if first == 0 || at < first {
				first = at
			}
			if at >= last {
				last, lastTopic = at, strings.TrimPrefix(env.Detail.TopicName, topicPrefix+c.Record.ConversationID+".")
			}
		}
		if c.Expected.FirstEventAt != formatMs(first) || c.Expected.LastEventTopic != lastTopic {
			t.Fatalf("conversation %d: expected first event %s and last topic %s, events say %s and %s",
				i, c.Expected.FirstEventAt, c.Expected.LastEventTopic, formatMs(first), lastTopic)
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
		if c.Expected.Abandoned {
			seen["abandoned"]++
			if len(c.Expected.Agents) > 0 {
				seen["abandoned after a transfer"]++
			}
		}
		if c.Expected.MediaType == "voice" && c.Expected.OriginatingDirection == "outbound" {
			seen["outbound call"]++
		}
		if len(c.Expected.Agents) > 1 {
			seen["several agents"]++
		}
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
				if f.contacting > 0 {
					seen["contacting"]++
				}
			}
		}
	}
	for _, k := range []string{"media:voice", "media:message", "media:email", "media:callback", "direction:inbound",
		"direction:outbound", "purpose:ivr", "purpose:acd", "unanswered alert", "hold", "transfer",
		"abandoned", "abandoned after a transfer", "outbound call", "contacting", "several agents"} {
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
