package metrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestStatusClass(t *testing.T) {
	for status, want := range map[int]string{0: "none", 200: "2xx", 204: "2xx", 400: "4xx", 404: "4xx",
		429: "429", 500: "5xx", 503: "5xx", 302: "none"} {
		assert.Equal(t, want, statusClass(status), status)
	}
}

func TestBudgetUseIsTheRequestRateOverTheWindowAgainstTheBudget(t *testing.T) {
	r, err := New(Config{Interval: time.Minute}, zap.NewNop())
	require.NoError(t, err)
	g, err := r.Genesys(4.5)
	require.NoError(t, err)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := start
	g.now = func() time.Time { return clock }
	g.window = newRequestWindow(time.Minute, start)

	// 135 requests in the first 30 s: 4.5 per second over the 30 s since
	// the worker started, the whole budget.
	for i := range 135 {
		clock = start.Add(time.Duration(i) * 30 * time.Second / 135)
		g.Observe(multiGet, 200, time.Millisecond)
	}
	clock = start.Add(30 * time.Second)
	assert.Contains(t, scrape(t, r), "genesys_ingest_genesys_budget_use_percent 100\n")

	// Later, those 135 are spread over the 59 s since the start.
	clock = start.Add(59 * time.Second)
	assert.InDelta(t, 135.0/59, g.window.perSecond(clock), 1e-9)
	// Two windows later they are forgotten.
	clock = start.Add(150 * time.Second)
	assert.Zero(t, g.window.perSecond(clock))

	// Once the worker is older than the window, the rate is over the
	// window: 90 requests in the last minute are a third of the budget.
	for i := range 90 {
		clock = start.Add(200*time.Second + time.Duration(i)*time.Minute/90)
		g.Observe(multiGet, 200, time.Millisecond)
	}
	assert.InDelta(t, 1.5, g.window.perSecond(clock), 1e-9)
	assert.Contains(t, scrape(t, r), "genesys_ingest_genesys_budget_use_percent 33.33")
}

func TestBudgetNeedsARate(t *testing.T) {
	r, err := New(Config{Interval: time.Minute}, zap.NewNop())
	require.NoError(t, err)
	_, err = r.Genesys(0)
	assert.ErrorContains(t, err, "must be above 0")
}
