// Package intake turns an EventBridge delivery into the conversations to
// ingest. It accepts the three shapes AWS delivers Genesys events in (one
// event from a rule target, a JSON array from Pipes or bus subscribers, and an
// SQS batch from an event source mapping), extracts and validates conversation
// ids, and rejects bad records one by one so that a poisoned record never
// blocks the rest of its delivery.
package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	gojson "github.com/goccy/go-json"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// Shape is how a delivery reached the forwarder.
type Shape string

const (
	// ShapeEvent is one event, as an EventBridge rule invokes a Lambda target.
	ShapeEvent Shape = "event"
	// ShapeArray is a JSON array of events (EventBridge Pipes, bus subscribers).
	ShapeArray Shape = "array"
	// ShapeSQS is an SQS batch whose message bodies are events.
	ShapeSQS Shape = "sqs"
)

// ErrNotJSON means the payload is not JSON at all.
var ErrNotJSON = errors.New("payload is not JSON")

// ErrUnknownShape means the payload is JSON but not a delivery shape we know.
var ErrUnknownShape = errors.New("payload is JSON but neither an EventBridge event, a JSON array of events, nor an SQS batch")

// Rejection is one record that cannot be ingested and must not be retried.
type Rejection struct {
	// Index is the record's position in the delivery (0 for a single event).
	Index int `json:"index"`
	// MessageID is the SQS message id, for SQS deliveries.
	MessageID string `json:"messageId,omitempty"`
	// EventID is the EventBridge event id, when the record had one.
	EventID string `json:"eventId,omitempty"`
	Reason  string `json:"reason"`
}

// Delivery is what one payload holds.
type Delivery struct {
	Shape Shape
	// Events counts records that were EventBridge events.
	Events int
	// Conversations are unique, in order of first appearance; each keeps the
	// org, topic and time of its first event.
	Conversations []workflows.ConversationRef
	Rejected      []Rejection
	// Ignored counts events of topics that carry no conversation to ingest.
	Ignored int
	// Accepted lists the SQS message ids that contributed conversations: they
	// are the ones to report as batch item failures if the start fails.
	Accepted []string

	eventKeys []string
	seen      map[string]bool
}

// Parse reads one delivery. It returns an error only when the payload as a
// whole is unusable; bad records are listed in Rejected.
//
// A delivery can hold 6 MB of SQS records, each an event escaped into a JSON
// string. Parse reads them with goccy/go-json, which decodes as encoding/json
// does in about a quarter of its time; encoding/json decodes again wherever
// goccy/go-json fails (see unmarshal), so the rules and errors stay
// encoding/json's.
func Parse(payload []byte) (*Delivery, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 {
		return nil, ErrNotJSON
	}
	d := &Delivery{}
	switch trimmed[0] {
	case '[':
		var events []json.RawMessage
		if err := unmarshalDelivery(trimmed, &events); err != nil {
			return nil, err
		}
		d.Shape = ShapeArray
		for i, raw := range events {
			d.addEvent(i, "", raw)
		}
	case '{':
		var w wrapper
		if err := unmarshalDelivery(trimmed, &w); err != nil {
			return nil, err
		}
		switch {
		case w.Records != nil:
			d.Shape = ShapeSQS
			for i, rec := range *w.Records {
				d.addEvent(i, rec.MessageID, []byte(rec.Body))
			}
		case w.DetailType != nil || w.Detail != nil:
			d.Shape = ShapeEvent
			d.addEvent(0, "", trimmed)
		default:
			return nil, ErrUnknownShape
		}
	default:
		if !json.Valid(trimmed) {
			return nil, ErrNotJSON
		}
		return nil, ErrUnknownShape
	}
	return d, nil
}

// wrapper is what tells an object delivery's shape: an SQS batch has
// Records (null leaves it unset), an event detail-type or detail.
type wrapper struct {
	Records    *[]sqsRecord    `json:"Records"`
	DetailType *string         `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

type sqsRecord struct {
	MessageID string `json:"messageId"`
	Body      string `json:"body"`
}

// unmarshalDelivery decodes a whole delivery: text that is not JSON is
// ErrNotJSON, and JSON with a member of the wrong type ErrUnknownShape.
func unmarshalDelivery[T any](payload []byte, v *T) error {
	err := unmarshal(payload, v)
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return ErrNotJSON
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnknownShape, err)
	}
	return nil
}

// unmarshal decodes data into *v with goccy/go-json, which accepts and
// decodes JSON as encoding/json does (FuzzUnmarshal checks it). Where it
// fails, or panics, encoding/json decodes data afresh: its error is the one
// to report, and a bug of goccy/go-json costs time, not the delivery.
func unmarshal[T any](data []byte, v *T) (err error) {
	defer func() {
		if recover() != nil {
			err = unmarshalStd(data, v)
		}
	}()
	if gojson.Unmarshal(data, v) != nil {
		return unmarshalStd(data, v)
	}
	return nil
}

// unmarshalStd decodes data into a zero *v with encoding/json.
func unmarshalStd[T any](data []byte, v *T) error {
	var zero T
	*v = zero
	return json.Unmarshal(data, v)
}

type envelope struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     struct {
		TopicName string `json:"topicName"`
		EventBody struct {
			ConversationID string          `json:"conversationId"`
			ID             string          `json:"id"`
			EventTime      json.RawMessage `json:"eventTime"`
		} `json:"eventBody"`
	} `json:"detail"`
}

// addEvent reads one record, an event, and adds it to the delivery.
func (d *Delivery) addEvent(index int, messageID string, raw []byte) {
	var env envelope
	err := unmarshal(raw, &env)
	d.add(index, messageID, env, err)
}

// add accounts for one record, given its event as decoded or the error
// decoding it: accepted, rejected (with the reason) or ignored.
func (d *Delivery) add(index int, messageID string, env envelope, err error) {
	reject := func(eventID, reason string) {
		d.Rejected = append(d.Rejected, Rejection{Index: index, MessageID: messageID, EventID: eventID, Reason: reason})
	}
	if err != nil {
		reject("", "record is not an EventBridge event (not a JSON object): "+shorten(err.Error()))
		return
	}
	d.Events++
	topic := topicTemplate(env.DetailType, env.Detail.TopicName)
	if topic == "" {
		reject(env.ID, "event has neither detail-type nor detail.topicName")
		return
	}
	kind, idField, ok := classify(topic)
	if !ok {
		d.Ignored++
		return
	}
	id := env.Detail.EventBody.ConversationID
	if idField == "id" {
		id = env.Detail.EventBody.ID
	}
	if id == "" {
		reject(env.ID, fmt.Sprintf("%s event has no conversation id (eventBody.%s)", kind, idField))
		return
	}
	if !workflows.ValidConversationID(id) {
		reject(env.ID, fmt.Sprintf("conversation id %s is not a UUID", strconv.Quote(shorten(id))))
		return
	}
	id = strings.ToLower(id)
	ref := workflows.ConversationRef{
		ID:        id,
		OrgID:     orgID(env.Source),
		Topic:     kind,
		EventTime: epochMillis(env.Detail.EventBody.EventTime),
	}
	if messageID != "" {
		d.Accepted = append(d.Accepted, messageID)
	}
	var t [20]byte
	d.eventKeys = append(d.eventKeys, id+"|"+topic+"|"+string(strconv.AppendInt(t[:0], ref.EventTime, 10))+"|"+env.Detail.TopicName)
	if !d.seen[id] {
		if d.seen == nil {
			d.seen = make(map[string]bool)
		}
		d.seen[id] = true
		d.Conversations = append(d.Conversations, ref)
	}
}

// WorkflowID is derived from the delivery's business content (conversation,
// topic and event time of every accepted event), not from EventBridge or SQS
// ids, which change on every re-send. A redelivered batch maps to the same id;
// a later event about the same conversation maps to a new one.
func (d *Delivery) WorkflowID() string {
	keys := slices.Clone(d.eventKeys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	h := sha256.New()
	var line []byte
	for _, k := range keys {
		line = append(append(line[:0], k...), '\n')
		h.Write(line)
	}
	return "genesys-ingest-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// topicTemplate returns the topic with ids as {id}. EventBridge puts the
// template in detail-type; older or hand-made events may only carry the
// concrete detail.topicName.
func topicTemplate(detailType, topicName string) string {
	if strings.Contains(detailType, "{id}") {
		return detailType
	}
	name := topicName
	if name == "" {
		name = detailType
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if workflows.ValidConversationID(p) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, ".")
}

// classify maps a topic template to the event kind kept with the conversation
// and the eventBody field holding the conversation id. A conversation topic
// must name its event: "v2.detail.events.conversation.{id}." alone is no
// topic we know.
func classify(topic string) (kind, idField string, ok bool) {
	if event, found := strings.CutPrefix(topic, "v2.detail.events.conversation.{id}."); found && event != "" {
		return event, "conversationId", true
	}
	switch {
	case topic == "v2.routing.queues.{id}.conversations":
		return "queue.conversations", "id", true
	case topic == "v2.users.{id}.conversations":
		return "user.conversations", "id", true
	}
	return "", "", false
}

// orgID reads <orgId> from aws.partner/genesys.com/cloud/<orgId>/<suffix>.
func orgID(source string) string {
	rest, ok := strings.CutPrefix(source, "aws.partner/genesys.com/cloud/")
	if !ok {
		return ""
	}
	org, _, _ := strings.Cut(rest, "/")
	if !workflows.ValidConversationID(org) {
		return ""
	}
	return strings.ToLower(org)
}

// epochMillis reads eventTime, which Genesys sends as epoch milliseconds.
func epochMillis(raw json.RawMessage) int64 {
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0
	}
	return ms
}

func shorten(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
