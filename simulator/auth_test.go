package simulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokenIsIssuedForValidClientCredentials(t *testing.T) {
	h := newHarness(t)
	res := h.requestToken(testID, testSecret, "client_credentials")
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var tok tokenResponse
	res.json(t, &tok)
	if tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn != 86400 {
		t.Fatalf("token response = %+v", tok)
	}
	if got := h.do(http.MethodGet, conversationPath(h.srv.gen.ConversationID(0)), tok.AccessToken, nil); got.status != http.StatusOK {
		t.Fatalf("API with fresh token: %d %s", got.status, got.body)
	}
}

func TestTokenRejectsWrongCredentialsWith401(t *testing.T) {
	h := newHarness(t)
	res := h.requestToken(testID, "wrong", "client_credentials")
	var body oauthError
	res.json(t, &body)
	if res.status != http.StatusUnauthorized || body.Error != "invalid_client" || body.Description == "" {
		t.Fatalf("got %d %s", res.status, res.body)
	}
}

func TestTokenRejectsMissingOrWrongGrantWith400(t *testing.T) {
	h := newHarness(t)
	for _, grant := range []string{"", "password"} {
		res := h.requestToken(testID, testSecret, grant)
		var body oauthError
		res.json(t, &body)
		if res.status != http.StatusBadRequest || body.Error != "invalid_request" {
			t.Errorf("grant %q: got %d %s", grant, res.status, res.body)
		}
	}
}

func TestTokenThrottlingAnswers400NotTooManyRequests(t *testing.T) {
	h := newHarness(t)
	h.settings(`{"tokenRateLimitPerMinute": 3}`)
	for range 3 {
		h.token()
	}
	res := h.requestToken(testID, testSecret, "client_credentials")
	var body oauthError
	res.json(t, &body)
	if res.status != http.StatusBadRequest || body.Error != "invalid_request" || !strings.HasPrefix(body.Description, "rate limit exceeded; ") {
		t.Fatalf("4th token request: %d %s", res.status, res.body)
	}
	if c := h.srv.Counters(); c.TokenThrottled != 1 || c.TokenRequests != 4 {
		t.Errorf("counters = %+v", c)
	}
	h.clock.Advance(time.Minute)
	h.token()
}

func TestAPIAuthenticationErrors(t *testing.T) {
	h := newHarness(t)
	h.settings(`{"tokenLifetime": "10m"}`)
	token := h.token()
	path := conversationPath(h.srv.gen.ConversationID(0))

	assertGenesysError(t, h.do(http.MethodGet, path, "", nil), 401, "authentication.required")
	assertGenesysError(t, h.do(http.MethodGet, path, "not-a-token", nil), 401, "bad.credentials")
	h.clock.Advance(10 * time.Minute)
	assertGenesysError(t, h.do(http.MethodGet, path, token, nil), 401, "credentials.expired")
}

func TestExpireTokensNowInvalidatesIssuedTokensOnly(t *testing.T) {
	h := newHarness(t)
	old := h.token()
	path := conversationPath(h.srv.gen.ConversationID(0))
	h.settings(`{"expireTokensNow": true}`)

	assertGenesysError(t, h.do(http.MethodGet, path, old, nil), 401, "credentials.expired")
	if res := h.do(http.MethodGet, path, h.token(), nil); res.status != http.StatusOK {
		t.Fatalf("new token after expiry: %d %s", res.status, res.body)
	}
}
