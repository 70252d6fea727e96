package integration

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/devstack"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

func table() *store.Table {
	return store.NewTable(devstack.LocalDynamoDB(stack.Endpoints.DynamoDB), store.Config{Objects: devstack.LocalS3(stack.Endpoints.S3)})
}

func sim() *simulator.Client { return simulator.NewClient(stack.Endpoints.Simulator) }

func invoke(t *testing.T, payload []byte) events.SQSEventResponse {
	t.Helper()
	out, err := devstack.InvokeForwarder(context.Background(), stack.Endpoints, payload)
	require.NoError(t, err)
	return out
}

func temporalClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: stack.Endpoints.TemporalAddress})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// TestEndToEndStoresEveryConversationAsGenerated runs SQS batches with
// poison records through the real bootstrap and compares every stored item,
// field by field, with what the simulator generated.
func TestEndToEndStoresEveryConversationAsGenerated(t *testing.T) {
	ctx := context.Background()
	report, err := devstack.Drive(ctx, stack.Endpoints, devstack.DriveOptions{
		Conversations: 60, EventsPerDelivery: 40, Poison: true,
	})
	require.NoError(t, err)

	assert.Zero(t, report.BatchItemFailures, "poison records are acknowledged, never handed back to SQS")
	assert.Equal(t, 2*report.Deliveries, report.RejectedRecords, "one non-JSON body and one bad id per batch")
	assert.Empty(t, report.Missing)
	assert.Zero(t, report.Failed)
	assert.Equal(t, 60, report.StoredComplete)
	// Readiness lag was met: the simulator answered ids as absent and the
	// workflows came back for them.
	assert.Positive(t, report.Counters.NotFound, "the simulator hid conversations right after their events")
	submissions := 0
	for _, s := range report.Summaries {
		submissions += s.Submissions
	}
	assert.Greater(t, submissions, report.Workflows, "workflows submitted again the conversations that were not ready")

	catalog, err := sim().Catalog(ctx)
	require.NoError(t, err)
	tbl := table()
	for id := range report.Items {
		truth, err := sim().GroundTruth(ctx, id)
		require.NoError(t, err)
		rec, found, err := tbl.GetRecord(ctx, id)
		require.NoError(t, err)
		require.True(t, found, id)
		assert.Empty(t, devstack.RecordMismatches(ctx, tbl, rec, truth, catalog.OrgID), id)
		// Every event of this test reaches the pipeline, and the
		// scheduler keeps its refs for the whole run: each write has one.
		assert.NotEmpty(t, rec.FirstEventAt, id)
		assert.NotEmpty(t, rec.LastEventTopic, id)
	}
}

// TestSharedSQSFixtureIsAcknowledgedWhole sends the shared fixture, with a
// non-JSON record and a bad id, through the bootstrap: nothing comes back
// for retry, and one workflow takes its two valid conversations. The
// simulator does not know them, so the workflow would wait for them until
// READY_TIMEOUT, fetching under the later tests' exact request counts: it
// is ended here.
func TestSharedSQSFixtureIsAcknowledgedWhole(t *testing.T) {
	ctx := context.Background()
	payload := fixtures.Read(t, "events/sqs-batch.json")
	parsed, err := intake.Parse(payload)
	require.NoError(t, err)
	temporal := temporalClient(t)
	t.Cleanup(func() {
		_ = temporal.TerminateWorkflow(ctx, parsed.WorkflowID(), "", "integration test done")
	})

	resp := invoke(t, payload)
	assert.Empty(t, resp.BatchItemFailures)
	require.Len(t, parsed.Conversations, 2)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		value, err := temporal.QueryWorkflow(ctx, parsed.WorkflowID(), "", workflows.ProgressQuery)
		if !assert.NoError(c, err) {
			return
		}
		var p workflows.Progress
		if !assert.NoError(c, value.Get(&p)) {
			return
		}
		assert.Equal(c, 2, p.Summary.Received)
		assert.Zero(c, p.Summary.Failed, "unknown conversations wait for readiness; they do not fail")
		assert.Equal(c, 2, p.Waiting+p.Submitted, "both are with the scheduler or waiting for the next poll")
	}, 30*time.Second, 200*time.Millisecond)
}

// TestDuplicateDeliveryStartsNoSecondWorkflowAndChangesNoItem redelivers a
// finished batch: the forwarder maps it to the same workflow id, Temporal
// refuses a second run, and no item changes.
func TestDuplicateDeliveryStartsNoSecondWorkflowAndChangesNoItem(t *testing.T) {
	ctx := context.Background()
	emitted, err := sim().Emit(ctx, simulator.EmitRequest{Conversations: 5, Shape: "sqs", BatchSize: 1000})
	require.NoError(t, err)
	require.Len(t, emitted.Deliveries, 1)
	delivery := emitted.Deliveries[0]
	parsed, err := intake.Parse(delivery)
	require.NoError(t, err)
	id := parsed.WorkflowID()

	assert.Empty(t, invoke(t, delivery).BatchItemFailures)
	temporal := temporalClient(t)
	var first workflows.Summary
	require.NoError(t, temporal.GetWorkflow(ctx, id, "").Get(ctx, &first))
	assert.Equal(t, 5, first.StoredComplete)
	before := items(t, emitted.ConversationIDs)

	assert.Empty(t, invoke(t, delivery).BatchItemFailures, "a duplicate is acknowledged")
	runs, err := temporal.ListWorkflow(ctx, listRuns(id))
	require.NoError(t, err)
	require.Len(t, runs.Executions, 1, "no second workflow for the same batch")
	assert.Contains(t, runs.Executions[0].GetSearchAttributes().GetIndexedFields(), "GenesysOrgId",
		"the forwarder sets the search attributes the dev server registers")
	assert.Equal(t, before, items(t, emitted.ConversationIDs), "no item changed")
}

// TestBurstOf429sIsAbsorbed lowers the simulator's rate limit far below
// what the worker sends: requests get 429 with Retry-After, the activities
// wait exactly that long, and nothing is lost.
func TestBurstOf429sIsAbsorbed(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, sim().UpdateSettings(ctx, map[string]any{"rateLimitPerMinute": 8}))
	t.Cleanup(func() { _ = sim().UpdateSettings(context.Background(), map[string]any{"rateLimitPerMinute": 300}) })
	// Wait for the current rate-limit window to reset (60 s windows).
	time.Sleep(time.Second)

	report, err := devstack.Drive(ctx, stack.Endpoints, devstack.DriveOptions{Conversations: 24, EventsPerDelivery: 4})
	require.NoError(t, err)
	assert.Positive(t, report.RateLimited, "the simulator answered 429s")
	assert.Empty(t, report.Missing)
	assert.Zero(t, report.Failed)
	assert.Equal(t, 24, report.StoredComplete)
}

// The simulator's readiness lag for every test but the one that turns it off.
const (
	simulatorAbsentFor = "1s"
	simulatorWrapupFor = "3s"
)

// TestConversationsInSeveralBatchesAreFetchedOnce spreads each
// conversation's events over several SQS batches, each with its own
// workflow: the fetch scheduler asks Genesys for every conversation exactly
// once.
func TestConversationsInSeveralBatchesAreFetchedOnce(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, sim().UpdateSettings(ctx, map[string]any{"absentFor": "0s", "wrapupFor": "0s"}))
	t.Cleanup(func() {
		_ = sim().UpdateSettings(context.Background(), map[string]any{"absentFor": simulatorAbsentFor, "wrapupFor": simulatorWrapupFor})
	})
	before, err := sim().Counters(ctx)
	require.NoError(t, err)

	const conversations = 400
	report, err := devstack.Drive(ctx, stack.Endpoints, devstack.DriveOptions{Conversations: conversations, EventsPerDelivery: 150})
	require.NoError(t, err)
	after, err := sim().Counters(ctx)
	require.NoError(t, err)

	require.GreaterOrEqual(t, report.Workflows, 5, "the events were spread over several batches")
	assert.Empty(t, report.Missing)
	assert.Zero(t, report.Failed)
	assert.Equal(t, conversations, report.StoredComplete)
	assert.Equal(t, int64(conversations), after.IDsRequested-before.IDsRequested,
		"each conversation was requested once, though its events were in different batches")
	assert.LessOrEqual(t, report.GenesysRequests, int64(conversations/100+report.Workflows),
		"chunks are full but for at most one per submission")
}

func items(t *testing.T, ids []string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, id := range ids {
		item, found, err := table().Get(context.Background(), id)
		require.NoError(t, err)
		require.True(t, found, id)
		out[id] = item
	}
	return out
}

func listRuns(workflowID string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + workflowID + "'"}
}
