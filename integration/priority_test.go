package integration

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// TestTaskPriorityDispatchesLiveFetchesFirst shows the mechanism the
// backfill lane relies on, on the stack's real dev server: on a
// rate-limited task queue with a backlog, tasks at the backfill's priority
// key (5) that were queued first wait while tasks at the default key (3),
// queued later, are dispatched. (Without matching.useNewMatcher, which the
// local stack sets, the server ignores priority: the later tasks ran last.)
func TestTaskPriorityDispatchesLiveFetchesFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := temporalClient(t)
	queue := "priority-test-" + time.Now().Format("150405.000")
	const backfill, live = 20, 5

	var mu sync.Mutex
	var order []int
	record := func(_ context.Context, key int) error {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, key)
		return nil
	}
	enqueue := func(ctx workflow.Context) error {
		var futures []workflow.Future
		schedule := func(key, n int) {
			for range n {
				actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
					TaskQueue: queue + "-fetch", StartToCloseTimeout: time.Minute,
					Priority: temporal.Priority{PriorityKey: key},
				})
				futures = append(futures, workflow.ExecuteActivity(actx, "record", key))
			}
		}
		schedule(workflows.BackfillPriorityKey, backfill)
		// Let the backfill's tasks reach the queue's backlog first.
		if err := workflow.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		schedule(0, live) // unset: the default key, 3, as live fetches have
		for _, f := range futures {
			if err := f.Get(ctx, nil); err != nil {
				return err
			}
		}
		return nil
	}

	ww := worker.New(c, queue, worker.Options{})
	ww.RegisterWorkflowWithOptions(enqueue, workflow.RegisterOptions{Name: "enqueue"})
	require.NoError(t, ww.Start())
	defer ww.Stop()
	// Rate-limited like the Genesys queue, so that tasks wait in a backlog.
	aw := worker.New(c, queue+"-fetch", worker.Options{TaskQueueActivitiesPerSecond: 2, MaxConcurrentActivityTaskPollers: 2})
	aw.RegisterActivityWithOptions(record, activity.RegisterOptions{Name: "record"})
	require.NoError(t, aw.Start())
	defer aw.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "enqueue")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, order, backfill+live)
	lastLive := 0
	for i, key := range order {
		if key == 0 {
			lastLive = i
		}
	}
	backfillBefore := slices.Index(order, 0) // backfill tasks dispatched before the live ones came
	t.Logf("dispatch order (5 = backfill, 0 = default): %v", order)
	// Every live task runs within the few dispatches after it arrived, ahead
	// of the backfill tasks still waiting.
	require.Less(t, lastLive, backfillBefore+live+2, "live tasks were not dispatched ahead of the backfill's backlog: %v", order)
}
