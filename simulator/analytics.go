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

// visibleJSON is the record of e as the API shows it at now, or nil while it
// is absent (or e is nil: unknown id).
func (s *Server) visibleJSON(e *entry, now time.Time, st *Settings) []byte {
	if e == nil {
		return nil
	}
	v := e.visibility(now, st.AbsentFor, st.WrapupFor)
	switch {
	case v == absent:
		return nil
	case e.poisoned() == poisonBrokenRecord:
		s.counters.faults[faultPoisonBrokenRecord].Add(1)
		return e.brokenJSON
	case v == notReady:
		return e.notReadyJSON
	case e.wrapUpLate(now, st):
		return e.lateWrapUpJSON
	default:
		return s.pool.completeJSON(e)
	}
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
