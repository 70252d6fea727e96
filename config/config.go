// Package config reads settings from the environment, once, and reports
// every problem in one error. It holds the forwarder's configuration and what
// every binary shares: the reader, the log and task-queue settings and the
// workflow options. It imports neither the Genesys client, the DynamoDB store
// nor the AWS DynamoDB SDK, so the Lambda links none of them; the worker's
// settings are in config/workerconfig.
//
// Temporal connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TLS, temporal.toml profiles) are read by the SDK's
// envconfig, the same way the Temporal CLI reads them; AWS settings come from
// the AWS SDK's default chain (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB,
// credentials).
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

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// Lookup reads one environment variable; os.LookupEnv in production.
type Lookup func(name string) (string, bool)

// OSLookup is the production Lookup.
var OSLookup Lookup = os.LookupEnv

// DefaultForwarderStartTimeout is FORWARDER_START_TIMEOUT's default.
const DefaultForwarderStartTimeout = 10 * time.Second

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

// LoadForwarder reads the forwarder's settings.
func LoadForwarder(env Lookup) (Forwarder, error) {
	r := NewReader(env)
	c := Forwarder{
		TaskQueue:               r.TaskQueue(),
		Workflow:                r.WorkflowOptions(),
		TemporalAPIKeySecretARN: r.String("TEMPORAL_API_KEY_SECRET_ARN", ""),
		Log:                     r.Log(),
		StartTimeout:            r.Duration("FORWARDER_START_TIMEOUT", DefaultForwarderStartTimeout),
	}
	if c.StartTimeout <= 0 {
		r.Problem("FORWARDER_START_TIMEOUT=%s: must be above 0", c.StartTimeout)
	}
	if arn := c.TemporalAPIKeySecretARN; arn != "" && !strings.HasPrefix(arn, "arn:") {
		r.Problem("TEMPORAL_API_KEY_SECRET_ARN=%q: must be a Secrets Manager ARN (arn:aws:secretsmanager:...)", arn)
	}
	return c, r.Err()
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

// Settings more than one binary reads: one method each, so each has one
// default and one set of rules wherever it is read.

// TaskQueue reads TEMPORAL_TASK_QUEUE, the queue of the workflows.
func (r *Reader) TaskQueue() string {
	return r.String("TEMPORAL_TASK_QUEUE", workflows.DefaultTaskQueue)
}

// GenesysTaskQueue reads GENESYS_TASK_QUEUE, the rate-limited queue of the
// Genesys fetch activities.
func (r *Reader) GenesysTaskQueue() string {
	return r.String("GENESYS_TASK_QUEUE", workflows.DefaultGenesysTaskQueue)
}

// WorkflowOptions reads what the forwarder decides for the batches it
// starts: readiness (READY_POLL_INTERVAL, READY_TIMEOUT) and the Genesys task
// queue. How the budget is spent (FETCH_*) is the worker's: FetchSettings.
func (r *Reader) WorkflowOptions() workflows.Options {
	o := workflows.Options{
		ReadyPollInterval: r.Duration(workflows.SettingReadyPollInterval, workflows.DefaultReadyPollInterval),
		ReadyTimeout:      r.Duration(workflows.SettingReadyTimeout, workflows.DefaultReadyTimeout),
		GenesysTaskQueue:  r.GenesysTaskQueue(),
	}
	r.optionProblems(o.WithDefaults().Problems())
	return o
}

// FetchSettings reads how the worker spends the Genesys request budget:
// FETCH_BATCH_SIZE, FETCH_CONCURRENCY and how long systemic errors
// (outages, throttling, lost permission) are waited out before a chunk's
// conversations are recorded failed.
func (r *Reader) FetchSettings() workflows.FetchSettings {
	f := workflows.FetchSettings{
		BatchSize:        r.Int(workflows.SettingFetchBatchSize, workflows.DefaultFetchBatchSize),
		Concurrency:      r.Int(workflows.SettingFetchConcurrency, workflows.DefaultFetchConcurrency),
		RetryHorizon:     r.Duration(workflows.SettingFetchRetryHorizon, workflows.DefaultFetchRetryHorizon),
		RetryMaxInterval: r.Duration(workflows.SettingFetchRetryMaxInterval, workflows.DefaultFetchRetryMaxInterval),
	}
	r.optionProblems(f.Problems())
	return f
}

// optionProblems reports options out of range by the workflows' own rules.
func (r *Reader) optionProblems(ps []workflows.Problem) {
	for _, p := range ps {
		r.Problem("%s", p.Error())
	}
}

// Log reads LOG_FORMAT and LOG_LEVEL.
func (r *Reader) Log() Log {
	l := Log{Format: r.String("LOG_FORMAT", "json")}
	if l.Format != "json" && l.Format != "console" {
		r.Problem("LOG_FORMAT=%q: must be json or console", l.Format)
	}
	level := r.String("LOG_LEVEL", "info")
	if err := l.Level.UnmarshalText([]byte(level)); err != nil {
		r.Problem("LOG_LEVEL=%q: must be debug, info, warn or error", level)
	}
	return l
}

// Reader reads settings and collects every problem instead of stopping at the
// first, so one start tells the operator everything that is wrong. A value
// that cannot be parsed is a problem and gives the default.
type Reader struct {
	env      Lookup
	problems []error
}

// NewReader returns a Reader of env.
func NewReader(env Lookup) *Reader { return &Reader{env: env} }

// Problem records one problem; Err reports them all.
func (r *Reader) Problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Errorf(format, args...))
}

// Err is every problem recorded so far in one error, or nil.
func (r *Reader) Err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n%w", errors.Join(r.problems...))
}

// String is the variable's value without surrounding spaces, or def when it
// is unset or blank.
func (r *Reader) String(name, def string) string {
	if v, ok := r.env(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// Int reads a whole number.
func (r *Reader) Int(name string, def int) int {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.Problem("%s=%q: not a whole number", name, v)
		return def
	}
	return n
}

// Float reads a number.
func (r *Reader) Float(name string, def float64) float64 {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		r.Problem("%s=%q: not a number", name, v)
		return def
	}
	return f
}

// Duration reads a Go duration (30s, 5m, 2h).
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.Problem("%s=%q: not a duration (use Go syntax such as 30s, 5m, 2h)", name, v)
		return def
	}
	return d
}
