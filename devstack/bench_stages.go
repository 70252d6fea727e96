package devstack

// Where a steady-load run's freshness goes: the fetch scheduler's history
// says when each conversation was submitted to it, when the chunk that
// fetched it was scheduled on the rate-limited queue, started and
// finished; with the driver's own times (arrival in the queue, forwarder
// invocation) and the item's updatedAt, each conversation's freshness
// splits into stages.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// schedTrace is what the scheduler's history tells of each conversation:
// the first submission that named it and the first chunk that fetched it.
type schedTrace struct {
	submitted map[string]time.Time
	scheduled map[string]time.Time
	started   map[string]time.Time
	completed map[string]time.Time
	// chunkSize is the size of the chunk that first fetched each one.
	chunkSize map[string]int
	// chunks are the sizes of the fetch chunks scheduled since the run
	// began; partial counts those below FETCH_BATCH_SIZE.
	chunks  []int
	partial int
}

// schedulerTrace reads every run of the scheduler, newest first, following
// continue-as-new back until a run that started before since. A chunk of
// fewer than fetchBatchSize ids counts as partial.
func schedulerTrace(ctx context.Context, temporal client.Client, id string, since time.Time, fetchBatchSize int) (*schedTrace, error) {
	t := &schedTrace{submitted: map[string]time.Time{}, scheduled: map[string]time.Time{},
		started: map[string]time.Time{}, completed: map[string]time.Time{}, chunkSize: map[string]int{}}
	dc := converter.GetDefaultDataConverter()
	first := func(m map[string]time.Time, key string, at time.Time) {
		if old, ok := m[key]; !ok || at.Before(old) {
			m[key] = at
		}
	}
	runID := ""
	for {
		var (
			previous  string
			runStart  time.Time
			chunkIDs  = map[int64][]string{}
			nextEvent = true
		)
		iter := temporal.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			event, err := iter.Next()
			if err != nil {
				return nil, fmt.Errorf("devstack: history of %s: %w", id, err)
			}
			at := event.GetEventTime().AsTime()
			var sub *workflows.FetchSubmission
			switch event.GetEventType() {
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				a := event.GetWorkflowExecutionStartedEventAttributes()
				previous, runStart = a.GetContinuedExecutionRunId(), at
				var in workflows.SchedulerInput
				if nextEvent && dc.FromPayloads(a.GetInput(), &in) == nil && in.First != nil {
					sub = in.First
				}
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				a := event.GetWorkflowExecutionSignaledEventAttributes()
				if a.GetSignalName() == workflows.SubmitFetchesSignal {
					var s workflows.FetchSubmission
					if dc.FromPayloads(a.GetInput(), &s) == nil {
						sub = &s
					}
				}
			case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				a := event.GetActivityTaskScheduledEventAttributes()
				if a.GetActivityType().GetName() != workflows.FetchActivityName {
					continue
				}
				var req workflows.FetchRequest
				if dc.FromPayloads(a.GetInput(), &req) != nil {
					continue
				}
				ids := make([]string, len(req.Conversations))
				for i, c := range req.Conversations {
					ids[i] = c.ID
					if old, ok := t.scheduled[c.ID]; !ok || at.Before(old) {
						t.scheduled[c.ID], t.chunkSize[c.ID] = at, len(req.Conversations)
					}
				}
				chunkIDs[event.GetEventId()] = ids
				if !at.Before(since) {
					t.chunks = append(t.chunks, len(ids))
				}
			case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				for _, c := range chunkIDs[event.GetActivityTaskStartedEventAttributes().GetScheduledEventId()] {
					first(t.started, c, at)
				}
			case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				for _, c := range chunkIDs[event.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] {
					first(t.completed, c, at)
				}
			}
			nextEvent = false
			if sub != nil && !sub.Ping {
				for _, c := range sub.Conversations {
					first(t.submitted, c.ID, at)
				}
			}
		}
		if previous == "" || runStart.Before(since) {
			break
		}
		runID = previous
	}
	for _, n := range t.chunks {
		if n < fetchBatchSize {
			t.partial++
		}
	}
	return t, nil
}

// loadStages splits every stored conversation's freshness into stages,
// and the wait for a chunk by the kind of chunk that fetched it: a full one
// (FETCH_BATCH_SIZE ids, the partial-chunk rule made it wait to fill up) or
// a partial one.
func loadStages(order []string, arrived, invoked map[string]time.Time, items map[string]storedItem, t *schedTrace, fetchBatchSize int) []Stage {
	names := []string{
		"queue → forwarder invoked (batching window)",
		"forwarder → scheduler has it (workflow start, table check, submission signal)",
		"scheduler → chunk scheduled (waiting for a chunk: partial-chunk rule, scheduler task)",
		"chunk scheduled → started (rate limiter, worker slots)",
		"fetch started → item stored (Genesys request, DynamoDB write)",
	}
	type row struct {
		total time.Duration
		parts [5]time.Duration
		full  bool
	}
	var rows []row
	for _, id := range order {
		item, ok := items[id]
		a, i, s, c, st := arrived[id], invoked[id], t.submitted[id], t.scheduled[id], t.started[id]
		if !ok || i.IsZero() || s.IsZero() || c.IsZero() || st.IsZero() {
			continue
		}
		rows = append(rows, row{total: item.updated.Sub(a), full: t.chunkSize[id] >= fetchBatchSize, parts: [5]time.Duration{
			i.Sub(a), s.Sub(i), c.Sub(s), st.Sub(c), item.updated.Sub(st)}})
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(x, y row) int { return cmp.Compare(x.total, y.total) })
	slowestFrom := min(len(rows)-1, int(float64(len(rows))*0.99))
	stage := func(name string, k int, keep func(row) bool) Stage {
		var all []time.Duration
		var sum time.Duration
		var slow int
		for n, r := range rows {
			if !keep(r) {
				continue
			}
			all = append(all, r.parts[k])
			if n >= slowestFrom {
				sum += r.parts[k]
				slow++
			}
		}
		st := Stage{Name: name, Conversations: len(all), P50Ms: percentileMs(all, 0.5), P99Ms: percentileMs(all, 0.99)}
		if slow > 0 {
			st.SlowestMsAv = round3(float64(sum.Microseconds()) / 1000 / float64(slow))
		}
		return st
	}
	every := func(row) bool { return true }
	var stages []Stage
	for k, name := range names {
		stages = append(stages, stage(name, k, every))
	}
	stages = append(stages,
		stage(fmt.Sprintf("  of which fetched in full chunks (%d ids)", fetchBatchSize), 2, func(r row) bool { return r.full }),
		stage("  of which fetched in partial chunks", 2, func(r row) bool { return !r.full }))
	return stages
}
