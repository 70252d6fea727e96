package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
)

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	var exit *exitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &exit):
		code = exit.code
	default:
		code = 1
	}
	return out.String(), errOut.String(), code
}

func TestExtractPrintsValidIDsInOrderAndRejectionsToStderr(t *testing.T) {
	stdout, stderr, code := runCLI(t, "", "events", "extract", filepath.Join(fixtures.Dir(t), "events", "sqs-batch.json"))
	assert.Zero(t, code)
	assert.Equal(t, "5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e10\na3b9e2f1-6c4d-4e8a-b7f0-1c2d3e4f5a60\n", stdout)
	assert.Contains(t, stderr, "rejected record 3 (message m-0004): record is not an EventBridge event")
	assert.Contains(t, stderr, "rejected record 4 (message m-0005): conversation id")
}

func TestExtractReadsStdin(t *testing.T) {
	stdout, _, code := runCLI(t, string(fixtures.Read(t, "events/queue-conversations.json")), "events", "extract", "-")
	assert.Zero(t, code)
	assert.Equal(t, "a3b9e2f1-6c4d-4e8a-b7f0-1c2d3e4f5a60\n", stdout)
}

func TestExtractExitsTwoOnInputThatIsNotJSON(t *testing.T) {
	stdout, _, code := runCLI(t, "{not json", "events", "extract")
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout)
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	_, _, code := runCLI(t, "", "events", "explode")
	assert.Equal(t, 2, code)
}

func TestGetRejectsAnIDThatIsNotAUUID(t *testing.T) {
	_, _, code := runCLI(t, "", "conversations", "get", "'; DROP TABLE x;--")
	require.Equal(t, 2, code)
}
