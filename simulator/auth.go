package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenState is one issued access token and its own rate-limit window.
type tokenState struct {
	seq     uint64
	expires time.Time
	window  fixedWindow
}

// tokenStore keeps every issued token: expired ones must still be recognised
// so clients get credentials.expired (refresh) rather than bad.credentials.
// Growth is bounded by the token endpoint's own rate limit.
type tokenStore struct {
	mu     sync.RWMutex
	tokens map[string]*tokenState
	next   uint64
	// revokedBelow implements expireTokensNow in O(1): tokens issued before
	// the last call have seq < revokedBelow.
	revokedBelow uint64
}

func (ts *tokenStore) issue(now time.Time, lifetime time.Duration) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	token := base64.RawURLEncoding.EncodeToString(b[:])
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.tokens[token] = &tokenState{seq: ts.next, expires: now.Add(lifetime)}
	ts.next++
	return token
}

func (ts *tokenStore) expireAll() {
	ts.mu.Lock()
	ts.revokedBelow = ts.next
	ts.mu.Unlock()
}

// authError is a 401 as Genesys words it.
type authError struct{ code, message string }

var (
	errNoToken      = &authError{"authentication.required", "No authentication bearer token specified in authorization header."}
	errUnknownToken = &authError{"bad.credentials", "Invalid login credentials."}
	errExpiredToken = &authError{"credentials.expired", "The supplied credentials are expired and cannot be used."}
)

// authenticate resolves an Authorization header to its token.
func (ts *tokenStore) authenticate(header string, now time.Time) (*tokenState, *authError) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return nil, errNoToken
	}
	ts.mu.RLock()
	t, known := ts.tokens[token]
	revokedBelow := ts.revokedBelow
	ts.mu.RUnlock()
	switch {
	case !known:
		return nil, errUnknownToken
	case t.seq < revokedBelow || !now.Before(t.expires):
		return nil, errExpiredToken
	}
	return t, nil
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// oauthError is the login service's error shape, unlike the API's.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"description"`
}

// handleToken is POST /oauth/token (client-credentials grant only).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.counters.tokenRequests.Add(1)
	s.counters.byEndpoint[epToken].Add(1)
	st := s.settings.Load()
	now := s.now()

	// Throttling comes first and answers 400, not 429: that is what the
	// real login service does and what clients must cope with.
	if win := s.tokenWindow.take(now, st.TokenRateLimitPerMinute); !win.allowed {
		s.counters.tokenThrottled.Add(1)
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request",
			fmt.Sprintf("rate limit exceeded; retry in %d seconds", ceilSeconds(win.reset))})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || !s.credentialsMatch(id, secret) {
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", "client authentication failed: wrong client id or secret"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "unreadable form body"})
		return
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
	case "":
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "grant_type is required"})
		return
	default:
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", fmt.Sprintf("unsupported grant_type %q; use client_credentials", grant)})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: s.tokens.issue(now, st.TokenLifetime),
		TokenType:   "bearer",
		ExpiresIn:   int(st.TokenLifetime / time.Second),
	})
}

func (s *Server) credentialsMatch(id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.cfg.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret))
	return idOK&secretOK == 1
}
