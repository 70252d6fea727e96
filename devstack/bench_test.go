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

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	var line map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(last), &line), "last line is not a JSON object: %s", last)
	assert.Len(t, line, 3, "last line: %s", last)
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
