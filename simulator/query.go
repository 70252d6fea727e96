package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	defaultPageSize = 25
	maxPageSize     = 100
	day             = 24 * time.Hour
	// Genesys's interval limits: a query without filters may span a week,
	// one with conversationFilters or segmentFilters a month.
	maxInterval         = 7 * day
	maxFilteredInterval = 31 * day
)

// queryRequest is the subset of the details-query body the simulator
// understands. Fields it does not know are ignored, as Genesys ignores
// them; filters it cannot evaluate are refused rather than ignored, so a
// test never passes on a filter that silently matched everything.
type queryRequest struct {
	Interval string `json:"interval"`
	Order    string `json:"order"`
	OrderBy  string `json:"orderBy"`
	Paging   struct {
		PageSize   int `json:"pageSize"`
		PageNumber int `json:"pageNumber"`
	} `json:"paging"`
	ConversationFilters []queryFilter     `json:"conversationFilters"`
	SegmentFilters      []json.RawMessage `json:"segmentFilters"`
}

type queryFilter struct {
	Type       string           `json:"type"`
	Predicates []queryPredicate `json:"predicates"`
}

type queryPredicate struct {
	Type      string `json:"type"`
	Dimension string `json:"dimension"`
	Operator  string `json:"operator"`
	Value     string `json:"value"`
}

// compiledQuery is a validated request.
type compiledQuery struct {
	// from and to are the interval widened to whole UTC days: Genesys
	// matches conversations that started on any day the interval touches
	// and does not trim them to the interval; clients filter by
	// conversationStart themselves.
	from, to   time.Time
	desc       bool
	pageSize   int
	pageNumber int
	filters    []conversationFilter // all must match
}

// conversationFilter is one compiled conversationFilters clause.
type conversationFilter struct {
	or  bool            // one predicate suffices; otherwise all must hold
	ids map[string]bool // conversationId values named; nil if none
	// ends holds one value per conversationEnd predicate: true for exists,
	// false for notExists.
	ends []bool
}

// matches reports whether a conversation with id, whose visible record has
// conversationEnd or not, passes the clause.
func (f conversationFilter) matches(id string, hasEnd bool) bool {
	if f.or {
		return f.ids[id] || slices.Contains(f.ends, hasEnd)
	}
	// "and" over conversationId matches only if every predicate names
	// this conversation.
	return (len(f.ids) == 0 || len(f.ids) == 1 && f.ids[id]) && !slices.Contains(f.ends, !hasEnd)
}

// compile validates q; resultLimit is the paging depth limit.
func (q *queryRequest) compile(resultLimit int) (*compiledQuery, error) {
	c := &compiledQuery{pageSize: q.Paging.PageSize, pageNumber: q.Paging.PageNumber}
	if q.Interval == "" {
		return nil, errors.New("interval is required, e.g. 2026-11-27T00:00:00.000Z/2026-11-28T00:00:00.000Z")
	}
	start, end, ok := strings.Cut(q.Interval, "/")
	from, errStart := time.Parse(time.RFC3339, start)
	to, errEnd := time.Parse(time.RFC3339, end)
	filtered := len(q.ConversationFilters) > 0 || len(q.SegmentFilters) > 0
	switch {
	case !ok || errStart != nil || errEnd != nil:
		return nil, fmt.Errorf("interval %q is not start/end in ISO-8601", q.Interval)
	case !to.After(from):
		return nil, fmt.Errorf("interval %q ends before it starts", q.Interval)
	case filtered && to.Sub(from) > maxFilteredInterval:
		return nil, fmt.Errorf("interval %q is longer than 31 days, the limit with conversationFilters or segmentFilters; split it", q.Interval)
	case !filtered && to.Sub(from) > maxInterval:
		return nil, fmt.Errorf("interval %q is longer than 7 days, the limit without conversationFilters or segmentFilters (31 days with them); split it", q.Interval)
	}
	c.from, c.to = floorDay(from), floorDay(to)
	if c.to.Before(to) {
		c.to = c.to.Add(day)
	}

	switch q.Order {
	case "", "asc", "unordered":
	case "desc":
		c.desc = true
	default:
		return nil, fmt.Errorf("order %q must be asc, desc or unordered", q.Order)
	}
	if q.OrderBy != "" && q.OrderBy != "conversationStart" {
		return nil, fmt.Errorf("orderBy %q is not supported by the simulator; use conversationStart", q.OrderBy)
	}

	if c.pageSize == 0 {
		c.pageSize = defaultPageSize
	}
	if c.pageNumber == 0 {
		c.pageNumber = 1
	}
	switch {
	case c.pageSize < 1 || c.pageSize > maxPageSize:
		return nil, fmt.Errorf("paging.pageSize must be between 1 and %d, got %d", maxPageSize, c.pageSize)
	case c.pageNumber < 1:
		return nil, fmt.Errorf("paging.pageNumber must be at least 1, got %d", c.pageNumber)
	case c.pageNumber > resultLimit/c.pageSize: // pageNumber*pageSize > resultLimit, without overflow
		//lint:ignore ST1005 Genesys's exact wording, which clients may match on
		return nil, fmt.Errorf("Pagination may not exceed %d results", resultLimit)
	}

	if len(q.SegmentFilters) > 0 {
		return nil, errors.New("segmentFilters are not supported by the simulator")
	}
	for _, f := range q.ConversationFilters {
		cf, err := f.compile()
		if err != nil {
			return nil, err
		}
		c.filters = append(c.filters, cf)
	}
	return c, nil
}

// floorDay is the start of t's UTC day.
func floorDay(t time.Time) time.Time { return t.UTC().Truncate(day) }

func (f queryFilter) compile() (conversationFilter, error) {
	if f.Type != "and" && f.Type != "or" {
		return conversationFilter{}, fmt.Errorf("conversationFilters type %q must be and or or", f.Type)
	}
	if len(f.Predicates) == 0 {
		return conversationFilter{}, errors.New("conversationFilters need at least one predicate")
	}
	cf := conversationFilter{or: f.Type == "or"}
	for _, p := range f.Predicates {
		if p.Type != "" && p.Type != "dimension" {
			return conversationFilter{}, fmt.Errorf("predicate type %q is not supported; use dimension", p.Type)
		}
		switch p.Dimension {
		case "conversationId":
			if p.Operator != "" && p.Operator != "matches" {
				return conversationFilter{}, fmt.Errorf("operator %q is not supported for conversationId; use matches", p.Operator)
			}
			if p.Value == "" {
				return conversationFilter{}, errors.New("a conversationId predicate needs a value")
			}
			if cf.ids == nil {
				cf.ids = map[string]bool{}
			}
			cf.ids[p.Value] = true
		case "conversationEnd":
			if p.Operator != "exists" && p.Operator != "notExists" {
				return conversationFilter{}, fmt.Errorf("operator %q is not supported for conversationEnd; use exists or notExists", p.Operator)
			}
			if p.Value != "" {
				return conversationFilter{}, fmt.Errorf("operator %s takes no value, got %q", p.Operator, p.Value)
			}
			cf.ends = append(cf.ends, p.Operator == "exists")
		default:
			return conversationFilter{}, fmt.Errorf("dimension %q is not supported by the simulator; use conversationId or conversationEnd", p.Dimension)
		}
	}
	return cf, nil
}

// matches reports whether e, visible as v, passes every filter.
func (q *compiledQuery) matches(e *entry, v visibility) bool {
	if len(q.filters) == 0 {
		return true
	}
	// A broken record is served with its conversationEnd whatever its
	// readiness (brokenRecordJSON).
	hasEnd := v == complete || e.poisoned() == poisonBrokenRecord
	for _, f := range q.filters {
		if !f.matches(e.id, hasEnd) {
			return false
		}
	}
	return true
}

// drift is how many positions page pageNumber starts early at
// driftPerPage. It stays below a page per page, or paging would never
// advance.
func (q *compiledQuery) drift(driftPerPage int) int {
	return (q.pageNumber - 1) * min(driftPerPage, q.pageSize-1)
}

// handleQuery is POST /api/v2/analytics/conversations/details/query. Its
// records carry the participants' attributes, which the GET endpoints
// leave out.
//
// Results drift between pages (Settings.QueryDriftPerPage, d): each page is
// served as if d conversations had been indexed ahead of the client's
// position since the previous page. Page k therefore starts (k-1)*d matches
// earlier than (k-1)*pageSize, repeating some ids of page k-1 and skipping
// none, and its totalHits is the number of matches plus (k-1)*d. A client
// that pages until a short or empty page, or until pageNumber*pageSize
// reaches totalHits, still sees every match; it must dedupe by
// conversationId.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	var req queryRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad.request", "The request body is not a valid query: "+err.Error())
		return
	}
	now, st := s.now(), s.settings.Load()
	q, err := req.compile(st.QueryResultLimit)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad.request", err.Error())
		return
	}
	drift := q.drift(st.QueryDriftPerPage)
	first := (q.pageNumber-1)*q.pageSize - drift

	// One pass counts the matches and serializes only the page's: whether
	// an entry matches depends on its visibility, not on its record.
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	buf.WriteByte('{')
	entries := s.pool.startRange(q.from, q.to)
	total, served := 0, 0
	for k := range entries {
		if q.desc {
			k = len(entries) - 1 - k
		}
		e := entries[k]
		v := e.visibility(now, st.AbsentFor, st.WrapupFor)
		if v == absent || !q.matches(e, v) {
			continue
		}
		if total >= first && total < first+q.pageSize {
			body := s.queriedJSON(e, now, st)
			if body == nil {
				continue // emitted since its visibility was read: absent now
			}
			if served == 0 {
				// Like Genesys, an empty page has no "conversations" key at all.
				buf.WriteString(`"conversations":[`)
			} else {
				buf.WriteByte(',')
			}
			buf.Write(body)
			served++
		}
		total++
	}
	if served > 0 {
		buf.WriteString("],")
	}
	buf.WriteString(`"totalHits":` + strconv.Itoa(total+drift) + "}")
	writeJSONBytes(w, http.StatusOK, buf.Bytes())
	if buf.Cap() <= maxPooledBuf {
		bufPool.Put(buf)
	}
}
