package telemetry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

func TestNewLogger(t *testing.T) {
	for _, format := range []string{"json", "console", ""} {
		l, err := NewLogger(format, zapcore.WarnLevel)
		require.NoError(t, err, format)
		assert.False(t, l.Core().Enabled(zapcore.InfoLevel), format)
		assert.True(t, l.Core().Enabled(zapcore.WarnLevel), format)
		assert.NotNil(t, TemporalLogger(l))
	}
	_, err := NewLogger("xml", zapcore.InfoLevel)
	assert.ErrorContains(t, err, `log format "xml"`)
}
