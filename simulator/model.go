package simulator

import "slices"

// Wire types of the analytics conversation-details API. Field order follows
// the fixtures in testdata/analytics so serialized records read like
// the real thing; timestamps are pre-formatted strings because Genesys always
// sends exactly three fractional digits, which time.Time's JSON form does not.

// AnalyticsConversation is one conversation as the details endpoints return it.
type AnalyticsConversation struct {
	ConversationID               string        `json:"conversationId"`
	ConversationStart            string        `json:"conversationStart"`
	ConversationEnd              string        `json:"conversationEnd,omitempty"`
	OriginatingDirection         string        `json:"originatingDirection"`
	DivisionIDs                  []string      `json:"divisionIds"`
	MediaStatsMinConversationMos float64       `json:"mediaStatsMinConversationMos,omitempty"`
	Participants                 []Participant `json:"participants"`
}

// Participant is one party of a conversation (customer, ivr, acd, agent).
type Participant struct {
	ParticipantID   string `json:"participantId"`
	ParticipantName string `json:"participantName,omitempty"`
	Purpose         string `json:"purpose"`
	UserID          string `json:"userId,omitempty"`
	// Attributes are the custom data Architect flows and agent scripts
	// attach to the participant. Only the details query returns them: the
	// GET endpoints' model has none, so Generate leaves them out of
	// Conversation.Record (see Conversation.Queried).
	Attributes map[string]string `json:"attributes,omitempty"`
	Sessions   []Session         `json:"sessions"`
}

// Session is one media session of a participant.
type Session struct {
	SessionID        string    `json:"sessionId"`
	MediaType        string    `json:"mediaType"`
	Direction        string    `json:"direction"`
	MessageType      string    `json:"messageType,omitempty"`
	Ani              string    `json:"ani,omitempty"`
	Dnis             string    `json:"dnis,omitempty"`
	AddressFrom      string    `json:"addressFrom,omitempty"`
	AddressTo        string    `json:"addressTo,omitempty"`
	CallbackUserName string    `json:"callbackUserName,omitempty"`
	CallbackNumbers  []string  `json:"callbackNumbers,omitempty"`
	Provider         string    `json:"provider"`
	Metrics          []Metric  `json:"metrics"`
	Segments         []Segment `json:"segments"`
}

// Metric is a session metric; t* values are milliseconds.
type Metric struct {
	Name     string `json:"name"`
	Value    int64  `json:"value"`
	EmitDate string `json:"emitDate"`
}

// Segment is a contiguous period of one state (alert, interact, hold, wrapup...).
type Segment struct {
	SegmentType    string `json:"segmentType"`
	SegmentStart   string `json:"segmentStart"`
	SegmentEnd     string `json:"segmentEnd"`
	QueueID        string `json:"queueId,omitempty"`
	WrapUpCode     string `json:"wrapUpCode,omitempty"`
	DisconnectType string `json:"disconnectType,omitempty"`
}

// withoutWrapUp returns the record as the API shows it between the customer
// hanging up and the end of after-call work: no conversationEnd, no wrap-up
// segments and no tAcw/tHandle metrics. The receiver is not modified.
func (c AnalyticsConversation) withoutWrapUp() AnalyticsConversation {
	out := c
	out.ConversationEnd = ""
	out.Participants = make([]Participant, len(c.Participants))
	for pi, p := range c.Participants {
		sessions := make([]Session, len(p.Sessions))
		for si, s := range p.Sessions {
			s.Metrics = filter(s.Metrics, func(m Metric) bool { return m.Name != "tAcw" && m.Name != "tHandle" })
			s.Segments = filter(s.Segments, func(g Segment) bool { return g.SegmentType != "wrapup" })
			sessions[si] = s
		}
		p.Sessions = sessions
		out.Participants[pi] = p
	}
	return out
}

// withoutWrapUpCodes returns the record as the API may show it just after
// after-call work ended: conversationEnd is there and every segment closed,
// but Genesys has not indexed the wrap-up codes yet (it does so tens of
// seconds later). The receiver is not modified.
func (c AnalyticsConversation) withoutWrapUpCodes() AnalyticsConversation {
	out := c
	out.Participants = make([]Participant, len(c.Participants))
	for pi, p := range c.Participants {
		sessions := make([]Session, len(p.Sessions))
		for si, s := range p.Sessions {
			s.Segments = slices.Clone(s.Segments)
			for gi := range s.Segments {
				s.Segments[gi].WrapUpCode = ""
			}
			sessions[si] = s
		}
		p.Sessions = sessions
		out.Participants[pi] = p
	}
	return out
}

// withAttributes returns the record as the details query shows it, each
// participant with its attributes from attrs (keyed by participantId). The
// receiver is not modified.
func (c AnalyticsConversation) withAttributes(attrs map[string]map[string]string) AnalyticsConversation {
	out := c
	out.Participants = slices.Clone(c.Participants)
	for i := range out.Participants {
		out.Participants[i].Attributes = attrs[out.Participants[i].ParticipantID]
	}
	return out
}

// filter returns a new slice; the input is shared with the complete record.
func filter[T any](in []T, keep func(T) bool) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}
