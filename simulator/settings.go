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

	// Fault injection on /api requests; probabilities in [0, 1]. The four
	// outcome faults are mutually exclusive (their sum must not exceed 1);
	// slowness is drawn independently and delays whatever happens next.
	Error5xxRate   float64
	Timeout504Rate float64
	ResetRate      float64
	MalformedRate  float64
	SlowRate       float64
	SlowDelay      time.Duration
}

// DefaultSettings are Genesys's documented defaults and no faults.
func DefaultSettings() Settings {
	return Settings{
		RateLimitPerMinute:      300,
		TokenRateLimitPerMinute: 60,
		TokenLifetime:           24 * time.Hour,
		SlowDelay:               2 * time.Second,
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
	}{{"absentFor", s.AbsentFor}, {"wrapupFor", s.WrapupFor}, {"slowDelay", s.SlowDelay}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.v))
		}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"error5xxRate", s.Error5xxRate}, {"timeout504Rate", s.Timeout504Rate}, {"resetRate", s.ResetRate},
		{"malformedRate", s.MalformedRate}, {"slowRate", s.SlowRate},
	} {
		if !(r.v >= 0 && r.v <= 1) { // also rejects NaN
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1, got %g", r.name, r.v))
		}
	}
	if sum := s.Error5xxRate + s.Timeout504Rate + s.ResetRate + s.MalformedRate; sum > 1 {
		errs = append(errs, fmt.Errorf("error5xxRate + timeout504Rate + resetRate + malformedRate must not exceed 1, got %g", sum))
	}
	return errors.Join(errs...)
}

// settingsJSON is the wire form of GET/POST /sim/settings: durations are Go
// duration strings ("1m30s").
type settingsJSON struct {
	RateLimitPerMinute      int     `json:"rateLimitPerMinute"`
	TokenRateLimitPerMinute int     `json:"tokenRateLimitPerMinute"`
	TokenLifetime           string  `json:"tokenLifetime"`
	AbsentFor               string  `json:"absentFor"`
	WrapupFor               string  `json:"wrapupFor"`
	Error5xxRate            float64 `json:"error5xxRate"`
	Timeout504Rate          float64 `json:"timeout504Rate"`
	ResetRate               float64 `json:"resetRate"`
	MalformedRate           float64 `json:"malformedRate"`
	SlowRate                float64 `json:"slowRate"`
	SlowDelay               string  `json:"slowDelay"`
}

// MarshalJSON writes the wire form.
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(settingsJSON{
		RateLimitPerMinute: s.RateLimitPerMinute, TokenRateLimitPerMinute: s.TokenRateLimitPerMinute,
		TokenLifetime: s.TokenLifetime.String(), AbsentFor: s.AbsentFor.String(), WrapupFor: s.WrapupFor.String(),
		Error5xxRate: s.Error5xxRate, Timeout504Rate: s.Timeout504Rate, ResetRate: s.ResetRate,
		MalformedRate: s.MalformedRate, SlowRate: s.SlowRate, SlowDelay: s.SlowDelay.String(),
	})
}

// settingsPatch is a partial update: absent fields keep their value.
// ExpireTokensNow is an action rather than a setting.
type settingsPatch struct {
	RateLimitPerMinute      *int     `json:"rateLimitPerMinute"`
	TokenRateLimitPerMinute *int     `json:"tokenRateLimitPerMinute"`
	TokenLifetime           *string  `json:"tokenLifetime"`
	AbsentFor               *string  `json:"absentFor"`
	WrapupFor               *string  `json:"wrapupFor"`
	Error5xxRate            *float64 `json:"error5xxRate"`
	Timeout504Rate          *float64 `json:"timeout504Rate"`
	ResetRate               *float64 `json:"resetRate"`
	MalformedRate           *float64 `json:"malformedRate"`
	SlowRate                *float64 `json:"slowRate"`
	SlowDelay               *string  `json:"slowDelay"`
	ExpireTokensNow         bool     `json:"expireTokensNow"`
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
	set(p.Error5xxRate, &s.Error5xxRate)
	set(p.Timeout504Rate, &s.Timeout504Rate)
	set(p.ResetRate, &s.ResetRate)
	set(p.MalformedRate, &s.MalformedRate)
	set(p.SlowRate, &s.SlowRate)
	duration("slowDelay", p.SlowDelay, &s.SlowDelay)
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
