package activities

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

type fakeTemporal struct {
	desc     *workflowservice.DescribeWorkflowExecutionResponse
	descErr  error
	progress workflows.SchedulerProgress
	queryErr error
}

func (f *fakeTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return f.desc, f.descErr
}

func (f *fakeTemporal) QueryWorkflow(context.Context, string, string, string, ...interface{}) (converter.EncodedValue, error) {
	if f.queryErr != nil {
		return nil, f.queryErr
	}
	return progressValue(f.progress), nil
}

// progressValue is a query result as the client returns it.
type progressValue workflows.SchedulerProgress

func (progressValue) HasValue() bool { return true }

func (v progressValue) Get(valuePtr interface{}) error {
	p, err := converter.GetDefaultDataConverter().ToPayload(workflows.SchedulerProgress(v))
	if err != nil {
		return err
	}
	return converter.GetDefaultDataConverter().FromPayload(p, valuePtr)
}

func running(taskAttempt int32, pendingActivities int) *workflowservice.DescribeWorkflowExecutionResponse {
	d := &workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: enums.WORKFLOW_EXECUTION_STATUS_RUNNING, HistoryLength: 420},
	}
	if taskAttempt > 0 {
		d.PendingWorkflowTask = &workflowpb.PendingWorkflowTaskInfo{Attempt: taskAttempt}
	}
	for range pendingActivities {
		d.PendingActivities = append(d.PendingActivities, &workflowpb.PendingActivityInfo{})
	}
	return d
}

func checkScheduler(t *testing.T, tc *fakeTemporal) workflows.SchedulerCheck {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	w := &SchedulerWatch{Temporal: tc}
	env.RegisterActivity(w.CheckFetchScheduler)
	val, err := env.ExecuteActivity(w.CheckFetchScheduler, workflows.SchedulerCheckRequest{SchedulerID: "genesys-fetch-scheduler-q", BatchID: "b"})
	require.NoError(t, err)
	var check workflows.SchedulerCheck
	require.NoError(t, val.Get(&check))
	return check
}

func TestCheckFetchScheduler(t *testing.T) {
	t.Run("a failing workflow task is stuck", func(t *testing.T) {
		check := checkScheduler(t, &fakeTemporal{desc: running(4, 0)})
		assert.Contains(t, check.Stuck, "failed 3 times in a row")
	})
	t.Run("a query that fails is stuck", func(t *testing.T) {
		check := checkScheduler(t, &fakeTemporal{desc: running(1, 0), queryErr: errors.New("query timed out")})
		assert.Contains(t, check.Stuck, "query timed out")
	})
	t.Run("a queue nothing dispatches is stuck", func(t *testing.T) {
		check := checkScheduler(t, &fakeTemporal{desc: running(0, 0), progress: workflows.SchedulerProgress{Queued: 250}})
		assert.Equal(t, "250 conversations are queued and no fetch is scheduled", check.Stuck)
	})
	t.Run("fetches in flight are progress, even in a long retry", func(t *testing.T) {
		check := checkScheduler(t, &fakeTemporal{desc: running(0, 10), progress: workflows.SchedulerProgress{Queued: 250, InFlight: 10}})
		assert.Empty(t, check.Stuck)
		assert.Equal(t, workflows.SchedulerCheck{Running: true, HistoryLength: 420, Queued: 250, InFlight: 10}, check)
	})
	t.Run("no scheduler running is for the ping to fix", func(t *testing.T) {
		check := checkScheduler(t, &fakeTemporal{descErr: errors.New("workflow not found")})
		assert.Equal(t, workflows.SchedulerCheck{}, check)
	})
}
