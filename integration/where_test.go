package integration

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/devstack"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// TestConversationsWhereNamesTheWorkflowsThatHandledIt runs conversations
// through the pipeline and asks the starter, for each, which workflows
// handled it: every batch it names had the conversation in its input, and
// the fetch it names is the scheduler's activity that stored it.
func TestConversationsWhereNamesTheWorkflowsThatHandledIt(t *testing.T) {
	ctx := context.Background()
	report, err := devstack.Drive(ctx, stack.Endpoints, devstack.DriveOptions{Conversations: 6, EventsPerDelivery: 4})
	require.NoError(t, err)
	require.Empty(t, report.Missing)
	temporal := temporalClient(t)
	inputs := map[string][]string{}
	for _, id := range report.WorkflowIDs {
		inputs[id] = batchConversations(ctx, t, temporal, id)
	}

	for id := range report.Items {
		var got struct {
			Status    string   `json:"status"`
			BatchIDs  []string `json:"batchIds"`
			Workflows []struct {
				Role        string             `json:"role"`
				WorkflowID  string             `json:"workflowId"`
				RunID       string             `json:"runId"`
				ActivityID  string             `json:"activityId"`
				Type        string             `json:"type"`
				Status      string             `json:"status"`
				BatchRecord *store.BatchRecord `json:"batchRecord"`
			} `json:"workflows"`
		}
		require.NoError(t, json.Unmarshal([]byte(starterCLI(t, "conversations", "where", "--json", id)), &got))
		assert.Equal(t, store.StatusComplete, got.Status)
		require.NotEmpty(t, got.BatchIDs, id)
		var fetches int
		for _, w := range got.Workflows {
			switch w.Role {
			case "batch":
				require.Contains(t, inputs, w.WorkflowID, "%s names a batch of this run", id)
				assert.Contains(t, inputs[w.WorkflowID], id, "the batch %s had %s in its input", w.WorkflowID, id)
				assert.Equal(t, workflows.IngestWorkflowName, w.Type)
				assert.Equal(t, "Completed", w.Status)
				if assert.NotNil(t, w.BatchRecord, "the finished batch's audit record") {
					assert.Equal(t, w.WorkflowID, w.BatchRecord.BatchID)
				}
			case "fetch":
				fetches++
				assert.Equal(t, workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue), w.WorkflowID)
				assert.Equal(t, workflows.FetchSchedulerWorkflowName, w.Type)
				assert.NotEmpty(t, w.RunID)
				assert.NotEmpty(t, w.ActivityID)
				assert.Contains(t, []string{"Running", "Completed", "ContinuedAsNew"}, w.Status)
			default:
				t.Errorf("%s: unknown role %q", id, w.Role)
			}
		}
		assert.Equal(t, 1, fetches, "%s: the fetch that stored it", id)
	}

	// The table an operator reads.
	var one string
	for id := range report.Items {
		one = id
		break
	}
	text := starterCLI(t, "conversations", "where", one)
	t.Logf("starter conversations where %s:\n%s", one, text)
	assert.Contains(t, text, "conversation "+one+": stored complete")
	assert.Contains(t, text, "fetched and stored the record in activity")
	assert.Contains(t, text, "asked for it; finished")
}

// batchConversations are the conversation ids of a batch's input.
func batchConversations(ctx context.Context, t *testing.T, temporal client.Client, workflowID string) []string {
	t.Helper()
	events := temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, events.HasNext())
	first, err := events.Next()
	require.NoError(t, err)
	var in workflows.IngestInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(
		first.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in))
	var ids []string
	for _, c := range in.Conversations {
		if !slices.Contains(ids, c.ID) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}
