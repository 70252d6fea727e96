package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// TestStoredRecordNamesTheWorkflowsBehindIt: the item records the batches
// the scheduler names for each conversation and this fetch (the test
// environment's workflow), for `starter conversations where`.
func TestStoredRecordNamesTheWorkflowsBehindIt(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	st := &fakeStore{}
	_, err := execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{OrgID: org,
		Conversations: []workflows.ConversationRef{{ID: absentID}, {ID: completeID}},
		Requesters:    []string{"batch-a", "batch-b"}, RequestedBy: [][]int{{0}, {1, 0}}})
	require.NoError(t, err)
	require.Len(t, st.written, 1)
	assert.Equal(t, []string{"batch-b", "batch-a"}, st.written[0].BatchIDs)
	require.NotNil(t, st.written[0].FetchedBy)
	assert.Equal(t, "default-test-workflow-id", st.written[0].FetchedBy.WorkflowID)
	assert.Equal(t, "default-test-run-id", st.written[0].FetchedBy.RunID)
	assert.NotEmpty(t, st.written[0].FetchedBy.ActivityID)

	// A request scheduled before the scheduler named its requesters.
	st = &fakeStore{}
	_, err = execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	require.Len(t, st.written, 1)
	assert.Empty(t, st.written[0].BatchIDs)
	assert.NotNil(t, st.written[0].FetchedBy)
}

type capturedFailures struct{ got []store.Failure }

func (c *capturedFailures) RecordFailures(_ context.Context, f []store.Failure) ([]store.FailureOutcome, error) {
	c.got = f
	return make([]store.FailureOutcome, len(f)), nil
}

func TestAFailedItemNamesTheBatchThatGaveUp(t *testing.T) {
	c := &capturedFailures{}
	r := &Recorder{Conversations: c}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(r.RecordFailedConversations)
	_, err := env.ExecuteActivity(r.RecordFailedConversations, workflows.RecordFailuresRequest{Failures: []workflows.ConversationFailure{
		{Failure: workflows.Failure{ConversationID: absentID, Reason: "not found"}}}})
	require.NoError(t, err)
	require.Len(t, c.got, 1)
	assert.Equal(t, "default-test-workflow-id", c.got[0].BatchID)
}
