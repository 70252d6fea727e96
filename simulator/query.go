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
	maxQueryResults = 100_000
	maxInterval     = 31 * 24 * time.Hour
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
	from, to   time.Time
	desc       bool
	pageSize   int
	pageNumber int
	// ids is non-nil when conversationFilters restrict the result to a set
	// of conversation ids (the only dimension supported).
	ids map[string]bool
}

func (q *queryRequest) compile() (*compiledQuery, error) {
	c := &compiledQuery{pageSize: q.Paging.PageSize, pageNumber: q.Paging.PageNumber}
	if q.Interval == "" {
		return nil, errors.New("interval is required, e.g. 2026-11-27T00:00:00.000Z/2026-11-28T00:00:00.000Z")
	}
	start, end, ok := strings.Cut(q.Interval, "/")
	var errStart, errEnd error
	c.from, errStart = time.Parse(time.RFC3339, start)
	c.to, errEnd = time.Parse(time.RFC3339, end)
	switch {
	case !ok || errStart != nil || errEnd != nil:
		return nil, fmt.Errorf("interval %q is not start/end in ISO-8601", q.Interval)
	case !c.to.After(c.from):
		return nil, fmt.Errorf("interval %q ends before it starts", q.Interval)
	case c.to.Sub(c.from) > maxInterval:
		return nil, fmt.Errorf("interval %q is longer than 31 days", q.Interval)
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
	case c.pageNumber > maxQueryResults || c.pageNumber*c.pageSize > maxQueryResults: // first test avoids overflow
		//lint:ignore ST1005 Genesys's exact wording, which clients may match on
		return nil, fmt.Errorf("Pagination may not exceed %d results", maxQueryResults)
	}

	if len(q.SegmentFilters) > 0 {
		return nil, errors.New("segmentFilters are not supported by the simulator")
	}
	for _, f := range q.ConversationFilters {
		ids, err := f.ids()
		if err != nil {
			return nil, err
		}
		c.ids = intersect(c.ids, ids)
	}
	return c, nil
}

// ids is the set of conversation ids a filter matches.
func (f queryFilter) ids() (map[string]bool, error) {
	if f.Type != "and" && f.Type != "or" {
		return nil, fmt.Errorf("conversationFilters type %q must be and or or", f.Type)
	}
	if len(f.Predicates) == 0 {
		return nil, errors.New("conversationFilters need at least one predicate")
	}
	ids := map[string]bool{}
	for _, p := range f.Predicates {
		switch {
		case p.Dimension != "conversationId":
			return nil, fmt.Errorf("dimension %q is not supported by the simulator; use conversationId", p.Dimension)
		case p.Type != "" && p.Type != "dimension":
			return nil, fmt.Errorf("predicate type %q is not supported; use dimension", p.Type)
		case p.Operator != "" && p.Operator != "matches":
			return nil, fmt.Errorf("operator %q is not supported; use matches", p.Operator)
		}
		ids[p.Value] = true
	}
	// "and" over one dimension matches only if every predicate names the
	// same conversation.
	if f.Type == "and" && len(ids) > 1 {
		return map[string]bool{}, nil
	}
	return ids, nil
}

// intersect treats nil as "no restriction yet".
func intersect(a, b map[string]bool) map[string]bool {
	if a == nil {
		return b
	}
	out := map[string]bool{}
	for id := range a {
		if b[id] {
			out[id] = true
		}
	}
	return out
}

// candidates are the entries that started in the interval and pass the
// filters, in start order.
func (s *Server) candidates(q *compiledQuery) []*entry {
	if q.ids == nil {
		return s.pool.startRange(q.from, q.to)
	}
	var out []*entry
	from, to := q.from.UnixMilli(), q.to.UnixMilli()
	for id := range q.ids {
		if e := s.pool.lookup(id); e != nil && e.startMs >= from && e.startMs < to {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return a.index - b.index })
	return out
}

// handleQuery is POST /api/v2/analytics/conversations/details/query.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	var req queryRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad.request", "The request body is not a valid query: "+err.Error())
		return
	}
	q, err := req.compile()
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad.request", err.Error())
		return
	}
	now, st := s.now(), s.settings.Load()
	entries := s.candidates(q)
	first := (q.pageNumber - 1) * q.pageSize

	var page bytes.Buffer
	total := 0
	for k := range entries {
		if q.desc {
			k = len(entries) - 1 - k
		}
		body := s.visibleJSON(entries[k], now, st)
		if body == nil {
			continue
		}
		if total >= first && total < first+q.pageSize {
			if page.Len() > 0 {
				page.WriteByte(',')
			}
			page.Write(body)
		}
		total++
	}

	// Like Genesys, an empty page has no "conversations" key at all.
	var out bytes.Buffer
	out.WriteByte('{')
	if page.Len() > 0 {
		out.WriteString(`"conversations":[`)
		out.Write(page.Bytes())
		out.WriteString("],")
	}
	out.WriteString(`"totalHits":` + strconv.Itoa(total) + "}")
	writeJSONBytes(w, http.StatusOK, out.Bytes())
}
