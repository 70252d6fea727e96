package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/starter/progress"
	"github.com/genesys-ingest/genesys-ingest/starter/sweep"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// intervalFlag parses --from and --to: RFC 3339, or a YYYY-MM-DD date in
// UTC. A --to date includes that whole day.
type intervalFlag struct {
	t     time.Time
	until bool
}

func (f *intervalFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *intervalFlag) Set(v string) error {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		f.t = t.UTC()
		return nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return fmt.Errorf("%q is neither an RFC 3339 time nor a YYYY-MM-DD date", v)
	}
	if f.until {
		t = t.AddDate(0, 0, 1)
	}
	f.t = t
	return nil
}

// backfillCommand is backfill (fix) and reconcile (report, --fix optional).
type backfillCommand struct {
	name     string
	from, to intervalFlag
	org      string
	fix      bool
	wait     bool
	asJSON   bool
}

func parseBackfill(name string, args []string) (*backfillCommand, error) {
	c := &backfillCommand{name: name, to: intervalFlag{until: true}}
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.Var(&c.from, "from", "start of the interval: RFC 3339 time or YYYY-MM-DD (UTC), by conversation start")
	flags.Var(&c.to, "to", "end of the interval: RFC 3339 time, or YYYY-MM-DD to include that whole day (UTC)")
	flags.StringVar(&c.org, "org", os.Getenv("GENESYS_ORG_ID"), "Genesys org id stored with the conversations it ingests (default $GENESYS_ORG_ID)")
	flags.BoolVar(&c.asJSON, "json", false, "print the report as JSON")
	if name == "backfill" {
		c.fix = true
		flags.BoolVar(&c.wait, "wait", false, "wait for the backfill, show its progress and print its report; exit 0 only if nothing is missing or failed")
	} else {
		c.wait = true
		flags.BoolVar(&c.fix, "fix", false, "backfill what is missing, incomplete or failed")
	}
	if err := flags.Parse(args); err != nil {
		return nil, usageError("%v", err)
	}
	switch {
	case flags.NArg() > 0:
		return nil, usageError("%s takes no arguments, got %q", name, flags.Args())
	case c.from.t.IsZero() || c.to.t.IsZero():
		return nil, usageError("%s needs --from and --to", name)
	case !c.to.t.After(c.from.t):
		return nil, usageError("--to %s is not after --from %s", c.to.t.Format(time.RFC3339), c.from.t.Format(time.RFC3339))
	case c.to.t.Sub(c.from.t) > workflows.MaxBackfillDays*24*time.Hour:
		return nil, usageError("the interval is longer than %d days: backfill it in parts", workflows.MaxBackfillDays)
	}
	return c, nil
}

// runBackfill starts a Backfill workflow and, when waiting, follows it.
func runBackfill(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	c, err := parseBackfill(name, args)
	if err != nil {
		return err
	}
	cfg, _, temporal, err := connect(ctx)
	if err != nil {
		return err
	}
	defer temporal.Close()
	kind := "reconcile"
	if c.fix {
		kind = "backfill"
	}
	if c.org == "" && c.fix {
		fmt.Fprintln(stderr, "starter: no --org (or GENESYS_ORG_ID): conversations this ingests are stored without orgId")
	}
	id := fmt.Sprintf("genesys-ingest-%s-%s-%s-%d", kind, c.from.t.Format("20060102T150405Z"), c.to.t.Format("20060102T150405Z"), time.Now().Unix())
	run, err := temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                cfg.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		StaticSummary:            fmt.Sprintf("%s of conversations that started %s to %s", kind, c.from.t.Format(time.RFC3339), c.to.t.Format(time.RFC3339)),
	}, workflows.BackfillWorkflowName, workflows.BackfillInput{From: c.from.t, To: c.to.t, OrgID: c.org, Fix: c.fix, Options: cfg.Workflow})
	if err != nil {
		return fmt.Errorf("start %s: %w", kind, err)
	}
	fmt.Fprintln(stdout, run.GetID())
	if !c.wait {
		return nil
	}
	report, err := followBackfill(ctx, temporal, run, stderr)
	if err != nil {
		return err
	}
	if c.asJSON {
		if err := printJSON(stdout, report); err != nil {
			return err
		}
	} else if err := printReport(stdout, report); err != nil {
		return err
	}
	switch {
	case c.fix && !report.Fixed():
		return fmt.Errorf("%s %s: not everything is stored complete (see the report)", kind, run.GetID())
	case !c.fix && !report.Clean():
		return fmt.Errorf("reconcile %s: %d missing, %d incomplete, %d failed, %d unreachable", run.GetID(),
			report.Totals.Missing, report.Totals.Incomplete, report.Totals.Failed, report.Unreachable)
	}
	return nil
}

// followBackfill shows the backfill's progress until it finishes and
// returns its report.
func followBackfill(ctx context.Context, temporal client.Client, run client.WorkflowRun, stderr io.Writer) (workflows.BackfillReport, error) {
	done := make(chan error, 1)
	var report workflows.BackfillReport
	go func() { done <- run.Get(ctx, &report) }()
	bar := progress.New(stderr, "conversations found", "conversations", 0)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return report, fmt.Errorf("workflow %s: %w", run.GetID(), err)
			}
			bar.Set(int64(report.Totals.Found), int64(report.Totals.Found))
			bar.Finish()
			return report, nil
		case <-tick.C:
			var p workflows.BackfillProgress
			v, err := temporal.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ProgressQuery)
			if err == nil && v.Get(&p) == nil {
				bar.Set(int64(p.Report.Totals.Found), estimatedTotal(p))
			}
		}
	}
}

// estimatedTotal is how many conversations the walk will find at the pace
// of the share of the interval walked so far; 0 while unknown.
func estimatedTotal(p workflows.BackfillProgress) int64 {
	if p.Done <= 0 {
		return 0
	}
	return int64(float64(p.Report.Totals.Found) / p.Done)
}

// printReport prints a backfill's report by day.
func printReport(w io.Writer, r workflows.BackfillReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DAY\tFOUND\tCOMPLETE\tMISSING\tINCOMPLETE\tFAILED\t")
	for _, d := range r.Days {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", d.Day, d.Found, d.Complete, d.Missing, d.Incomplete, d.Failed)
	}
	t := r.Totals
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t\n", t.Found, t.Complete, t.Missing, t.Incomplete, t.Failed)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d days in %d windows, %d details-query requests", r.DaysWalked, r.Windows, r.QueryRequests)
	if !r.FinishedAt.IsZero() {
		fmt.Fprintf(w, ", %s", r.FinishedAt.Sub(r.StartedAt).Round(time.Second))
	}
	fmt.Fprintln(w)
	if r.Fix {
		fmt.Fprintf(w, "fixed: %d submitted in %d batches: %d stored complete, %d incomplete, %d unchanged, %d failed\n",
			r.Submitted, r.Batches, r.StoredComplete, r.StoredIncomplete, r.Unchanged, r.Failed)
	}
	if r.Unreachable > 0 {
		fmt.Fprintf(w, "%d conversations beyond Genesys's paging limit were not reached\n", r.Unreachable)
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "problem:", p)
	}
	return nil
}

// scheduleSweep creates, updates or removes the sweep's schedule.
func scheduleSweep(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("sweep schedule", flag.ContinueOnError)
	every := flags.Duration("every", sweep.DefaultEvery, "how often the sweep runs")
	window := flags.Duration("window", sweep.DefaultWindow, "how far back each sweep looks (conversation start)")
	org := flags.String("org", os.Getenv("GENESYS_ORG_ID"), "Genesys org id stored with the conversations it ingests (default $GENESYS_ORG_ID)")
	off := flags.Bool("off", false, "remove the schedule: no more sweeps")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	cfg, _, temporal, err := connect(ctx)
	if err != nil {
		return err
	}
	defer temporal.Close()
	if *off {
		if err := sweep.Remove(ctx, temporal); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s removed: no more sweeps\n", sweep.ScheduleID)
		return nil
	}
	s := sweep.Settings{Every: *every, Window: *window, OrgID: *org, TaskQueue: cfg.TaskQueue, Options: cfg.Workflow}
	if err := s.Validate(); err != nil {
		return usageError("%v", err)
	}
	created, err := sweep.Ensure(ctx, temporal, s)
	if err != nil {
		return err
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(stdout, "schedule %s %s: every %s, the last %s\n", sweep.ScheduleID, verb, *every, *window)
	return nil
}

// printStatus prints a workflow's progress query as a table, or as JSON.
func printStatus(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := flags.Bool("json", false, "print the progress as JSON")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	if flags.NArg() != 1 {
		return usageError("status needs one workflow id")
	}
	id := flags.Arg(0)
	_, _, temporal, err := connect(ctx)
	if err != nil {
		return err
	}
	defer temporal.Close()
	desc, err := temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Errorf("workflow %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	v, err := temporal.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return fmt.Errorf("workflow %s (%s): progress query: %w", id, info.GetStatus(), err)
	}
	var p any
	switch info.GetType().GetName() {
	case workflows.BackfillWorkflowName:
		p = &workflows.BackfillProgress{}
	case workflows.IngestWorkflowName:
		p = &workflows.Progress{}
	case workflows.FetchSchedulerWorkflowName:
		p = &workflows.SchedulerProgress{}
	default:
		return fmt.Errorf("workflow %s is a %s, not one of this project's", id, info.GetType().GetName())
	}
	if err := v.Get(p); err != nil {
		return fmt.Errorf("workflow %s: progress: %w", id, err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(p)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("workflow", id)
	row("type", info.GetType().GetName())
	row("status", info.GetStatus())
	row("started", info.GetStartTime().AsTime().Format(time.RFC3339))
	switch p := p.(type) {
	case *workflows.BackfillProgress:
		r := p.Report
		row("interval", r.From.Format(time.RFC3339)+" to "+r.To.Format(time.RFC3339))
		row("mode", map[bool]string{true: "backfill (fix)", false: "reconcile (report only)"}[r.Fix])
		row("days walked", fmt.Sprintf("%d of %d (%.0f%%) in %d windows", r.DaysWalked, r.DaysTotal, 100*p.Done, r.Windows))
		row("found", r.Totals.Found)
		row("skipped (stored complete)", r.Totals.Complete)
		row("missing / incomplete / failed", fmt.Sprintf("%d / %d / %d", r.Totals.Missing, r.Totals.Incomplete, r.Totals.Failed))
		if r.Fix {
			row("stored complete / incomplete / unchanged / failed", fmt.Sprintf("%d / %d / %d / %d", r.StoredComplete, r.StoredIncomplete, r.Unchanged, r.Failed))
			row("batches (running)", fmt.Sprintf("%d (%d)", r.Batches, p.BatchesRunning))
		}
		row("requests", fmt.Sprintf("%d details queries, ≈%d fetches", r.QueryRequests, p.FetchRequests))
		if !p.ETA.IsZero() {
			row("ETA", p.ETA.Format(time.RFC3339))
		}
		for _, pr := range r.Problems {
			row("problem", pr)
		}
	case *workflows.Progress:
		s := p.Summary
		row("received", s.Received)
		row("stored complete / incomplete", fmt.Sprintf("%d / %d", s.StoredComplete, s.StoredIncomplete))
		row("unchanged", s.Unchanged)
		row("failed", s.Failed)
		row("pending / submitted / waiting", fmt.Sprintf("%d / %d / %d", p.Pending, p.Submitted, p.Waiting))
		row("readiness polls", p.Polls)
		if !p.NextPollAt.IsZero() {
			row("next poll", p.NextPollAt.Format(time.RFC3339))
		}
		row("deadline", p.Deadline.Format(time.RFC3339))
		if p.SchedulerStuck != "" {
			row("scheduler stuck", p.SchedulerStuck)
		}
	case *workflows.SchedulerProgress:
		row("queued (backfill)", fmt.Sprintf("%d (%d)", p.Queued, p.BackfillQueued))
		row("in flight (backfill)", fmt.Sprintf("%d (%d)", p.InFlight, p.BackfillInFlight))
		row("open submissions", p.Open)
		row("waitlisted", p.Waitlisted)
		row("submissions / conversations", fmt.Sprintf("%d / %d", p.Stats.Submissions, p.Stats.Conversations))
		row("coalesced", p.Stats.Coalesced)
		row("chunks (backfill)", fmt.Sprintf("%d (%d)", p.Stats.Chunks, p.Stats.BackfillChunks))
		row("Genesys requests", p.Stats.GenesysRequests)
		row("runs", p.Stats.Runs)
	}
	return tw.Flush()
}
