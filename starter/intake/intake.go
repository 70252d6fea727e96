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
func Parse(payload []byte) (*Delivery, error) {
	trimmed := bytes.TrimSpace(payload)
	if !json.Valid(trimmed) {
		return nil, ErrNotJSON
	}
	d := &Delivery{}
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		d.Shape = ShapeArray
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, fmt.Errorf("read event array: %w", err)
		}
		for i, raw := range raws {
			d.addEvent(i, "", raw)
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var probe struct {
			Records    *[]sqsRecord    `json:"Records"`
			DetailType *string         `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnknownShape, err)
		}
		switch {
		case probe.Records != nil:
			d.Shape = ShapeSQS
			for i, rec := range *probe.Records {
				d.addEvent(i, rec.MessageID, json.RawMessage(rec.Body))
			}
		case probe.DetailType != nil || probe.Detail != nil:
			d.Shape = ShapeEvent
			d.addEvent(0, "", trimmed)
		default:
			return nil, ErrUnknownShape
		}
	default:
		return nil, ErrUnknownShape
	}
	return d, nil
}

type sqsRecord struct {
	MessageID string `json:"messageId"`
	Body      string `json:"body"`
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

func (d *Delivery) addEvent(index int, messageID string, raw json.RawMessage) {
	reject := func(eventID, reason string) {
		d.Rejected = append(d.Rejected, Rejection{Index: index, MessageID: messageID, EventID: eventID, Reason: reason})
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
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
	d.eventKeys = append(d.eventKeys, id+"|"+topic+"|"+strconv.FormatInt(ref.EventTime, 10)+"|"+env.Detail.TopicName)
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
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{'\n'})
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
// and the eventBody field holding the conversation id.
func classify(topic string) (kind, idField string, ok bool) {
	switch {
	case strings.HasPrefix(topic, "v2.detail.events.conversation.{id}."):
		return strings.TrimPrefix(topic, "v2.detail.events.conversation.{id}."), "conversationId", true
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
