package workflows

import (
	"errors"
	"fmt"
	"time"
)

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

// Validate reports every problem with o at once; zero values are valid and
// mean the defaults.
func (o Options) Validate() error { return o.withDefaults().validate() }

func (o Options) validate() error {
	var errs []error
	if o.FetchBatchSize < 1 || o.FetchBatchSize > MaxFetchBatchSize {
		errs = append(errs, fmt.Errorf("fetch batch size %d: must be between 1 and %d", o.FetchBatchSize, MaxFetchBatchSize))
	}
	if o.FetchConcurrency < 1 || o.FetchConcurrency > MaxFetchConcurrency {
		errs = append(errs, fmt.Errorf("fetch concurrency %d: must be between 1 and %d", o.FetchConcurrency, MaxFetchConcurrency))
	}
	if o.ReadyPollInterval < 0 {
		errs = append(errs, fmt.Errorf("ready poll interval %s: must be positive", o.ReadyPollInterval))
	}
	if o.ReadyTimeout < 0 {
		errs = append(errs, fmt.Errorf("ready timeout %s: must be positive", o.ReadyTimeout))
	}
	if o.FetchRetryHorizon < time.Minute {
		errs = append(errs, fmt.Errorf("fetch retry horizon %s: must be at least 1m", o.FetchRetryHorizon))
	}
	if o.FetchRetryMaxInterval < time.Second || o.FetchRetryMaxInterval > o.FetchRetryHorizon {
		errs = append(errs, fmt.Errorf("fetch retry max interval %s: must be at least 1s and at most the fetch retry horizon", o.FetchRetryMaxInterval))
	}
	return errors.Join(errs...)
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
