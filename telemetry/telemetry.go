// Package telemetry builds the logger and the metrics the worker and the
// forwarder share: zap for logs (also behind the Temporal SDK's logger
// interface) and Prometheus for metrics (the SDK's metrics go through its
// OpenTelemetry handler into a Prometheus registry).
package telemetry

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	temporallog "go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"
)

// NewLogger returns a JSON logger (for log pipelines such as CloudWatch) or a
// console logger (for people), at the given level.
func NewLogger(format string, level zapcore.Level) (*zap.Logger, error) {
	var cfg zap.Config
	switch format {
	case "json", "":
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.TimeKey = "time"
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
	default:
		return nil, fmt.Errorf("log format %q: must be json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(level)
	// Sampling would drop per-conversation warnings under load; keep them all.
	cfg.Sampling = nil
	return cfg.Build()
}

// TemporalLogger adapts l to the Temporal SDK's logger interface.
func TemporalLogger(l *zap.Logger) temporallog.Logger {
	return temporallog.NewStructuredLogger(slog.New(zapslog.NewHandler(l.Core())))
}

// Metrics is a Prometheus registry fed by the Temporal SDK's metrics.
type Metrics struct {
	registry *prometheus.Registry
	handler  client.MetricsHandler
}

// NewMetrics registers Go runtime and process collectors and the SDK's
// metrics (worker task slots, activity latencies, our own counters) in a new
// registry. Metric errors are logged, never fatal.
func NewMetrics(logger *zap.Logger) (*Metrics, error) {
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
	return &Metrics{registry: registry, handler: handler}, nil
}

// Handler is the metrics handler to pass to client.Options.MetricsHandler.
func (m *Metrics) Handler() client.MetricsHandler { return m.handler }

// HTTPHandler serves the registry in the Prometheus text format.
func (m *Metrics) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
