package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistory replays a history recorded from a real run on
// the local stack (12 conversations, three readiness polls with timers). A
// change to the workflow that would break running executions fails here.
// Record a new one with:
//
//	temporal workflow show -w WORKFLOW_ID -o json > workflows/testdata/ingest-history.json
func TestReplayRecordedHistory(t *testing.T) {
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(IngestConversations, workflow.RegisterOptions{Name: IngestWorkflowName})
	require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/ingest-history.json"))
}
