package genesys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	conversationsPath = "/api/v2/analytics/conversations/"
	multiGetPath      = conversationsPath + "details"
	singleRoute       = http.MethodGet + " " + conversationsPath + "{conversationId}/details"
	multiGetRoute     = http.MethodGet + " " + multiGetPath
	correlationHeader = "ININ-Correlation-Id"
)

// Fetched is the outcome of one analytics request.
type Fetched struct {
	// Conversations holds each conversation object found, keyed by its
	// conversationId, as the exact bytes Genesys sent (whitespace around
	// the object excluded). Requested ids that Genesys does not know yet
	// are absent.
	Conversations map[string]json.RawMessage
	RateLimit     RateLimit
	CorrelationID string // ININ-Correlation-Id response header
}

// RateLimit is what Genesys reported about the token's request budget; all
// zero when the headers were absent.
type RateLimit struct {
	Count, Allowed int           // inin-ratelimit-count / inin-ratelimit-allowed
	Reset          time.Duration // inin-ratelimit-reset
}

// FetchConversations makes one analytics request for ids: the single
// conversation endpoint for one id (where 404 means "not available yet" and
// is not an error) and the multi-get endpoint for several. See the package
// documentation for how to treat its errors.
func (c *Client) FetchConversations(ctx context.Context, ids []string) (*Fetched, error) {
	k, err := c.conversationsCall(ids)
	if err != nil {
		return nil, err
	}
	r, tok, err := c.authorized(ctx, k)
	if err != nil {
		return nil, err
	}
	fetched := &Fetched{
		Conversations: make(map[string]json.RawMessage, len(ids)),
		RateLimit:     parseRateLimit(r.header),
		CorrelationID: r.header.Get(correlationHeader),
	}
	switch {
	case len(ids) == 1 && r.status == http.StatusNotFound:
		return fetched, nil
	case !success(r.status):
		r.body = scrub(r.body, c.secret, tok)
		return nil, newAPIError(k.endpoint, r)
	}
	if err := collect(fetched.Conversations, r.body, len(ids) == 1); err != nil {
		return nil, malformedAPIError(k.endpoint, r, err)
	}
	return fetched, nil
}

func (c *Client) conversationsCall(ids []string) (call, error) {
	if len(ids) == 0 {
		return call{}, errors.New("genesys: FetchConversations: no conversation ids")
	}
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			return call{}, fmt.Errorf("genesys: FetchConversations: conversation id %d is empty", i)
		}
	}
	if len(ids) == 1 {
		path := conversationsPath + url.PathEscape(ids[0]) + "/details"
		return call{method: http.MethodGet, url: c.apiBase + path, endpoint: http.MethodGet + " " + path, route: singleRoute}, nil
	}
	// Commas stay literal because they separate the ids; escaping each id
	// keeps a stray comma or ampersand inside one from splitting the list.
	escaped := make([]string, len(ids))
	for i, id := range ids {
		escaped[i] = url.QueryEscape(id)
	}
	query := "id=" + strings.Join(escaped, ",")
	return call{method: http.MethodGet, url: c.apiBase + multiGetPath + "?" + query, endpoint: multiGetRoute, route: multiGetRoute}, nil
}

// authorized sends k with the shared token and, if the API rejects that
// token, repeats it once with a new one; a second 401 is returned as is. It
// also returns the token last used so error bodies can be scrubbed of it.
func (c *Client) authorized(ctx context.Context, k call) (*response, Secret, error) {
	tok, err := c.bearer(ctx)
	if err != nil {
		return nil, "", err
	}
	k.authorization = "Bearer " + tok
	r, err := c.do(ctx, k)
	if err != nil || r.status != http.StatusUnauthorized {
		return r, tok, err
	}
	c.invalidate(tok)
	if tok, err = c.bearer(ctx); err != nil {
		return nil, "", err
	}
	k.authorization = "Bearer " + tok
	r, err = c.do(ctx, k)
	return r, tok, err
}

// collect puts the conversation objects of body into into. A single-get body
// is the object itself; a multi-get body wraps them in "conversations",
// which Genesys may omit when none of the ids were found.
func collect(into map[string]json.RawMessage, body []byte, single bool) error {
	if single {
		return add(into, bytes.TrimSpace(body))
	}
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return errors.New("not a JSON object")
	}
	var page struct {
		Conversations []json.RawMessage `json:"conversations"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return err
	}
	for i, raw := range page.Conversations {
		if err := add(into, raw); err != nil {
			return fmt.Errorf("conversations[%d]: %w", i, err)
		}
	}
	return nil
}

func add(into map[string]json.RawMessage, raw json.RawMessage) error {
	var conv struct {
		ConversationID string `json:"conversationId"`
	}
	if err := json.Unmarshal(raw, &conv); err != nil {
		return err
	}
	if conv.ConversationID == "" {
		return errors.New("conversation without conversationId")
	}
	into[conv.ConversationID] = raw
	return nil
}

func parseRateLimit(h http.Header) RateLimit {
	return RateLimit{
		Count:   headerInt(h, "inin-ratelimit-count"),
		Allowed: headerInt(h, "inin-ratelimit-allowed"),
		Reset:   time.Duration(headerInt(h, "inin-ratelimit-reset")) * time.Second,
	}
}

func headerInt(h http.Header, name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	if err != nil {
		return 0
	}
	return n
}

func success(status int) bool { return status >= 200 && status <= 299 }
