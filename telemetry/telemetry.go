// Package telemetry builds the logger the worker, the forwarder and the
// starter share: zap for logs, also behind the Temporal SDK's logger
// interface. Metrics are in telemetry/metrics, which only the worker imports,
// so the forwarder Lambda links no Prometheus or OpenTelemetry code.
package telemetry

import (
	"fmt"
	"log/slog"

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
