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

// Fetched is the outcome of one analytics request. A requested id is in at
// most one of Conversations and Invalid; one in neither was not found.
type Fetched struct {
	// Conversations holds each requested conversation found, keyed by its
	// conversationId, as the exact bytes Genesys sent (whitespace around
	// the object excluded). Requested ids that Genesys does not know yet
	// are absent.
	Conversations map[string]json.RawMessage
	// Invalid maps a requested id to a short reason when Genesys answered
	// for it with something that cannot be stored: a multi-get element
	// that is the id as a JSON string instead of an object, or a
	// single-conversation response object with no conversationId or
	// another one. Nil when there are none.
	Invalid map[string]string
	// Unattributed counts multi-get elements that could not be matched to
	// a requested id: not a JSON object, no string conversationId, or the
	// id of a conversation that was not requested. The requested ids such
	// an element may have stood for are absent from both maps above.
	Unattributed int
	RateLimit    RateLimit
	// CorrelationID is the ININ-Correlation-Id response header.
	CorrelationID string
}

// RateLimit is what Genesys reported about the token's request budget; all
// zero when the headers were absent.
type RateLimit struct {
	Count, Allowed int           // inin-ratelimit-count / inin-ratelimit-allowed
	Reset          time.Duration // inin-ratelimit-reset
}

// FetchConversations makes one analytics request for ids: the single
// conversation endpoint for one id (where 404 means "not available yet" and
// is not an error) and the multi-get endpoint for several. A success body
// that is not a JSON object of the documented shape fails the whole call
// with ErrMalformedResponse, since it comes from a proxy or an outage rather
// than from any one conversation; a bad element inside a well-formed
// response is reported in Fetched.Invalid or Fetched.Unattributed and
// leaves the others usable. See the package documentation for how to treat
// its errors.
func (c *Client) FetchConversations(ctx context.Context, ids []string) (*Fetched, error) {
	k, err := c.conversationsCall(ids)
	if err != nil {
		return nil, err
	}
	r, tokens, err := c.authorized(ctx, k)
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
		return nil, newAPIError(k.endpoint, r, c.redactor(tokens...))
	}
	if len(ids) == 1 {
		err = fetched.collectSingle(r.body, ids[0])
	} else {
		err = fetched.collectMulti(r.body, ids)
	}
	if err != nil {
		return nil, malformedAPIError(k.endpoint, r, err, c.redactor(tokens...))
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
// also returns the tokens it used so error bodies can be scrubbed of them.
func (c *Client) authorized(ctx context.Context, k call) (*response, []Secret, error) {
	tok, err := c.bearer(ctx)
	if err != nil {
		return nil, nil, err
	}
	k.authorization = "Bearer " + tok
	r, err := c.do(ctx, k)
	if err != nil || r.status != http.StatusUnauthorized {
		return r, []Secret{tok}, err
	}
	c.invalidate(tok)
	rejected := tok
	if tok, err = c.bearer(ctx); err != nil {
		return nil, nil, err
	}
	k.authorization = "Bearer " + tok
	r, err = c.do(ctx, k)
	return r, []Secret{rejected, tok}, err
}

var errNotObject = errors.New("not a JSON object")

// collectSingle takes the body of the single-conversation endpoint, which is
// the conversation object itself.
func (f *Fetched) collectSingle(body []byte, id string) error {
	body = bytes.TrimSpace(body)
	got, problem, err := identify(body)
	switch {
	case err != nil:
		return err
	case got == id:
		f.Conversations[id] = body
	case problem != "":
		f.invalid(id, "response has "+problem)
	default:
		f.invalid(id, fmt.Sprintf("response is for conversation %.64q", got))
	}
	return nil
}

// collectMulti takes a multi-get body, which wraps the conversation objects
// in "conversations"; Genesys omits that field when none of ids was found.
func (f *Fetched) collectMulti(body []byte, ids []string) error {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return errNotObject
	}
	var page struct {
		Conversations []json.RawMessage `json:"conversations"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return err
	}
	requested := make(map[string]bool, len(ids))
	for _, id := range ids {
		requested[id] = true
	}
	var bare []string
	for _, raw := range page.Conversations {
		// raw is valid JSON here, so err only means it is not an object.
		id, _, err := identify(raw)
		if err != nil {
			// A bare string is the one non-object that can still name the
			// conversation it stands for.
			id = jsonString(raw)
		}
		switch {
		case !requested[id]:
			f.Unattributed++
		case err != nil:
			bare = append(bare, id)
		default:
			f.Conversations[id] = raw
		}
	}
	// After the loop, so that a usable element for the same id wins
	// wherever it is in the page.
	for _, id := range bare {
		f.invalid(id, "element is the conversationId as a string, not an object")
	}
	return nil
}

// identify reads the conversationId of a conversation object. err is set
// when raw is not a JSON object at all; otherwise problem says why the
// object names no conversation, if it does not.
func identify(raw []byte) (id, problem string, err error) {
	if !bytes.HasPrefix(raw, []byte("{")) {
		return "", "", errNotObject
	}
	var conv struct {
		ConversationID json.RawMessage `json:"conversationId"`
	}
	if err := json.Unmarshal(raw, &conv); err != nil {
		return "", "", err
	}
	if len(conv.ConversationID) == 0 {
		return "", "no conversationId", nil
	}
	if json.Unmarshal(conv.ConversationID, &id) != nil {
		return "", "a conversationId that is not a string", nil
	}
	if id == "" {
		return "", "no conversationId", nil
	}
	return id, "", nil
}

// jsonString returns the value of raw if it is a JSON string, else "".
func jsonString(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// invalid records why id cannot be used, unless it was found usable.
func (f *Fetched) invalid(id, reason string) {
	if _, ok := f.Conversations[id]; ok {
		return
	}
	if f.Invalid == nil {
		f.Invalid = make(map[string]string)
	}
	f.Invalid[id] = reason
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
