package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
)

type fakeHandling map[string]store.Handling

func (f fakeHandling) Name() string { return "conversations-test" }

func (f fakeHandling) Handling(_ context.Context, id string) (store.Handling, bool, error) {
	h, ok := f[id]
	return h, ok, nil
}

type fakeBatches map[string]store.BatchRecord

func (f fakeBatches) Get(_ context.Context, id string) (store.BatchRecord, bool, error) {
	r, ok := f[id]
	return r, ok, nil
}

// fakeDescriber knows the workflows of its map, by id; a run id must match.
type fakeDescriber map[string]*workflowpb.WorkflowExecutionInfo

func (f fakeDescriber) DescribeWorkflowExecution(_ context.Context, id, run string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	info, ok := f[id]
	if !ok || run != "" && run != info.GetExecution().GetRunId() {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}, nil
}

func execution(id, run, typ string, status enumspb.WorkflowExecutionStatus, parent string) *workflowpb.WorkflowExecutionInfo {
	info := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: run},
		Type: &commonpb.WorkflowType{Name: typ}, Status: status}
	if parent != "" {
		info.ParentExecution = &commonpb.WorkflowExecution{WorkflowId: parent}
	}
	return info
}

const whereID = "5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e10"

func TestWhereNamesTheBatchesAndTheFetch(t *testing.T) {
	table := fakeHandling{whereID: {ConversationID: whereID, Status: store.StatusComplete, FetchedAt: "2026-12-01T18:11:20.123Z",
		BatchIDs:  []string{"genesys-ingest-old", "genesys-ingest-backfill-x-batch-1"},
		FetchedBy: &store.FetchRef{WorkflowID: "genesys-fetch-scheduler-q", RunID: "run-7", ActivityID: "17"}}}
	batches := fakeBatches{"genesys-ingest-backfill-x-batch-1": {BatchID: "genesys-ingest-backfill-x-batch-1",
		FinishedAt: "2026-12-01T18:11:31.000Z", Received: 90, StoredComplete: 24}}
	temporal := fakeDescriber{
		"genesys-ingest-backfill-x-batch-1": execution("genesys-ingest-backfill-x-batch-1", "run-b", "IngestConversations",
			enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, "genesys-ingest-backfill-x"),
		"genesys-fetch-scheduler-q": execution("genesys-fetch-scheduler-q", "run-7", "FetchScheduler",
			enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, "genesys-ingest-old"),
	}
	report, err := locate(context.Background(), whereID, table, batches, temporal)
	require.NoError(t, err)
	assert.Equal(t, []HandlingWorkflow{
		{Role: roleBatch, WorkflowID: "genesys-ingest-old", Status: statusGone},
		{Role: roleBatch, WorkflowID: "genesys-ingest-backfill-x-batch-1", RunID: "run-b", Type: "IngestConversations",
			Status: "Completed", Parent: "genesys-ingest-backfill-x", Batch: &store.BatchRecord{BatchID: "genesys-ingest-backfill-x-batch-1",
				FinishedAt: "2026-12-01T18:11:31.000Z", Received: 90, StoredComplete: 24}},
		{Role: roleFetch, WorkflowID: "genesys-fetch-scheduler-q", RunID: "run-7", ActivityID: "17", Type: "FetchScheduler",
			Status: "ContinuedAsNew", Parent: "genesys-ingest-old"},
	}, report.Workflows)

	var out bytes.Buffer
	require.NoError(t, printWhere(&out, report))
	text := out.String()
	assert.Contains(t, text, "conversation "+whereID+": stored complete, fetched at 2026-12-01T18:11:20.123Z")
	assert.Regexp(t, `batch +genesys-ingest-old +- +- +Gone +asked for it \(Temporal no longer has it`, text)
	assert.Regexp(t, `batch +genesys-ingest-backfill-x-batch-1 +run-b +IngestConversations +Completed +asked for it; finished `+
		`2026-12-01T18:11:31.000Z: 90 received, 24 stored complete, 0 failed; started by genesys-ingest-backfill-x`, text)
	assert.Regexp(t, `fetch +genesys-fetch-scheduler-q +run-7 +FetchScheduler +ContinuedAsNew +fetched and stored the record in activity 17\n`, text)
}

func TestWhereSaysWhatAnItemWithoutNamesMeans(t *testing.T) {
	table := fakeHandling{whereID: {ConversationID: whereID, Status: store.StatusFailed, FailedAt: "2026-12-01T20:00:00.000Z",
		FailureReason: "not found in Genesys analytics within READY_TIMEOUT (2h0m0s)"}}
	report, err := locate(context.Background(), whereID, table, fakeBatches{}, fakeDescriber{})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, printWhere(&out, report))
	assert.Equal(t, "conversation "+whereID+": failed at 2026-12-01T20:00:00.000Z (not found in Genesys analytics within READY_TIMEOUT (2h0m0s))\n"+
		"the item was written before items named the workflows that handled them: nothing to name\n", out.String())

	_, err = locate(context.Background(), "a3b9e2f1-6c4d-4e8a-b7f0-1c2d3e4f5a60", table, fakeBatches{}, fakeDescriber{})
	require.ErrorIs(t, err, errNotStored)
	assert.Contains(t, err.Error(), "a batch may still be waiting for Genesys")
}

func TestWhereRefusesWhatIsNotAConversationID(t *testing.T) {
	err := run(context.Background(), []string{"conversations", "where", "not-a-uuid"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	var exit *exitError
	require.True(t, errors.As(err, &exit))
	assert.Equal(t, 2, exit.code)
}

func TestStatusName(t *testing.T) {
	assert.Equal(t, "Completed", statusName("WORKFLOW_EXECUTION_STATUS_COMPLETED"))
	assert.Equal(t, "ContinuedAsNew", statusName("WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW"))
	assert.Equal(t, "TimedOut", statusName("WORKFLOW_EXECUTION_STATUS_TIMED_OUT"))
	assert.Equal(t, "odd", statusName("odd"))
}
