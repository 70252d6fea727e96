package devstack

// Workflow history analysis for the benchmark: HistoryStats and
// workflowHistories, which reads every workflow's continue-as-new chain
// from Temporal and sums its events, sizes and fetch activity timings.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
)

// HistoryStats are the workflows' histories, every run of each
// continue-as-new chain included.
type HistoryStats struct {
	Workflows          int   `json:"workflows"`
	Runs               int   `json:"runs"`
	Events             int   `json:"events"`
	Bytes              int64 `json:"bytes"`
	MaxEventsPerRun    int   `json:"maxEventsPerRun"`
	MaxBytesPerRun     int64 `json:"maxBytesPerRun"`
	MaxBytesOfOneEvent int   `json:"maxBytesOfOneEvent"`
	// EventsByWorkflowType splits Events between the batches and the
	// scheduler; EventTypes splits them further by event type.
	EventsByWorkflowType map[string]int            `json:"eventsByWorkflowType"`
	EventTypes           map[string]map[string]int `json:"eventTypes"`
	// Fetch activities as the histories tell: how long each waited in the
	// rate-limited queue (scheduled → started) and ran (started → closed;
	// one Genesys request plus the DynamoDB writes of its chunk).
	Activities        int     `json:"activities"`
	ActivityRetries   int     `json:"activityRetries"`
	ActivityWaitP50Ms float64 `json:"activityWaitP50Ms"`
	ActivityWaitP99Ms float64 `json:"activityWaitP99Ms"`
	ActivityRunP50Ms  float64 `json:"activityRunP50Ms"`
	ActivityRunP99Ms  float64 `json:"activityRunP99Ms"`
	ActivityRunMeanMs float64 `json:"activityRunMeanMs"`
}

// workflowHistories reads every workflow's full history, following each
// continue-as-new chain back from its last run, and sums the events and
// their protobuf sizes.
func workflowHistories(ctx context.Context, address string, ids []string) (HistoryStats, error) {
	stats := HistoryStats{Workflows: len(ids), EventsByWorkflowType: map[string]int{}, EventTypes: map[string]map[string]int{}}
	if len(ids) == 0 {
		return stats, nil
	}
	temporal, err := client.DialContext(ctx, client.Options{HostPort: address, Logger: quietLogger{}})
	if err != nil {
		return stats, fmt.Errorf("connect to Temporal: %w", err)
	}
	defer temporal.Close()
	var (
		mu          sync.Mutex
		waits, runs []time.Duration
	)
	group, ctx := errgroup.WithContext(ctx)
	group.SetLimit(8)
	for _, id := range ids {
		group.Go(func() error {
			runID := ""
			for {
				var (
					events, biggest, retries int
					size                     int64
					previous, workflowType   string
					types                    = map[string]int{}
					runWaits, runRuns        []time.Duration
				)
				scheduled, started := map[int64]time.Time{}, map[int64]time.Time{}
				iter := temporal.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
				for iter.HasNext() {
					event, err := iter.Next()
					if err != nil {
						return fmt.Errorf("history of %s: %w", id, err)
					}
					if events == 0 {
						started := event.GetWorkflowExecutionStartedEventAttributes()
						previous = started.GetContinuedExecutionRunId()
						workflowType = started.GetWorkflowType().GetName()
					}
					events++
					types[strings.TrimPrefix(event.GetEventType().String(), "EVENT_TYPE_")]++
					n := proto.Size(event)
					size += int64(n)
					biggest = max(biggest, n)
					at := event.GetEventTime().AsTime()
					closed := int64(0)
					switch event.GetEventType() {
					case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
						scheduled[event.GetEventId()] = at
					case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
						a := event.GetActivityTaskStartedEventAttributes()
						started[a.GetScheduledEventId()] = at
						runWaits = append(runWaits, at.Sub(scheduled[a.GetScheduledEventId()]))
						retries += int(max(a.GetAttempt()-1, 0))
					case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
						closed = event.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
					case enums.EVENT_TYPE_ACTIVITY_TASK_FAILED:
						closed = event.GetActivityTaskFailedEventAttributes().GetScheduledEventId()
					case enums.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
						closed = event.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()
					}
					if t, ok := started[closed]; ok && closed != 0 {
						runRuns = append(runRuns, at.Sub(t))
					}
				}
				mu.Lock()
				waits = append(waits, runWaits...)
				runs = append(runs, runRuns...)
				stats.Activities += len(scheduled)
				stats.ActivityRetries += retries
				stats.Runs++
				stats.Events += events
				stats.EventsByWorkflowType[workflowType] += events
				if stats.EventTypes[workflowType] == nil {
					stats.EventTypes[workflowType] = map[string]int{}
				}
				for t, n := range types {
					stats.EventTypes[workflowType][t] += n
				}
				stats.Bytes += size
				stats.MaxEventsPerRun = max(stats.MaxEventsPerRun, events)
				stats.MaxBytesPerRun = max(stats.MaxBytesPerRun, size)
				stats.MaxBytesOfOneEvent = max(stats.MaxBytesOfOneEvent, biggest)
				mu.Unlock()
				if previous == "" {
					return nil
				}
				runID = previous
			}
		})
	}
	if err := group.Wait(); err != nil {
		return stats, err
	}
	stats.ActivityWaitP50Ms, stats.ActivityWaitP99Ms = percentileMs(waits, 0.50), percentileMs(waits, 0.99)
	stats.ActivityRunP50Ms, stats.ActivityRunP99Ms = percentileMs(runs, 0.50), percentileMs(runs, 0.99)
	if len(runs) > 0 {
		var sum time.Duration
		for _, d := range runs {
			sum += d
		}
		stats.ActivityRunMeanMs = round3(float64(sum.Microseconds()) / 1000 / float64(len(runs)))
	}
	return stats, nil
}
