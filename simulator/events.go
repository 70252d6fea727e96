package simulator

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Topics the simulator emits (suffixes of v2.detail.events.conversation.{id}.).
const (
	TopicCustomerEnd = "customer.end"
	TopicACW         = "acw"
)

const (
	topicPrefix   = "v2.detail.events.conversation."
	awsAccount    = "111122223333"
	awsRegion     = "us-east-1"
	queueARN      = "arn:aws:sqs:us-east-1:111122223333:genesys-events"
	poisonNotJSON = "{not json"
	poisonID      = "'; DROP TABLE conversations;--"

	defaultBatchSize = 10
	maxBatchSize     = 10_000 // the SQS event source mapping's ceiling
	maxEmit          = 100_000
	maxCopies        = 5
	// laterEventOffset is how much later than the original a later event
	// (EmitRequest.LaterEventsFor) is stamped.
	laterEventOffset = time.Minute
)

// Envelope is an EventBridge event from the Genesys partner source.
type Envelope struct {
	Version    string      `json:"version"`
	ID         string      `json:"id"`
	DetailType string      `json:"detail-type"`
	Source     string      `json:"source"`
	Account    string      `json:"account"`
	Time       string      `json:"time"`
	Region     string      `json:"region"`
	Resources  []string    `json:"resources"`
	Detail     EventDetail `json:"detail"`
}

// EventDetail is the Genesys part of an envelope.
type EventDetail struct {
	TopicName string        `json:"topicName"`
	Version   string        `json:"version"`
	EventBody EventBody     `json:"eventBody"`
	Metadata  EventMetadata `json:"metadata"`
	Timestamp string        `json:"timestamp"`
}

// EventMetadata carries the correlation id (capital C, as Genesys sends it).
type EventMetadata struct {
	CorrelationID string `json:"CorrelationId"`
}

// EventBody covers customer.end and acw bodies; enums are UPPER case here,
// unlike the analytics API.
type EventBody struct {
	EventTime             int64    `json:"eventTime"` // epoch milliseconds
	ConversationID        string   `json:"conversationId"`
	ParticipantID         string   `json:"participantId"`
	SessionID             string   `json:"sessionId"`
	DisconnectType        string   `json:"disconnectType,omitempty"`
	MediaType             string   `json:"mediaType"`
	MessageType           string   `json:"messageType,omitempty"`
	Provider              string   `json:"provider"`
	Direction             string   `json:"direction"`
	Ani                   string   `json:"ani,omitempty"`
	Dnis                  string   `json:"dnis,omitempty"`
	AddressTo             string   `json:"addressTo,omitempty"`
	AddressFrom           string   `json:"addressFrom,omitempty"`
	CallbackUserName      string   `json:"callbackUserName,omitempty"`
	CallbackNumbers       []string `json:"callbackNumbers,omitempty"`
	UserID                string   `json:"userId,omitempty"`
	QueueID               string   `json:"queueId,omitempty"`
	WrapupCode            string   `json:"wrapupCode,omitempty"`
	WrapupDurationMs      int64    `json:"wrapupDurationMs,omitempty"`
	InteractingDurationMs int64    `json:"interactingDurationMs,omitempty"`
	DivisionID            string   `json:"divisionId,omitempty"`
}

// EmitRequest is the body of POST /sim/emit.
type EmitRequest struct {
	Conversations int      `json:"conversations"` // 1..100000 new ones; 0 with LaterEventsFor
	Shape         string   `json:"shape"`         // "sqs" (default), "array" or "single"
	BatchSize     int      `json:"batchSize"`     // events per delivery; default 10, max 10000; 1 for single
	Topics        []string `json:"topics"`        // default: customer.end and acw
	Poison        bool     `json:"poison"`        // sqs only: two bad records per delivery
	// Copies delivers every event this many times (1 to 5; 0 means 1),
	// each copy in a different delivery, as EventBridge and SQS may.
	Copies int `json:"copies,omitempty"`
	// LaterEventsFor emits, instead of new conversations, the events of
	// these already emitted conversations again, stamped one minute after
	// the originals: what Genesys sends when a conversation changes after
	// it ended (an edited wrap-up). Their readiness clock keeps running.
	LaterEventsFor []string `json:"laterEventsFor,omitempty"`
	// DropRate is the share (0 to 1) of these conversations whose events
	// are lost on the way: none of their events is in any delivery, while
	// their analytics records become visible like the others. It leaves
	// reconcile something to find. The dropped ones are drawn from the
	// seed and the sequence of emissions.
	DropRate float64 `json:"dropRate,omitempty"`
}

// EmitResult is the answer of POST /sim/emit. Each delivery is exactly what
// a Lambda would receive for the shape.
type EmitResult struct {
	ConversationIDs []string          `json:"conversationIds"`
	Deliveries      []json.RawMessage `json:"deliveries"`
	Events          int               `json:"events"` // real events, poison records excluded
	// DroppedIDs are the conversations of ConversationIDs whose events
	// DropRate left out, in the same order.
	DroppedIDs []string `json:"droppedIds,omitempty"`
}

func (req *EmitRequest) normalize() error {
	var errs []error
	switch {
	case len(req.LaterEventsFor) > 0 && req.Conversations != 0:
		errs = append(errs, errors.New("conversations must be 0 (or omitted) with laterEventsFor"))
	case len(req.LaterEventsFor) > maxEmit:
		errs = append(errs, fmt.Errorf("laterEventsFor names at most %d conversations, got %d", maxEmit, len(req.LaterEventsFor)))
	case len(req.LaterEventsFor) == 0 && (req.Conversations < 1 || req.Conversations > maxEmit):
		errs = append(errs, fmt.Errorf("conversations must be between 1 and %d, got %d", maxEmit, req.Conversations))
	}
	if !(req.DropRate >= 0 && req.DropRate <= 1) { // also rejects NaN
		errs = append(errs, fmt.Errorf("dropRate must be between 0 and 1, got %g", req.DropRate))
	}
	if req.Copies == 0 {
		req.Copies = 1
	}
	if req.Copies < 1 || req.Copies > maxCopies {
		errs = append(errs, fmt.Errorf("copies must be between 1 and %d, got %d", maxCopies, req.Copies))
	}
	if req.Shape == "" {
		req.Shape = "sqs"
	}
	switch req.Shape {
	case "sqs", "array":
		if req.BatchSize == 0 {
			req.BatchSize = defaultBatchSize
		}
		if req.BatchSize < 1 || req.BatchSize > maxBatchSize {
			errs = append(errs, fmt.Errorf("batchSize must be between 1 and %d, got %d", maxBatchSize, req.BatchSize))
		}
	case "single":
		if req.BatchSize > 1 || req.BatchSize < 0 {
			errs = append(errs, fmt.Errorf("batchSize must be 1 (or omitted) for shape single, got %d", req.BatchSize))
		}
		req.BatchSize = 1
	default:
		errs = append(errs, fmt.Errorf("shape %q must be sqs, array or single", req.Shape))
	}
	if req.Poison && req.Shape != "sqs" {
		errs = append(errs, errors.New("poison needs shape sqs: only an SQS batch can carry a non-JSON body"))
	}
	if len(req.Topics) == 0 {
		req.Topics = []string{TopicCustomerEnd, TopicACW}
	}
	for _, t := range req.Topics {
		if t != TopicCustomerEnd && t != TopicACW {
			errs = append(errs, fmt.Errorf("topic %q must be %s or %s", t, TopicCustomerEnd, TopicACW))
		}
	}
	return errors.Join(errs...)
}

// emitter owns the seeded generator of envelope and message ids, so a run
// with the same seed and the same sequence of emissions produces the same
// bytes. Its mutex also serialises emissions.
type emitter struct {
	mu    sync.Mutex
	r     *rand.Rand
	orgID string
}

// pendingEvent is one serialized envelope awaiting batching.
type pendingEvent struct {
	body   []byte
	sentMs int64 // when it reached the queue: SQS SentTimestamp
}

// Emit hands out the events of the next req.Conversations never-emitted
// conversations and starts their readiness clock (each one poisoned or not
// at the settings' poisonRate), or the later events of req.LaterEventsFor;
// the events of a req.DropRate share of them are left out.
func (s *Server) Emit(req EmitRequest) (EmitResult, error) {
	if err := req.normalize(); err != nil {
		return EmitResult{}, err
	}
	em := &s.emitter
	em.mu.Lock()
	defer em.mu.Unlock()

	now, st := s.now(), s.settings.Load()
	later := len(req.LaterEventsFor) > 0
	entries, shift := []*entry(nil), time.Duration(0)
	if later {
		var err error
		if entries, err = s.pool.emitted(req.LaterEventsFor); err != nil {
			return EmitResult{}, err
		}
		shift = laterEventOffset
	} else {
		entries = s.pool.takeNext(req.Conversations)
	}
	res := EmitResult{ConversationIDs: make([]string, 0, len(entries))}
	dropped := em.drop(len(entries), req.DropRate)
	var events []pendingEvent
	for k, e := range entries {
		c := s.gen.Generate(e.index)
		if dropped[k] {
			res.DroppedIDs = append(res.DroppedIDs, e.id)
		} else {
			events = append(events, em.events(c.Record, req.Topics, shift)...)
		}
		if !later {
			s.pool.markEnded(e, c, now, s.gen.poisonOf(e.index, st.PoisonRate))
		}
		res.ConversationIDs = append(res.ConversationIDs, e.id)
	}
	// EventBridge guarantees no order: interleave conversations and split
	// each one's events across deliveries. Each copy is shuffled and cut on
	// its own, so no delivery holds an event twice.
	for k := range req.Copies {
		round := events
		if k > 0 {
			round = slices.Clone(events)
		}
		em.r.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		for batch := range slices.Chunk(round, req.BatchSize) {
			switch req.Shape {
			case "single":
				res.Deliveries = append(res.Deliveries, batch[0].body)
			case "array":
				res.Deliveries = append(res.Deliveries, jsonArray(batch))
			case "sqs":
				res.Deliveries = append(res.Deliveries, em.sqsBatch(batch, req.Poison))
			}
		}
	}
	if req.Copies > 1 {
		// Copies arrive interleaved with other deliveries, not as a replay
		// at the end.
		em.r.Shuffle(len(res.Deliveries), func(i, j int) {
			res.Deliveries[i], res.Deliveries[j] = res.Deliveries[j], res.Deliveries[i]
		})
	}
	res.Events = len(events) * req.Copies
	if !later {
		s.counters.emitted.Add(int64(req.Conversations))
	}
	s.counters.eventsEmitted.Add(int64(res.Events))
	return res, nil
}

// drop picks round(rate*n) of n conversations whose events are lost. It
// draws nothing at rate 0, so emissions without drops keep their bytes.
func (em *emitter) drop(n int, rate float64) []bool {
	dropped := make([]bool, n)
	k := int(math.Round(rate * float64(n)))
	if k == 0 {
		return dropped
	}
	for _, i := range em.r.Perm(n)[:k] {
		dropped[i] = true
	}
	return dropped
}

// events derives the conversation's events from its complete record: one
// customer.end per customer session, one acw per answering agent session,
// stamped shift after the record's moments.
func (em *emitter) events(rec AnalyticsConversation, topics []string, shift time.Duration) []pendingEvent {
	var contact Session
	for _, p := range rec.Participants {
		if p.Purpose == "customer" {
			contact = p.Sessions[0]
			break
		}
	}
	base := EventBody{
		ConversationID: rec.ConversationID,
		MediaType:      strings.ToUpper(contact.MediaType),
		MessageType:    strings.ToUpper(contact.MessageType),
		Provider:       contact.Provider,
		Ani:            contact.Ani, Dnis: contact.Dnis,
		AddressTo: contact.AddressTo, AddressFrom: contact.AddressFrom,
		CallbackUserName: contact.CallbackUserName, CallbackNumbers: contact.CallbackNumbers,
	}
	var out []pendingEvent
	for _, p := range rec.Participants {
		for _, s := range p.Sessions {
			body := base
			body.ParticipantID, body.SessionID = p.ParticipantID, s.SessionID
			body.Direction = strings.ToUpper(s.Direction)
			switch {
			case p.Purpose == "customer" && slices.Contains(topics, TopicCustomerEnd):
				var last Segment
				for _, g := range s.Segments {
					if g.SegmentType == "interact" {
						body.InteractingDurationMs += parseMs(g.SegmentEnd) - parseMs(g.SegmentStart)
						last = g
					}
				}
				body.EventTime = parseMs(last.SegmentEnd) + shift.Milliseconds()
				body.DisconnectType = strings.ToUpper(last.DisconnectType)
				body.DivisionID = rec.DivisionIDs[0]
				out = append(out, em.envelope(TopicCustomerEnd, body))
			case p.Purpose == "agent" && slices.Contains(topics, TopicACW):
				i := slices.IndexFunc(s.Segments, func(g Segment) bool { return g.SegmentType == "wrapup" })
				if i < 0 {
					continue // alerted but never answered: no after-call work
				}
				w := s.Segments[i]
				body.EventTime = parseMs(w.SegmentEnd) + shift.Milliseconds()
				body.UserID, body.QueueID, body.WrapupCode = p.UserID, w.QueueID, w.WrapUpCode
				body.WrapupDurationMs = parseMs(w.SegmentEnd) - parseMs(w.SegmentStart)
				out = append(out, em.envelope(TopicACW, body))
			}
		}
	}
	return out
}

// envelope wraps a body as EventBridge delivers it, a little after the event.
func (em *emitter) envelope(topic string, body EventBody) pendingEvent {
	at := body.EventTime + 50 + em.r.Int64N(900)
	env := Envelope{
		Version:    "0",
		ID:         randUUID(em.r),
		DetailType: topicPrefix + "{id}." + topic,
		Source:     "aws.partner/genesys.com/cloud/" + em.orgID + "/conversations",
		Account:    awsAccount,
		Time:       time.UnixMilli(at).UTC().Format(time.RFC3339),
		Region:     awsRegion,
		Resources:  []string{},
		Detail: EventDetail{
			TopicName: topicPrefix + body.ConversationID + "." + topic,
			Version:   "2",
			EventBody: body,
			Metadata:  EventMetadata{CorrelationID: randUUID(em.r)},
			Timestamp: formatMs(at),
		},
	}
	return pendingEvent{body: mustMarshal(env), sentMs: at + 100}
}

// sqsRecord is one message of an SQS event-source-mapping batch.
type sqsRecord struct {
	MessageID         string        `json:"messageId"`
	ReceiptHandle     string        `json:"receiptHandle"`
	Body              string        `json:"body"`
	Attributes        sqsAttributes `json:"attributes"`
	MessageAttributes struct{}      `json:"messageAttributes"`
	MD5OfBody         string        `json:"md5OfBody"`
	EventSource       string        `json:"eventSource"`
	EventSourceARN    string        `json:"eventSourceARN"`
	AWSRegion         string        `json:"awsRegion"`
}

type sqsAttributes struct {
	ApproximateReceiveCount string `json:"ApproximateReceiveCount"`
	SentTimestamp           string `json:"SentTimestamp"`
}

func (em *emitter) sqsRecord(body []byte, sentMs int64) sqsRecord {
	id := randUUID(em.r)
	sum := md5.Sum(body)
	return sqsRecord{
		MessageID:      id,
		ReceiptHandle:  "AQEB" + strings.ReplaceAll(id, "-", ""),
		Body:           string(body),
		Attributes:     sqsAttributes{ApproximateReceiveCount: "1", SentTimestamp: strconv.FormatInt(sentMs, 10)},
		MD5OfBody:      hex.EncodeToString(sum[:]),
		EventSource:    "aws:sqs",
		EventSourceARN: queueARN,
		AWSRegion:      awsRegion,
	}
}

// sqsBatch builds {"Records":[...]}. Poison records land at random positions
// so a handler that stops at the first bad record is caught.
func (em *emitter) sqsBatch(batch []pendingEvent, poison bool) json.RawMessage {
	records := make([]sqsRecord, 0, len(batch)+2)
	for _, ev := range batch {
		records = append(records, em.sqsRecord(ev.body, ev.sentMs))
	}
	if poison {
		sent := batch[0].sentMs
		bad := EventBody{ConversationID: poisonID, ParticipantID: randUUID(em.r), SessionID: randUUID(em.r),
			EventTime: sent - 100, MediaType: "VOICE", Provider: "Edge", Direction: "INBOUND", DisconnectType: "ENDPOINT"}
		for _, body := range [][]byte{[]byte(poisonNotJSON), em.envelope(TopicCustomerEnd, bad).body} {
			at := em.r.IntN(len(records) + 1)
			records = slices.Insert(records, at, em.sqsRecord(body, sent))
		}
	}
	return mustMarshal(struct {
		Records []sqsRecord `json:"Records"`
	}{records})
}

// jsonArray joins serialized events into a JSON array.
func jsonArray(batch []pendingEvent) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, ev := range batch {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(ev.body)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// parseMs reads the simulator's own timestamps, which are always valid.
func parseMs(s string) int64 {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		panic("simulator: bad timestamp " + s)
	}
	return t.UnixMilli()
}
