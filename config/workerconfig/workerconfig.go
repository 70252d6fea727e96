// Package workerconfig reads the worker's settings, and the DynamoDB table
// names the starter CLI shares with it. It builds on config's reader (every
// problem reported at once) and imports the Genesys client and the DynamoDB
// store for their types and defaults, which the forwarder's config does not.
package workerconfig

import (
	"time"

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
	Store store.Config
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
		Store:                    readStore(r),
		BatchTable:               readBatchTable(r),
		StopTimeout:              r.Duration("WORKER_STOP_TIMEOUT", DefaultWorkerStopTimeout),
		MetricsAddress:           r.String("METRICS_ADDRESS", DefaultMetricsAddress),
		BacklogMetricNamespace:   r.String("BACKLOG_METRIC_NAMESPACE", ""),
		BacklogMetricInterval:    r.Duration("BACKLOG_METRIC_INTERVAL", DefaultBacklogMetricInterval),
		Log:                      r.Log(),
		UnhealthyAfter:           r.Duration("WORKER_UNHEALTHY_AFTER", DefaultWorkerUnhealthyAfter),
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

// Store reads only the DynamoDB table name, for tools that just read items.
func Store(env config.Lookup) store.Config { return readStore(config.NewReader(env)) }

// BatchTable reads only the batches table name, for tools that read it.
func BatchTable(env config.Lookup) string { return readBatchTable(config.NewReader(env)) }

func readStore(r *config.Reader) store.Config {
	return store.Config{TableName: r.String("DYNAMODB_TABLE", store.DefaultTableName)}
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
