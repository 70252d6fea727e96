package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// handledBy names the workflows behind the record of req.Conversations[i],
// which the item keeps for `starter conversations where`: the batches that
// asked for it (the scheduler names them in the request) and this fetch
// activity of the scheduler's run.
func handledBy(ctx context.Context, req workflows.FetchRequest, i int) ([]string, *store.FetchRef) {
	var batches []string
	if i < len(req.RequestedBy) {
		for _, j := range req.RequestedBy[i] {
			if j >= 0 && j < len(req.Requesters) {
				batches = append(batches, req.Requesters[j])
			}
		}
	}
	info := activity.GetInfo(ctx)
	return batches, &store.FetchRef{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, ActivityID: info.ActivityID}
}

// batchOf is the workflow an activity runs for: the batch, for the
// activities a batch schedules.
func batchOf(ctx context.Context) string {
	return activity.GetInfo(ctx).WorkflowExecution.ID
}
