package workflows

import (
	"fmt"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Limits on one run's history. Temporal warns at 10,240 events; a run hands
// over to a fresh one well before that, or when the server suggests it.
const continueAsNewAfterEvents = 8000

// How a batch hands its conversations to the scheduler.
const (
	// maxSubmission conversations per FetchSubmission: twenty full
	// requests. Each submission costs about 20 history events on both sides
	// (signals, their acknowledgements, reports, the table check), so fewer
	// and larger ones keep history small; 2,000 ids make a signal of about
	// 90 KB and leave the table check just before it reasonably fresh.
	maxSubmission = 2000
	// maxOpenSubmissions per batch. One keeps the scheduler's queue at most
	// maxSubmission per running batch, so it waitlists nobody below ten
	// batches at once. The pause between a report and the next submission (tens of
	// milliseconds) costs no throughput: other batches' chunks fill it, or,
	// for a lone batch, the rate limiter's burst makes up for it.
	maxOpenSubmissions = 1
	// submissionCheckInterval: while submissions are open, the batch asks
	// the scheduler this often whether it still has them, so that nothing
	// is lost if the scheduler was terminated.
	submissionCheckInterval = 10 * time.Minute
	// schedulerStartAttempts bounds signal-or-start races with a scheduler
	// that is finishing.
	schedulerStartAttempts = 5
)

// IngestConversations gets the analytics record of every conversation in
// the input stored in DynamoDB. It hands the conversations to the
// FetchScheduler of its Genesys task queue, which fetches and stores them
// together with other batches' conversations. Conversations whose record is
// not complete yet are submitted again, less and less often, until
// Options.ReadyTimeout; then what there is gets stored as incomplete. One bad
// conversation never fails the batch: it is reported in the Summary.
func IngestConversations(ctx workflow.Context, in IngestInput) (Summary, error) {
	w, err := newIngestion(ctx, in)
	if err != nil {
		// The deployment's workflow-failure alarm counts this log line.
		workflow.GetLogger(ctx).Error("workflow failed", "batchId", in.BatchID, "error", err)
		return Summary{}, err
	}
	summary, err := w.run(ctx)
	if err != nil && !workflow.IsContinueAsNewError(err) {
		workflow.GetLogger(ctx).Error("workflow failed", "batchId", in.BatchID, "error", err)
	}
	return summary, err
}

// ingestion is one run's state. Conversations are submitted in rounds: the
// due ones a submission at a time, at most maxOpenSubmissions awaiting their
// report; the ones not ready yet wait for the next round.
type ingestion struct {
	batchID     string
	backfill    bool
	workflowID  string
	schedulerID string
	opts        Options
	logger      log.Logger
	summary     Summary
	deadline    time.Time
	polls       int
	due         []ConversationRef
	waiting     []ConversationRef
	nextPollAt  time.Time
	seq         int
	timeline    Timeline
	// unrecorded failures have not been written to the table yet.
	unrecorded []ConversationFailure
	open       map[int]*submitted
	selector   workflow.Selector
	checkArmed bool
	// schedulerStuck is why the scheduler makes no progress, as the last
	// check found; empty when it does.
	schedulerStuck string
	// err is a failure inside a selector callback, returned by the loop.
	err error
}

// submitted is an open submission: sent, no report yet.
type submitted struct {
	refs            []ConversationRef
	storeIncomplete bool
}

func newIngestion(ctx workflow.Context, in IngestInput) (*ingestion, error) {
	w := &ingestion{
		batchID:    in.BatchID,
		backfill:   in.Backfill,
		workflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		opts:       in.Options.withDefaults(),
		open:       map[int]*submitted{},
	}
	if err := w.opts.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	w.schedulerID = FetchSchedulerID(w.opts.GenesysTaskQueue)
	w.logger = log.With(workflow.GetLogger(ctx), "batchId", in.BatchID)

	if c := in.Carry; c != nil {
		w.deadline, w.polls, w.summary, w.seq = c.Deadline, c.Polls, c.Summary, c.Seq
		w.waiting, w.nextPollAt, w.timeline = c.Waiting, c.NextPollAt, c.Timeline
		w.due = in.Conversations
	} else {
		w.deadline = workflow.Now(ctx).Add(w.opts.ReadyTimeout)
		w.due = w.admit(in.Conversations)
		w.timeline.StartedAt = workflow.GetInfo(ctx).WorkflowStartTime
		for _, r := range in.Conversations {
			if r.EventTime > 0 && (w.timeline.FirstEventAt == 0 || r.EventTime < w.timeline.FirstEventAt) {
				w.timeline.FirstEventAt = r.EventTime
			}
		}
	}
	w.summary.Runs++

	if err := workflow.SetQueryHandler(ctx, ProgressQuery, w.progress); err != nil {
		return nil, fmt.Errorf("register %s query: %w", ProgressQuery, err)
	}
	return w, nil
}

// admit counts the input and drops what must never reach Genesys: repeated
// ids and ids that are not UUIDs.
func (w *ingestion) admit(refs []ConversationRef) []ConversationRef {
	seen := make(map[string]bool, len(refs))
	admitted := make([]ConversationRef, 0, len(refs))
	for _, r := range refs {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		w.summary.Received++
		if !ValidConversationID(r.ID) {
			w.fail(r.ID, "conversation id is not a UUID")
			continue
		}
		admitted = append(admitted, r)
	}
	return admitted
}

func (w *ingestion) run(ctx workflow.Context) (Summary, error) {
	w.logger.Info("ingestion run started", "conversations", len(w.due), "waiting", len(w.waiting), "run", w.summary.Runs)
	w.selector = workflow.NewSelector(ctx)
	w.selector.AddReceive(workflow.GetSignalChannel(ctx, FetchReportSignal), func(c workflow.ReceiveChannel, _ bool) {
		var r FetchReport
		c.Receive(ctx, &r)
		w.takeReport(r, workflow.Now(ctx))
	})
	w.selector.AddReceive(workflow.GetSignalChannel(ctx, ResubmitSignal), func(c workflow.ReceiveChannel, _ bool) {
		var r ResubmitRequest
		c.Receive(ctx, &r)
		if o := w.open[r.Seq]; o != nil {
			// It waited for room: other batches may have stored some of it
			// meanwhile. An empty submission still closes the invitation.
			o.refs = w.skipStored(ctx, o.refs)
			w.err = w.send(ctx, r.Seq, o, false)
		}
	})
	for {
		for len(w.open) < maxOpenSubmissions && len(w.due) > 0 && !shouldContinueAsNew(ctx) {
			if err := w.submitNext(ctx); err != nil {
				return Summary{}, err
			}
		}
		if len(w.open) > 0 {
			w.armCheck(ctx)
			w.publishDetails(ctx)
			w.selector.Select(ctx)
			if w.err != nil {
				return Summary{}, w.err
			}
			w.recordFailures(ctx)
			continue
		}
		if len(w.due) > 0 { // submitting stopped to keep history small
			return Summary{}, w.continueAsNew(ctx)
		}
		w.publishDetails(ctx)
		if len(w.waiting) == 0 {
			break
		}
		if shouldContinueAsNew(ctx) {
			return Summary{}, w.continueAsNew(ctx)
		}
		if err := w.waitForNextPoll(ctx); err != nil {
			return Summary{}, err
		}
	}
	w.recordFailures(ctx)
	w.recordBatch(ctx)
	w.logger.Info("ingestion finished",
		"received", w.summary.Received, "storedComplete", w.summary.StoredComplete,
		"storedIncomplete", w.summary.StoredIncomplete, "unchanged", w.summary.Unchanged,
		"failed", w.summary.Failed, "submissions", w.summary.Submissions)
	return w.summary, nil
}

// submitNext checks the next due conversations against the table and submits
// the ones not stored yet.
func (w *ingestion) submitNext(ctx workflow.Context) error {
	refs := w.due[:min(len(w.due), maxSubmission)]
	w.due = w.due[len(refs):]
	refs = w.skipStored(ctx, refs)
	if len(refs) == 0 {
		return nil
	}
	w.seq++
	o := &submitted{refs: refs, storeIncomplete: !workflow.Now(ctx).Before(w.deadline)}
	w.open[w.seq] = o
	w.summary.Submissions++
	return w.send(ctx, w.seq, o, false)
}

// send signals a submission to the scheduler; a ping carries no
// conversations and only asks the scheduler to say if it lost the
// submission. A scheduler that is not running is started, with the
// submission, as a child that outlives this workflow.
func (w *ingestion) send(ctx workflow.Context, seq int, o *submitted, ping bool) error {
	full := FetchSubmission{Requester: w.workflowID, Seq: seq, StoreIncomplete: o.storeIncomplete, Options: w.opts, Backfill: w.backfill}
	full.OrgID, full.Conversations = compactRefs(o.refs)
	sub := full
	if ping {
		sub = FetchSubmission{Requester: w.workflowID, Seq: seq, StoreIncomplete: o.storeIncomplete, Options: w.opts, Backfill: w.backfill, Ping: true}
	}
	var err error
	for range schedulerStartAttempts {
		err = workflow.SignalExternalWorkflow(ctx, w.schedulerID, "", SubmitFetchesSignal, sub).Get(ctx, nil)
		if err == nil {
			return nil
		}
		// A new scheduler knows nothing: it gets the whole submission.
		sub = full
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            w.schedulerID,
			ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			StaticSummary:         "Fetches for every batch on task queue " + w.opts.GenesysTaskQueue,
			StaticDetails:         schedulerDetails(w.opts.GenesysTaskQueue),
		})
		child := workflow.ExecuteChildWorkflow(cctx, FetchSchedulerWorkflowName, SchedulerInput{Options: w.opts, First: &sub})
		if err = child.GetChildWorkflowExecution().Get(ctx, nil); err == nil {
			w.logger.Info("started the fetch scheduler", "schedulerId", w.schedulerID)
			return nil
		}
		// Another batch started it meanwhile, or it was just finishing:
		// signal again.
	}
	return fmt.Errorf("could not reach or start the fetch scheduler %s: %w", w.schedulerID, err)
}

// schedulerDetails is what the Web UI shows as the scheduler's Details
// (about four lines fit). Like its summary it is metadata of the start
// command, which replay does not compare.
func schedulerDetails(queue string) string {
	return fmt.Sprintf("Spends the Genesys request budget of task queue `%s` for every batch: one request per "+
		"**fetch and store N conversations** activity, each conversation fetched once however many batches ask. "+
		"Its parent only started it; it finishes after %s idle.", queue, schedulerIdleTimeout)
}

// armCheck makes sure a timer will ask the scheduler about the open
// submissions if no report comes for submissionCheckInterval. One timer
// serves a whole round.
func (w *ingestion) armCheck(ctx workflow.Context) {
	if w.checkArmed {
		return
	}
	w.checkArmed = true
	// The summary labels the timer in the Web UI; like every summary it is
	// metadata, not part of the command that replay compares.
	timer := workflow.NewTimerWithOptions(ctx, submissionCheckInterval, workflow.TimerOptions{
		Summary: fmt.Sprintf("watchdog: check on the fetch scheduler if no report comes within %s", submissionCheckInterval)})
	w.selector.AddFuture(timer, func(workflow.Future) {
		w.checkArmed = false
		w.checkScheduler(ctx)
		// In submission order; ranging over the map would not replay.
		for seq := 1; seq <= w.seq; seq++ {
			o := w.open[seq]
			if o == nil {
				continue
			}
			if err := w.send(ctx, seq, o, true); err != nil {
				w.err = err
				return
			}
		}
	})
}

// The watchdog: a batch that has heard nothing for submissionCheckInterval
// asks CheckFetchScheduler whether its scheduler makes progress, and shows
// the answer in its details; the activity logs and counts a stuck one,
// which the deployment alarms on. Runs recorded before it did not ask.
const (
	schedulerWatchChange  = "scheduler-watch"
	schedulerWatchVersion = 1
)

func (w *ingestion) checkScheduler(ctx workflow.Context) {
	if workflow.GetVersion(ctx, schedulerWatchChange, workflow.DefaultVersion, schedulerWatchVersion) == workflow.DefaultVersion {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             "is the fetch scheduler making progress?",
	})
	var check SchedulerCheck
	err := workflow.ExecuteActivity(actx, CheckSchedulerActivityName, SchedulerCheckRequest{SchedulerID: w.schedulerID, BatchID: w.workflowID}).Get(ctx, &check)
	switch {
	case err != nil:
		w.logger.Warn("could not check the fetch scheduler", "error", err)
	case check.Stuck != "":
		w.schedulerStuck = check.Stuck
	default:
		w.schedulerStuck = ""
	}
}

// takeReport folds a submission's report into the run's state.
func (w *ingestion) takeReport(r FetchReport, now time.Time) {
	o := w.open[r.Seq]
	if o == nil {
		return // a repeated report
	}
	delete(w.open, r.Seq)
	w.summary.StoredComplete += r.StoredComplete
	w.summary.StoredIncomplete += r.StoredIncomplete
	w.summary.Unchanged += r.Unchanged
	if r.StoredComplete+r.StoredIncomplete > 0 {
		w.timeline.LastStoredAt = now
	}
	if len(r.NotReady) == 0 && len(r.Failed) == 0 {
		return
	}
	byID := make(map[string]ConversationRef, len(o.refs))
	for _, ref := range o.refs {
		byID[ref.ID] = ref
	}
	for _, f := range r.Failed {
		if ref, ok := byID[f.ConversationID]; ok {
			w.failConversation(ref, f)
		}
	}
	for _, id := range r.NotReady {
		ref, ok := byID[id]
		if !ok {
			continue // not ours; never trust blindly
		}
		if o.storeIncomplete {
			w.failConversation(ref, Failure{ConversationID: id,
				Reason: fmt.Sprintf("not found in Genesys analytics within READY_TIMEOUT (%s)", w.opts.ReadyTimeout)})
			continue
		}
		w.waiting = append(w.waiting, ref)
	}
}

// failConversation counts a conversation of this batch as failed and queues
// the failure for the table.
func (w *ingestion) failConversation(ref ConversationRef, f Failure) {
	w.fail(f.ConversationID, f.Reason)
	w.unrecorded = append(w.unrecorded, ConversationFailure{Failure: f, OrgID: ref.OrgID,
		FirstEventAt: ref.EventTime, LastEventAt: ref.EventTime})
}

// Durable outcomes: failed conversations and the batch's audit record are
// written to DynamoDB, so that nothing important lives only in workflow
// history. Runs recorded before this change wrote neither.
const (
	durableOutcomesChange  = "durable-outcomes"
	durableOutcomesVersion = 1
)

// recordActivityOptions: DynamoDB writes on the workflow's own task queue,
// retried as long as a blocked fetch would be.
func (w *ingestion) recordActivityOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: w.opts.FetchRetryHorizon,
		RetryPolicy:            &temporal.RetryPolicy{MaximumInterval: w.opts.FetchRetryMaxInterval},
		Summary:                summary,
	})
}

// recordFailures writes the failures not written yet to the table, where
// `starter conversations retry` finds them.
func (w *ingestion) recordFailures(ctx workflow.Context) {
	if len(w.unrecorded) == 0 || workflow.GetVersion(ctx, durableOutcomesChange, workflow.DefaultVersion, durableOutcomesVersion) == workflow.DefaultVersion {
		w.unrecorded = nil
		return
	}
	failures := w.unrecorded
	w.unrecorded = nil
	actx := w.recordActivityOptions(ctx, fmt.Sprintf("record %d failed conversations", len(failures)))
	if err := workflow.ExecuteActivity(actx, RecordFailuresActivityName, RecordFailuresRequest{Failures: failures}).Get(ctx, nil); err != nil {
		// Only after FETCH_RETRY_HORIZON of DynamoDB failing; the summary
		// and this log line still name them.
		w.logger.Error("could not record failed conversations", "conversations", len(failures), "error", err)
	}
}

// recordBatch writes the finished batch's audit record.
func (w *ingestion) recordBatch(ctx workflow.Context) {
	if workflow.GetVersion(ctx, durableOutcomesChange, workflow.DefaultVersion, durableOutcomesVersion) == workflow.DefaultVersion {
		return
	}
	req := BatchRecordRequest{BatchID: w.workflowID, Delivery: w.batchID, Timeline: w.timeline,
		FinishedAt: workflow.Now(ctx), Summary: w.summary}
	if err := workflow.ExecuteActivity(w.recordActivityOptions(ctx, "record the batch"), RecordBatchActivityName, req).Get(ctx, nil); err != nil {
		w.logger.Error("could not record the batch", "error", err)
	}
}

// skipStored drops the conversations already stored complete, counting them
// as unchanged. If the table cannot be read, nothing is dropped: a redundant
// fetch is harmless, a skipped one would not be.
func (w *ingestion) skipStored(ctx workflow.Context, refs []ConversationRef) []ConversationRef {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var res StoredResult
	if err := workflow.ExecuteLocalActivity(lctx, FindStoredActivityName, StoredRequest{IDs: ids}).Get(ctx, &res); err != nil {
		w.logger.Warn("could not check which conversations are stored; submitting them all", "error", err)
		return refs
	}
	if len(res.Complete) == 0 {
		return refs
	}
	stored := make(map[string]bool, len(res.Complete))
	for _, id := range res.Complete {
		stored[id] = true
	}
	kept := refs[:0:0]
	for _, r := range refs {
		if stored[r.ID] {
			w.summary.Unchanged++
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// waitForNextPoll sleeps until the waiting conversations are due again.
func (w *ingestion) waitForNextPoll(ctx workflow.Context) error {
	if w.nextPollAt.IsZero() {
		w.polls++
		w.nextPollAt = nextPoll(workflow.Now(ctx), w.deadline, w.opts.ReadyPollInterval, w.polls)
	}
	if d := w.nextPollAt.Sub(workflow.Now(ctx)); d > 0 {
		w.logger.Info("waiting for conversations to be ready", "waiting", len(w.waiting), "poll", w.polls, "in", d)
		w.publishDetails(ctx)
		summary := fmt.Sprintf("wait for %d %s to be ready in Genesys (poll %d)", len(w.waiting), plural(len(w.waiting), "conversation"), w.polls+1)
		if err := workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: summary}).Get(ctx, nil); err != nil {
			return err
		}
	}
	w.due, w.waiting, w.nextPollAt = w.waiting, nil, time.Time{}
	return nil
}

// nextPoll spaces polls out (interval × 1.5 per poll, capped at ten times the
// interval or ten minutes, whichever is larger) and never past the deadline, so
// the last poll happens at the deadline itself.
func nextPoll(now, deadline time.Time, interval time.Duration, poll int) time.Time {
	limit := max(10*interval, 10*time.Minute)
	d := interval
	for i := 1; i < poll && d < limit; i++ {
		d = d * 3 / 2
	}
	at := now.Add(min(d, limit))
	if at.After(deadline) {
		return deadline
	}
	return at
}

// shouldContinueAsNew: both workflows hand over to a fresh run when the
// server suggests it or the history passes continueAsNewAfterEvents.
func shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= continueAsNewAfterEvents
}

func (w *ingestion) continueAsNew(ctx workflow.Context) error {
	w.logger.Info("continuing as new", "due", len(w.due), "waiting", len(w.waiting))
	return workflow.NewContinueAsNewError(ctx, IngestConversations, IngestInput{
		BatchID:       w.batchID,
		Backfill:      w.backfill,
		Conversations: w.due,
		Options:       w.opts,
		Carry: &Carry{
			Deadline:   w.deadline,
			Polls:      w.polls,
			Waiting:    w.waiting,
			NextPollAt: w.nextPollAt,
			Summary:    w.summary,
			Seq:        w.seq,
			Timeline:   w.timeline,
		},
	})
}

func (w *ingestion) fail(id, reason string) {
	w.summary.Failed++
	if len(w.summary.Failures) < MaxReportedFailures {
		w.summary.Failures = append(w.summary.Failures, Failure{ConversationID: id, Reason: reason})
	}
}

func (w *ingestion) progress() (Progress, error) {
	done := w.summary.StoredComplete + w.summary.StoredIncomplete + w.summary.Unchanged + w.summary.Failed
	submitted := 0
	for _, o := range w.open {
		submitted += len(o.refs)
	}
	return Progress{
		Summary:        w.summary,
		Pending:        w.summary.Received - done,
		Submitted:      submitted,
		Waiting:        len(w.waiting),
		Polls:          w.polls,
		NextPollAt:     w.nextPollAt,
		Deadline:       w.deadline,
		SchedulerStuck: w.schedulerStuck,
	}, nil
}

// publishDetails shows the run's progress in the Web UI.
func (w *ingestion) publishDetails(ctx workflow.Context) {
	s := w.summary
	details := fmt.Sprintf("**%d** received · **%d** stored complete · **%d** incomplete · **%d** unchanged · **%d** failed · %d submissions to the fetch scheduler `%s`",
		s.Received, s.StoredComplete, s.StoredIncomplete, s.Unchanged, s.Failed, s.Submissions, w.schedulerID)
	if w.schedulerStuck != "" {
		details = fmt.Sprintf("**The fetch scheduler `%s` is stuck:** %s\n\n", w.schedulerID, w.schedulerStuck) + details
	}
	if len(w.waiting) > 0 {
		details += fmt.Sprintf("\n\n%d not ready yet; poll %d; stored as they are at %s", len(w.waiting), w.polls+1, w.deadline.Format(time.RFC3339))
	}
	workflow.SetCurrentDetails(ctx, details)
}

// compactRefs leaves the org out where it is the first conversation's,
// which it returns: every id crosses history several times (submission,
// fetch), and nearly all of a deployment's conversations share one org. The
// event's topic and time stay: the fetch activity measures freshness with
// them and stores them with the record.
func compactRefs(refs []ConversationRef) (string, []ConversationRef) {
	if len(refs) == 0 {
		return "", nil
	}
	org := refs[0].OrgID
	out := make([]ConversationRef, len(refs))
	for i, r := range refs {
		out[i] = r
		if r.OrgID == org {
			out[i].OrgID = ""
		}
	}
	return org, out
}

// withOrg returns ref with org filled in where compactRefs left it out.
func withOrg(ref ConversationRef, org string) ConversationRef {
	if ref.OrgID == "" {
		ref.OrgID = org
	}
	return ref
}
