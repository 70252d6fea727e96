// Package metrics is the worker's Prometheus registry: the Temporal SDK's
// metrics go through its OpenTelemetry handler into it, next to the Go
// runtime and process collectors. Only the worker imports it.
package metrics

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.uber.org/zap"
)

// Registry is a Prometheus registry fed by the Temporal SDK's metrics.
type Registry struct {
	registry *prometheus.Registry
	handler  client.MetricsHandler
}

// New registers Go runtime and process collectors and the SDK's metrics
// (worker task slots, activity latencies, our own counters) in a new
// registry. Metric errors are logged, never fatal.
func New(logger *zap.Logger) (*Registry, error) {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:   provider.Meter("genesys-ingest"),
		OnError: func(err error) { logger.Warn("metric not recorded", zap.Error(err)) },
	})
	return &Registry{registry: registry, handler: handler}, nil
}

// Handler is the metrics handler to pass to client.Options.MetricsHandler.
func (m *Registry) Handler() client.MetricsHandler { return m.handler }

// HTTPHandler serves the registry in the Prometheus text format.
func (m *Registry) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
