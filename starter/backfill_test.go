package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackfillFlagsTakeTimesAndWholeDays(t *testing.T) {
	c, err := parseBackfill("backfill", []string{"--from", "2026-11-20", "--to", "2026-11-29", "--org", "o"})
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), c.from.t)
	assert.Equal(t, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), c.to.t, "a --to date includes that whole day")
	assert.True(t, c.fix)
	assert.Equal(t, "o", c.org)

	c, err = parseBackfill("reconcile", []string{"--from", "2026-11-20T10:00:00+02:00", "--to", "2026-11-20T12:00:00Z", "--fix"})
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), c.from.t)
	assert.Equal(t, time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), c.to.t)
	assert.True(t, c.fix)
	assert.True(t, c.wait, "reconcile always waits for its report")
}

func TestBackfillFlagsAreValidated(t *testing.T) {
	for name, args := range map[string][]string{
		"no interval":    {},
		"no to":          {"--from", "2026-11-20"},
		"backwards":      {"--from", "2026-11-20", "--to", "2026-11-19"},
		"not a time":     {"--from", "yesterday", "--to", "2026-11-19"},
		"too long":       {"--from", "2025-01-01", "--to", "2026-11-19"},
		"stray argument": {"--from", "2026-11-20", "--to", "2026-11-21", "extra"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseBackfill("backfill", args)
			var exit *exitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, 2, exit.code)
		})
	}
}

func TestStatusNeedsOneWorkflowID(t *testing.T) {
	_, _, code := runCLI(t, "", "status")
	assert.Equal(t, 2, code)
}
