package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

// genesysHistory stands in for Genesys's details query over a fixed set of
// conversations that ended: start-day semantics, paging, a paging limit and
// drift, as the simulator serves them.
type genesysHistory struct {
	mu    sync.Mutex
	convs []QueriedConversation // in start order
	limit int
	// drift: page k starts (k-1)×drift earlier, as if that many had been
	// indexed ahead of it since page 1.
	drift    int
	requests int
}

func newGenesysHistory(first time.Time, days, perDay int) *genesysHistory {
	h := &genesysHistory{limit: DefaultPagingLimit}
	spacing := 24 * time.Hour / time.Duration(perDay)
	for i := range days * perDay {
		h.convs = append(h.convs, QueriedConversation{
			ID:    fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			Start: first.AddDate(0, 0, i/perDay).Add(time.Duration(i%perDay) * spacing).UnixMilli(),
		})
	}
	return h
}

func (h *genesysHistory) query(_ context.Context, req DetailsQueryRequest) (DetailsQueryPage, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if req.PageNumber*req.PageSize > h.limit {
		return DetailsQueryPage{}, fmt.Errorf("Pagination may not exceed %d results", h.limit)
	}
	from, to := req.From.UnixMilli(), req.From.AddDate(0, 0, req.Days).UnixMilli()
	var match []QueriedConversation
	for _, c := range h.convs {
		if c.Start >= from && c.Start < to {
			match = append(match, c)
		}
	}
	if req.Desc {
		slices.Reverse(match)
	}
	shift := (req.PageNumber - 1) * h.drift
	first := max(0, (req.PageNumber-1)*req.PageSize-shift)
	page := DetailsQueryPage{TotalHits: len(match) + shift}
	if first < len(match) {
		page.Conversations = match[first:min(len(match), first+req.PageSize)]
	}
	return page, nil
}

// table is what ClassifyStoredConversations reads.
type table struct {
	mu     sync.Mutex
	status map[string]string
}

func (t *table) classify(_ context.Context, req ClassifyRequest) (ClassifyResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var res ClassifyResult
	for _, id := range req.IDs {
		switch t.status[id] {
		case "complete":
			res.Complete = append(res.Complete, id)
		case "incomplete":
			res.Incomplete = append(res.Incomplete, id)
		case "failed":
			res.Failed = append(res.Failed, id)
		}
	}
	return res, nil
}

type backfillRig struct {
	env     *testsuite.TestWorkflowEnvironment
	history *genesysHistory
	table   *table
	mu      sync.Mutex
	fetched map[string]int
	chunks  []FetchRequest
	records []BackfillRecordRequest
}

func newBackfillRig(t *testing.T, history *genesysHistory) *backfillRig {
	var s testsuite.WorkflowTestSuite
	r := &backfillRig{env: newEnv(&s), history: history, table: &table{status: map[string]string{}}, fetched: map[string]int{}}
	r.env.RegisterActivityWithOptions(history.query, activity.RegisterOptions{Name: QueryDetailsActivityName})
	r.env.RegisterActivityWithOptions(r.table.classify, activity.RegisterOptions{Name: ClassifyActivityName})
	r.env.RegisterActivityWithOptions(func(_ context.Context, req BackfillRecordRequest) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.records = append(r.records, req)
		return nil
	}, activity.RegisterOptions{Name: RecordBackfillActivityName})
	r.env.RegisterActivityWithOptions(func(_ context.Context, req FetchRequest) (FetchResult, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.chunks = append(r.chunks, req)
		for _, c := range req.Conversations {
			r.fetched[c.ID]++
		}
		return FetchResult{StoredComplete: len(req.Conversations), Requests: 1}, nil
	}, activity.RegisterOptions{Name: FetchActivityName})
	t.Cleanup(func() { r.env.AssertExpectations(t) })
	return r
}

func (r *backfillRig) run(t *testing.T, in BackfillInput) BackfillReport {
	t.Helper()
	r.env.ExecuteWorkflow(Backfill, in)
	require.True(t, r.env.IsWorkflowCompleted())
	require.NoError(t, r.env.GetWorkflowError())
	var report BackfillReport
	require.NoError(t, r.env.GetWorkflowResult(&report))
	return report
}

var backfillStart = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func TestBackfillIngestsEveryConversationNotStoredCompleteOnce(t *testing.T) {
	h := newGenesysHistory(backfillStart, 10, 500) // 5,000 over 10 days
	r := newBackfillRig(t, h)
	// The table holds some already: complete ones cost no request.
	for i, c := range h.convs {
		switch i % 10 {
		case 0:
			r.table.status[c.ID] = "complete"
		case 1:
			r.table.status[c.ID] = "incomplete"
		case 2:
			r.table.status[c.ID] = "failed"
		}
	}
	// Half past noon on the first day to noon on the last: start-day
	// windows return whole days, the workflow keeps only the interval.
	from, to := backfillStart.Add(12*time.Hour), backfillStart.AddDate(0, 0, 9).Add(12*time.Hour)
	report := r.run(t, BackfillInput{From: from, To: to, OrgID: "org-1", Fix: true})

	var inside []string
	for _, c := range h.convs {
		if c.Start >= from.UnixMilli() && c.Start < to.UnixMilli() {
			inside = append(inside, c.ID)
		}
	}
	require.Len(t, inside, 4500)
	wantFetched := 0
	for _, id := range inside {
		want := 1
		if r.table.status[id] == "complete" {
			want = 0
		}
		wantFetched += want
		assert.Equal(t, want, r.fetched[id], "conversation %s", id)
	}
	assert.Len(t, r.fetched, wantFetched, "nothing outside the interval fetched")
	assert.Equal(t, DayReport{Found: 4500, Complete: 450, Incomplete: 450, Failed: 450, Missing: 3150}, report.Totals)
	assert.Len(t, report.Days, 10)
	assert.Equal(t, DayReport{Day: "2026-11-20", Found: 250, Complete: 25, Incomplete: 25, Failed: 25, Missing: 175}, report.Days[0])
	assert.Equal(t, 10, report.DaysWalked)
	assert.Equal(t, 10, report.DaysTotal)
	assert.Equal(t, wantFetched, report.Submitted)
	assert.Equal(t, wantFetched, report.StoredComplete)
	assert.True(t, report.Fixed(), "%+v", report)
	assert.False(t, report.Clean(), "it found work to do")
	for _, c := range r.chunks {
		assert.Equal(t, "org-1", c.OrgID)
	}
	require.Len(t, r.records, 1, "the report is written to the table")
	assert.Equal(t, report.Totals, r.records[0].Report.Totals)
	// Two windows (7 + 3 days) of 3,500 and 1,500: 36 + 16 pages.
	assert.Equal(t, 52, report.QueryRequests)
	assert.Equal(t, h.requests, report.QueryRequests)
}

func TestReconcileOnlyReports(t *testing.T) {
	h := newGenesysHistory(backfillStart, 3, 100)
	r := newBackfillRig(t, h)
	for _, c := range h.convs[:250] {
		r.table.status[c.ID] = "complete"
	}
	report := r.run(t, BackfillInput{From: backfillStart, To: backfillStart.AddDate(0, 0, 3)})
	assert.Empty(t, r.fetched)
	assert.Equal(t, DayReport{Found: 300, Complete: 250, Missing: 50}, report.Totals)
	assert.Equal(t, DayReport{Day: "2026-11-22", Found: 100, Complete: 50, Missing: 50}, report.Days[2])
	assert.Zero(t, report.Batches)
	assert.False(t, report.Clean())
}

func TestBackfillSplitsWindowsOverThePagingLimitAndWalksABigDayFromBothEnds(t *testing.T) {
	h := newGenesysHistory(backfillStart, 4, 700)
	h.limit = 500 // a day holds more than one walk reaches
	r := newBackfillRig(t, h)
	report := r.run(t, BackfillInput{From: backfillStart, To: backfillStart.AddDate(0, 0, 4), Fix: true, PagingLimit: 500})
	assert.Len(t, r.fetched, 2800, "every conversation found")
	for id, n := range r.fetched {
		assert.Equal(t, 1, n, id)
	}
	assert.Equal(t, 2800, report.Totals.Found)
	assert.Zero(t, report.Unreachable)
	assert.Empty(t, report.Problems)
}

func TestBackfillReportsWhatNoQueryCanReach(t *testing.T) {
	h := newGenesysHistory(backfillStart, 1, 1200)
	h.limit = 500
	r := newBackfillRig(t, h)
	report := r.run(t, BackfillInput{From: backfillStart, To: backfillStart.AddDate(0, 0, 1), PagingLimit: 500})
	assert.Equal(t, 200, report.Unreachable)
	assert.Equal(t, 1000, report.Totals.Found)
	require.Len(t, report.Problems, 1)
	assert.Contains(t, report.Problems[0], "2026-11-20: 1200 conversations")
	assert.False(t, report.Clean())
}

func TestBackfillDedupesPagesThatDrift(t *testing.T) {
	h := newGenesysHistory(backfillStart, 2, 600)
	h.drift = 7
	r := newBackfillRig(t, h)
	report := r.run(t, BackfillInput{From: backfillStart, To: backfillStart.AddDate(0, 0, 2), Fix: true})
	assert.Equal(t, 1200, report.Totals.Found, "counted once")
	assert.Len(t, r.fetched, 1200)
	for id, n := range r.fetched {
		assert.Equal(t, 1, n, id)
	}
}

func TestSweepWalksTheTrailingWindow(t *testing.T) {
	h := newGenesysHistory(backfillStart, 5, 24)
	r := newBackfillRig(t, h)
	start := backfillStart.AddDate(0, 0, 4).Add(12 * time.Hour)
	r.env.SetStartTime(start)
	report := r.run(t, BackfillInput{Trailing: 48 * time.Hour, Fix: true})
	assert.Equal(t, start.Add(-48*time.Hour), report.From)
	assert.Equal(t, start, report.To)
	assert.Equal(t, 48, report.Totals.Found, "one an hour for 48 hours")
}

func TestBackfillRejectsBadIntervals(t *testing.T) {
	for name, in := range map[string]BackfillInput{
		"missing":    {},
		"backwards":  {From: backfillStart, To: backfillStart.Add(-time.Hour)},
		"too long":   {From: backfillStart, To: backfillStart.AddDate(0, 0, MaxBackfillDays+1)},
		"both kinds": {From: backfillStart, To: backfillStart.Add(time.Hour), Trailing: time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			r := newBackfillRig(t, newGenesysHistory(backfillStart, 1, 1))
			r.env.ExecuteWorkflow(Backfill, in)
			require.Error(t, r.env.GetWorkflowError())
			assert.Contains(t, r.env.GetWorkflowError().Error(), "InvalidInput")
		})
	}
}

// The worst case a run carries: a report of MaxBackfillDays days, a full
// batch pending, two pages of recent ids and every problem.
func TestBackfillCarryStaysInsideTemporalLimits(t *testing.T) {
	carry := BackfillCarry{Cursor: BackfillCursor{Recent: make([]string, 2*queryPageSize)}}
	for i := range carry.Cursor.Recent {
		carry.Cursor.Recent[i] = "00000000-0000-4000-8000-000000000000"
	}
	for d := range MaxBackfillDays {
		carry.Report.Days = append(carry.Report.Days, DayReport{Day: backfillStart.AddDate(0, 0, d).Format(time.DateOnly),
			Found: 1_000_000, Complete: 1_000_000, Incomplete: 1_000_000, Failed: 1_000_000, Missing: 1_000_000})
	}
	for range maxProblems {
		carry.Report.Problems = append(carry.Report.Problems, strings.Repeat("x", 300))
	}
	for range backfillBatchSize - 1 {
		carry.Pending = append(carry.Pending, ConversationRef{ID: "00000000-0000-4000-8000-000000000000", OrgID: "7c1f2a0e-5b0d-4d6e-9a55-3f3f2e9c1a01"})
	}
	b, err := json.Marshal(BackfillInput{Carry: &carry})
	require.NoError(t, err)
	assert.Less(t, len(b), 512<<10, "well inside the 2 MB payload limit")
}

func TestBackfillLaneGetsWhatLiveTrafficLeaves(t *testing.T) {
	c := newFetchCore(Options{FetchBatchSize: 2, FetchConcurrency: 4}.withDefaults(), nil)
	c.bounded = true
	ids := func(prefix string, n int) []ConversationRef {
		out := make([]ConversationRef, n)
		for i := range out {
			out[i] = ConversationRef{ID: fmt.Sprintf("00000000-0000-4000-8000-%s%011d", prefix, i)}
		}
		return out
	}
	c.accept(FetchSubmission{Requester: "backfill", Seq: 1, Conversations: ids("1", 10), Backfill: true})
	var chunks []fetchChunk
	for {
		ch, ok := c.nextChunk()
		if !ok {
			break
		}
		chunks = append(chunks, ch)
	}
	require.Len(t, chunks, 2, "backfill takes half of FetchConcurrency")
	for _, ch := range chunks {
		assert.True(t, ch.backfill)
	}

	// A live batch wants one queued backfill conversation and two new ones:
	// all three go in the live lane, ahead of the backfill's.
	live := append(ids("1", 5)[4:], ids("2", 2)...)
	c.accept(FetchSubmission{Requester: "live", Seq: 1, Conversations: live})
	ch, ok := c.nextChunk()
	require.True(t, ok)
	assert.False(t, ch.backfill)
	assert.Equal(t, []string{live[0].ID, live[1].ID}, chunkIDs(ch))
	ch, ok = c.nextChunk()
	require.True(t, ok, "a live partial chunk goes while only backfill is in flight")
	assert.Equal(t, []string{live[2].ID}, chunkIDs(ch))
	_, ok = c.nextChunk()
	assert.False(t, ok, "every slot taken")

	// Carried across continue-as-new, the lanes stay.
	carried := newFetchCore(c.opts, ptr(c.carry()))
	assert.Len(t, carried.backfillQueue, 9, "the backfill's in flight and queued")
	assert.Len(t, carried.queue, 3, "the live ones in flight, queued again")
}

func chunkIDs(ch fetchChunk) []string {
	var out []string
	for _, e := range ch.entries {
		out = append(out, e.ref.ID)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
