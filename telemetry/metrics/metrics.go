// Package metrics is the worker's metrics: one OpenTelemetry meter provider
// that the Temporal SDK (through its metrics handler), the activities'
// counters and the Genesys client's hooks all record into, read two ways.
//
//   - Prometheus, on /metrics: every instrument, next to the Go runtime and
//     process collectors, for local stacks and anyone who scrapes.
//   - CloudWatch, in the embedded metric format (EMF): every
//     WORKER_EMF_INTERVAL a periodic reader writes the project's own metrics
//     (contract.go) to stdout as JSON lines. On ECS the awslogs driver that
//     already ships the worker's logs delivers them to CloudWatch Logs, which
//     extracts the metrics. The SDK's and the runtime's metrics are left out:
//     every CloudWatch metric is billed.
//
// EMF rather than an OpenTelemetry exporter to CloudWatch: exporting OTLP
// needs a collector beside the worker (the ADOT sidecar: one more container
// to size, configure and keep alive in every task), and exporting through
// PutMetricData needs that permission, pays per call and puts a network
// call that can fail or throttle on every flush. A line on stdout needs no
// permission, no sidecar and no new failure mode, and works with the log
// driver the task definition already has.
//
// Only the worker imports this package.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.uber.org/zap"
)

// Config says where metrics go besides /metrics.
type Config struct {
	// EMF turns on the CloudWatch embedded metric format documents.
	EMF bool
	// Interval is how often EMF documents are written, and the window over
	// which GenesysBudgetUse measures the request rate (with EMF off too).
	Interval time.Duration
	// Namespace is the CloudWatch namespace of the EMF metrics.
	Namespace string
	// Output receives the EMF documents, one per line: os.Stdout in the
	// worker, where the awslogs driver picks them up.
	Output io.Writer
}

// Registry holds the worker's metrics.
type Registry struct {
	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
	meter    metric.Meter
	handler  client.MetricsHandler
	interval time.Duration
}

// New builds the meter provider with its readers, registers the Go runtime
// and process collectors for /metrics, and wraps the meter in a Temporal
// metrics handler. Metric errors are logged, never fatal.
func New(cfg Config, logger *zap.Logger) (*Registry, error) {
	if cfg.Interval <= 0 {
		return nil, errors.New("metrics: Interval must be above 0")
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithReader(exporter)}
	if cfg.EMF {
		opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(
			newEMFExporter(cfg.Namespace, cfg.Output, logger), sdkmetric.WithInterval(cfg.Interval))))
	}
	for name, bounds := range histogramBounds {
		opts = append(opts, sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: name},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: bounds}})))
	}
	provider := sdkmetric.NewMeterProvider(opts...)
	meter := provider.Meter("genesys-ingest")
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:   meter,
		OnError: func(err error) { logger.Warn("metric not recorded", zap.Error(err)) },
	})
	return &Registry{registry: registry, provider: provider, meter: meter, handler: handler, interval: cfg.Interval}, nil
}

// Handler is the metrics handler to pass to client.Options.MetricsHandler.
func (m *Registry) Handler() client.MetricsHandler { return m.handler }

// HTTPHandler serves the registry in the Prometheus text format.
func (m *Registry) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Shutdown writes the EMF documents of the interval under way, so a task
// that stops does not lose its last minute, and stops the readers.
func (m *Registry) Shutdown(ctx context.Context) error {
	return m.provider.Shutdown(ctx)
}
