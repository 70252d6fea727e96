// Command worker runs the ingestion workflow and its Genesys fetch activities.
// It only wires things together: configuration, logging, metrics, the
// Temporal client, the Genesys client, the DynamoDB table and two Temporal
// workers (one per task queue).
//
// `worker healthcheck [--ready]` is the container's health check: it asks
// the running worker's /healthz (or /readyz) and exits 0 when it answers
// 200.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/genesys-ingest/genesys-ingest/activities"
	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/config/workerconfig"
	"github.com/genesys-ingest/genesys-ingest/telemetry"
	"github.com/genesys-ingest/genesys-ingest/telemetry/metrics"
	"github.com/genesys-ingest/genesys-ingest/worker/backlog"
	"github.com/genesys-ingest/genesys-ingest/worker/health"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:], config.OSLookup, os.Stdout, os.Stderr))
	}
	createTable := flag.Bool("create-table", false, "create the DynamoDB table if it does not exist (local stacks; in AWS, Terraform creates it)")
	flag.Parse()
	if err := run(*createTable); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(createTable bool) error {
	cfg, err := workerconfig.Load(config.OSLookup)
	if err != nil {
		return err
	}
	logger, err := telemetry.NewLogger(cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	// EMF documents go to stdout, where the awslogs driver ships them to
	// CloudWatch; zap logs to stderr, so the two never share a line.
	registry, err := metrics.New(metrics.Config{
		EMF:       cfg.Metrics.EMF,
		Interval:  cfg.Metrics.Interval,
		Namespace: cfg.Metrics.Namespace,
		Output:    os.Stdout,
	}, logger)
	if err != nil {
		return err
	}
	genesysMetrics, err := registry.Genesys(cfg.GenesysRequestsPerSecond)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	temporalOpts, err := config.TemporalClientOptions()
	if err != nil {
		return err
	}
	temporalOpts.Logger = telemetry.TemporalLogger(logger)
	temporalOpts.MetricsHandler = registry.Handler()
	temporal, err := client.DialContext(ctx, temporalOpts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", temporalOpts.HostPort, err)
	}
	defer temporal.Close()
	checker := health.New(health.TaskQueueProbe(temporal, cfg.TaskQueue, cfg.GenesysTaskQueue), cfg.UnhealthyAfter, logger)
	go checker.Run(ctx)

	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	// Read once, before anything is stored: a hashed mode without its key
	// stops the worker here.
	contacts, err := cfg.Contacts.Load(ctx, secretsmanager.NewFromConfig(awsCfg))
	if err != nil {
		return err
	}
	dynamo := dynamodb.NewFromConfig(awsCfg)
	if cfg.Store.DetailBucket != "" {
		// Details too large for their item go there (AWS_ENDPOINT_URL_S3
		// points it at a local S3).
		cfg.Store.Objects = s3.NewFromConfig(awsCfg)
	}
	table := store.NewTable(dynamo, cfg.Store)
	batches := store.NewBatches(dynamo, cfg.BatchTable)
	if createTable {
		for _, t := range []interface {
			CreateTable(context.Context) error
			Name() string
		}{table, batches} {
			if err := t.CreateTable(ctx); err != nil {
				return err
			}
			logger.Info("table ready", zap.String("table", t.Name()))
		}
	}
	cfg.Genesys.Observer = genesysMetrics.Observe
	cfg.Genesys.OnRetryAfter = genesysMetrics.RetryAfter
	cfg.Genesys.OnTokenRenewed = genesysMetrics.TokenRenewed
	genesysClient, err := genesys.New(cfg.Genesys)
	if err != nil {
		return err
	}
	fetcher := &activities.Fetcher{Genesys: genesysClient, Store: table, Source: cfg.DetailSource,
		Mapping: store.Mapping{Contacts: contacts}}

	workflowWorker := worker.New(temporal, cfg.TaskQueue, worker.Options{
		WorkerStopTimeout: cfg.StopTimeout,
		OnFatalError:      checker.OnFatalError(cfg.TaskQueue),
	})
	workflowWorker.RegisterWorkflowWithOptions(workflows.IngestConversations, workflow.RegisterOptions{Name: workflows.IngestWorkflowName})
	workflowWorker.RegisterWorkflowWithOptions(workflows.FetchScheduler, workflow.RegisterOptions{Name: workflows.FetchSchedulerWorkflowName})
	workflowWorker.RegisterWorkflowWithOptions(workflows.Backfill, workflow.RegisterOptions{Name: workflows.BackfillWorkflowName})
	// A local activity of the workflow: it reads DynamoDB only, so it stays
	// off the rate-limited Genesys queue.
	workflowWorker.RegisterActivityWithOptions(fetcher.FindStoredConversations, activity.RegisterOptions{Name: workflows.FindStoredActivityName})
	recorder := &activities.Recorder{Conversations: table, Batches: batches}
	workflowWorker.RegisterActivityWithOptions(recorder.RecordFailedConversations, activity.RegisterOptions{Name: workflows.RecordFailuresActivityName})
	workflowWorker.RegisterActivityWithOptions(recorder.RecordBatch, activity.RegisterOptions{Name: workflows.RecordBatchActivityName})
	// A local activity of the scheduler: how this worker says to spend the
	// budget (FETCH_*).
	workflowWorker.RegisterActivityWithOptions(func(context.Context) (workflows.FetchSettings, error) { return cfg.Fetch, nil },
		activity.RegisterOptions{Name: workflows.FetchSettingsActivityName})
	watch := &activities.SchedulerWatch{Temporal: temporal}
	workflowWorker.RegisterActivityWithOptions(watch.CheckFetchScheduler, activity.RegisterOptions{Name: workflows.CheckSchedulerActivityName})
	backfiller := &activities.Backfiller{Genesys: genesysClient, Table: table, Reports: batches}
	// A local activity of the backfill, like the batches' table check.
	workflowWorker.RegisterActivityWithOptions(backfiller.ClassifyStoredConversations, activity.RegisterOptions{Name: workflows.ClassifyActivityName})
	workflowWorker.RegisterActivityWithOptions(backfiller.RecordBackfill, activity.RegisterOptions{Name: workflows.RecordBackfillActivityName})

	fetchWorker := worker.New(temporal, cfg.GenesysTaskQueue, worker.Options{
		// Enforced by the server for the whole queue, so every worker in the
		// fleet together stays inside one OAuth client's request budget.
		TaskQueueActivitiesPerSecond:       cfg.GenesysRequestsPerSecond,
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentFetches,
		// The server dispatches a partition's tasks only to pollers waiting
		// on it, and a rate-limited queue's budget is split over its
		// partitions (four by default): a poller on each keeps every
		// share of the budget in use.
		MaxConcurrentActivityTaskPollers: fetchPollers,
		WorkerStopTimeout:                cfg.StopTimeout,
		OnFatalError:                     checker.OnFatalError(cfg.GenesysTaskQueue),
	})
	fetchWorker.RegisterActivityWithOptions(fetcher.FetchAndStoreConversations, activity.RegisterOptions{Name: workflows.FetchActivityName})
	// The details query spends the same budget as the fetches.
	fetchWorker.RegisterActivityWithOptions(backfiller.QueryConversationDetails, activity.RegisterOptions{Name: workflows.QueryDetailsActivityName})

	for _, w := range []worker.Worker{workflowWorker, fetchWorker} {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
	}
	if cfg.BacklogMetricNamespace != "" {
		publisher := backlog.New(backlog.Config{
			Namespace:       temporalOpts.Namespace,
			TaskQueues:      []string{cfg.TaskQueue, cfg.GenesysTaskQueue},
			MetricNamespace: cfg.BacklogMetricNamespace,
			Interval:        cfg.BacklogMetricInterval,
		}, temporal.WorkflowService(), cloudwatch.NewFromConfig(awsCfg), logger)
		go func() { _ = publisher.Run(ctx) }()
	}
	// Served once the workers run, so /healthz answering means polling.
	readiness := health.NewReadiness(
		health.Check{Name: "temporal", Probe: health.TaskQueueProbe(temporal, cfg.TaskQueue, cfg.GenesysTaskQueue)},
		health.Check{Name: "dynamodb", Probe: health.TableProbe(dynamo, table.Name(), store.PartitionKey)},
	)
	metricsServer := serveMetrics(cfg.MetricsAddress, registry, checker, readiness, logger)
	logger.Info("worker started",
		zap.String("taskQueue", cfg.TaskQueue), zap.String("genesysTaskQueue", cfg.GenesysTaskQueue),
		zap.Float64("genesysRequestsPerSecond", cfg.GenesysRequestsPerSecond),
		zap.String("genesysAPI", cfg.Genesys.APIBaseURL), zap.String("table", table.Name()),
		zap.String("detailSource", string(cfg.DetailSource)), zap.String("contactAddresses", string(contacts.Mode())))

	// A worker that stopped fatally polls nothing: stop the other one too and
	// exit non-zero, so ECS starts a fresh task.
	fatalErr := checker.Wait(worker.InterruptCh())
	cancel()
	logger.Info("stopping: finishing running activities", zap.Duration("stopTimeout", cfg.StopTimeout))
	fetchWorker.Stop()
	workflowWorker.Stop()
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if metricsServer != nil {
		_ = metricsServer.Shutdown(shutdownCtx)
	}
	// Writes the last interval's CloudWatch metrics: a task that scales in
	// keeps its final counts.
	if err := registry.Shutdown(shutdownCtx); err != nil {
		logger.Warn("metrics not flushed", zap.Error(err))
	}
	logger.Info("stopped")
	return fatalErr
}

// fetchPollers is twice the default number of task queue partitions.
const fetchPollers = 8

// serveMetrics exposes /metrics (Prometheus), /healthz and /readyz; an empty
// address disables it.
func serveMetrics(addr string, registry *metrics.Registry, healthz, readyz http.Handler, logger *zap.Logger) *http.Server {
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", registry.HTTPHandler())
	mux.Handle("/healthz", healthz)
	mux.Handle("/readyz", readyz)
	server := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", zap.String("address", addr), zap.Error(err))
		}
	}()
	return server
}
