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
//   - default: the project's defaults.
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
//	BENCH_EVENTS_PER_DELIVERY            events per SQS batch, i.e. per Lambda invocation; default 4000, at most 10000
//	BENCH_REFERENCE_EVENTS_PER_DELIVERY  the reference's batch size; default BENCH_EVENTS_PER_DELIVERY
//	BENCH_COLD_STARTS                    Lambda cold starts to time; default 5
//	BENCH_TIMEOUT                        limit per configuration; default 30m
//	BENCH_RESULTS_DIR                    where bench-<UTC time>.json goes; default bench-results
//
// A simulated event is about 1.5 KB in its SQS record, so 4000 events make a
// 5.9 MB invocation: the most that fits the 6 MB synchronous payload limit the
// emulator enforces, like Lambda. 5000 would be refused.
//
// The last line printed is one JSON object:
// {"reference":{...},"default":{...},"throughputRatio":x}.
//
// This file holds the options, the result types and the orchestration
// (Bench, benchRun and its progress lines); bench_history.go,
// bench_coldstart.go, bench_procs.go and bench_report.go hold the rest.

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
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// Default sizes of the benchmark; see the knobs above.
const (
	benchReferenceConversations      = 330
	benchConversations               = 30_000
	benchEventsPerDelivery           = 4_000
	benchSmokeReferenceConversations = 20
	benchSmokeConversations          = 2_000
	benchColdStarts                  = 5
	benchTimeout                     = 30 * time.Minute
)

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
		Conversations: benchConversations, EventsPerDelivery: benchEventsPerDelivery,
		ColdStarts: benchColdStarts, Timeout: benchTimeout, ResultsDir: os.Getenv("BENCH_RESULTS_DIR"), Out: os.Stdout}
	if smoke {
		o.ReferenceConversations, o.Conversations = benchSmokeReferenceConversations, benchSmokeConversations
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
	envInt("BENCH_REFERENCE_CONVERSATIONS", &o.ReferenceConversations, 1, 100_000)
	envInt("BENCH_CONVERSATIONS", &o.Conversations, 1, 100_000)
	envInt("BENCH_EVENTS_PER_DELIVERY", &o.EventsPerDelivery, 1, 10_000)
	o.ReferenceEventsPerDelivery = o.EventsPerDelivery
	envInt("BENCH_REFERENCE_EVENTS_PER_DELIVERY", &o.ReferenceEventsPerDelivery, 1, 10_000)
	envInt("BENCH_COLD_STARTS", &o.ColdStarts, 0, 100)
	if v := strings.TrimSpace(os.Getenv("BENCH_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("BENCH_TIMEOUT=%q: must be a positive duration such as 30m", v))
		} else {
			o.Timeout = d
		}
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
}

// BenchResult is everything Bench measured; it is saved as JSON.
type BenchResult struct {
	StartedAt       time.Time     `json:"startedAt"`
	Smoke           bool          `json:"smoke"`
	Machine         Machine       `json:"machine"`
	LambdaColdStart ColdStart     `json:"lambdaColdStart"`
	Reference       BenchConfig   `json:"reference"`
	Default         BenchConfig   `json:"default"`
	ThroughputRatio float64       `json:"throughputRatio"`
	Targets         []TargetCheck `json:"targets"`
	File            string        `json:"-"`
}

// BenchLine is the last line Bench prints.
type BenchLine struct {
	Reference       BenchFigures `json:"reference"`
	Default         BenchFigures `json:"default"`
	ThroughputRatio float64      `json:"throughputRatio"`
}

// Line returns the summary printed last.
func (r *BenchResult) Line() BenchLine {
	return BenchLine{Reference: r.Reference.Figures, Default: r.Default.Figures, ThroughputRatio: r.ThroughputRatio}
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
	res := &BenchResult{StartedAt: time.Now().UTC(), Smoke: opts.Smoke, Machine: machineInfo()}
	mode := ""
	if opts.Smoke {
		mode = " (smoke sizes)"
	}
	fmt.Fprintf(out, "benchmark%s on %d × %s, %s\n", mode, res.Machine.NProc, res.Machine.CPUModel, res.Machine.GoVersion)

	if !opts.SkipBuild {
		if err := EnsureTools(ctx, opts.Paths, out); err != nil {
			return nil, err
		}
		fmt.Fprintln(out, "building the worker, simulator, starter and forwarder bootstrap…")
		if err := Build(ctx, opts.Paths, out); err != nil {
			return nil, err
		}
	}

	if opts.ColdStarts > 0 {
		fmt.Fprintf(out, "timing %d cold starts of the forwarder bootstrap under the Lambda emulator (Temporal unreachable)…\n", opts.ColdStarts)
		cs, err := lambdaColdStarts(ctx, opts.Paths, opts.ColdStarts)
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
		run, err := benchRun(runCtx, opts.Paths, c.name, c.env, c.conversations, c.size, out)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("bench %s: %w", c.name, err)
		}
		*c.dst = *run
	}
	if r := res.Reference.Figures.ConversationsPerSecond; r > 0 {
		res.ThroughputRatio = round3(res.Default.Figures.ConversationsPerSecond / r)
	}
	res.Targets = defaultTargets(&res.Default)

	dir := opts.ResultsDir
	if dir == "" {
		dir = filepath.Join(opts.Paths.Root, "bench-results")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	res.File = filepath.Join(dir, "bench-"+res.StartedAt.Format("20060102T150405Z")+".json")
	full, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(res.File, append(full, '\n'), 0o644); err != nil {
		return nil, err
	}

	printBench(out, res)
	fmt.Fprintf(out, "full results: %s\n", res.File)
	line, err := json.Marshal(res.Line())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%s\n", line)
	return res, nil
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
	windowStart := time.Now()
	stopProgress := benchProgress(ctx, stack.Endpoints, conversations, log)
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

// benchProgress prints, every few seconds, how many conversations the
// worker stored (its Prometheus counters) and how many Genesys requests the
// simulator saw. The returned function stops it.
func benchProgress(ctx context.Context, e Endpoints, total int, log io.Writer) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	sim := simulator.NewClient(e.Simulator)
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		started := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			stored, unchanged, err := workerStored(ctx, e.WorkerMetrics)
			counters, cerr := sim.Counters(ctx)
			if ctx.Err() != nil {
				return
			}
			line := fmt.Sprintf("%5.0fs  conversations stored %d/%d (+%d fetched again, unchanged)",
				time.Since(started).Seconds(), stored, total, unchanged)
			if err != nil {
				line = fmt.Sprintf("%5.0fs  conversations stored ?/%d (%v)", time.Since(started).Seconds(), total, err)
			}
			if cerr == nil {
				line += fmt.Sprintf(", Genesys requests %d (%d × 429)", counters.Requests, counters.RateLimited)
			}
			fmt.Fprintln(log, line)
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
