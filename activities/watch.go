package activities

import (
	"context"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// TemporalClient is the part of client.Client the watchdog uses.
type TemporalClient interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...interface{}) (converter.EncodedValue, error)
}

// failingTaskAttempts: a workflow task on its third attempt has failed
// twice, which a deploy or a panic does, not a passing fault.
const failingTaskAttempts = 3

// SchedulerWatch tells a batch whether the fetch scheduler it waits for is
// making progress. A scheduler whose workflow task keeps failing (a
// non-deterministic deploy, a panic) still takes signals, so the batches'
// pings would never notice; nor would the backlog alarm, as nothing is
// queued on the task queues.
type SchedulerWatch struct {
	Temporal TemporalClient
}

// CheckFetchScheduler describes the scheduler and asks for its progress.
func (s *SchedulerWatch) CheckFetchScheduler(ctx context.Context, req workflows.SchedulerCheckRequest) (workflows.SchedulerCheck, error) {
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, req.SchedulerID, "")
	if err != nil {
		// Not running (or not reachable): the batch's ping starts it again.
		return workflows.SchedulerCheck{}, nil
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return workflows.SchedulerCheck{}, nil
	}
	check := workflows.SchedulerCheck{Running: true, HistoryLength: info.GetHistoryLength()}
	if wt := desc.GetPendingWorkflowTask(); wt != nil && wt.GetAttempt() >= failingTaskAttempts {
		check.Stuck = fmt.Sprintf("its workflow task has failed %d times in a row (a non-deterministic deploy or a panic: see the worker's logs)", wt.GetAttempt()-1)
		return s.report(ctx, req, check), nil
	}
	value, err := s.Temporal.QueryWorkflow(ctx, req.SchedulerID, "", workflows.ProgressQuery)
	if err != nil {
		check.Stuck = "it does not answer the progress query: " + err.Error()
		return s.report(ctx, req, check), nil
	}
	var p workflows.SchedulerProgress
	if err := value.Get(&p); err != nil {
		return check, fmt.Errorf("decode the scheduler's progress: %w", err)
	}
	check.Queued, check.InFlight = p.Queued, p.InFlight
	if p.Queued > 0 && p.InFlight == 0 && len(desc.GetPendingActivities()) == 0 {
		check.Stuck = fmt.Sprintf("%d conversations are queued and no fetch is scheduled", p.Queued)
	}
	return s.report(ctx, req, check), nil
}

// report logs and counts a stuck scheduler; the deployment alarms on both.
func (s *SchedulerWatch) report(ctx context.Context, req workflows.SchedulerCheckRequest, check workflows.SchedulerCheck) workflows.SchedulerCheck {
	if check.Stuck != "" {
		activity.GetMetricsHandler(ctx).Counter("genesys_ingest_scheduler_stuck").Inc(1)
		activity.GetLogger(ctx).Error("fetch scheduler stuck", "schedulerId", req.SchedulerID, "batch", req.BatchID, "reason", check.Stuck)
	}
	return check
}
