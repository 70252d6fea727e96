package devstack

// The replay corpus behind `make replay-corpus` (go run ./devstack/cmd/devstack
// replay-corpus): recorded histories of the two workflows, one per path they
// can take, that workflows/replay_test.go replays on every `go test`. A
// change to either workflow that would break a running execution on one of
// these paths fails there, before it is deployed.
//
// The recorder drives the real pipeline (simulator events → SQS batches →
// the forwarder bootstrap under the Lambda emulator → workflows on the worker
// → DynamoDB) on fresh stacks on free ports, with everything in memory, and
// writes each chosen run's history to workflows/testdata/corpus/<path>.json
// as `temporal workflow show -o json` does (protojson, base64 payloads),
// replacing what is there. Each file is replayed once more before it
// replaces anything, so a recording the replayer cannot read never lands.
//
// Scenarios, in order, on one stack (READY_TIMEOUT=20s and
// READY_POLL_INTERVAL=2s for every batch; conversations ready at once unless
// a scenario says otherwise):
//
//   - batch-failures, scheduler-400-split: 40 conversations, some of them
//     poisoned by the simulator (400 for any request naming them, or a
//     record that cannot be mapped); the scheduler halves the refused chunk
//     down to each bad id, the batch records the failures and its audit
//     record.
//   - batch-readiness-timeout, scheduler-readiness-deadline: one batch of
//     conversations that stay incomplete (served without conversationEnd)
//     and conversations Genesys never shows, past READY_TIMEOUT: polled every
//     few seconds, then stored incomplete and recorded failed ("not found
//     ... within READY_TIMEOUT").
//   - batch-lost-submission-resubmit, scheduler-ping-resubmit: the scheduler
//     a batch started is terminated while its fetch is held up by a Genesys
//     outage; a later batch starts a new one, which is pinged on the first
//     batch's behalf, asks it to resubmit, and serves it. The ping is sent
//     by the recorder: the batch's own ping comes only after
//     submissionCheckInterval (10 minutes of no report) and no setting
//     shortens it, so the batch's timer, its CheckFetchScheduler activity
//     and its ping signal are not in the corpus.
//   - batch-waitlist-invitation, scheduler-waitlist-invitation: eleven
//     batches of 2,000 conversations fill the scheduler's queue past
//     maxQueued (20,000) while the simulator holds requests for a few
//     seconds, so a small batch that comes next is waitlisted, invited when
//     the queue is down to half, and resubmits. The scheduler's history
//     carries every one of those ids twice (submissions, fetches), base64
//     in the JSON: about 3.5 MB, the one large file.
//
// Then, on a second stack whose Temporal server suggests continue-as-new
// from 40 history events (dynamic config; the workflows' own threshold is
// 8,000 events, hours of traffic): batch-continue-as-new and
// batch-continued-run (a batch polling for readiness continues as new with
// its waiting conversations), scheduler-continue-as-new and
// scheduler-continued-run (the scheduler, one 5-id chunk at a time, stops
// dispatching, drains and carries its queue and open submission).
//
// Then, on a third stack whose simulator holds 1,500 conversations of
// history over three days (complete, never announced by an event) and whose
// server suggests continue-as-new from 40 events: a Backfill over those
// days walks them a few pages per run, carrying its cursor, report and
// pending ids (backfill-continue-as-new, backfill-continued-run), and hands
// them to one batch marked backfill (batch-backfill), whose fetches the
// scheduler queues in its backfill lane at low task priority
// (scheduler-backfill-lane).
//
// A scheduler is exported while it is idle, before it would finish on its
// own after 10 idle minutes; then it is terminated, so that each scenario's
// first batch starts a fresh one and each scheduler history holds one
// scenario. Every exported history is checked for the events of the path it
// is named after: a scenario that did not reach its path fails the run and
// replaces nothing.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	enums "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// CorpusOptions configure the recorder.
type CorpusOptions struct {
	Paths Paths
	// Dir receives the histories; default workflows/testdata/corpus.
	Dir string
	// SkipBuild uses the binaries already in .local/bin.
	SkipBuild bool
	// Out receives progress and the table.
	Out io.Writer
	// Only records the scenarios of this stack (main, continue-as-new or
	// backfill); empty records all. Use it with a Dir of its own.
	Only string
}

// CorpusFile is one recorded history.
type CorpusFile struct {
	Name       string `json:"name"`
	Covers     string `json:"covers"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	Events     int    `json:"events"`
	Bytes      int    `json:"bytes"`
	data       []byte
}

// CorpusResult is what a recording wrote.
type CorpusResult struct {
	Dir   string
	Files []CorpusFile
	Wall  time.Duration
}

// The environment of every service the recorder starts. Everything that
// ends up in a history (the batches' options, task queues, tables) is set
// here rather than taken from the caller's environment, so that a
// re-recording differs only in ids and times.
var corpusEnv = []string{
	"TEMPORAL_TASK_QUEUE=" + workflows.DefaultTaskQueue,
	"GENESYS_TASK_QUEUE=" + workflows.DefaultGenesysTaskQueue,
	"DYNAMODB_TABLE=" + store.DefaultTableName,
	"DYNAMODB_BATCH_TABLE=genesys-ingest-batches",
	"FETCH_BATCH_SIZE=100",
	"FETCH_CONCURRENCY=10",
	"FETCH_RETRY_HORIZON=72h",
	"FETCH_RETRY_MAX_INTERVAL=2m",
	"FETCH_MAX_CONCURRENT_ACTIVITIES=20",
	// Short enough that a batch reaches its deadline within the
	// recording, long enough that it polls several times first.
	"READY_TIMEOUT=20s",
	"READY_POLL_INTERVAL=2s",
	// The default 4.5/s would take 50 s for the waitlist scenario's 22,000
	// conversations; dynalite, at about 1,500 items/s, is the bound now.
	"GENESYS_REQUESTS_PER_SECOND=50",
}

// corpusSimulatorArgs: the seed fixes the conversation ids (and so the
// batches' workflow ids) and which ids the poison setting picks; the rate
// limit stays above GENESYS_REQUESTS_PER_SECOND so that nothing is
// throttled.
var corpusSimulatorArgs = []string{"--seed", "1", "--absent-for", "0s", "--wrapup-for", "0s",
	"--rate-limit-per-minute", "6000"}

// Continue-as-new stack: the server suggests it from this many events.
// Both workflows also continue as new at 8,000 events, which a recording
// would need tens of thousands of conversations to reach.
const corpusSuggestContinueAsNewAt = 40

// schedulerMaxQueued is maxQueued in workflows/scheduler.go: a submission
// that finds this many conversations queued is waitlisted.
const schedulerMaxQueued = 20_000

// corpusWaitTimeout bounds every wait of the recorder.
const corpusWaitTimeout = 3 * time.Minute

// ReplayCorpusCommand runs `devstack replay-corpus [-no-build] [-dir DIR]`.
func ReplayCorpusCommand(ctx context.Context, p Paths, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("replay-corpus", flag.ContinueOnError)
	skipBuild := flags.Bool("no-build", false, "use the binaries already in .local/bin")
	dir := flags.String("dir", "", "where the histories go (default workflows/testdata/corpus)")
	only := flags.String("only", "", "record only this stack's scenarios (main, continue-as-new, backfill), into a -dir of their own")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *only != "" && *dir == "" {
		return errors.New("devstack: -only replaces every history in -dir: give it a -dir of its own")
	}
	res, err := RecordReplayCorpus(ctx, CorpusOptions{Paths: p, Dir: *dir, SkipBuild: *skipBuild, Out: out, Only: *only})
	if err != nil {
		return err
	}
	printCorpus(out, res)
	return nil
}

// RecordReplayCorpus records every scenario and, only if all of them reached
// their paths and every history replays, replaces the JSON files in Dir.
func RecordReplayCorpus(ctx context.Context, o CorpusOptions) (*CorpusResult, error) {
	started := time.Now()
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(o.Paths.Root, "workflows", "testdata", "corpus")
	}
	if os.Getenv("GENESYS_API_BASE_URL") != "" {
		return nil, errors.New("devstack: the replay corpus is recorded against the simulator; unset GENESYS_API_BASE_URL")
	}
	if !o.SkipBuild {
		if err := EnsureTools(ctx, o.Paths, o.Out); err != nil {
			return nil, err
		}
		fmt.Fprintln(o.Out, "building the worker, simulator, starter and forwarder bootstrap…")
		if err := Build(ctx, o.Paths, o.Out); err != nil {
			return nil, err
		}
	}
	var files []CorpusFile
	stacks := map[string]bool{"main": true, "continue-as-new": true, "backfill": true}
	if o.Only != "" {
		if !stacks[o.Only] {
			return nil, fmt.Errorf("devstack: no corpus stack %q; want main, continue-as-new or backfill", o.Only)
		}
		stacks = map[string]bool{o.Only: true}
	}
	withStack := func(name string, env, dynamicConfig []string, fn func(*corpusRecorder) error, simArgs ...string) error {
		if !stacks[name] {
			return nil
		}
		return withCorpusStack(ctx, o, name, env, dynamicConfig, fn, simArgs...)
	}
	err := withStack("main", corpusEnv, nil, func(r *corpusRecorder) error {
		for _, scenario := range []func(context.Context) error{r.failuresAndSplit, r.readinessTimeout, r.lostSubmission, r.waitlist} {
			if err := scenario(ctx); err != nil {
				return err
			}
		}
		files = append(files, r.files...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	canEnv := slices.Concat(corpusEnv, []string{
		// One short chunk at a time: a submission of 50 conversations takes
		// ten chunks, about 60 history events, so the scheduler is told to
		// continue as new while some are still queued.
		"FETCH_BATCH_SIZE=5", "FETCH_CONCURRENCY=1",
		"READY_POLL_INTERVAL=1s", "READY_TIMEOUT=60s", "GENESYS_REQUESTS_PER_SECOND=10",
	})
	canConfig := []string{fmt.Sprintf("limit.historyCount.suggestContinueAsNew=%d", corpusSuggestContinueAsNewAt)}
	err = withStack("continue-as-new", canEnv, canConfig, func(r *corpusRecorder) error {
		if err := r.continueAsNew(ctx); err != nil {
			return err
		}
		files = append(files, r.files...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	backfillSim := []string{"--conversations", strconv.Itoa(corpusHistory), "--history", strconv.Itoa(corpusHistory),
		"--spacing", corpusHistorySpacing.String()}
	err = withStack("backfill", corpusEnv, canConfig, func(r *corpusRecorder) error {
		if err := r.backfill(ctx); err != nil {
			return err
		}
		files = append(files, r.files...)
		return nil
	}, backfillSim...)
	if err != nil {
		return nil, err
	}
	if err := replaceCorpus(o.Dir, files); err != nil {
		return nil, err
	}
	return &CorpusResult{Dir: o.Dir, Files: files, Wall: time.Since(started)}, nil
}

// withCorpusStack starts a fresh stack on free ports, its logs apart from
// `make up`'s, runs fn on it and stops it. dynamicConfig is added to the
// Temporal dev server's for this stack only.
func withCorpusStack(ctx context.Context, o CorpusOptions, name string, env, dynamicConfig []string, fn func(*corpusRecorder) error, simArgs ...string) error {
	paths := o.Paths
	paths.Logs = filepath.Join(paths.Logs, "replay-corpus", name)
	paths.Run = filepath.Join(paths.Run, "replay-corpus", name)
	ports, err := FreePorts()
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "starting a fresh stack %q on free ports (logs: %s)\n", name, paths.Logs)
	// Start reads temporalDynamicConfig when it builds the server's command
	// line; the recorder starts one stack at a time and puts it back.
	saved := temporalDynamicConfig
	temporalDynamicConfig = slices.Concat(saved, dynamicConfig)
	stack, err := Start(ctx, Options{Paths: paths, Ports: ports, Env: env, Log: o.Out, SimulatorArgs: slices.Concat(corpusSimulatorArgs, simArgs), Hermetic: true})
	temporalDynamicConfig = saved
	if err != nil {
		return err
	}
	defer stack.Stop()
	temporal, err := client.DialContext(ctx, client.Options{HostPort: stack.Endpoints.TemporalAddress, Logger: quietLogger{}})
	if err != nil {
		return fmt.Errorf("devstack: connect to Temporal: %w", err)
	}
	defer temporal.Close()
	r := &corpusRecorder{stack: stack, temporal: temporal, sim: simulator.NewClient(stack.Endpoints.Simulator),
		out: o.Out, started: time.Now(), schedulerID: workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue)}
	return fn(r)
}

// corpusRecorder runs scenarios on one stack and keeps their histories.
type corpusRecorder struct {
	stack       *Stack
	temporal    client.Client
	sim         *simulator.Client
	out         io.Writer
	started     time.Time
	schedulerID string
	files       []CorpusFile
}

func (r *corpusRecorder) note(format string, args ...any) {
	fmt.Fprintf(r.out, "  t+%3.0fs %s\n", time.Since(r.started).Seconds(), fmt.Sprintf(format, args...))
}

func (r *corpusRecorder) settings(ctx context.Context, patch map[string]any) error {
	b, _ := json.Marshal(patch)
	r.note("simulator settings %s", b)
	return r.sim.UpdateSettings(ctx, patch)
}

// emit has the simulator emit the customer.end events of n new
// conversations as one SQS batch: one event per conversation keeps the
// batches, and so the histories, small.
func (r *corpusRecorder) emit(ctx context.Context, n int) (simulator.EmitResult, error) {
	res, err := r.sim.Emit(ctx, simulator.EmitRequest{Conversations: n, Shape: "sqs", BatchSize: n,
		Topics: []string{simulator.TopicCustomerEnd}})
	if err == nil && len(res.Deliveries) != 1 {
		err = fmt.Errorf("devstack: the simulator emitted %d deliveries for %d conversations, want 1", len(res.Deliveries), n)
	}
	return res, err
}

// deliver hands one SQS batch to the forwarder Lambda and returns the id of
// the workflow it started.
func (r *corpusRecorder) deliver(ctx context.Context, payload []byte) (string, error) {
	parsed, err := intake.Parse(payload)
	if err != nil {
		return "", fmt.Errorf("devstack: emitted delivery: %w", err)
	}
	resp, err := InvokeForwarder(ctx, r.stack.Endpoints, payload)
	if err != nil {
		return "", err
	}
	if len(resp.BatchItemFailures) > 0 {
		return "", fmt.Errorf("devstack: the forwarder handed %d records back", len(resp.BatchItemFailures))
	}
	return parsed.WorkflowID(), nil
}

// waitBatch waits for a batch workflow, following continue-as-new.
func (r *corpusRecorder) waitBatch(ctx context.Context, id string) (workflows.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, corpusWaitTimeout)
	defer cancel()
	var s workflows.Summary
	if err := r.temporal.GetWorkflow(ctx, id, "").Get(ctx, &s); err != nil {
		return s, fmt.Errorf("devstack: batch %s: %w", id, err)
	}
	return s, nil
}

// waitFor polls cond until it holds.
func (r *corpusRecorder) waitFor(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	deadline := time.Now().Add(corpusWaitTimeout)
	var lastErr error
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devstack: %s: not within %s (last error: %v)", what, corpusWaitTimeout, lastErr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *corpusRecorder) schedulerProgress(ctx context.Context) (workflows.SchedulerProgress, error) {
	var p workflows.SchedulerProgress
	value, err := r.temporal.QueryWorkflow(ctx, r.schedulerID, "", workflows.ProgressQuery)
	if err != nil {
		return p, err
	}
	return p, value.Get(&p)
}

// waitSchedulerIdle waits until the scheduler has nothing queued, in flight,
// open, waitlisted or to send, no workflow task pending, and its history
// stopped growing: what is exported then is the whole scenario.
func (r *corpusRecorder) waitSchedulerIdle(ctx context.Context) error {
	var lastLength int64 = -1
	return r.waitFor(ctx, "the fetch scheduler to be idle", func(ctx context.Context) (bool, error) {
		p, err := r.schedulerProgress(ctx)
		if err != nil {
			return false, err
		}
		if p.Queued+p.InFlight+p.Open+p.Waitlisted+p.SignalsInFlight+p.SignalsWaiting > 0 {
			lastLength = -1
			return false, nil
		}
		desc, err := r.temporal.DescribeWorkflowExecution(ctx, r.schedulerID, "")
		if err != nil {
			return false, err
		}
		length := desc.GetWorkflowExecutionInfo().GetHistoryLength()
		stable := desc.GetPendingWorkflowTask() == nil && length == lastLength
		lastLength = length
		return stable, nil
	})
}

// endScheduler terminates the idle scheduler, so that the next scenario's
// first batch starts a fresh one.
func (r *corpusRecorder) endScheduler(ctx context.Context) error {
	r.note("terminate the idle fetch scheduler so the next scenario starts its own")
	return r.temporal.TerminateWorkflow(ctx, r.schedulerID, "", "replay corpus: scenario recorded")
}

// run is one run of a workflow and its history.
type run struct {
	workflowID, runID string
	history           *historypb.History
}

// runs returns every run of workflowID's latest chain of continue-as-new,
// oldest first. A run started afresh (not continued) ends the chain.
func (r *corpusRecorder) runs(ctx context.Context, workflowID string) ([]run, error) {
	desc, err := r.temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, err
	}
	var out []run
	for runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(); runID != ""; {
		h, err := r.history(ctx, workflowID, runID)
		if err != nil {
			return nil, err
		}
		out = append([]run{{workflowID: workflowID, runID: runID, history: h}}, out...)
		runID = h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
	}
	return out, nil
}

func (r *corpusRecorder) history(ctx context.Context, workflowID, runID string) (*historypb.History, error) {
	it := r.temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("devstack: history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, e)
	}
	if len(h.Events) == 0 {
		return nil, fmt.Errorf("devstack: %s has an empty history", workflowID)
	}
	return h, nil
}

// keepLatest keeps the latest run of workflowID as name.
func (r *corpusRecorder) keepLatest(ctx context.Context, name, covers, workflowID string, checks ...historyCheck) error {
	runs, err := r.runs(ctx, workflowID)
	if err != nil {
		return err
	}
	return r.keep(name, covers, runs[len(runs)-1], checks...)
}

// keep checks that a run's history shows the path it is named after and
// keeps it for the corpus.
func (r *corpusRecorder) keep(name, covers string, rn run, checks ...historyCheck) error {
	for _, check := range checks {
		if err := check(rn.history); err != nil {
			return fmt.Errorf("devstack: %s (%s): %w", name, rn.workflowID, err)
		}
	}
	data, err := encodeHistory(rn.history)
	if err != nil {
		return err
	}
	f := CorpusFile{Name: name, Covers: covers, WorkflowID: rn.workflowID, RunID: rn.runID,
		Events: len(rn.history.GetEvents()), Bytes: len(data), data: data}
	r.files = append(r.files, f)
	r.note("recorded %s: %d events, %d bytes", name, f.Events, f.Bytes)
	return nil
}

// encodeHistory writes a history as `temporal workflow show -o json` does.
// protojson varies its whitespace from build to build on purpose; indenting
// its output again makes the file depend on the history alone.
func encodeHistory(h *historypb.History) ([]byte, error) {
	raw, err := protojson.Marshal(h)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// replaceCorpus writes the files beside dir, replays each as the test will,
// and only then swaps them for dir's JSON files.
func replaceCorpus(dir string, files []CorpusFile) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".corpus-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, f := range files {
		path := filepath.Join(tmp, f.Name+".json")
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return err
		}
		if err := ReplayHistoryFile(path, f.WorkflowID); err != nil {
			kept := filepath.Join(os.TempDir(), "replay-failed-"+f.Name+".json")
			_ = os.WriteFile(kept, f.data, 0o644)
			return fmt.Errorf("devstack: %s does not replay (history kept in %s): %w", f.Name, kept, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, path := range old {
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	var ids strings.Builder
	for _, f := range files {
		if err := os.Rename(filepath.Join(tmp, f.Name+".json"), filepath.Join(dir, f.Name+".json")); err != nil {
			return err
		}
		fmt.Fprintf(&ids, "%s.json\t%s\n", f.Name, f.WorkflowID)
	}
	return os.WriteFile(filepath.Join(dir, CorpusWorkflowIDs), []byte(ids.String()), 0o644)
}

// CorpusWorkflowIDs names the file beside the histories that gives each
// one's workflow id (file, tab, id, a line each): a history does not hold
// it, and a workflow that names its children after itself (Backfill)
// replays only under its own id.
const CorpusWorkflowIDs = "workflow-ids.tsv"

// ReplayHistoryFile replays a recorded history against the current
// workflow code, both workflows registered, as workflows/replay_test.go does.
func ReplayHistoryFile(path, workflowID string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return fmt.Errorf("devstack: %s: %w", path, err)
	}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.IngestConversations, workflow.RegisterOptions{Name: workflows.IngestWorkflowName})
	replayer.RegisterWorkflowWithOptions(workflows.FetchScheduler, workflow.RegisterOptions{Name: workflows.FetchSchedulerWorkflowName})
	replayer.RegisterWorkflowWithOptions(workflows.Backfill, workflow.RegisterOptions{Name: workflows.BackfillWorkflowName})
	return replayer.ReplayWorkflowHistoryWithOptions(quietLogger{}, h, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: workflowID}})
}

func printCorpus(w io.Writer, res *CorpusResult) {
	fmt.Fprintf(w, "\n| file | path covered | events | bytes |\n|---|---|---:|---:|\n")
	total := 0
	for _, f := range res.Files {
		fmt.Fprintf(w, "| %s.json | %s | %d | %d |\n", f.Name, f.Covers, f.Events, f.Bytes)
		total += f.Bytes
	}
	fmt.Fprintf(w, "\n%d histories, %d bytes, in %s; recorded in %s\n", len(res.Files), total, res.Dir, res.Wall.Round(time.Second))
	fmt.Fprintln(w, "go test ./workflows/ -run TestReplay replays them.")
}

// ---- scenarios ----

// failuresAndSplit: a batch with poisoned conversations. The badRequest
// ones make Genesys refuse any request naming them, so the scheduler
// halves its chunk until each is alone; the brokenRecord ones come back
// unmappable. The batch records every one of them failed.
func (r *corpusRecorder) failuresAndSplit(ctx context.Context) error {
	// With seed 1, the first 40 conversations emitted at this rate hold
	// three that Genesys refuses and two it serves unmappable.
	const n, rate = 40, 0.2
	fmt.Fprintln(r.out, "scenario: poisoned conversations (400 split, failures recorded)")
	if err := r.settings(ctx, map[string]any{"poisonRate": rate}); err != nil {
		return err
	}
	emitted, err := r.emit(ctx, n)
	if err != nil {
		return err
	}
	if err := r.settings(ctx, map[string]any{"poisonRate": 0}); err != nil {
		return err
	}
	kinds := map[string]int{}
	for _, id := range emitted.ConversationIDs {
		truth, err := r.sim.GroundTruth(ctx, id)
		if err != nil {
			return err
		}
		if truth.Poisoned {
			kinds[truth.PoisonKind]++
		}
	}
	if kinds["badRequest"] == 0 || kinds["brokenRecord"] == 0 {
		return fmt.Errorf("devstack: the simulator poisoned %v among %d conversations, want both kinds; change the scenario's rate", kinds, n)
	}
	id, err := r.deliver(ctx, emitted.Deliveries[0])
	if err != nil {
		return err
	}
	r.note("batch %s: %d conversations, %d refused with 400, %d unmappable", id, n, kinds["badRequest"], kinds["brokenRecord"])
	s, err := r.waitBatch(ctx, id)
	if err != nil {
		return err
	}
	if want := kinds["badRequest"] + kinds["brokenRecord"]; s.Failed != want || s.StoredComplete != n-want {
		return fmt.Errorf("devstack: batch %s: %d failed and %d stored, want %d and %d", id, s.Failed, s.StoredComplete, want, n-want)
	}
	if err := r.keepLatest(ctx, "batch-failures", "a batch whose report names failed conversations records them (RecordFailedConversations) and its audit record",
		id, activityScheduled(workflows.RecordFailuresActivityName), activityScheduled(workflows.RecordBatchActivityName)); err != nil {
		return err
	}
	if err := r.waitSchedulerIdle(ctx); err != nil {
		return err
	}
	if err := r.keepLatest(ctx, "scheduler-400-split", "the scheduler halves a chunk Genesys refused (400) until the bad id is alone, and reports it failed",
		r.schedulerID, activityFailed(workflows.ErrTypeBadRequest, 2)); err != nil {
		return err
	}
	return r.endScheduler(ctx)
}

// readinessTimeout: one batch of conversations that never complete before
// READY_TIMEOUT. Those emitted first are served without conversationEnd by
// the deadline and are stored incomplete; those emitted readinessGap later
// are still absent then and are recorded failed. The simulator's readiness
// lag is global, so the two kinds differ only in when they were emitted;
// SQS puts them in one batch as it would any two events.
func (r *corpusRecorder) readinessTimeout(ctx context.Context) error {
	const (
		n = 3
		// absentFor lies between READY_TIMEOUT and READY_TIMEOUT +
		// readinessGap, with seconds to spare on both sides: the last fetch
		// comes a moment after the deadline.
		readinessGap = 10 * time.Second
		absentFor    = 25 * time.Second
	)
	fmt.Fprintln(r.out, "scenario: readiness timeout (stored incomplete, not found)")
	if err := r.settings(ctx, map[string]any{"absentFor": absentFor.String(), "wrapupFor": "10m"}); err != nil {
		return err
	}
	first, err := r.emit(ctx, n)
	if err != nil {
		return err
	}
	r.note("emitted %d conversations; %s until the next %d", n, readinessGap, n)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(readinessGap):
	}
	second, err := r.emit(ctx, n)
	if err != nil {
		return err
	}
	payload, err := mergeSQSBatches(first.Deliveries[0], second.Deliveries[0])
	if err != nil {
		return err
	}
	id, err := r.deliver(ctx, payload)
	if err != nil {
		return err
	}
	r.note("batch %s: %d conversations; waiting for READY_TIMEOUT", id, 2*n)
	s, err := r.waitBatch(ctx, id)
	if err != nil {
		return err
	}
	if err := r.settings(ctx, map[string]any{"absentFor": "0s", "wrapupFor": "0s"}); err != nil {
		return err
	}
	notFound := 0
	for _, f := range s.Failures {
		if strings.Contains(f.Reason, "READY_TIMEOUT") {
			notFound++
		}
	}
	if s.StoredIncomplete != n || notFound != n {
		return fmt.Errorf("devstack: batch %s: %d stored incomplete and %d not found within READY_TIMEOUT, want %d each", id, s.StoredIncomplete, notFound, n)
	}
	if err := r.keepLatest(ctx, "batch-readiness-timeout",
		"a batch polls conversations that are not ready, at READY_TIMEOUT submits them to be stored as they are: incomplete ones stored, absent ones recorded failed",
		id, timersFired(3), activityScheduled(workflows.RecordFailuresActivityName)); err != nil {
		return err
	}
	if err := r.waitSchedulerIdle(ctx); err != nil {
		return err
	}
	if err := r.keepLatest(ctx, "scheduler-readiness-deadline",
		"the scheduler takes readiness re-submissions and a batch's final storeIncomplete submission (deadline queue)",
		r.schedulerID, signalsReceived(workflows.SubmitFetchesSignal, 4)); err != nil {
		return err
	}
	return r.endScheduler(ctx)
}

// lostSubmission: a batch's scheduler is terminated while the batch's fetch
// is held up by a Genesys outage. A later batch starts a new scheduler,
// which does not know the first batch's submission; pinged on its behalf,
// it asks the batch to resubmit and serves it.
func (r *corpusRecorder) lostSubmission(ctx context.Context) error {
	const n = 5
	fmt.Fprintln(r.out, "scenario: a submission lost with its scheduler, resubmitted on a ping")
	if err := r.settings(ctx, map[string]any{"outage": simulator.Outage503}); err != nil {
		return err
	}
	emitted, err := r.emit(ctx, n)
	if err != nil {
		return err
	}
	lost, err := r.deliver(ctx, emitted.Deliveries[0])
	if err != nil {
		return err
	}
	err = r.waitFor(ctx, "the batch's fetch to be in flight", func(ctx context.Context) (bool, error) {
		p, err := r.schedulerProgress(ctx)
		return err == nil && p.InFlight > 0, err
	})
	if err != nil {
		return err
	}
	r.note("batch %s submitted %d conversations to the scheduler it started; their fetch fails with 503", lost, n)
	if err := r.temporal.TerminateWorkflow(ctx, r.schedulerID, "", "replay corpus: scheduler lost with a submission"); err != nil {
		return err
	}
	r.note("terminated the fetch scheduler with the submission")
	// The attempt running now ends on the outage; none follows, the
	// scheduler is gone. Only then may Genesys answer again.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
	}
	if err := r.settings(ctx, map[string]any{"outage": simulator.OutageNone}); err != nil {
		return err
	}
	emitted, err = r.emit(ctx, n)
	if err != nil {
		return err
	}
	next, err := r.deliver(ctx, emitted.Deliveries[0])
	if err != nil {
		return err
	}
	if _, err := r.waitBatch(ctx, next); err != nil {
		return err
	}
	r.note("batch %s started a new scheduler and finished", next)
	// Standing in for the lost batch's own ping, which comes only after
	// 10 minutes without a report.
	ping := workflows.FetchSubmission{Requester: lost, Seq: 1, Ping: true}
	if err := r.temporal.SignalWorkflow(ctx, r.schedulerID, "", workflows.SubmitFetchesSignal, ping); err != nil {
		return err
	}
	r.note("pinged the new scheduler on behalf of %s", lost)
	s, err := r.waitBatch(ctx, lost)
	if err != nil {
		return err
	}
	if s.StoredComplete != n {
		return fmt.Errorf("devstack: batch %s: %d stored, want %d", lost, s.StoredComplete, n)
	}
	if err := r.keepLatest(ctx, "batch-lost-submission-resubmit",
		"a batch whose scheduler (its child) was terminated with its submission is asked to resubmit (resubmit-fetches) and does",
		lost, signalsReceived(workflows.ResubmitSignal, 1), signalsSent(workflows.SubmitFetchesSignal, 1)); err != nil {
		return err
	}
	if err := r.waitSchedulerIdle(ctx); err != nil {
		return err
	}
	if err := r.keepLatest(ctx, "scheduler-ping-resubmit",
		"a scheduler pinged about a submission it does not know asks the batch to resubmit, then serves it",
		r.schedulerID, signalsSent(workflows.ResubmitSignal, 1)); err != nil {
		return err
	}
	return r.endScheduler(ctx)
}

// waitlist: eleven batches of 2,000 conversations take the scheduler's queue
// past maxQueued; a small batch that comes next is waitlisted, then invited
// once the queue is down to half. The simulator delays every request while
// the queue fills, so that it fills however fast fetching would drain it.
func (r *corpusRecorder) waitlist(ctx context.Context) error {
	const (
		bigBatches, bigBatch = 11, 2000
		smallBatch           = 5
		// holdFetches is longer than filling the queue takes.
		holdFetches = 10 * time.Second
	)
	fmt.Fprintln(r.out, "scenario: waitlist and invitation")
	if err := r.settings(ctx, map[string]any{"slowRate": 1, "slowDelay": holdFetches.String()}); err != nil {
		return err
	}
	var ids []string
	for range bigBatches {
		emitted, err := r.emit(ctx, bigBatch)
		if err != nil {
			return err
		}
		id, err := r.deliver(ctx, emitted.Deliveries[0])
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	r.note("sent %d batches of %d conversations", bigBatches, bigBatch)
	err := r.waitFor(ctx, "every big batch's submission to reach the scheduler", func(ctx context.Context) (bool, error) {
		p, err := r.schedulerProgress(ctx)
		return err == nil && p.Stats.Submissions+p.Waitlisted >= bigBatches, err
	})
	if err != nil {
		return err
	}
	p, err := r.schedulerProgress(ctx)
	if err != nil {
		return err
	}
	r.note("the scheduler has %d conversations queued and %d chunks in flight", p.Queued, p.InFlight)
	if p.Queued < schedulerMaxQueued {
		return fmt.Errorf("devstack: the scheduler has only %d conversations queued, want %d: filling it took longer than the simulator held requests (%s)",
			p.Queued, schedulerMaxQueued, holdFetches)
	}
	emitted, err := r.emit(ctx, smallBatch)
	if err != nil {
		return err
	}
	small, err := r.deliver(ctx, emitted.Deliveries[0])
	if err != nil {
		return err
	}
	ids = append(ids, small)
	err = r.waitFor(ctx, "the small batch to be waitlisted", func(ctx context.Context) (bool, error) {
		p, err := r.schedulerProgress(ctx)
		return err == nil && p.Waitlisted > 0, err
	})
	if err != nil {
		return err
	}
	r.note("batch %s (%d conversations) is waitlisted", small, smallBatch)
	if err := r.settings(ctx, map[string]any{"slowRate": 0}); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := r.waitBatch(ctx, id); err != nil {
			return err
		}
	}
	r.note("all %d batches finished", len(ids))
	if err := r.keepLatest(ctx, "batch-waitlist-invitation",
		"a batch waitlisted by a full scheduler is invited (resubmit-fetches) when there is room and resubmits",
		small, signalsReceived(workflows.ResubmitSignal, 1), signalsSent(workflows.SubmitFetchesSignal, 2)); err != nil {
		return err
	}
	if err := r.waitSchedulerIdle(ctx); err != nil {
		return err
	}
	// The server may have suggested continue-as-new on the history's size
	// (22,000 ids, with their events' topics and times): keep the run that
	// sent the invitation.
	runs, err := r.runs(ctx, r.schedulerID)
	if err != nil {
		return err
	}
	invited := signalsSent(workflows.ResubmitSignal, 1)
	for _, rn := range runs {
		if invited(rn.history) == nil {
			if err := r.keep("scheduler-waitlist-invitation",
				"a scheduler with maxQueued (20,000) conversations queued waitlists a submission and invites it when the queue is down to half",
				rn, invited); err != nil {
				return err
			}
			return r.endScheduler(ctx)
		}
	}
	return fmt.Errorf("devstack: none of the scheduler's %d runs invited the waitlisted batch", len(runs))
}

// continueAsNew (on the stack whose server suggests continue-as-new early):
// one batch whose conversations stay absent for several polls. Both the
// batch and the scheduler pass the suggestion's threshold and continue as
// new; the batch carries its waiting conversations, the scheduler its queue
// and the open submission.
func (r *corpusRecorder) continueAsNew(ctx context.Context) error {
	const n = 50
	fmt.Fprintln(r.out, "scenario: continue-as-new of both workflows")
	if err := r.settings(ctx, map[string]any{"absentFor": "12s"}); err != nil {
		return err
	}
	emitted, err := r.emit(ctx, n)
	if err != nil {
		return err
	}
	id, err := r.deliver(ctx, emitted.Deliveries[0])
	if err != nil {
		return err
	}
	r.note("batch %s: %d conversations absent for 12s", id, n)
	s, err := r.waitBatch(ctx, id)
	if err != nil {
		return err
	}
	if s.StoredComplete != n || s.Runs < 2 {
		return fmt.Errorf("devstack: batch %s: %d stored complete in %d runs, want %d in 2 or more", id, s.StoredComplete, s.Runs, n)
	}
	batchRuns, err := r.runs(ctx, id)
	if err != nil {
		return err
	}
	if len(batchRuns) < 2 {
		return fmt.Errorf("devstack: batch %s has %d runs, want 2 or more", id, len(batchRuns))
	}
	if err := r.keep("batch-continue-as-new", "a batch polling for readiness continues as new when the server suggests it, carrying its waiting conversations",
		batchRuns[0], lastEvent(enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)); err != nil {
		return err
	}
	if err := r.keep("batch-continued-run", "a batch run started from a carry (deadline, polls, waiting, summary) goes on polling and finishes",
		batchRuns[1]); err != nil {
		return err
	}
	if err := r.waitSchedulerIdle(ctx); err != nil {
		return err
	}
	schedulerRuns, err := r.runs(ctx, r.schedulerID)
	if err != nil {
		return err
	}
	// The first run that carried queued conversations, and the run that
	// took them over.
	for i, rn := range schedulerRuns[:len(schedulerRuns)-1] {
		var in workflows.SchedulerInput
		if err := decodeContinuedAsNewInput(rn.history, &in); err != nil {
			return err
		}
		if in.Carry == nil || len(in.Carry.Queue) == 0 || len(in.Carry.Open) == 0 {
			continue
		}
		r.note("scheduler run %d of %d carried %d queued conversations and %d open submissions", i+1, len(schedulerRuns), len(in.Carry.Queue), len(in.Carry.Open))
		if err := r.keep("scheduler-continue-as-new",
			"a busy scheduler told to continue as new stops dispatching, drains its chunk in flight and carries its queue and open submission",
			rn, lastEvent(enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)); err != nil {
			return err
		}
		return r.keep("scheduler-continued-run", "a scheduler run started from a carry fetches the carried queue and reports to the open submission",
			schedulerRuns[i+1])
	}
	return fmt.Errorf("devstack: none of the scheduler's %d runs continued as new with a queue and an open submission", len(schedulerRuns))
}

// The backfill stack's history: 1,500 conversations two minutes apart from
// the simulator's default base time, over three UTC days.
const (
	corpusHistory        = 1500
	corpusHistorySpacing = 2 * time.Minute
)

// backfill runs a Backfill with fix over the simulator's history on a
// server that suggests continue-as-new every 40 events.
func (r *corpusRecorder) backfill(ctx context.Context) error {
	fmt.Fprintln(r.out, "scenario: backfill over three days of history, continuing as new")
	catalog, err := r.sim.Catalog(ctx)
	if err != nil {
		return err
	}
	from := simulator.DefaultBaseTime
	to := from.Add(corpusHistory * corpusHistorySpacing)
	const id = "genesys-ingest-backfill-corpus"
	run, err := r.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.DefaultTaskQueue},
		workflows.BackfillWorkflowName, workflows.BackfillInput{From: from, To: to, OrgID: catalog.OrgID, Fix: true})
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, corpusWaitTimeout)
	defer cancel()
	var report workflows.BackfillReport
	if err := run.Get(waitCtx, &report); err != nil {
		return fmt.Errorf("devstack: backfill: %w", err)
	}
	r.note("backfill: %d found, %d stored complete in %d batches, %d runs", report.Totals.Found, report.StoredComplete, report.Batches, report.Runs)
	if report.Totals.Found != corpusHistory || report.StoredComplete != corpusHistory || report.Runs < 2 {
		return fmt.Errorf("devstack: backfill found %d and stored %d in %d runs, want %d in 2 or more", report.Totals.Found, report.StoredComplete, report.Runs, corpusHistory)
	}
	runs, err := r.runs(ctx, id)
	if err != nil {
		return err
	}
	if err := r.keep("backfill-continue-as-new", "a backfill walks windows and pages, looks each page up in the table and continues as new carrying its cursor, report and pending ids",
		runs[0], activityScheduled(workflows.QueryDetailsActivityName), lastEvent(enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)); err != nil {
		return err
	}
	if err := r.keep("backfill-continued-run", "the backfill's last run starts a batch marked backfill for what is not stored complete, waits for it and records its report",
		runs[len(runs)-1], childStarted(workflows.IngestWorkflowName), activityScheduled(workflows.RecordBackfillActivityName)); err != nil {
		return err
	}
	batchRuns, err := r.runs(ctx, id+"-batch-1")
	if err != nil {
		return err
	}
	if err := r.keep("batch-backfill", "a batch marked backfill submits to the scheduler's backfill lane",
		batchRuns[0], signalsSent(workflows.SubmitFetchesSignal, 1)); err != nil {
		return err
	}
	if err := r.waitSchedulerIdle(ctx); err != nil {
		return err
	}
	schedulerRuns, err := r.runs(ctx, r.schedulerID)
	if err != nil {
		return err
	}
	for _, rn := range schedulerRuns {
		if count(rn.history, isBackfillFetch) > 0 {
			return r.keep("scheduler-backfill-lane", "the scheduler fetches a backfill submission in its lane, at task priority 5",
				rn, func(h *historypb.History) error { return atLeast("backfill fetches", count(h, isBackfillFetch), 1) })
		}
	}
	return fmt.Errorf("devstack: no scheduler run fetched at backfill priority")
}

// isBackfillFetch: a fetch scheduled at the backfill lane's priority.
func isBackfillFetch(e *historypb.HistoryEvent) bool {
	a := e.GetActivityTaskScheduledEventAttributes()
	return a.GetActivityType().GetName() == workflows.FetchActivityName && a.GetPriority().GetPriorityKey() == workflows.BackfillPriorityKey
}

// mergeSQSBatches joins the records of SQS batches into one.
func mergeSQSBatches(batches ...[]byte) ([]byte, error) {
	var all []json.RawMessage
	for _, b := range batches {
		var batch struct {
			Records []json.RawMessage `json:"Records"`
		}
		if err := json.Unmarshal(b, &batch); err != nil {
			return nil, fmt.Errorf("devstack: SQS batch: %w", err)
		}
		all = append(all, batch.Records...)
	}
	return json.Marshal(struct {
		Records []json.RawMessage `json:"Records"`
	}{all})
}

// decodeContinuedAsNewInput reads the input a run handed to its successor.
func decodeContinuedAsNewInput(h *historypb.History, v any) error {
	events := h.GetEvents()
	attrs := events[len(events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return fmt.Errorf("devstack: the run did not continue as new with an input")
	}
	return json.Unmarshal(attrs.GetInput().GetPayloads()[0].GetData(), v)
}

// ---- checks that a history shows its path ----

type historyCheck func(*historypb.History) error

func count(h *historypb.History, match func(*historypb.HistoryEvent) bool) int {
	n := 0
	for _, e := range h.GetEvents() {
		if match(e) {
			n++
		}
	}
	return n
}

func atLeast(what string, got, want int) error {
	if got < want {
		return fmt.Errorf("%d %s, want at least %d", got, what, want)
	}
	return nil
}

func signalsReceived(name string, want int) historyCheck {
	return func(h *historypb.History) error {
		return atLeast(name+" signals received", count(h, func(e *historypb.HistoryEvent) bool {
			return e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == name
		}), want)
	}
}

func signalsSent(name string, want int) historyCheck {
	return func(h *historypb.History) error {
		return atLeast(name+" signals sent", count(h, func(e *historypb.HistoryEvent) bool {
			return e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes().GetSignalName() == name
		}), want)
	}
}

func activityScheduled(name string) historyCheck {
	return func(h *historypb.History) error {
		return atLeast(name+" activities", count(h, func(e *historypb.HistoryEvent) bool {
			return e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == name
		}), 1)
	}
}

func activityFailed(errType string, want int) historyCheck {
	return func(h *historypb.History) error {
		return atLeast("activities failed with "+errType, count(h, func(e *historypb.HistoryEvent) bool {
			return e.GetActivityTaskFailedEventAttributes().GetFailure().GetApplicationFailureInfo().GetType() == errType
		}), want)
	}
}

func childStarted(workflowType string) historyCheck {
	return func(h *historypb.History) error {
		return atLeast(workflowType+" children started", count(h, func(e *historypb.HistoryEvent) bool {
			return e.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetWorkflowType().GetName() == workflowType
		}), 1)
	}
}

func timersFired(want int) historyCheck {
	return func(h *historypb.History) error {
		return atLeast("timers fired", count(h, func(e *historypb.HistoryEvent) bool {
			return e.GetEventType() == enums.EVENT_TYPE_TIMER_FIRED
		}), want)
	}
}

func lastEvent(t enums.EventType) historyCheck {
	return func(h *historypb.History) error {
		events := h.GetEvents()
		if got := events[len(events)-1].GetEventType(); got != t {
			return fmt.Errorf("last event %s, want %s", got, t)
		}
		return nil
	}
}
