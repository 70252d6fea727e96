package store

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeBatchIDsKeepsTheLatestOnceEach(t *testing.T) {
	assert.Nil(t, MergeBatchIDs(nil, nil))
	assert.Nil(t, MergeBatchIDs(nil, []string{""}), "an unknown batch is no name")
	assert.Equal(t, []string{"a", "b"}, MergeBatchIDs([]string{"a"}, []string{"b", "b"}))
	assert.Equal(t, []string{"b", "a"}, MergeBatchIDs([]string{"a", "b"}, []string{"a"}), "asked again: the latest last")
	assert.Equal(t, []string{"c", "d", "e", "f", "g"}, MergeBatchIDs([]string{"a", "b", "c"}, []string{"d", "e", "f", "g"}),
		"at most MaxBatchIDs, the latest")
	assert.Equal(t, []string{"a"}, MergeBatchIDs([]string{"a"}, []string{strings.Repeat("x", maxWorkflowIDLen+1)}),
		"no id that could crowd the item")
}

// TestItemsNameTheWorkflowsThatHandledThem: failures and records add the
// batches behind them to the item, a replacing record keeps the earlier
// names, a record that changes nothing writes nothing, and the fetch that
// wrote the record is named.
func TestItemsNameTheWorkflowsThatHandledThem(t *testing.T) {
	api, _ := startDynalite(t)
	ctx := context.Background()
	table := NewTable(api, Config{TableName: "handling-" + strconv.FormatInt(time.Now().UnixNano(), 36)})
	require.NoError(t, table.CreateTable(ctx))
	other := "0b7e6a52-3c1d-4f2e-9a8b-7c6d5e4f3a21"

	_, found, err := table.Handling(ctx, other)
	require.NoError(t, err)
	assert.False(t, found)

	_, err = table.RecordFailures(ctx, []Failure{{ConversationID: other, Reason: "not found", BatchID: "batch-a"}})
	require.NoError(t, err)
	h, found, err := table.Handling(ctx, other)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, StatusFailed, h.Status)
	assert.Equal(t, []string{"batch-a"}, h.BatchIDs)
	assert.Nil(t, h.FetchedBy)
	assert.Equal(t, "not found", h.FailureReason)

	run1 := &FetchRef{WorkflowID: "genesys-fetch-scheduler-q", RunID: "run-1", ActivityID: "7"}
	incomplete, err := NewRecord(bytes.ReplaceAll(readFixture(t, notReadyFixture), []byte(fixtureID), []byte(other)), "org-1", fetchedAt)
	require.NoError(t, err)
	incomplete.BatchIDs, incomplete.FetchedBy = []string{"batch-b"}, run1
	assert.Equal(t, Written, upsert(t, table, incomplete))
	h, _, err = table.Handling(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, StatusIncomplete, h.Status)
	assert.Equal(t, []string{"batch-a", "batch-b"}, h.BatchIDs, "the batch that gave up is still named")
	assert.Equal(t, run1, h.FetchedBy)

	run2 := &FetchRef{WorkflowID: "genesys-fetch-scheduler-q", RunID: "run-2", ActivityID: "12"}
	complete := fixtureRecord(t, completeFixture, fetchedAt.Add(time.Minute))
	complete.ConversationID = other
	complete.BatchIDs, complete.FetchedBy = []string{"batch-b", "batch-c"}, run2
	assert.Equal(t, Written, upsert(t, table, complete))
	h, _, err = table.Handling(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, StatusComplete, h.Status)
	assert.Equal(t, []string{"batch-a", "batch-b", "batch-c"}, h.BatchIDs)
	assert.Equal(t, run2, h.FetchedBy, "the fetch of the stored record")
	assert.Equal(t, complete.FetchedAt, h.FetchedAt)

	again := complete
	again.FetchedAt = fetchedAt.Add(2 * time.Minute).Format(TimeFormat)
	again.BatchIDs, again.FetchedBy = []string{"batch-d"}, &FetchRef{WorkflowID: "genesys-fetch-scheduler-q", RunID: "run-3", ActivityID: "3"}
	assert.Equal(t, Unchanged, upsert(t, table, again))
	h, _, err = table.Handling(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, []string{"batch-a", "batch-b", "batch-c"}, h.BatchIDs, "a record that changes nothing writes nothing")
	assert.Equal(t, run2, h.FetchedBy)

	batches := NewBatches(api, "handling-batches-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	require.NoError(t, batches.CreateTable(ctx))
	rec := BatchRecord{BatchID: "batch-c", StartedAt: "2026-11-30T10:00:00.000Z", FinishedAt: "2026-11-30T10:01:00.000Z",
		Received: 3, StoredComplete: 3, Submissions: 1, Runs: 1}
	require.NoError(t, batches.Put(ctx, rec))
	got, found, err := batches.Get(ctx, "batch-c")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, rec, got)
	_, found, err = batches.Get(ctx, "batch-z")
	require.NoError(t, err)
	assert.False(t, found)
}
