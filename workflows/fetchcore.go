package workflows

import (
	"errors"
	"slices"

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
//     that cannot be delivered is dropped.
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
	opts  Options
	stats SchedulerStats

	queue         []*fetchEntry   // not dispatched, in order
	deadlineQueue []*fetchEntry   // storeIncomplete ones: their batches' deadlines passed
	retries       [][]*fetchEntry // halves of chunks Genesys refused for one id
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

	inFlight int
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
	entries         []*fetchEntry
	storeIncomplete bool
}

func (c fetchChunk) request() FetchRequest {
	refs := make([]ConversationRef, len(c.entries))
	for i, e := range c.entries {
		refs[i] = e.ref
	}
	org, refs := compactRefs(refs)
	return FetchRequest{OrgID: org, Conversations: refs, StoreIncomplete: c.storeIncomplete}
}

// newFetchCore returns the core of a run, restoring carry when the run was
// continued as new.
func newFetchCore(opts Options, carry *SchedulerCarry) *fetchCore {
	c := &fetchCore{
		opts:    opts,
		entries: map[fetchKey]*fetchEntry{},
		open:    map[SubmissionKey]*openSubmission{},
		stored:  map[string]bool{},
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
	invited := slices.Contains(c.invited, key)
	known := c.open[key] != nil || invited || slices.Contains(c.waitlist, key)
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
	if opts := sub.Options.withDefaults(); opts.validate() == nil {
		c.opts = opts
	}
	if !invited && c.queued() >= maxQueued && len(sub.Conversations) > 0 {
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
		if e == nil {
			e = &fetchEntry{ref: withOrg(ConversationRef{ID: ref.ID, OrgID: ref.OrgID}, sub.OrgID), storeIncomplete: sub.StoreIncomplete}
			c.entries[k] = e
			c.enqueue(e)
		} else {
			c.stats.Coalesced++
		}
		e.waiters = append(e.waiters, o)
		o.pending++
	}
	if o.pending == 0 {
		return []outgoing{report(o)}
	}
	c.open[key] = o
	c.openOrder = append(c.openOrder, o)
	return nil
}

func (c *fetchCore) enqueue(e *fetchEntry) {
	if e.storeIncomplete {
		c.deadlineQueue = append(c.deadlineQueue, e)
	} else {
		c.queue = append(c.queue, e)
	}
}

// nextChunk hands out the next chunk to fetch, counting it in flight, if
// one is due and fewer than FetchConcurrency are in flight: halves of a
// refused chunk first, then conversations whose batch's deadline has
// passed, then a full chunk, or a partial one when the queue of scheduled
// fetches is about to run dry.
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
	case len(c.queue) >= size || len(c.queue) > 0 && c.inFlight <= partialChunkInFlight:
		n := min(size, len(c.queue))
		ch = fetchChunk{entries: c.queue[:n:n]}
		c.queue = c.queue[n:]
	default:
		return fetchChunk{}, false
	}
	c.inFlight++
	c.stats.Chunks++
	return ch, true
}

// complete settles a chunk's conversations with every submission waiting
// for them: err is the fetch activity's final error, nil when it returned
// res.
func (c *fetchCore) complete(ch fetchChunk, res FetchResult, err error) []outgoing {
	c.inFlight--
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
			out = append(out, report(sub))
		}
	}
	return out
}

// report is a submission's outcome for its batch. A batch that is gone
// (terminated) cannot be told; nothing else depends on it.
func report(o *openSubmission) outgoing {
	return outgoing{workflowID: o.key.Requester, signal: FetchReportSignal, arg: o.report}
}

// invitations asks waitlisted batches to submit again once the queue is
// down to half of maxQueued, reserving room for each invitation.
func (c *fetchCore) invitations() []outgoing {
	var out []outgoing
	for len(c.waitlist) > 0 && c.queued()+(len(c.invited)+1)*maxSubmission <= maxQueued/2 {
		key := c.waitlist[0]
		c.waitlist = c.waitlist[1:]
		c.invited = append(c.invited, key)
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
	c.invited = slices.DeleteFunc(c.invited, func(k SubmissionKey) bool { return k == key })
}

func (c *fetchCore) queued() int {
	n := len(c.queue) + len(c.deadlineQueue)
	for _, r := range c.retries {
		n += len(r)
	}
	return n
}

// idle: nothing queued, in flight, open, waitlisted or invited.
func (c *fetchCore) idle() bool {
	return c.inFlight == 0 && len(c.open) == 0 && len(c.waitlist) == 0 && len(c.invited) == 0 && c.queued() == 0
}

// carry is the state a new run takes over. Nothing may be in flight.
func (c *fetchCore) carry() SchedulerCarry {
	out := SchedulerCarry{Waitlist: c.waitlist, Stats: c.stats}
	index := make(map[*openSubmission]int, len(c.openOrder))
	for i, o := range c.openOrder {
		index[o] = i
		out.Open = append(out.Open, CarriedSubmission{Key: o.key, Pending: o.pending, Report: o.report})
	}
	queued := slices.Concat(slices.Concat(c.retries...), c.deadlineQueue, c.queue)
	if len(queued) > 0 {
		out.OrgID = queued[0].ref.OrgID
	}
	for _, e := range queued {
		f := CarriedFetch{ID: e.ref.ID, StoreIncomplete: e.storeIncomplete}
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
		e := &fetchEntry{ref: withOrg(ConversationRef{ID: f.ID, OrgID: f.OrgID}, carry.OrgID), storeIncomplete: f.StoreIncomplete}
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
	return SchedulerProgress{Stats: c.stats, Queued: c.queued(), InFlight: c.inFlight, Open: len(c.open),
		Waitlisted: len(c.waitlist), Options: c.opts}
}
