package workerconfig

import (
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

func env(vars map[string]string) config.Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestWorkerDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{
		"GENESYS_REGION": "eu-west-1", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s3cr3t",
	}))
	require.NoError(t, err)
	assert.Equal(t, "https://api.mypurecloud.ie", c.Genesys.APIBaseURL)
	assert.Equal(t, "https://login.mypurecloud.ie", c.Genesys.LoginBaseURL)
	assert.Equal(t, workflows.DefaultTaskQueue, c.TaskQueue)
	assert.Equal(t, workflows.DefaultGenesysTaskQueue, c.GenesysTaskQueue)
	assert.Equal(t, 4.5, c.GenesysRequestsPerSecond)
	assert.Equal(t, store.DefaultTableName, c.Store.TableName)
	assert.Equal(t, store.DefaultBatchTableName, c.BatchTable)
	assert.Equal(t, 100*time.Second, c.StopTimeout)
	assert.Equal(t, "json", c.Log.Format)
	assert.Equal(t, zapcore.InfoLevel, c.Log.Level)
}

func TestBaseURLsOverrideTheRegion(t *testing.T) {
	c, err := Load(env(map[string]string{
		"GENESYS_API_BASE_URL": "http://127.0.0.1:8081", "GENESYS_LOGIN_BASE_URL": "http://127.0.0.1:8081",
		"GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s",
	}))
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8081", c.Genesys.APIBaseURL)
}

func TestWorkerReportsEveryProblemAtOnceWithoutTheSecret(t *testing.T) {
	_, err := Load(env(map[string]string{
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

func TestWorkerAndForwarderReadTheSameSharedSettings(t *testing.T) {
	vars := map[string]string{
		"GENESYS_REGION": "us-east-1", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s",
		"TEMPORAL_TASK_QUEUE": "wf", "GENESYS_TASK_QUEUE": "fetch", "LOG_FORMAT": "console", "LOG_LEVEL": "debug",
	}
	w, err := Load(env(vars))
	require.NoError(t, err)
	f, err := config.LoadForwarder(env(vars))
	require.NoError(t, err)
	assert.Equal(t, f.TaskQueue, w.TaskQueue)
	assert.Equal(t, f.Workflow.GenesysTaskQueue, w.GenesysTaskQueue)
	assert.Equal(t, f.Log, w.Log)
}

func TestTableNames(t *testing.T) {
	assert.Equal(t, store.DefaultTableName, Store(env(nil)).TableName)
	assert.Equal(t, store.DefaultBatchTableName, BatchTable(env(nil)))
	assert.Equal(t, "t", Store(env(map[string]string{"DYNAMODB_TABLE": " t "})).TableName)
	assert.Equal(t, "b", BatchTable(env(map[string]string{"DYNAMODB_BATCH_TABLE": "b"})))
}

func TestDetailBucket(t *testing.T) {
	genesys := map[string]string{"GENESYS_REGION": "us-east-1", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s"}
	c, err := Load(env(genesys))
	require.NoError(t, err)
	assert.Empty(t, c.Store.DetailBucket, "off unless set")

	genesys["DETAIL_BUCKET"] = "acme-genesys-details"
	c, err = Load(env(genesys))
	require.NoError(t, err)
	assert.Equal(t, "acme-genesys-details", c.Store.DetailBucket)

	for _, bad := range []string{"Acme_Details", "ab", "-acme", "s3://acme"} {
		genesys["DETAIL_BUCKET"] = bad
		_, err = Load(env(genesys))
		assert.ErrorContains(t, err, "DETAIL_BUCKET=\""+bad+"\": must be an S3 bucket name", bad)
	}
}

func TestWorkerUnhealthyAfter(t *testing.T) {
	genesys := map[string]string{"GENESYS_REGION": "us-east-1", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s"}
	with := func(k, v string) config.Lookup {
		vars := map[string]string{k: v}
		for name, value := range genesys {
			vars[name] = value
		}
		return env(vars)
	}
	c, err := Load(env(genesys))
	require.NoError(t, err)
	assert.Equal(t, time.Minute, c.UnhealthyAfter)

	c, err = Load(with("WORKER_UNHEALTHY_AFTER", "2m"))
	require.NoError(t, err)
	assert.Equal(t, 2*time.Minute, c.UnhealthyAfter)

	_, err = Load(with("WORKER_UNHEALTHY_AFTER", "500ms"))
	assert.ErrorContains(t, err, "WORKER_UNHEALTHY_AFTER=500ms: must be at least 1s")
}

func TestCloudWatchMetricsSettings(t *testing.T) {
	genesys := map[string]string{"GENESYS_REGION": "us-east-1", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s"}
	with := func(pairs ...string) config.Lookup {
		vars := maps.Clone(genesys)
		for i := 0; i+1 < len(pairs); i += 2 {
			vars[pairs[i]] = pairs[i+1]
		}
		return env(vars)
	}
	c, err := Load(with())
	require.NoError(t, err)
	assert.Equal(t, Metrics{EMF: true, Interval: time.Minute, Namespace: "GenesysIngest"}, c.Metrics)

	c, err = Load(with("WORKER_METRICS_EMF", "false", "WORKER_EMF_INTERVAL", "30s", "WORKER_METRICS_NAMESPACE", "Team/Genesys Ingest"))
	require.NoError(t, err)
	assert.Equal(t, Metrics{EMF: false, Interval: 30 * time.Second, Namespace: "Team/Genesys Ingest"}, c.Metrics)

	_, err = Load(with("WORKER_METRICS_EMF", "off", "WORKER_EMF_INTERVAL", "5m", "WORKER_METRICS_NAMESPACE", "AWS/ECS"))
	require.Error(t, err)
	for _, want := range []string{
		`WORKER_METRICS_EMF="off": must be true or false`,
		`WORKER_EMF_INTERVAL=5m0s: must be from 10s to 1m`,
		`WORKER_METRICS_NAMESPACE="AWS/ECS": must be 1 to 255 letters`,
	} {
		assert.ErrorContains(t, err, want)
	}
	_, err = Load(with("WORKER_EMF_INTERVAL", "1s", "WORKER_METRICS_NAMESPACE", "no$dollars"))
	assert.ErrorContains(t, err, "WORKER_EMF_INTERVAL=1s")
	assert.ErrorContains(t, err, `WORKER_METRICS_NAMESPACE="no$dollars"`)
}

func TestMetricsAddress(t *testing.T) {
	genesys := map[string]string{"GENESYS_REGION": "us-east-1", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s"}
	for _, bad := range []string{"9464", "host:", ":0", ":99999", ":http"} {
		vars := maps.Clone(genesys)
		vars["METRICS_ADDRESS"] = bad
		_, err := Load(env(vars))
		assert.ErrorContains(t, err, "METRICS_ADDRESS=\""+bad+"\": must be [host]:port", bad)
	}
}

func TestHealthURLNeedsOnlyTheMetricsAddress(t *testing.T) {
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:9464",
		":9000":          "http://127.0.0.1:9000",
		"0.0.0.0:9000":   "http://127.0.0.1:9000",
		"[::]:9000":      "http://127.0.0.1:9000",
		"127.0.0.1:9000": "http://127.0.0.1:9000",
		"localhost:9000": "http://localhost:9000",
		"[::1]:9000":     "http://[::1]:9000",
		"10.0.3.7:9000":  "http://10.0.3.7:9000",
	} {
		url, err := HealthURL(env(map[string]string{"METRICS_ADDRESS": addr}))
		require.NoError(t, err, addr)
		assert.Equal(t, want, url, addr)
	}
	_, err := HealthURL(env(map[string]string{"METRICS_ADDRESS": "9464"}))
	assert.ErrorContains(t, err, `METRICS_ADDRESS="9464"`)
}
