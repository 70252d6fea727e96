package metrics

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Genesys records what the Genesys client reports about its requests. Its
// methods are the client's hooks (genesys.Config's Observer, OnRetryAfter
// and OnTokenRenewed): safe for concurrent use, and they never block.
type Genesys struct {
	requests     metric.Int64Counter
	rateLimited  metric.Int64Counter
	retryAfter   metric.Float64Histogram
	renewals     metric.Int64Counter
	responseTime metric.Float64Histogram
	window       *requestWindow
	now          func() time.Time
}

// Genesys returns the recorder of the Genesys client's requests; call it
// once. requestsPerSecond is GENESYS_REQUESTS_PER_SECOND, the budget that
// GenesysBudgetUse measures this worker's requests against.
func (m *Registry) Genesys(requestsPerSecond float64) (*Genesys, error) {
	if requestsPerSecond <= 0 {
		return nil, fmt.Errorf("metrics: requests per second %v must be above 0", requestsPerSecond)
	}
	g := &Genesys{window: newRequestWindow(m.interval, time.Now()), now: time.Now}
	var err error
	if g.requests, err = m.meter.Int64Counter(instrumentGenesysRequests,
		metric.WithDescription("Genesys requests by route template and status class (2xx, 4xx, 429, 5xx, none: no response).")); err != nil {
		return nil, err
	}
	if g.rateLimited, err = m.meter.Int64Counter(instrumentGenesysRateLimited,
		metric.WithDescription("Genesys responses with status 429.")); err != nil {
		return nil, err
	}
	if g.retryAfter, err = m.meter.Float64Histogram(instrumentGenesysRetryAfter, metric.WithUnit("s"),
		metric.WithDescription("The wait each 429 asked for, when it named one.")); err != nil {
		return nil, err
	}
	if g.renewals, err = m.meter.Int64Counter(instrumentGenesysTokenRenewals,
		metric.WithDescription("Access tokens obtained from Genesys.")); err != nil {
		return nil, err
	}
	if g.responseTime, err = m.meter.Float64Histogram(instrumentGenesysResponseTime, metric.WithUnit("s"),
		metric.WithDescription("Time to a Genesys response, body read, by route template; requests without a response are left out.")); err != nil {
		return nil, err
	}
	_, err = m.meter.Float64ObservableGauge(instrumentGenesysBudgetUse, metric.WithUnit("%"),
		metric.WithDescription("This worker's Genesys requests per second over the last WORKER_EMF_INTERVAL, in percent of GENESYS_REQUESTS_PER_SECOND; summed over the workers, the cluster's use of the budget."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(g.window.perSecond(g.now()) / requestsPerSecond * 100)
			return nil
		}))
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Observe records one request; it is a genesys.Observer.
func (g *Genesys) Observe(endpoint string, status int, elapsed time.Duration) {
	ctx := context.Background()
	route := attribute.String("endpoint", endpoint)
	g.requests.Add(ctx, 1, metric.WithAttributes(route, attribute.String("status_class", statusClass(status))))
	if status != 0 {
		g.responseTime.Record(ctx, elapsed.Seconds(), metric.WithAttributes(route))
	}
	if status == http.StatusTooManyRequests {
		g.rateLimited.Add(ctx, 1)
	}
	g.window.add(g.now())
}

// RetryAfter records the wait a 429 asked for.
func (g *Genesys) RetryAfter(wait time.Duration) {
	g.retryAfter.Record(context.Background(), wait.Seconds())
}

// TokenRenewed records a new access token.
func (g *Genesys) TokenRenewed() {
	g.renewals.Add(context.Background(), 1)
}

// statusClass is the StatusClass dimension: 429 apart from the other 4xx, as
// it is the budget's signal, and none when no response arrived. The client
// follows redirects and never sees 1xx, so no other class occurs; one that
// did would count as none rather than widen the alarms' dimension set.
func statusClass(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "429"
	case status >= 200 && status < 300:
		return "2xx"
	case status >= 400 && status < 500:
		return "4xx"
	case status >= 500 && status < 600:
		return "5xx"
	}
	return "none"
}

// requestWindow counts requests in each of the last len(counts) seconds, so
// that the request rate over that window can be read at any time, by either
// reader, without one reading resetting what the other sees.
type requestWindow struct {
	start time.Time

	mu sync.Mutex
	// counts[i] counts the requests of the Unix second seconds[i], where i
	// is that second modulo len(counts).
	counts  []int64
	seconds []int64
}

func newRequestWindow(d time.Duration, start time.Time) *requestWindow {
	n := max(1, int(d/time.Second))
	return &requestWindow{start: start, counts: make([]int64, n), seconds: make([]int64, n)}
}

func (w *requestWindow) add(now time.Time) {
	s := now.Unix()
	i := s % int64(len(w.counts))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seconds[i] != s {
		w.seconds[i], w.counts[i] = s, 0
	}
	w.counts[i]++
}

// perSecond is the mean rate over the window (the current second
// included), or over the time since start while that is shorter, so that a
// new worker does not under-report its first minute.
func (w *requestWindow) perSecond(now time.Time) float64 {
	s, n := now.Unix(), int64(len(w.counts))
	var total int64
	w.mu.Lock()
	for i, second := range w.seconds {
		if second > s-n && second <= s {
			total += w.counts[i]
		}
	}
	w.mu.Unlock()
	span := min(time.Duration(n)*time.Second, max(time.Second, now.Sub(w.start)))
	return float64(total) / span.Seconds()
}
