package simulator

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// sqsDelivery is the subset of an SQS event a Lambda handler reads.
type sqsDelivery struct {
	Records []struct {
		MessageID   string `json:"messageId"`
		Body        string `json:"body"`
		MD5OfBody   string `json:"md5OfBody"`
		EventSource string `json:"eventSource"`
		Attributes  struct {
			SentTimestamp string `json:"SentTimestamp"`
		} `json:"attributes"`
	} `json:"Records"`
}

// checkEnvelope validates one envelope as the fixtures define it and returns
// its topic suffix.
func checkEnvelope(t *testing.T, orgID string, env Envelope) string {
	t.Helper()
	b := env.Detail.EventBody
	topic, ok := strings.CutPrefix(env.DetailType, topicPrefix+"{id}.")
	switch {
	case !ok || (topic != TopicCustomerEnd && topic != TopicACW):
		t.Fatalf("detail-type %q", env.DetailType)
	case env.Version != "0" || env.Detail.Version != "2" || env.Resources == nil:
		t.Fatalf("versions/resources of %+v", env)
	case env.Source != "aws.partner/genesys.com/cloud/"+orgID+"/conversations":
		t.Fatalf("source %q", env.Source)
	case env.Detail.TopicName != topicPrefix+b.ConversationID+"."+topic:
		t.Fatalf("topicName %q", env.Detail.TopicName)
	case b.EventTime <= 0 || b.MediaType != strings.ToUpper(b.MediaType) || b.Direction != strings.ToUpper(b.Direction):
		t.Fatalf("event body %+v", b)
	}
	for _, id := range []string{env.ID, env.Detail.Metadata.CorrelationID, b.ConversationID, b.ParticipantID, b.SessionID} {
		if _, err := uuid.Parse(id); err != nil {
			t.Fatalf("not a UUID: %q", id)
		}
	}
	if _, err := time.Parse(timeLayout, env.Detail.Timestamp); err != nil {
		t.Fatalf("timestamp %q", env.Detail.Timestamp)
	}
	if topic == TopicACW && (b.UserID == "" || b.QueueID == "" || b.WrapupCode == "" || b.WrapupDurationMs <= 0) {
		t.Fatalf("acw body %+v", b)
	}
	if topic == TopicCustomerEnd && (b.DisconnectType == "" || b.InteractingDurationMs <= 0 || b.DivisionID == "") {
		t.Fatalf("customer.end body %+v", b)
	}
	return topic
}

// checkAgainstTruth matches an event against its conversation's ground truth.
func checkAgainstTruth(t *testing.T, topic string, b EventBody, c Conversation) {
	t.Helper()
	if topic == TopicACW {
		if !slices.Contains(c.Expected.UserIDs, b.UserID) || !slices.Contains(c.Expected.WrapUpCodes, b.WrapupCode) ||
			!slices.Contains(c.Expected.QueueIDs, b.QueueID) {
			t.Fatalf("acw event %+v does not match %+v", b, c.Expected)
		}
		return
	}
	for _, p := range c.Record.Participants {
		if p.ParticipantID == b.ParticipantID && metrics(p.Sessions[0])["tConnected"] != b.InteractingDurationMs {
			t.Fatalf("interactingDurationMs %d is not tConnected", b.InteractingDurationMs)
		}
	}
}

func TestEmitSQSDeliveriesParseLikeTheFixture(t *testing.T) {
	h := newHarness(t)
	res := h.emit(EmitRequest{Conversations: 20, Shape: "sqs", BatchSize: 7, Poison: true})
	orgID := h.srv.gen.Catalog().OrgID

	truth := map[string]Conversation{}
	wantEvents := map[string]int{}
	for i, id := range res.ConversationIDs {
		c := h.srv.gen.Generate(i)
		truth[id] = c
		wantEvents[id] = 1 + len(c.Expected.WrapUpCodes) // one customer session, one acw per answering agent
	}
	gotEvents := map[string]int{}
	deliveriesOf := map[string]map[int]bool{}
	messageIDs := map[string]bool{}
	mixed := false
	for d, raw := range res.Deliveries {
		var batch sqsDelivery
		if err := json.Unmarshal(raw, &batch); err != nil {
			t.Fatalf("delivery %d: %v", d, err)
		}
		if n := len(batch.Records); n > 7+2 {
			t.Fatalf("delivery %d has %d records", d, n)
		}
		notJSON, badID := 0, 0
		conversations := map[string]bool{}
		for _, r := range batch.Records {
			if messageIDs[r.MessageID] {
				t.Fatalf("messageId %s repeated", r.MessageID)
			}
			messageIDs[r.MessageID] = true
			if sum := md5.Sum([]byte(r.Body)); r.MD5OfBody != hex.EncodeToString(sum[:]) || r.EventSource != "aws:sqs" || r.Attributes.SentTimestamp == "" {
				t.Fatalf("record %s metadata", r.MessageID)
			}
			var env Envelope
			if json.Unmarshal([]byte(r.Body), &env) != nil {
				notJSON++
				continue
			}
			id := env.Detail.EventBody.ConversationID
			if _, err := uuid.Parse(id); err != nil {
				badID++
				continue
			}
			c, ok := truth[id]
			if !ok {
				t.Fatalf("event for a conversation that was not emitted: %s", id)
			}
			checkAgainstTruth(t, checkEnvelope(t, orgID, env), env.Detail.EventBody, c)
			gotEvents[id]++
			conversations[id] = true
			if deliveriesOf[id] == nil {
				deliveriesOf[id] = map[int]bool{}
			}
			deliveriesOf[id][d] = true
		}
		if notJSON != 1 || badID != 1 {
			t.Fatalf("delivery %d: %d non-JSON and %d bad-id records, want 1 and 1", d, notJSON, badID)
		}
		mixed = mixed || len(conversations) > 1
	}
	total := 0
	split := false
	for id, n := range wantEvents {
		if gotEvents[id] != n {
			t.Errorf("conversation %s: %d events, want %d", id, gotEvents[id], n)
		}
		total += n
		split = split || len(deliveriesOf[id]) > 1
	}
	if res.Events != total {
		t.Errorf("events = %d, want %d", res.Events, total)
	}
	if !mixed || !split {
		t.Errorf("events are not interleaved (mixed %v) or not split across deliveries (split %v)", mixed, split)
	}
}

func TestEmitArrayShapeDeliversArraysOfEnvelopes(t *testing.T) {
	h := newHarness(t)
	res := h.emit(EmitRequest{Conversations: 10, Shape: "array", BatchSize: 4, Topics: []string{TopicCustomerEnd}})
	n := 0
	for _, raw := range res.Deliveries {
		var batch []Envelope
		if err := json.Unmarshal(raw, &batch); err != nil || len(batch) == 0 || len(batch) > 4 {
			t.Fatalf("delivery %s: %v", raw, err)
		}
		for _, env := range batch {
			if checkEnvelope(t, h.srv.gen.Catalog().OrgID, env) != TopicCustomerEnd {
				t.Fatalf("topic filter ignored")
			}
			n++
		}
	}
	if n != res.Events || n != 10 {
		t.Fatalf("%d events delivered, result says %d, want 10", n, res.Events)
	}
}

func TestEmitSingleShapeDeliversOneEnvelopeEach(t *testing.T) {
	h := newHarness(t)
	res := h.emit(EmitRequest{Conversations: 3, Shape: "single"})
	if len(res.Deliveries) != res.Events {
		t.Fatalf("%d deliveries for %d events", len(res.Deliveries), res.Events)
	}
	for _, raw := range res.Deliveries {
		var env Envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		checkEnvelope(t, h.srv.gen.Catalog().OrgID, env)
	}
}

func TestEmitIsDeterministicForTheSameSeed(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	for _, req := range []EmitRequest{{Conversations: 5, Poison: true}, {Conversations: 3, Shape: "array"}} {
		ra, rb := a.do(http.MethodPost, "/sim/emit", "", req), b.do(http.MethodPost, "/sim/emit", "", req)
		if ra.status != http.StatusOK || !bytes.Equal(ra.body, rb.body) {
			t.Fatalf("emission %+v differs between servers with the same seed", req)
		}
	}
}

func TestEmitGrowsThePoolBeyondItsInitialSize(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Conversations = 5 })
	res := h.emit(EmitRequest{Conversations: 8})
	for i, id := range res.ConversationIDs {
		if id != Generate(testSeed, i).Record.ConversationID {
			t.Fatalf("emitted id %d is not conversation %d", i, i)
		}
	}
	if got := h.multiGet(h.token(), res.ConversationIDs[7]); len(got) != 1 {
		t.Fatal("grown conversation not served")
	}
	if next := h.emit(EmitRequest{Conversations: 1}).ConversationIDs[0]; next != h.srv.gen.ConversationID(8) {
		t.Fatal("second emission did not continue after the first")
	}
}

func TestEmitRejectsInvalidRequests(t *testing.T) {
	h := newHarness(t)
	for _, body := range []string{
		`{}`, `{"conversations": 1, "shape": "kinesis"}`, `{"conversations": 1, "batchSize": 10001}`,
		`{"conversations": 1, "topics": ["user.start"]}`, `{"conversations": 1, "shape": "array", "poison": true}`,
		`{"conversations": 1, "shape": "single", "batchSize": 5}`, `{"conversations": 1, "colour": "red"}`,
	} {
		res := h.do(http.MethodPost, "/sim/emit", "", body)
		var e controlError
		res.json(t, &e)
		if res.status != http.StatusBadRequest || e.Error == "" {
			t.Errorf("%s: %d %s", body, res.status, res.body)
		}
	}
	if h.srv.Counters().Emitted != 0 {
		t.Error("a rejected request emitted conversations")
	}
}

func TestExpectedEndpointReturnsGroundTruth(t *testing.T) {
	h := newHarness(t)
	truth := Generate(testSeed, 4)
	res := h.do(http.MethodGet, "/sim/conversations/"+truth.Record.ConversationID+"/expected", "", nil)
	var got GroundTruth
	res.json(t, &got)
	if res.status != http.StatusOK || got.Index != 4 || got.State != "complete" || got.Emitted {
		t.Fatalf("got %d %+v", res.status, got)
	}
	if !bytes.Equal(mustMarshal(got.Expected), mustMarshal(truth.Expected)) || !bytes.Equal(mustMarshal(got.Complete), mustMarshal(truth.Record)) {
		t.Fatal("expected endpoint differs from Generate")
	}
	if res := h.do(http.MethodGet, "/sim/conversations/nope/expected", "", nil); res.status != http.StatusNotFound {
		t.Fatalf("unknown id: %d", res.status)
	}
}

// envelopesOf returns the envelope ids of each SQS delivery.
func envelopesOf(t *testing.T, deliveries []json.RawMessage) [][]Envelope {
	t.Helper()
	out := make([][]Envelope, len(deliveries))
	for d, raw := range deliveries {
		var batch sqsDelivery
		if err := json.Unmarshal(raw, &batch); err != nil {
			t.Fatal(err)
		}
		for _, r := range batch.Records {
			var env Envelope
			if err := json.Unmarshal([]byte(r.Body), &env); err != nil {
				t.Fatal(err)
			}
			out[d] = append(out[d], env)
		}
	}
	return out
}

func TestEmitCopiesDeliverEveryEventSeveralTimesInDifferentDeliveries(t *testing.T) {
	h := newHarness(t)
	res := h.emit(EmitRequest{Conversations: 6, BatchSize: 5, Copies: 3})
	copies := map[string]int{}
	for d, envs := range envelopesOf(t, res.Deliveries) {
		seen := map[string]bool{}
		for _, env := range envs {
			if seen[env.ID] {
				t.Fatalf("delivery %d holds event %s twice", d, env.ID)
			}
			seen[env.ID] = true
			copies[env.ID]++
		}
	}
	for id, n := range copies {
		if n != 3 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
	if len(copies)*3 != res.Events {
		t.Fatalf("%d distinct events, %d delivered", len(copies), res.Events)
	}
}

func TestEmitLaterEventsForStampsTheEventsOneMinuteLater(t *testing.T) {
	h := newHarness(t)
	first := h.emit(EmitRequest{Conversations: 4, BatchSize: 100})
	later := h.emit(EmitRequest{LaterEventsFor: first.ConversationIDs, BatchSize: 100})
	if !slices.Equal(later.ConversationIDs, first.ConversationIDs) || later.Events != first.Events {
		t.Fatalf("later events: %v, %d events; first: %v, %d events", later.ConversationIDs, later.Events, first.ConversationIDs, first.Events)
	}
	times := func(res EmitResult) map[string]int64 {
		out := map[string]int64{}
		for _, envs := range envelopesOf(t, res.Deliveries) {
			for _, env := range envs {
				b := env.Detail.EventBody
				out[b.ConversationID+"/"+b.SessionID] = b.EventTime
			}
		}
		return out
	}
	before, after := times(first), times(later)
	for k, at := range before {
		if after[k] != at+time.Minute.Milliseconds() {
			t.Fatalf("%s: later event at %d, original at %d", k, after[k], at)
		}
	}
	if c := h.srv.Counters(); c.Emitted != 4 || c.EventsEmitted != int64(2*first.Events) {
		t.Fatalf("counters = %+v", c)
	}
	for _, body := range []string{
		`{"laterEventsFor": ["` + h.srv.gen.ConversationID(100) + `"]}`, // never emitted
		`{"laterEventsFor": ["nope"]}`,
		`{"conversations": 1, "laterEventsFor": ["` + first.ConversationIDs[0] + `"]}`,
		`{"conversations": 1, "copies": 6}`,
	} {
		if res := h.do(http.MethodPost, "/sim/emit", "", body); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", body, res.status, res.body)
		}
	}
}

func TestEmitDropRateLeavesOutEveryEventOfTheDroppedConversations(t *testing.T) {
	h := newHarness(t)
	res := h.emit(EmitRequest{Conversations: 40, BatchSize: 7, DropRate: 0.25})
	if len(res.DroppedIDs) != 10 {
		t.Fatalf("%d conversations dropped, want 10 (a quarter of 40)", len(res.DroppedIDs))
	}
	eventsPerConversation := func(res EmitResult) map[string]int {
		out := map[string]int{}
		for _, envs := range envelopesOf(t, res.Deliveries) {
			for _, env := range envs {
				out[env.Detail.EventBody.ConversationID]++
			}
		}
		return out
	}
	events := eventsPerConversation(res)
	undropped := eventsPerConversation(newHarness(t).emit(EmitRequest{Conversations: 40, BatchSize: 7}))
	total := 0
	for i, id := range res.ConversationIDs {
		want := undropped[id]
		if slices.Contains(res.DroppedIDs, id) {
			want = 0
		}
		if events[id] != want {
			t.Errorf("conversation %d: %d events, want %d", i, events[id], want)
		}
		total += want
	}
	if res.Events != total || len(events) != 30 {
		t.Errorf("events = %d for %d conversations, want %d for 30", res.Events, len(events), total)
	}
	if got := h.multiGet(h.token(), res.DroppedIDs...); len(got) != len(res.DroppedIDs) {
		t.Errorf("%d of %d dropped conversations are served", len(got), len(res.DroppedIDs))
	}
	if again := newHarness(t).emit(EmitRequest{Conversations: 40, BatchSize: 7, DropRate: 0.25}); !slices.Equal(again.DroppedIDs, res.DroppedIDs) {
		t.Error("the same seed and emissions dropped other conversations")
	}

	all := h.emit(EmitRequest{Conversations: 3, DropRate: 1})
	if len(all.Deliveries) != 0 || all.Events != 0 || !slices.Equal(all.DroppedIDs, all.ConversationIDs) {
		t.Errorf("dropRate 1: %d deliveries, %d events, dropped %v of %v", len(all.Deliveries), all.Events, all.DroppedIDs, all.ConversationIDs)
	}
	for _, body := range []string{`{"conversations": 1, "dropRate": 1.5}`, `{"conversations": 1, "dropRate": -0.1}`} {
		res := h.do(http.MethodPost, "/sim/emit", "", body)
		var e controlError
		res.json(t, &e)
		if res.status != http.StatusBadRequest || !strings.Contains(e.Error, "dropRate must be between 0 and 1") {
			t.Errorf("%s: %d %s", body, res.status, res.body)
		}
	}
}
