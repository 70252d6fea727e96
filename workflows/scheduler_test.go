package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// schedulerHarness runs FetchScheduler as the root workflow: submissions
// are signalled in, and the signals it sends to batches are recorded.
type schedulerHarness struct {
	env       *testsuite.TestWorkflowEnvironment
	mu        sync.Mutex
	reports   map[SubmissionKey]FetchReport
	resubmits []SubmissionKey
	chunks    [][]string
	// settings are the worker's FETCH_* settings; nil: none configured,
	// and the scheduler keeps the batch's.
	settings *FetchSettings
}

// newSchedulerHarness answers fetch activities with fetch, each taking
// latency of workflow time.
func newSchedulerHarness(t *testing.T, latency time.Duration, fetch func(FetchRequest) (FetchResult, error)) *schedulerHarness {
	var s testsuite.WorkflowTestSuite
	h := &schedulerHarness{env: s.NewTestWorkflowEnvironment(), reports: map[SubmissionKey]FetchReport{}}
	h.env.RegisterWorkflowWithOptions(FetchScheduler, workflow.RegisterOptions{Name: FetchSchedulerWorkflowName})
	h.env.RegisterActivityWithOptions(func(context.Context, FetchRequest) (FetchResult, error) {
		return FetchResult{}, errors.New("unmocked")
	}, activity.RegisterOptions{Name: FetchActivityName})
	h.env.RegisterActivityWithOptions(func(context.Context) (FetchSettings, error) {
		if h.settings == nil {
			return FetchSettings{}, temporal.NewNonRetryableApplicationError("no worker settings in this test", "Unset", nil)
		}
		return *h.settings, nil
	}, activity.RegisterOptions{Name: FetchSettingsActivityName})
	h.env.OnActivity(FetchActivityName, mock.Anything, mock.Anything).After(latency).Return(
		func(_ context.Context, req FetchRequest) (FetchResult, error) {
			ids := make([]string, len(req.Conversations))
			for i, c := range req.Conversations {
				ids[i] = c.ID
			}
			h.mu.Lock()
			h.chunks = append(h.chunks, ids)
			h.mu.Unlock()
			return fetch(req)
		})
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", FetchReportSignal, mock.Anything).Return(
		func(_, workflowID, _, _ string, arg any) error {
			r := arg.(FetchReport)
			h.mu.Lock()
			defer h.mu.Unlock()
			key := SubmissionKey{Requester: workflowID, Seq: r.Seq}
			if _, dup := h.reports[key]; dup {
				t.Errorf("second report for %v", key)
			}
			h.reports[key] = r
			return nil
		}).Maybe()
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", ResubmitSignal, mock.Anything).Return(
		func(_, workflowID, _, _ string, arg any) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.resubmits = append(h.resubmits, SubmissionKey{Requester: workflowID, Seq: arg.(ResubmitRequest).Seq})
			return nil
		}).Maybe()
	return h
}

// submitAt signals a submission into the scheduler after delay.
func (h *schedulerHarness) submitAt(delay time.Duration, sub FetchSubmission) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SubmitFetchesSignal, sub) }, delay)
}

func (h *schedulerHarness) run(t *testing.T, in SchedulerInput) {
	h.env.ExecuteWorkflow(FetchScheduler, in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError(), "an idle scheduler finishes")
}

func storeAll(req FetchRequest) (FetchResult, error) {
	return FetchResult{StoredComplete: len(req.Conversations), Requests: 1}, nil
}

func submission(requester string, seq int, conversations []ConversationRef) FetchSubmission {
	return FetchSubmission{Requester: requester, Seq: seq, Conversations: conversations}
}

func chunkSizes(chunks [][]string) []int {
	sizes := make([]int, len(chunks))
	for i, c := range chunks {
		sizes[i] = len(c)
	}
	return sizes
}

func TestSchedulerFillsAPartialChunkWhileRequestsAreInFlight(t *testing.T) {
	// Fetches take a second, so the second submission arrives while two are
	// in flight and the 50 left over from the first are still waiting.
	h := newSchedulerHarness(t, time.Second, storeAll)
	all := refs(300)
	h.submitAt(0, submission("batch-a", 1, all[:250]))
	h.submitAt(100*time.Millisecond, submission("batch-b", 1, all[250:]))
	h.run(t, SchedulerInput{})

	assert.Equal(t, []int{100, 100, 100}, chunkSizes(h.chunks), "the third request waited for the second batch")
	assert.Equal(t, FetchReport{Seq: 1, StoredComplete: 250}, h.reports[SubmissionKey{"batch-a", 1}])
	assert.Equal(t, FetchReport{Seq: 1, StoredComplete: 50}, h.reports[SubmissionKey{"batch-b", 1}])
}

func TestSchedulerSendsALonePartialChunkWhenNothingElseIsInFlight(t *testing.T) {
	h := newSchedulerHarness(t, 0, storeAll)
	h.submitAt(0, submission("batch-a", 1, refs(7)))
	h.run(t, SchedulerInput{})
	assert.Equal(t, []int{7}, chunkSizes(h.chunks))
	assert.Equal(t, FetchReport{Seq: 1, StoredComplete: 7}, h.reports[SubmissionKey{"batch-a", 1}])
}

func TestSchedulerFetchesAConversationOnceForEveryBatchThatWantsIt(t *testing.T) {
	h := newSchedulerHarness(t, 0, func(req FetchRequest) (FetchResult, error) {
		res := FetchResult{Requests: 1}
		for _, c := range req.Conversations {
			if c.ID == refs(3)[2].ID {
				res.NotReady = append(res.NotReady, c.ID)
			}
		}
		return res, nil
	})
	all := refs(3)
	// Both batches submit in the same workflow task: nothing is fetched yet.
	h.submitAt(0, submission("batch-a", 1, all))
	h.submitAt(0, submission("batch-b", 7, []ConversationRef{all[1], all[2], all[1]}))
	// A third comes after the first fetch: all[0] and all[1] are stored.
	h.submitAt(time.Minute, submission("batch-c", 1, all[:2]))
	h.run(t, SchedulerInput{})

	require.Len(t, h.chunks, 1)
	assert.ElementsMatch(t, []string{all[0].ID, all[1].ID, all[2].ID}, h.chunks[0], "one request for all three batches")
	assert.Equal(t, FetchReport{Seq: 1, StoredComplete: 2, NotReady: []string{all[2].ID}}, h.reports[SubmissionKey{"batch-a", 1}])
	assert.Equal(t, FetchReport{Seq: 7, Unchanged: 1, NotReady: []string{all[2].ID}}, h.reports[SubmissionKey{"batch-b", 7}],
		"the second submitter is told it was stored for someone else; repeated ids count once")
	assert.Equal(t, FetchReport{Seq: 1, Unchanged: 2}, h.reports[SubmissionKey{"batch-c", 1}], "stored during this run: no request")
}

func TestSchedulerNamesTheCommonOrgOnce(t *testing.T) {
	var got []FetchRequest
	h := newSchedulerHarness(t, 0, func(req FetchRequest) (FetchResult, error) {
		got = append(got, req)
		return storeAll(req)
	})
	all := refs(3)
	h.submitAt(0, FetchSubmission{Requester: "batch-a", Seq: 1, OrgID: "org-1",
		Conversations: []ConversationRef{{ID: all[0].ID}, {ID: all[1].ID, OrgID: "org-2"}, {ID: all[2].ID}}})
	h.run(t, SchedulerInput{})
	require.Len(t, got, 1)
	assert.Equal(t, FetchRequest{OrgID: "org-1", Conversations: []ConversationRef{{ID: all[0].ID}, {ID: all[1].ID, OrgID: "org-2"}, {ID: all[2].ID}},
		Requesters: []string{"batch-a"}, RequestedBy: [][]int{{0}, {0}, {0}}}, got[0])
}

func TestSchedulerIgnoresARepeatedSubmission(t *testing.T) {
	h := newSchedulerHarness(t, 0, storeAll)
	sub := submission("batch-a", 1, refs(5))
	h.submitAt(0, sub)
	h.submitAt(0, sub)
	h.run(t, SchedulerInput{})
	assert.Equal(t, []int{5}, chunkSizes(h.chunks))
	assert.Len(t, h.reports, 1)
}

func TestSchedulerWaitlistsSubmissionsWhenFullAndInvitesThemBack(t *testing.T) {
	h := newSchedulerHarness(t, time.Second, storeAll)
	// The first submission goes straight into ten requests in flight; the
	// next ten fill the queue; the last two wait.
	const n = 1 + maxQueued/maxSubmission + 2
	all := refs(n * maxSubmission)
	for i := range n {
		h.submitAt(0, submission(fmt.Sprintf("batch-%02d", i), 1, all[i*maxSubmission:(i+1)*maxSubmission]))
	}
	// The waitlisted batches answer their invitation a minute later, well
	// inside invitationTTL.
	for i := n - 2; i < n; i++ {
		h.submitAt(time.Minute, submission(fmt.Sprintf("batch-%02d", i), 1, all[i*maxSubmission:(i+1)*maxSubmission]))
	}
	h.run(t, SchedulerInput{})

	assert.Equal(t, []SubmissionKey{{fmt.Sprintf("batch-%02d", n-2), 1}, {fmt.Sprintf("batch-%02d", n-1), 1}}, h.resubmits,
		"the queue held maxQueued conversations; the rest waited their turn")
	require.Len(t, h.reports, n)
	for key, r := range h.reports {
		assert.Equal(t, maxSubmission, r.StoredComplete, key)
	}
}

func TestSchedulerAsksForASubmissionItDoesNotKnow(t *testing.T) {
	h := newSchedulerHarness(t, 0, storeAll)
	h.submitAt(0, submission("batch-a", 1, refs(3)))
	// batch-a's report is out; batch-b's submission was never seen (sent to
	// a scheduler that was terminated since).
	h.submitAt(time.Minute, FetchSubmission{Requester: "batch-a", Seq: 1, Ping: true})
	h.submitAt(time.Minute, FetchSubmission{Requester: "batch-b", Seq: 4, Ping: true})
	h.run(t, SchedulerInput{})
	assert.Equal(t, []SubmissionKey{{"batch-b", 4}}, h.resubmits,
		"a ping for an unknown submission asks for it again; one already reported is not fetched twice")
}

func TestSchedulerIsolatesTheConversationGenesysRefuses(t *testing.T) {
	all := refs(8)
	h := newSchedulerHarness(t, 0, func(req FetchRequest) (FetchResult, error) {
		for _, c := range req.Conversations {
			if c.ID == all[5].ID {
				return FetchResult{}, temporal.NewApplicationErrorWithOptions("400 bad.request", ErrTypeBadRequest,
					temporal.ApplicationErrorOptions{NonRetryable: true})
			}
		}
		return storeAll(req)
	})
	h.submitAt(0, submission("batch-a", 1, all))
	h.run(t, SchedulerInput{})
	r := h.reports[SubmissionKey{"batch-a", 1}]
	assert.Equal(t, 7, r.StoredComplete)
	require.Len(t, r.Failed, 1)
	assert.Equal(t, all[5].ID, r.Failed[0].ConversationID)
}

func TestSchedulerContinuesAsNewWithItsQueueAndOpenSubmissions(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	first := s.NewTestWorkflowEnvironment()
	first.RegisterWorkflowWithOptions(FetchScheduler, workflow.RegisterOptions{Name: FetchSchedulerWorkflowName})
	calls := 0
	first.RegisterActivityWithOptions(func(_ context.Context, req FetchRequest) (FetchResult, error) {
		calls++
		first.SetContinueAsNewSuggested(true)
		return storeAll(req)
	}, activity.RegisterOptions{Name: FetchActivityName})
	first.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", mock.Anything, mock.Anything).Return(nil).Maybe()
	all := refs(250)
	one := Options{FetchConcurrency: 1}
	first.RegisterDelayedCallback(func() {
		first.SignalWorkflow(SubmitFetchesSignal, FetchSubmission{Requester: "batch-a", Seq: 1, Conversations: all[:150], Options: one})
		first.SignalWorkflow(SubmitFetchesSignal, FetchSubmission{Requester: "batch-b", Seq: 2, Conversations: all[100:], Options: one})
	}, 0)
	first.ExecuteWorkflow(FetchScheduler, SchedulerInput{Options: one})

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(first.GetWorkflowError(), &can), "want continue-as-new, got %v", first.GetWorkflowError())
	assert.Equal(t, 1, calls, "it stopped dispatching and let the one in flight finish")
	var next SchedulerInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Carry)
	assert.Equal(t, 1, next.Options.FetchConcurrency)
	require.Len(t, next.Carry.Open, 2)
	assert.Equal(t, CarriedSubmission{Key: SubmissionKey{"batch-a", 1}, Pending: 50, Report: FetchReport{Seq: 1, StoredComplete: 100}}, next.Carry.Open[0])
	assert.Equal(t, 150, next.Carry.Open[1].Pending)
	require.Len(t, next.Carry.Queue, 150)
	assert.Equal(t, []int{0, 1}, next.Carry.Queue[0].Waiters, "ids both batches want stay shared")
	assert.Equal(t, []int{1}, next.Carry.Queue[149].Waiters)
	assert.Equal(t, 1, next.Carry.Stats.Chunks)

	h := newSchedulerHarness(t, 0, storeAll)
	h.run(t, next)
	assert.Equal(t, []int{100, 50}, chunkSizes(h.chunks))
	assert.Equal(t, FetchReport{Seq: 1, StoredComplete: 150}, h.reports[SubmissionKey{"batch-a", 1}])
	assert.Equal(t, FetchReport{Seq: 2, StoredComplete: 100, Unchanged: 50}, h.reports[SubmissionKey{"batch-b", 2}])
}

// TestBatchesShareOneScheduler runs two batches with overlapping
// conversations side by side, each starting or finding the scheduler as on a
// server.
func TestBatchesShareOneScheduler(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	all := refs(250)
	var mu sync.Mutex
	fetched := map[string]int{}
	env := newEnv(&s)
	env.RegisterActivityWithOptions(func(_ context.Context, req FetchRequest) (FetchResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range req.Conversations {
			fetched[c.ID]++
		}
		return storeAll(req)
	}, activity.RegisterOptions{Name: FetchActivityName})
	env.RegisterWorkflow(twoBatches)
	env.ExecuteWorkflow(twoBatches, all[:150], all[100:])
	require.NoError(t, env.GetWorkflowError())
	var summaries []Summary
	require.NoError(t, env.GetWorkflowResult(&summaries))

	assert.Len(t, fetched, 250)
	for id, n := range fetched {
		assert.Equal(t, 1, n, id)
	}
	a, b := summaries[0], summaries[1]
	assert.Equal(t, 250, a.StoredComplete+b.StoredComplete)
	assert.Equal(t, 50, a.Unchanged+b.Unchanged)
	assert.Zero(t, a.Failed+b.Failed)
}

func twoBatches(ctx workflow.Context, a, b []ConversationRef) ([]Summary, error) {
	var futures []workflow.Future
	for i, in := range [][]ConversationRef{a, b} {
		if i > 0 {
			// The test environment cannot have two children race to
			// start the same scheduler; a server can.
			_ = workflow.Sleep(ctx, time.Second)
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: fmt.Sprintf("batch-%d", i)})
		futures = append(futures, workflow.ExecuteChildWorkflow(cctx, IngestWorkflowName, IngestInput{Conversations: in}))
	}
	out := make([]Summary, len(futures))
	for i, f := range futures {
		if err := f.Get(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func TestPartialChunkRule(t *testing.T) {
	c := newFetchCore(Options{FetchBatchSize: 100}.withDefaults(), nil)
	c.queue = make([]*fetchEntry, 30)
	c.inFlight = 2
	_, ok := c.nextChunk()
	assert.False(t, ok, "two in flight: wait for more")
	c.inFlight = partialChunkInFlight
	ch, ok := c.nextChunk()
	require.True(t, ok)
	assert.Len(t, ch.entries, 30)
	assert.Empty(t, c.queue)
}

// TestSchedulerKeepsItsSignalsInFlightBounded: a burst of pings for
// submissions a fresh scheduler does not know asks each batch to resubmit,
// but never leaves more than maxSignalsInFlight signals unanswered, far
// below the 2,000 at which Temporal would fail every workflow task.
func TestSchedulerKeepsItsSignalsInFlightBounded(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(FetchScheduler, workflow.RegisterOptions{Name: FetchSchedulerWorkflowName})
	env.RegisterActivityWithOptions(storeAllActivity, activity.RegisterOptions{Name: FetchActivityName})
	var mu sync.Mutex
	sent := 0
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", ResubmitSignal, mock.Anything).After(time.Second).Return(
		func(_, _, _, _ string, _ any) error {
			mu.Lock()
			defer mu.Unlock()
			sent++
			return nil
		})
	// The test environment takes at most about a thousand signals from one
	// callback; a millisecond apart, the pings still all come before the
	// first answer.
	const pings, perCallback = 1100, 100
	for c := range pings / perCallback {
		env.RegisterDelayedCallback(func() {
			for i := c * perCallback; i < (c+1)*perCallback; i++ {
				env.SignalWorkflow(SubmitFetchesSignal, FetchSubmission{Requester: fmt.Sprintf("batch-%04d", i), Seq: 1, Ping: true})
			}
		}, time.Duration(c)*time.Millisecond)
	}
	var during SchedulerProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&during))
	}, 500*time.Millisecond)
	env.ExecuteWorkflow(FetchScheduler, SchedulerInput{})
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, 500, during.SignalsInFlight, "every ping came in, the answers had not")
	assert.Equal(t, pings-500, during.SignalsWaiting)
	assert.Equal(t, pings, sent, "every batch is asked to resubmit")
}

func storeAllActivity(_ context.Context, req FetchRequest) (FetchResult, error) { return storeAll(req) }

// TestSchedulerContinuesAsNewWithinSecondsOfASlowChunk: a chunk stuck in a
// retry cycle does not hold dispatch up; after maxDrain the run continues
// as new and carries that chunk's conversations as queued.
func TestSchedulerContinuesAsNewWithinSecondsOfASlowChunk(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(FetchScheduler, workflow.RegisterOptions{Name: FetchSchedulerWorkflowName})
	env.RegisterActivityWithOptions(storeAllActivity, activity.RegisterOptions{Name: FetchActivityName})
	env.OnActivity(FetchActivityName, mock.Anything, mock.Anything).After(time.Hour).Return(storeAllActivity)
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", mock.Anything, mock.Anything).Return(nil).Maybe()
	all := refs(150)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SubmitFetchesSignal, FetchSubmission{Requester: "batch-a", Seq: 1, Conversations: all})
	}, 0)
	// The server suggests continue-as-new as the history grows, that is when
	// something arrives: here a ping.
	env.RegisterDelayedCallback(func() {
		env.SetContinueAsNewSuggested(true)
		env.SignalWorkflow(SubmitFetchesSignal, FetchSubmission{Requester: "batch-a", Seq: 1, Ping: true})
	}, time.Minute)
	start := env.Now()
	env.ExecuteWorkflow(FetchScheduler, SchedulerInput{})

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	assert.LessOrEqual(t, env.Now().Sub(start), time.Minute+maxDrain+time.Second, "continued as new within maxDrain of being asked")
	var next SchedulerInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Len(t, next.Carry.Queue, 150, "the conversations of both chunks in flight are queued again")
	require.Len(t, next.Carry.Open, 1)
	assert.Equal(t, 150, next.Carry.Open[0].Pending)
}

// TestTheWorkersFetchSettingsWin: the scheduler spends the budget as the
// worker is configured, whatever the batches' forwarder said; a second
// forwarder version's options do not switch it either.
func TestTheWorkersFetchSettingsWin(t *testing.T) {
	h := newSchedulerHarness(t, 0, storeAll)
	h.settings = &FetchSettings{BatchSize: 10, Concurrency: 2, RetryHorizon: time.Hour, RetryMaxInterval: time.Minute}
	all := refs(60)
	h.submitAt(0, FetchSubmission{Requester: "batch-a", Seq: 1, Conversations: all[:30], Options: Options{FetchBatchSize: 100}})
	h.submitAt(0, FetchSubmission{Requester: "batch-b", Seq: 1, Conversations: all[30:], Options: Options{FetchBatchSize: 25}})
	h.run(t, SchedulerInput{Options: Options{FetchBatchSize: 100}})
	assert.Equal(t, []int{10, 10, 10, 10, 10, 10}, chunkSizes(h.chunks))
}
