package genesys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrMalformedResponse is wrapped by the *APIError or *TokenError returned
// for a 2xx response whose body is not the documented JSON object. Such
// bodies come from proxies and partial outages, so the error is retryable.
// A well-formed multi-get with a bad element is not one: see Fetched.
var ErrMalformedResponse = errors.New("malformed response body")

// ErrResponseTooLarge is wrapped when a body exceeds the client's read limit
// (Config.MaxResponseBytes). Retrying the same request cannot help; fetch
// fewer conversations per call.
var ErrResponseTooLarge = errors.New("response body too large")

const maxMessageLen = 300

// APIError is a non-2xx analytics response, or a 2xx one with a malformed
// body (then it wraps ErrMalformedResponse).
type APIError struct {
	Status        int           // HTTP status
	Code          string        // Genesys error code, e.g. too.many.requests.retry.after
	Message       string        // Genesys message, truncated to about 300 characters
	ContextID     string        // body "contextId", for Genesys support
	CorrelationID string        // ININ-Correlation-Id header, for Genesys support
	RetryAfter    time.Duration // wait Genesys asked for; 0 if it did not say
	Endpoint      string        // method and path, e.g. "GET /api/v2/analytics/conversations/details"

	cause error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("genesys: %s: %s%s", e.Endpoint, statusText(e.Status, e.Code, e.Message),
		details("contextId", e.ContextID, "correlationId", e.CorrelationID, "retryAfter", durationText(e.RetryAfter)))
}

func (e *APIError) Unwrap() error { return e.cause }

// Retryable reports whether the same request may succeed later: throttling,
// timeouts, server faults and malformed success bodies are; other client
// errors are not.
func (e *APIError) Retryable() bool {
	return retryableStatus(e.Status) || errors.Is(e.cause, ErrMalformedResponse)
}

// TokenError is a failed request to the OAuth token endpoint.
type TokenError struct {
	Status      int           // HTTP status
	Code        string        // OAuth "error", e.g. invalid_client
	Description string        // OAuth description, truncated to about 300 characters
	RetryAfter  time.Duration // from the Retry-After header; 0 if absent
	// Throttled is set when the login service rate-limits token requests,
	// which it reports as 400 invalid_request rather than 429.
	Throttled bool

	cause error
}

func (e *TokenError) Error() string {
	throttled := ""
	if e.Throttled {
		throttled = "yes"
	}
	return fmt.Sprintf("genesys: %s: %s%s", tokenEndpoint, statusText(e.Status, e.Code, e.Description),
		details("throttled", throttled, "retryAfter", durationText(e.RetryAfter)))
}

func (e *TokenError) Unwrap() error { return e.cause }

// Retryable is false for rejected credentials (invalid_client and the like),
// which need an operator, and true for throttling and server faults.
func (e *TokenError) Retryable() bool {
	return e.Throttled || retryableStatus(e.Status) || errors.Is(e.cause, ErrMalformedResponse)
}

func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
}

// retryAfterInMessage finds the "[42]" in "Retry the request in [42]
// seconds", which Genesys sends even when a proxy dropped the header.
var retryAfterInMessage = regexp.MustCompile(`\[(\d+)\]`)

// newAPIError builds the error from r, removing red's credentials from
// every text taken from the response. That happens after JSON decoding, so
// that an escaped credential is caught, and before truncating, so that none
// is left cut in half.
func newAPIError(endpoint string, r *response, red redactor) *APIError {
	var body struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		ContextID string `json:"contextId"`
	}
	if json.Unmarshal(r.body, &body) != nil || (body.Code == "" && body.Message == "") {
		body.Message = string(bytes.TrimSpace(r.body))
	}
	retryAfter := headerRetryAfter(r.header)
	if retryAfter == 0 && r.status == http.StatusTooManyRequests {
		retryAfter = messageRetryAfter(body.Message)
	}
	return &APIError{
		Status:        r.status,
		Code:          red.text(body.Code),
		Message:       truncate(red.text(body.Message)),
		ContextID:     red.text(body.ContextID),
		CorrelationID: red.text(r.header.Get(correlationHeader)),
		RetryAfter:    retryAfter,
		Endpoint:      endpoint,
	}
}

func malformedAPIError(endpoint string, r *response, detail error, red redactor) *APIError {
	return &APIError{
		Status:        r.status,
		Message:       truncate(red.text(fmt.Sprintf("%v: %v", ErrMalformedResponse, detail))),
		CorrelationID: red.text(r.header.Get(correlationHeader)),
		Endpoint:      endpoint,
		cause:         ErrMalformedResponse,
	}
}

// newTokenError builds the error from r like newAPIError.
func newTokenError(r *response, red redactor) *TokenError {
	var body struct {
		Error            string `json:"error"`
		Description      string `json:"description"`
		ErrorDescription string `json:"error_description"` // RFC 6749 name, in case a proxy speaks standard OAuth
	}
	if json.Unmarshal(r.body, &body) != nil {
		body.Description = string(bytes.TrimSpace(r.body))
	}
	if body.Description == "" {
		body.Description = body.ErrorDescription
	}
	body.Error, body.Description = red.text(body.Error), red.text(body.Description)
	throttled := r.status == http.StatusTooManyRequests ||
		(r.status == http.StatusBadRequest && body.Error == "invalid_request" &&
			strings.Contains(strings.ToLower(body.Description), "rate limit"))
	return &TokenError{
		Status:      r.status,
		Code:        body.Error,
		Description: truncate(body.Description),
		RetryAfter:  headerRetryAfter(r.header),
		Throttled:   throttled,
	}
}

func malformedTokenError(r *response, detail error, red redactor) *TokenError {
	return &TokenError{
		Status:      r.status,
		Description: truncate(red.text(fmt.Sprintf("%v: %v", ErrMalformedResponse, detail))),
		cause:       ErrMalformedResponse,
	}
}

func headerRetryAfter(h http.Header) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

func messageRetryAfter(message string) time.Duration {
	m := retryAfterInMessage.FindStringSubmatch(message)
	if m == nil {
		return 0
	}
	secs, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return time.Duration(secs) * time.Second
}

func truncate(s string) string {
	if len(s) <= maxMessageLen {
		return s
	}
	cut := maxMessageLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func statusText(status int, code, message string) string {
	s := strconv.Itoa(status)
	if code != "" {
		s += " " + code
	}
	if message != "" {
		s += ": " + message
	}
	return s
}

// details renders non-empty key/value pairs as " (k=v, k=v)".
func details(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			parts = append(parts, kv[i]+"="+kv[i+1])
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
