// Package sweep keeps the scheduled sweep: a Temporal Schedule that runs a
// Backfill with Fix over a trailing window, so that conversations stored
// incomplete or failed are retried and those whose events never arrived are
// found, without waiting for an operator. `make up` and `starter sweep
// schedule` create it; its runs show on the Web UI's Schedules page.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// ScheduleID is the sweep's schedule, and the prefix of its workflows' ids.
const ScheduleID = "genesys-ingest-sweep"

// Defaults: every hour over the last two days. Two days cover a
// conversation whose events were lost and one stored incomplete at
// READY_TIMEOUT (2 h) many times over, at the price of one details query
// per 100 conversations of those days an hour.
const (
	DefaultEvery  = time.Hour
	DefaultWindow = 48 * time.Hour
)

// Settings of the sweep.
type Settings struct {
	Every  time.Duration
	Window time.Duration
	// OrgID is stored with the conversations it ingests.
	OrgID string
	// TaskQueue runs the workflows; Options are the batches'.
	TaskQueue string
	Options   workflows.Options
}

// Validate names every problem.
func (s Settings) Validate() error {
	var errs []error
	if s.Every < time.Minute {
		errs = append(errs, fmt.Errorf("every %s: must be at least 1m", s.Every))
	}
	if s.Window < time.Hour || s.Window > workflows.MaxBackfillDays*24*time.Hour {
		errs = append(errs, fmt.Errorf("window %s: must be between 1h and %d days", s.Window, workflows.MaxBackfillDays))
	}
	if s.TaskQueue == "" {
		errs = append(errs, errors.New("a task queue is required"))
	}
	return errors.Join(errs...)
}

func (s Settings) action() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:            ScheduleID,
		Workflow:      workflows.BackfillWorkflowName,
		Args:          []any{workflows.BackfillInput{Trailing: s.Window, OrgID: s.OrgID, Fix: true, Options: s.Options}},
		TaskQueue:     s.TaskQueue,
		StaticSummary: fmt.Sprintf("Sweep of the last %s: retry incomplete and failed, find what never arrived", s.Window),
	}
}

func (s Settings) spec() client.ScheduleSpec {
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.Every}}}
}

// Ensure creates the schedule, or updates it to s; it reports which.
func Ensure(ctx context.Context, c client.Client, s Settings) (created bool, err error) {
	if err := s.Validate(); err != nil {
		return false, fmt.Errorf("sweep: %w", err)
	}
	_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     ScheduleID,
		Spec:   s.spec(),
		Action: s.action(),
		// A sweep still running when the next is due is enough.
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    "created by genesys-ingest",
	})
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return false, fmt.Errorf("create schedule %s: %w", ScheduleID, err)
	}
	err = c.ScheduleClient().GetHandle(ctx, ScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			spec := s.spec()
			sched.Spec = &spec
			sched.Action = s.action()
			sched.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		},
	})
	if err != nil {
		return false, fmt.Errorf("update schedule %s: %w", ScheduleID, err)
	}
	return false, nil
}

// Remove deletes the schedule; a missing one is not an error.
func Remove(ctx context.Context, c client.Client) error {
	err := c.ScheduleClient().GetHandle(ctx, ScheduleID).Delete(ctx)
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("delete schedule %s: %w", ScheduleID, err)
	}
	return nil
}
