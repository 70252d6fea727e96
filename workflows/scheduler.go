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
		TaskQueue:           s.opts.GenesysTaskQueue,
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         legacyFetchRetry,
		Summary:             fmt.Sprintf("fetch and store %d conversations", conversations),
	}
	if workflow.GetVersion(ctx, fetchRetryHorizonChange, workflow.DefaultVersion, fetchRetryHorizonVersion) == workflow.DefaultVersion {
		return opts
	}
	opts.StartToCloseTimeout = fetchAttemptTimeout
	opts.HeartbeatTimeout = fetchHeartbeatTimeout
	// A chunk gives up only when the horizon passes; NextRetryDelay (a
	// 429's Retry-After) overrides the backoff.
	opts.ScheduleToCloseTimeout = s.opts.FetchRetryHorizon
	opts.RetryPolicy = &temporal.RetryPolicy{
		InitialInterval:        2 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        s.opts.FetchRetryMaxInterval,
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

type fetchKey struct {
	id              string
	storeIncomplete bool
}

// fetchEntry is one conversation queued or being fetched, and every open
// submission that waits for it; the first one submitted it first.
type fetchEntry struct {
	ref             ConversationRef
	storeIncomplete bool
	waiters         []*openSubmission
}

type openSubmission struct {
	key     SubmissionKey
	pending int
	report  FetchReport
}

type scheduler struct {
	opts   Options
	logger log.Logger
	stats  SchedulerStats

	queue         []*fetchEntry   // not dispatched, in order
	deadlineQueue []*fetchEntry   // storeIncomplete ones: their batches' deadlines passed
	retries       [][]*fetchEntry // halves of chunks Genesys refused with a 400
	entries       map[fetchKey]*fetchEntry
	open          map[SubmissionKey]*openSubmission
	openOrder     []*openSubmission
	waitlist      []SubmissionKey
	// invited were waitlisted and asked to submit again; a handful at most.
	invited []SubmissionKey
	// stored holds conversations stored complete during this run, so a late
	// submission of one costs nothing. Not carried: after continue-as-new the
	// batches' table check covers them.
	stored map[string]bool

	inFlight        int
	signalsInFlight int
	selector        workflow.Selector
	// idleSince is when the scheduler last ran out of work; zero while busy.
	idleSince      time.Time
	idleTimerArmed bool
}

func newScheduler(ctx workflow.Context, in SchedulerInput) (*scheduler, error) {
	s := &scheduler{
		opts:    in.Options.withDefaults(),
		logger:  workflow.GetLogger(ctx),
		entries: map[fetchKey]*fetchEntry{},
		open:    map[SubmissionKey]*openSubmission{},
		stored:  map[string]bool{},
	}
	if err := s.opts.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	if c := in.Carry; c != nil {
		s.restore(*c)
	}
	s.stats.Runs++
	s.selector = workflow.NewSelector(ctx)
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, s.progress); err != nil {
		return nil, fmt.Errorf("register %s query: %w", ProgressQuery, err)
	}
	if in.First != nil {
		s.accept(ctx, *in.First)
	}
	return s, nil
}

func (s *scheduler) run(ctx workflow.Context) error {
	submissions := workflow.GetSignalChannel(ctx, SubmitFetchesSignal)
	s.selector.AddReceive(submissions, func(c workflow.ReceiveChannel, _ bool) {
		var sub FetchSubmission
		c.Receive(ctx, &sub)
		s.accept(ctx, sub)
	})
	for {
		draining := shouldContinueAsNew(ctx)
		if !draining {
			s.dispatch(ctx)
			s.inviteWaitlisted(ctx)
		}
		s.publishDetails(ctx)
		if draining && s.inFlight == 0 && s.signalsInFlight == 0 {
			// Take what arrived meanwhile into the carried state; a report
			// that this produces must go out before the run ends.
			var sub FetchSubmission
			for submissions.ReceiveAsync(&sub) {
				s.accept(ctx, sub)
			}
			if s.signalsInFlight == 0 {
				return s.continueAsNew(ctx)
			}
		}
		if s.idleLongEnough(ctx) {
			var sub FetchSubmission
			if !submissions.ReceiveAsync(&sub) {
				s.logger.Info("fetch scheduler idle; finishing", "idleFor", schedulerIdleTimeout, "stats", s.stats)
				return nil
			}
			s.accept(ctx, sub)
			continue
		}
		s.selector.Select(ctx)
	}
}

// idleLongEnough reports whether the scheduler has had nothing to do for
// schedulerIdleTimeout, and otherwise arms a timer that wakes it then.
func (s *scheduler) idleLongEnough(ctx workflow.Context) bool {
	now := workflow.Now(ctx)
	if !s.idle() {
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
		s.selector.AddFuture(workflow.NewTimer(ctx, left), func(workflow.Future) { s.idleTimerArmed = false })
	}
	return false
}

func (s *scheduler) idle() bool {
	return s.inFlight == 0 && s.signalsInFlight == 0 && len(s.open) == 0 && len(s.waitlist) == 0 && len(s.invited) == 0 && s.queued() == 0
}

func (s *scheduler) queued() int {
	n := len(s.queue) + len(s.deadlineQueue)
	for _, c := range s.retries {
		n += len(c)
	}
	return n
}

// accept takes a submission in: each conversation joins the queue, or the
// entry already queued or in flight for it, or, if it was stored during
// this run, counts as unchanged at once.
func (s *scheduler) accept(ctx workflow.Context, sub FetchSubmission) {
	key := SubmissionKey{Requester: sub.Requester, Seq: sub.Seq}
	invited := slices.Contains(s.invited, key)
	known := s.open[key] != nil || invited || slices.Contains(s.waitlist, key)
	if sub.Ping {
		if !known {
			// Lost (this scheduler was started after the batch submitted):
			// ask for it again.
			s.signal(ctx, sub.Requester, ResubmitSignal, ResubmitRequest{Seq: sub.Seq}, nil)
		}
		return
	}
	if known && !invited {
		return // sent again by a batch that has not heard back yet
	}
	if opts := sub.Options.withDefaults(); opts.validate() == nil {
		s.opts = opts
	}
	if !invited && s.queued() >= maxQueued && len(sub.Conversations) > 0 {
		s.waitlist = append(s.waitlist, key)
		s.stats.Waitlisted++
		return
	}
	s.uninvite(key)
	s.stats.Submissions++

	o := &openSubmission{key: key, report: FetchReport{Seq: sub.Seq}}
	seen := make(map[string]bool, len(sub.Conversations))
	for _, ref := range sub.Conversations {
		if seen[ref.ID] {
			continue
		}
		seen[ref.ID] = true
		s.stats.Conversations++
		if !ValidConversationID(ref.ID) {
			// The batch filters these; never let one reach a Genesys URL anyway.
			o.report.Failed = append(o.report.Failed, Failure{ConversationID: ref.ID, Reason: "conversation id is not a UUID"})
			continue
		}
		if s.stored[ref.ID] {
			s.stats.Coalesced++
			o.report.Unchanged++
			continue
		}
		k := fetchKey{id: ref.ID, storeIncomplete: sub.StoreIncomplete}
		e := s.entries[k]
		if e == nil {
			e = &fetchEntry{ref: withOrg(ConversationRef{ID: ref.ID, OrgID: ref.OrgID}, sub.OrgID), storeIncomplete: sub.StoreIncomplete}
			s.entries[k] = e
			s.enqueue(e)
		} else {
			s.stats.Coalesced++
		}
		e.waiters = append(e.waiters, o)
		o.pending++
	}
	if o.pending == 0 {
		s.report(ctx, o)
		return
	}
	s.open[key] = o
	s.openOrder = append(s.openOrder, o)
}

func (s *scheduler) enqueue(e *fetchEntry) {
	if e.storeIncomplete {
		s.deadlineQueue = append(s.deadlineQueue, e)
	} else {
		s.queue = append(s.queue, e)
	}
}

// dispatch schedules fetch activities until FetchConcurrency are in flight
// or no chunk is worth sending yet.
func (s *scheduler) dispatch(ctx workflow.Context) {
	for s.inFlight < s.opts.FetchConcurrency {
		chunk, storeIncomplete := s.nextChunk()
		if len(chunk) == 0 {
			return
		}
		refs := make([]ConversationRef, len(chunk))
		for i, e := range chunk {
			refs[i] = e.ref
		}
		org, refs := compactRefs(refs)
		s.inFlight++
		s.stats.Chunks++
		actx := workflow.WithActivityOptions(ctx, s.fetchActivityOptions(ctx, len(refs)))
		future := workflow.ExecuteActivity(actx, FetchActivityName, FetchRequest{OrgID: org, Conversations: refs, StoreIncomplete: storeIncomplete})
		s.selector.AddFuture(future, func(f workflow.Future) {
			s.inFlight--
			var res FetchResult
			err := f.Get(ctx, &res)
			s.complete(ctx, chunk, res, err)
		})
	}
}

// nextChunk picks what to fetch next: halves of a refused chunk first, then
// conversations whose batch's deadline has passed, then a full chunk, or a
// partial one when the queue of scheduled fetches is about to run dry.
func (s *scheduler) nextChunk() ([]*fetchEntry, bool) {
	size := s.opts.FetchBatchSize
	switch {
	case len(s.retries) > 0:
		c := s.retries[0]
		s.retries = s.retries[1:]
		return c, c[0].storeIncomplete
	case len(s.deadlineQueue) > 0:
		n := min(size, len(s.deadlineQueue))
		c := s.deadlineQueue[:n:n]
		s.deadlineQueue = s.deadlineQueue[n:]
		return c, true
	case len(s.queue) >= size || len(s.queue) > 0 && s.inFlight <= partialChunkInFlight:
		n := min(size, len(s.queue))
		c := s.queue[:n:n]
		s.queue = s.queue[n:]
		return c, false
	}
	return nil, false
}

// complete settles one chunk's conversations with every submission waiting
// for them.
func (s *scheduler) complete(ctx workflow.Context, chunk []*fetchEntry, res FetchResult, err error) {
	if err != nil {
		var appErr *temporal.ApplicationError
		isApp := errors.As(err, &appErr)
		if isApp && appErr.Type() == ErrTypeBadRequest && len(chunk) > 1 {
			// One id made Genesys refuse the whole request: halve until it
			// is alone.
			s.stats.GenesysRequests++
			half := len(chunk) / 2
			s.retries = append(s.retries, chunk[:half:half], chunk[half:])
			return
		}
		// How many attempts a chunk that ran out of retries made is not
		// known here; the simulator and the worker's metrics count them.
		s.stats.GenesysRequests++
		reason := failureReason(err, s.opts.FetchRetryHorizon)
		s.logger.Warn("chunk failed", "conversations", len(chunk), "reason", reason)
		for _, e := range chunk {
			s.settle(ctx, e, outcomeFailed, reason)
		}
		return
	}
	s.stats.GenesysRequests += res.Requests
	outcomes := make(map[string]fetchOutcome, len(res.NotReady)+len(res.Failed)+len(res.IncompleteIDs)+len(res.UnchangedIDs))
	reasons := map[string]string{}
	for _, id := range res.NotReady {
		outcomes[id] = outcomeNotReady
	}
	for _, id := range res.IncompleteIDs {
		outcomes[id] = outcomeIncomplete
	}
	for _, id := range res.UnchangedIDs {
		outcomes[id] = outcomeUnchanged
	}
	for _, f := range res.Failed {
		outcomes[f.ConversationID] = outcomeFailed
		reasons[f.ConversationID] = f.Reason
	}
	for _, e := range chunk {
		o, ok := outcomes[e.ref.ID]
		if !ok {
			o = outcomeComplete
		}
		s.settle(ctx, e, o, reasons[e.ref.ID])
	}
}

type fetchOutcome int

const (
	outcomeComplete fetchOutcome = iota
	outcomeIncomplete
	outcomeUnchanged
	outcomeNotReady
	outcomeFailed
)

// settle records one conversation's outcome in every submission waiting for
// it and reports the submissions that have nothing left to wait for. Only the
// first submitter is credited with storing it; for the others it was
// already being stored.
func (s *scheduler) settle(ctx workflow.Context, e *fetchEntry, o fetchOutcome, reason string) {
	delete(s.entries, fetchKey{id: e.ref.ID, storeIncomplete: e.storeIncomplete})
	if o == outcomeComplete || o == outcomeUnchanged && !e.storeIncomplete {
		s.stored[e.ref.ID] = true
	}
	for i, sub := range e.waiters {
		r := &sub.report
		switch {
		case o == outcomeNotReady:
			r.NotReady = append(r.NotReady, e.ref.ID)
		case o == outcomeFailed:
			r.Failed = append(r.Failed, Failure{ConversationID: e.ref.ID, Reason: reason})
		case o == outcomeUnchanged || i > 0:
			r.Unchanged++
		case o == outcomeComplete:
			r.StoredComplete++
		case o == outcomeIncomplete:
			r.StoredIncomplete++
		}
		sub.pending--
		if sub.pending == 0 {
			delete(s.open, sub.key)
			s.openOrder = slices.DeleteFunc(s.openOrder, func(x *openSubmission) bool { return x == sub })
			s.report(ctx, sub)
		}
	}
}

// report signals a submission's outcome to its batch. A batch that is gone
// (terminated) cannot be told; nothing else depends on it.
func (s *scheduler) report(ctx workflow.Context, o *openSubmission) {
	s.signal(ctx, o.key.Requester, FetchReportSignal, o.report, nil)
}

// inviteWaitlisted asks waitlisted batches to submit again once the queue is
// down to half of maxQueued, reserving room for each invitation.
func (s *scheduler) inviteWaitlisted(ctx workflow.Context) {
	for len(s.waitlist) > 0 && s.queued()+(len(s.invited)+1)*maxSubmission <= maxQueued/2 {
		key := s.waitlist[0]
		s.waitlist = s.waitlist[1:]
		s.invited = append(s.invited, key)
		s.signal(ctx, key.Requester, ResubmitSignal, ResubmitRequest{Seq: key.Seq}, func() { s.uninvite(key) })
	}
}

func (s *scheduler) uninvite(key SubmissionKey) {
	s.invited = slices.DeleteFunc(s.invited, func(k SubmissionKey) bool { return k == key })
}

func (s *scheduler) signal(ctx workflow.Context, workflowID, name string, arg any, onFailure func()) {
	s.signalsInFlight++
	future := workflow.SignalExternalWorkflow(ctx, workflowID, "", name, arg)
	s.selector.AddFuture(future, func(f workflow.Future) {
		s.signalsInFlight--
		if err := f.Get(ctx, nil); err != nil {
			s.logger.Warn("could not signal batch workflow", "workflowId", workflowID, "signal", name, "error", err)
			if onFailure != nil {
				onFailure()
			}
		}
	})
}

// continueAsNew hands the queue and the open submissions to a fresh run.
// Nothing is in flight: the loop stopped dispatching and waited first.
func (s *scheduler) continueAsNew(ctx workflow.Context) error {
	c := SchedulerCarry{Waitlist: s.waitlist, Stats: s.stats}
	index := make(map[*openSubmission]int, len(s.openOrder))
	for i, o := range s.openOrder {
		index[o] = i
		c.Open = append(c.Open, CarriedSubmission{Key: o.key, Pending: o.pending, Report: o.report})
	}
	queued := slices.Concat(slices.Concat(s.retries...), s.deadlineQueue, s.queue)
	if len(queued) > 0 {
		c.OrgID = queued[0].ref.OrgID
	}
	for _, e := range queued {
		f := CarriedFetch{ID: e.ref.ID, StoreIncomplete: e.storeIncomplete}
		if e.ref.OrgID != c.OrgID {
			f.OrgID = e.ref.OrgID
		}
		for _, w := range e.waiters {
			f.Waiters = append(f.Waiters, index[w])
		}
		c.Queue = append(c.Queue, f)
	}
	c.Invited = s.invited
	s.logger.Info("fetch scheduler continuing as new", "queued", len(c.Queue), "open", len(c.Open), "waitlisted", len(c.Waitlist))
	return workflow.NewContinueAsNewError(ctx, FetchScheduler, SchedulerInput{Options: s.opts, Carry: &c})
}

func (s *scheduler) restore(c SchedulerCarry) {
	s.stats, s.waitlist = c.Stats, c.Waitlist
	s.invited = c.Invited
	open := make([]*openSubmission, len(c.Open))
	for i, o := range c.Open {
		open[i] = &openSubmission{key: o.Key, pending: o.Pending, report: o.Report}
		s.open[o.Key] = open[i]
	}
	s.openOrder = open
	for _, f := range c.Queue {
		e := &fetchEntry{ref: withOrg(ConversationRef{ID: f.ID, OrgID: f.OrgID}, c.OrgID), storeIncomplete: f.StoreIncomplete}
		for _, w := range f.Waiters {
			if w >= 0 && w < len(open) {
				e.waiters = append(e.waiters, open[w])
			}
		}
		s.entries[fetchKey{id: f.ID, storeIncomplete: f.StoreIncomplete}] = e
		s.enqueue(e)
	}
}

func (s *scheduler) progress() (SchedulerProgress, error) {
	return SchedulerProgress{Stats: s.stats, Queued: s.queued(), InFlight: s.inFlight, Open: len(s.open),
		Waitlisted: len(s.waitlist), Options: s.opts}, nil
}

// publishDetails shows the scheduler's state in the Web UI.
func (s *scheduler) publishDetails(ctx workflow.Context) {
	st := s.stats
	workflow.SetCurrentDetails(ctx, fmt.Sprintf(
		"**%d** queued · **%d** chunks in flight · **%d** open submissions · **%d** waitlisted\n\n"+
			"%d conversations submitted · %d coalesced · %d chunks · %d Genesys requests · run %d",
		s.queued(), s.inFlight, len(s.open), len(s.waitlist),
		st.Conversations, st.Coalesced, st.Chunks, st.GenesysRequests, st.Runs))
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
		return truncate(fmt.Sprintf("still failing after FETCH_RETRY_HORIZON (%s); last error: %s", horizon, last), 300)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return truncate(appErr.Error(), 300)
	}
	if timeoutErr != nil {
		return truncate("fetch timed out: "+timeoutErr.Error(), 300)
	}
	return truncate(err.Error(), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
