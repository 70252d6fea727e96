package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// How a Backfill walks Genesys and hands what it finds to batches.
const (
	// DefaultPagingLimit is Genesys's: pageNumber × pageSize may not exceed
	// 100,000 ("Pagination may not exceed 100000 results").
	DefaultPagingLimit = 100_000
	// queryPageSize is the largest page Genesys serves.
	queryPageSize = 100
	// maxWindowDays: a details query without filters may span 7 days (31
	// with one). A week keeps windows few for a quiet org; a busy one is
	// split by totalHits.
	maxWindowDays = 7
	// MaxBackfillDays bounds an interval, so a report (one row a day)
	// stays small in carried state.
	MaxBackfillDays = 400
	// backfillBatchSize conversations per batch: one submission.
	backfillBatchSize = maxSubmission
	// maxBackfillBatches running at once: enough to keep the backfill
	// lane's share of the budget busy while the next pages are read.
	maxBackfillBatches = 2
)

// Backfill walks an interval of Genesys's analytics with the details query
// (windows of whole UTC days, since the query selects by the day a
// conversation started; pages of 100; a window with more hits than Genesys
// pages to is split, a single such day walked from both ends) and compares
// every conversation that ended with the table. With Fix, each one not
// stored complete is ingested by an IngestConversations batch marked
// Backfill, through the same scheduler, readiness, dedupe and persistence
// as live events, on what live traffic leaves of the budget. Without Fix it
// only reports (reconcile). The report, by day, is its result, its progress
// query, its Web UI details, and an item of the batches table.
func Backfill(ctx workflow.Context, in BackfillInput) (BackfillReport, error) {
	b, err := newBackfill(ctx, in)
	if err != nil {
		workflow.GetLogger(ctx).Error("workflow failed", "error", err)
		return BackfillReport{}, err
	}
	return b.run(ctx)
}

// backfill is one run's state.
type backfill struct {
	in      BackfillInput
	opts    Options
	logger  log.Logger
	cursor  BackfillCursor
	report  BackfillReport
	pending []ConversationRef
	running int
	// selector hears of finished batches.
	selector workflow.Selector
}

func newBackfill(ctx workflow.Context, in BackfillInput) (*backfill, error) {
	b := &backfill{in: in, opts: in.Options.withDefaults(), logger: workflow.GetLogger(ctx)}
	if in.PagingLimit == 0 {
		b.in.PagingLimit = DefaultPagingLimit
	}
	invalid := func(err error) error {
		return temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	if err := b.opts.validate(); err != nil {
		return nil, invalid(err)
	}
	if c := in.Carry; c != nil {
		b.cursor, b.report, b.pending = c.Cursor, c.Report, c.Pending
		b.in.Carry = nil
	} else {
		from, to := in.From, in.To
		if in.Trailing > 0 {
			if !from.IsZero() || !to.IsZero() {
				return nil, invalid(errors.New("give either from and to, or trailing"))
			}
			to = workflow.GetInfo(ctx).WorkflowStartTime.UTC()
			from = to.Add(-in.Trailing)
		}
		if err := validateInterval(from, to); err != nil {
			return nil, invalid(err)
		}
		first := utcDay(from)
		b.cursor = BackfillCursor{Day: first, Page: 1}
		b.report = BackfillReport{From: from.UTC(), To: to.UTC(), Fix: in.Fix, StartedAt: workflow.Now(ctx),
			DaysTotal: int(utcDayCeil(to).Sub(first) / (24 * time.Hour))}
	}
	b.report.Runs++
	b.logger = log.With(b.logger, "from", b.report.From, "to", b.report.To, "fix", b.report.Fix)
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (BackfillProgress, error) { return b.progress(workflow.Now(ctx)), nil }); err != nil {
		return nil, fmt.Errorf("register %s query: %w", ProgressQuery, err)
	}
	return b, nil
}

func validateInterval(from, to time.Time) error {
	switch {
	case from.IsZero() || to.IsZero():
		return errors.New("from and to are required")
	case !to.After(from):
		return fmt.Errorf("to (%s) must be after from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	case to.Sub(from) > MaxBackfillDays*24*time.Hour:
		return fmt.Errorf("the interval %s to %s is longer than %d days; backfill it in parts", from.Format(time.RFC3339), to.Format(time.RFC3339), MaxBackfillDays)
	}
	return nil
}

func (b *backfill) run(ctx workflow.Context) (BackfillReport, error) {
	b.logger.Info("backfill run started", "day", b.cursor.Day, "page", b.cursor.Page, "run", b.report.Runs)
	b.selector = workflow.NewSelector(ctx)
	for b.cursor.Day.Before(b.report.To) {
		if shouldContinueAsNew(ctx) {
			return BackfillReport{}, b.continueAsNew(ctx)
		}
		b.publishDetails(ctx)
		page, err := b.queryPage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return BackfillReport{}, err
			}
			b.problem("%s: the details query failed, the window was skipped: %v", b.windowName(), err)
			b.nextWindow()
			continue
		}
		found := b.takePage(page)
		if err := b.compare(ctx, found); err != nil {
			return BackfillReport{}, err
		}
	}
	b.flush(ctx, true)
	for b.running > 0 {
		b.selector.Select(ctx)
	}
	b.report.FinishedAt = workflow.Now(ctx)
	b.publishDetails(ctx)
	b.record(ctx)
	b.logger.Info("backfill finished", "found", b.report.Totals.Found, "missing", b.report.Totals.Missing,
		"incomplete", b.report.Totals.Incomplete, "failed", b.report.Totals.Failed, "batches", b.report.Batches)
	return b.report, nil
}

// queryPage asks Genesys for the cursor's page, on the Genesys task queue
// at the backfill's priority, retried like a fetch.
func (b *backfill) queryPage(ctx workflow.Context) (DetailsQueryPage, error) {
	if b.cursor.Days == 0 {
		b.cursor.Days = min(maxWindowDays, b.daysLeft())
	}
	req := DetailsQueryRequest{From: b.cursor.Day, Days: b.cursor.Days, PageSize: queryPageSize,
		PageNumber: b.cursor.Page, Desc: b.cursor.Desc}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              b.opts.GenesysTaskQueue,
		StartToCloseTimeout:    2 * time.Minute,
		HeartbeatTimeout:       fetchHeartbeatTimeout,
		ScheduleToCloseTimeout: b.opts.FetchRetryHorizon,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        b.opts.FetchRetryMaxInterval,
			NonRetryableErrorTypes: []string{ErrTypeBadRequest, ErrTypeMalformed},
		},
		Priority: temporal.Priority{PriorityKey: BackfillPriorityKey},
		Summary:  fmt.Sprintf("%s, page %d", b.windowName(), b.cursor.Page),
	})
	var page DetailsQueryPage
	err := workflow.ExecuteActivity(actx, QueryDetailsActivityName, req).Get(ctx, &page)
	b.report.QueryRequests++
	return page, err
}

// takePage moves the cursor past the page and returns its conversations
// that started inside the interval and were not on the last two pages.
func (b *backfill) takePage(page DetailsQueryPage) []QueriedConversation {
	c := &b.cursor
	limit := b.in.PagingLimit
	if c.Page == 1 && !c.Desc {
		c.Hits = page.TotalHits
		if c.Hits > limit && c.Days > 1 {
			// Too many to page through: halve the window and ask again.
			c.Days /= 2
			return nil
		}
		if c.Hits > 2*limit {
			b.report.Unreachable += c.Hits - 2*limit
			b.problem("%s: %d conversations, more than Genesys pages to from both ends of the day (2 × %d); %d were not reached",
				b.windowName(), c.Hits, limit, c.Hits-2*limit)
		}
	}
	convs := page.Conversations
	if c.Desc {
		// The walk from the day's end stops where the one from its start
		// ended.
		convs = convs[:max(0, min(len(convs), c.Hits-limit-(c.Page-1)*queryPageSize))]
	}
	var found []QueriedConversation
	from, to := b.report.From.UnixMilli(), b.report.To.UnixMilli()
	for _, q := range convs {
		if q.Start < from || q.Start >= to || slices.Contains(c.Recent, q.ID) {
			continue
		}
		found = append(found, q)
	}
	ids := make([]string, len(page.Conversations))
	for i, q := range page.Conversations {
		ids[i] = q.ID
	}
	if keep := min(len(c.Recent), queryPageSize); keep > 0 {
		c.Recent = slices.Concat(c.Recent[len(c.Recent)-keep:], ids)
	} else {
		c.Recent = ids
	}

	walked := c.Page * queryPageSize
	switch {
	case len(page.Conversations) < queryPageSize:
		b.nextWindow()
	case !c.Desc && walked+queryPageSize > limit:
		if c.Hits <= limit {
			b.nextWindow()
			break
		}
		// The rest of the day, from its end.
		c.Desc, c.Page = true, 1
	case c.Desc && (walked >= c.Hits-limit || walked+queryPageSize > limit):
		b.nextWindow()
	default:
		c.Page++
	}
	return found
}

func (b *backfill) nextWindow() {
	c := &b.cursor
	b.report.Windows++
	b.report.DaysWalked += c.Days
	*c = BackfillCursor{Day: c.Day.AddDate(0, 0, c.Days), Page: 1}
}

func (b *backfill) daysLeft() int {
	return max(1, int(utcDayCeil(b.report.To).Sub(b.cursor.Day)/(24*time.Hour)))
}

func (b *backfill) windowName() string {
	if b.cursor.Days <= 1 {
		return b.cursor.Day.Format(time.DateOnly)
	}
	return b.cursor.Day.Format(time.DateOnly) + " to " + b.cursor.Day.AddDate(0, 0, b.cursor.Days-1).Format(time.DateOnly)
}

// compare looks the page's conversations up in the table, counts them by
// day and, with Fix, queues the ones not stored complete for a batch.
func (b *backfill) compare(ctx workflow.Context, found []QueriedConversation) error {
	if len(found) == 0 {
		return nil
	}
	ids := make([]string, len(found))
	for i, q := range found {
		ids[i] = q.ID
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: b.opts.FetchRetryHorizon,
		RetryPolicy:            &temporal.RetryPolicy{MaximumInterval: b.opts.FetchRetryMaxInterval},
	})
	var res ClassifyResult
	if err := workflow.ExecuteLocalActivity(lctx, ClassifyActivityName, ClassifyRequest{IDs: ids}).Get(ctx, &res); err != nil {
		return fmt.Errorf("read the table: %w", err)
	}
	for _, q := range found {
		day := b.day(time.UnixMilli(q.Start).UTC().Format(time.DateOnly))
		day.Found++
		b.report.Totals.Found++
		switch {
		case slices.Contains(res.Complete, q.ID):
			day.Complete++
			b.report.Totals.Complete++
			continue
		case slices.Contains(res.Incomplete, q.ID):
			day.Incomplete++
			b.report.Totals.Incomplete++
		case slices.Contains(res.Failed, q.ID):
			day.Failed++
			b.report.Totals.Failed++
		default:
			day.Missing++
			b.report.Totals.Missing++
		}
		if b.in.Fix {
			b.pending = append(b.pending, ConversationRef{ID: q.ID, OrgID: b.in.OrgID})
		}
	}
	b.flush(ctx, false)
	return nil
}

// day returns the report's row of a UTC day, adding it in order.
func (b *backfill) day(name string) *DayReport {
	i, ok := slices.BinarySearchFunc(b.report.Days, name, func(d DayReport, n string) int { return strings.Compare(d.Day, n) })
	if !ok {
		b.report.Days = slices.Insert(b.report.Days, i, DayReport{Day: name})
	}
	return &b.report.Days[i]
}

// flush starts batches for the pending conversations: full ones, or with
// all of them at the end, waiting while maxBackfillBatches run.
func (b *backfill) flush(ctx workflow.Context, all bool) {
	for len(b.pending) >= backfillBatchSize || all && len(b.pending) > 0 {
		for b.running >= maxBackfillBatches {
			b.selector.Select(ctx)
		}
		n := min(backfillBatchSize, len(b.pending))
		refs := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.startBatch(ctx, refs)
	}
}

// startBatch ingests refs with an IngestConversations child marked
// Backfill; the child outlives nothing: a backfill waits for its batches.
func (b *backfill) startBatch(ctx workflow.Context, refs []ConversationRef) {
	b.report.Batches++
	b.report.Submitted += len(refs)
	id := fmt.Sprintf("%s-batch-%d", workflow.GetInfo(ctx).WorkflowExecution.ID, b.report.Batches)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        id,
		ParentClosePolicy: enums.PARENT_CLOSE_POLICY_TERMINATE,
		StaticSummary:     fmt.Sprintf("backfill: %d conversations", len(refs)),
	})
	b.running++
	future := workflow.ExecuteChildWorkflow(cctx, IngestWorkflowName, IngestInput{BatchID: "backfill " + id,
		Conversations: refs, Options: b.in.Options, Backfill: true})
	b.selector.AddFuture(future, func(f workflow.Future) {
		b.running--
		var s Summary
		if err := f.Get(ctx, &s); err != nil {
			// Its conversations stay missing: the next sweep or backfill
			// finds them again.
			b.problem("batch %s failed: %v", id, err)
			return
		}
		b.report.StoredComplete += s.StoredComplete
		b.report.StoredIncomplete += s.StoredIncomplete
		b.report.Unchanged += s.Unchanged
		b.report.Failed += s.Failed
	})
}

// maxProblems bounds the report's list; the count of unreachable
// conversations is exact whatever the list holds.
const maxProblems = 50

func (b *backfill) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.logger.Warn("backfill problem", "problem", msg)
	if len(b.report.Problems) < maxProblems {
		b.report.Problems = append(b.report.Problems, msg)
	}
}

// continueAsNew waits for the running batches, so that their results are
// counted, and carries the cursor, the report and what is pending.
func (b *backfill) continueAsNew(ctx workflow.Context) error {
	for b.running > 0 {
		b.selector.Select(ctx)
	}
	b.logger.Info("backfill continuing as new", "day", b.cursor.Day, "page", b.cursor.Page, "pending", len(b.pending))
	in := b.in
	in.Carry = &BackfillCarry{Cursor: b.cursor, Report: b.report, Pending: b.pending}
	return workflow.NewContinueAsNewError(ctx, Backfill, in)
}

// record writes the report to the batches table, so that it outlives the
// workflow's history.
func (b *backfill) record(ctx workflow.Context) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: b.opts.FetchRetryHorizon,
		RetryPolicy:            &temporal.RetryPolicy{MaximumInterval: b.opts.FetchRetryMaxInterval},
		Summary:                "record the report",
	})
	req := BackfillRecordRequest{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Report: b.report}
	if err := workflow.ExecuteActivity(actx, RecordBackfillActivityName, req).Get(ctx, nil); err != nil {
		b.logger.Error("could not record the backfill's report", "error", err)
	}
}

func (b *backfill) progress(now time.Time) BackfillProgress {
	p := BackfillProgress{Report: b.report, BatchesRunning: b.running, Pending: len(b.pending),
		FetchRequests: (b.report.Submitted + b.opts.FetchBatchSize - 1) / b.opts.FetchBatchSize}
	if b.report.DaysTotal > 0 {
		walked := float64(b.report.DaysWalked)
		if c := b.cursor; c.Hits > 0 {
			walked += float64(c.Days) * min(1, float64((c.Page-1)*queryPageSize)/float64(c.Hits))
		}
		p.Done = min(1, walked/float64(b.report.DaysTotal))
	}
	if elapsed := now.Sub(b.report.StartedAt); p.Done > 0 && p.Done < 1 && b.report.FinishedAt.IsZero() {
		p.ETA = now.Add(time.Duration(float64(elapsed) * (1 - p.Done) / p.Done))
	}
	if !b.report.FinishedAt.IsZero() {
		p.Done = 1
	}
	return p
}

// publishDetails shows the progress in the Web UI.
func (b *backfill) publishDetails(ctx workflow.Context) {
	r, p := b.report, b.progress(workflow.Now(ctx))
	kind := "Reconcile"
	if r.Fix {
		kind = "Backfill"
	}
	var sb strings.Builder
	sb.WriteString(fmt.Sprintf("**%s %s to %s** · %d of %d days walked (%.0f%%) in %d windows",
		kind, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.DaysWalked, r.DaysTotal, 100*p.Done, r.Windows))
	if !p.ETA.IsZero() {
		sb.WriteString(fmt.Sprintf(" · ETA %s", p.ETA.Format(time.RFC3339)))
	}
	t := r.Totals
	sb.WriteString(fmt.Sprintf("\n\n**%d** found · **%d** already complete (skipped) · **%d** missing · **%d** incomplete · **%d** failed · %d query requests",
		t.Found, t.Complete, t.Missing, t.Incomplete, t.Failed, r.QueryRequests))
	if r.Fix {
		sb.WriteString(fmt.Sprintf("\n\n%d batches (%d running): **%d** stored complete · %d incomplete · %d unchanged · %d failed · ≈%d fetch requests",
			r.Batches, b.running, r.StoredComplete, r.StoredIncomplete, r.Unchanged, r.Failed, p.FetchRequests))
	}
	for _, pr := range r.Problems {
		sb.WriteString(fmt.Sprintf("\n\n**Problem:** %s", pr))
	}
	workflow.SetCurrentDetails(ctx, sb.String())
}

// utcDay is the start of t's UTC day; utcDayCeil the start of the next one
// unless t is a day's start.
func utcDay(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour)
}

func utcDayCeil(t time.Time) time.Time {
	d := utcDay(t)
	if d.Equal(t.UTC()) {
		return d
	}
	return d.AddDate(0, 0, 1)
}
