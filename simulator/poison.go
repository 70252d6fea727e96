package simulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// poisonKind is how a permanently bad conversation misbehaves. Whatever a
// client does, it never gets a usable record of one, so a correct pipeline
// records it as failed (and only it).
type poisonKind uint8

const (
	poisonNone poisonKind = iota
	// poisonBadRequest: every request naming the id answers 400
	// bad.request naming it, as Genesys answers for an id it considers
	// malformed, so one such id fails a whole multi-get.
	poisonBadRequest
	// poisonBrokenRecord: the record is served with a shape no client can
	// map ("participants": "x").
	poisonBrokenRecord
)

func (k poisonKind) String() string {
	return [...]string{"", "badRequest", "brokenRecord"}[k]
}

// poisonOf decides from the seed alone whether conversation i is poisoned at
// rate, and how, so that a rerun with the same seed and rate poisons the
// same ids whatever else happened.
func (g *Generator) poisonOf(i int, rate float64) poisonKind {
	if rate == 0 {
		return poisonNone
	}
	u := float64(hashKey(g.seed, streamPoison, uint64(i))>>11) / (1 << 53)
	if u >= rate {
		return poisonNone
	}
	if hashKey(g.seed, streamPoison, ^uint64(i))&1 == 0 {
		return poisonBadRequest
	}
	return poisonBrokenRecord
}

// brokenRecordJSON is rec with participants that are not a list; the rest
// looks complete, so only mapping the record can tell.
func brokenRecordJSON(rec AnalyticsConversation) []byte {
	return mustMarshal(struct {
		ConversationID       string   `json:"conversationId"`
		ConversationStart    string   `json:"conversationStart"`
		ConversationEnd      string   `json:"conversationEnd"`
		OriginatingDirection string   `json:"originatingDirection"`
		DivisionIDs          []string `json:"divisionIds"`
		Participants         string   `json:"participants"`
	}{rec.ConversationID, rec.ConversationStart, rec.ConversationEnd, rec.OriginatingDirection, rec.DivisionIDs, "x"})
}

// refuseBadIDs answers 400 if any of entries is poisoned with
// poisonBadRequest, naming each such id, and reports whether it did.
func (s *Server) refuseBadIDs(w http.ResponseWriter, ids []string, entries []*entry) bool {
	var bad []string
	for k, e := range entries {
		if e != nil && e.poisoned() == poisonBadRequest && !slices.Contains(bad, ids[k]) {
			bad = append(bad, ids[k])
		}
	}
	if len(bad) == 0 {
		return false
	}
	s.counters.faults[faultPoisonBadRequest].Add(1)
	writeAPIError(w, http.StatusBadRequest, "bad.request",
		fmt.Sprintf("Invalid conversation id(s): %s", strings.Join(bad, ", ")))
	return true
}
