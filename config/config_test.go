package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

func env(vars map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestForwarderDefaults(t *testing.T) {
	c, err := LoadForwarder(env(nil))
	require.NoError(t, err)
	assert.Equal(t, workflows.DefaultTaskQueue, c.TaskQueue)
	assert.Equal(t, workflows.DefaultGenesysTaskQueue, c.Workflow.GenesysTaskQueue)
	assert.Empty(t, c.TemporalAPIKeySecretARN)
	assert.Equal(t, "json", c.Log.Format)
	assert.Equal(t, zapcore.InfoLevel, c.Log.Level)
}

func TestForwarderCarriesReadinessOnly(t *testing.T) {
	c, err := LoadForwarder(env(map[string]string{
		// How the budget is spent is the worker's to say: ignored here.
		"FETCH_BATCH_SIZE": "1", "FETCH_CONCURRENCY": "10", "FETCH_RETRY_HORIZON": "10m",
		"READY_POLL_INTERVAL": "30s", "READY_TIMEOUT": "1h",
	}))
	require.NoError(t, err)
	assert.Equal(t, workflows.Options{ReadyPollInterval: 30 * time.Second, ReadyTimeout: time.Hour,
		GenesysTaskQueue: workflows.DefaultGenesysTaskQueue}, c.Workflow)
}

func TestFetchSettingsAreReadAndCheckedByTheWorkflowsRules(t *testing.T) {
	r := NewReader(env(map[string]string{"FETCH_BATCH_SIZE": "50", "FETCH_RETRY_HORIZON": "10m", "FETCH_RETRY_MAX_INTERVAL": "5s"}))
	assert.Equal(t, workflows.FetchSettings{BatchSize: 50, Concurrency: workflows.DefaultFetchConcurrency,
		RetryHorizon: 10 * time.Minute, RetryMaxInterval: 5 * time.Second}, r.FetchSettings())
	require.NoError(t, r.Err())

	r = NewReader(env(map[string]string{"FETCH_BATCH_SIZE": "101", "FETCH_CONCURRENCY": "0",
		"FETCH_RETRY_HORIZON": "30s", "FETCH_RETRY_MAX_INTERVAL": "1h"}))
	r.FetchSettings()
	err := r.Err()
	require.Error(t, err)
	for _, want := range []string{
		"FETCH_BATCH_SIZE=101: must be between 1 and 100",
		"FETCH_CONCURRENCY=0: must be between 1 and 500",
		"FETCH_RETRY_HORIZON=30s: must be at least 1m",
		"FETCH_RETRY_MAX_INTERVAL=1h0m0s: must be at least 1s and at most FETCH_RETRY_HORIZON",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestForwarderRejectsOutOfRangeOptions(t *testing.T) {
	_, err := LoadForwarder(env(map[string]string{
		"READY_POLL_INTERVAL": "10ms", "READY_TIMEOUT": "soon", "TEMPORAL_API_KEY_SECRET_ARN": "my-secret",
	}))
	require.Error(t, err)
	assert.Equal(t, 3, strings.Count(err.Error(), "\n"), err.Error())
	assert.Contains(t, err.Error(), "READY_POLL_INTERVAL=10ms: must be at least 1s")
}

func TestReaderReportsEveryProblemAtOnce(t *testing.T) {
	r := NewReader(env(map[string]string{
		"N": "many", "F": "fast", "D": "soon", "S": "  padded  ", "LOG_LEVEL": "loud",
	}))
	assert.Equal(t, 7, r.Int("N", 7))
	assert.Equal(t, 1.5, r.Float("F", 1.5))
	assert.Equal(t, time.Second, r.Duration("D", time.Second))
	assert.Equal(t, "padded", r.String("S", "x"))
	assert.Equal(t, "x", r.String("UNSET", "x"))
	r.Log()
	err := r.Err()
	require.Error(t, err)
	for _, want := range []string{`N="many": not a whole number`, `F="fast": not a number`,
		`D="soon": not a duration`, `LOG_LEVEL="loud"`} {
		assert.Contains(t, err.Error(), want)
	}
	assert.True(t, strings.HasPrefix(err.Error(), "invalid configuration:\n"), err.Error())
	assert.NoError(t, NewReader(env(nil)).Err())
}
