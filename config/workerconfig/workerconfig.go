// Package workerconfig reads the worker's settings, and the DynamoDB table
// names the starter CLI shares with it. It builds on config's reader (every
// problem reported at once) and imports the Genesys client and the DynamoDB
// store for their types and defaults, which the forwarder's config does not.
package workerconfig

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/genesys-ingest/genesys-ingest/activities"
	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// Defaults that are not the workflow's own.
const (
	DefaultGenesysRequestsPerSecond = 4.5
	DefaultGenesysHTTPTimeout       = 30 * time.Second
	DefaultWorkerStopTimeout        = 100 * time.Second
	DefaultMaxConcurrentFetches     = 20
	DefaultMetricsAddress           = ":9464"
	DefaultBacklogMetricInterval    = time.Minute
	DefaultWorkerUnhealthyAfter     = time.Minute
	DefaultEMFInterval              = time.Minute
	DefaultMetricsNamespace         = "GenesysIngest"
)

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
	// Fetch is how the fetch scheduler spends the budget; the worker, not
	// the forwarder, decides it.
	Fetch workflows.FetchSettings
	// DetailSource is the Genesys endpoint records are fetched from
	// (GENESYS_DETAIL_SOURCE).
	DetailSource activities.DetailSource
	Store        store.Config
	// Contacts is what items keep of contact addresses.
	Contacts Contacts
	// BatchTable holds each batch's audit record.
	BatchTable     string
	StopTimeout    time.Duration
	MetricsAddress string
	// BacklogMetricNamespace, when set, publishes the task queues' backlog to
	// CloudWatch under this namespace for ECS autoscaling.
	BacklogMetricNamespace string
	BacklogMetricInterval  time.Duration
	Log                    config.Log

	// UnhealthyAfter is how long Temporal may go unanswered before /healthz
	// reports the worker unhealthy (and ECS replaces it).
	UnhealthyAfter time.Duration

	// Metrics are the CloudWatch metrics written to stdout.
	Metrics Metrics
}

// Metrics configures the CloudWatch embedded metric format documents the
// worker writes to stdout for the awslogs driver to ship.
type Metrics struct {
	// EMF turns them on (WORKER_METRICS_EMF).
	EMF bool
	// Interval is how often they are written (WORKER_EMF_INTERVAL), and the
	// window of GenesysBudgetUse.
	Interval time.Duration
	// Namespace is their CloudWatch namespace (WORKER_METRICS_NAMESPACE).
	Namespace string
}

// Load reads the worker's settings.
func Load(env config.Lookup) (Worker, error) {
	r := config.NewReader(env)
	c := Worker{
		TaskQueue:                r.TaskQueue(),
		GenesysTaskQueue:         r.GenesysTaskQueue(),
		Genesys:                  readGenesys(r),
		GenesysRequestsPerSecond: r.Float("GENESYS_REQUESTS_PER_SECOND", DefaultGenesysRequestsPerSecond),
		MaxConcurrentFetches:     r.Int("FETCH_MAX_CONCURRENT_ACTIVITIES", DefaultMaxConcurrentFetches),
		Fetch:                    r.FetchSettings(),
		DetailSource:             readDetailSource(r),
		Store:                    readStore(r),
		Contacts:                 readContacts(r),
		BatchTable:               readBatchTable(r),
		StopTimeout:              r.Duration("WORKER_STOP_TIMEOUT", DefaultWorkerStopTimeout),
		MetricsAddress:           readMetricsAddress(r),
		BacklogMetricNamespace:   r.String("BACKLOG_METRIC_NAMESPACE", ""),
		BacklogMetricInterval:    r.Duration("BACKLOG_METRIC_INTERVAL", DefaultBacklogMetricInterval),
		Log:                      r.Log(),
		UnhealthyAfter:           r.Duration("WORKER_UNHEALTHY_AFTER", DefaultWorkerUnhealthyAfter),
		Metrics:                  readMetrics(r),
	}
	if c.UnhealthyAfter < time.Second {
		r.Problem("WORKER_UNHEALTHY_AFTER=%s: must be at least 1s", c.UnhealthyAfter)
	}
	if c.GenesysRequestsPerSecond <= 0 {
		r.Problem("GENESYS_REQUESTS_PER_SECOND=%v: must be above 0", c.GenesysRequestsPerSecond)
	}
	if c.MaxConcurrentFetches < 1 {
		r.Problem("FETCH_MAX_CONCURRENT_ACTIVITIES=%d: must be at least 1", c.MaxConcurrentFetches)
	}
	if c.StopTimeout <= 0 || c.StopTimeout >= 120*time.Second {
		// ECS Fargate kills a container 120 s (its maximum stopTimeout) after SIGTERM.
		r.Problem("WORKER_STOP_TIMEOUT=%s: must be above 0 and below 120s, the longest ECS waits after SIGTERM", c.StopTimeout)
	}
	if c.TaskQueue == c.GenesysTaskQueue {
		r.Problem("GENESYS_TASK_QUEUE=%q: must differ from TEMPORAL_TASK_QUEUE, its rate limit applies to the whole queue", c.GenesysTaskQueue)
	}
	if c.BacklogMetricInterval < 10*time.Second {
		r.Problem("BACKLOG_METRIC_INTERVAL=%s: must be at least 10s", c.BacklogMetricInterval)
	}
	return c, r.Err()
}

// HealthURL reads only METRICS_ADDRESS and returns the base URL of the
// worker's /healthz and /readyz as `worker healthcheck`, inside the same
// container, reaches them: a health check must not fail on settings it
// does not use.
func HealthURL(env config.Lookup) (string, error) {
	r := config.NewReader(env)
	addr := readMetricsAddress(r)
	if err := r.Err(); err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(addr)
	// A server listening on every interface (":9464", "0.0.0.0:9464")
	// answers on loopback.
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func readMetricsAddress(r *config.Reader) string {
	addr := r.String("METRICS_ADDRESS", DefaultMetricsAddress)
	_, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
		r.Problem("METRICS_ADDRESS=%q: must be [host]:port with a port from 1 to 65535, such as :9464", addr)
	}
	return addr
}

// cloudWatchNamespace is what CloudWatch accepts as a namespace.
var cloudWatchNamespace = regexp.MustCompile(`^[0-9A-Za-z.\-_/#: ]{1,255}$`)

func readMetrics(r *config.Reader) Metrics {
	m := Metrics{
		EMF:       true,
		Interval:  r.Duration("WORKER_EMF_INTERVAL", DefaultEMFInterval),
		Namespace: r.String("WORKER_METRICS_NAMESPACE", DefaultMetricsNamespace),
	}
	if v := r.String("WORKER_METRICS_EMF", ""); v != "" {
		if emf, err := strconv.ParseBool(v); err != nil {
			r.Problem("WORKER_METRICS_EMF=%q: must be true or false", v)
		} else {
			m.EMF = emf
		}
	}
	// CloudWatch keeps one point a minute: a longer interval would leave
	// minutes without data, and alarms read them as missing.
	if m.Interval < 10*time.Second || m.Interval > time.Minute {
		r.Problem("WORKER_EMF_INTERVAL=%s: must be from 10s to 1m", m.Interval)
	}
	if !cloudWatchNamespace.MatchString(m.Namespace) || strings.HasPrefix(m.Namespace, "AWS/") {
		r.Problem("WORKER_METRICS_NAMESPACE=%q: must be 1 to 255 letters, digits, spaces or . - _ / # : and not start with AWS/", m.Namespace)
	}
	return m
}

// Store reads only the DynamoDB table name, for tools that just read items.
func Store(env config.Lookup) store.Config { return readStore(config.NewReader(env)) }

// BatchTable reads only the batches table name, for tools that read it.
func BatchTable(env config.Lookup) string { return readBatchTable(config.NewReader(env)) }

// s3BucketName is what S3 accepts as a general purpose bucket's name.
var s3BucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func readStore(r *config.Reader) store.Config {
	c := store.Config{
		TableName: r.String("DYNAMODB_TABLE", store.DefaultTableName),
		// The details too large for an item go there; unset, they are
		// dropped from the item and only Genesys keeps them.
		DetailBucket: r.String("DETAIL_BUCKET", ""),
	}
	if b := c.DetailBucket; b != "" && !s3BucketName.MatchString(b) {
		r.Problem("DETAIL_BUCKET=%q: must be an S3 bucket name, 3 to 63 lowercase letters, digits, dots and hyphens", b)
	}
	return c
}

func readBatchTable(r *config.Reader) string {
	return r.String("DYNAMODB_BATCH_TABLE", store.DefaultBatchTableName)
}

func readGenesys(r *config.Reader) genesys.Config {
	c := genesys.Config{
		APIBaseURL:   r.String("GENESYS_API_BASE_URL", ""),
		LoginBaseURL: r.String("GENESYS_LOGIN_BASE_URL", ""),
		ClientID:     r.String("GENESYS_CLIENT_ID", ""),
		ClientSecret: genesys.Secret(r.String("GENESYS_CLIENT_SECRET", "")),
		Timeout:      r.Duration("GENESYS_HTTP_TIMEOUT", DefaultGenesysHTTPTimeout),
		UserAgent:    "genesys-ingest",
		// With FETCH_MAX_CONCURRENT_ACTIVITIES it bounds the worker's
		// memory: at most that many bodies of this size are held at once.
		MaxResponseBytes: int64(r.Int("GENESYS_MAX_RESPONSE_BYTES", genesys.DefaultMaxResponseBytes)),
	}
	if c.MaxResponseBytes < 1<<20 {
		r.Problem("GENESYS_MAX_RESPONSE_BYTES=%d: must be at least 1048576 (1 MiB)", c.MaxResponseBytes)
	}
	region := r.String("GENESYS_REGION", "")
	if c.APIBaseURL == "" || c.LoginBaseURL == "" {
		switch {
		case region == "":
			r.Problem("GENESYS_REGION is not set: give a region (us-east-1) or domain (mypurecloud.com), or both GENESYS_API_BASE_URL and GENESYS_LOGIN_BASE_URL")
		default:
			api, login, err := genesys.ResolveRegion(region)
			if err != nil {
				r.Problem("GENESYS_REGION=%q: %v", region, err)
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
		r.Problem("GENESYS_CLIENT_ID is not set")
	}
	if c.ClientSecret == "" {
		r.Problem("GENESYS_CLIENT_SECRET is not set")
	}
	if c.Timeout <= 0 {
		r.Problem("GENESYS_HTTP_TIMEOUT=%s: must be above 0", c.Timeout)
	}
	return c
}
