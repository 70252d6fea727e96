package genesys

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func apiErrorFrom(t *testing.T, api http.HandlerFunc, ids ...string) *APIError {
	t.Helper()
	f := newFake(t, nil, api)
	_, err := fetchOne(t, f.client(t), ids...)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	return apiErr
}

const rateLimitMessage = "Rate limit exceeded the maximum. Retry the request in [42] seconds"

func TestAPIError_429RetryAfterHeaderIsExactAndRetryable(t *testing.T) {
	err := apiErrorFrom(t, respond(http.StatusTooManyRequests,
		genesysError(429, "too.many.requests.retry.after", rateLimitMessage),
		"Retry-After", "13", "ININ-Correlation-Id", "corr-429"), fixtureID, otherID)

	assert.Equal(t, 13*time.Second, err.RetryAfter, "header wins over the message")
	assert.True(t, err.Retryable())
	assert.Equal(t, "too.many.requests.retry.after", err.Code)
	assert.Equal(t, "genesys: GET /api/v2/analytics/conversations/details: 429 too.many.requests.retry.after: "+
		rateLimitMessage+" (contextId=ctx-123, correlationId=corr-429, retryAfter=13s)", err.Error())
}

func TestAPIError_429WithoutHeaderTakesRetryAfterFromMessage(t *testing.T) {
	err := apiErrorFrom(t, respond(http.StatusTooManyRequests,
		genesysError(429, "too.many.requests.retry.after", rateLimitMessage)))

	assert.Equal(t, 42*time.Second, err.RetryAfter)
	assert.True(t, err.Retryable())
}

func TestAPIError_429WithoutAnyHintHasZeroRetryAfter(t *testing.T) {
	err := apiErrorFrom(t, respond(http.StatusTooManyRequests, genesysError(429, "too.many.requests", "slow down")))

	assert.Zero(t, err.RetryAfter)
	assert.True(t, err.Retryable())
}

func TestAPIError_ServerFaultsAndTimeoutsAreRetryable(t *testing.T) {
	tests := []struct {
		status int
		code   string
	}{
		{500, "internal.server.error"},
		{502, ""},
		{503, "service.unavailable"},
		{504, "request.timeout"},
		{408, "request.timeout"},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			err := apiErrorFrom(t, respond(tc.status, genesysError(tc.status, tc.code, "try later")))
			assert.True(t, err.Retryable())
			assert.Equal(t, tc.status, err.Status)
			assert.Equal(t, tc.code, err.Code)
		})
	}
}

func TestAPIError_BadRequestIsNotRetryableAndKeepsIdentifiers(t *testing.T) {
	err := apiErrorFrom(t, respond(http.StatusBadRequest,
		genesysError(400, "bad.request", "The request could not be understood"),
		"ININ-Correlation-Id", "corr-400"), fixtureID)

	assert.False(t, err.Retryable())
	assert.Equal(t, http.StatusBadRequest, err.Status)
	assert.Equal(t, "bad.request", err.Code)
	assert.Equal(t, "The request could not be understood", err.Message)
	assert.Equal(t, "ctx-123", err.ContextID)
	assert.Equal(t, "corr-400", err.CorrelationID)
	assert.Zero(t, err.RetryAfter)
	assert.Equal(t, "GET /api/v2/analytics/conversations/"+fixtureID+"/details", err.Endpoint)
}

func TestAPIError_OtherClientErrorsAreNotRetryable(t *testing.T) {
	for _, status := range []int{403, 404, 409, 422} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			err := apiErrorFrom(t, respond(status, genesysError(status, "x", "y")), fixtureID, otherID)
			assert.False(t, err.Retryable())
		})
	}
}

func TestAPIError_NonJSONBodyBecomesMessage(t *testing.T) {
	err := apiErrorFrom(t, respond(http.StatusBadGateway, "  <html>bad gateway</html>\n"))

	assert.Equal(t, "<html>bad gateway</html>", err.Message)
	assert.Empty(t, err.Code)
	assert.Equal(t, "genesys: GET /api/v2/analytics/conversations/"+fixtureID+"/details: 502: <html>bad gateway</html>", err.Error())
}

func TestAPIError_LongMessageIsTruncated(t *testing.T) {
	long := "a" + strings.Repeat("€", 400) // byte 300 falls inside a 3-byte rune
	err := apiErrorFrom(t, respond(http.StatusBadRequest, genesysError(400, "bad.request", long)))

	assert.LessOrEqual(t, len(err.Message), maxMessageLen+len("…"))
	assert.True(t, strings.HasSuffix(err.Message, "…"))
	assert.True(t, strings.HasPrefix(long, strings.TrimSuffix(err.Message, "…")), "cut on a rune boundary")
}
