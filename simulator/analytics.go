package simulator

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxMultiGetIDs is the common-practice limit of the multi-get; Genesys
// documents none, the simulator enforces it so clients batch correctly.
const maxMultiGetIDs = 100

// bufPool recycles response buffers; multi-get bodies are ~350 KB.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuf = 4 << 20

// form is which version of its record the API shows of a conversation.
type form int

const (
	formAbsent form = iota
	formBroken
	formNotReady
	formLateWrapUp
	formComplete
)

// visibleForm is the version of e's record the API shows at now; absent
// for a nil e (unknown id).
func (s *Server) visibleForm(e *entry, now time.Time, st *Settings) form {
	if e == nil {
		return formAbsent
	}
	v := e.visibility(now, st.AbsentFor, st.WrapupFor)
	switch {
	case v == absent:
		return formAbsent
	case e.poisoned() == poisonBrokenRecord:
		s.counters.faults[faultPoisonBrokenRecord].Add(1)
		return formBroken
	case v == notReady:
		return formNotReady
	case e.wrapUpLate(now, st):
		return formLateWrapUp
	default:
		return formComplete
	}
}

// visibleJSON is the record of e as the GET endpoints show it at now, or
// nil while it is absent (or e is nil: unknown id).
func (s *Server) visibleJSON(e *entry, now time.Time, st *Settings) []byte {
	switch s.visibleForm(e, now, st) {
	case formBroken:
		return e.brokenJSON
	case formNotReady:
		return e.notReadyJSON
	case formLateWrapUp:
		return e.lateWrapUpJSON
	case formComplete:
		return s.pool.completeJSON(e)
	}
	return nil
}

// queriedJSON is the record of e as the details query shows it at now: the
// GET endpoints' version with the participants' attributes. It is
// generated for each response rather than kept: keeping it would double
// the pool's memory, and generating costs about 20 µs a record, 2 ms a
// page of 100.
func (s *Server) queriedJSON(e *entry, now time.Time, st *Settings) []byte {
	f := s.visibleForm(e, now, st)
	switch f {
	case formAbsent:
		return nil
	case formBroken:
		return e.brokenJSON // its participants are not a list: no attributes
	}
	c := s.gen.Generate(e.index)
	rec := c.Record
	switch f {
	case formNotReady:
		rec = c.NotReady()
	case formLateWrapUp:
		rec = c.LateWrapUp()
	}
	return mustMarshal(rec.withAttributes(c.ParticipantAttributes))
}

// handleConversation is GET /api/v2/analytics/conversations/{id}/details.
func (s *Server) handleConversation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.counters.idsRequested.Add(1)
	e := s.pool.lookup(id)
	if s.refuseBadIDs(w, []string{id}, []*entry{e}) {
		return
	}
	body := s.visibleJSON(e, s.now(), s.settings.Load())
	if body == nil {
		s.counters.notFound.Add(1)
		writeAPIError(w, http.StatusNotFound, "not.found", fmt.Sprintf("Conversation %s was not found.", id))
		return
	}
	s.counters.idsServed.Add(1)
	writeJSONBytes(w, http.StatusOK, body)
}

// handleMultiGet is GET /api/v2/analytics/conversations/details?id=a,b,c.
// Unknown and not-yet-visible ids are simply absent from the answer; an id
// listed twice is served once.
func (s *Server) handleMultiGet(w http.ResponseWriter, r *http.Request) {
	ids := splitIDs(r.URL.Query()["id"])
	switch {
	case len(ids) == 0:
		writeAPIError(w, http.StatusBadRequest, "bad.request", "The id query parameter is required: comma-separated conversation ids.")
		return
	case len(ids) > maxMultiGetIDs:
		writeAPIError(w, http.StatusBadRequest, "bad.request",
			fmt.Sprintf("At most %d conversation ids may be requested at once; got %d.", maxMultiGetIDs, len(ids)))
		return
	}
	s.counters.idsRequested.Add(int64(len(ids)))
	now, st := s.now(), s.settings.Load()
	found := s.pool.lookupMany(ids)
	if s.refuseBadIDs(w, ids, found) {
		return
	}

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	buf.WriteString(`{"conversations":[`)
	served := 0
	for k, e := range found {
		body := s.visibleJSON(e, now, st)
		if body == nil {
			s.counters.notFound.Add(1)
			continue
		}
		if slices.Contains(found[:k], e) {
			continue
		}
		if served > 0 {
			buf.WriteByte(',')
		}
		buf.Write(body)
		served++
	}
	buf.WriteString("]}")
	s.counters.idsServed.Add(int64(served))
	writeJSONBytes(w, http.StatusOK, buf.Bytes())
	if buf.Cap() <= maxPooledBuf {
		bufPool.Put(buf)
	}
}

// splitIDs accepts both id=a,b and repeated id= parameters.
func splitIDs(values []string) []string {
	var ids []string
	for _, v := range values {
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}
