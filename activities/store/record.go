package store

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Values of the status attribute.
const (
	StatusComplete   = "complete"
	StatusIncomplete = "incomplete"
	// StatusFailed marks a conversation that could not be stored: the item
	// holds why (RecordFailures), never a detail, and any record replaces it.
	StatusFailed = "failed"
)

// TimeFormat is the layout of fetchedAt and updatedAt: UTC with a fixed
// millisecond precision, so that comparing the strings (as UpsertAll
// does) compares the instants.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// maxItemBytes is DynamoDB's 400 KB item limit less a margin for updatedAt,
// which UpsertAll adds after the size is checked, and for estimation slack.
const maxItemBytes = 400*1024 - 512

// Record is one conversation item. Its dynamodbav names are a contract shared
// with other code and scripts that read the table.
type Record struct {
	ConversationID       string   `dynamodbav:"conversationId"`
	Status               string   `dynamodbav:"status"`
	ConversationStart    string   `dynamodbav:"conversationStart"`
	ConversationEnd      string   `dynamodbav:"conversationEnd,omitempty"`
	DurationMs           *int64   `dynamodbav:"durationMs,omitempty"`
	OriginatingDirection string   `dynamodbav:"originatingDirection,omitempty"`
	MediaType            string   `dynamodbav:"mediaType,omitempty"`
	DivisionIDs          []string `dynamodbav:"divisionIds,stringset,omitempty"`
	QueueIDs             []string `dynamodbav:"queueIds,stringset,omitempty"`
	UserIDs              []string `dynamodbav:"userIds,stringset,omitempty"`
	WrapUpCodes          []string `dynamodbav:"wrapUpCodes,stringset,omitempty"`
	ParticipantCount     int      `dynamodbav:"participantCount"`
	HandleTimeMs         int64    `dynamodbav:"handleTimeMs"`
	TalkTimeMs           int64    `dynamodbav:"talkTimeMs"`
	AcwTimeMs            int64    `dynamodbav:"acwTimeMs"`
	OrgID                string   `dynamodbav:"orgId,omitempty"`
	// Detail is the gzipped analytics JSON exactly as fetched; nil when
	// DetailOmitted because the item would not fit in 400 KB.
	Detail        []byte `dynamodbav:"detail,omitempty"`
	DetailOmitted bool   `dynamodbav:"detailOmitted,omitempty"`
	FetchedAt     string `dynamodbav:"fetchedAt"`
	// UpdatedAt is set by Table.UpsertAll at write time.
	UpdatedAt string `dynamodbav:"updatedAt,omitempty"`
}

// Complete reports whether Genesys had closed the conversation, after-call
// work included, when it was fetched.
func (r Record) Complete() bool { return r.Status == StatusComplete }

// conversation holds the fields of a Genesys analytics conversation that the
// record is built from.
type conversation struct {
	ConversationID       string        `json:"conversationId"`
	ConversationStart    string        `json:"conversationStart"`
	ConversationEnd      string        `json:"conversationEnd"`
	OriginatingDirection string        `json:"originatingDirection"`
	DivisionIDs          []string      `json:"divisionIds"`
	Participants         []participant `json:"participants"`
}

type participant struct {
	Purpose  string    `json:"purpose"`
	UserID   string    `json:"userId"`
	Sessions []session `json:"sessions"`
}

type session struct {
	MediaType string    `json:"mediaType"`
	Metrics   []metric  `json:"metrics"`
	Segments  []segment `json:"segments"`
}

type segment struct {
	QueueID    string `json:"queueId"`
	WrapUpCode string `json:"wrapUpCode"`
}

type metric struct {
	Name string `json:"name"`
	// json.Number so that metrics we do not sum cannot fail the parse
	// whatever their number format.
	Value json.Number `json:"value"`
}

// NewRecord maps one analytics conversation, raw as fetched from Genesys, to
// the item stored for it.
func NewRecord(raw []byte, orgID string, fetchedAt time.Time) (Record, error) {
	var c conversation
	if err := json.Unmarshal(raw, &c); err != nil {
		return Record{}, fmt.Errorf("parse analytics conversation: %w", err)
	}
	if c.ConversationID == "" {
		return Record{}, errors.New("parse analytics conversation: missing conversationId")
	}
	r := Record{
		ConversationID:       c.ConversationID,
		Status:               StatusIncomplete,
		ConversationStart:    c.ConversationStart,
		ConversationEnd:      c.ConversationEnd,
		OriginatingDirection: strings.ToLower(c.OriginatingDirection),
		MediaType:            strings.ToLower(c.mediaType()),
		DivisionIDs:          distinct(c.DivisionIDs),
		ParticipantCount:     len(c.Participants),
		OrgID:                orgID,
		FetchedAt:            fetchedAt.UTC().Format(TimeFormat),
	}
	start, err := time.Parse(time.RFC3339Nano, c.ConversationStart)
	if err != nil {
		return Record{}, fmt.Errorf("conversation %s: conversationStart: %w", c.ConversationID, err)
	}
	if c.ConversationEnd != "" {
		end, err := time.Parse(time.RFC3339Nano, c.ConversationEnd)
		if err != nil {
			return Record{}, fmt.Errorf("conversation %s: conversationEnd: %w", c.ConversationID, err)
		}
		d := end.Sub(start).Milliseconds()
		r.Status, r.DurationMs = StatusComplete, &d
	}
	if err := c.addParticipantFields(&r); err != nil {
		return Record{}, fmt.Errorf("conversation %s: %w", c.ConversationID, err)
	}
	if r.Detail, err = gzipDeterministic(raw); err != nil {
		return Record{}, fmt.Errorf("conversation %s: compress detail: %w", c.ConversationID, err)
	}
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return Record{}, fmt.Errorf("conversation %s: marshal item: %w", c.ConversationID, err)
	}
	if itemSize(item) > maxItemBytes {
		// The summary attributes are what queries need; the raw detail can be
		// fetched from Genesys again, so it is what gives way.
		r.Detail, r.DetailOmitted = nil, true
	}
	return r, nil
}

// mediaType is the customer's first media type; conversations without a
// customer participant (internal calls, some outbound) fall back to the
// first session of anyone.
func (c conversation) mediaType() string {
	for _, p := range c.Participants {
		if strings.EqualFold(p.Purpose, "customer") && len(p.Sessions) > 0 {
			return p.Sessions[0].MediaType
		}
	}
	for _, p := range c.Participants {
		if len(p.Sessions) > 0 {
			return p.Sessions[0].MediaType
		}
	}
	return ""
}

// addParticipantFields fills the sets and metric sums, which are gathered
// from every session of every participant.
func (c conversation) addParticipantFields(r *Record) error {
	var queues, users, wrapUps []string
	sums := map[string]*int64{"tHandle": &r.HandleTimeMs, "tTalk": &r.TalkTimeMs, "tAcw": &r.AcwTimeMs}
	for _, p := range c.Participants {
		if strings.EqualFold(p.Purpose, "agent") || strings.EqualFold(p.Purpose, "user") {
			users = append(users, p.UserID)
		}
		for _, s := range p.Sessions {
			for _, seg := range s.Segments {
				queues = append(queues, seg.QueueID)
				wrapUps = append(wrapUps, seg.WrapUpCode)
			}
			for _, m := range s.Metrics {
				sum, ok := sums[m.Name]
				if !ok {
					continue
				}
				v, err := m.Value.Int64()
				if err != nil {
					return fmt.Errorf("metric %s: %w", m.Name, err)
				}
				*sum += v
			}
		}
	}
	r.QueueIDs, r.UserIDs, r.WrapUpCodes = distinct(queues), distinct(users), distinct(wrapUps)
	return nil
}

// distinct returns the sorted non-empty distinct values, or nil when there
// are none so the set attribute is omitted (DynamoDB rejects empty sets).
func distinct(values []string) []string {
	out := slices.DeleteFunc(slices.Clone(values), func(s string) bool { return s == "" })
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// gzipDeterministic compresses b with an empty gzip header (no name, zero
// mtime), so the same input always yields the same bytes and UpsertAll can
// tell a changed conversation from a re-fetched one by comparing them.
//
// Writers are pooled: a new one allocates about 800 KB, more than the
// record it compresses. The default level compresses analytics JSON nearly
// as well as the best one at a fraction of the CPU.
func gzipDeterministic(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b) / 4)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeDetail gunzips a stored detail attribute back to the conversation
// JSON exactly as it was fetched.
func DecodeDetail(detail []byte) (json.RawMessage, error) {
	zr, err := gzip.NewReader(bytes.NewReader(detail))
	if err != nil {
		return nil, fmt.Errorf("decode detail: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decode detail: %w", err)
	}
	return raw, nil
}

// itemSize estimates an item's size by DynamoDB's rules (attribute name
// lengths plus value sizes), rounding up where the rules are approximate so
// an item that passes is never rejected.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return 21 // the documented maximum for a number
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s) + 1 // per-element overhead is undocumented; count a byte to be safe
		}
		return n
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	default:
		// Record marshals to the types above only; a new field of another
		// type needs its size rule here.
		panic(fmt.Sprintf("store: no size rule for %T", v))
	}
}
