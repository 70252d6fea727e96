package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Settings are the knobs that may change while the simulator runs. The server
// holds an immutable snapshot behind an atomic pointer, so the hot path reads
// them without locking.
type Settings struct {
	RateLimitPerMinute      int           // per token, fixed 60 s window
	TokenRateLimitPerMinute int           // /oauth/token, across all clients
	TokenLifetime           time.Duration // for tokens issued from now on
	AbsentFor               time.Duration // after emission: 404 / missing
	WrapupFor               time.Duration // then: no conversationEnd / wrap-up
	// LateWrapUpFor, then: conversationEnd and every segment closed, but no
	// wrap-up codes yet, as when Genesys indexes them late.
	LateWrapUpFor time.Duration

	// Fault injection on /api requests; probabilities in [0, 1]. The six
	// outcome faults are mutually exclusive (their sum must not exceed 1);
	// slowness is drawn independently and delays whatever happens next.
	Error5xxRate   float64
	Timeout504Rate float64
	ResetRate      float64
	MalformedRate  float64
	// HTMLErrorRate answers 502 with an HTML page, as a load balancer in
	// front of the API does.
	HTMLErrorRate float64
	// RateLimitStormRate answers 429 with Retry-After StormRetryAfter
	// whatever the token's budget, as Genesys does when the org as a whole
	// is throttled.
	RateLimitStormRate float64
	StormRetryAfter    time.Duration
	SlowRate           float64
	SlowDelay          time.Duration

	// Outage answers every /api request alike until switched off: "" (no
	// outage), "503" (service.unavailable) or "reset" (the connection is
	// dropped without a response).
	Outage string
	// PermissionRevoked answers every authenticated /api request 403
	// missing.permissions, as when the OAuth client's role loses
	// analytics:conversationDetail:view.
	PermissionRevoked bool
	// PoisonRate is the share of conversations emitted from now on that are
	// permanently bad (see poisonKind); each one is drawn from the seed, so
	// the same emissions poison the same ids.
	PoisonRate float64

	// QueryResultLimit is the details query's paging depth limit: a page
	// that reaches past it answers 400 "Pagination may not exceed N
	// results". Genesys's is 100000; tests lower it to reach it cheaply.
	QueryResultLimit int
	// QueryDriftPerPage makes details-query results drift between pages as
	// they do while Genesys indexes new conversations: page k starts
	// (k-1)*QueryDriftPerPage results earlier than it otherwise would, the
	// drift capped at pageSize-1 (see handleQuery).
	QueryDriftPerPage int
}

// Values of Settings.Outage.
const (
	OutageNone  = ""
	Outage503   = "503"
	OutageReset = "reset"
)

// DefaultSettings are Genesys's documented defaults and no faults.
func DefaultSettings() Settings {
	return Settings{
		RateLimitPerMinute:      300,
		TokenRateLimitPerMinute: 60,
		TokenLifetime:           24 * time.Hour,
		SlowDelay:               2 * time.Second,
		StormRetryAfter:         30 * time.Second,
		QueryResultLimit:        100_000,
	}
}

// Validate reports every problem at once.
func (s Settings) Validate() error {
	var errs []error
	if s.RateLimitPerMinute < 1 {
		errs = append(errs, fmt.Errorf("rateLimitPerMinute must be at least 1, got %d", s.RateLimitPerMinute))
	}
	if s.TokenRateLimitPerMinute < 1 {
		errs = append(errs, fmt.Errorf("tokenRateLimitPerMinute must be at least 1, got %d", s.TokenRateLimitPerMinute))
	}
	if s.TokenLifetime < time.Second {
		errs = append(errs, fmt.Errorf("tokenLifetime must be at least 1s, got %s", s.TokenLifetime))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"absentFor", s.AbsentFor}, {"wrapupFor", s.WrapupFor}, {"lateWrapUpFor", s.LateWrapUpFor}, {"slowDelay", s.SlowDelay}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.v))
		}
	}
	if s.StormRetryAfter < time.Second {
		errs = append(errs, fmt.Errorf("stormRetryAfter must be at least 1s, got %s", s.StormRetryAfter))
	}
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"error5xxRate", s.Error5xxRate}, {"timeout504Rate", s.Timeout504Rate}, {"resetRate", s.ResetRate},
		{"malformedRate", s.MalformedRate}, {"htmlErrorRate", s.HTMLErrorRate}, {"rateLimitStormRate", s.RateLimitStormRate},
		{"slowRate", s.SlowRate}, {"poisonRate", s.PoisonRate},
	} {
		if !(r.v >= 0 && r.v <= 1) { // also rejects NaN
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1, got %g", r.name, r.v))
		}
	}
	if sum := s.outcomeRateSum(); sum > 1 {
		errs = append(errs, fmt.Errorf("error5xxRate + timeout504Rate + resetRate + malformedRate + htmlErrorRate + rateLimitStormRate must not exceed 1, got %g", sum))
	}
	if s.QueryResultLimit < 1 {
		errs = append(errs, fmt.Errorf("queryResultLimit must be at least 1, got %d", s.QueryResultLimit))
	}
	if s.QueryDriftPerPage < 0 || s.QueryDriftPerPage >= maxPageSize {
		// A drift of a whole page would stop paging from advancing.
		errs = append(errs, fmt.Errorf("queryDriftPerPage must be between 0 and %d, got %d", maxPageSize-1, s.QueryDriftPerPage))
	}
	switch s.Outage {
	case OutageNone, Outage503, OutageReset:
	default:
		errs = append(errs, fmt.Errorf("outage must be \"\" (none), %q or %q, got %q", Outage503, OutageReset, s.Outage))
	}
	return errors.Join(errs...)
}

// outcomeRateSum is the share of requests that get an outcome fault.
func (s Settings) outcomeRateSum() float64 {
	return s.Error5xxRate + s.Timeout504Rate + s.ResetRate + s.MalformedRate + s.HTMLErrorRate + s.RateLimitStormRate
}

// settingsJSON is the wire form of GET/POST /sim/settings: durations are Go
// duration strings ("1m30s").
type settingsJSON struct {
	RateLimitPerMinute      int     `json:"rateLimitPerMinute"`
	TokenRateLimitPerMinute int     `json:"tokenRateLimitPerMinute"`
	TokenLifetime           string  `json:"tokenLifetime"`
	AbsentFor               string  `json:"absentFor"`
	WrapupFor               string  `json:"wrapupFor"`
	LateWrapUpFor           string  `json:"lateWrapUpFor"`
	Error5xxRate            float64 `json:"error5xxRate"`
	Timeout504Rate          float64 `json:"timeout504Rate"`
	ResetRate               float64 `json:"resetRate"`
	MalformedRate           float64 `json:"malformedRate"`
	HTMLErrorRate           float64 `json:"htmlErrorRate"`
	RateLimitStormRate      float64 `json:"rateLimitStormRate"`
	StormRetryAfter         string  `json:"stormRetryAfter"`
	SlowRate                float64 `json:"slowRate"`
	SlowDelay               string  `json:"slowDelay"`
	Outage                  string  `json:"outage"`
	PermissionRevoked       bool    `json:"permissionRevoked"`
	PoisonRate              float64 `json:"poisonRate"`
	QueryResultLimit        int     `json:"queryResultLimit"`
	QueryDriftPerPage       int     `json:"queryDriftPerPage"`
}

// MarshalJSON writes the wire form.
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(settingsJSON{
		RateLimitPerMinute: s.RateLimitPerMinute, TokenRateLimitPerMinute: s.TokenRateLimitPerMinute,
		TokenLifetime: s.TokenLifetime.String(), AbsentFor: s.AbsentFor.String(), WrapupFor: s.WrapupFor.String(),
		LateWrapUpFor: s.LateWrapUpFor.String(),
		Error5xxRate:  s.Error5xxRate, Timeout504Rate: s.Timeout504Rate, ResetRate: s.ResetRate,
		MalformedRate: s.MalformedRate, HTMLErrorRate: s.HTMLErrorRate, RateLimitStormRate: s.RateLimitStormRate,
		StormRetryAfter: s.StormRetryAfter.String(), SlowRate: s.SlowRate, SlowDelay: s.SlowDelay.String(),
		Outage: s.Outage, PermissionRevoked: s.PermissionRevoked, PoisonRate: s.PoisonRate,
		QueryResultLimit: s.QueryResultLimit, QueryDriftPerPage: s.QueryDriftPerPage,
	})
}

// settingsPatch is a partial update: absent fields keep their value.
// ExpireTokensNow and ForceUnauthorized are actions rather than settings.
type settingsPatch struct {
	RateLimitPerMinute      *int     `json:"rateLimitPerMinute"`
	TokenRateLimitPerMinute *int     `json:"tokenRateLimitPerMinute"`
	TokenLifetime           *string  `json:"tokenLifetime"`
	AbsentFor               *string  `json:"absentFor"`
	WrapupFor               *string  `json:"wrapupFor"`
	LateWrapUpFor           *string  `json:"lateWrapUpFor"`
	Error5xxRate            *float64 `json:"error5xxRate"`
	Timeout504Rate          *float64 `json:"timeout504Rate"`
	ResetRate               *float64 `json:"resetRate"`
	MalformedRate           *float64 `json:"malformedRate"`
	HTMLErrorRate           *float64 `json:"htmlErrorRate"`
	RateLimitStormRate      *float64 `json:"rateLimitStormRate"`
	StormRetryAfter         *string  `json:"stormRetryAfter"`
	SlowRate                *float64 `json:"slowRate"`
	SlowDelay               *string  `json:"slowDelay"`
	Outage                  *string  `json:"outage"`
	PermissionRevoked       *bool    `json:"permissionRevoked"`
	PoisonRate              *float64 `json:"poisonRate"`
	QueryResultLimit        *int     `json:"queryResultLimit"`
	QueryDriftPerPage       *int     `json:"queryDriftPerPage"`
	ExpireTokensNow         bool     `json:"expireTokensNow"`
	// ForceUnauthorized makes the next N /api requests answer 401
	// credentials.expired whatever token they carry; it replaces what is
	// left of an earlier count.
	ForceUnauthorized *int `json:"forceUnauthorized"`
}

// apply returns s updated by p, or every problem found.
func (p settingsPatch) apply(s Settings) (Settings, error) {
	var errs []error
	duration := func(name string, v *string, dst *time.Duration) {
		if v == nil {
			return
		}
		d, err := time.ParseDuration(*v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration such as \"90s\" or \"5m\"", name, *v))
			return
		}
		*dst = d
	}
	set(p.RateLimitPerMinute, &s.RateLimitPerMinute)
	set(p.TokenRateLimitPerMinute, &s.TokenRateLimitPerMinute)
	duration("tokenLifetime", p.TokenLifetime, &s.TokenLifetime)
	duration("absentFor", p.AbsentFor, &s.AbsentFor)
	duration("wrapupFor", p.WrapupFor, &s.WrapupFor)
	duration("lateWrapUpFor", p.LateWrapUpFor, &s.LateWrapUpFor)
	set(p.Error5xxRate, &s.Error5xxRate)
	set(p.Timeout504Rate, &s.Timeout504Rate)
	set(p.ResetRate, &s.ResetRate)
	set(p.MalformedRate, &s.MalformedRate)
	set(p.HTMLErrorRate, &s.HTMLErrorRate)
	set(p.RateLimitStormRate, &s.RateLimitStormRate)
	duration("stormRetryAfter", p.StormRetryAfter, &s.StormRetryAfter)
	set(p.SlowRate, &s.SlowRate)
	duration("slowDelay", p.SlowDelay, &s.SlowDelay)
	set(p.Outage, &s.Outage)
	set(p.PermissionRevoked, &s.PermissionRevoked)
	set(p.PoisonRate, &s.PoisonRate)
	set(p.QueryResultLimit, &s.QueryResultLimit)
	set(p.QueryDriftPerPage, &s.QueryDriftPerPage)
	if p.ForceUnauthorized != nil && *p.ForceUnauthorized < 0 {
		errs = append(errs, fmt.Errorf("forceUnauthorized must not be negative, got %d", *p.ForceUnauthorized))
	}
	if err := s.Validate(); err != nil {
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

func set[T any](v *T, dst *T) {
	if v != nil {
		*dst = *v
	}
}
