package genesys

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoCredentials answers with status and a Genesys-style error body that
// repeats the request's Authorization header and the client secret, the
// worst a misbehaving server or proxy could do.
func echoCredentials(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		msg := fmt.Sprintf("rejected %s %s", auth, testClientSecret)
		writeJSON(w, status, fmt.Sprintf(`{"message":%q,"code":%q,"contextId":%q,"error":%q,"description":%q}`,
			msg, msg, msg, msg, msg))
	}
}

func TestSecrets_NeverAppearInErrors(t *testing.T) {
	const token = "access-token-1"
	ok := respond(http.StatusOK, conversationJSON(fixtureID))
	tests := []struct {
		name       string
		token, api http.HandlerFunc
		timeout    time.Duration
		cancel     bool
	}{
		{"token 400 echo", echoCredentials(400), ok, 0, false},
		{"token 401 echo", echoCredentials(401), ok, 0, false},
		{"token 500 echo", echoCredentials(500), ok, 0, false},
		{"token 200 malformed", respond(200, `{"access_token":"`+token+`","expires_in":"x"}`), ok, 0, false},
		{"token 200 wrong type", respond(200, `{"access_token":"`+token+`","token_type":"mac","expires_in":9}`), ok, 0, false},
		{"token timeout", hang, ok, 50 * time.Millisecond, false},
		{"api 401 twice echo", nil, echoCredentials(401), 0, false},
		{"api 400 echo", nil, echoCredentials(400), 0, false},
		{"api 429 echo", nil, echoCredentials(429), 0, false},
		{"api 503 echo", nil, echoCredentials(503), 0, false},
		{"api 200 malformed", nil, respond(200, `{"conversationId":`), 0, false},
		{"api timeout", nil, hang, 50 * time.Millisecond, false},
		{"api cancelled", nil, hang, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.token, tc.api)
			cfg := f.config()
			if tc.timeout > 0 {
				cfg.Timeout = tc.timeout
			}
			c, err := New(cfg)
			require.NoError(t, err)
			ctx := context.Background()
			if tc.cancel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}

			_, err = c.FetchConversations(ctx, []string{fixtureID})

			require.Error(t, err)
			for _, out := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err),
				fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
				assert.NotContains(t, out, testClientSecret)
				assert.NotContains(t, out, token)
			}
		})
	}
}

func TestSecrets_ScrubbedEchoStillShowsTheRestOfTheMessage(t *testing.T) {
	f := newFake(t, nil, echoCredentials(400))

	_, err := fetchOne(t, f.client(t))

	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, strings.HasPrefix(apiErr.Message, "rejected Bearer [redacted] [redacted]"), apiErr.Message)
}
