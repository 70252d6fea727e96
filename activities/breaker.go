package activities

import (
	"sync"
	"time"
)

// genesysBreaker spares the request budget while Genesys fails for every
// request (an outage, a 429 storm, a revoked permission). Without it each of
// the FETCH_CONCURRENCY chunks in flight retries on its own schedule, so an
// outage costs ten requests for every one that could tell whether Genesys is
// back. After a systemic failure, fetches in this worker wait, without a
// request, until the failure's Retry-After or a growing backoff has passed;
// then one of them probes, and the rest go once it succeeds. The zero value
// is a closed breaker.
type genesysBreaker struct {
	mu        sync.Mutex
	failures  int       // systemic failures in a row
	openUntil time.Time // no request before then
	probing   bool      // a request is testing whether Genesys is back
	last      failure
}

// failure is what opened the breaker: the error's text and its Temporal
// error type, which fetches that wait report as theirs.
type failure struct {
	message, errType string
}

// Bounds of the breaker's wait; Temporal's retry of the activity, which
// the wait is handed to as NextRetryDelay, keeps its own backoff too.
const (
	breakerInitialWait = 2 * time.Second
	breakerMaxWait     = 30 * time.Second
	// breakerProbeWait: while a probe is out, others check back this soon.
	breakerProbeWait = 2 * time.Second
)

// allow says whether a request may go now; if not, how long to wait and
// the failure that opened the breaker.
func (b *genesysBreaker) allow(now time.Time) (wait time.Duration, last failure, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.failures == 0:
		return 0, failure{}, true
	case now.Before(b.openUntil):
		return b.openUntil.Sub(now), b.last, false
	case b.probing:
		return breakerProbeWait, b.last, false
	}
	b.probing = true
	return 0, failure{}, true
}

// succeeded closes the breaker: Genesys answered (a per-conversation
// refusal counts, as Genesys is up).
func (b *genesysBreaker) succeeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.probing, b.openUntil = 0, false, time.Time{}
}

// failed opens the breaker after a systemic failure, for at least
// retryAfter when Genesys asked for it.
func (b *genesysBreaker) failed(now time.Time, retryAfter time.Duration, last failure) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.probing = false
	wait := breakerInitialWait
	for i := 1; i < b.failures && wait < breakerMaxWait; i++ {
		wait *= 2
	}
	wait = max(min(wait, breakerMaxWait), retryAfter)
	if until := now.Add(wait); until.After(b.openUntil) {
		b.openUntil = until
	}
	b.last = last
}
