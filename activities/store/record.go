package store

import (
	"bytes"
	"cmp"
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

// maxItemBytes is DynamoDB's 400 KB item limit less a margin for what is
// added after the size is checked (updatedAt by UpsertAll, firstEventAt,
// lastEventTopic, fetchedBy and batchIds by the fetch activity: about 650
// bytes at most) and for estimation slack.
const maxItemBytes = 400*1024 - 1024

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
	// Times in milliseconds, each Genesys metric summed over every session
	// of the conversation (see sessionFigures for the definitions).
	HandleTimeMs int64 `dynamodbav:"handleTimeMs"`
	TalkTimeMs   int64 `dynamodbav:"talkTimeMs"`
	HoldTimeMs   int64 `dynamodbav:"holdTimeMs"`
	AcwTimeMs    int64 `dynamodbav:"acwTimeMs"`
	WaitTimeMs   int64 `dynamodbav:"waitTimeMs"`
	AnswerTimeMs int64 `dynamodbav:"answerTimeMs"`
	IvrTimeMs    int64 `dynamodbav:"ivrTimeMs"`
	// Abandoned: the customer left a queue before an agent answered.
	Abandoned bool `dynamodbav:"abandoned"`
	// Transfers is the number of transfers (nTransferred summed).
	Transfers int `dynamodbav:"transfers"`
	// DisconnectType is the customer's last segment's disconnectType
	// (endpoint: the customer hung up; peer: the other side did; ...).
	DisconnectType string `dynamodbav:"disconnectType,omitempty"`
	// Agents has one entry per agent session that was handled (a handle
	// time) or connected (an interact segment), in the record's order.
	Agents []Agent `dynamodbav:"agents,omitempty"`
	// MissingWrapUps names the agents (userIds) with a session in Agents
	// whose wrap-up code the record does not have yet: Genesys indexes a
	// wrap-up tens of seconds after conversationEnd, so a complete item
	// with them is fetched again when another event comes (CompleteIDs).
	MissingWrapUps []string `dynamodbav:"missingWrapUps,stringset,omitempty"`
	// The customer session's ani and dnis (for an outbound call the ANI is
	// the org's number and the DNIS the customer's), personal data stored
	// only as STORE_CONTACT_ADDRESSES says (Contacts): as Genesys reports
	// them, or as their HMAC-SHA256 in hex under names of their own, so
	// that a column never mixes the two.
	CustomerAni      string `dynamodbav:"customerAni,omitempty"`
	CustomerDnis     string `dynamodbav:"customerDnis,omitempty"`
	CustomerAniHmac  string `dynamodbav:"customerAniHmac,omitempty"`
	CustomerDnisHmac string `dynamodbav:"customerDnisHmac,omitempty"`
	// ParticipantAttributes is the custom data Architect flows and agent
	// scripts attach to participants, merged into one map: the customer's
	// values win, otherwise a later participant's replaces an earlier
	// one's (the detail keeps each participant's own). Only the details
	// query returns them (GENESYS_DETAIL_SOURCE=query).
	ParticipantAttributes map[string]string `dynamodbav:"participantAttributes,omitempty"`
	// ParticipantAttributesOmitted: they did not fit the item even with
	// the detail moved out of it; the detail has them.
	ParticipantAttributesOmitted bool   `dynamodbav:"participantAttributesOmitted,omitempty"`
	OrgID                        string `dynamodbav:"orgId,omitempty"`
	// OrgDay is the DayIndex key, "<orgId>#<UTC day of conversationStart>".
	OrgDay string `dynamodbav:"orgDay"`
	// FirstEventAt is the eventTime of the earliest event known to have
	// asked for the conversation and LastEventTopic the topic (customer.end,
	// acw, ...) of the one behind this write, so that event-to-stored
	// latency can be measured; empty when the events did not say.
	FirstEventAt   string `dynamodbav:"firstEventAt,omitempty"`
	LastEventTopic string `dynamodbav:"lastEventTopic,omitempty"`
	// BatchIDs are the batch workflows whose requests wrote the item, the
	// latest MaxBatchIDs over its writes (UpsertAll merges the stored
	// ones), and FetchedBy the fetch activity that wrote this record: what
	// `starter conversations where` names (handling.go).
	BatchIDs  []string  `dynamodbav:"batchIds,omitempty"`
	FetchedBy *FetchRef `dynamodbav:"fetchedBy,omitempty"`
	// Detail is the gzipped analytics JSON exactly as fetched. One that
	// would make the item exceed 400 KB is an object in the detail bucket
	// instead (DetailBucket, DetailKey); items written without a detail
	// bucket dropped it (DetailOmitted).
	Detail        []byte `dynamodbav:"detail,omitempty"`
	DetailBucket  string `dynamodbav:"detailBucket,omitempty"`
	DetailKey     string `dynamodbav:"detailKey,omitempty"`
	DetailOmitted bool   `dynamodbav:"detailOmitted,omitempty"`
	FetchedAt     string `dynamodbav:"fetchedAt"`
	// UpdatedAt is set by Table.UpsertAll at write time.
	UpdatedAt string `dynamodbav:"updatedAt,omitempty"`

	// largeDetail is the gzipped detail that UpsertAll writes to DetailKey.
	largeDetail []byte
}

// Agent is one agent session of a conversation. Times are that session's
// metrics, in milliseconds, by the same definitions as the record's.
type Agent struct {
	UserID     string `dynamodbav:"userId"`
	QueueID    string `dynamodbav:"queueId,omitempty"`
	WrapUpCode string `dynamodbav:"wrapUpCode,omitempty"`
	// Answered: the agent answered the conversation from a queue
	// (tAnswered); false for calls the agent placed.
	Answered     bool  `dynamodbav:"answered"`
	HandleTimeMs int64 `dynamodbav:"handleTimeMs"`
	TalkTimeMs   int64 `dynamodbav:"talkTimeMs"`
	HoldTimeMs   int64 `dynamodbav:"holdTimeMs"`
	AcwTimeMs    int64 `dynamodbav:"acwTimeMs"`
}

// Complete reports whether Genesys had closed the conversation, after-call
// work included, when it was fetched: conversationEnd was present and no
// segment was still open.
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
	Purpose string `json:"purpose"`
	UserID  string `json:"userId"`
	// Attributes are strings in Genesys's model; any other JSON value is
	// kept as its JSON text rather than failing the record.
	Attributes map[string]json.RawMessage `json:"attributes"`
	Sessions   []session                  `json:"sessions"`
}

type session struct {
	MediaType string    `json:"mediaType"`
	Ani       string    `json:"ani"`
	Dnis      string    `json:"dnis"`
	Metrics   []metric  `json:"metrics"`
	Segments  []segment `json:"segments"`
}

type segment struct {
	SegmentType    string `json:"segmentType"`
	SegmentEnd     string `json:"segmentEnd"`
	QueueID        string `json:"queueId"`
	WrapUpCode     string `json:"wrapUpCode"`
	DisconnectType string `json:"disconnectType"`
}

type metric struct {
	Name string `json:"name"`
	// json.Number so that metrics we do not sum cannot fail the parse
	// whatever their number format.
	Value json.Number `json:"value"`
}

// Mapping is what NewRecord stores beyond the record's own figures. Its
// zero value stores no contact address.
type Mapping struct {
	Contacts Contacts
}

// NewRecord maps one analytics conversation, raw as fetched from Genesys, to
// the item stored for it, with no contact address.
func NewRecord(raw []byte, orgID string, fetchedAt time.Time) (Record, error) {
	return Mapping{}.NewRecord(raw, orgID, fetchedAt)
}

// NewRecord maps one analytics conversation, raw as fetched from Genesys, to
// the item stored for it.
func (m Mapping) NewRecord(raw []byte, orgID string, fetchedAt time.Time) (Record, error) {
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
	r.OrgDay = OrgDay(orgID, start)
	if c.ConversationEnd != "" {
		end, err := time.Parse(time.RFC3339Nano, c.ConversationEnd)
		if err != nil {
			return Record{}, fmt.Errorf("conversation %s: conversationEnd: %w", c.ConversationID, err)
		}
		d := end.Sub(start).Milliseconds()
		r.DurationMs = &d
		// A segment without segmentEnd is still open: the record will
		// change, whatever conversationEnd says.
		if !c.hasOpenSegment() {
			r.Status = StatusComplete
		}
	}
	if err := c.addParticipantFields(&r); err != nil {
		return Record{}, fmt.Errorf("conversation %s: %w", c.ConversationID, err)
	}
	m.Contacts.set(&r, c.customerAddress(func(s session) string { return s.Ani }),
		c.customerAddress(func(s session) string { return s.Dnis }))
	r.ParticipantAttributes = c.attributes()
	if r.Detail, err = gzipDeterministic(raw); err != nil {
		return Record{}, fmt.Errorf("conversation %s: compress detail: %w", c.ConversationID, err)
	}
	fits, err := fitsItem(r)
	if err != nil {
		return Record{}, fmt.Errorf("conversation %s: %w", c.ConversationID, err)
	}
	if !fits {
		// The summary attributes are what queries need, so the detail is
		// what moves out of the item.
		r.largeDetail, r.Detail = r.Detail, nil
		r.DetailKey = detailKey(orgID, start, r.ConversationID, r.largeDetail)
		// Participant attributes are the one other part of an item whose
		// size Genesys does not bound; the detail keeps them.
		if fits, err = fitsItem(r); err != nil {
			return Record{}, fmt.Errorf("conversation %s: %w", c.ConversationID, err)
		}
		if !fits && r.ParticipantAttributes != nil {
			r.ParticipantAttributes, r.ParticipantAttributesOmitted = nil, true
		}
	}
	return r, nil
}

// fitsItem reports whether r's item stays under maxItemBytes.
func fitsItem(r Record) (bool, error) {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return false, fmt.Errorf("marshal item: %w", err)
	}
	return itemSize(item) <= maxItemBytes, nil
}

// customerAddress is the first non-empty address (of) of a customer
// session, in record order.
func (c conversation) customerAddress(of func(session) string) string {
	for _, p := range c.Participants {
		if !strings.EqualFold(p.Purpose, "customer") {
			continue
		}
		for _, s := range p.Sessions {
			if a := of(s); a != "" {
				return a
			}
		}
	}
	return ""
}

// attributes merges the participants' attributes: every other participant's
// in record order, a later value replacing an earlier one, then the
// customer's over them, since the flows that describe the customer write
// there. Nil when there are none.
func (c conversation) attributes() map[string]string {
	var out map[string]string
	for _, customers := range []bool{false, true} {
		for _, p := range c.Participants {
			if strings.EqualFold(p.Purpose, "customer") != customers {
				continue
			}
			for name, v := range p.Attributes {
				if name == "" {
					continue // DynamoDB refuses an empty map key
				}
				if out == nil {
					out = make(map[string]string)
				}
				var s string
				if json.Unmarshal(v, &s) != nil {
					s = string(v)
				}
				out[name] = s
			}
		}
	}
	return out
}

// hasOpenSegment: some segment has no segmentEnd yet.
func (c conversation) hasOpenSegment() bool {
	for _, p := range c.Participants {
		for _, s := range p.Sessions {
			for _, seg := range s.Segments {
				if seg.SegmentEnd == "" {
					return true
				}
			}
		}
	}
	return false
}

// OrgDay is the DayIndex key of the conversations of org that started on
// the UTC day of start.
func OrgDay(orgID string, start time.Time) string {
	return cmp.Or(orgID, UnknownOrg) + "#" + start.UTC().Format(time.DateOnly)
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

// addParticipantFields fills the sets, the metric sums and the agents,
// which are gathered from every session of every participant.
func (c conversation) addParticipantFields(r *Record) error {
	var queues, users, wrapUps, missing []string
	var lastEnd time.Time
	for _, p := range c.Participants {
		isAgent := strings.EqualFold(p.Purpose, "agent") || strings.EqualFold(p.Purpose, "user")
		if isAgent {
			users = append(users, p.UserID)
		}
		isCustomer := strings.EqualFold(p.Purpose, "customer")
		for _, s := range p.Sessions {
			var f sessionFigures
			if err := f.add(s.Metrics); err != nil {
				return err
			}
			r.HandleTimeMs += f.handle
			r.TalkTimeMs += f.talk
			r.HoldTimeMs += f.hold
			r.AcwTimeMs += f.acw
			r.WaitTimeMs += f.wait
			r.AnswerTimeMs += f.answer
			r.IvrTimeMs += f.ivr
			r.Transfers += int(f.transfers)
			r.Abandoned = r.Abandoned || f.abandoned

			agent := Agent{UserID: p.UserID, Answered: f.answered, HandleTimeMs: f.handle,
				TalkTimeMs: f.talk, HoldTimeMs: f.hold, AcwTimeMs: f.acw}
			connected := false
			for _, seg := range s.Segments {
				queues = append(queues, seg.QueueID)
				wrapUps = append(wrapUps, seg.WrapUpCode)
				agent.QueueID = cmp.Or(agent.QueueID, seg.QueueID)
				agent.WrapUpCode = cmp.Or(seg.WrapUpCode, agent.WrapUpCode)
				connected = connected || seg.SegmentType == "interact"
				if isCustomer && seg.DisconnectType != "" {
					// Unreadable times count as the earliest: a readable
					// later segment wins.
					end, _ := time.Parse(time.RFC3339Nano, seg.SegmentEnd)
					if r.DisconnectType == "" || !end.Before(lastEnd) {
						r.DisconnectType, lastEnd = seg.DisconnectType, end
					}
				}
			}
			if isAgent && (f.handled || connected) {
				r.Agents = append(r.Agents, agent)
				if agent.WrapUpCode == "" {
					missing = append(missing, agent.UserID)
				}
			}
		}
	}
	r.QueueIDs, r.UserIDs, r.WrapUpCodes = distinct(queues), distinct(users), distinct(wrapUps)
	r.MissingWrapUps = distinct(missing)
	return nil
}

// sessionFigures are the metrics of one session the record keeps, each
// summed over the session. What they measure is Genesys's definition
// (Genesys Cloud Resource Center, "Metric definitions" and the glossary,
// help.mypurecloud.com):
//
//   - tHandle: handle time, talk + hold + after-call work, and for outbound
//     calls dialing + contacting too. Emitted when after-call work ends.
//   - tTalkComplete: talk time of the completed interaction, hold excluded
//     (tTalk counts the same time per talk segment, as each one ends).
//   - tHeldComplete: hold time of the completed interaction.
//   - tAcw: after-call work (wrap-up) time.
//   - tAcd: time waiting in a queue, on the acd participant.
//   - tAnswered: time from entering the queue until an agent answered.
//   - tIvr: time in the IVR.
//   - tAbandon: emitted, with the time in queue, only when the customer
//     disconnected in the queue before an agent answered.
//   - nTransferred: one per transfer made from the session.
type sessionFigures struct {
	handle, talk, hold, acw, wait, answer, ivr, transfers int64
	handled, answered, abandoned                          bool
}

func (f *sessionFigures) add(metrics []metric) error {
	for _, m := range metrics {
		var sum *int64
		switch m.Name {
		case "tHandle":
			sum, f.handled = &f.handle, true
		case "tTalkComplete":
			sum = &f.talk
		case "tHeldComplete":
			sum = &f.hold
		case "tAcw":
			sum = &f.acw
		case "tAcd":
			sum = &f.wait
		case "tAnswered":
			sum, f.answered = &f.answer, true
		case "tIvr":
			sum = &f.ivr
		case "nTransferred":
			sum = &f.transfers
		case "tAbandon":
			f.abandoned = true
			continue
		default:
			continue
		}
		v, err := m.Value.Int64()
		if err != nil {
			return fmt.Errorf("metric %s: %w", m.Name, err)
		}
		*sum += v
	}
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
	case *types.AttributeValueMemberL:
		n := 3 // a list's documented overhead, plus a byte per element
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3 // likewise for a map
		for name, e := range v.Value {
			n += 1 + len(name) + valueSize(e)
		}
		return n
	default:
		// Record marshals to the types above only; a new field of another
		// type needs its size rule here.
		panic(fmt.Sprintf("store: no size rule for %T", v))
	}
}
