package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

type ingestSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
}

func TestIngest(t *testing.T) { suite.Run(t, new(ingestSuite)) }

// nothingStored is the table check when the table holds none of the ids.
func nothingStored(context.Context, StoredRequest) (StoredResult, error) { return StoredResult{}, nil }

func registerTableCheck(env *testsuite.TestWorkflowEnvironment, check func(context.Context, StoredRequest) (StoredResult, error)) {
	env.RegisterActivityWithOptions(check, activity.RegisterOptions{Name: FindStoredActivityName})
}

// newEnv registers both workflows; scheduler, if given, stands in for
// FetchScheduler. Until a batch starts the scheduler, a signal to it fails
// as it does on a server where it is not running.
func newEnv(s *testsuite.WorkflowTestSuite, scheduler ...func(workflow.Context, SchedulerInput) error) *testsuite.TestWorkflowEnvironment {
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(IngestConversations, workflow.RegisterOptions{Name: IngestWorkflowName})
	env.RegisterWorkflowWithOptions(Backfill, workflow.RegisterOptions{Name: BackfillWorkflowName})
	sched := FetchScheduler
	if len(scheduler) > 0 {
		sched = scheduler[0]
	}
	env.RegisterWorkflowWithOptions(sched, workflow.RegisterOptions{Name: FetchSchedulerWorkflowName})
	env.OnSignalExternalWorkflow(mock.Anything, FetchSchedulerID(DefaultGenesysTaskQueue), "", SubmitFetchesSignal, mock.Anything).
		Return(errors.New("unknown external workflow execution")).Maybe()
	registerTableCheck(env, nothingStored)
	env.RegisterActivityWithOptions(func(context.Context, RecordFailuresRequest) error { return nil },
		activity.RegisterOptions{Name: RecordFailuresActivityName})
	env.RegisterActivityWithOptions(func(context.Context, BatchRecordRequest) error { return nil },
		activity.RegisterOptions{Name: RecordBatchActivityName})
	env.RegisterActivityWithOptions(func(context.Context, SchedulerCheckRequest) (SchedulerCheck, error) {
		return SchedulerCheck{Running: true}, nil
	}, activity.RegisterOptions{Name: CheckSchedulerActivityName})
	return env
}

// recorded collects what a batch wrote to the table through the record
// activities.
type recorded struct {
	mu       sync.Mutex
	failures []ConversationFailure
	batches  []BatchRecordRequest
}

func recordInto(env *testsuite.TestWorkflowEnvironment) *recorded {
	r := &recorded{}
	env.OnActivity(RecordFailuresActivityName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req RecordFailuresRequest) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.failures = append(r.failures, req.Failures...)
			return nil
		})
	env.OnActivity(RecordBatchActivityName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req BatchRecordRequest) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.batches = append(r.batches, req)
			return nil
		})
	return r
}

func (s *ingestSuite) SetupTest() {
	s.env = newEnv(&s.WorkflowTestSuite)
	s.env.RegisterActivityWithOptions(func(context.Context, FetchRequest) (FetchResult, error) {
		return FetchResult{}, errors.New("unmocked")
	}, activity.RegisterOptions{Name: FetchActivityName})
}

// genesysFake answers fetch activities from a table of per-conversation
// behaviour, and records every call with the workflow clock.
type genesysFake struct {
	mu    sync.Mutex
	env   *testsuite.TestWorkflowEnvironment
	calls []fakeCall
	// readyAt: conversations not listed are complete at once; listed ones are
	// absent before the time given.
	readyAt map[string]time.Time
	// endedAt: conversations present without conversationEnd before it.
	endedAt map[string]time.Time
	// badRequest ids make any request that contains them fail with a 400.
	badRequest map[string]bool
	// forbiddenUntil: until then, every request fails as a client that lost
	// its permission does (403, systemic).
	forbiddenUntil time.Time
	// rateLimitFirst answers the first n calls with a 429 and Retry-After.
	rateLimitFirst int
	retryAfter     time.Duration
}

type fakeCall struct {
	at  time.Time
	req FetchRequest
}

func (f *genesysFake) fetch(_ context.Context, req FetchRequest) (FetchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.env.Now()
	f.calls = append(f.calls, fakeCall{at: now, req: req})
	if len(f.calls) <= f.rateLimitFirst {
		return FetchResult{}, temporal.NewApplicationErrorWithOptions("429 too.many.requests.retry.after", ErrTypeRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: f.retryAfter})
	}
	res := FetchResult{Requests: 1}
	for _, c := range req.Conversations {
		switch {
		case f.badRequest[c.ID]:
			return FetchResult{}, temporal.NewApplicationErrorWithOptions("400 bad.request", ErrTypeBadRequest,
				temporal.ApplicationErrorOptions{NonRetryable: true})
		}
	}
	if now.Before(f.forbiddenUntil) {
		return FetchResult{}, temporal.NewApplicationError("403 missing.permissions", ErrTypeUnauthorized)
	}
	for _, c := range req.Conversations {
		switch {
		case now.Before(f.readyAt[c.ID]):
			res.NotReady = append(res.NotReady, c.ID)
		case now.Before(f.endedAt[c.ID]) && !req.StoreIncomplete:
			res.NotReady = append(res.NotReady, c.ID)
		case now.Before(f.endedAt[c.ID]):
			res.StoredIncomplete++
			res.IncompleteIDs = append(res.IncompleteIDs, c.ID)
		default:
			res.StoredComplete++
		}
	}
	return res, nil
}

func (s *ingestSuite) fake() *genesysFake {
	f := &genesysFake{env: s.env, readyAt: map[string]time.Time{}, endedAt: map[string]time.Time{},
		badRequest: map[string]bool{}}
	s.env.OnActivity(FetchActivityName, mock.Anything, mock.Anything).Return(f.fetch)
	return f
}

func refs(n int) []ConversationRef {
	out := make([]ConversationRef, n)
	for i := range out {
		out[i] = ConversationRef{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Topic: "customer.end"}
	}
	return out
}

func (s *ingestSuite) run(in IngestInput) Summary {
	s.env.ExecuteWorkflow(IngestConversations, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var summary Summary
	s.Require().NoError(s.env.GetWorkflowResult(&summary))
	return summary
}

func (s *ingestSuite) TestChunksByBatchSizeAndStoresEverything() {
	f := s.fake()
	summary := s.run(IngestInput{Conversations: refs(250)})
	s.Equal(Summary{Received: 250, StoredComplete: 250, Submissions: 1, Runs: 1}, summary)
	var sizes []int
	for _, c := range f.calls {
		sizes = append(sizes, len(c.req.Conversations))
	}
	slices.Sort(sizes)
	s.Equal([]int{50, 100, 100}, sizes)
}

func (s *ingestSuite) TestKeepsAtMostFetchConcurrencyChunksInFlight() {
	var inFlight, peak int
	var mu sync.Mutex
	s.env.OnActivity(FetchActivityName, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, req FetchRequest) (FetchResult, error) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			return FetchResult{StoredComplete: len(req.Conversations), Requests: 1}, nil
		})
	summary := s.run(IngestInput{Conversations: refs(40), Options: Options{FetchBatchSize: 1, FetchConcurrency: 3}})
	s.Equal(40, summary.StoredComplete)
	s.Equal(3, peak, "exactly FetchConcurrency at once: neither more, nor serially")
}

func (s *ingestSuite) TestHonoursRetryAfterOn429() {
	f := s.fake()
	f.rateLimitFirst, f.retryAfter = 1, 42*time.Second
	start := s.env.Now()
	summary := s.run(IngestInput{Conversations: refs(5)})
	s.Equal(5, summary.StoredComplete)
	s.Require().Len(f.calls, 2)
	s.Equal(42*time.Second, f.calls[1].at.Sub(f.calls[0].at), "the retry waits exactly Retry-After")
	s.Equal(start, f.calls[0].at)
}

func (s *ingestSuite) TestPollsConversationsThatAreNotReadyAndStoresThemWhenComplete() {
	f := s.fake()
	all := refs(3)
	start := s.env.Now()
	f.readyAt[all[1].ID] = start.Add(30 * time.Second)  // absent at first
	f.endedAt[all[2].ID] = start.Add(100 * time.Second) // present without conversationEnd
	summary := s.run(IngestInput{Conversations: all, Options: Options{ReadyPollInterval: time.Minute}})
	s.Equal(Summary{Received: 3, StoredComplete: 3, Submissions: 3, Runs: 1}, summary)
	// Round 1 at 0s fetches all three; round 2 at 60s finds #1 ready and #2
	// still open; round 3 at 60s+90s finds #2 complete.
	s.Require().Len(f.calls, 3)
	s.Equal(60*time.Second, f.calls[1].at.Sub(start))
	s.Len(f.calls[1].req.Conversations, 2)
	s.Equal(150*time.Second, f.calls[2].at.Sub(start))
	s.Equal([]ConversationRef{{ID: all[2].ID, Topic: all[2].Topic}}, f.calls[2].req.Conversations, "the org only once; the event's topic and time stay")
}

func (s *ingestSuite) TestStoresIncompleteAtReadyTimeoutAndFailsWhatNeverAppeared() {
	f := s.fake()
	all := refs(3)
	start := s.env.Now()
	f.endedAt[all[0].ID] = start.Add(24 * time.Hour) // wrap-up never ends in time
	f.readyAt[all[1].ID] = start.Add(24 * time.Hour) // never appears
	summary := s.run(IngestInput{Conversations: all, Options: Options{ReadyPollInterval: time.Minute, ReadyTimeout: 30 * time.Minute}})
	s.Equal(1, summary.StoredComplete)
	s.Equal(1, summary.StoredIncomplete)
	s.Equal(1, summary.Failed)
	s.Require().Len(summary.Failures, 1)
	s.Equal(all[1].ID, summary.Failures[0].ConversationID)
	s.Contains(summary.Failures[0].Reason, "READY_TIMEOUT")
	last := f.calls[len(f.calls)-1]
	s.True(last.req.StoreIncomplete)
	s.Equal(30*time.Minute, last.at.Sub(start), "the last poll happens at the deadline")
	for i := 1; i < len(f.calls); i++ {
		s.GreaterOrEqual(f.calls[i].at.Sub(f.calls[i-1].at), time.Minute, "polls never come faster than READY_POLL_INTERVAL")
	}
}

func (s *ingestSuite) TestBadRequestIsIsolatedToTheConversationThatCausedIt() {
	f := s.fake()
	all := refs(8)
	f.badRequest[all[5].ID] = true
	summary := s.run(IngestInput{Conversations: all})
	s.Equal(7, summary.StoredComplete)
	s.Equal(1, summary.Failed)
	s.Equal(all[5].ID, summary.Failures[0].ConversationID)
	s.Contains(summary.Failures[0].Reason, "400")
}

func (s *ingestSuite) TestLostPermissionWaitsUntilRestoredAndLosesNothing() {
	f := s.fake()
	rec := recordInto(s.env)
	start := s.env.Now()
	// The test environment stops unlimited retries at its own cap of 10
	// attempts; the server retries until FetchRetryHorizon.
	f.forbiddenUntil = start.Add(7 * time.Minute)
	summary := s.run(IngestInput{Conversations: refs(4), Options: Options{FetchBatchSize: 2}})
	s.Equal(Summary{Received: 4, StoredComplete: 4, Submissions: 1, Runs: 1}, summary)
	last := f.calls[len(f.calls)-1].at
	s.False(last.Before(f.forbiddenUntil))
	s.LessOrEqual(last.Sub(f.forbiddenUntil), DefaultFetchRetryMaxInterval, "ingestion resumes within one capped backoff")
	s.Empty(rec.failures)
	s.Require().Len(rec.batches, 1)
	s.Equal(4, rec.batches[0].Summary.StoredComplete)
	s.True(start.Equal(rec.batches[0].Timeline.StartedAt))
	s.False(rec.batches[0].Timeline.LastStoredAt.Before(f.forbiddenUntil))
}

func (s *ingestSuite) TestChunksThatRunOutOfRetriesAreRecordedFailed() {
	rec := recordInto(s.env)
	s.env.OnActivity(FetchActivityName, mock.Anything, mock.Anything).Return(
		func(context.Context, FetchRequest) (FetchResult, error) {
			return FetchResult{}, temporal.NewApplicationError("503 service.unavailable", ErrTypeUnavailable)
		})
	start := s.env.Now()
	in := refs(3)
	for i := range in {
		in[i].EventTime = start.Add(-time.Duration(i) * time.Minute).UnixMilli()
		in[i].OrgID = "org-1"
	}
	summary := s.run(IngestInput{Conversations: in})
	s.Equal(3, summary.Failed)
	s.Contains(summary.Failures[0].Reason, "service.unavailable")
	s.Require().Len(rec.failures, 3, "every failure is written to the table")
	for i, f := range rec.failures {
		s.Equal(in[i].ID, f.ConversationID)
		s.Equal("org-1", f.OrgID)
		s.Equal(in[i].EventTime, f.FirstEventAt)
		s.Contains(f.Reason, "service.unavailable")
	}
	s.Require().Len(rec.batches, 1)
	s.Equal(3, rec.batches[0].Summary.Failed)
	s.Equal(in[2].EventTime, rec.batches[0].Timeline.FirstEventAt)
}

func TestFetchRetriesLastUntilTheHorizon(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var got workflow.ActivityOptions
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		sch := &scheduler{core: newFetchCore(Options{FetchRetryHorizon: 5 * time.Hour, FetchRetryMaxInterval: 30 * time.Second}.withDefaults(), nil)}
		got = sch.fetchActivityOptions(ctx, 100)
		return nil
	})
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, 5*time.Hour, got.ScheduleToCloseTimeout)
	assert.Zero(t, got.RetryPolicy.MaximumAttempts, "no attempt limit: the horizon bounds the retries")
	assert.Equal(t, 30*time.Second, got.RetryPolicy.MaximumInterval)
	assert.Equal(t, fetchHeartbeatTimeout, got.HeartbeatTimeout)
	assert.Equal(t, fetchAttemptTimeout, got.StartToCloseTimeout)
}

func TestFailureReasonNamesTheHorizonAndTheLastError(t *testing.T) {
	last := temporal.NewApplicationError("429 too.many.requests", ErrTypeRateLimited)
	err := temporal.NewTimeoutError(enums.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, last)
	reason := failureReason(err, 72*time.Hour)
	assert.Contains(t, reason, "FETCH_RETRY_HORIZON (72h0m0s)")
	assert.Contains(t, reason, "429 too.many.requests")
}

func (s *ingestSuite) TestInvalidAndRepeatedIDsNeverReachGenesys() {
	f := s.fake()
	in := append(refs(2), ConversationRef{ID: "'; DROP TABLE x;--"}, refs(1)[0])
	summary := s.run(IngestInput{Conversations: in})
	s.Equal(3, summary.Received)
	s.Equal(2, summary.StoredComplete)
	s.Equal(1, summary.Failed)
	s.Require().Len(f.calls, 1)
	s.Len(f.calls[0].req.Conversations, 2)
}

func TestConversationsStoredByAnotherBatchAreNotFetchedAgain(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := newEnv(&s)
	all := refs(250)
	registerTableCheck(env, func(_ context.Context, req StoredRequest) (StoredResult, error) {
		var res StoredResult
		for _, id := range req.IDs {
			if id == all[0].ID || id == all[249].ID {
				res.Complete = append(res.Complete, id)
			}
		}
		return res, nil
	})
	var fetched int
	env.RegisterActivityWithOptions(func(_ context.Context, req FetchRequest) (FetchResult, error) {
		fetched += len(req.Conversations)
		return FetchResult{StoredComplete: len(req.Conversations), Requests: 1}, nil
	}, activity.RegisterOptions{Name: FetchActivityName})
	env.ExecuteWorkflow(IngestConversations, IngestInput{Conversations: all})
	require.NoError(t, env.GetWorkflowError())
	var summary Summary
	require.NoError(t, env.GetWorkflowResult(&summary))
	assert.Equal(t, 248, fetched)
	assert.Equal(t, Summary{Received: 250, StoredComplete: 248, Unchanged: 2, Submissions: 1, Runs: 1}, summary)
}

func TestAnUnreadableTableMeansFetchingEverything(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := newEnv(&s)
	registerTableCheck(env, func(context.Context, StoredRequest) (StoredResult, error) {
		return StoredResult{}, errors.New("ResourceNotFoundException")
	})
	env.RegisterActivityWithOptions(func(_ context.Context, req FetchRequest) (FetchResult, error) {
		return FetchResult{StoredComplete: len(req.Conversations), Requests: 1}, nil
	}, activity.RegisterOptions{Name: FetchActivityName})
	env.ExecuteWorkflow(IngestConversations, IngestInput{Conversations: refs(5)})
	require.NoError(t, env.GetWorkflowError())
	var summary Summary
	require.NoError(t, env.GetWorkflowResult(&summary))
	assert.Equal(t, 5, summary.StoredComplete)
}

func (s *ingestSuite) TestProgressQuery() {
	f := s.fake()
	all := refs(2)
	f.readyAt[all[0].ID] = s.env.Now().Add(time.Hour)
	queried := false
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(ProgressQuery)
		s.Require().NoError(err)
		var p Progress
		s.Require().NoError(v.Get(&p))
		s.Equal(1, p.Summary.StoredComplete)
		s.Equal(1, p.Waiting)
		s.Equal(1, p.Pending)
		queried = true
	}, 30*time.Second)
	s.run(IngestInput{Conversations: all})
	s.True(queried, "the query ran while the workflow waited")
}

func TestTenThousandConversationsStayInsideTemporalLimits(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := newEnv(&s)
	var calls, largestRequest int
	env.RegisterActivityWithOptions(func(_ context.Context, req FetchRequest) (FetchResult, error) {
		calls++
		b, err := json.Marshal(req)
		require.NoError(t, err)
		largestRequest = max(largestRequest, len(b))
		return FetchResult{StoredComplete: len(req.Conversations), Requests: 1}, nil
	}, activity.RegisterOptions{Name: FetchActivityName})
	var largestSubmission int
	in := IngestInput{Conversations: refs(10000)}
	for i := range in.Conversations { // the worst case the forwarder sends: every field set
		in.Conversations[i].OrgID = "7c1f2a0e-5b0d-4d6e-9a55-3f3f2e9c1a01"
		in.Conversations[i].EventTime = 1764500000000
	}
	input, err := json.Marshal(in)
	require.NoError(t, err)
	assert.Less(t, len(input), 2<<20, "the start input is inside Temporal's 2 MB payload limit")
	for chunk := range slices.Chunk(in.Conversations, maxSubmission) {
		sub := FetchSubmission{Requester: "genesys-ingest-" + strings.Repeat("f", 64), Seq: 1}
		sub.OrgID, sub.Conversations = compactRefs(chunk)
		b, err := json.Marshal(sub)
		require.NoError(t, err)
		largestSubmission = max(largestSubmission, len(b))
	}
	// About 85 bytes an id: id, event topic and time.
	assert.Less(t, largestSubmission, 192<<10, "a submission signal stays small")
	env.ExecuteWorkflow(IngestConversations, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var summary Summary
	require.NoError(t, env.GetWorkflowResult(&summary))
	assert.Equal(t, 10000, summary.StoredComplete)
	assert.Equal(t, 100, calls, "every request full")
	assert.Equal(t, 10000/maxSubmission, summary.Submissions)
	assert.Less(t, largestRequest, 12<<10, "a fetch request names the org once")
}

func TestNextPollGrowsAndStopsAtTheDeadline(t *testing.T) {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	deadline := start.Add(2 * time.Hour)
	var got []time.Duration
	for poll := 1; poll <= 8; poll++ {
		got = append(got, nextPoll(start, deadline, time.Minute, poll).Sub(start))
	}
	assert.Equal(t, []time.Duration{
		60 * time.Second, 90 * time.Second, 135 * time.Second, 202500 * time.Millisecond,
		303750 * time.Millisecond, 455625 * time.Millisecond, 10 * time.Minute, 10 * time.Minute,
	}, got)
	assert.Equal(t, deadline, nextPoll(deadline.Add(-time.Second), deadline, time.Minute, 1))
}

// fakeScheduler stands in for FetchScheduler: it hands every submission, in
// order and numbered from 1, to handle, and finishes after an idle hour.
func fakeScheduler(handle func(ctx workflow.Context, n int, sub FetchSubmission)) func(workflow.Context, SchedulerInput) error {
	return func(ctx workflow.Context, in SchedulerInput) error {
		n := 1
		handle(ctx, n, *in.First)
		ch := workflow.GetSignalChannel(ctx, SubmitFetchesSignal)
		for {
			var sub FetchSubmission
			if ok, _ := workflow.AwaitWithTimeout(ctx, time.Hour, func() bool { return ch.Len() > 0 }); !ok {
				return nil
			}
			ch.Receive(ctx, &sub)
			n++
			handle(ctx, n, sub)
		}
	}
}

// answerWith makes a fakeScheduler that reports answer(sub) for every
// submission, after calling onSubmit.
func answerWith(answer func(FetchSubmission) FetchReport, onSubmit func(int)) func(workflow.Context, SchedulerInput) error {
	return fakeScheduler(func(ctx workflow.Context, n int, sub FetchSubmission) {
		if onSubmit != nil {
			onSubmit(n)
		}
		_ = workflow.SignalExternalWorkflow(ctx, sub.Requester, "", FetchReportSignal, answer(sub)).Get(ctx, nil)
	})
}

func TestContinuesAsNewWhenSuggestedAndCarriesProgress(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	all := refs(2*maxSubmission + 500)

	var first *testsuite.TestWorkflowEnvironment
	first = newEnv(&s, answerWith(func(sub FetchSubmission) FetchReport {
		r := FetchReport{Seq: sub.Seq, StoredComplete: len(sub.Conversations)}
		if sub.Seq == 1 {
			r.StoredComplete--
			r.NotReady = []string{sub.Conversations[0].ID}
		}
		return r
	}, func(n int) {
		if n == 1 {
			first.SetContinueAsNewSuggested(true)
		}
	}))
	first.ExecuteWorkflow(IngestConversations, IngestInput{BatchID: "b1", Conversations: all})

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(first.GetWorkflowError(), &can), "want continue-as-new, got %v", first.GetWorkflowError())
	var next IngestInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Equal(t, "b1", next.BatchID)
	require.Len(t, next.Conversations, maxSubmission+500, "the open submission was reported first; the rest is carried")
	assert.Equal(t, all[maxSubmission], next.Conversations[0])
	require.NotNil(t, next.Carry)
	assert.Equal(t, []ConversationRef{all[0]}, next.Carry.Waiting)
	assert.Equal(t, maxSubmission-1, next.Carry.Summary.StoredComplete)
	assert.Equal(t, len(all), next.Carry.Summary.Received)
	assert.Equal(t, 1, next.Carry.Seq)

	var seqs []int
	second := newEnv(&s, answerWith(func(sub FetchSubmission) FetchReport {
		seqs = append(seqs, sub.Seq)
		return FetchReport{Seq: sub.Seq, StoredComplete: len(sub.Conversations)}
	}, nil))
	second.ExecuteWorkflow(IngestConversations, next)
	require.NoError(t, second.GetWorkflowError())
	var summary Summary
	require.NoError(t, second.GetWorkflowResult(&summary))
	assert.Equal(t, Summary{Received: len(all), StoredComplete: len(all), Submissions: 4, Runs: 2}, summary)
	assert.Equal(t, []int{2, 3, 4}, seqs, "submission numbers continue across runs")
}

// TestALostSubmissionIsSentAgainAfterTheCheckInterval covers a scheduler
// that was terminated after taking a submission: the batch hears nothing,
// asks after submissionCheckInterval, and sends the submission again when
// asked to.
func TestALostSubmissionIsSentAgainAfterTheCheckInterval(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	var received []FetchSubmission
	var receivedAt []time.Duration
	var start time.Time
	env := newEnv(&s, fakeScheduler(func(ctx workflow.Context, n int, sub FetchSubmission) {
		if n == 1 {
			start = workflow.Now(ctx)
		}
		received = append(received, sub)
		receivedAt = append(receivedAt, workflow.Now(ctx).Sub(start))
		switch {
		case n == 1: // lost with the terminated scheduler
		case sub.Ping:
			_ = workflow.SignalExternalWorkflow(ctx, sub.Requester, "", ResubmitSignal, ResubmitRequest{Seq: sub.Seq}).Get(ctx, nil)
		default:
			_ = workflow.SignalExternalWorkflow(ctx, sub.Requester, "", FetchReportSignal,
				FetchReport{Seq: sub.Seq, StoredComplete: len(sub.Conversations)}).Get(ctx, nil)
		}
	}))
	env.ExecuteWorkflow(IngestConversations, IngestInput{Conversations: refs(3)})
	require.NoError(t, env.GetWorkflowError())
	var summary Summary
	require.NoError(t, env.GetWorkflowResult(&summary))
	assert.Equal(t, 3, summary.StoredComplete)
	require.Len(t, received, 3)
	assert.True(t, received[1].Ping)
	assert.Empty(t, received[1].Conversations, "a ping carries no conversations")
	assert.Equal(t, submissionCheckInterval, receivedAt[1])
	assert.Equal(t, received[0].Conversations, received[2].Conversations, "the same submission, sent again")
	assert.Equal(t, received[0].Seq, received[2].Seq)
}

// TestABatchShowsAStuckScheduler: a scheduler that takes the submission and
// never answers is checked after submissionCheckInterval, and the batch
// shows why it is stuck; once the scheduler recovers, the batch says so.
func TestABatchShowsAStuckScheduler(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	stuck := true
	env := newEnv(&s, fakeScheduler(func(ctx workflow.Context, n int, sub FetchSubmission) {
		if n > 1 && !stuck {
			_ = workflow.SignalExternalWorkflow(ctx, sub.Requester, "", FetchReportSignal,
				FetchReport{Seq: 1, StoredComplete: 3}).Get(ctx, nil)
		}
	}))
	var checked []SchedulerCheckRequest
	env.OnActivity(CheckSchedulerActivityName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req SchedulerCheckRequest) (SchedulerCheck, error) {
			checked = append(checked, req)
			if stuck {
				return SchedulerCheck{Running: true, Stuck: "its workflow task has failed 4 times in a row"}, nil
			}
			return SchedulerCheck{Running: true}, nil
		})
	var during Progress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&during))
		stuck = false
	}, submissionCheckInterval+time.Minute)
	env.ExecuteWorkflow(IngestConversations, IngestInput{Conversations: refs(3)})
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, "its workflow task has failed 4 times in a row", during.SchedulerStuck)
	require.GreaterOrEqual(t, len(checked), 2)
	assert.Equal(t, FetchSchedulerID(DefaultGenesysTaskQueue), checked[0].SchedulerID)
	var summary Summary
	require.NoError(t, env.GetWorkflowResult(&summary))
	assert.Equal(t, 3, summary.StoredComplete)
}
