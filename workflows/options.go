package workflows

import (
	"errors"
	"fmt"
	"time"
)

// WithDefaults returns o with every zero option set to its default.
func (o Options) WithDefaults() Options { return o.withDefaults() }

func (o Options) withDefaults() Options {
	if o.FetchBatchSize == 0 {
		o.FetchBatchSize = DefaultFetchBatchSize
	}
	if o.FetchConcurrency == 0 {
		o.FetchConcurrency = DefaultFetchConcurrency
	}
	if o.ReadyPollInterval == 0 {
		o.ReadyPollInterval = DefaultReadyPollInterval
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.GenesysTaskQueue == "" {
		o.GenesysTaskQueue = DefaultGenesysTaskQueue
	}
	if o.FetchRetryHorizon == 0 {
		o.FetchRetryHorizon = DefaultFetchRetryHorizon
	}
	if o.FetchRetryMaxInterval == 0 {
		o.FetchRetryMaxInterval = DefaultFetchRetryMaxInterval
	}
	return o
}

// Setting names, as the environment and the README name them: the
// configuration reads each from the variable of that name, and a problem
// with an option names the setting.
const (
	SettingFetchBatchSize        = "FETCH_BATCH_SIZE"
	SettingFetchConcurrency      = "FETCH_CONCURRENCY"
	SettingFetchRetryHorizon     = "FETCH_RETRY_HORIZON"
	SettingFetchRetryMaxInterval = "FETCH_RETRY_MAX_INTERVAL"
	SettingReadyPollInterval     = "READY_POLL_INTERVAL"
	SettingReadyTimeout          = "READY_TIMEOUT"
)

// Problem is one option out of range.
type Problem struct {
	Setting string
	Value   any
	Rule    string
}

func (p Problem) Error() string { return fmt.Sprintf("%s=%v: %s", p.Setting, p.Value, p.Rule) }

// Problems checks o as it is (a zero option is out of range; see
// WithDefaults) against the one set of rules the configuration and the
// workflows share.
func (o Options) Problems() []Problem {
	var out []Problem
	check := func(ok bool, setting string, value any, rule string) {
		if !ok {
			out = append(out, Problem{Setting: setting, Value: value, Rule: rule})
		}
	}
	check(o.FetchBatchSize >= 1 && o.FetchBatchSize <= MaxFetchBatchSize, SettingFetchBatchSize, o.FetchBatchSize,
		fmt.Sprintf("must be between 1 and %d", MaxFetchBatchSize))
	check(o.FetchConcurrency >= 1 && o.FetchConcurrency <= MaxFetchConcurrency, SettingFetchConcurrency, o.FetchConcurrency,
		fmt.Sprintf("must be between 1 and %d", MaxFetchConcurrency))
	check(o.ReadyPollInterval >= time.Second, SettingReadyPollInterval, o.ReadyPollInterval, "must be at least 1s")
	check(o.ReadyTimeout >= 0, SettingReadyTimeout, o.ReadyTimeout, "must not be negative")
	check(o.FetchRetryHorizon >= time.Minute, SettingFetchRetryHorizon, o.FetchRetryHorizon, "must be at least 1m")
	check(o.FetchRetryMaxInterval >= time.Second && o.FetchRetryMaxInterval <= o.FetchRetryHorizon,
		SettingFetchRetryMaxInterval, o.FetchRetryMaxInterval, "must be at least 1s and at most "+SettingFetchRetryHorizon)
	return out
}

// Validate reports every problem with o at once; zero values are valid and
// mean the defaults.
func (o Options) Validate() error { return o.validate() }

func (o Options) validate() error {
	var errs []error
	for _, p := range o.withDefaults().Problems() {
		errs = append(errs, p)
	}
	return errors.Join(errs...)
}

// FetchSettings are the options that decide how the Genesys request budget
// is spent: they belong to the worker that spends it (its environment), not
// to whoever started a batch. The scheduler asks the worker for them
// (FetchSettingsActivityName) when a run starts.
type FetchSettings struct {
	BatchSize        int           `json:"batchSize"`
	Concurrency      int           `json:"concurrency"`
	RetryHorizon     time.Duration `json:"retryHorizon"`
	RetryMaxInterval time.Duration `json:"retryMaxInterval"`
}

// Problems checks f by the same rules as Options.
func (f FetchSettings) Problems() []Problem {
	return Options{}.withDefaults().WithFetchSettings(f).Problems()
}

// WithFetchSettings returns o with the fetch settings of f.
func (o Options) WithFetchSettings(f FetchSettings) Options {
	o.FetchBatchSize, o.FetchConcurrency = f.BatchSize, f.Concurrency
	o.FetchRetryHorizon, o.FetchRetryMaxInterval = f.RetryHorizon, f.RetryMaxInterval
	return o
}

// ValidConversationID reports whether id is a canonical UUID
// (8-4-4-4-12 hex digits), the only form Genesys uses. Anything else is
// rejected before it can reach a Genesys URL.
func ValidConversationID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
