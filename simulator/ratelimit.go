package simulator

import (
	"sync"
	"time"
)

// rateWindow is the length of Genesys's rate-limit windows.
const rateWindow = time.Minute

// fixedWindow counts requests in fixed one-minute windows, each starting at
// the first request after the previous one ended: the behaviour clients see
// from Genesys (the count resets all at once, it does not slide).
type fixedWindow struct {
	mu    sync.Mutex
	start time.Time
	count int
}

type windowState struct {
	count   int           // requests in the current window, this one included
	allowed bool          // count is within the limit
	reset   time.Duration // until the window ends
}

// take counts one request at now against limit. Rejected requests count too,
// so a client hammering through a 429 does not get a fresh budget.
func (w *fixedWindow) take(now time.Time, limit int) windowState {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count == 0 || !now.Before(w.start.Add(rateWindow)) {
		w.start, w.count = now, 0
	}
	w.count++
	return windowState{count: w.count, allowed: w.count <= limit, reset: w.start.Add(rateWindow).Sub(now)}
}

// ceilSeconds rounds up so a client that waits the advertised seconds is
// always past the reset; never less than 1.
func ceilSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
