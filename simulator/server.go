// Package simulator is a deterministic stand-in for the parts of Genesys Cloud
// this project talks to: the OAuth client-credentials login, the analytics
// conversation-details API (with its rate limits, error shapes and the lag
// before a finished conversation is complete) and the EventBridge deliveries
// that announce finished conversations. A control API under /sim drives it:
// emit events, read ground truth, inject faults, read counters.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config is fixed for the life of a Server.
type Config struct {
	Seed          int64
	Conversations int // initial pool; /sim/emit grows it on demand
	// History is how many of the first conversations /sim/emit never hands
	// out: they ended long ago (complete, never announced by an event), what
	// a backfill finds. Emitted conversations are new ones after them. At
	// most Conversations.
	History      int
	ClientID     string
	ClientSecret string
	BaseTime     time.Time // zero: DefaultBaseTime
	// Spacing is the width of each conversation's start slot (see
	// ConversationSpacing, the default when zero); wider slots spread a pool
	// over more days: 20,000 conversations 43.2s apart cover ten.
	Spacing time.Duration
	// OversizeRate is the share of conversations (0 to 1, picked from the
	// seed) whose record is too large for a DynamoDB item even gzipped: about
	// 4 MB each, so keep it small enough that a multi-get of 100 stays
	// under the client's GENESYS_MAX_RESPONSE_BYTES.
	OversizeRate float64
	Settings     Settings // zero value: DefaultSettings(); to change a few, start from DefaultSettings()
	// Now is the clock for token expiry, rate-limit windows and readiness;
	// tests inject a fake one. Nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger // nil discards
}

// Server is the simulator; it is an http.Handler safe for concurrent use.
type Server struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	gen      *Generator
	pool     *pool
	mux      *http.ServeMux
	counters counters

	settingsMu sync.Mutex // serialises read-modify-write of settings
	settings   atomic.Pointer[Settings]

	tokens      tokenStore
	tokenWindow fixedWindow
	faults      faultInjector
	emitter     emitter
	// forcedUnauthorized is how many of the next /api requests answer 401
	// (settings action forceUnauthorized).
	forcedUnauthorized atomic.Int64
}

// New validates cfg, builds and serializes the initial pool and returns a
// ready server.
func New(cfg Config) (*Server, error) {
	if cfg.BaseTime.IsZero() {
		cfg.BaseTime = DefaultBaseTime
	}
	if cfg.Spacing == 0 {
		cfg.Spacing = ConversationSpacing
	}
	if cfg.Settings == (Settings{}) {
		cfg.Settings = DefaultSettings()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var errs []error
	if cfg.Conversations < 0 {
		errs = append(errs, fmt.Errorf("conversations must not be negative, got %d", cfg.Conversations))
	}
	if cfg.History < 0 || cfg.History > cfg.Conversations {
		errs = append(errs, fmt.Errorf("history must be between 0 and conversations (%d), got %d", cfg.Conversations, cfg.History))
	}
	if cfg.Spacing < time.Millisecond || cfg.Spacing%time.Millisecond != 0 {
		// Starts have millisecond precision, like every Genesys timestamp.
		errs = append(errs, fmt.Errorf("spacing must be a positive whole number of milliseconds, got %s", cfg.Spacing))
	}
	if !(cfg.OversizeRate >= 0 && cfg.OversizeRate <= 1) { // also rejects NaN
		errs = append(errs, fmt.Errorf("oversize rate must be between 0 and 1, got %g", cfg.OversizeRate))
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		errs = append(errs, errors.New("client id and client secret are required"))
	}
	if err := cfg.Settings.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("simulator config: %w", err)
	}

	gen := newGenerator(cfg.Seed, cfg.BaseTime, cfg.Spacing).WithOversizeRate(cfg.OversizeRate)
	s := &Server{
		cfg:     cfg,
		now:     cfg.Now,
		log:     cfg.Logger,
		gen:     gen,
		pool:    newPool(gen, cfg.Conversations),
		mux:     http.NewServeMux(),
		tokens:  tokenStore{tokens: map[string]*tokenState{}},
		faults:  faultInjector{r: newRand(cfg.Seed, streamFaults, 0)},
		emitter: emitter{r: newRand(cfg.Seed, streamEmit, 0), orgID: gen.Catalog().OrgID},
	}
	s.pool.cursor = cfg.History
	settings := cfg.Settings
	s.settings.Store(&settings)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /oauth/token", s.handleToken)
	s.mux.HandleFunc("GET /api/v2/analytics/conversations/{id}/details", s.api(epConversation, s.handleConversation))
	s.mux.HandleFunc("GET /api/v2/analytics/conversations/details", s.api(epMultiGet, s.handleMultiGet))
	s.mux.HandleFunc("POST /api/v2/analytics/conversations/details/query", s.api(epQuery, s.handleQuery))
	s.mux.HandleFunc("/api/", s.api(epOtherAPI, s.handleUnknownAPI))

	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("POST /sim/emit", s.handleEmit)
	s.mux.HandleFunc("GET /sim/conversations/{id}/expected", s.handleExpected)
	s.mux.HandleFunc("GET /sim/catalog", s.handleCatalog)
	s.mux.HandleFunc("GET /sim/counters", s.handleCounters)
	s.mux.HandleFunc("POST /sim/counters/reset", s.handleCountersReset)
	s.mux.HandleFunc("GET /sim/settings", s.handleGetSettings)
	s.mux.HandleFunc("POST /sim/settings", s.handlePostSettings)
}

const correlationHeader = "ININ-Correlation-Id"

// ServeHTTP tags every response with a correlation id, as Genesys does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(correlationHeader, nonceUUID())
	s.mux.ServeHTTP(w, r)
}

// Serve serves on ln until ctx is done, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	st := s.settings.Load()
	s.log.Info("genesys simulator started", "addr", ln.Addr().String(), "seed", s.cfg.Seed,
		"conversations", s.cfg.Conversations, "clientId", s.cfg.ClientID, "baseTime", s.cfg.BaseTime.Format(time.RFC3339),
		"spacing", s.cfg.Spacing.String(),
		"rateLimitPerMinute", st.RateLimitPerMinute, "tokenRateLimitPerMinute", st.TokenRateLimitPerMinute,
		"tokenLifetime", st.TokenLifetime.String(), "absentFor", st.AbsentFor.String(), "wrapupFor", st.WrapupFor.String())

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := hs.Shutdown(shutdownCtx)
		<-served
		return err
	}
}

// api wraps an /api handler in what Genesys does before any endpoint logic:
// authentication, the per-token rate limit (with its headers on every
// response), the permission check and, for the simulator, fault injection.
// An outage comes first: it is the front door that is down.
func (s *Server) api(ep endpoint, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.counters.requests.Add(1)
		s.counters.byEndpoint[ep].Add(1)
		st := s.settings.Load()
		now := s.now()

		switch st.Outage {
		case Outage503:
			s.counters.faults[faultOutage].Add(1)
			writeAPIError(w, http.StatusServiceUnavailable, "service.unavailable", "The service is currently unavailable. Please try again later.")
			return
		case OutageReset:
			s.counters.faults[faultOutage].Add(1)
			resetConnection(w)
			return
		}
		token, authErr := s.tokens.authenticate(r.Header.Get("Authorization"), now)
		if authErr == nil && s.takeForcedUnauthorized() {
			s.counters.faults[faultForcedUnauthorized].Add(1)
			authErr = errExpiredToken
		}
		if authErr != nil {
			s.counters.unauthorized.Add(1)
			// No token, no window: advertise a fresh one.
			setRateHeaders(w, windowState{reset: rateWindow}, st.RateLimitPerMinute)
			writeAPIError(w, http.StatusUnauthorized, authErr.code, authErr.message)
			return
		}
		win := token.window.take(now, st.RateLimitPerMinute)
		setRateHeaders(w, win, st.RateLimitPerMinute)
		if !win.allowed {
			s.counters.rateLimited.Add(1)
			writeTooManyRequests(w, ceilSeconds(win.reset))
			return
		}
		if st.PermissionRevoked {
			s.counters.faults[faultPermissionRevoked].Add(1)
			writeAPIError(w, http.StatusForbidden, "missing.permissions",
				"Unable to perform the requested action. You are missing the following permission(s): [analytics:conversationDetail:view]")
			return
		}
		s.serveWithFaults(w, r, s.faults.plan(st), next)
	}
}

// takeForcedUnauthorized consumes one forced 401, if any are left.
func (s *Server) takeForcedUnauthorized() bool {
	for {
		n := s.forcedUnauthorized.Load()
		if n <= 0 {
			return false
		}
		if s.forcedUnauthorized.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// writeTooManyRequests is Genesys's 429: the wait in the Retry-After header
// and again in the message, where clients find it when a proxy dropped the
// header.
func writeTooManyRequests(w http.ResponseWriter, secs int) {
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeAPIError(w, http.StatusTooManyRequests, "too.many.requests.retry.after",
		fmt.Sprintf("Rate limit exceeded the maximum. Retry the request in [%d] seconds", secs))
}

func setRateHeaders(w http.ResponseWriter, win windowState, limit int) {
	h := w.Header()
	h.Set("Inin-Ratelimit-Count", strconv.Itoa(win.count))
	h.Set("Inin-Ratelimit-Allowed", strconv.Itoa(limit))
	h.Set("Inin-Ratelimit-Reset", strconv.Itoa(ceilSeconds(win.reset)))
}

func (s *Server) handleUnknownAPI(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusNotFound, "not.found", fmt.Sprintf("No resource at %s %s in the simulator.", r.Method, r.URL.Path))
}

// apiError is the error body of every /api failure.
type apiError struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	Status    int    `json:"status"`
	ContextID string `json:"contextId"`
	Details   []any  `json:"details"`
	Errors    []any  `json:"errors"`
}

// writeAPIError reuses the response's correlation id as contextId, which is
// how support cases link the two.
func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, apiError{
		Message: message, Code: code, Status: status,
		ContextID: w.Header().Get(correlationHeader), Details: []any{}, Errors: []any{},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONBytes(w, status, mustMarshal(v))
}

func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that hung up is not our problem
}
