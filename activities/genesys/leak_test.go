package genesys

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
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

// leakSecret contains characters JSON escapes, and with testClientID its
// base64 has "+", "/" and padding, so that every spelling of it differs.
const leakSecret = `?~s3cr>t&<"/pa~ss?w0rd`

// leakFragments are substrings of every spelling of the test credentials:
// "s3cr" and "w0rd" of the secret raw or escaped, "dGVzdC1jbGllbnQtaWQ6" of
// base64("test-client-id:..."), and "access-token-" of every issued token.
// Checking fragments instead of whole forms also catches a credential left
// half redacted.
var leakFragments = []string{"s3cr", "w0rd", "dGVzdC1jbGllbnQtaWQ6", "access-token-"}

// assertNoCredentials checks every way err and each error it wraps print.
func assertNoCredentials(t *testing.T, err error, fragments ...string) {
	t.Helper()
	require.Error(t, err)
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, out := range []string{e.Error(), fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
			for _, fragment := range fragments {
				assert.NotContains(t, out, fragment, "error %T", e)
			}
		}
	}
}

// echoServer plays a server that repeats every credential it was ever sent:
// it remembers each Authorization header and echoes all of them, the
// id:secret pair and secret inside a Basic one, that pair in every base64
// variant, and the current request in full.
type echoServer struct {
	mu   sync.Mutex
	seen []string
}

func (e *echoServer) record(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.Header.Get("Authorization"))
		e.mu.Unlock()
		next(w, r)
	}
}

func (e *echoServer) echo(r *http.Request) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	parts := slices.Clone(e.seen)
	for _, auth := range e.seen {
		b64, ok := strings.CutPrefix(auth, "Basic ")
		if !ok {
			continue
		}
		pair, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		_, secret, _ := strings.Cut(string(pair), ":")
		parts = append(parts, string(pair), secret,
			base64.URLEncoding.EncodeToString(pair),
			base64.RawStdEncoding.EncodeToString(pair),
			base64.RawURLEncoding.EncodeToString(pair))
	}
	dump, _ := httputil.DumpRequest(r, true)
	return strings.Join(append(parts, string(dump)), " | ")
}

// respondEcho answers with status and the echo, in one of the ways a body
// can carry it: "json" in every field Genesys and OAuth errors use, "slashes"
// the same with "/" escaped as many encoders do, "other-json" in a field
// nobody reads (so the raw body becomes the message) and "text" as is. The
// correlation header echoes the Authorization headers too.
func (e *echoServer) respondEcho(status int, format string) http.HandlerFunc {
	return e.record(func(w http.ResponseWriter, r *http.Request) {
		echo := e.echo(r)
		var body string
		switch format {
		case "json", "slashes":
			b, _ := json.Marshal(map[string]string{"message": echo, "code": echo, "contextId": echo, "error": echo, "description": echo})
			body = string(b)
			if format == "slashes" {
				body = strings.ReplaceAll(body, "/", `\/`)
			}
		case "other-json":
			b, _ := json.Marshal(map[string]string{"echo": echo})
			body = string(b)
		case "text":
			body = echo
		}
		e.mu.Lock()
		auths := strings.Join(e.seen, " ")
		e.mu.Unlock()
		writeJSON(w, status, body, correlationHeader, auths)
	})
}

func TestSecrets_NoSpellingOfACredentialReachesAnError(t *testing.T) {
	tests := []struct {
		name string
		// token and api build the handlers; a nil token handler issues
		// tokens normally.
		token, api func(e *echoServer, format string) http.HandlerFunc
		ids        []string
		// onlyText is set where a JSON echo would be a valid answer.
		onlyText bool
	}{
		{"token 400", echoStatus(400), nil, nil, false},
		{"token 401", echoStatus(401), nil, nil, false},
		{"token 500", echoStatus(500), nil, nil, false},
		{"token 200 quoting it in token_type", func(e *echoServer, _ string) http.HandlerFunc {
			return e.record(func(w http.ResponseWriter, r *http.Request) {
				b, _ := json.Marshal(map[string]any{"access_token": "access-token-new", "token_type": "access-token-new " + e.echo(r), "expires_in": 9})
				writeJSON(w, http.StatusOK, string(b))
			})
		}, nil, nil, false},
		{"single 400", nil, echoStatus(400), nil, false},
		{"single 401 twice", nil, echoStatus(401), nil, false},
		{"single 403", nil, echoStatus(403), nil, false},
		{"single 429", nil, echoStatus(429), nil, false},
		{"single 500", nil, echoStatus(500), nil, false},
		{"single 503", nil, echoStatus(503), nil, false},
		{"single 200 not JSON", nil, echoStatus(200), nil, true},
		{"multi 401 twice", nil, echoStatus(401), []string{fixtureID, otherID}, false},
		{"multi 404", nil, echoStatus(404), []string{fixtureID, otherID}, false},
		{"multi 500", nil, echoStatus(500), []string{fixtureID, otherID}, false},
		{"multi 200 not JSON", nil, echoStatus(200), []string{fixtureID, otherID}, true},
	}
	for _, tc := range tests {
		for _, format := range []string{"json", "slashes", "other-json", "text"} {
			if tc.onlyText && format != "text" {
				continue
			}
			t.Run(tc.name+" "+format, func(t *testing.T) {
				e := &echoServer{}
				token := e.record(issueTokens(86400))
				if tc.token != nil {
					token = tc.token(e, format)
				}
				api := e.record(respond(http.StatusOK, conversationJSON(fixtureID)))
				if tc.api != nil {
					api = tc.api(e, format)
				}
				f := newFake(t, token, api)
				cfg := f.config()
				cfg.ClientSecret = leakSecret
				c, err := New(cfg)
				require.NoError(t, err)

				_, err = fetchOne(t, c, tc.ids...)

				assertNoCredentials(t, err, leakFragments...)
				if tc.name == "single 401 twice" {
					e.mu.Lock()
					assert.Len(t, e.seen, 4, "the echo covers a Basic header and two bearer tokens")
					e.mu.Unlock()
				}
			})
		}
	}
}

func echoStatus(status int) func(e *echoServer, format string) http.HandlerFunc {
	return func(e *echoServer, format string) http.HandlerFunc { return e.respondEcho(status, format) }
}

func TestSecrets_EscapedEchoIsRedactedNotDropped(t *testing.T) {
	e := &echoServer{}
	f := newFake(t, e.record(issueTokens(86400)), func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusBadRequest, `{"echo":"before `+
			`?~s3cr\u003et\u0026\u003c\"\/pa~ss?w0rd `+ // leakSecret as a JSON encoder may write it
			`dGVzdC1jbGllbnQtaWQ6P35zM2NyPnQmPCIvcGF+c3M\/dzByZA== after"}`)
	})
	cfg := f.config()
	cfg.ClientSecret = leakSecret
	c, err := New(cfg)
	require.NoError(t, err)

	_, err = fetchOne(t, c)

	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, `{"echo":"before [redacted] [redacted] after"}`, apiErr.Message)
}

func TestSecrets_TransportErrorsHideCredentialsAndURLUserinfo(t *testing.T) {
	closed := strings.TrimPrefix(closedServerURL(t), "http://")
	fragments := append([]string{"linkuser", "linkpass", "proxyuser", "proxypass"}, leakFragments...)
	redirect := func(location string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", location)
			w.WriteHeader(http.StatusFound)
		}
	}
	// failing makes every request to path fail in the transport with an
	// error that quotes the request's Authorization header and a URL with
	// credentials in it; other requests go through.
	failing := func(path string) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasPrefix(r.URL.Path, path) {
				return nil, fmt.Errorf("upstream refused %s via http://proxyuser:proxypass@proxy.internal:3128",
					r.Header.Get("Authorization"))
			}
			return http.DefaultTransport.RoundTrip(r)
		})
	}
	tests := []struct {
		name       string
		token, api http.HandlerFunc
		transport  func(*http.Transport) http.RoundTripper
		// wantOpErr: the dial error must still be found with errors.As.
		// Otherwise the error quotes a credential, and redacting it
		// replaces the error inside the *url.Error.
		wantOpErr bool
	}{
		{"proxy with credentials unreachable", nil, nil, func(tr *http.Transport) http.RoundTripper {
			tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", User: url.UserPassword("proxyuser", "proxypass"), Host: closed})
			return tr
		}, true},
		{"api redirect to URL with credentials", nil, redirect("http://linkuser:linkpass@" + closed + "/x"), nil, true},
		{"token redirect to URL with credentials", redirect("http://linkuser:linkpass@" + closed + "/x"), nil, nil, true},
		{"api redirect to unparsable URL with credentials", nil, redirect("http://linkuser:linkpass@" + closed + "x/"), nil, false},
		{"token request error quoting Basic header", nil, nil, func(*http.Transport) http.RoundTripper { return failing(tokenPath) }, false},
		{"api request error quoting bearer token", nil, nil, func(*http.Transport) http.RoundTripper { return failing("/api/") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := tc.api
			if api == nil {
				api = respond(http.StatusOK, conversationJSON(fixtureID))
			}
			f := newFake(t, tc.token, api)
			cfg := f.config()
			cfg.ClientSecret = leakSecret
			c, err := New(cfg)
			require.NoError(t, err)
			if tc.transport != nil {
				c.http.Transport = tc.transport(c.http.Transport.(*http.Transport))
			}

			_, err = fetchOne(t, c)

			assertNoCredentials(t, err, fragments...)
			var apiErr *APIError
			var tokErr *TokenError
			assert.False(t, errors.As(err, &apiErr) || errors.As(err, &tokErr), "a transport error, got %v", err)
			var urlErr *url.Error
			assert.True(t, errors.As(err, &urlErr), "still a *url.Error: %v", err)
			var opErr *net.OpError
			assert.Equal(t, tc.wantOpErr, errors.As(err, &opErr), "dial error kept: %v", err)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
