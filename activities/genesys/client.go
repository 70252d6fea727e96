package genesys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	defaultTimeout   = 30 * time.Second
	defaultUserAgent = "genesys-ingest"
)

// DefaultMaxResponseBytes is the read limit when Config.MaxResponseBytes is
// 0. A multi-get of 100 conversations is typically 1-2 MB, so the limit is
// only reached by a misbehaving server or an unusually large batch.
const DefaultMaxResponseBytes = 16 << 20

// Observer is called once after every HTTP request the client makes,
// including token requests. endpoint is a route template such as
// "GET /api/v2/analytics/conversations/{conversationId}/details" so it is
// safe as a metric label; status is 0 when no response arrived. It is called
// from many goroutines at once and must not block.
type Observer func(endpoint string, status int, elapsed time.Duration)

// Config configures a Client. ResolveRegion produces both base URLs.
type Config struct {
	APIBaseURL   string // e.g. https://api.mypurecloud.com
	LoginBaseURL string // e.g. https://login.mypurecloud.com
	ClientID     string
	ClientSecret Secret
	// Timeout bounds each HTTP request, body included; 0 means 30s. The
	// caller's context can only shorten it.
	Timeout   time.Duration
	UserAgent string   // optional
	Observer  Observer // optional
	// OnRetryAfter, optional, hears the wait each 429 response asks for
	// (its Retry-After header, else the seconds in its message) when it
	// names one. Like Observer it must not block.
	OnRetryAfter func(wait time.Duration)
	// OnTokenRenewed, optional, is called each time a new access token is
	// cached. It must not block.
	OnTokenRenewed func()
	// MaxResponseBytes bounds how much of one response body is held in
	// memory, and so what a misbehaving server can make a worker allocate;
	// 0 means DefaultMaxResponseBytes. A larger body fails the call with an
	// error wrapping ErrResponseTooLarge.
	MaxResponseBytes int64
}

// Client talks to one Genesys Cloud org with one OAuth client. It is safe
// for concurrent use and is meant to be shared by every activity in a
// worker, so that they all share one token and one connection pool.
type Client struct {
	http      *http.Client
	apiBase   string
	loginBase string
	clientID  string
	secret    Secret
	timeout   time.Duration
	userAgent string
	observer  Observer
	hooks     hooks
	maxBody   int64
	now       func() time.Time
	// credentials are the forms of the client credentials that errors are
	// scrubbed of.
	credentials []Secret

	mu    sync.Mutex
	token accessToken
	// previous is the token that token replaced, kept only to scrub it
	// from errors: a response to a request that used it can still arrive.
	previous Secret
	flight   singleflight.Group
}

// New validates cfg, reporting every problem at once, and builds a Client.
// It makes no request: credentials are first checked by the first fetch.
func New(cfg Config) (*Client, error) {
	apiBase, loginBase, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	userAgent := cfg.UserAgent
	if userAgent == "" {
		userAgent = defaultUserAgent
	}
	maxBody := cfg.MaxResponseBytes
	if maxBody == 0 {
		maxBody = DefaultMaxResponseBytes
	}
	return &Client{
		http:        &http.Client{Transport: newTransport()},
		apiBase:     apiBase,
		loginBase:   loginBase,
		clientID:    cfg.ClientID,
		secret:      cfg.ClientSecret,
		timeout:     timeout,
		userAgent:   userAgent,
		observer:    cfg.Observer,
		hooks:       hooks{retryAfter: cfg.OnRetryAfter, tokenRenewed: cfg.OnTokenRenewed},
		maxBody:     maxBody,
		now:         time.Now,
		credentials: basicForms(cfg.ClientID, cfg.ClientSecret),
	}, nil
}

func validate(cfg Config) (apiBase, loginBase string, err error) {
	var problems []string
	apiBase, err = baseURL(cfg.APIBaseURL)
	if err != nil {
		problems = append(problems, "APIBaseURL "+err.Error())
	}
	loginBase, err = baseURL(cfg.LoginBaseURL)
	if err != nil {
		problems = append(problems, "LoginBaseURL "+err.Error())
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		problems = append(problems, "ClientID is empty")
	}
	if strings.TrimSpace(cfg.ClientSecret.Reveal()) == "" {
		problems = append(problems, "ClientSecret is empty")
	}
	if cfg.Timeout < 0 {
		problems = append(problems, fmt.Sprintf("Timeout %s is negative", cfg.Timeout))
	}
	if cfg.MaxResponseBytes < 0 {
		problems = append(problems, fmt.Sprintf("MaxResponseBytes %d is negative", cfg.MaxResponseBytes))
	}
	if len(problems) > 0 {
		return "", "", fmt.Errorf("genesys: invalid config: %s", strings.Join(problems, "; "))
	}
	return apiBase, loginBase, nil
}

// baseURL accepts only scheme://host[:port] so that a base URL pasted with a
// path (".../api/v2") fails here instead of as 404s, which FetchConversations
// would read as "conversation not found yet".
func baseURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("is not a URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("%q: scheme must be https", raw)
	}
	if u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: want scheme://host only, e.g. https://api.mypurecloud.com", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// newTransport sizes the idle pool for ~50 concurrent activities against a
// single host; the default of 2 idle connections per host would make most of
// them pay a fresh TLS handshake on every call.
func newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   64,
	}
}

// Format prints only non-secret settings for every verb; without it, %+v
// and %#v would walk the unexported fields and print the secret and token.
func (c *Client) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "genesys.Client{APIBaseURL:%q, LoginBaseURL:%q, ClientID:%q}", c.apiBase, c.loginBase, c.clientID)
}

// call describes one HTTP request. endpoint names it in errors, route in
// metrics (route has ids replaced by placeholders).
type call struct {
	method, url, endpoint, route string
	authorization                Secret
	form                         string
	// jsonBody is a JSON request body; form and jsonBody are exclusive.
	jsonBody []byte
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request under its own timeout and reads the whole body before
// that timeout is released.
func (c *Client) do(ctx context.Context, k call) (*response, error) {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	start := time.Now()
	resp, err := c.send(reqCtx, k)
	status := 0
	if resp != nil {
		status = resp.status
	}
	if c.observer != nil {
		c.observer(k.route, status, time.Since(start))
	}
	if status == http.StatusTooManyRequests && c.hooks.retryAfter != nil {
		if wait := rateLimitWait(resp); wait > 0 {
			c.hooks.retryAfter(wait)
		}
	}
	if err != nil {
		_, credential, _ := strings.Cut(k.authorization.Reveal(), " ")
		return nil, c.transportError(ctx, reqCtx, k.endpoint, c.redactor(Secret(credential)).err(err))
	}
	return resp, nil
}

// hooks are Config's OnRetryAfter and OnTokenRenewed; nil when unset.
type hooks struct {
	retryAfter   func(time.Duration)
	tokenRenewed func()
}

// rateLimitWait is the wait a 429 asks for, found as newAPIError finds it:
// the Retry-After header, else the "[42]" of the message Genesys sends even
// when a proxy dropped the header. 0 when it names none.
func rateLimitWait(r *response) time.Duration {
	if wait := headerRetryAfter(r.header); wait > 0 {
		return wait
	}
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(r.body, &body) != nil {
		body.Message = string(r.body)
	}
	return messageRetryAfter(body.Message)
}

func (c *Client) send(ctx context.Context, k call) (*response, error) {
	var body io.Reader
	switch {
	case k.form != "":
		body = strings.NewReader(k.form)
	case k.jsonBody != nil:
		body = bytes.NewReader(k.jsonBody)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, k.url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Authorization", k.authorization.Reveal())
	switch {
	case k.form != "":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case k.jsonBody != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r := &response{status: resp.StatusCode, header: resp.Header}
	if resp.ContentLength > c.maxBody {
		return r, fmt.Errorf("%w: Content-Length %d is more than %d bytes", ErrResponseTooLarge, resp.ContentLength, c.maxBody)
	}
	// One byte over the limit tells a body at the limit from a larger one.
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	r.body = data
	switch {
	case err != nil:
		return r, fmt.Errorf("reading %d response: %w", resp.StatusCode, err)
	case int64(len(data)) > c.maxBody:
		return r, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, c.maxBody)
	}
	return r, nil
}

// transportError tells apart the caller giving up (wrapping ctx.Err() so
// the caller can recognise its own cancellation) from this request's
// timeout and from network failures, all of which are transient. err must
// already be scrubbed of credentials.
func (c *Client) transportError(ctx, reqCtx context.Context, endpoint string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("genesys: %s: %w", endpoint, ctxErr)
	}
	if reqCtx.Err() != nil {
		return fmt.Errorf("genesys: %s: no complete response within %s: %w", endpoint, c.timeout, err)
	}
	return fmt.Errorf("genesys: %s: %w", endpoint, err)
}
