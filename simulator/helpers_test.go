package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the injectable clock: tests move time explicitly.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testSeed   = 7
	testID     = "test-client"
	testSecret = "test-secret"
)

// harness is a simulator behind a real HTTP listener with a fake clock.
type harness struct {
	t     *testing.T
	srv   *Server
	url   string
	clock *fakeClock
}

func newHarness(t *testing.T, configure ...func(*Config)) *harness {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	cfg := Config{Seed: testSeed, Conversations: 200, ClientID: testID, ClientSecret: testSecret, Now: clock.Now}
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &harness{t: t, srv: srv, url: ts.URL, clock: clock}
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request; body may be nil, a string or anything JSON-encodable.
func (h *harness) do(method, path, token string, body any) response {
	h.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		rd = bytes.NewReader(mustMarshal(b))
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		h.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: buf.Bytes()}
}

func (h *harness) requestToken(id, secret, grant string) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/oauth/token", strings.NewReader(url.Values{"grant_type": {grant}}.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: buf.Bytes()}
}

func (h *harness) token() string {
	h.t.Helper()
	res := h.requestToken(testID, testSecret, "client_credentials")
	if res.status != http.StatusOK {
		h.t.Fatalf("token: %d %s", res.status, res.body)
	}
	var tok tokenResponse
	res.json(h.t, &tok)
	return tok.AccessToken
}

func (h *harness) settings(patch string) {
	h.t.Helper()
	if res := h.do(http.MethodPost, "/sim/settings", "", patch); res.status != http.StatusOK {
		h.t.Fatalf("settings %s: %d %s", patch, res.status, res.body)
	}
}

func (h *harness) emit(req EmitRequest) EmitResult {
	h.t.Helper()
	res := h.do(http.MethodPost, "/sim/emit", "", req)
	if res.status != http.StatusOK {
		h.t.Fatalf("emit: %d %s", res.status, res.body)
	}
	var out EmitResult
	res.json(h.t, &out)
	return out
}

func conversationPath(id string) string {
	return "/api/v2/analytics/conversations/" + id + "/details"
}

func multiGetPath(ids ...string) string {
	return "/api/v2/analytics/conversations/details?id=" + strings.Join(ids, ",")
}

const queryPath = "/api/v2/analytics/conversations/details/query"

// multiGet returns the conversations of a multi-get, failing on non-200.
func (h *harness) multiGet(token string, ids ...string) []AnalyticsConversation {
	h.t.Helper()
	res := h.do(http.MethodGet, multiGetPath(ids...), token, nil)
	if res.status != http.StatusOK {
		h.t.Fatalf("multi-get: %d %s", res.status, res.body)
	}
	var out struct{ Conversations []AnalyticsConversation }
	res.json(h.t, &out)
	return out.Conversations
}

// assertGenesysError checks the error body shape shared by every /api error.
func assertGenesysError(t *testing.T, res response, status int, code string) map[string]any {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d (%s)", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body map[string]any
	res.json(t, &body)
	if body["code"] != code || body["status"] != float64(status) {
		t.Errorf("body = %s, want code %s status %d", res.body, code, status)
	}
	for _, k := range []string{"message", "contextId"} {
		if s, _ := body[k].(string); s == "" {
			t.Errorf("%s missing in %s", k, res.body)
		}
	}
	for _, k := range []string{"details", "errors"} {
		if a, ok := body[k].([]any); !ok || len(a) != 0 {
			t.Errorf("%s = %v, want []", k, body[k])
		}
	}
	if body["contextId"] != res.header.Get("ININ-Correlation-Id") {
		t.Errorf("contextId %v differs from correlation id %q", body["contextId"], res.header.Get("ININ-Correlation-Id"))
	}
	return body
}
