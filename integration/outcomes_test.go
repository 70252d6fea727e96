package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/devstack"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// starterCLI runs the built starter binary against the test stack, as an
// operator runs it against AWS.
func starterCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := starterOn(t, stack.Endpoints, 2*time.Minute, args...)
	require.NoError(t, err)
	return out
}

// starterOn runs the starter against the stack at e; err carries its
// stderr and exit status.
func starterOn(t *testing.T, e devstack.Endpoints, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	paths, err := devstack.FindPaths()
	require.NoError(t, err)
	emptyTOML := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(emptyTOML, nil, 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(paths.Bin, "starter"), args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"TEMPORAL_ADDRESS=" + e.TemporalAddress, "TEMPORAL_NAMESPACE=default",
		"TEMPORAL_CONFIG_FILE=" + emptyTOML,
		"AWS_ENDPOINT_URL_DYNAMODB=" + e.DynamoDB, "AWS_ENDPOINT_URL_S3=" + e.S3, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"READY_POLL_INTERVAL=1s",
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("starter %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// TestFailedConversationsAreRetriedFromTheTable: conversations recorded
// failed are listed by the CLI, ingested again by `conversations retry`
// through the normal path, and their items become complete; the retry's
// batch record is in the batches table.
func TestFailedConversationsAreRetriedFromTheTable(t *testing.T) {
	ctx := context.Background()
	emitted, err := sim().Emit(ctx, simulator.EmitRequest{Conversations: 3, Shape: "sqs", BatchSize: 1000})
	require.NoError(t, err)
	ids := emitted.ConversationIDs
	catalog, err := sim().Catalog(ctx)
	require.NoError(t, err)
	failures := make([]store.Failure, len(ids))
	for i, id := range ids {
		failures[i] = store.Failure{ConversationID: id, OrgID: catalog.OrgID, Reason: "still failing after FETCH_RETRY_HORIZON (72h0m0s); last error: 503"}
	}
	outcomes, err := table().RecordFailures(ctx, failures)
	require.NoError(t, err)
	assert.Equal(t, []store.FailureOutcome{store.FailureRecorded, store.FailureRecorded, store.FailureRecorded}, outcomes)

	listed := map[string]store.Listed{}
	scanner := bufio.NewScanner(strings.NewReader(starterCLI(t, "conversations", "list", "--status", "failed", "--json")))
	for scanner.Scan() {
		var l store.Listed
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &l))
		listed[l.ConversationID] = l
	}
	for _, id := range ids {
		require.Contains(t, listed, id)
		assert.Contains(t, listed[id].FailureReason, "FETCH_RETRY_HORIZON")
	}

	args := append([]string{"conversations", "retry"}, ids...)
	started := strings.Fields(starterCLI(t, args...))
	require.NotEmpty(t, started)
	workflowID := started[0]
	var summary workflows.Summary
	require.NoError(t, temporalClient(t).GetWorkflow(ctx, workflowID, "").Get(ctx, &summary))
	assert.Equal(t, 3, summary.StoredComplete)

	for _, id := range ids {
		rec, found, err := table().GetRecord(ctx, id)
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, store.StatusComplete, rec.Status, "a record replaces the failure")
		truth, err := sim().GroundTruth(ctx, id)
		require.NoError(t, err)
		assert.Empty(t, devstack.RecordMismatches(ctx, table(), rec, truth, catalog.OrgID), id)
	}
	assert.NotContains(t, starterCLI(t, "conversations", "list", "--status", "failed"), ids[0])

	var batch store.BatchRecord
	scanner = bufio.NewScanner(strings.NewReader(starterCLI(t, "batches", "list", "--json", "--since", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))))
	for scanner.Scan() {
		var b store.BatchRecord
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &b))
		if b.BatchID == workflowID {
			batch = b
		}
	}
	require.Equal(t, workflowID, batch.BatchID, "the retry's batch record is written when it finishes")
	assert.Equal(t, 3, batch.Received)
	assert.Equal(t, 3, batch.StoredComplete)
	assert.NotEmpty(t, batch.LastStoredAt)
}
