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

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

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

// PID returns the process id of the named service (temporal, dynalite,
// simulator, worker, lambda), or 0 if this Stack did not start it.
func (s *Stack) PID(name string) int {
	for _, p := range s.procs {
		if p.name == name && p.cmd.Process != nil {
			return p.cmd.Process.Pid
		}
	}
	return 0
}

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

// ServiceUsage is what one service's processes (its process group and
// descendants) used during a run.
type ServiceUsage struct {
	PID        int     `json:"pid"`
	Processes  int     `json:"processes"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// Cores is CPUSeconds over the wall time of the window: 1 = one core busy.
	Cores float64 `json:"cores"`
	// PeakRSSBytes sums VmHWM of the service's processes at the end.
	PeakRSSBytes int64 `json:"peakRssBytes"`
}

// HistoryStats are the workflows' histories, every run of each
// continue-as-new chain included.
type HistoryStats struct {
	Workflows          int   `json:"workflows"`
	Runs               int   `json:"runs"`
	Events             int   `json:"events"`
	Bytes              int64 `json:"bytes"`
	MaxEventsPerRun    int   `json:"maxEventsPerRun"`
	MaxBytesPerRun     int64 `json:"maxBytesPerRun"`
	MaxBytesOfOneEvent int   `json:"maxBytesOfOneEvent"`
	// EventsByWorkflowType splits Events between the batches and the
	// scheduler; EventTypes splits them further by event type.
	EventsByWorkflowType map[string]int            `json:"eventsByWorkflowType"`
	EventTypes           map[string]map[string]int `json:"eventTypes"`
	// Fetch activities as the histories tell: how long each waited in the
	// rate-limited queue (scheduled → started) and ran (started → closed;
	// one Genesys request plus the DynamoDB writes of its chunk).
	Activities        int     `json:"activities"`
	ActivityRetries   int     `json:"activityRetries"`
	ActivityWaitP50Ms float64 `json:"activityWaitP50Ms"`
	ActivityWaitP99Ms float64 `json:"activityWaitP99Ms"`
	ActivityRunP50Ms  float64 `json:"activityRunP50Ms"`
	ActivityRunP99Ms  float64 `json:"activityRunP99Ms"`
	ActivityRunMeanMs float64 `json:"activityRunMeanMs"`
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

// Machine describes where the benchmark ran.
type Machine struct {
	NProc     int    `json:"nproc"`
	CPUModel  string `json:"cpuModel"`
	MemTotal  string `json:"memTotal"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"goVersion"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
}

// ColdStart is the forwarder bootstrap's start under the emulator, process
// start to the first answered invocation, with Temporal unreachable.
type ColdStart struct {
	SamplesMs []float64 `json:"samplesMs"`
	MedianMs  float64   `json:"medianMs"`
}

// TargetCheck is one target of the default configuration.
type TargetCheck struct {
	Figure   string  `json:"figure"`
	Target   string  `json:"target"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
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

// workflowHistories reads every workflow's full history, following each
// continue-as-new chain back from its last run, and sums the events and
// their protobuf sizes.
func workflowHistories(ctx context.Context, address string, ids []string) (HistoryStats, error) {
	stats := HistoryStats{Workflows: len(ids), EventsByWorkflowType: map[string]int{}, EventTypes: map[string]map[string]int{}}
	if len(ids) == 0 {
		return stats, nil
	}
	temporal, err := client.DialContext(ctx, client.Options{HostPort: address, Logger: quietLogger{}})
	if err != nil {
		return stats, fmt.Errorf("connect to Temporal: %w", err)
	}
	defer temporal.Close()
	var (
		mu          sync.Mutex
		waits, runs []time.Duration
	)
	group, ctx := errgroup.WithContext(ctx)
	group.SetLimit(8)
	for _, id := range ids {
		group.Go(func() error {
			runID := ""
			for {
				var (
					events, biggest, retries int
					size                     int64
					previous, workflowType   string
					types                    = map[string]int{}
					runWaits, runRuns        []time.Duration
				)
				scheduled, started := map[int64]time.Time{}, map[int64]time.Time{}
				iter := temporal.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
				for iter.HasNext() {
					event, err := iter.Next()
					if err != nil {
						return fmt.Errorf("history of %s: %w", id, err)
					}
					if events == 0 {
						started := event.GetWorkflowExecutionStartedEventAttributes()
						previous = started.GetContinuedExecutionRunId()
						workflowType = started.GetWorkflowType().GetName()
					}
					events++
					types[strings.TrimPrefix(event.GetEventType().String(), "EVENT_TYPE_")]++
					n := proto.Size(event)
					size += int64(n)
					biggest = max(biggest, n)
					at := event.GetEventTime().AsTime()
					closed := int64(0)
					switch event.GetEventType() {
					case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
						scheduled[event.GetEventId()] = at
					case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
						a := event.GetActivityTaskStartedEventAttributes()
						started[a.GetScheduledEventId()] = at
						runWaits = append(runWaits, at.Sub(scheduled[a.GetScheduledEventId()]))
						retries += int(max(a.GetAttempt()-1, 0))
					case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
						closed = event.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
					case enums.EVENT_TYPE_ACTIVITY_TASK_FAILED:
						closed = event.GetActivityTaskFailedEventAttributes().GetScheduledEventId()
					case enums.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
						closed = event.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()
					}
					if t, ok := started[closed]; ok && closed != 0 {
						runRuns = append(runRuns, at.Sub(t))
					}
				}
				mu.Lock()
				waits = append(waits, runWaits...)
				runs = append(runs, runRuns...)
				stats.Activities += len(scheduled)
				stats.ActivityRetries += retries
				stats.Runs++
				stats.Events += events
				stats.EventsByWorkflowType[workflowType] += events
				if stats.EventTypes[workflowType] == nil {
					stats.EventTypes[workflowType] = map[string]int{}
				}
				for t, n := range types {
					stats.EventTypes[workflowType][t] += n
				}
				stats.Bytes += size
				stats.MaxEventsPerRun = max(stats.MaxEventsPerRun, events)
				stats.MaxBytesPerRun = max(stats.MaxBytesPerRun, size)
				stats.MaxBytesOfOneEvent = max(stats.MaxBytesOfOneEvent, biggest)
				mu.Unlock()
				if previous == "" {
					return nil
				}
				runID = previous
			}
		})
	}
	if err := group.Wait(); err != nil {
		return stats, err
	}
	stats.ActivityWaitP50Ms, stats.ActivityWaitP99Ms = percentileMs(waits, 0.50), percentileMs(waits, 0.99)
	stats.ActivityRunP50Ms, stats.ActivityRunP99Ms = percentileMs(runs, 0.50), percentileMs(runs, 0.99)
	if len(runs) > 0 {
		var sum time.Duration
		for _, d := range runs {
			sum += d
		}
		stats.ActivityRunMeanMs = round3(float64(sum.Microseconds()) / 1000 / float64(len(runs)))
	}
	return stats, nil
}

// lambdaColdStarts starts the forwarder bootstrap under the emulator n
// times, each on fresh ports with TEMPORAL_ADDRESS pointing at a closed
// port, and times process start to the first 200 answer to an invocation
// that carries no conversations (so Temporal is never dialled).
func lambdaColdStarts(ctx context.Context, p Paths, n int) (ColdStart, error) {
	var cs ColdStart
	for _, bin := range []string{p.LambdaRIE(), filepath.Join(p.Bin, "bootstrap")} {
		if _, err := os.Stat(bin); err != nil {
			return cs, fmt.Errorf("devstack: %s is missing (make tools && make build)", bin)
		}
	}
	if err := os.MkdirAll(p.Run, 0o755); err != nil {
		return cs, err
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	for range n {
		var ports [4]int
		for i := range ports {
			port, err := freePort()
			if err != nil {
				return cs, err
			}
			ports[i] = port
		}
		addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
		// Nothing listens on ports[2] and ports[3]: Temporal and DynamoDB are unreachable.
		fake := &Stack{opts: Options{Paths: p}, Endpoints: Endpoints{
			TemporalAddress: addr(ports[2]), DynamoDB: "http://" + addr(ports[3]),
		}}
		env := slices.Concat(fake.serviceEnv(), []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_FUNCTION_NAME=genesys-ingest-forwarder"})
		url := "http://" + addr(ports[0]) + "/2015-03-31/functions/function/invocations"

		started := time.Now()
		proc, err := spawn(p, "lambda-coldstart", false, env, p.LambdaRIE(),
			"--runtime-interface-emulator-address", addr(ports[0]),
			"--runtime-api-address", addr(ports[1]), filepath.Join(p.Bin, "bootstrap"))
		if err != nil {
			return cs, fmt.Errorf("devstack: %w", err)
		}
		took, err := firstAnswer(ctx, httpClient, url, proc, started)
		proc.stop(5 * time.Second)
		if err != nil {
			return cs, err
		}
		cs.SamplesMs = append(cs.SamplesMs, round3(float64(took.Microseconds())/1000))
	}
	sorted := slices.Clone(cs.SamplesMs)
	slices.Sort(sorted)
	if len(sorted) > 0 {
		if len(sorted)%2 == 1 {
			cs.MedianMs = sorted[len(sorted)/2]
		} else {
			cs.MedianMs = round3((sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2)
		}
	}
	return cs, nil
}

// firstAnswer invokes the emulator until it answers 200, and returns the
// time since started.
func firstAnswer(ctx context.Context, c *http.Client, url string, proc *process, started time.Time) (time.Duration, error) {
	deadline := started.Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"Records":[]}`))
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(started)
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Amz-Function-Error") == "" {
				return took, nil
			}
			return 0, fmt.Errorf("devstack: cold start: the forwarder answered %s: %s; end of %s:\n%s",
				resp.Status, bytes.TrimSpace(body), proc.logPath, tail(proc.logPath, 15))
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return 0, fmt.Errorf("devstack: cold start: invoke: %w; end of %s:\n%s", err, proc.logPath, tail(proc.logPath, 15))
		}
		select {
		case <-proc.exited:
			return 0, fmt.Errorf("devstack: cold start: the emulator exited; end of %s:\n%s", proc.logPath, tail(proc.logPath, 15))
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// procInfo is one process as /proc/<pid>/stat shows it.
type procInfo struct {
	ppid, pgrp int
	// ticks is utime+stime of the process and of its reaped children.
	ticks int64
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

func readProcs() map[int]procInfo {
	procs := map[int]procInfo{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return procs
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if info, ok := readProcStat(pid); ok {
			procs[pid] = info
		}
	}
	return procs
}

func readProcStat(pid int) (procInfo, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	// The command name may hold spaces and parentheses; fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return procInfo{}, false
	}
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	// f[0] is field 3 (state): ppid 4, pgrp 5, utime 14, stime 15, cutime 16, cstime 17.
	return procInfo{ppid: int(num(f[1])), pgrp: int(num(f[2])), ticks: num(f[11]) + num(f[12]) + num(f[13]) + num(f[14])}, true
}

// members are the processes of the service started as root: its process
// group and every descendant.
func members(root int, procs map[int]procInfo) []int {
	var pids []int
	for pid, info := range procs {
		if pid == root || info.pgrp == root {
			pids = append(pids, pid)
			continue
		}
		for up, hops := info.ppid, 0; up > 1 && hops < 64; hops++ {
			if up == root {
				pids = append(pids, pid)
				break
			}
			parent, ok := procs[up]
			if !ok {
				break
			}
			up = parent.ppid
		}
	}
	return pids
}

// cpuSample is CPU ticks per service, "driver" being this process.
type cpuSample map[string]int64

func stackCPU(s *Stack) cpuSample {
	procs := readProcs()
	sample := cpuSample{}
	for _, p := range s.procs {
		var ticks int64
		for _, pid := range members(p.cmd.Process.Pid, procs) {
			ticks += procs[pid].ticks
		}
		sample[p.name] = ticks
	}
	if self, ok := readProcStat(os.Getpid()); ok {
		sample["driver"] = self.ticks
	}
	return sample
}

func usageBetween(s *Stack, before, after cpuSample, window time.Duration) map[string]ServiceUsage {
	procs := readProcs()
	usage := map[string]ServiceUsage{}
	for name, ticks := range after {
		u := ServiceUsage{CPUSeconds: round3(float64(ticks-before[name]) / clockTicks)}
		if window > 0 {
			u.Cores = round3(u.CPUSeconds / window.Seconds())
		}
		root := os.Getpid()
		if name != "driver" {
			root = s.PID(name)
		}
		u.PID = root
		pids := []int{root}
		if name != "driver" {
			pids = members(root, procs)
		}
		u.Processes = len(pids)
		for _, pid := range pids {
			u.PeakRSSBytes += peakRSS(pid)
		}
		usage[name] = u
	}
	return usage
}

// peakRSS reads VmHWM, the process's peak resident set size.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func machineInfo() Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(rest)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func percentileMs(latencies []time.Duration, p float64) float64 {
	if len(latencies) == 0 {
		return 0
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	rank = min(max(rank, 0), len(sorted)-1)
	return round3(float64(sorted[rank].Microseconds()) / 1000)
}

// defaultTargets checks the default configuration against its targets on
// a 2-core machine at 300 requests a minute.
func defaultTargets(c *BenchConfig) []TargetCheck {
	f := c.Figures
	return []TargetCheck{
		{"conversationsPerSecond", "≥ 430", f.ConversationsPerSecond, f.ConversationsPerSecond >= 430},
		{"genesysRequestsPerConversation", "≤ 0.011", f.GenesysRequestsPerConversation, f.GenesysRequestsPerConversation <= 0.011},
		{"rateLimitedShare", "< 1% of requests", c.RateLimitedShare, c.RateLimitedShare < 0.01},
		{"lost", "= 0", float64(f.Lost), f.Lost == 0},
		{"historyEventsPerConversation", "≤ 0.1", f.HistoryEventsPerConversation, f.HistoryEventsPerConversation <= 0.1},
		{"historyBytesPerConversation", "≤ 1 KB", f.HistoryBytesPerConversation, f.HistoryBytesPerConversation <= 1024},
		{"workerPeakRssBytes", "< 300 MB", float64(f.WorkerPeakRssBytes), f.WorkerPeakRssBytes < 300_000_000},
	}
}

// printBench prints the figures, the CPU per service and the targets as
// markdown.
func printBench(w io.Writer, r *BenchResult) {
	ref, def := &r.Reference, &r.Default
	row := func(name, a, b string) { fmt.Fprintf(w, "| %s | %s | %s |\n", name, a, b) }
	f := func(format string, v ...any) string { return fmt.Sprintf(format, v...) }
	fmt.Fprintf(w, "\n| figure | reference | default |\n|---|---:|---:|\n")
	row("conversations/s", f("%.1f", ref.Figures.ConversationsPerSecond), f("%.1f", def.Figures.ConversationsPerSecond))
	row("Genesys requests/conversation", f("%.4f", ref.Figures.GenesysRequestsPerConversation), f("%.4f", def.Figures.GenesysRequestsPerConversation))
	row("429s (share of requests)", f("%d (%.2f%%)", ref.Figures.RateLimited, 100*ref.RateLimitedShare), f("%d (%.2f%%)", def.Figures.RateLimited, 100*def.RateLimitedShare))
	row("history events/conversation", f("%.4f", ref.Figures.HistoryEventsPerConversation), f("%.4f", def.Figures.HistoryEventsPerConversation))
	row("history bytes/conversation", f("%.0f", ref.Figures.HistoryBytesPerConversation), f("%.0f", def.Figures.HistoryBytesPerConversation))
	row("p50 latency ms", f("%.0f", ref.Figures.P50LatencyMs), f("%.0f", def.Figures.P50LatencyMs))
	row("p99 latency ms", f("%.0f", ref.Figures.P99LatencyMs), f("%.0f", def.Figures.P99LatencyMs))
	row("lost (missing + failed)", f("%d", ref.Figures.Lost), f("%d", def.Figures.Lost))
	row("worker peak RSS MB", f("%.1f", float64(ref.Figures.WorkerPeakRssBytes)/1e6), f("%.1f", float64(def.Figures.WorkerPeakRssBytes)/1e6))
	row("conversations", f("%d", ref.Report.Conversations), f("%d", def.Report.Conversations))
	row("events / SQS batches", f("%d / %d", ref.Report.Events, ref.Report.Deliveries), f("%d / %d", def.Report.Events, def.Report.Deliveries))
	row("workflows / runs", f("%d / %d", ref.History.Workflows, ref.History.Runs), f("%d / %d", def.History.Workflows, def.History.Runs))
	row("Genesys requests", f("%d", ref.Report.GenesysRequests), f("%d", def.Report.GenesysRequests))
	idsPer := func(c *BenchConfig) float64 {
		if c.Report.Conversations == 0 {
			return 0
		}
		return float64(c.SimulatorTotals.IDsRequested) / float64(c.Report.Conversations)
	}
	row("Genesys ids requested/conversation", f("%.2f", idsPer(ref)), f("%.2f", idsPer(def)))
	row("fetch activities (retries)", f("%d (%d)", ref.History.Activities, ref.History.ActivityRetries), f("%d (%d)", def.History.Activities, def.History.ActivityRetries))
	row("fetch activity queue wait p50 / p99 ms", f("%.0f / %.0f", ref.History.ActivityWaitP50Ms, ref.History.ActivityWaitP99Ms), f("%.0f / %.0f", def.History.ActivityWaitP50Ms, def.History.ActivityWaitP99Ms))
	row("fetch activity run time p50 / p99 ms", f("%.0f / %.0f", ref.History.ActivityRunP50Ms, ref.History.ActivityRunP99Ms), f("%.0f / %.0f", def.History.ActivityRunP50Ms, def.History.ActivityRunP99Ms))
	rate := func(c *BenchConfig) float64 {
		if c.ElapsedSeconds == 0 {
			return 0
		}
		return float64(c.Report.GenesysRequests) / c.ElapsedSeconds
	}
	row("Genesys requests/s (limit 4.5)", f("%.2f", rate(ref)), f("%.2f", rate(def)))
	row("elapsed s (first event → last item)", f("%.1f", ref.ElapsedSeconds), f("%.1f", def.ElapsedSeconds))
	fmt.Fprintf(w, "\nthroughput ratio default/reference: %.2f×\n", r.ThroughputRatio)
	if len(r.LambdaColdStart.SamplesMs) > 0 {
		fmt.Fprintf(w, "forwarder Lambda cold start (emulator start → first answer, Temporal unreachable): median %.0f ms of %d\n",
			r.LambdaColdStart.MedianMs, len(r.LambdaColdStart.SamplesMs))
	}

	fmt.Fprintf(w, "\nCPU seconds per service during the run (cores busy on average; reference window %.1fs, default %.1fs):\n\n",
		ref.WindowSeconds, def.WindowSeconds)
	fmt.Fprintf(w, "| service | reference | default | default peak RSS MB |\n|---|---:|---:|---:|\n")
	var total [2]float64
	for _, name := range []string{"temporal", "dynalite", "simulator", "worker", "lambda", "driver"} {
		a, aok := ref.Usage[name]
		b, bok := def.Usage[name]
		if !aok && !bok {
			continue
		}
		total[0] += a.CPUSeconds
		total[1] += b.CPUSeconds
		row(name, f("%.1f (%.2f)", a.CPUSeconds, a.Cores), f("%.1f (%.2f) | %.1f", b.CPUSeconds, b.Cores, float64(b.PeakRSSBytes)/1e6))
	}
	cores := func(c *BenchConfig, t float64) float64 {
		if c.WindowSeconds == 0 {
			return 0
		}
		return t / c.WindowSeconds
	}
	row("total", f("%.1f (%.2f)", total[0], cores(ref, total[0])), f("%.1f (%.2f) | ", total[1], cores(def, total[1])))

	note := ""
	if r.Smoke {
		note = " (smoke sizes: the targets are for the full run)"
	}
	fmt.Fprintf(w, "\ndefault configuration against its targets%s:\n", note)
	for _, t := range r.Targets {
		mark := "met"
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %-32s %-18s measured %-12s %s\n", t.Figure, t.Target, strconv.FormatFloat(t.Measured, 'f', -1, 64), mark)
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// prefixWriter prefixes every line with a label.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

// Flush writes a trailing partial line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}
