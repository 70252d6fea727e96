package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Limits on one run's history. Temporal warns at 10,240 events; a run hands
// over to a fresh one well before that, or when the server suggests it.
const continueAsNewAfterEvents = 8000

// fetchRetry bounds every Genesys fetch: a 429 waits for its Retry-After
// (NextRetryDelay overrides the backoff), anything transient backs off, and
// after fetchMaxAttempts the chunk's conversations are reported as failed
// instead of being retried forever.
const fetchMaxAttempts = 12

var fetchRetry = &temporal.RetryPolicy{
	InitialInterval:    2 * time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    2 * time.Minute,
	MaximumAttempts:    fetchMaxAttempts,
	NonRetryableErrorTypes: []string{
		ErrTypeBadRequest, ErrTypeRejected, ErrTypeInvalidRecord,
	},
}

// IngestConversations fetches the analytics record of every conversation in
// the input from Genesys and stores it in DynamoDB. Conversations whose record
// is not complete yet are fetched again, less and less often, until
// Options.ReadyTimeout; then what there is gets stored as incomplete. One bad
// conversation never fails the batch: it is reported in the Summary.
func IngestConversations(ctx workflow.Context, in IngestInput) (Summary, error) {
	w, err := newIngestion(ctx, in)
	if err != nil {
		// The deployment's workflow-failure alarm counts this log line.
		workflow.GetLogger(ctx).Error("workflow failed", "batchId", in.BatchID, "error", err)
		return Summary{}, err
	}
	return w.run(ctx)
}

// ingestion is one run's state. Conversations are fetched in rounds: the due
// ones in chunks, at most FetchConcurrency chunks in flight; the ones not
// ready yet wait for the next round.
type ingestion struct {
	batchID    string
	opts       Options
	logger     log.Logger
	summary    Summary
	deadline   time.Time
	polls      int
	due        []ConversationRef
	inFlight   int
	waiting    []ConversationRef
	nextPollAt time.Time
	// checkTable is false only for executions started before the table
	// check existed, so their histories still replay.
	checkTable bool
}

func newIngestion(ctx workflow.Context, in IngestInput) (*ingestion, error) {
	w := &ingestion{
		batchID: in.BatchID,
		opts:    in.Options.withDefaults(),
	}
	if err := w.opts.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	w.logger = log.With(workflow.GetLogger(ctx), "batchId", in.BatchID)

	if c := in.Carry; c != nil {
		w.deadline, w.polls, w.summary = c.Deadline, c.Polls, c.Summary
		w.waiting, w.nextPollAt = c.Waiting, c.NextPollAt
		w.due = in.Conversations
	} else {
		w.deadline = workflow.Now(ctx).Add(w.opts.ReadyTimeout)
		w.due = w.admit(in.Conversations)
	}
	w.summary.Runs++
	w.checkTable = workflow.GetVersion(ctx, "check-table-before-fetch", workflow.DefaultVersion, 1) == 1

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
	for {
		if len(w.due) > 0 {
			w.fetchRound(ctx)
			if len(w.due) > 0 { // the round stopped early to keep history small
				return Summary{}, w.continueAsNew(ctx)
			}
		}
		w.publishDetails(ctx)
		if len(w.waiting) == 0 {
			break
		}
		if w.shouldContinueAsNew(ctx) {
			return Summary{}, w.continueAsNew(ctx)
		}
		if err := w.waitForNextPoll(ctx); err != nil {
			return Summary{}, err
		}
	}
	w.logger.Info("ingestion finished",
		"received", w.summary.Received, "storedComplete", w.summary.StoredComplete,
		"storedIncomplete", w.summary.StoredIncomplete, "unchanged", w.summary.Unchanged,
		"failed", w.summary.Failed, "genesysRequests", w.summary.GenesysRequests)
	return w.summary, nil
}

// fetchRound fetches every due conversation, keeping at most
// FetchConcurrency chunks in flight. Ids are taken a window at a time and
// checked against the table just before they are chunked, so a conversation
// another batch has stored in the meantime costs no Genesys request. It
// leaves in w.due whatever it did not dispatch because the run should
// continue as new.
func (w *ingestion) fetchRound(ctx workflow.Context) {
	storeIncomplete := !workflow.Now(ctx).Before(w.deadline)
	pending := w.due
	w.due = nil
	var queue [][]ConversationRef
	selector := workflow.NewSelector(ctx)
	for {
		for w.inFlight < w.opts.FetchConcurrency && !w.shouldContinueAsNew(ctx) {
			if len(queue) == 0 {
				if len(pending) == 0 {
					break
				}
				window := pending[:min(len(pending), filterWindow*w.opts.FetchBatchSize)]
				pending = pending[len(window):]
				if w.checkTable {
					window = w.skipStored(ctx, window)
				}
				queue = chunk(window, w.opts.FetchBatchSize)
				continue
			}
			refs := queue[0]
			queue = queue[1:]
			w.inFlight++
			future := workflow.ExecuteActivity(w.fetchContext(ctx, len(refs)), FetchActivityName,
				FetchRequest{Conversations: fetchTargets(refs), StoreIncomplete: storeIncomplete})
			selector.AddFuture(future, func(f workflow.Future) {
				w.inFlight--
				var res FetchResult
				err := f.Get(ctx, &res)
				queue = append(queue, w.record(refs, res, err, storeIncomplete)...)
			})
		}
		if w.inFlight == 0 {
			break
		}
		selector.Select(ctx)
	}
	for _, refs := range queue {
		w.due = append(w.due, refs...)
	}
	w.due = append(w.due, pending...)
}

// filterWindow is how many chunks' worth of ids are checked against the table
// at once: large enough to cost little history, small enough that the check
// is fresh when the chunks are dispatched.
const filterWindow = 10

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
		w.logger.Warn("could not check which conversations are stored; fetching them all", "error", err)
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

func (w *ingestion) fetchContext(ctx workflow.Context, n int) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           w.opts.GenesysTaskQueue,
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         fetchRetry,
		Summary:             fmt.Sprintf("fetch and store %d conversations", n),
	})
}

// record folds one chunk's outcome into the run's state. It returns chunks to
// fetch again in this round: the halves of a chunk that Genesys refused as a
// bad request, so the one id that caused it is isolated.
func (w *ingestion) record(refs []ConversationRef, res FetchResult, err error, final bool) [][]ConversationRef {
	if err != nil {
		var appErr *temporal.ApplicationError
		isApp := errors.As(err, &appErr)
		if isApp && appErr.Type() == ErrTypeBadRequest && len(refs) > 1 {
			w.summary.GenesysRequests++
			half := len(refs) / 2
			return [][]ConversationRef{refs[:half], refs[half:]}
		}
		if isApp && (appErr.NonRetryable() || slices.Contains(fetchRetry.NonRetryableErrorTypes, appErr.Type())) {
			w.summary.GenesysRequests++
		} else {
			w.summary.GenesysRequests += fetchMaxAttempts
		}
		reason := failureReason(err)
		w.logger.Warn("chunk failed", "conversations", len(refs), "reason", reason)
		for _, r := range refs {
			w.fail(r.ID, reason)
		}
		return nil
	}

	w.summary.StoredComplete += res.StoredComplete
	w.summary.StoredIncomplete += res.StoredIncomplete
	w.summary.Unchanged += res.Unchanged
	w.summary.GenesysRequests += res.Requests
	for _, f := range res.Failed {
		w.fail(f.ConversationID, f.Reason)
	}
	if len(res.NotReady) == 0 {
		return nil
	}
	byID := make(map[string]ConversationRef, len(refs))
	for _, r := range refs {
		byID[r.ID] = r
	}
	for _, id := range res.NotReady {
		r, ok := byID[id]
		if !ok {
			continue // not ours; the activity never invents ids, but never trust blindly
		}
		if final {
			w.fail(id, fmt.Sprintf("not found in Genesys analytics within READY_TIMEOUT (%s)", w.opts.ReadyTimeout))
			continue
		}
		w.waiting = append(w.waiting, r)
	}
	return nil
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
		if err := workflow.NewTimer(ctx, d).Get(ctx, nil); err != nil {
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

func (w *ingestion) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= continueAsNewAfterEvents
}

func (w *ingestion) continueAsNew(ctx workflow.Context) error {
	w.logger.Info("continuing as new", "due", len(w.due), "waiting", len(w.waiting))
	return workflow.NewContinueAsNewError(ctx, IngestConversations, IngestInput{
		BatchID:       w.batchID,
		Conversations: w.due,
		Options:       w.opts,
		Carry: &Carry{
			Deadline:   w.deadline,
			Polls:      w.polls,
			Waiting:    w.waiting,
			NextPollAt: w.nextPollAt,
			Summary:    w.summary,
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
	return Progress{
		Summary:    w.summary,
		Pending:    w.summary.Received - done,
		Waiting:    len(w.waiting),
		Polls:      w.polls,
		NextPollAt: w.nextPollAt,
		Deadline:   w.deadline,
	}, nil
}

// publishDetails shows the run's progress in the Web UI.
func (w *ingestion) publishDetails(ctx workflow.Context) {
	s := w.summary
	details := fmt.Sprintf("**%d** received · **%d** stored complete · **%d** incomplete · **%d** unchanged · **%d** failed · **%d** Genesys requests",
		s.Received, s.StoredComplete, s.StoredIncomplete, s.Unchanged, s.Failed, s.GenesysRequests)
	if len(w.waiting) > 0 {
		details += fmt.Sprintf("\n\n%d not ready yet; poll %d; stored as they are at %s", len(w.waiting), w.polls+1, w.deadline.Format(time.RFC3339))
	}
	workflow.SetCurrentDetails(ctx, details)
}

func failureReason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return truncate(appErr.Error(), 300)
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return truncate("fetch timed out: "+timeoutErr.Error(), 300)
	}
	return truncate(err.Error(), 300)
}

// fetchTargets keeps only what the activity needs (id and org), since every
// chunk's input is recorded in history again at every poll.
func fetchTargets(refs []ConversationRef) []ConversationRef {
	out := make([]ConversationRef, len(refs))
	for i, r := range refs {
		out[i] = ConversationRef{ID: r.ID, OrgID: r.OrgID}
	}
	return out
}

func chunk(refs []ConversationRef, size int) [][]ConversationRef {
	chunks := make([][]ConversationRef, 0, (len(refs)+size-1)/size)
	for start := 0; start < len(refs); start += size {
		chunks = append(chunks, refs[start:min(start+size, len(refs))])
	}
	return chunks
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
