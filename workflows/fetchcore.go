package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
)

// The fetch scheduler's protocol, and its bookkeeping as plain Go.
//
// One FetchScheduler workflow spends one Genesys task queue's request
// budget for every batch (IngestConversations) on that queue:
//
//   - Submission: a batch signals a FetchSubmission (SubmitFetchesSignal)
//     naming up to maxSubmission conversations, keyed by (Requester, Seq).
//     A batch keeps at most maxOpenSubmissions unanswered. A repeated key is
//     ignored, so a batch may always send a submission again.
//   - Queue and coalescing: each conversation joins the queue once, however
//     many open submissions want it (an entry's waiters); one stored during
//     this run counts as unchanged at once. Conversations of a batch whose
//     readiness deadline passed (StoreIncomplete) queue apart and go first.
//   - Lanes: backfill submissions (FetchSubmission.Backfill) queue in a
//     lane of their own that gets what live traffic leaves: a backfill
//     chunk goes out only when no live chunk is due, at most half of
//     FetchConcurrency of them are in flight, and its fetch activity has
//     the lowest task priority, so that on the rate-limited queue the
//     server dispatches live fetches first. A conversation a live batch
//     wants too moves to the live lane. Backfill may fill at most half of
//     maxQueued and of the carry budget: live submissions always find room.
//   - Chunks: the core hands out full chunks of FetchBatchSize ids, a
//     partial one only when at most partialChunkInFlight are in flight, and
//     the halves of a chunk Genesys refused for what one id can cause first
//     of all, until that id is alone.
//   - Report: when every conversation of a submission is settled, its batch
//     gets a FetchReport (FetchReportSignal) counting each conversation
//     exactly once: only the first waiter is credited with storing it.
//   - Waitlist and invitation: a submission that finds maxQueued
//     conversations queued is waitlisted. When the queue is down to half,
//     waitlisted batches are invited (ResubmitSignal) in order, each
//     invitation reserving maxSubmission of room; the batch resubmits the
//     same key, which is then accepted whatever the queue. An invitation
//     that cannot be delivered, or is not taken up within invitationTTL,
//     is dropped.
//   - Ping: a batch with no report for submissionCheckInterval sends its key
//     with Ping set; a scheduler that does not know the key (it was started
//     after the batch submitted) asks for it again with a ResubmitSignal.
//   - Continue-as-new: the scheduler stops dispatching, lets what is in
//     flight finish, and carries the queue, the open submissions (with their
//     reports so far), the waitlist and the invitations (SchedulerCarry).
//
// fetchCore holds all of that state and makes every decision; it knows
// nothing of Temporal's workflow API. Each call returns the signals to send
// (outgoing), in order; the FetchScheduler workflow is a loop that feeds it
// what arrived, sends what it returns and schedules the chunks it hands out.
type fetchCore struct {
	opts   Options
	limits coreLimits
	stats  SchedulerStats

	queue         []*fetchEntry   // not dispatched, in order
	deadlineQueue []*fetchEntry   // storeIncomplete ones: their batches' deadlines passed
	backfillQueue []*fetchEntry   // wanted by backfill submissions only
	retries       [][]*fetchEntry // halves of chunks Genesys refused for one id
	entries       map[fetchKey]*fetchEntry
	open          map[SubmissionKey]*openSubmission
	openOrder     []*openSubmission
	waitlist      []SubmissionKey
	// invited were waitlisted and asked to submit again; a handful at most.
	invited []CarriedInvitation
	// reported remembers the submissions reported during this run, oldest
	// first, at most maxRemembered: a batch asked twice to resubmit (its
	// ping raced an invitation) may send one again after its report went
	// out, and fetching it again would only spend the budget.
	reported      map[SubmissionKey]bool
	reportedOrder []SubmissionKey
	// bounded: this run expires invitations not taken up within
	// invitationTTL and ignores submissions it already reported (runs
	// recorded before boundedSchedulerChange do neither).
	bounded bool
	// now is the workflow time of the last advance.
	now time.Time
	// stored holds conversations stored complete during this run, so a late
	// submission of one costs nothing. Not carried: after continue-as-new the
	// batches' table check covers them.
	stored map[string]bool

	inFlight         int
	backfillInFlight int
	// flying are the chunks in flight in the order handed out, so that a
	// run that cannot wait for a slow one carries its conversations as
	// queued.
	flying      []fetchChunk
	lastChunkID int
}

// coreLimits are maxQueued and maxSubmission; tests shrink them so that
// the waitlist is reached with a few conversations.
type coreLimits struct {
	queued     int
	submission int
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
	// backfill: only backfill submissions wait for it (the backfill lane).
	backfill bool
	waiters  []*openSubmission
}

type openSubmission struct {
	key     SubmissionKey
	pending int
	report  FetchReport
}

// outgoing is one signal to send to a batch. invitation is set on a
// ResubmitSignal that reserves room; if it cannot be delivered, the
// scheduler calls undelivered with it.
type outgoing struct {
	workflowID string
	signal     string
	arg        any
	invitation *SubmissionKey
}

// fetchChunk is what the core hands out to fetch: one request's worth.
type fetchChunk struct {
	id              int
	entries         []*fetchEntry
	storeIncomplete bool
	backfill        bool
}

func (c fetchChunk) request() FetchRequest {
	refs := make([]ConversationRef, len(c.entries))
	var requesters []string
	index := map[string]int{}
	by := make([][]int, len(c.entries))
	for i, e := range c.entries {
		refs[i] = e.ref
		// The waiters in submission order; the map is only looked up.
		for _, o := range e.waiters {
			if len(by[i]) == MaxRequestersPerConversation {
				break
			}
			j, ok := index[o.key.Requester]
			if !ok {
				j = len(requesters)
				index[o.key.Requester] = j
				requesters = append(requesters, o.key.Requester)
			}
			if !slices.Contains(by[i], j) {
				by[i] = append(by[i], j)
			}
		}
	}
	org, refs := compactRefs(refs)
	req := FetchRequest{OrgID: org, Conversations: refs, StoreIncomplete: c.storeIncomplete}
	if len(requesters) > 0 {
		req.Requesters, req.RequestedBy = requesters, by
	}
	return req
}

// newFetchCore returns the core of a run, restoring carry when the run was
// continued as new.
func newFetchCore(opts Options, carry *SchedulerCarry) *fetchCore {
	c := &fetchCore{
		opts:     opts,
		limits:   coreLimits{queued: maxQueued, submission: maxSubmission},
		entries:  map[fetchKey]*fetchEntry{},
		open:     map[SubmissionKey]*openSubmission{},
		stored:   map[string]bool{},
		reported: map[SubmissionKey]bool{},
	}
	if carry != nil {
		c.restore(*carry)
	}
	c.stats.Runs++
	return c
}

// accept takes a submission in: each conversation joins the queue, or the
// entry already queued or in flight for it, or, if it was stored during
// this run, counts as unchanged at once.
func (c *fetchCore) accept(sub FetchSubmission) []outgoing {
	key := SubmissionKey{Requester: sub.Requester, Seq: sub.Seq}
	invited := c.isInvited(key)
	known := c.open[key] != nil || invited || slices.Contains(c.waitlist, key) || c.bounded && c.reported[key]
	if sub.Ping {
		if known {
			return nil
		}
		// Lost (this scheduler was started after the batch submitted):
		// ask for it again.
		return []outgoing{{workflowID: sub.Requester, signal: ResubmitSignal, arg: ResubmitRequest{Seq: sub.Seq}}}
	}
	if known && !invited {
		return nil // sent again by a batch that has not heard back yet
	}
	// Runs from before the worker owned the fetch settings followed the
	// latest submission's.
	if opts := sub.Options.withDefaults(); !c.bounded && opts.validate() == nil {
		c.opts = opts
	}
	if !invited && c.full(sub.Backfill) && len(sub.Conversations) > 0 {
		c.waitlist = append(c.waitlist, key)
		c.stats.Waitlisted++
		return nil
	}
	c.uninvite(key)
	c.stats.Submissions++

	o := &openSubmission{key: key, report: FetchReport{Seq: sub.Seq}}
	seen := make(map[string]bool, len(sub.Conversations))
	for _, ref := range sub.Conversations {
		if seen[ref.ID] {
			continue
		}
		seen[ref.ID] = true
		c.stats.Conversations++
		if !ValidConversationID(ref.ID) {
			// The batch filters these; never let one reach a Genesys URL anyway.
			o.report.Failed = append(o.report.Failed, Failure{ConversationID: ref.ID, Reason: "conversation id is not a UUID"})
			continue
		}
		if c.stored[ref.ID] {
			c.stats.Coalesced++
			o.report.Unchanged++
			continue
		}
		k := fetchKey{id: ref.ID, storeIncomplete: sub.StoreIncomplete}
		e := c.entries[k]
		switch {
		case e == nil:
			e = &fetchEntry{ref: withOrg(ref, sub.OrgID), storeIncomplete: sub.StoreIncomplete,
				backfill: sub.Backfill && !sub.StoreIncomplete}
			c.entries[k] = e
			c.enqueue(e)
		case e.backfill && !sub.Backfill:
			c.stats.Coalesced++
			c.promote(e)
		default:
			c.stats.Coalesced++
		}
		e.waiters = append(e.waiters, o)
		o.pending++
	}
	if o.pending == 0 {
		return []outgoing{c.report(o)}
	}
	c.open[key] = o
	c.openOrder = append(c.openOrder, o)
	return nil
}

func (c *fetchCore) enqueue(e *fetchEntry) {
	switch {
	case e.storeIncomplete:
		c.deadlineQueue = append(c.deadlineQueue, e)
	case e.backfill:
		c.backfillQueue = append(c.backfillQueue, e)
	default:
		c.queue = append(c.queue, e)
	}
}

// promote moves a conversation a live batch wants from the backfill lane to
// the live one; one already in flight just stays there.
func (c *fetchCore) promote(e *fetchEntry) {
	e.backfill = false
	if i := slices.Index(c.backfillQueue, e); i >= 0 {
		c.backfillQueue = slices.Delete(c.backfillQueue, i, i+1)
		c.queue = append(c.queue, e)
	}
}

// nextChunk hands out the next chunk to fetch, counting it in flight, if
// one is due and fewer than FetchConcurrency are in flight: halves of a
// refused chunk first, then conversations whose batch's deadline has
// passed, then a full chunk, or a partial one when the queue of scheduled
// fetches is about to run dry; the backfill lane's likewise, once nothing
// live is due.
func (c *fetchCore) nextChunk() (fetchChunk, bool) {
	if c.inFlight >= c.opts.FetchConcurrency {
		return fetchChunk{}, false
	}
	size := c.opts.FetchBatchSize
	var ch fetchChunk
	switch {
	case len(c.retries) > 0:
		ch = fetchChunk{entries: c.retries[0], storeIncomplete: c.retries[0][0].storeIncomplete}
		c.retries = c.retries[1:]
	case len(c.deadlineQueue) > 0:
		n := min(size, len(c.deadlineQueue))
		ch = fetchChunk{entries: c.deadlineQueue[:n:n], storeIncomplete: true}
		c.deadlineQueue = c.deadlineQueue[n:]
	case len(c.queue) >= size || len(c.queue) > 0 && c.inFlight-c.backfillInFlight <= partialChunkInFlight:
		n := min(size, len(c.queue))
		ch = fetchChunk{entries: c.queue[:n:n]}
		c.queue = c.queue[n:]
	case len(c.queue) == 0 && c.backfillInFlight < c.backfillSlots() &&
		(len(c.backfillQueue) >= size || len(c.backfillQueue) > 0 && c.inFlight <= partialChunkInFlight):
		n := min(size, len(c.backfillQueue))
		ch = fetchChunk{entries: c.backfillQueue[:n:n], backfill: true}
		c.backfillQueue = c.backfillQueue[n:]
		c.backfillInFlight++
		c.stats.BackfillChunks++
	default:
		return fetchChunk{}, false
	}
	c.inFlight++
	c.stats.Chunks++
	c.lastChunkID++
	ch.id = c.lastChunkID
	c.flying = append(c.flying, ch)
	return ch, true
}

// complete settles a chunk's conversations with every submission waiting
// for them: err is the fetch activity's final error, nil when it returned
// res.
func (c *fetchCore) complete(ch fetchChunk, res FetchResult, err error) []outgoing {
	c.inFlight--
	if ch.backfill {
		c.backfillInFlight--
	}
	c.flying = slices.DeleteFunc(c.flying, func(f fetchChunk) bool { return f.id == ch.id })
	if err != nil {
		var appErr *temporal.ApplicationError
		c.stats.GenesysRequests++ // the attempts a failed chunk made are not known here
		if errors.As(err, &appErr) && appErr.Type() == ErrTypeBadRequest && len(ch.entries) > 1 {
			// One id made Genesys refuse the whole request: halve until it
			// is alone.
			half := len(ch.entries) / 2
			c.retries = append(c.retries, ch.entries[:half:half], ch.entries[half:])
			return nil
		}
		reason := failureReason(err, c.opts.FetchRetryHorizon)
		var out []outgoing
		for _, e := range ch.entries {
			out = append(out, c.settle(e, outcomeFailed, reason)...)
		}
		return out
	}
	c.stats.GenesysRequests += res.Requests
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
	var out []outgoing
	for _, e := range ch.entries {
		o, ok := outcomes[e.ref.ID]
		if !ok {
			o = outcomeComplete
		}
		out = append(out, c.settle(e, o, reasons[e.ref.ID])...)
	}
	for _, id := range res.AwaitingWrapUpIDs {
		delete(c.stored, id)
	}
	return out
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
func (c *fetchCore) settle(e *fetchEntry, o fetchOutcome, reason string) []outgoing {
	delete(c.entries, fetchKey{id: e.ref.ID, storeIncomplete: e.storeIncomplete})
	if o == outcomeComplete || o == outcomeUnchanged && !e.storeIncomplete {
		c.stored[e.ref.ID] = true
	}
	var out []outgoing
	for i, sub := range e.waiters {
		r := &sub.report
		switch {
		case o == outcomeNotReady:
			r.NotReady = append(r.NotReady, e.ref.ID)
		case o == outcomeFailed:
			if c.bounded {
				reason = truncate(reason, maxReasonLen)
			}
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
			delete(c.open, sub.key)
			c.openOrder = slices.DeleteFunc(c.openOrder, func(x *openSubmission) bool { return x == sub })
			out = append(out, c.report(sub))
		}
	}
	return out
}

// maxRemembered reported submissions: a few minutes of traffic.
const maxRemembered = 4096

// report is a submission's outcome for its batch. A batch that is gone
// (terminated) cannot be told; nothing else depends on it.
func (c *fetchCore) report(o *openSubmission) outgoing {
	c.reported[o.key] = true
	c.reportedOrder = append(c.reportedOrder, o.key)
	if len(c.reportedOrder) > maxRemembered {
		delete(c.reported, c.reportedOrder[0])
		c.reportedOrder = c.reportedOrder[1:]
	}
	return outgoing{workflowID: o.key.Requester, signal: FetchReportSignal, arg: o.report}
}

// invitations asks waitlisted batches to submit again once the queue is
// down to half of maxQueued, reserving room for each invitation.
func (c *fetchCore) invitations() []outgoing {
	var out []outgoing
	for len(c.waitlist) > 0 && c.queued()+(len(c.invited)+1)*c.limits.submission <= c.limits.queued/2 &&
		(!c.bounded || c.carryBytes() <= carryBudget/2) {
		key := c.waitlist[0]
		c.waitlist = c.waitlist[1:]
		c.invited = append(c.invited, CarriedInvitation{SubmissionKey: key, At: c.now})
		out = append(out, outgoing{workflowID: key.Requester, signal: ResubmitSignal, arg: ResubmitRequest{Seq: key.Seq}, invitation: &key})
	}
	return out
}

// undelivered hears of a signal that could not be sent: an invitation's
// reservation is released.
func (c *fetchCore) undelivered(o outgoing) {
	if o.invitation != nil {
		c.uninvite(*o.invitation)
	}
}

func (c *fetchCore) uninvite(key SubmissionKey) {
	c.invited = slices.DeleteFunc(c.invited, func(i CarriedInvitation) bool { return i.SubmissionKey == key })
}

func (c *fetchCore) isInvited(key SubmissionKey) bool {
	return slices.ContainsFunc(c.invited, func(i CarriedInvitation) bool { return i.SubmissionKey == key })
}

// invitationTTL is how long an invitation reserves room. A live batch
// resubmits within a workflow task of being invited; one that does not was
// terminated or is stuck, and must not hold the waitlist up: a batch that
// resubmits after its invitation expired is simply taken as a new
// submission (or waitlisted again).
const invitationTTL = 5 * time.Minute

// advance moves the core's clock to now, dropping expired invitations.
func (c *fetchCore) advance(now time.Time) {
	c.now = now
	if !c.bounded {
		return
	}
	c.invited = slices.DeleteFunc(c.invited, func(i CarriedInvitation) bool { return !now.Before(i.At.Add(invitationTTL)) })
}

// nextExpiry is when the oldest invitation expires; zero when none will.
func (c *fetchCore) nextExpiry() time.Time {
	if !c.bounded || len(c.invited) == 0 {
		return time.Time{}
	}
	return c.invited[0].At.Add(invitationTTL)
}

// carryBudget bounds what the carried state may grow to before new
// submissions wait: the queue (maxQueued entries are about 1 MB) and the
// reports of open submissions, whose not-ready ids and failures grow while
// one of their conversations is still being fetched. One more submission's
// worth can come on top (2,000 failures with the longest reasons, about
// 0.7 MB), so the carry stays below 1.8 MB, inside Temporal's 2 MB payload
// limit.
const carryBudget = 1 << 20

// What one item adds to the carried JSON, as measured.
const (
	carriedEntryBytes    = 50 // {"id":"…","w":[3]},
	carriedNotReadyBytes = 39 // "…",
	carriedFailureBytes  = 64 // {"conversationId":"…","reason":""},
)

// full: a new submission must wait, for the queue's sake or the carry's.
// The backfill lane has half of each, so live submissions always find room.
func (c *fetchCore) full(backfill bool) bool {
	if backfill && (len(c.backfillQueue) >= c.limits.queued/2 || c.carryBytes() >= carryBudget/2) {
		return true
	}
	return c.queued() >= c.limits.queued || c.bounded && c.carryBytes() >= carryBudget
}

// backfillSlots is how many backfill chunks may be in flight: half of
// FetchConcurrency, at least one. The rest stay free for live chunks, which
// the rate-limited queue then dispatches first.
func (c *fetchCore) backfillSlots() int {
	return max(1, c.opts.FetchConcurrency/2)
}

// carryBytes estimates the size of carry() as JSON.
func (c *fetchCore) carryBytes() int {
	n := c.queued() * carriedEntryBytes
	for _, o := range c.openOrder {
		n += len(o.report.NotReady) * carriedNotReadyBytes
		for _, f := range o.report.Failed {
			n += carriedFailureBytes + len(f.Reason)
		}
	}
	return n
}

func (c *fetchCore) queued() int {
	n := len(c.queue) + len(c.deadlineQueue) + len(c.backfillQueue)
	for _, r := range c.retries {
		n += len(r)
	}
	return n
}

// idle: nothing queued, in flight, open, waitlisted or invited.
func (c *fetchCore) idle() bool {
	return c.inFlight == 0 && len(c.open) == 0 && len(c.waitlist) == 0 && len(c.invited) == 0 && c.queued() == 0
}

// carry is the state a new run takes over. The conversations of chunks
// still in flight are carried as queued: the new run fetches them again.
func (c *fetchCore) carry() SchedulerCarry {
	out := SchedulerCarry{Waitlist: c.waitlist, Stats: c.stats}
	index := make(map[*openSubmission]int, len(c.openOrder))
	for i, o := range c.openOrder {
		index[o] = i
		out.Open = append(out.Open, CarriedSubmission{Key: o.key, Pending: o.pending, Report: o.report})
	}
	var flying [][]*fetchEntry
	for _, f := range c.flying {
		flying = append(flying, f.entries)
	}
	queued := slices.Concat(slices.Concat(c.retries...), slices.Concat(flying...), c.deadlineQueue, c.queue, c.backfillQueue)
	if len(queued) > 0 {
		out.OrgID = queued[0].ref.OrgID
	}
	for _, e := range queued {
		f := CarriedFetch{ID: e.ref.ID, StoreIncomplete: e.storeIncomplete, Backfill: e.backfill}
		if e.ref.OrgID != out.OrgID {
			f.OrgID = e.ref.OrgID
		}
		for _, w := range e.waiters {
			f.Waiters = append(f.Waiters, index[w])
		}
		out.Queue = append(out.Queue, f)
	}
	out.Invited = c.invited
	return out
}

func (c *fetchCore) restore(carry SchedulerCarry) {
	c.stats, c.waitlist = carry.Stats, carry.Waitlist
	c.invited = carry.Invited
	open := make([]*openSubmission, len(carry.Open))
	for i, o := range carry.Open {
		open[i] = &openSubmission{key: o.Key, pending: o.Pending, report: o.Report}
		c.open[o.Key] = open[i]
	}
	c.openOrder = open
	for _, f := range carry.Queue {
		e := &fetchEntry{ref: withOrg(ConversationRef{ID: f.ID, OrgID: f.OrgID}, carry.OrgID), storeIncomplete: f.StoreIncomplete, backfill: f.Backfill}
		for _, w := range f.Waiters {
			if w >= 0 && w < len(open) {
				e.waiters = append(e.waiters, open[w])
			}
		}
		c.entries[fetchKey{id: f.ID, storeIncomplete: f.StoreIncomplete}] = e
		c.enqueue(e)
	}
}

func (c *fetchCore) progress() SchedulerProgress {
	return SchedulerProgress{Stats: c.stats, Queued: c.queued(), BackfillQueued: len(c.backfillQueue), InFlight: c.inFlight,
		BackfillInFlight: c.backfillInFlight, Open: len(c.open), Waitlisted: len(c.waitlist), Options: c.opts}
}
