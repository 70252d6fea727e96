package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

const (
	queryPath  = conversationsPath + "details/query"
	queryRoute = http.MethodPost + " " + queryPath
)

// DetailsQuery is one page of POST /api/v2/analytics/conversations/details/query
// over whole UTC days, for the conversations that ended.
type DetailsQuery struct {
	// From is the first UTC day; the interval covers Days days. Genesys
	// selects conversations by the day they started, so a shorter interval
	// would return whole days anyway.
	From time.Time
	Days int
	// PageSize (at most 100) and PageNumber (from 1).
	PageSize   int
	PageNumber int
	// Desc orders by conversationStart from the latest.
	Desc bool
}

// QueriedConversation is what a page tells of one conversation.
type QueriedConversation struct {
	ID    string
	Start time.Time
}

// QueryPage is one page of results.
type QueryPage struct {
	TotalHits     int
	Conversations []QueriedConversation
	RateLimit     RateLimit
}

// maxQueryDays: Genesys accepts 31 days with a filter (these queries
// always have one), 7 without.
const maxQueryDays = 31

// maxQueryPageSize is the largest page Genesys serves.
const maxQueryPageSize = 100

type queryBody struct {
	Interval            string        `json:"interval"`
	Order               string        `json:"order"`
	OrderBy             string        `json:"orderBy"`
	Paging              queryPaging   `json:"paging"`
	ConversationFilters []queryFilter `json:"conversationFilters"`
}

type queryPaging struct {
	PageSize   int `json:"pageSize"`
	PageNumber int `json:"pageNumber"`
}

type queryFilter struct {
	Type       string           `json:"type"`
	Predicates []queryPredicate `json:"predicates"`
}

type queryPredicate struct {
	Type      string `json:"type"`
	Dimension string `json:"dimension"`
	Operator  string `json:"operator"`
	Value     string `json:"value,omitempty"`
}

// QueryConversationDetails asks for one page. Conversations still open
// (no conversationEnd) are left out: they are ingested when they end.
func (c *Client) QueryConversationDetails(ctx context.Context, q DetailsQuery) (*QueryPage, error) {
	switch {
	case q.Days < 1 || q.Days > maxQueryDays:
		return nil, fmt.Errorf("genesys: details query: %d days; must be 1 to %d", q.Days, maxQueryDays)
	case q.PageSize < 1 || q.PageSize > maxQueryPageSize:
		return nil, fmt.Errorf("genesys: details query: page size %d; must be 1 to %d", q.PageSize, maxQueryPageSize)
	case q.PageNumber < 1:
		return nil, fmt.Errorf("genesys: details query: page number %d; must be at least 1", q.PageNumber)
	}
	from := q.From.UTC().Truncate(24 * time.Hour)
	body := queryBody{
		Interval: from.Format(time.RFC3339) + "/" + from.AddDate(0, 0, q.Days).Format(time.RFC3339),
		Order:    "asc",
		OrderBy:  "conversationStart",
		Paging:   queryPaging{PageSize: q.PageSize, PageNumber: q.PageNumber},
		ConversationFilters: []queryFilter{{Type: "and", Predicates: []queryPredicate{
			{Type: "dimension", Dimension: "conversationEnd", Operator: "exists"},
		}}},
	}
	if q.Desc {
		body.Order = "desc"
	}
	r, k, tokens, err := c.query(ctx, body)
	if err != nil {
		return nil, err
	}
	page, err := parseQueryPage(r.body)
	if err != nil {
		return nil, malformedAPIError(k.endpoint, r, err, c.redactor(tokens...))
	}
	page.RateLimit = parseRateLimit(r.header)
	return page, nil
}

// FetchConversationsByQuery gets the records of ids with one details query
// instead of the multi-get: unlike the GET endpoints, the query returns
// the participants' attributes (the custom data Architect flows attach).
// Genesys matches the conversations that started on a UTC day the
// interval [from, to) touches, at most 31 days; an id outside it is absent
// from the result, as is one Genesys does not know yet. ids (at most 100)
// fit one page, so this is one request, like FetchConversations, and its
// result and errors are the same.
func (c *Client) FetchConversationsByQuery(ctx context.Context, ids []string, from, to time.Time) (*Fetched, error) {
	switch {
	case len(ids) == 0 || len(ids) > maxQueryPageSize:
		return nil, fmt.Errorf("genesys: FetchConversationsByQuery: %d conversation ids; must be 1 to %d", len(ids), maxQueryPageSize)
	case !to.After(from) || to.Sub(from) > maxQueryDays*24*time.Hour:
		return nil, fmt.Errorf("genesys: FetchConversationsByQuery: interval %s/%s; must end after it starts, at most %d days later",
			from.Format(time.RFC3339), to.Format(time.RFC3339), maxQueryDays)
	}
	predicates := make([]queryPredicate, len(ids))
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("genesys: FetchConversationsByQuery: conversation id %d is empty", i)
		}
		predicates[i] = queryPredicate{Type: "dimension", Dimension: "conversationId", Operator: "matches", Value: id}
	}
	r, k, tokens, err := c.query(ctx, queryBody{
		Interval:            from.UTC().Format(time.RFC3339) + "/" + to.UTC().Format(time.RFC3339),
		Order:               "asc",
		OrderBy:             "conversationStart",
		Paging:              queryPaging{PageSize: maxQueryPageSize, PageNumber: 1},
		ConversationFilters: []queryFilter{{Type: "or", Predicates: predicates}},
	})
	if err != nil {
		return nil, err
	}
	fetched := &Fetched{
		Conversations: make(map[string]json.RawMessage, len(ids)),
		RateLimit:     parseRateLimit(r.header),
		CorrelationID: r.header.Get(correlationHeader),
	}
	// The page wraps the records in "conversations" as the multi-get
	// does, and omits it when none matched.
	if err := fetched.collectMulti(r.body, ids); err != nil {
		return nil, malformedAPIError(k.endpoint, r, err, c.redactor(tokens...))
	}
	return fetched, nil
}

// query posts a details query and returns its successful response, the
// call and the tokens it used, for the caller to parse the page.
func (c *Client) query(ctx context.Context, body queryBody) (*response, call, []Secret, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, call{}, nil, fmt.Errorf("genesys: details query: %w", err)
	}
	k := call{method: http.MethodPost, url: c.apiBase + queryPath, endpoint: queryRoute, route: queryRoute, jsonBody: payload}
	r, tokens, err := c.authorized(ctx, k)
	if err != nil {
		return nil, k, nil, err
	}
	if !success(r.status) {
		return nil, k, nil, newAPIError(k.endpoint, r, c.redactor(tokens...))
	}
	return r, k, tokens, nil
}

// parseQueryPage keeps the id and start of each conversation; a page
// holds up to 100 whole records, of which nothing else is needed here.
func parseQueryPage(body []byte) (*QueryPage, error) {
	var raw struct {
		TotalHits     *int `json:"totalHits"`
		Conversations []struct {
			ConversationID    string    `json:"conversationId"`
			ConversationStart time.Time `json:"conversationStart"`
		} `json:"conversations"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	if raw.TotalHits == nil {
		return nil, errors.New("no totalHits")
	}
	page := &QueryPage{TotalHits: *raw.TotalHits}
	for i, c := range raw.Conversations {
		if c.ConversationID == "" || c.ConversationStart.IsZero() {
			return nil, fmt.Errorf("conversation %d of the page has no conversationId or conversationStart", i)
		}
		page.Conversations = append(page.Conversations, QueriedConversation{ID: c.ConversationID, Start: c.ConversationStart})
	}
	return page, nil
}
