package devstack

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pollerRun feeds the emulation arrivals of n records every step and
// returns the batches it handed on, in order.
func pollerRun(t *testing.T, src EventSource, arrivals [][]int, step time.Duration) [][]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	queue := make(chan []queuedRecord)
	batches := make([]chan []queuedRecord, src.Pollers)
	out := make(chan []int, 1000)
	done := make(chan struct{})
	for k := range batches {
		batches[k] = make(chan []queuedRecord)
		go func() {
			for b := range batches[k] {
				var ids []int
				for _, r := range b {
					var id int
					require.NoError(t, json.Unmarshal(r.raw, &id))
					ids = append(ids, id)
				}
				out <- ids
			}
			done <- struct{}{}
		}()
	}
	go func() {
		emulatePollers(ctx, src, queue, batches)
		for _, b := range batches {
			close(b)
		}
	}()
	for _, group := range arrivals {
		var recs []queuedRecord
		for _, id := range group {
			recs = append(recs, queuedRecord{raw: json.RawMessage(itoa(id)), at: time.Now()})
		}
		queue <- recs
		time.Sleep(step)
	}
	close(queue)
	for range batches {
		<-done
	}
	close(out)
	var got [][]int
	for b := range out {
		got = append(got, b)
	}
	return got
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func ids(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

func TestEmulatePollersBatchSizeAndReceives(t *testing.T) {
	// A backlog of 250 at once, one poller, batch size 100, a long window:
	// full batches at once, the rest when the window passes.
	got := pollerRun(t, EventSource{BatchSize: 100, Window: 200 * time.Millisecond, Pollers: 1}, [][]int{ids(0, 250)}, 0)
	require.Len(t, got, 3)
	assert.Equal(t, ids(0, 100), got[0])
	assert.Equal(t, ids(100, 100), got[1])
	assert.Equal(t, ids(200, 50), got[2])
}

func TestEmulatePollersZeroWindowTakesOneReceive(t *testing.T) {
	// Window 0: at most 10 events, whatever the batch size.
	got := pollerRun(t, EventSource{BatchSize: 100, Window: 0, Pollers: 2}, [][]int{ids(0, 35)}, 0)
	total := 0
	for _, b := range got {
		assert.LessOrEqual(t, len(b), receiveMax)
		total += len(b)
	}
	assert.Equal(t, 35, total)
}

func TestEmulatePollersWindowSplitsAmongPollers(t *testing.T) {
	// 40 events every 50 ms for 0.5 s, five pollers, window 300 ms: the
	// events are dealt a receive at a time, so every poller gathers a share
	// and no batch holds more than the window's worth.
	var arrivals [][]int
	for i := range 10 {
		arrivals = append(arrivals, ids(i*40, 40))
	}
	got := pollerRun(t, EventSource{BatchSize: 10_000, Window: 300 * time.Millisecond, Pollers: 5}, arrivals, 50*time.Millisecond)
	seen := map[int]bool{}
	for _, b := range got {
		assert.Less(t, len(b), 400, "a batch gathered more than its share of the window")
		for _, id := range b {
			assert.False(t, seen[id], "event %d delivered twice", id)
			seen[id] = true
		}
	}
	assert.Len(t, seen, 400)
	assert.GreaterOrEqual(t, len(got), 5)
}

func TestChooseEventSource(t *testing.T) {
	src := func(size int, window time.Duration) EventSource {
		return EventSource{BatchSize: size, Window: window, Pollers: 5}
	}
	points := []SweepPoint{
		{Source: src(10, 0), HistoryEventsPerConversation: 4, P99LatencyMs: 9000},
		{Source: src(100, time.Second), Eligible: true, HistoryEventsPerConversation: 0.80, BacklogHistoryPerConversation: 0.47, P99LatencyMs: 2500},
		{Source: src(10_000, time.Second), Eligible: true, HistoryEventsPerConversation: 0.77, BacklogHistoryPerConversation: 0.09, P99LatencyMs: 2500},
		{Source: src(10_000, 2*time.Second), Eligible: true, HistoryEventsPerConversation: 0.60, BacklogHistoryPerConversation: 0.09, P99LatencyMs: 2900},
		{Source: src(10_000, 5*time.Second), HistoryEventsPerConversation: 0.3, BacklogHistoryPerConversation: 0.09, P99LatencyMs: 6000},
	}
	got, met := chooseEventSource(points)
	assert.True(t, met)
	assert.Equal(t, src(10_000, 2*time.Second), got, "fewest half-load history among those meeting the goal")

	points[3].HistoryEventsPerConversation = 0.72 // within 10% of 0.77: backlog history decides, then the window
	got, _ = chooseEventSource(points)
	assert.Equal(t, src(10_000, time.Second), got)

	for i := range points {
		points[i].Eligible = false
	}
	got, met = chooseEventSource(points)
	assert.False(t, met)
	assert.Equal(t, src(100, time.Second), got, "the lowest p99 when none meets the goal")
}

func TestParseSweepPoints(t *testing.T) {
	got, err := parseSweepPoints("10:0s, 1000:1s,10000:2.5s", 5)
	require.NoError(t, err)
	assert.Equal(t, []EventSource{{10, 0, 5}, {1000, time.Second, 5}, {10000, 2500 * time.Millisecond, 5}}, got)
	for _, bad := range []string{"10", "0:1s", "10001:1s", "100:-1s", "100:301s", "x:1s"} {
		_, err := parseSweepPoints(bad, 5)
		assert.Error(t, err, bad)
	}
}

func TestStoredPerSecond(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &Report{Elapsed: 2500 * time.Millisecond, Items: map[string]itemBrief{
		"a": {UpdatedAt: start.Add(100 * time.Millisecond)},
		"b": {UpdatedAt: start.Add(1100 * time.Millisecond)},
		"c": {UpdatedAt: start.Add(1200 * time.Millisecond)},
		"d": {UpdatedAt: start.Add(2500 * time.Millisecond)},
	}}
	assert.Equal(t, []int{1, 2, 1}, storedPerSecond(r))
}

func TestSweepChooseHeadroomAndWindow(t *testing.T) {
	src := func(size int, window time.Duration) EventSource {
		return EventSource{BatchSize: size, Window: window, Pollers: 5}
	}
	r := &SweepResult{PerSecond: 200, Points: []SweepPoint{
		{Source: src(10_000, time.Second), AchievedPerSecond: 200, HistoryEventsPerConversation: 0.77, BacklogHistoryPerConversation: 0.09, P99LatencyMs: 1600},
		{Source: src(1000, 2*time.Second), AchievedPerSecond: 200, HistoryEventsPerConversation: 0.44, BacklogHistoryPerConversation: 0.13, P99LatencyMs: 2850},
		{Source: src(100, 5*time.Second), AchievedPerSecond: 200, HistoryEventsPerConversation: 0.40, BacklogHistoryPerConversation: 0.67, P99LatencyMs: 1700},
		{Source: src(1000, time.Second), AchievedPerSecond: 150, HistoryEventsPerConversation: 0.30, P99LatencyMs: 1000},
		{Source: src(100, time.Second), AchievedPerSecond: 200, HistoryEventsPerConversation: 0.20, P99LatencyMs: 1000, Lost: 1},
	}}
	got, met := r.choose(3*time.Second, 0.2)
	assert.True(t, met)
	assert.Equal(t, src(10_000, time.Second), got)
	assert.Equal(t, []bool{true, false, false, false, false}, []bool{r.Points[0].Eligible, r.Points[1].Eligible,
		r.Points[2].Eligible, r.Points[3].Eligible, r.Points[4].Eligible},
		"2.85 s misses 2.4 s; a 5 s window is over half the goal; 150/s does not keep up; a loss disqualifies")
	assert.Contains(t, r.Rule, "p99 ≤ 2.4s")
}

func TestEventSourceJSON(t *testing.T) {
	in := EventSource{BatchSize: 1000, Window: 1500 * time.Millisecond, Pollers: 5}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"batchSize":1000,"windowSeconds":1.5,"pollers":5}`, string(b))
	var out EventSource
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
}
