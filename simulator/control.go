package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// The control API under /sim is unauthenticated and never rate limited or
// faulted: it is the test harness's side door, not part of Genesys.

type controlError struct {
	Error string `json:"error"`
}

func writeControlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, controlError{msg})
}

// decodeStrict rejects unknown fields so a typo in a test's request fails
// loudly instead of silently using a default.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// handleEmit is POST /sim/emit.
func (s *Server) handleEmit(w http.ResponseWriter, r *http.Request) {
	var req EmitRequest
	if err := decodeStrict(w, r, &req); err != nil {
		writeControlError(w, http.StatusBadRequest, "invalid emit request: "+err.Error())
		return
	}
	res, err := s.Emit(req)
	if err != nil {
		writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Assembled by hand: json.Marshal would re-validate every delivery.
	var b bytes.Buffer
	b.WriteString(`{"conversationIds":`)
	b.Write(mustMarshal(res.ConversationIDs))
	b.WriteString(`,"deliveries":[`)
	for i, d := range res.Deliveries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(d)
	}
	b.WriteString(`],"events":` + strconv.Itoa(res.Events))
	if len(res.DroppedIDs) > 0 {
		b.WriteString(`,"droppedIds":`)
		b.Write(mustMarshal(res.DroppedIDs))
	}
	b.WriteByte('}')
	writeJSONBytes(w, http.StatusOK, b.Bytes())
}

// GroundTruth is the ground truth of one conversation, as GET
// /sim/conversations/{id}/expected serves it.
type GroundTruth struct {
	Expected
	Index    int                   `json:"index"`
	Emitted  bool                  `json:"emitted"`
	State    string                `json:"state"` // what the API serves now: absent, notReady, lateWrapUp or complete
	Complete AnalyticsConversation `json:"complete"`
	// Poisoned conversations are permanently bad (settings poisonRate):
	// PoisonKind badRequest makes every request naming the id answer 400,
	// brokenRecord serves a record that cannot be mapped. No client can get
	// them; a correct pipeline records them as failed.
	Poisoned   bool   `json:"poisoned,omitempty"`
	PoisonKind string `json:"poisonKind,omitempty"`
}

// handleExpected is GET /sim/conversations/{id}/expected.
func (s *Server) handleExpected(w http.ResponseWriter, r *http.Request) {
	e := s.pool.lookup(r.PathValue("id"))
	if e == nil {
		writeControlError(w, http.StatusNotFound, "unknown conversation id")
		return
	}
	st, now := s.settings.Load(), s.now()
	c := s.gen.Generate(e.index)
	poison := e.poisoned()
	state := e.visibility(now, st.AbsentFor, st.WrapupFor).String()
	if e.wrapUpLate(now, st) {
		state = "lateWrapUp"
	}
	writeJSON(w, http.StatusOK, GroundTruth{
		Expected:   c.Expected,
		Index:      e.index,
		Emitted:    e.endedAt.Load() != 0,
		State:      state,
		Complete:   c.Record,
		Poisoned:   poison != poisonNone,
		PoisonKind: poison.String(),
	})
}

// handleCatalog is GET /sim/catalog: the org, queue, division, wrap-up code
// and user ids conversations are drawn from.
func (s *Server) handleCatalog(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.gen.Catalog())
}

func (s *Server) handleCounters(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.counters.snapshot())
}

func (s *Server) handleCountersReset(w http.ResponseWriter, _ *http.Request) {
	s.counters.reset()
	writeJSON(w, http.StatusOK, s.counters.snapshot())
}

// Counters returns a snapshot of the request counters.
func (s *Server) Counters() Counters { return s.counters.snapshot() }

func (s *Server) handleGetSettings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.settings.Load())
}

// handlePostSettings applies a partial update atomically: either every field
// is valid and all apply, or nothing changes.
func (s *Server) handlePostSettings(w http.ResponseWriter, r *http.Request) {
	var patch settingsPatch
	if err := decodeStrict(w, r, &patch); err != nil {
		writeControlError(w, http.StatusBadRequest, "invalid settings: "+err.Error())
		return
	}
	s.settingsMu.Lock()
	old := *s.settings.Load()
	updated, err := patch.apply(old)
	if err != nil {
		s.settingsMu.Unlock()
		writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.settings.Store(&updated)
	if patch.ExpireTokensNow {
		s.tokens.expireAll()
	}
	if patch.ForceUnauthorized != nil {
		s.forcedUnauthorized.Store(int64(*patch.ForceUnauthorized))
	}
	s.settingsMu.Unlock()

	changes := settingsChanges(old, updated)
	if patch.ExpireTokensNow {
		changes = append(changes, "expireTokensNow", true)
	}
	if patch.ForceUnauthorized != nil {
		changes = append(changes, "forceUnauthorized", *patch.ForceUnauthorized)
	}
	if len(changes) > 0 {
		s.log.Info("settings changed", changes...)
	}
	writeJSON(w, http.StatusOK, updated)
}

// settingsChanges lists changed fields as slog key/value pairs, by wire name.
func settingsChanges(old, updated Settings) []any {
	var before, after map[string]any
	_ = json.Unmarshal(mustMarshal(old), &before)
	_ = json.Unmarshal(mustMarshal(updated), &after)
	var keys []string
	for k := range after {
		if after[k] != before[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []any
	for _, k := range keys {
		out = append(out, k, after[k])
	}
	return out
}
