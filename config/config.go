// Package config reads every setting of the forwarder and the worker from the
// environment, once, and reports every problem in one error. Temporal
// connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TLS, temporal.toml profiles) are read by the SDK's envconfig, the same way
// the Temporal CLI reads them; AWS settings come from the AWS SDK's default
// chain (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, credentials).
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.uber.org/zap/zapcore"

	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// Lookup reads one environment variable; os.LookupEnv in production.
type Lookup func(name string) (string, bool)

// Defaults that are not the workflow's own.
const (
	DefaultGenesysRequestsPerSecond = 4.5
	DefaultGenesysHTTPTimeout       = 30 * time.Second
	DefaultWorkerStopTimeout        = 100 * time.Second
	DefaultMaxConcurrentFetches     = 20
	DefaultMetricsAddress           = ":9464"
	DefaultBacklogMetricInterval    = time.Minute
)

// Defaults of the forwarder's and the worker's Temporal health settings.
const (
	DefaultForwarderStartTimeout = 10 * time.Second
	DefaultWorkerUnhealthyAfter  = time.Minute
)

// Log configures zap.
type Log struct {
	// Format is "json" (default, for log pipelines) or "console" (for people).
	Format string
	Level  zapcore.Level
}

// Forwarder is the Lambda's (and `starter events send`'s) configuration.
type Forwarder struct {
	TaskQueue string
	// Workflow options travel in the workflow input, so the workflow never
	// reads the environment.
	Workflow workflows.Options
	// TemporalAPIKeySecretARN names a Secrets Manager secret holding the
	// Temporal API key, so the key is never a plain Lambda environment value.
	TemporalAPIKeySecretARN string
	Log                     Log

	// StartTimeout caps each workflow start, so an unreachable Temporal
	// costs a bounded time; the Lambda's own deadline may cut it shorter.
	StartTimeout time.Duration
}

// Worker is the worker's configuration.
type Worker struct {
	TaskQueue        string
	GenesysTaskQueue string
	Genesys          genesys.Config
	// GenesysRequestsPerSecond is the fetch queue's server-side rate limit:
	// every fetch activity makes one Genesys request, so this caps the whole
	// fleet's request rate for one OAuth client.
	GenesysRequestsPerSecond float64
	// MaxConcurrentFetches caps fetch activities running in this worker.
	MaxConcurrentFetches int
	Store                store.Config
	// BatchTable holds each batch's audit record.
	BatchTable     string
	StopTimeout    time.Duration
	MetricsAddress string
	// BacklogMetricNamespace, when set, publishes the task queues' backlog to
	// CloudWatch under this namespace for ECS autoscaling.
	BacklogMetricNamespace string
	BacklogMetricInterval  time.Duration
	Log                    Log

	// UnhealthyAfter is how long Temporal may go unanswered before /healthz
	// reports the worker unhealthy (and ECS replaces it).
	UnhealthyAfter time.Duration
}

// LoadForwarder reads the forwarder's settings.
func LoadForwarder(env Lookup) (Forwarder, error) {
	r := reader{env: env}
	c := Forwarder{
		TaskQueue:               r.str("TEMPORAL_TASK_QUEUE", workflows.DefaultTaskQueue),
		Workflow:                r.workflowOptions(),
		TemporalAPIKeySecretARN: r.str("TEMPORAL_API_KEY_SECRET_ARN", ""),
		Log:                     r.log(),
		StartTimeout:            r.duration("FORWARDER_START_TIMEOUT", DefaultForwarderStartTimeout),
	}
	if c.StartTimeout <= 0 {
		r.problem("FORWARDER_START_TIMEOUT=%s: must be above 0", c.StartTimeout)
	}
	if arn := c.TemporalAPIKeySecretARN; arn != "" && !strings.HasPrefix(arn, "arn:") {
		r.problem("TEMPORAL_API_KEY_SECRET_ARN=%q: must be a Secrets Manager ARN (arn:aws:secretsmanager:...)", arn)
	}
	return c, r.err()
}

// LoadWorker reads the worker's settings.
func LoadWorker(env Lookup) (Worker, error) {
	r := reader{env: env}
	c := Worker{
		TaskQueue:                r.str("TEMPORAL_TASK_QUEUE", workflows.DefaultTaskQueue),
		GenesysTaskQueue:         r.str("GENESYS_TASK_QUEUE", workflows.DefaultGenesysTaskQueue),
		Genesys:                  r.genesys(),
		GenesysRequestsPerSecond: r.float("GENESYS_REQUESTS_PER_SECOND", DefaultGenesysRequestsPerSecond),
		MaxConcurrentFetches:     r.int("FETCH_MAX_CONCURRENT_ACTIVITIES", DefaultMaxConcurrentFetches),
		Store:                    store.Config{TableName: r.str("DYNAMODB_TABLE", store.DefaultTableName)},
		BatchTable:               r.str("DYNAMODB_BATCH_TABLE", store.DefaultBatchTableName),
		StopTimeout:              r.duration("WORKER_STOP_TIMEOUT", DefaultWorkerStopTimeout),
		MetricsAddress:           r.str("METRICS_ADDRESS", DefaultMetricsAddress),
		BacklogMetricNamespace:   r.str("BACKLOG_METRIC_NAMESPACE", ""),
		BacklogMetricInterval:    r.duration("BACKLOG_METRIC_INTERVAL", DefaultBacklogMetricInterval),
		Log:                      r.log(),
		UnhealthyAfter:           r.duration("WORKER_UNHEALTHY_AFTER", DefaultWorkerUnhealthyAfter),
	}
	if c.UnhealthyAfter < time.Second {
		r.problem("WORKER_UNHEALTHY_AFTER=%s: must be at least 1s", c.UnhealthyAfter)
	}
	if c.GenesysRequestsPerSecond <= 0 {
		r.problem("GENESYS_REQUESTS_PER_SECOND=%v: must be above 0", c.GenesysRequestsPerSecond)
	}
	if c.MaxConcurrentFetches < 1 {
		r.problem("FETCH_MAX_CONCURRENT_ACTIVITIES=%d: must be at least 1", c.MaxConcurrentFetches)
	}
	if c.StopTimeout <= 0 || c.StopTimeout >= 120*time.Second {
		// ECS Fargate kills a container 120 s (its maximum stopTimeout) after SIGTERM.
		r.problem("WORKER_STOP_TIMEOUT=%s: must be above 0 and below 120s, the longest ECS waits after SIGTERM", c.StopTimeout)
	}
	if c.TaskQueue == c.GenesysTaskQueue {
		r.problem("GENESYS_TASK_QUEUE=%q: must differ from TEMPORAL_TASK_QUEUE, its rate limit applies to the whole queue", c.GenesysTaskQueue)
	}
	if c.BacklogMetricInterval < 10*time.Second {
		r.problem("BACKLOG_METRIC_INTERVAL=%s: must be at least 10s", c.BacklogMetricInterval)
	}
	return c, r.err()
}

// Store reads only the DynamoDB table name, for tools that just read items.
func Store(env Lookup) store.Config {
	r := reader{env: env}
	return store.Config{TableName: r.str("DYNAMODB_TABLE", store.DefaultTableName)}
}

// BatchTable reads only the batches table name, for tools that read it.
func BatchTable(env Lookup) string {
	r := reader{env: env}
	return r.str("DYNAMODB_BATCH_TABLE", store.DefaultBatchTableName)
}

// TemporalClientOptions reads the Temporal connection the way the Temporal CLI
// does: temporal.toml profile, then TEMPORAL_* environment variables.
func TemporalClientOptions() (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal connection settings: %w", err)
	}
	return opts, nil
}

func (r *reader) workflowOptions() workflows.Options {
	o := workflows.Options{
		FetchBatchSize:    r.int("FETCH_BATCH_SIZE", workflows.DefaultFetchBatchSize),
		FetchConcurrency:  r.int("FETCH_CONCURRENCY", workflows.DefaultFetchConcurrency),
		ReadyPollInterval: r.duration("READY_POLL_INTERVAL", workflows.DefaultReadyPollInterval),
		ReadyTimeout:      r.duration("READY_TIMEOUT", workflows.DefaultReadyTimeout),
		GenesysTaskQueue:  r.str("GENESYS_TASK_QUEUE", workflows.DefaultGenesysTaskQueue),
		// How long systemic errors (outages, throttling, lost permission)
		// are waited out before a chunk's conversations are recorded failed.
		FetchRetryHorizon:     r.duration("FETCH_RETRY_HORIZON", workflows.DefaultFetchRetryHorizon),
		FetchRetryMaxInterval: r.duration("FETCH_RETRY_MAX_INTERVAL", workflows.DefaultFetchRetryMaxInterval),
	}
	if o.FetchRetryHorizon < time.Minute {
		r.problem("FETCH_RETRY_HORIZON=%s: must be at least 1m", o.FetchRetryHorizon)
	}
	if o.FetchRetryMaxInterval < time.Second || o.FetchRetryMaxInterval > o.FetchRetryHorizon {
		r.problem("FETCH_RETRY_MAX_INTERVAL=%s: must be at least 1s and at most FETCH_RETRY_HORIZON", o.FetchRetryMaxInterval)
	}
	if o.FetchBatchSize < 1 || o.FetchBatchSize > workflows.MaxFetchBatchSize {
		r.problem("FETCH_BATCH_SIZE=%d: must be between 1 and %d", o.FetchBatchSize, workflows.MaxFetchBatchSize)
	}
	if o.FetchConcurrency < 1 || o.FetchConcurrency > workflows.MaxFetchConcurrency {
		r.problem("FETCH_CONCURRENCY=%d: must be between 1 and %d", o.FetchConcurrency, workflows.MaxFetchConcurrency)
	}
	if o.ReadyPollInterval < time.Second {
		r.problem("READY_POLL_INTERVAL=%s: must be at least 1s", o.ReadyPollInterval)
	}
	if o.ReadyTimeout < 0 {
		r.problem("READY_TIMEOUT=%s: must not be negative", o.ReadyTimeout)
	}
	return o
}

func (r *reader) genesys() genesys.Config {
	c := genesys.Config{
		APIBaseURL:   r.str("GENESYS_API_BASE_URL", ""),
		LoginBaseURL: r.str("GENESYS_LOGIN_BASE_URL", ""),
		ClientID:     r.str("GENESYS_CLIENT_ID", ""),
		ClientSecret: genesys.Secret(r.str("GENESYS_CLIENT_SECRET", "")),
		Timeout:      r.duration("GENESYS_HTTP_TIMEOUT", DefaultGenesysHTTPTimeout),
		UserAgent:    "genesys-ingest",
		// With FETCH_MAX_CONCURRENT_ACTIVITIES it bounds the worker's
		// memory: at most that many bodies of this size are held at once.
		MaxResponseBytes: int64(r.int("GENESYS_MAX_RESPONSE_BYTES", genesys.DefaultMaxResponseBytes)),
	}
	if c.MaxResponseBytes < 1<<20 {
		r.problem("GENESYS_MAX_RESPONSE_BYTES=%d: must be at least 1048576 (1 MiB)", c.MaxResponseBytes)
	}
	region := r.str("GENESYS_REGION", "")
	if c.APIBaseURL == "" || c.LoginBaseURL == "" {
		switch {
		case region == "":
			r.problem("GENESYS_REGION is not set: give a region (us-east-1) or domain (mypurecloud.com), or both GENESYS_API_BASE_URL and GENESYS_LOGIN_BASE_URL")
		default:
			api, login, err := genesys.ResolveRegion(region)
			if err != nil {
				r.problem("GENESYS_REGION=%q: %v", region, err)
			}
			if c.APIBaseURL == "" {
				c.APIBaseURL = api
			}
			if c.LoginBaseURL == "" {
				c.LoginBaseURL = login
			}
		}
	}
	if c.ClientID == "" {
		r.problem("GENESYS_CLIENT_ID is not set")
	}
	if c.ClientSecret == "" {
		r.problem("GENESYS_CLIENT_SECRET is not set")
	}
	if c.Timeout <= 0 {
		r.problem("GENESYS_HTTP_TIMEOUT=%s: must be above 0", c.Timeout)
	}
	return c
}

func (r *reader) log() Log {
	l := Log{Format: r.str("LOG_FORMAT", "json")}
	if l.Format != "json" && l.Format != "console" {
		r.problem("LOG_FORMAT=%q: must be json or console", l.Format)
	}
	level := r.str("LOG_LEVEL", "info")
	if err := l.Level.UnmarshalText([]byte(level)); err != nil {
		r.problem("LOG_LEVEL=%q: must be debug, info, warn or error", level)
	}
	return l
}

// reader collects every problem instead of stopping at the first, so one
// start tells the operator everything that is wrong.
type reader struct {
	env      Lookup
	problems []error
}

func (r *reader) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Errorf(format, args...))
}

func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n%w", errors.Join(r.problems...))
}

func (r *reader) str(name, def string) string {
	if v, ok := r.env(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (r *reader) int(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.problem("%s=%q: not a whole number", name, v)
		return def
	}
	return n
}

func (r *reader) float(name string, def float64) float64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		r.problem("%s=%q: not a number", name, v)
		return def
	}
	return f
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.problem("%s=%q: not a duration (use Go syntax such as 30s, 5m, 2h)", name, v)
		return def
	}
	return d
}

// OSLookup is the production Lookup.
var OSLookup Lookup = os.LookupEnv
