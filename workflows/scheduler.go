package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Bounds on what the scheduler holds. Its queue is carried through
// continue-as-new, so it must stay well inside the 2 MB payload limit
// (about 100 bytes a conversation); batches that find it full are
// waitlisted and asked to submit again when there is room.
const (
	// maxQueued conversations: 44 s of work at the default 450 a second,
	// about 1 MB when carried.
	maxQueued = 20_000
	// schedulerIdleTimeout: a scheduler with nothing to do finishes, so an
	// idle deployment keeps no open workflow and new worker code takes over
	// with the next run. The next submission starts a new one.
	schedulerIdleTimeout = 10 * time.Minute
	// BackfillPriorityKey is the task priority of the backfill lane's
	// activities (fetches and detail queries): the lowest of Temporal's
	// default five levels; live fetches keep the default, 3. Where tasks
	// wait on the rate-limited queue, the server dispatches the smaller key
	// first (the dev server needs matching.useNewMatcher for that).
	BackfillPriorityKey = 5
	// partialChunkInFlight: a chunk smaller than FetchBatchSize goes out only
	// when at most this many are in flight, i.e. when the rate-limited queue
	// is about to run dry; until then, ids that keep coming fill it up.
	partialChunkInFlight = 1
)

// legacyFetchRetry is the retry policy of runs recorded before
// fetchRetryHorizonVersion: 12 attempts, after which a chunk blocked by an
// outage was reported failed.
const fetchMaxAttempts = 12

var legacyFetchRetry = &temporal.RetryPolicy{
	InitialInterval:    2 * time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    2 * time.Minute,
	MaximumAttempts:    fetchMaxAttempts,
	NonRetryableErrorTypes: []string{
		ErrTypeBadRequest, ErrTypeRejected, ErrTypeInvalidRecord,
	},
}

// boundedSchedulerChange is the GetVersion change after which a run expires
// invitations (invitationTTL) and keeps at most maxSignalsInFlight signals
// unanswered.
const (
	boundedSchedulerChange  = "bounded-scheduler"
	boundedSchedulerVersion = 1
	// maxSignalsInFlight is well below the 2,000 pending signals Temporal
	// allows a workflow.
	maxSignalsInFlight = 500
)

// fetchRetryHorizonVersion is the GetVersion change that made systemic
// errors wait out the outage (FetchRetryHorizon) and the fetch activity
// heartbeat, instead of failing a chunk after 12 attempts.
const (
	fetchRetryHorizonChange  = "fetch-retry-horizon"
	fetchRetryHorizonVersion = 1
)

const (
	// fetchAttemptTimeout bounds one attempt. It is long because an attempt
	// keeps its fetched records while DynamoDB is unavailable, retrying the
	// write rather than spending the Genesys budget on a new fetch; the
	// heartbeat, not this, detects a lost worker.
	fetchAttemptTimeout = 30 * time.Minute
	// fetchHeartbeatTimeout: a killed worker's chunk is retried this long
	// after its last heartbeat (the activity heartbeats every few seconds).
	fetchHeartbeatTimeout = 20 * time.Second
)

// fetchActivityOptions are the fetch activity's options for this run.
func (s *scheduler) fetchActivityOptions(ctx workflow.Context, conversations int) workflow.ActivityOptions {
	opts := workflow.ActivityOptions{
		TaskQueue:           s.core.opts.GenesysTaskQueue,
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         legacyFetchRetry,
		Summary:             fmt.Sprintf("fetch and store %d %s", conversations, plural(conversations, "conversation")),
	}
	if workflow.GetVersion(ctx, fetchRetryHorizonChange, workflow.DefaultVersion, fetchRetryHorizonVersion) == workflow.DefaultVersion {
		return opts
	}
	opts.StartToCloseTimeout = fetchAttemptTimeout
	opts.HeartbeatTimeout = fetchHeartbeatTimeout
	// A chunk gives up only when the horizon passes; NextRetryDelay (a
	// 429's Retry-After) overrides the backoff.
	opts.ScheduleToCloseTimeout = s.core.opts.FetchRetryHorizon
	opts.RetryPolicy = &temporal.RetryPolicy{
		InitialInterval:        2 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        s.core.opts.FetchRetryMaxInterval,
		NonRetryableErrorTypes: []string{ErrTypeBadRequest, ErrTypeRejected, ErrTypeInvalidRecord},
	}
	return opts
}

// FetchScheduler owns one OAuth client's Genesys request budget. Every batch
// hands it the conversations it wants fetched (FetchSubmission signals);
// the scheduler merges them into full multi-get requests (FetchBatchSize
// ids), fetches a conversation once however many batches ask for it, keeps
// FetchConcurrency fetch activities scheduled on the rate-limited queue, and
// tells each batch what happened to its conversations (FetchReport signals).
//
// Coalescing is what makes the budget go furthest: one conversation usually
// raises several events (customer.end, acw) that arrive in different
// batches, and a batch's last chunk is rarely full. Readiness stays with the
// batches, which submit again what was not ready.
func FetchScheduler(ctx workflow.Context, in SchedulerInput) error {
	s, err := newScheduler(ctx, in)
	if err != nil {
		return err
	}
	return s.run(ctx)
}

// scheduler is the FetchScheduler workflow's shell around fetchCore: it
// feeds the core what arrived, sends the signals the core returns, schedules
// the chunks it hands out, and handles idling and continue-as-new.
type scheduler struct {
	core   *fetchCore
	logger log.Logger
	// bounded: this run expires invitations and caps the signals it has in
	// flight (boundedSchedulerChange).
	bounded bool
	// outbox holds signals the core asked for beyond maxSignalsInFlight.
	outbox []outgoing
	// expiryTimerArmed: a timer wakes the loop when an invitation expires.
	expiryTimerArmed bool
	// drainingSince is when the run stopped dispatching to continue as new.
	drainingSince time.Time

	selector workflow.Selector
	// arrived is what the selector's callbacks recorded; the loop hands it
	// to the core. Callbacks do nothing else.
	arrived         []arrival
	signalsInFlight int
	// idleSince is when the scheduler last ran out of work; zero while busy.
	idleSince      time.Time
	idleTimerArmed bool
}

// arrival is one thing the selector delivered: a submission, a fetch's
// outcome, or a sent signal's.
type arrival struct {
	submitted *FetchSubmission
	fetched   *fetchChunk
	result    FetchResult
	err       error
	sent      *outgoing
}

func newScheduler(ctx workflow.Context, in SchedulerInput) (*scheduler, error) {
	opts := in.Options.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	s := &scheduler{
		core:     newFetchCore(opts, in.Carry),
		logger:   workflow.GetLogger(ctx),
		selector: workflow.NewSelector(ctx),
	}
	s.bounded = workflow.GetVersion(ctx, boundedSchedulerChange, workflow.DefaultVersion, boundedSchedulerVersion) >= boundedSchedulerVersion
	s.core.bounded = s.bounded
	s.core.advance(workflow.Now(ctx))
	if s.bounded {
		s.core.opts = s.workerSettings(ctx, s.core.opts)
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, s.progress); err != nil {
		return nil, fmt.Errorf("register %s query: %w", ProgressQuery, err)
	}
	if in.First != nil {
		s.send(ctx, s.core.accept(*in.First))
	}
	return s, nil
}

func (s *scheduler) run(ctx workflow.Context) error {
	submissions := workflow.GetSignalChannel(ctx, SubmitFetchesSignal)
	s.selector.AddReceive(submissions, func(c workflow.ReceiveChannel, _ bool) {
		var sub FetchSubmission
		c.Receive(ctx, &sub)
		s.arrived = append(s.arrived, arrival{submitted: &sub})
	})
	for {
		s.takeArrived(ctx)
		s.core.advance(workflow.Now(ctx))
		s.armExpiryTimer(ctx)
		draining := shouldContinueAsNew(ctx)
		if !draining {
			s.dispatch(ctx)
			s.send(ctx, s.core.invitations())
		}
		s.publishDetails(ctx)
		if draining && s.drainingSince.IsZero() {
			s.drainingSince = workflow.Now(ctx)
			if s.bounded && s.core.inFlight > 0 {
				s.selector.AddFuture(workflow.NewTimerWithOptions(ctx, maxDrain, workflow.TimerOptions{
					Summary: fmt.Sprintf("continue as new: wait up to %s for the chunks in flight", maxDrain)}), func(workflow.Future) {})
			}
		}
		if draining && s.drained(ctx) && s.signalsInFlight == 0 && len(s.outbox) == 0 {
			// Take what arrived meanwhile into the carried state; a report
			// that this produces must go out before the run ends.
			var sub FetchSubmission
			for submissions.ReceiveAsync(&sub) {
				s.send(ctx, s.core.accept(sub))
			}
			if s.signalsInFlight == 0 && len(s.outbox) == 0 {
				return s.continueAsNew(ctx)
			}
		}
		if s.idleLongEnough(ctx) {
			var sub FetchSubmission
			if !submissions.ReceiveAsync(&sub) {
				s.logger.Info("fetch scheduler idle; finishing", "idleFor", schedulerIdleTimeout, "stats", s.core.stats)
				return nil
			}
			s.send(ctx, s.core.accept(sub))
			continue
		}
		s.selector.Select(ctx)
	}
}

// workerSettings asks the worker how to spend the budget (FETCH_*): the
// worker that spends it decides, not whichever forwarder started a batch,
// so two forwarder versions during a rollout cannot switch the scheduler
// back and forth. A new worker configuration applies from the next run.
func (s *scheduler) workerSettings(ctx workflow.Context, opts Options) Options {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var f FetchSettings
	if err := workflow.ExecuteLocalActivity(lctx, FetchSettingsActivityName).Get(ctx, &f); err != nil {
		s.logger.Warn("could not read the worker's fetch settings; keeping the batch's", "error", err)
		return opts
	}
	if problems := f.Problems(); len(problems) > 0 {
		s.logger.Warn("the worker's fetch settings are out of range; keeping the batch's", "problems", problems)
		return opts
	}
	return opts.WithFetchSettings(f)
}

// takeArrived hands the core what the selector delivered.
func (s *scheduler) takeArrived(ctx workflow.Context) {
	arrived := s.arrived
	s.arrived = nil
	for _, a := range arrived {
		switch {
		case a.submitted != nil:
			s.send(ctx, s.core.accept(*a.submitted))
		case a.fetched != nil:
			if a.err != nil {
				s.logger.Warn("chunk failed", "conversations", len(a.fetched.entries), "reason", failureReason(a.err, s.core.opts.FetchRetryHorizon))
			}
			s.send(ctx, s.core.complete(*a.fetched, a.result, a.err))
		case a.sent != nil:
			s.signalsInFlight--
			if a.err != nil {
				s.logger.Warn("could not signal batch workflow", "workflowId", a.sent.workflowID, "signal", a.sent.signal, "error", a.err)
				s.core.undelivered(*a.sent)
			}
		}
	}
	s.send(ctx, nil) // what waited in the outbox for room
}

// maxDrain is the longest a run waits for its chunks in flight before it
// continues as new: one in a 429 or outage retry cycle can take minutes, and
// dispatch is paused meanwhile. Chunks still in flight then are carried as
// queued and fetched again by the next run.
const maxDrain = 5 * time.Second

// drained: nothing is in flight, or (bounded runs) the run has waited
// maxDrain for it.
func (s *scheduler) drained(ctx workflow.Context) bool {
	return s.core.inFlight == 0 || s.bounded && !workflow.Now(ctx).Before(s.drainingSince.Add(maxDrain))
}

// armExpiryTimer makes sure the loop wakes when the oldest invitation
// expires, so that a batch that never took its invitation up neither holds
// the waitlist nor keeps the scheduler from finishing when idle.
func (s *scheduler) armExpiryTimer(ctx workflow.Context) {
	at := s.core.nextExpiry()
	if at.IsZero() || s.expiryTimerArmed {
		return
	}
	s.expiryTimerArmed = true
	timer := workflow.NewTimerWithOptions(ctx, max(at.Sub(workflow.Now(ctx)), time.Second), workflow.TimerOptions{
		Summary: "expire the invitation of a waitlisted batch that has not resubmitted"})
	s.selector.AddFuture(timer, func(workflow.Future) { s.expiryTimerArmed = false })
}

// idleLongEnough reports whether the scheduler has had nothing to do for
// schedulerIdleTimeout, and otherwise arms a timer that wakes it then.
func (s *scheduler) idleLongEnough(ctx workflow.Context) bool {
	now := workflow.Now(ctx)
	if !s.core.idle() || s.signalsInFlight > 0 || len(s.outbox) > 0 {
		s.idleSince = time.Time{}
		return false
	}
	if s.idleSince.IsZero() {
		s.idleSince = now
	}
	left := s.idleSince.Add(schedulerIdleTimeout).Sub(now)
	if left <= 0 {
		return true
	}
	if !s.idleTimerArmed {
		s.idleTimerArmed = true
		timer := workflow.NewTimerWithOptions(ctx, left, workflow.TimerOptions{
			Summary: "idle: finish when this fires, unless a batch submits meanwhile"})
		s.selector.AddFuture(timer, func(workflow.Future) { s.idleTimerArmed = false })
	}
	return false
}

// dispatch schedules a fetch activity for every chunk the core hands out.
func (s *scheduler) dispatch(ctx workflow.Context) {
	for {
		ch, ok := s.core.nextChunk()
		if !ok {
			return
		}
		req := ch.request()
		opts := s.fetchActivityOptions(ctx, len(req.Conversations))
		if ch.backfill {
			opts.Priority = temporal.Priority{PriorityKey: BackfillPriorityKey}
			opts.Summary = "backfill: " + opts.Summary
		}
		actx := workflow.WithActivityOptions(ctx, opts)
		future := workflow.ExecuteActivity(actx, FetchActivityName, req)
		s.selector.AddFuture(future, func(f workflow.Future) {
			a := arrival{fetched: &ch}
			a.err = f.Get(ctx, &a.result)
			s.arrived = append(s.arrived, a)
		})
	}
}

// send signals each batch what the core says, in order, keeping at most
// maxSignalsInFlight unanswered: Temporal fails a workflow task that leaves
// more than 2,000 signals to other workflows pending, and a task replayed
// makes the same commands again, so the scheduler would be stuck for good.
// What does not fit waits in the outbox until answers come back.
func (s *scheduler) send(ctx workflow.Context, out []outgoing) {
	if !s.bounded {
		s.signal(ctx, out)
		return
	}
	s.outbox = append(s.outbox, out...)
	n := min(len(s.outbox), maxSignalsInFlight-s.signalsInFlight)
	if n <= 0 {
		return
	}
	ready := s.outbox[:n]
	s.outbox = slices.Clone(s.outbox[n:])
	s.signal(ctx, ready)
}

func (s *scheduler) signal(ctx workflow.Context, out []outgoing) {
	for _, o := range out {
		s.signalsInFlight++
		future := workflow.SignalExternalWorkflow(ctx, o.workflowID, "", o.signal, o.arg)
		s.selector.AddFuture(future, func(f workflow.Future) {
			s.arrived = append(s.arrived, arrival{sent: &o, err: f.Get(ctx, nil)})
		})
	}
}

// continueAsNew hands the queue and the open submissions to a fresh run.
// The loop stopped dispatching and waited for the chunks in flight, at most
// maxDrain in bounded runs; the conversations of any still in flight are
// queued again.
func (s *scheduler) continueAsNew(ctx workflow.Context) error {
	c := s.core.carry()
	s.logger.Info("fetch scheduler continuing as new", "queued", len(c.Queue), "open", len(c.Open), "waitlisted", len(c.Waitlist),
		"chunksFetchedAgain", s.core.inFlight)
	return workflow.NewContinueAsNewError(ctx, FetchScheduler, SchedulerInput{Options: s.core.opts, Carry: &c})
}

func (s *scheduler) progress() (SchedulerProgress, error) {
	p := s.core.progress()
	p.SignalsInFlight, p.SignalsWaiting = s.signalsInFlight, len(s.outbox)
	return p, nil
}

// publishDetails shows the scheduler's state in the Web UI. The Web UI
// shows about four lines of it.
func (s *scheduler) publishDetails(ctx workflow.Context) {
	p := s.core.progress()
	st := p.Stats
	now := fmt.Sprintf("**%d** queued · **%d** chunks in flight · **%d** open submissions · **%d** waitlisted",
		p.Queued, p.InFlight, p.Open, p.Waitlisted)
	if s.core.idle() && s.signalsInFlight == 0 && len(s.outbox) == 0 {
		// Still Running after every batch finished is by design: say so.
		now = fmt.Sprintf("**Idle**: nothing queued or in flight; it finishes after %s without a submission.", schedulerIdleTimeout)
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("%s\n\n%d conversations submitted · %d coalesced · %d chunks · %d Genesys requests · run %d",
		now, st.Conversations, st.Coalesced, st.Chunks, st.GenesysRequests, st.Runs))
}

// failureReason says why a chunk failed; for one that ran out of its retry
// horizon, with the last error it saw.
func failureReason(err error, horizon time.Duration) string {
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) && timeoutErr.TimeoutType() == enums.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		last := "none recorded"
		if cause := timeoutErr.Unwrap(); cause != nil {
			last = cause.Error()
		}
		return truncate(fmt.Sprintf("still failing after FETCH_RETRY_HORIZON (%s); last error: %s", horizon, last), maxReasonLen)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return truncate(appErr.Error(), maxReasonLen)
	}
	if timeoutErr != nil {
		return truncate("fetch timed out: "+timeoutErr.Error(), maxReasonLen)
	}
	return truncate(err.Error(), maxReasonLen)
}

// plural is noun for one, nouns for any other count.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// maxReasonLen bounds a failure reason in reports and carried state.
const maxReasonLen = 300

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
