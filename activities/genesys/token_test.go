package genesys

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestToken_RequestUsesClientCredentialsGrant(t *testing.T) {
	var (
		method, contentType, authorization, grant string
	)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		method, contentType, authorization = r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization")
		require.NoError(t, r.ParseForm())
		grant = r.PostForm.Get("grant_type")
		writeJSON(w, http.StatusOK, `{"access_token":"tok","token_type":"bearer","expires_in":86400}`)
	}, respond(http.StatusOK, conversationJSON(fixtureID)))

	_, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, method)
	assert.Equal(t, "application/x-www-form-urlencoded", contentType)
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testClientSecret)), authorization)
	assert.Equal(t, "client_credentials", grant)
}

func TestToken_SentAsBearerToAnalytics(t *testing.T) {
	var authorization string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		authorization = r.Header.Get("Authorization")
		writeJSON(w, http.StatusOK, conversationJSON(fixtureID))
	})

	_, err := fetchOne(t, f.client(t))

	require.NoError(t, err)
	assert.Equal(t, "Bearer access-token-1", authorization)
}

func TestToken_ReusedAcrossSequentialCalls(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, conversationJSON(fixtureID)))
	c := f.client(t)

	for range 20 {
		_, err := fetchOne(t, c)
		require.NoError(t, err)
	}

	assert.EqualValues(t, 1, f.tokenRequests.Load())
	assert.EqualValues(t, 20, f.apiRequests.Load())
}

func TestToken_FiftyConcurrentCallersShareOneTokenRequest(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		<-release // hold the token request until every caller is waiting for it
		writeJSON(w, http.StatusOK, `{"access_token":"shared","token_type":"bearer","expires_in":86400}`)
	}, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer shared", r.Header.Get("Authorization"))
		writeJSON(w, http.StatusOK, conversationJSON(fixtureID))
	})
	c := f.client(t)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := c.FetchConversations(context.Background(), []string{fixtureID})
			errs <- err
		})
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)

	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, f.tokenRequests.Load())
	assert.EqualValues(t, 50, f.apiRequests.Load())
}

func TestToken_WaiterGivingUpDoesNotFailOthers(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		writeJSON(w, http.StatusOK, `{"access_token":"tok","token_type":"bearer","expires_in":86400}`)
	}, respond(http.StatusOK, conversationJSON(fixtureID)))
	c := f.client(t)

	impatient, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := c.FetchConversations(impatient, []string{fixtureID})
		firstErr <- err
	}()
	require.Eventually(t, func() bool { return f.tokenRequests.Load() == 1 }, time.Second, time.Millisecond)
	secondErr := make(chan error, 1)
	go func() {
		_, err := c.FetchConversations(context.Background(), []string{fixtureID})
		secondErr <- err
	}()
	cancel()
	require.ErrorIs(t, <-firstErr, context.Canceled)
	close(release)

	require.NoError(t, <-secondErr)
	assert.EqualValues(t, 1, f.tokenRequests.Load())
}

func TestToken_RefreshedOnlyWhenRefreshMarginReached(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		reuseAt   time.Duration // still served from cache
		renewAt   time.Duration // due for renewal
	}{
		{"day-long token renews 5m early", 86400, 24*time.Hour - 5*time.Minute - time.Second, 24*time.Hour - 5*time.Minute},
		{"10m token renews at 10% left", 600, 9*time.Minute - time.Second, 9 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, issueTokens(tc.expiresIn), respond(http.StatusOK, conversationJSON(fixtureID)))
			c := f.client(t)
			clock := newFakeClock()
			c.now = clock.now

			_, err := fetchOne(t, c)
			require.NoError(t, err)
			clock.advance(tc.reuseAt)
			_, err = fetchOne(t, c)
			require.NoError(t, err)
			assert.EqualValues(t, 1, f.tokenRequests.Load(), "token renewed too early")

			clock.advance(tc.renewAt - tc.reuseAt)
			_, err = fetchOne(t, c)
			require.NoError(t, err)
			assert.EqualValues(t, 2, f.tokenRequests.Load(), "token not renewed")
		})
	}
}

func tokenErrorFrom(t *testing.T, token http.HandlerFunc) *TokenError {
	t.Helper()
	f := newFake(t, token, respond(http.StatusOK, conversationJSON(fixtureID)))
	_, err := fetchOne(t, f.client(t))
	var tokErr *TokenError
	require.ErrorAs(t, err, &tokErr)
	assert.Zero(t, f.apiRequests.Load(), "no analytics request without a token")
	return tokErr
}

func TestTokenError_RateLimitedInvalidRequestIsThrottledAndRetryable(t *testing.T) {
	err := tokenErrorFrom(t, respond(http.StatusBadRequest,
		`{"error":"invalid_request","description":"rate limit exceeded; try again later"}`, "Retry-After", "7"))

	assert.True(t, err.Throttled)
	assert.True(t, err.Retryable())
	assert.Equal(t, 7*time.Second, err.RetryAfter)
	assert.Equal(t, http.StatusBadRequest, err.Status)
	assert.Equal(t, "invalid_request", err.Code)
	assert.Equal(t, "rate limit exceeded; try again later", err.Description)
	assert.Equal(t, "genesys: POST /oauth/token: 400 invalid_request: rate limit exceeded; try again later (throttled=yes, retryAfter=7s)", err.Error())
}

func TestTokenError_RejectedCredentialsAreNotRetryable(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"401 invalid_client", 401, `{"error":"invalid_client","description":"client not found"}`},
		{"400 invalid_client", 400, `{"error":"invalid_client","description":"bad client secret"}`},
		{"400 unauthorized_client", 400, `{"error":"unauthorized_client","description":"grant not allowed"}`},
		{"400 invalid_request not about rate", 400, `{"error":"invalid_request","description":"missing grant_type"}`},
		{"403 without body", 403, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tokenErrorFrom(t, respond(tc.status, tc.body))
			assert.False(t, err.Retryable())
			assert.False(t, err.Throttled)
			assert.Equal(t, tc.status, err.Status)
		})
	}
}

func TestTokenError_ServerFaultsAndTooManyRequestsAreRetryable(t *testing.T) {
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			err := tokenErrorFrom(t, respond(status, `<html>upstream trouble</html>`))
			assert.True(t, err.Retryable())
			assert.Equal(t, status == 429, err.Throttled)
			assert.Equal(t, "<html>upstream trouble</html>", err.Description)
		})
	}
}

func TestTokenError_MalformedSuccessWrapsErrMalformedResponseAndIsRetryable(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":           `<html>`,
		"no access_token":    `{"token_type":"bearer","expires_in":86400}`,
		"no expires_in":      `{"access_token":"tok","token_type":"bearer"}`,
		"non-bearer type":    `{"access_token":"tok","token_type":"mac","expires_in":86400}`,
		"expires_in as text": `{"access_token":"tok","token_type":"bearer","expires_in":"soon"}`,
	} {
		t.Run(name, func(t *testing.T) {
			err := tokenErrorFrom(t, respond(http.StatusOK, body))
			assert.ErrorIs(t, err, ErrMalformedResponse)
			assert.True(t, err.Retryable())
			assert.Equal(t, http.StatusOK, err.Status)
		})
	}
}

func TestToken_FailureIsNotCached(t *testing.T) {
	var calls int
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			writeJSON(w, http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"access_token":"tok","token_type":"bearer","expires_in":86400}`)
	}, respond(http.StatusOK, conversationJSON(fixtureID)))
	c := f.client(t)

	_, err := fetchOne(t, c)
	var tokErr *TokenError
	require.True(t, errors.As(err, &tokErr))
	_, err = fetchOne(t, c)

	require.NoError(t, err)
	assert.EqualValues(t, 2, f.tokenRequests.Load())
}
