package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchSmoke runs `devstack bench -smoke` in-process: two fresh stacks,
// a few thousand conversations, the table and the JSON line.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two full local stacks; skipped with -short")
	}
	paths, err := FindPaths()
	require.NoError(t, err)
	opts, err := BenchOptionsFromEnv(paths, true)
	require.NoError(t, err)
	opts.ResultsDir = t.TempDir()
	var out bytes.Buffer
	opts.Out = &out
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	res, err := Bench(ctx, opts)
	t.Log("bench output:\n" + out.String())
	require.NoError(t, err)

	assert.Zero(t, res.Reference.Figures.Lost, "reference lost conversations")
	assert.Zero(t, res.Default.Figures.Lost, "default lost conversations")
	assert.Equal(t, opts.ReferenceConversations, res.Reference.Report.Conversations)
	assert.Equal(t, opts.Conversations, res.Default.Report.Conversations)
	assert.FileExists(t, res.File)
	// What each shape must cost: the reference design one request per
	// conversation, the default full requests of 100; neither trips the
	// rate limit, and each worker takes one token (24 h lifetime).
	for name, run := range map[string]BenchConfig{"reference": res.Reference, "default": res.Default} {
		assert.Zero(t, run.Figures.RateLimited, "%s: 429s", name)
		assert.Zero(t, run.Report.Counters.RateLimited, "%s: 429s the simulator counted", name)
		assert.Equal(t, int64(1), run.Report.Counters.TokenRequests-run.Report.Counters.TokenThrottled, "%s: tokens issued", name)
	}
	assert.InDelta(t, 1.0, res.Reference.Figures.GenesysRequestsPerConversation, 0.02, "reference: one request per conversation")
	assert.Less(t, res.Default.Figures.GenesysRequestsPerConversation, 0.02, "default: requests of up to 100 ids")
	// The backlog runs use the deployed event source's batch size, capped
	// by the 6 MB payload.
	assert.Equal(t, min(DeployedEventSource.BatchSize, maxEventsPerDelivery), res.Default.EventsPerDelivery)
	assert.Greater(t, res.ThroughputRatio, 1.0, "the default design is faster than the reference")

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	var line map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(last), &line), "last line is not a JSON object: %s", last)
	assert.Len(t, line, 4, "last line: %s", last)
	var half map[string]float64
	require.NoError(t, json.Unmarshal(line["halfLoad"], &half), "halfLoad in %s", last)
	assert.Len(t, half, 3, "halfLoad: %v", half)
	assert.Equal(t, float64(opts.HalfLoad), half["conversationsPerSecond"])
	assert.Positive(t, half["p50LatencyMs"])
	assert.GreaterOrEqual(t, half["p99LatencyMs"], half["p50LatencyMs"])
	require.NotNil(t, res.HalfLoad)
	assert.Zero(t, res.HalfLoad.Missing+res.HalfLoad.Failed, "half load lost conversations")
	assert.FileExists(t, res.Plot)
	var ratio float64
	require.NoError(t, json.Unmarshal(line["throughputRatio"], &ratio), "throughputRatio in %s", last)
	assert.Positive(t, ratio)
	keys := []string{"conversationsPerSecond", "genesysRequestsPerConversation", "rateLimited",
		"historyEventsPerConversation", "historyBytesPerConversation", "p50LatencyMs", "p99LatencyMs",
		"lost", "workerPeakRssBytes"}
	for _, config := range []string{"reference", "default"} {
		var figures map[string]float64
		require.NoError(t, json.Unmarshal(line[config], &figures), "%s in %s", config, last)
		for _, k := range keys {
			assert.Contains(t, figures, k, "%s figures", config)
		}
		assert.Len(t, figures, len(keys), "%s figures: %v", config, figures)
		assert.Zero(t, figures["lost"], "%s lost", config)
		assert.Positive(t, figures["conversationsPerSecond"], "%s throughput", config)
		assert.Positive(t, figures["workerPeakRssBytes"], "%s worker peak RSS", config)
		assert.Positive(t, figures["historyEventsPerConversation"], "%s history", config)
	}
}
