package devstack

// The benchmark behind `make bench` (go run ./devstack/cmd/devstack bench).
// It starts one fresh, in-memory stack per configuration on free loopback
// ports, runs conversations through the whole pipeline with Drive (simulator
// events → SQS batches → the real forwarder bootstrap under the Lambda
// emulator → workflows on the worker → DynamoDB), measures each run from
// outside, and stops the stack again:
//
//   - reference: FETCH_BATCH_SIZE=1, FETCH_CONCURRENCY=10, the shape of the
//     Step Functions reference design (one Genesys request per conversation);
//   - default: the project's defaults, a backlog of conversations drained
//     through the deployed event source mapping (its batches fill at once);
//   - half load: the project's defaults at 200 conversations/s for 2
//     minutes, the events batched as the deployed event source mapping
//     would (batch size, batching window, five pollers; see RunLoad), and
//     the freshness of every conversation, from its events' arrival in the
//     queue to its item's updatedAt.
//
// Every run uses the event source mapping Terraform deploys
// (DeployedEventSource: event_source_batch_size,
// event_source_maximum_batching_window_seconds and
// event_source_maximum_concurrency); the sweep (bench_sweep.go, make
// bench-sweep) is where those values were chosen.
//
// The simulator keeps its default rate limit (300 requests a minute per
// token) and serves conversations as soon as they are emitted
// (--absent-for 0s --wrapup-for 0s). Before the runs it also times the
// Lambda bootstrap's cold start under the emulator, without Temporal.
//
// Environment knobs (all optional):
//
//	BENCH_SMOKE=1                        tiny sizes for CI, like -smoke
//	BENCH_REFERENCE_CONVERSATIONS        reference size; default 330 (smoke 20), ≥60 s at 4.5 requests/s
//	BENCH_CONVERSATIONS                  default configuration's size; default 30000 (smoke 2000), at most 100000
//	BENCH_BATCH_SIZE                     the event source's batch size; default the deployed one
//	BENCH_BATCHING_WINDOW                its batching window (0s to 300s); default the deployed one
//	BENCH_POLLERS                        its concurrent pollers; default 5
//	BENCH_EVENTS_PER_DELIVERY            events per SQS batch in the backlog runs; default the batch
//	                                     size, at most 4000 (the 6 MB payload limit)
//	BENCH_REFERENCE_EVENTS_PER_DELIVERY  the reference's; default BENCH_EVENTS_PER_DELIVERY
//	BENCH_HALF_LOAD                      the half-load rate in conversations/s; default 200 (smoke 100); 0 skips it
//	BENCH_HALF_LOAD_DURATION             how long; default 2m (smoke 15s)
//	BENCH_SWEEP=1                        run the event source sweep first (as make bench-sweep does alone)
//	BENCH_SWEEP_POINTS                   e.g. 10:0s,100:1s,10000:1s (batch size:window); default 8 points
//	BENCH_SWEEP_DURATION                 half load per point; default 60s
//	BENCH_SWEEP_BACKLOG                  backlog drained per batch size; default 6000
//	BENCH_COLD_STARTS                    Lambda cold starts to time; default 5
//	BENCH_TIMEOUT                        limit per configuration; default 30m
//	BENCH_RESULTS_DIR                    where bench-<UTC time>.json and .svg go; default bench-results
//
// A simulated event is about 1.5 KB in its SQS record, so 4000 events make a
// 5.9 MB invocation: the most that fits the 6 MB synchronous payload limit the
// emulator enforces, like Lambda, which invokes with what it has when a
// batch reaches 6 MB whatever the batch size.
//
// The last line printed is one JSON object:
// {"reference":{...},"default":{...},"throughputRatio":x,"halfLoad":{...}}.
//
// This file holds the options, the result types and the orchestration
// (Bench, benchRun and its progress); bench_load.go (the steady load and
// the event source emulation), bench_stages.go, bench_sweep.go,
// bench_plot.go, bench_history.go, bench_coldstart.go, bench_procs.go and
// bench_report.go hold the rest.

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/starter/progress"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// Default sizes of the benchmark; see the knobs above.
const (
	benchReferenceConversations      = 330
	benchConversations               = 30_000
	benchSmokeReferenceConversations = 20
	benchSmokeConversations          = 2_000
	benchColdStarts                  = 5
	benchTimeout                     = 30 * time.Minute
	benchHalfLoadRate                = 200
	benchHalfLoadDuration            = 2 * time.Minute
	benchSmokeHalfLoadRate           = 100
	benchSmokeHalfLoadDuration       = 15 * time.Second
	benchSweepDuration               = time.Minute
	benchSweepBacklog                = 6_000
	// benchFreshnessGoal is the half-load p99 the project aims for.
	benchFreshnessGoal = 3 * time.Second
)

// DeployedEventSource is the SQS event source mapping the Terraform module
// deploys by default, chosen from the sweep (make bench-sweep) by
// sweepRule: event_source_batch_size, event_source_maximum_batching_window_seconds,
// and event_source_maximum_concurrency as the pollers;
// deployments' TestDefaultsMatchTheCode holds the module's defaults to it.
var DeployedEventSource = EventSource{BatchSize: 10_000, Window: time.Second, Pollers: 5}

// benchSimulatorArgs make every emitted conversation complete at once.
var benchSimulatorArgs = []string{"--absent-for", "0s", "--wrapup-for", "0s"}

// BenchOptions configure Bench.
type BenchOptions struct {
	Paths Paths
	// Smoke marks the tiny CI sizes; it only labels the output.
	Smoke                      bool
	ReferenceConversations     int
	Conversations              int
	EventsPerDelivery          int
	ReferenceEventsPerDelivery int
	ColdStarts                 int
	// Source is the event source mapping every run batches events as.
	Source EventSource
	// HalfLoad conversations a second for HalfLoadDuration; 0 skips it.
	HalfLoad         int
	HalfLoadDuration time.Duration
	// Sweep runs the event source sweep first.
	Sweep        bool
	SweepOptions SweepOptions
	// DocsPlot, if set, receives a copy of the plot (docs/bench.svg).
	DocsPlot string
	// Timeout bounds each configuration's run.
	Timeout time.Duration
	// ResultsDir receives bench-<UTC time>.json; "" means Paths.Root/bench-results.
	ResultsDir string
	// SkipBuild uses the binaries already in .local/bin.
	SkipBuild bool
	// Out receives progress, the tables and, last, the JSON line.
	Out io.Writer
}

// BenchOptionsFromEnv reads the BENCH_* knobs; smoke (or BENCH_SMOKE=1)
// picks the tiny CI sizes, which explicit knobs still override.
func BenchOptionsFromEnv(p Paths, smoke bool) (BenchOptions, error) {
	if v := os.Getenv("BENCH_SMOKE"); v != "" && v != "0" && v != "false" {
		smoke = true
	}
	o := BenchOptions{Paths: p, Smoke: smoke, ReferenceConversations: benchReferenceConversations,
		Conversations: benchConversations, Source: DeployedEventSource, HalfLoad: benchHalfLoadRate, HalfLoadDuration: benchHalfLoadDuration,
		ColdStarts: benchColdStarts, Timeout: benchTimeout, ResultsDir: os.Getenv("BENCH_RESULTS_DIR"), Out: os.Stdout,
		SweepOptions: SweepOptions{PerSecond: benchHalfLoadRate, Duration: benchSweepDuration, Backlog: benchSweepBacklog, FreshnessGoal: benchFreshnessGoal, Headroom: sweepHeadroom}}
	if smoke {
		o.ReferenceConversations, o.Conversations = benchSmokeReferenceConversations, benchSmokeConversations
		o.HalfLoad, o.HalfLoadDuration = benchSmokeHalfLoadRate, benchSmokeHalfLoadDuration
	}
	var errs []error
	envInt := func(name string, dst *int, lo, hi int) {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s=%q: must be a whole number between %d and %d", name, v, lo, hi))
			return
		}
		*dst = n
	}
	envDuration := func(name string, dst *time.Duration, lo, hi time.Duration) {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			errs = append(errs, fmt.Errorf("%s=%q: must be a duration from %s to %s", name, v, lo, hi))
			return
		}
		*dst = d
	}
	envInt("BENCH_REFERENCE_CONVERSATIONS", &o.ReferenceConversations, 1, 100_000)
	envInt("BENCH_CONVERSATIONS", &o.Conversations, 1, 100_000)
	envInt("BENCH_BATCH_SIZE", &o.Source.BatchSize, 1, 10_000)
	envDuration("BENCH_BATCHING_WINDOW", &o.Source.Window, 0, 300*time.Second)
	envInt("BENCH_POLLERS", &o.Source.Pollers, 1, 100)
	o.EventsPerDelivery = min(o.Source.BatchSize, maxEventsPerDelivery)
	envInt("BENCH_EVENTS_PER_DELIVERY", &o.EventsPerDelivery, 1, maxEventsPerDelivery)
	o.ReferenceEventsPerDelivery = o.EventsPerDelivery
	envInt("BENCH_REFERENCE_EVENTS_PER_DELIVERY", &o.ReferenceEventsPerDelivery, 1, maxEventsPerDelivery)
	envInt("BENCH_HALF_LOAD", &o.HalfLoad, 0, 2_000)
	envDuration("BENCH_HALF_LOAD_DURATION", &o.HalfLoadDuration, time.Second, time.Hour)
	envInt("BENCH_COLD_STARTS", &o.ColdStarts, 0, 100)
	envDuration("BENCH_TIMEOUT", &o.Timeout, time.Second, 24*time.Hour)
	if v := os.Getenv("BENCH_SWEEP"); v != "" && v != "0" && v != "false" {
		o.Sweep = true
	}
	o.SweepOptions.PerSecond = cmp.Or(o.HalfLoad, benchHalfLoadRate)
	envDuration("BENCH_SWEEP_DURATION", &o.SweepOptions.Duration, time.Second, time.Hour)
	envInt("BENCH_SWEEP_BACKLOG", &o.SweepOptions.Backlog, 0, 100_000)
	o.SweepOptions.Points = defaultSweepPoints(o.Source.Pollers)
	if v := strings.TrimSpace(os.Getenv("BENCH_SWEEP_POINTS")); v != "" {
		points, err := parseSweepPoints(v, o.Source.Pollers)
		if err != nil {
			errs = append(errs, fmt.Errorf("BENCH_SWEEP_POINTS: %w", err))
		}
		o.SweepOptions.Points = points
	}
	return o, errors.Join(errs...)
}

// BenchFigures are the headline numbers of one configuration; they make up
// the last JSON line.
type BenchFigures struct {
	ConversationsPerSecond         float64 `json:"conversationsPerSecond"`
	GenesysRequestsPerConversation float64 `json:"genesysRequestsPerConversation"`
	RateLimited                    int64   `json:"rateLimited"`
	HistoryEventsPerConversation   float64 `json:"historyEventsPerConversation"`
	HistoryBytesPerConversation    float64 `json:"historyBytesPerConversation"`
	P50LatencyMs                   float64 `json:"p50LatencyMs"`
	P99LatencyMs                   float64 `json:"p99LatencyMs"`
	Lost                           int     `json:"lost"`
	WorkerPeakRssBytes             int64   `json:"workerPeakRssBytes"`
}

// BenchConfig is one configuration's full result.
type BenchConfig struct {
	Name              string       `json:"name"`
	Env               []string     `json:"env"`
	SimulatorArgs     []string     `json:"simulatorArgs"`
	Conversations     int          `json:"conversations"`
	EventsPerDelivery int          `json:"eventsPerDelivery"`
	Figures           BenchFigures `json:"figures"`
	Report            *Report      `json:"report"`
	ElapsedSeconds    float64      `json:"elapsedSeconds"`
	// RateLimitedShare is 429s over Genesys API requests.
	RateLimitedShare  float64            `json:"rateLimitedShare"`
	SimulatorTotals   simulator.Counters `json:"simulatorTotals"`
	History           HistoryStats       `json:"history"`
	StackStartSeconds float64            `json:"stackStartSeconds"`
	// WindowSeconds is the wall time CPU was measured over: the whole of
	// Drive (emission, forwarding, workflows, reading the items back).
	WindowSeconds float64 `json:"windowSeconds"`
	// Usage is per service; "driver" is this process (emitting, invoking the
	// Lambda, parsing deliveries, waiting, reading back).
	Usage map[string]ServiceUsage `json:"usage"`
	// Machine is how busy the whole machine was meanwhile, other work on
	// it included.
	Machine MachineLoad `json:"machine"`
	// StoredPerSecond counts the items by the second of their updatedAt.
	StoredPerSecond []int `json:"storedPerSecond"`
}

// BenchResult is everything Bench measured; it is saved as JSON.
type BenchResult struct {
	StartedAt       time.Time   `json:"startedAt"`
	Smoke           bool        `json:"smoke"`
	Machine         Machine     `json:"machine"`
	EventSource     EventSource `json:"eventSource"`
	LambdaColdStart ColdStart   `json:"lambdaColdStart"`
	Reference       BenchConfig `json:"reference"`
	Default         BenchConfig `json:"default"`
	ThroughputRatio float64     `json:"throughputRatio"`
	// HalfLoad is the steady-load run at the defaults; nil when skipped.
	HalfLoad *LoadResult `json:"halfLoad,omitempty"`
	// Sweep is the event source sweep, when it ran.
	Sweep   *SweepResult  `json:"sweep,omitempty"`
	Targets []TargetCheck `json:"targets"`
	// Plot is the SVG of stored conversations per second.
	Plot string `json:"plot"`
	File string `json:"-"`
}

// BenchLine is the last line Bench prints.
type BenchLine struct {
	Reference       BenchFigures  `json:"reference"`
	Default         BenchFigures  `json:"default"`
	ThroughputRatio float64       `json:"throughputRatio"`
	HalfLoad        *HalfLoadLine `json:"halfLoad,omitempty"`
}

// HalfLoadLine is the half-load run in the last line: the offered rate and
// the freshness, event arrival in the queue to the item's updatedAt.
type HalfLoadLine struct {
	ConversationsPerSecond float64 `json:"conversationsPerSecond"`
	P50LatencyMs           float64 `json:"p50LatencyMs"`
	P99LatencyMs           float64 `json:"p99LatencyMs"`
}

// Line returns the summary printed last.
func (r *BenchResult) Line() BenchLine {
	l := BenchLine{Reference: r.Reference.Figures, Default: r.Default.Figures, ThroughputRatio: r.ThroughputRatio}
	if h := r.HalfLoad; h != nil {
		l.HalfLoad = &HalfLoadLine{ConversationsPerSecond: h.ConversationsPerSecond, P50LatencyMs: h.P50LatencyMs, P99LatencyMs: h.P99LatencyMs}
	}
	return l
}

// Bench runs the benchmark: tools and build, the Lambda cold start, then the
// reference and the default configuration on fresh stacks. It prints
// progress, the tables and the JSON line to opts.Out and saves the full
// result. A run that loses conversations is still reported.
func Bench(ctx context.Context, opts BenchOptions) (*BenchResult, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if opts.Timeout <= 0 {
		opts.Timeout = benchTimeout
	}
	if opts.Source.BatchSize == 0 {
		opts.Source = DeployedEventSource
	}
	res := &BenchResult{StartedAt: time.Now().UTC(), Smoke: opts.Smoke, Machine: machineInfo(), EventSource: opts.Source}
	mode := ""
	if opts.Smoke {
		mode = " (smoke sizes)"
	}
	fmt.Fprintf(out, "benchmark%s on %d × %s, %s; event source: %s\n", mode, res.Machine.NProc, res.Machine.CPUModel, res.Machine.GoVersion, opts.Source)
	// The bench's services log apart from a `make up` stack's.
	p := opts.Paths
	p.Logs, p.Run = filepath.Join(p.Logs, "bench"), filepath.Join(p.Run, "bench")

	if !opts.SkipBuild {
		if err := EnsureTools(ctx, opts.Paths, out); err != nil {
			return nil, err
		}
		fmt.Fprintln(out, "building the worker, simulator, starter and forwarder bootstrap…")
		if err := Build(ctx, opts.Paths, out); err != nil {
			return nil, err
		}
	}

	if opts.Sweep {
		sweep, err := Sweep(ctx, opts.Paths, opts.SweepOptions, out)
		if err != nil {
			return nil, err
		}
		res.Sweep = sweep
		if sweep.Chosen != opts.Source {
			fmt.Fprintf(out, "NOTE: the sweep chose %s; this run uses %s (DeployedEventSource, the Terraform defaults)\n", sweep.Chosen, opts.Source)
		}
	}

	if opts.ColdStarts > 0 {
		fmt.Fprintf(out, "timing %d cold starts of the forwarder bootstrap under the Lambda emulator (Temporal unreachable)…\n", opts.ColdStarts)
		cs, err := lambdaColdStarts(ctx, p, opts.ColdStarts)
		if err != nil {
			return nil, err
		}
		res.LambdaColdStart = cs
		fmt.Fprintf(out, "  cold start to first answer: median %.0f ms (samples %v)\n", cs.MedianMs, cs.SamplesMs)
	}

	// Empty values mean the project's defaults, whatever the caller's
	// environment says.
	defaults := []string{"FETCH_BATCH_SIZE=", "FETCH_CONCURRENCY=", "GENESYS_REQUESTS_PER_SECOND=", "FETCH_MAX_CONCURRENT_ACTIVITIES="}
	configs := []struct {
		dst                 *BenchConfig
		name                string
		env                 []string
		conversations, size int
	}{
		{&res.Reference, "reference", slices.Concat(defaults, []string{"FETCH_BATCH_SIZE=1", "FETCH_CONCURRENCY=10"}),
			opts.ReferenceConversations, opts.ReferenceEventsPerDelivery},
		{&res.Default, "default", defaults, opts.Conversations, opts.EventsPerDelivery},
	}
	for _, c := range configs {
		runCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
		run, err := benchRun(runCtx, p, c.name, c.env, c.conversations, c.size, out)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("bench %s: %w", c.name, err)
		}
		*c.dst = *run
	}
	if r := res.Reference.Figures.ConversationsPerSecond; r > 0 {
		res.ThroughputRatio = round3(res.Default.Figures.ConversationsPerSecond / r)
	}
	if opts.HalfLoad > 0 {
		runCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
		load, err := benchHalfLoad(runCtx, p, defaults, opts, out)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("bench half load: %w", err)
		}
		res.HalfLoad = load
	}
	res.Targets = defaultTargets(&res.Default, res.HalfLoad)

	dir := opts.ResultsDir
	if dir == "" {
		dir = filepath.Join(opts.Paths.Root, "bench-results")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	stamp := res.StartedAt.Format("20060102T150405Z")
	res.File = filepath.Join(dir, "bench-"+stamp+".json")
	res.Plot = filepath.Join(dir, "bench-"+stamp+".svg")
	title, subtitle := benchPlotTitle(res)
	if err := writePlot(res.Plot, title, subtitle, benchPanels(res)); err != nil {
		return nil, err
	}
	if opts.DocsPlot != "" {
		b, err := os.ReadFile(res.Plot)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(opts.DocsPlot), 0o755)
		}
		if err == nil {
			err = os.WriteFile(opts.DocsPlot, b, 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("copy the plot to %s: %w", opts.DocsPlot, err)
		}
	}
	full, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(res.File, append(full, '\n'), 0o644); err != nil {
		return nil, err
	}

	printBench(out, res)
	fmt.Fprintf(out, "full results: %s\nplot: %s\n", res.File, res.Plot)
	if opts.DocsPlot != "" {
		fmt.Fprintf(out, "plot copied to %s\n", opts.DocsPlot)
	}
	line, err := json.Marshal(res.Line())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%s\n", line)
	return res, nil
}

// benchHalfLoad runs the steady half load at the defaults on a fresh stack.
func benchHalfLoad(ctx context.Context, p Paths, env []string, opts BenchOptions, out io.Writer) (*LoadResult, error) {
	log := &prefixWriter{prefix: "[half load] ", w: out}
	defer log.Flush()
	fmt.Fprintf(log, "starting a fresh stack (%s)\n", strings.Join(effective(env), " "))
	ports, err := FreePorts()
	if err != nil {
		return nil, err
	}
	stack, err := Start(ctx, Options{Paths: p, Ports: ports, Env: env, SimulatorArgs: benchSimulatorArgs, Log: log, Hermetic: true})
	if err != nil {
		return nil, err
	}
	defer stack.Stop()
	fmt.Fprintf(log, "%d conversations/s for %s, their events batched by the event source mapping (%s)…\n",
		opts.HalfLoad, opts.HalfLoadDuration, opts.Source)
	barOut, what := barWriter(out, log, "half load", "conversations stored")
	load, err := RunLoad(ctx, stack, LoadOptions{PerSecond: opts.HalfLoad, Duration: opts.HalfLoadDuration,
		Source: opts.Source, TableName: os.Getenv("DYNAMODB_TABLE"), Progress: barOut, ProgressWhat: what})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "%d conversations (%.1f/s offered, %.1f/s emitted) in %d deliveries of %.1f events: freshness p50 %.0f ms, p99 %.0f ms; %d lost; stopping the stack\n",
		load.Conversations, load.ConversationsPerSecond, load.AchievedPerSecond, load.Deliveries, load.EventsPerDelivery,
		load.P50LatencyMs, load.P99LatencyMs, load.Missing+load.Failed)
	return load, nil
}

// barWriter is where a run's progress bar goes and what it says: out itself
// when it is a file (on a terminal, a bar redrawn in place), labelled with
// the run's name; else the run's log, which labels every line.
func barWriter(out, log io.Writer, name, what string) (io.Writer, string) {
	if f, ok := out.(*os.File); ok {
		return f, "[" + name + "] " + what
	}
	return log, what
}

// benchRun measures one configuration on a fresh stack.
func benchRun(ctx context.Context, p Paths, name string, env []string, conversations, eventsPerDelivery int, out io.Writer) (*BenchConfig, error) {
	log := &prefixWriter{prefix: "[" + name + "] ", w: out}
	defer log.Flush()
	fmt.Fprintf(log, "starting a fresh stack (%s)\n", strings.Join(effective(env), " "))
	ports, err := FreePorts()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	stack, err := Start(ctx, Options{Paths: p, Ports: ports, Env: env, SimulatorArgs: benchSimulatorArgs, Log: log, Hermetic: true})
	if err != nil {
		return nil, err
	}
	defer stack.Stop()
	run := &BenchConfig{Name: name, Env: env, SimulatorArgs: benchSimulatorArgs, Conversations: conversations,
		EventsPerDelivery: eventsPerDelivery, StackStartSeconds: round3(time.Since(started).Seconds())}

	fmt.Fprintf(log, "emitting %d conversations in SQS batches of up to %d events and sending them through the forwarder Lambda…\n",
		conversations, eventsPerDelivery)
	cpuBefore := stackCPU(stack)
	busyBefore, _ := machineTicks()
	windowStart := time.Now()
	barOut, what := barWriter(out, log, name, "conversations stored")
	stopProgress := benchProgress(ctx, stack.Endpoints, conversations, what, barOut)
	report, err := Drive(ctx, stack.Endpoints, DriveOptions{
		Conversations: conversations, EventsPerDelivery: eventsPerDelivery, TableName: os.Getenv("DYNAMODB_TABLE"),
	})
	stopProgress()
	if err != nil {
		return nil, err
	}
	window := time.Since(windowStart)
	cpuAfter := stackCPU(stack)
	run.Usage = usageBetween(stack, cpuBefore, cpuAfter, window)
	busyAfter, _ := machineTicks()
	run.Machine = machineLoad(busyBefore, busyAfter, window, run.Usage)
	run.StoredPerSecond = storedPerSecond(report)
	run.WindowSeconds = round3(window.Seconds())
	run.Report = report
	run.SimulatorTotals = report.Counters
	run.ElapsedSeconds = round3(report.Elapsed.Seconds())
	fmt.Fprintf(log, "all %d workflows done: %d stored complete, %d incomplete, %d missing, %d failed in %.1fs; reading their histories…\n",
		report.Workflows, report.StoredComplete, report.StoredIncomplete, len(report.Missing), report.Failed, report.Elapsed.Seconds())

	// The batches' histories and the scheduler's that fetched for them.
	ids := append(slices.Clone(report.WorkflowIDs), workflows.FetchSchedulerID(genesysTaskQueue(env)))
	hist, err := workflowHistories(ctx, stack.Endpoints.TemporalAddress, ids)
	if err != nil {
		return nil, err
	}
	run.History = hist

	f := &run.Figures
	n := float64(report.Conversations)
	if report.Elapsed > 0 {
		f.ConversationsPerSecond = round3(n / report.Elapsed.Seconds())
	}
	if n > 0 {
		f.GenesysRequestsPerConversation = round4(float64(report.GenesysRequests) / n)
		f.HistoryEventsPerConversation = round4(float64(hist.Events) / n)
		f.HistoryBytesPerConversation = round3(float64(hist.Bytes) / n)
	}
	if report.GenesysRequests > 0 {
		run.RateLimitedShare = round4(float64(report.RateLimited) / float64(report.GenesysRequests))
	}
	f.RateLimited = report.RateLimited
	f.P50LatencyMs = percentileMs(report.Latencies, 0.50)
	f.P99LatencyMs = percentileMs(report.Latencies, 0.99)
	f.Lost = len(report.Missing) + report.Failed
	f.WorkerPeakRssBytes = run.Usage["worker"].PeakRSSBytes
	fmt.Fprintf(log, "%.1f conversations/s, %.4f Genesys requests/conversation, %d × 429, %d lost; stopping the stack\n",
		f.ConversationsPerSecond, f.GenesysRequestsPerConversation, f.RateLimited, f.Lost)
	return run, nil
}

// effective lists the settings env makes, the project defaults left out.
func effective(env []string) []string {
	set := map[string]string{}
	var order []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			order = append(order, k)
		}
		set[k] = v
	}
	var outList []string
	for _, k := range order {
		if set[k] != "" {
			outList = append(outList, k+"="+set[k])
		}
	}
	if len(outList) == 0 {
		return []string{"project defaults"}
	}
	return outList
}

// benchProgress shows how many conversations the worker stored (its
// Prometheus counters) as a progress bar with rate and ETA on a terminal, a
// plain line now and then elsewhere. The returned function stops it.
func benchProgress(ctx context.Context, e Endpoints, total int, what string, w io.Writer) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	bar := progress.New(w, what, "conversations", int64(total))
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var last int64
		for {
			select {
			case <-ctx.Done():
				bar.Set(last, int64(total))
				bar.Finish()
				return
			case <-tick.C:
			}
			if stored, _, err := workerStored(ctx, e.WorkerMetrics); err == nil {
				last = min(stored, int64(total))
				bar.Set(last, int64(total))
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// workerStored reads the worker's counters of stored conversations and of
// conversations fetched again but unchanged (already stored by another
// workflow).
func workerStored(ctx context.Context, metricsURL string) (stored, unchanged int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var s, u float64
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		var dst *float64
		switch {
		case strings.HasPrefix(line, "genesys_ingest_conversations_stored"):
			dst = &s
		case strings.HasPrefix(line, "genesys_ingest_conversations_unchanged"):
			dst = &u
		default:
			continue
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			*dst += v
		}
	}
	return int64(s), int64(u), scanner.Err()
}

// genesysTaskQueue is the GENESYS_TASK_QUEUE the stack's worker runs with:
// the last setting in env, else the environment's, else the default.
func genesysTaskQueue(env []string) string {
	queue := os.Getenv("GENESYS_TASK_QUEUE")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GENESYS_TASK_QUEUE="); ok {
			queue = v
		}
	}
	return cmp.Or(queue, workflows.DefaultGenesysTaskQueue)
}
