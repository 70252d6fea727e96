package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

func env(vars map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestWorkerDefaults(t *testing.T) {
	c, err := LoadWorker(env(map[string]string{
		"GENESYS_REGION": "eu-west-1", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s3cr3t",
	}))
	require.NoError(t, err)
	assert.Equal(t, "https://api.mypurecloud.ie", c.Genesys.APIBaseURL)
	assert.Equal(t, "https://login.mypurecloud.ie", c.Genesys.LoginBaseURL)
	assert.Equal(t, workflows.DefaultTaskQueue, c.TaskQueue)
	assert.Equal(t, workflows.DefaultGenesysTaskQueue, c.GenesysTaskQueue)
	assert.Equal(t, 4.5, c.GenesysRequestsPerSecond)
	assert.Equal(t, store.DefaultTableName, c.Store.TableName)
	assert.Equal(t, 100*time.Second, c.StopTimeout)
	assert.Equal(t, "json", c.Log.Format)
	assert.Equal(t, zapcore.InfoLevel, c.Log.Level)
}

func TestBaseURLsOverrideTheRegion(t *testing.T) {
	c, err := LoadWorker(env(map[string]string{
		"GENESYS_API_BASE_URL": "http://127.0.0.1:8081", "GENESYS_LOGIN_BASE_URL": "http://127.0.0.1:8081",
		"GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s",
	}))
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8081", c.Genesys.APIBaseURL)
}

func TestWorkerReportsEveryProblemAtOnceWithoutTheSecret(t *testing.T) {
	_, err := LoadWorker(env(map[string]string{
		"GENESYS_REGION":              "mars-1",
		"GENESYS_CLIENT_SECRET":       "s3cr3t",
		"GENESYS_REQUESTS_PER_SECOND": "fast",
		"WORKER_STOP_TIMEOUT":         "130s",
		"GENESYS_TASK_QUEUE":          workflows.DefaultTaskQueue,
		"LOG_FORMAT":                  "xml",
	}))
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"GENESYS_REGION=\"mars-1\"", "GENESYS_CLIENT_ID is not set",
		"GENESYS_REQUESTS_PER_SECOND=\"fast\"", "WORKER_STOP_TIMEOUT=2m10s", "GENESYS_TASK_QUEUE", "LOG_FORMAT=\"xml\""} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "s3cr3t")
}

func TestForwarderCarriesWorkflowOptions(t *testing.T) {
	c, err := LoadForwarder(env(map[string]string{
		"FETCH_BATCH_SIZE": "1", "FETCH_CONCURRENCY": "10", "READY_POLL_INTERVAL": "30s", "READY_TIMEOUT": "1h",
	}))
	require.NoError(t, err)
	assert.Equal(t, workflows.Options{FetchBatchSize: 1, FetchConcurrency: 10, ReadyPollInterval: 30 * time.Second,
		ReadyTimeout: time.Hour, GenesysTaskQueue: workflows.DefaultGenesysTaskQueue,
		FetchRetryHorizon: workflows.DefaultFetchRetryHorizon, FetchRetryMaxInterval: workflows.DefaultFetchRetryMaxInterval}, c.Workflow)
}

func TestForwarderReadsTheRetryHorizon(t *testing.T) {
	c, err := LoadForwarder(env(map[string]string{"FETCH_RETRY_HORIZON": "10m", "FETCH_RETRY_MAX_INTERVAL": "5s"}))
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, c.Workflow.FetchRetryHorizon)
	assert.Equal(t, 5*time.Second, c.Workflow.FetchRetryMaxInterval)

	_, err = LoadForwarder(env(map[string]string{"FETCH_RETRY_HORIZON": "30s", "FETCH_RETRY_MAX_INTERVAL": "1h"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FETCH_RETRY_HORIZON=30s: must be at least 1m")
	assert.Contains(t, err.Error(), "FETCH_RETRY_MAX_INTERVAL=1h0m0s: must be at least 1s and at most FETCH_RETRY_HORIZON")
}

func TestForwarderRejectsOutOfRangeOptions(t *testing.T) {
	_, err := LoadForwarder(env(map[string]string{
		"FETCH_BATCH_SIZE": "101", "FETCH_CONCURRENCY": "0", "READY_POLL_INTERVAL": "10ms", "READY_TIMEOUT": "soon",
		"TEMPORAL_API_KEY_SECRET_ARN": "my-secret",
	}))
	require.Error(t, err)
	assert.Equal(t, 5, strings.Count(err.Error(), "\n"), err.Error())
}
