package simulator

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"
)

// DefaultBaseTime is the --base-time default: conversations start after it.
var DefaultBaseTime = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// ConversationSpacing is the default width of the start slot of each
// conversation (Config.Spacing): conversation i starts in
// [base+i*spacing, base+(i+1)*spacing). Slots never overlap, so start order
// equals index order and interval queries reduce to a binary search over
// indexes.
const ConversationSpacing = 3 * time.Second

// Conversation is generated ground truth: the complete analytics record and
// the figures a correct ingest pipeline must derive from it.
type Conversation struct {
	Index  int
	Record AnalyticsConversation
	// ParticipantAttributes are the attributes of each participant, keyed
	// by participantId, that the details query shows on Record (Queried).
	ParticipantAttributes map[string]map[string]string
	Expected              Expected
}

// NotReady is the record as served while after-call work is still open.
func (c Conversation) NotReady() AnalyticsConversation { return c.Record.withoutWrapUp() }

// LateWrapUp is the record as served while Genesys has closed the
// conversation but not indexed its wrap-up codes yet (Settings.LateWrapUpFor).
func (c Conversation) LateWrapUp() AnalyticsConversation { return c.Record.withoutWrapUpCodes() }

// Queried is the complete record as the details query serves it: with the
// participants' attributes, which the GET endpoints leave out.
func (c Conversation) Queried() AnalyticsConversation {
	return c.Record.withAttributes(c.ParticipantAttributes)
}

// Expected holds derived figures, tallied while generating (not re-read from
// the record) so tests can check the record against an independent source.
// Id lists are distinct and in order of first appearance.
type Expected struct {
	ConversationID       string   `json:"conversationId"`
	ConversationStart    string   `json:"conversationStart"`
	ConversationEnd      string   `json:"conversationEnd"`
	DurationMs           int64    `json:"durationMs"`
	HandleTimeMs         int64    `json:"handleTimeMs"`
	TalkTimeMs           int64    `json:"talkTimeMs"`
	HoldTimeMs           int64    `json:"holdTimeMs"`
	AcwTimeMs            int64    `json:"acwTimeMs"`
	QueueIDs             []string `json:"queueIds"`
	UserIDs              []string `json:"userIds"`
	WrapUpCodes          []string `json:"wrapUpCodes"`
	DivisionIDs          []string `json:"divisionIds"`
	MediaType            string   `json:"mediaType"`
	OriginatingDirection string   `json:"originatingDirection"`
	ParticipantCount     int      `json:"participantCount"`
	WaitTimeMs           int64    `json:"waitTimeMs"`
	AnswerTimeMs         int64    `json:"answerTimeMs"`
	IvrTimeMs            int64    `json:"ivrTimeMs"`
	Abandoned            bool     `json:"abandoned"`
	Transfers            int      `json:"transfers"`
	// DisconnectType is how the customer's last segment ended.
	DisconnectType string `json:"disconnectType"`
	// Agents are the agent sessions that connected, in record order.
	Agents []ExpectedAgent `json:"agents"`
	// FirstEventAt is the earliest eventTime of the events /sim/emit hands
	// out for the conversation (later events excluded), LastEventTopic the
	// topic of the latest of them.
	FirstEventAt   string `json:"firstEventAt"`
	LastEventTopic string `json:"lastEventTopic"`
	// Events are all of those events, in no particular order: which of
	// them reaches a write depends on how they were batched and when the
	// record was ready.
	Events []ExpectedEvent `json:"events"`
	// CustomerAni and CustomerDnis are the customer session's ani and dnis
	// (voice only): for an outbound call the ANI is the org's number and
	// the DNIS the customer's.
	CustomerAni  string `json:"customerAni,omitempty"`
	CustomerDnis string `json:"customerDnis,omitempty"`
	// ParticipantAttributes is the participants' attributes merged as the
	// item keeps them (the customer's values win; otherwise a later
	// participant's replaces an earlier one's); only the details query
	// returns them.
	ParticipantAttributes map[string]string `json:"participantAttributes,omitempty"`
	// Oversized records are too large for a DynamoDB item even gzipped
	// (Config.OversizeRate).
	Oversized bool `json:"oversized,omitempty"`
}

// ExpectedEvent is one event /sim/emit hands out for a conversation.
type ExpectedEvent struct {
	Topic     string `json:"topic"`
	EventTime string `json:"eventTime"`
}

// ExpectedAgent is the figures of one agent session that connected; times
// in milliseconds.
type ExpectedAgent struct {
	UserID     string `json:"userId"`
	QueueID    string `json:"queueId"`
	WrapUpCode string `json:"wrapUpCode"`
	// Answered: the agent answered the conversation from a queue.
	Answered     bool  `json:"answered"`
	HandleTimeMs int64 `json:"handleTimeMs"`
	TalkTimeMs   int64 `json:"talkTimeMs"`
	HoldTimeMs   int64 `json:"holdTimeMs"`
	AcwTimeMs    int64 `json:"acwTimeMs"`
}

// Generator produces the conversations of one seed. It is immutable and safe
// for concurrent use.
type Generator struct {
	seed      int64
	baseMs    int64
	spacingMs int64
	catalog   Catalog
	// oversizeRate is the share of conversations padded past DynamoDB's
	// item limit (WithOversizeRate).
	oversizeRate float64
}

// NewGenerator returns the generator of seed whose conversations start after
// base, one every ConversationSpacing.
func NewGenerator(seed int64, base time.Time) *Generator {
	return newGenerator(seed, base, ConversationSpacing)
}

// newGenerator is NewGenerator with another spacing, a positive whole number
// of milliseconds (Config validates it).
func newGenerator(seed int64, base time.Time, spacing time.Duration) *Generator {
	return &Generator{seed: seed, baseMs: base.UnixMilli(), spacingMs: spacing.Milliseconds(), catalog: NewCatalog(seed)}
}

// WithOversizeRate returns the generator whose conversations are, at rate
// (0 to 1, decided from the seed per conversation), too large for a
// DynamoDB item even gzipped, as conversations that run for days can be.
// The others are generated exactly as without it.
func (g *Generator) WithOversizeRate(rate float64) *Generator {
	c := *g
	c.oversizeRate = rate
	return &c
}

func (g *Generator) oversized(i int) bool {
	return g.oversizeRate > 0 && float64(hashKey(g.seed, streamOversize, uint64(i))>>11)/(1<<53) < g.oversizeRate
}

// Generate returns conversation i of seed with the default base time.
func Generate(seed int64, i int) Conversation {
	return NewGenerator(seed, DefaultBaseTime).Generate(i)
}

// Catalog returns the organisation the conversations draw their ids from.
func (g *Generator) Catalog() Catalog { return g.catalog }

// ConversationID is cheap (no full generation) so the server can index a
// large pool without building every record.
func (g *Generator) ConversationID(i int) string {
	return uuidFrom(hashKey(g.seed, streamConversationID, uint64(i)), hashKey(g.seed, streamConversationID, ^uint64(i)))
}

// startMs is the conversationStart of conversation i in epoch milliseconds.
func (g *Generator) startMs(i int) int64 {
	return g.baseMs + int64(i)*g.spacingMs + int64(hashKey(g.seed, streamStart, uint64(i))%uint64(g.spacingMs))
}

// Generate returns conversation i; it depends only on the seed, the base
// time, the spacing and i.
func (g *Generator) Generate(i int) Conversation {
	r := newRand(g.seed, streamConversation, uint64(i))
	b := &builder{
		g:     g,
		r:     r,
		t0:    g.startMs(i),
		users: r.Perm(len(g.catalog.UserIDs)),
		codes: r.Perm(len(g.catalog.WrapUpCodes)),
	}
	b.pickShape()
	if b.direction == "outbound" {
		b.outbound()
	} else {
		b.inbound()
	}
	b.attributes(newRand(g.seed, streamAttributes, uint64(i)))
	if g.oversized(i) {
		b.padOversize(newRand(g.seed, streamOversize, uint64(i)))
	}
	return b.finish(i, g.ConversationID(i))
}

// builder accumulates one conversation. All durations are milliseconds.
type builder struct {
	g         *Generator
	r         *rand.Rand
	t0        int64
	media     string
	direction string
	provider  string
	contact   Session // customer-facing contact fields, copied onto customer sessions
	users     []int   // permutation of catalog users, consumed so agents are distinct
	codes     []int   // likewise for wrap-up codes
	rec       AnalyticsConversation
	attrs     map[string]map[string]string // by participantId
	exp       Expected
	endMs     int64 // latest wrap-up or customer end = conversationEnd
	// firstEventMs and lastEventMs bound the events emission will stamp.
	firstEventMs, lastEventMs int64
}

// Shares of conversations, in percent, with the shapes that make analysts'
// figures differ from plain talk time.
const (
	// abandonPercent of inbound voice routing legs end with the customer
	// hanging up in queue.
	abandonPercent = 8
	// contactingPercent of outbound calls are contacted (as a preview
	// campaign does) before the agent's phone dials.
	contactingPercent = 40
)

var customerNames = []string{"Alex Morgan", "Sam Rivera", "Jordan Lee", "Casey Kim", "Robin Patel", "Taylor Brooks", "Jamie Chen", "Morgan Diaz"}

var orgNumbers = []string{"tel:+18005550100", "tel:+18005550123", "tel:+18005550188"}

// pickShape draws media type, direction and the customer's contact details.
// Voice dominates, as in most contact centres.
func (b *builder) pickShape() {
	r := b.r
	b.direction = "inbound"
	switch n := r.IntN(100); {
	case n < 70:
		b.media, b.provider = "voice", "Edge"
		if r.IntN(100) < 15 {
			b.direction = "outbound"
		}
	case n < 85:
		b.media, b.provider = "message", "PureCloud Messaging"
	case n < 93:
		b.media, b.provider = "email", "PureCloud Email"
		if r.IntN(100) < 10 {
			b.direction = "outbound"
		}
	default:
		b.media, b.provider = "callback", "PureCloud Callback"
	}
	customer := fmt.Sprintf("tel:+1555%07d", r.IntN(10_000_000))
	org := orgNumbers[r.IntN(len(orgNumbers))]
	switch b.media {
	case "voice":
		b.contact.Ani, b.contact.Dnis = customer, org
		if b.direction == "outbound" {
			b.contact.Ani, b.contact.Dnis = org, customer
		}
	case "message":
		b.contact.MessageType = "webmessaging"
		b.contact.AddressFrom = fmt.Sprintf("web-visitor-%d", r.IntN(100_000))
	case "email":
		b.contact.AddressFrom = fmt.Sprintf("customer%d@example.com", r.IntN(100_000))
		b.contact.AddressTo = "support@example.org"
		if b.direction == "outbound" {
			b.contact.AddressFrom, b.contact.AddressTo = b.contact.AddressTo, b.contact.AddressFrom
		}
	case "callback":
		b.contact.CallbackUserName = customerNames[r.IntN(len(customerNames))]
		b.contact.CallbackNumbers = []string{customer}
	}
}

func (b *builder) id() string { return randUUID(b.r) }

// between draws uniformly from [lo, hi].
func (b *builder) between(lo, hi int64) int64 { return lo + b.r.Int64N(hi-lo+1) }

// skewed draws from [lo, hi] with most values near lo, like real waits.
func (b *builder) skewed(lo, hi int64) int64 {
	u := b.r.Float64()
	return lo + int64(float64(hi-lo)*u*u)
}

func (b *builder) talkMs() int64 {
	switch b.media {
	case "message":
		return b.skewed(120_000, 1_800_000)
	case "email":
		return b.skewed(60_000, 900_000)
	case "callback":
		return b.skewed(60_000, 600_000)
	default:
		return b.skewed(30_000, 900_000)
	}
}

func (b *builder) session(direction string) Session {
	return Session{SessionID: b.id(), MediaType: b.media, Direction: direction, Provider: b.provider}
}

func (b *builder) customer(direction string) Participant {
	s := b.session(direction)
	s.MessageType, s.Ani, s.Dnis = b.contact.MessageType, b.contact.Ani, b.contact.Dnis
	s.AddressFrom, s.AddressTo = b.contact.AddressFrom, b.contact.AddressTo
	s.CallbackUserName, s.CallbackNumbers = b.contact.CallbackUserName, b.contact.CallbackNumbers
	return Participant{
		ParticipantID:   b.id(),
		ParticipantName: customerNames[b.r.IntN(len(customerNames))],
		Purpose:         "customer",
		Sessions:        []Session{s},
	}
}

// event notes one event emission will carry: its topic and eventTime.
func (b *builder) event(topic string, atMs int64) {
	b.exp.Events = append(b.exp.Events, ExpectedEvent{Topic: topic, EventTime: formatMs(atMs)})
	if b.firstEventMs == 0 || atMs < b.firstEventMs {
		b.firstEventMs = atMs
	}
	if atMs >= b.lastEventMs {
		b.lastEventMs, b.exp.LastEventTopic = atMs, topic
	}
}

func (b *builder) agent(direction string) Participant {
	user := b.g.catalog.UserIDs[b.users[0]]
	b.users = b.users[1:]
	b.exp.UserIDs = append(b.exp.UserIDs, user)
	return Participant{ParticipantID: b.id(), Purpose: "agent", UserID: user, Sessions: []Session{b.session(direction)}}
}

func (b *builder) pickQueue() Queue {
	q := b.g.catalog.Queues[b.r.IntN(len(b.g.catalog.Queues))]
	if !slices.Contains(b.exp.QueueIDs, q.ID) {
		b.exp.QueueIDs = append(b.exp.QueueIDs, q.ID)
	}
	return q
}

func seg(typ string, start, end int64, queueID string) Segment {
	return Segment{SegmentType: typ, SegmentStart: formatMs(start), SegmentEnd: formatMs(end), QueueID: queueID}
}

func metric(name string, value, at int64) Metric {
	return Metric{Name: name, Value: value, EmitDate: formatMs(at)}
}

// hangUp decides who ends the call: the side that hangs up is "endpoint" on
// the customer or "client" on the agent; the other side sees "peer".
func (b *builder) hangUp() (customer, agent string) {
	if b.r.IntN(100) < 70 {
		return "endpoint", "peer"
	}
	return "peer", "client"
}

// inbound: customer → optional IVR → one or more routing legs (acd wait,
// maybe an unanswered alert, an answering agent); every leg but the last ends
// in a transfer, unless the customer hangs up waiting in a queue.
func (b *builder) inbound() {
	customerDisconnect, agentDisconnect := b.hangUp()
	sysEnd := b.t0 + b.between(100, 900)
	b.rec.Participants = append(b.rec.Participants, b.customer("inbound"))

	t := sysEnd
	if b.media == "voice" && b.r.IntN(100) < 60 {
		ivrEnd := t + b.between(8_000, 90_000)
		s := b.session("inbound")
		s.Segments = []Segment{seg("ivr", t, ivrEnd, "")}
		s.Segments[0].DisconnectType = "transfer"
		s.Metrics = []Metric{metric("tIvr", ivrEnd-t, ivrEnd)}
		b.rec.Participants = append(b.rec.Participants, Participant{
			ParticipantID: b.id(), ParticipantName: "Main Menu", Purpose: "ivr", Sessions: []Session{s},
		})
		b.exp.IvrTimeMs += ivrEnd - t
		t = ivrEnd
	}

	legs := 1
	if b.r.IntN(100) < 22 {
		legs++
		if b.r.IntN(100) < 15 {
			legs++
		}
	}
	first := b.pickQueue()
	q := first
	for k := range legs {
		if k > 0 && b.r.IntN(2) == 0 {
			q = b.pickQueue()
		}
		disconnect := "transfer"
		if k == legs-1 {
			disconnect = agentDisconnect
		}
		var abandoned bool
		if t, abandoned = b.leg(t, q, disconnect); abandoned {
			customerDisconnect = "endpoint"
			break
		}
	}

	s := &b.rec.Participants[0].Sessions[0]
	s.Segments = []Segment{seg("system", b.t0, sysEnd, ""), seg("interact", sysEnd, t, first.ID)}
	s.Segments[1].DisconnectType = customerDisconnect
	s.Metrics = []Metric{metric("nConnected", 1, sysEnd), metric("tConnected", t-sysEnd, t)}
	b.exp.DisconnectType = customerDisconnect
	b.endMs = max(b.endMs, t)
	b.event(TopicCustomerEnd, t)
}

// leg routes the customer through queue q from start; it returns the end of
// the answering agent's talk, or when the customer hung up waiting
// (abandoned).
func (b *builder) leg(start int64, q Queue, disconnect string) (end int64, abandoned bool) {
	acd := Participant{ParticipantID: b.id(), ParticipantName: q.Name, Purpose: "acd", Sessions: []Session{b.session("inbound")}}
	t := start + b.skewed(1_000, 120_000)
	as := &acd.Sessions[0]
	if b.media == "voice" && b.r.IntN(100) < abandonPercent {
		as.Segments = []Segment{seg("interact", start, t, q.ID)}
		as.Segments[0].DisconnectType = "peer"
		as.Metrics = []Metric{metric("tAcd", t-start, t), metric("tAbandon", t-start, t)}
		b.rec.Participants = append(b.rec.Participants, acd)
		b.exp.WaitTimeMs += t - start
		b.exp.Abandoned = true
		return t, true
	}

	var missed []Participant
	if b.r.IntN(100) < 15 {
		alert := b.between(8_000, 30_000)
		m := b.agent("inbound")
		s := &m.Sessions[0]
		s.Segments = []Segment{seg("alert", t, t+alert, q.ID)}
		s.Segments[0].DisconnectType = "transfer.noanswer"
		s.Metrics = []Metric{metric("tAlert", alert, t+alert), metric("tNotResponding", alert, t+alert)}
		missed = append(missed, m)
		t += alert + b.between(1_000, 15_000)
	}

	alert := b.between(1_000, 10_000)
	answer := t + alert
	agent := b.agent("inbound")
	s := &agent.Sessions[0]
	s.Segments = []Segment{seg("alert", t, answer, q.ID)}
	s.Metrics = []Metric{metric("tAlert", alert, answer), metric("tAnswered", answer-start, answer)}
	b.exp.AnswerTimeMs += answer - start
	talkEnd := b.work(&agent, q.ID, answer, disconnect, 0, true)

	as.Segments = []Segment{seg("interact", start, t, q.ID)}
	as.Segments[0].DisconnectType = "transfer"
	as.Metrics = []Metric{metric("tAcd", t-start, t)}
	b.exp.WaitTimeMs += t - start

	b.rec.Participants = append(b.rec.Participants, acd)
	b.rec.Participants = append(b.rec.Participants, missed...)
	b.rec.Participants = append(b.rec.Participants, agent)
	return talkEnd, false
}

// outbound: an agent places the call (or writes the email) on behalf of a
// queue; no IVR or ACD wait. A call is dialed, some contacted first; both
// count in the agent's handle time.
func (b *builder) outbound() {
	customerDisconnect, agentDisconnect := b.hangUp()
	q := b.pickQueue()
	agent := b.agent("outbound")
	s := &agent.Sessions[0]
	connect := b.t0
	if b.media == "voice" {
		dial := b.t0
		if b.r.IntN(100) < contactingPercent {
			dial += b.between(1_000, 8_000)
			s.Segments = append(s.Segments, seg("contacting", b.t0, dial, q.ID))
			s.Metrics = append(s.Metrics, metric("tContacting", dial-b.t0, dial))
		}
		connect = dial + b.between(3_000, 25_000)
		s.Segments = append(s.Segments, seg("dialing", dial, connect, q.ID))
		s.Metrics = append(s.Metrics, metric("tDialing", connect-dial, connect))
	}
	talkEnd := b.work(&agent, q.ID, connect, agentDisconnect, connect-b.t0, false)
	b.exp.DisconnectType = customerDisconnect
	b.event(TopicCustomerEnd, talkEnd)

	customer := b.customer("outbound")
	cs := &customer.Sessions[0]
	cs.Segments = []Segment{seg("interact", connect, talkEnd, q.ID)}
	cs.Segments[0].DisconnectType = customerDisconnect
	cs.Metrics = []Metric{metric("nConnected", 1, connect), metric("tConnected", talkEnd-connect, talkEnd)}
	b.rec.Participants = append(b.rec.Participants, agent, customer)
}

// work appends an agent's talk (split by an optional hold) and wrap-up
// from the moment the agent is connected, to the agent's first session;
// setup is the time the agent spent before (dialing, contacting), which
// Genesys counts in handle time. It returns the end of talk.
func (b *builder) work(p *Participant, queueID string, from int64, disconnect string, setup int64, answered bool) int64 {
	s := &p.Sessions[0]
	talk := b.talkMs()
	var held int64
	talkEnd := from + talk
	if b.media == "voice" && b.r.IntN(100) < 25 {
		held = b.between(10_000, 120_000)
		h0 := from + talk*b.between(20, 70)/100
		h1 := h0 + held
		talkEnd += held
		s.Segments = append(s.Segments, seg("interact", from, h0, queueID), seg("hold", h0, h1, queueID), seg("interact", h1, talkEnd, queueID))
		s.Metrics = append(s.Metrics, metric("tHeld", held, h1), metric("tHeldComplete", held, h1))
	} else {
		s.Segments = append(s.Segments, seg("interact", from, talkEnd, queueID))
	}
	s.Segments[len(s.Segments)-1].DisconnectType = disconnect
	s.Metrics = append(s.Metrics, metric("tTalk", talk, talkEnd), metric("tTalkComplete", talk, talkEnd))
	if disconnect == "transfer" {
		s.Metrics = append(s.Metrics, metric("nTransferred", 1, talkEnd))
		b.exp.Transfers++
	}

	acw := b.skewed(5_000, 120_000)
	wrapEnd := talkEnd + acw
	code := b.g.catalog.WrapUpCodes[b.codes[0]]
	b.codes = b.codes[1:]
	wrap := seg("wrapup", talkEnd, wrapEnd, queueID)
	wrap.WrapUpCode, wrap.DisconnectType = code, disconnect
	s.Segments = append(s.Segments, wrap)
	handle := setup + talk + held + acw
	s.Metrics = append(s.Metrics, metric("tAcw", acw, wrapEnd), metric("tHandle", handle, wrapEnd))

	b.exp.TalkTimeMs += talk
	b.exp.HoldTimeMs += held
	b.exp.AcwTimeMs += acw
	b.exp.HandleTimeMs += handle
	b.exp.WrapUpCodes = append(b.exp.WrapUpCodes, code)
	b.exp.Agents = append(b.exp.Agents, ExpectedAgent{UserID: p.UserID, QueueID: queueID, WrapUpCode: code, Answered: answered,
		HandleTimeMs: handle, TalkTimeMs: talk, HoldTimeMs: held, AcwTimeMs: acw})
	b.endMs = max(b.endMs, wrapEnd)
	b.event(TopicACW, wrapEnd)
	return talkEnd
}

// Values of the simulated participant attributes.
var (
	languages      = []string{"en-US", "es-US", "fr-CA"}
	intents        = []string{"billing", "sales", "support", "cancellation"}
	scriptOutcomes = []string{"resolved", "callback", "escalated"}
)

// Shares of conversations, in percent, with optional attributes.
const (
	accountNumberPercent = 50
	scriptOutcomePercent = 30
)

// attributes draws the participant data Architect flows and agent scripts
// attach, from r so that the rest of the conversation is as without them.
// An inbound flow sets the customer's language and intent, often an
// account number and, after an IVR, the menu selection; a scripted agent
// sets its call's outcome on its own participant, so that a transfer can
// leave two values of it.
func (b *builder) attributes(r *rand.Rand) {
	hasIVR := slices.ContainsFunc(b.rec.Participants, func(p Participant) bool { return p.Purpose == "ivr" })
	for _, p := range b.rec.Participants {
		attrs := map[string]string{}
		switch {
		case p.Purpose == "customer" && b.direction == "inbound":
			attrs["language"] = languages[r.IntN(len(languages))]
			attrs["intent"] = intents[r.IntN(len(intents))]
			if r.IntN(100) < accountNumberPercent {
				attrs["accountNumber"] = fmt.Sprintf("AC%08d", r.IntN(100_000_000))
			}
			if hasIVR {
				attrs["ivr.menuSelection"] = fmt.Sprint(1 + r.IntN(4))
			}
		case p.Purpose == "agent" && slices.ContainsFunc(p.Sessions[0].Segments, func(g Segment) bool { return g.SegmentType == "wrapup" }):
			if r.IntN(100) < scriptOutcomePercent {
				attrs["script.outcome"] = scriptOutcomes[r.IntN(len(scriptOutcomes))]
			}
		}
		if len(attrs) == 0 {
			continue
		}
		if b.attrs == nil {
			b.attrs, b.exp.ParticipantAttributes = map[string]map[string]string{}, map[string]string{}
		}
		b.attrs[p.ParticipantID] = attrs
		// No key is set on both the customer and an agent, so the
		// customer's precedence never shows here; a later agent's outcome
		// replaces an earlier one's.
		maps.Copy(b.exp.ParticipantAttributes, attrs)
	}
}

// oversizeFlows is how many in-queue flow executions padOversize adds:
// enough that the gzipped record is well past DynamoDB's 400 KB item limit
// (see TestOversizedConversationsAreTooLargeForAnItemEvenGzipped).
const oversizeFlows = 10_000

// padOversize adds thousands of short in-queue flow executions, each a
// participant of its own, the way a conversation parked in a queue for days
// grows, drawn from r so that the rest of the conversation is as without
// them. They carry no queue, wrap-up or metric, so every expected figure
// but the participant count stays.
func (b *builder) padOversize(r *rand.Rand) {
	span := max(b.endMs-b.t0, oversizeFlows)
	for k := range int64(oversizeFlows) {
		start := b.t0 + span*k/oversizeFlows
		end := start + 1 + r.Int64N(span/oversizeFlows)
		s := Session{SessionID: randUUID(r), MediaType: b.media, Direction: "inbound", Provider: b.provider,
			Metrics: []Metric{}, Segments: []Segment{seg("ivr", start, end, "")}}
		s.Segments[0].DisconnectType = "transfer"
		b.rec.Participants = append(b.rec.Participants, Participant{
			ParticipantID: randUUID(r), ParticipantName: "In-Queue Flow", Purpose: "workflow", Sessions: []Session{s}})
	}
	b.exp.Oversized = true
}

func (b *builder) finish(i int, id string) Conversation {
	divisions := b.g.catalog.DivisionIDs
	d := b.r.Perm(len(divisions))
	n := 1
	if b.r.IntN(100) < 10 {
		n = 2
	}
	for _, k := range d[:n] {
		b.rec.DivisionIDs = append(b.rec.DivisionIDs, divisions[k])
	}
	if b.media == "voice" {
		b.rec.MediaStatsMinConversationMos = float64(350+b.r.IntN(101)) / 100
	}
	b.rec.ConversationID = id
	b.rec.ConversationStart = formatMs(b.t0)
	b.rec.ConversationEnd = formatMs(b.endMs)
	b.rec.OriginatingDirection = b.direction

	e := b.exp
	e.ConversationID = id
	e.ConversationStart = b.rec.ConversationStart
	e.ConversationEnd = b.rec.ConversationEnd
	e.DurationMs = b.endMs - b.t0
	e.FirstEventAt = formatMs(b.firstEventMs)
	e.CustomerAni, e.CustomerDnis = b.contact.Ani, b.contact.Dnis
	e.DivisionIDs = b.rec.DivisionIDs
	e.MediaType = b.media
	e.OriginatingDirection = b.direction
	e.ParticipantCount = len(b.rec.Participants)
	return Conversation{Index: i, Record: b.rec, ParticipantAttributes: b.attrs, Expected: e}
}
