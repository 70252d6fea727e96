package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPlainFormPrintsALineEveryIntervalWithRateAndETA(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b := New(&out, "backfill", "conversations", 1000)
	b.now = func() time.Time { return clock }
	b.started = clock

	clock = clock.Add(10 * time.Second)
	b.Set(100, 1000)
	clock = clock.Add(time.Second)
	b.Set(110, 1000) // within the interval: nothing
	clock = clock.Add(9 * time.Second)
	b.Set(200, 1200) // the total grew
	b.Finish()

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Equal(t, []string{
		"backfill: 100/1000 conversations, 10/s, ETA 1m30s",
		"backfill: 200/1200 conversations, 10/s, ETA 1m40s",
		"backfill: 200/1200 conversations, 10/s, ETA 1m40s",
	}, lines)
}
