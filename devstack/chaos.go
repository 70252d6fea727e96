package devstack

// The chaos suite behind `make chaos` (go run ./devstack/cmd/devstack chaos)
// and, reduced, TestChaosReduced in `make test`. Every scenario starts a
// fresh stack on free loopback ports, with Temporal's and dynalite's state
// on disk so that they can be stopped and started again, and runs
// conversations through the whole pipeline: simulator events → SQS batches
// → the forwarder bootstrap under the Lambda emulator (batches it hands back
// come again, as SQS redelivers them) → workflows on the worker → DynamoDB.
// Meanwhile it injects its faults. Once every batch workflow is closed it
// reads every conversation's item and judges it against the simulator's
// ground truth:
//
//   - lost: no item at all;
//   - corrupted: a complete item whose fields differ from what was
//     generated, or a failed or incomplete item for a conversation whose
//     record was available (not one the simulator made permanently bad).
//
// A scenario passes with 0 lost and 0 corrupted, failed items exactly for
// the poisoned conversations, and its own checks met. Each prints one row:
// conversations, stored complete, incomplete / failed, lost, corrupted,
// Genesys requests against the fault-free run, wall time (first delivery
// to the last workflow closed). The full result goes to
// chaos-results/chaos-<UTC time>.json.
//
// Environment knobs (all optional; durations in Go syntax):
//
//	CHAOS_SCENARIOS             comma-separated scenario names; default all of the suite
//	CHAOS_CONVERSATIONS         conversations per scenario; default 5000 (reduced 1000)
//	CHAOS_EVENTS_PER_DELIVERY   events per SQS batch; default 250
//	CHAOS_WINDOW                how long a scenario's events keep coming in; default 40s (reduced 15s)
//	CHAOS_WORKER_KILLS          kill -9 of the worker per run; default 3 (reduced 1)
//	CHAOS_TEMPORAL_DOWN         Temporal dev server down for; default 30s
//	CHAOS_DYNAMODB_DOWN         dynalite down for; default 90s
//	CHAOS_GENESYS_OUTAGE        Genesys answering nothing but 503s and resets; default 60s (reduced 6s)
//	CHAOS_GENESYS_MIX           then 5xx, 504, resets, slowness, malformed JSON, HTML pages; default 45s (reduced 15s)
//	CHAOS_GENESYS_STORM         then 429 storms; default 45s (reduced 8s)
//	CHAOS_STORM_RETRY_AFTER     the storms' Retry-After; default 30s (reduced 5s)
//	CHAOS_PERMISSION_REVOKED    403 for; default 2m
//	CHAOS_READY_TIMEOUT         READY_TIMEOUT of the readiness scenario; default 30s
//	CHAOS_LOAD_RATE             events/s through the forwarder in the load scenario; default 200
//	CHAOS_LOAD_DURATION         for; default 2m
//	CHAOS_MAX_WORKER_RSS_MB     the load scenario's bound on the worker's peak RSS; default 300
//	CHAOS_POISON_RATE           share of permanently bad conversations (bad-ids); default 0.005 (reduced 0.01)
//	CHAOS_RETRY_HORIZON         FETCH_RETRY_HORIZON of the worker; default 5m
//	CHAOS_RETRY_MAX_INTERVAL    FETCH_RETRY_MAX_INTERVAL of the worker; default 5s
//	CHAOS_SEED                  simulator seed; default 1
//	CHAOS_SETTLE_TIMEOUT        longest wait for a scenario's workflows to close; default 15m
//	CHAOS_BASELINE              1: measure a fault-free run first (the full suite's default);
//	                            0: compare with the ideal ceil(n/100) requests (the reduced suite's)
//	CHAOS_RESULTS_DIR           where chaos-<UTC time>.json goes; default chaos-results

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// ChaosOptions configure the chaos suite; ChaosOptionsFromEnv documents
// each knob.
type ChaosOptions struct {
	Paths Paths `json:"-"`
	// Reduced is the suite `make test` runs: three short scenarios.
	Reduced           bool          `json:"reduced"`
	Scenarios         []string      `json:"scenarios,omitempty"`
	Conversations     int           `json:"conversations"`
	EventsPerDelivery int           `json:"eventsPerDelivery"`
	Window            time.Duration `json:"window"`
	WorkerKills       int           `json:"workerKills"`
	TemporalDown      time.Duration `json:"temporalDown"`
	DynamoDBDown      time.Duration `json:"dynamodbDown"`
	GenesysOutage     time.Duration `json:"genesysOutage"`
	GenesysMix        time.Duration `json:"genesysMix"`
	GenesysStorm      time.Duration `json:"genesysStorm"`
	StormRetryAfter   time.Duration `json:"stormRetryAfter"`
	PermissionRevoked time.Duration `json:"permissionRevoked"`
	ReadyTimeout      time.Duration `json:"readyTimeout"`
	LoadRate          int           `json:"loadRate"`
	LoadDuration      time.Duration `json:"loadDuration"`
	MaxWorkerRSSMB    int           `json:"maxWorkerRssMb"`
	PoisonRate        float64       `json:"poisonRate"`
	RetryHorizon      time.Duration `json:"retryHorizon"`
	RetryMaxInterval  time.Duration `json:"retryMaxInterval"`
	Seed              int64         `json:"seed"`
	SettleTimeout     time.Duration `json:"settleTimeout"`
	// Baseline measures a fault-free run first; without it the requests
	// are compared with the ideal ceil(n/100).
	Baseline   bool   `json:"baseline"`
	ResultsDir string `json:"-"`
	// SkipBuild uses the binaries already in .local/bin.
	SkipBuild bool `json:"-"`
	// Out receives progress and the table.
	Out io.Writer `json:"-"`
}

// The full suite, in the order of the brief's priorities; the reduced one
// runs chaosReducedSuite.
var (
	chaosFullSuite = []string{"baseline", "worker-kill", "temporal-restart", "dynamodb-outage", "genesys-faults",
		"tokens", "duplicates", "readiness", "scheduler-terminate", "scheduler-reset", "load", "bad-ids"}
	chaosReducedSuite = []string{"worker-kill", "genesys-faults", "bad-ids"}
)

// ChaosOptionsFromEnv reads the CHAOS_* knobs; reduced (the suite of `make
// test`) picks smaller defaults, which explicit knobs still override.
func ChaosOptionsFromEnv(p Paths, reduced bool) (ChaosOptions, error) {
	o := ChaosOptions{
		Paths: p, Reduced: reduced, Conversations: 5000, EventsPerDelivery: 250, Window: 40 * time.Second,
		WorkerKills: 3, TemporalDown: 30 * time.Second, DynamoDBDown: 90 * time.Second,
		GenesysOutage: time.Minute, GenesysMix: 45 * time.Second, GenesysStorm: 45 * time.Second, StormRetryAfter: 30 * time.Second,
		PermissionRevoked: 2 * time.Minute, ReadyTimeout: 30 * time.Second, LoadRate: 200, LoadDuration: 2 * time.Minute,
		MaxWorkerRSSMB: 300, PoisonRate: 0.005, RetryHorizon: 5 * time.Minute, RetryMaxInterval: 5 * time.Second,
		Seed: 1, SettleTimeout: 15 * time.Minute, Baseline: !reduced, ResultsDir: os.Getenv("CHAOS_RESULTS_DIR"), Out: os.Stdout,
	}
	if reduced {
		o.Conversations, o.Window, o.WorkerKills, o.PoisonRate = 1000, 15*time.Second, 1, 0.01
		o.GenesysOutage, o.GenesysMix, o.GenesysStorm, o.StormRetryAfter = 6*time.Second, 15*time.Second, 8*time.Second, 5*time.Second
	}
	var errs []error
	lookup := func(name string) (string, bool) {
		v := strings.TrimSpace(os.Getenv(name))
		return v, v != ""
	}
	envInt := func(name string, dst *int, lo, hi int) {
		if v, ok := lookup(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				errs = append(errs, fmt.Errorf("%s=%q: must be a whole number between %d and %d", name, v, lo, hi))
				return
			}
			*dst = n
		}
	}
	envDuration := func(name string, dst *time.Duration) {
		if v, ok := lookup(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: must be a positive duration such as 90s", name, v))
				return
			}
			*dst = d
		}
	}
	envInt("CHAOS_CONVERSATIONS", &o.Conversations, 1, 100_000)
	envInt("CHAOS_EVENTS_PER_DELIVERY", &o.EventsPerDelivery, 1, 4000)
	envDuration("CHAOS_WINDOW", &o.Window)
	envInt("CHAOS_WORKER_KILLS", &o.WorkerKills, 1, 20)
	envDuration("CHAOS_TEMPORAL_DOWN", &o.TemporalDown)
	envDuration("CHAOS_DYNAMODB_DOWN", &o.DynamoDBDown)
	envDuration("CHAOS_GENESYS_OUTAGE", &o.GenesysOutage)
	envDuration("CHAOS_GENESYS_MIX", &o.GenesysMix)
	envDuration("CHAOS_GENESYS_STORM", &o.GenesysStorm)
	envDuration("CHAOS_STORM_RETRY_AFTER", &o.StormRetryAfter)
	envDuration("CHAOS_PERMISSION_REVOKED", &o.PermissionRevoked)
	envDuration("CHAOS_READY_TIMEOUT", &o.ReadyTimeout)
	envInt("CHAOS_LOAD_RATE", &o.LoadRate, 1, 5000)
	envDuration("CHAOS_LOAD_DURATION", &o.LoadDuration)
	envInt("CHAOS_MAX_WORKER_RSS_MB", &o.MaxWorkerRSSMB, 1, 100_000)
	envDuration("CHAOS_RETRY_HORIZON", &o.RetryHorizon)
	envDuration("CHAOS_RETRY_MAX_INTERVAL", &o.RetryMaxInterval)
	envDuration("CHAOS_SETTLE_TIMEOUT", &o.SettleTimeout)
	if v, ok := lookup("CHAOS_POISON_RATE"); ok {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 || r > 1 {
			errs = append(errs, fmt.Errorf("CHAOS_POISON_RATE=%q: must be a share above 0 and at most 1", v))
		} else {
			o.PoisonRate = r
		}
	}
	if v, ok := lookup("CHAOS_SEED"); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil {
			errs = append(errs, fmt.Errorf("CHAOS_SEED=%q: must be a whole number", v))
		} else {
			o.Seed = n
		}
	}
	if v, ok := lookup("CHAOS_BASELINE"); ok {
		o.Baseline = v != "0" && v != "false"
	}
	if v, ok := lookup("CHAOS_SCENARIOS"); ok {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(chaosFullSuite, name) {
				errs = append(errs, fmt.Errorf("CHAOS_SCENARIOS: unknown scenario %q (known: %s)", name, strings.Join(chaosFullSuite, ", ")))
			}
			o.Scenarios = append(o.Scenarios, name)
		}
	}
	return o, errors.Join(errs...)
}

// suite is the scenarios to run, baseline first if measured.
func (o ChaosOptions) suite() []string {
	names := o.Scenarios
	if len(names) == 0 {
		names = chaosFullSuite
		if o.Reduced {
			names = chaosReducedSuite
		}
	}
	names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "baseline" })
	if o.Baseline {
		names = append([]string{"baseline"}, names...)
	}
	return names
}

// ChaosRow is one scenario's result.
type ChaosRow struct {
	Scenario string `json:"scenario"`
	About    string `json:"about"`
	Verdict
	GenesysRequests int64 `json:"genesysRequests"`
	// RequestsRatio is requests per conversation over the fault-free run's
	// (or over the ideal ceil(n/100) requests).
	RequestsRatio     float64            `json:"requestsRatio"`
	WallSeconds       float64            `json:"wallSeconds"`
	StackStartSeconds float64            `json:"stackStartSeconds"`
	Workflows         int                `json:"workflows"`
	WorkflowStatuses  map[string]int     `json:"workflowStatuses"`
	WorkflowsFailed   int                `json:"workflowsReportedFailed"`
	Send              SendStats          `json:"send"`
	Simulator         simulator.Counters `json:"simulator"`
	WorkerPeakRSS     int64              `json:"workerPeakRssBytes"`
	Env               []string           `json:"env"`
	// Notes are what the scenario did and measured, in order.
	Notes []string `json:"notes,omitempty"`
	// Checks failed beyond lost and corrupted items.
	Failures []string `json:"failures,omitempty"`
	Error    string   `json:"error,omitempty"`
	Passed   bool     `json:"passed"`
}

// ChaosResult is the whole suite's result; it is saved as JSON.
type ChaosResult struct {
	StartedAt time.Time    `json:"startedAt"`
	Machine   Machine      `json:"machine"`
	Options   ChaosOptions `json:"options"`
	// Baseline says what RequestsRatio compares with.
	Baseline string      `json:"baseline"`
	Rows     []*ChaosRow `json:"rows"`
	File     string      `json:"-"`
}

// Passed reports whether every scenario passed.
func (r *ChaosResult) Passed() bool {
	return len(r.Rows) > 0 && !slices.ContainsFunc(r.Rows, func(row *ChaosRow) bool { return !row.Passed })
}

// Chaos runs the suite: tools and build, then each scenario on a fresh
// stack; it prints progress and the table and saves the result. A scenario
// that fails is reported in its row; the error is for a suite that could
// not run at all.
func Chaos(ctx context.Context, o ChaosOptions) (*ChaosResult, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	res := &ChaosResult{StartedAt: time.Now().UTC(), Machine: machineInfo(), Options: o, Baseline: "ideal ceil(n/100) requests"}
	names := o.suite()
	kind := "full"
	if o.Reduced {
		kind = "reduced"
	}
	fmt.Fprintf(out, "chaos suite (%s) on %d × %s: %s\n", kind, res.Machine.NProc, res.Machine.CPUModel, strings.Join(names, ", "))
	if !o.SkipBuild {
		if err := EnsureTools(ctx, o.Paths, out); err != nil {
			return nil, err
		}
		fmt.Fprintln(out, "building the worker, simulator, starter and forwarder bootstrap…")
		if err := Build(ctx, o.Paths, out); err != nil {
			return nil, err
		}
	}
	scenarios := chaosScenarios(o)
	var perConversation float64 // the baseline's requests per conversation
	for _, name := range names {
		row := runScenario(ctx, o, name, scenarios[name], out)
		res.Rows = append(res.Rows, row)
		if name == "baseline" && row.Conversations > 0 && row.Error == "" {
			perConversation = float64(row.GenesysRequests) / float64(row.Conversations)
			res.Baseline = fmt.Sprintf("fault-free run: %d requests for %d conversations", row.GenesysRequests, row.Conversations)
		}
		switch {
		case row.Conversations == 0:
		case perConversation > 0:
			row.RequestsRatio = round3(float64(row.GenesysRequests) / float64(row.Conversations) / perConversation)
		default:
			row.RequestsRatio = round3(float64(row.GenesysRequests) / math.Ceil(float64(row.Conversations)/workflows.MaxFetchBatchSize))
		}
		if ctx.Err() != nil {
			break
		}
	}

	dir := o.ResultsDir
	if dir == "" {
		dir = filepath.Join(o.Paths.Root, "chaos-results")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	res.File = filepath.Join(dir, "chaos-"+res.StartedAt.Format("20060102T150405Z")+".json")
	full, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(res.File, append(full, '\n'), 0o644); err != nil {
		return nil, err
	}
	printChaos(out, res)
	fmt.Fprintf(out, "full results: %s\n", res.File)
	return res, ctx.Err()
}

// printChaos prints the table, then why each failed row failed.
func printChaos(w io.Writer, res *ChaosResult) {
	fmt.Fprintf(w, "\n| scenario | conversations | stored complete | incomplete / failed | lost | corrupted | Genesys requests (× fault-free) | wall time | result |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range res.Rows {
		failed := fmt.Sprintf("%d / %d", r.Incomplete, r.Failed)
		if r.Poisoned > 0 {
			failed += fmt.Sprintf(" (%d bad ids)", r.Poisoned)
		}
		result := "pass"
		if !r.Passed {
			result = "**FAIL**"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %d | %d | %d (%.2f×) | %s | %s |\n", r.Scenario, r.Conversations, r.Complete,
			failed, r.Lost, r.Corrupted, r.GenesysRequests, r.RequestsRatio, (time.Duration(r.WallSeconds*1000) * time.Millisecond).Round(time.Second), result)
	}
	fmt.Fprintf(w, "\nGenesys requests are compared per conversation with the %s.\n", res.Baseline)
	for _, r := range res.Rows {
		if r.Passed {
			continue
		}
		fmt.Fprintf(w, "\n%s failed:\n", r.Scenario)
		if r.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", r.Error)
		}
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  %s\n", f)
		}
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		for _, reason := range topReasons(r.FailureReasons) {
			fmt.Fprintf(w, "  failed items: %s\n", reason)
		}
	}
}

// chaosScenario is one row of the suite.
type chaosScenario struct {
	about string
	// env is added to the worker's and forwarder's environment; settings
	// are applied to the simulator before anything is emitted.
	env      []string
	settings map[string]any
	// restarts: Temporal or dynalite are stopped and started again, so
	// they keep their state on disk. The others keep it in memory, which
	// is faster: the dev server's SQLite on disk is the first thing to
	// struggle on a busy 2-core machine.
	restarts bool
	run      func(ctx context.Context, r *chaosRun) error
}

func chaosScenarios(o ChaosOptions) map[string]chaosScenario {
	n, window := o.Conversations, o.Window
	// fraction is a moment of a run: f of its window.
	fraction := func(f float64) time.Duration { return time.Duration(f * float64(window)) }
	genesysLead := 5 * time.Second
	genesysWindow := genesysLead + o.GenesysOutage + o.GenesysMix + o.GenesysStorm + genesysLead
	tokensLead := 15 * time.Second
	return map[string]chaosScenario{
		"baseline": {
			about: "no faults: the requests every other row is compared with",
			run: func(ctx context.Context, r *chaosRun) error {
				return r.paced(ctx, n, window, nil)
			},
		},
		"worker-kill": {
			about: fmt.Sprintf("kill -9 the worker %d times while %d conversations come in", o.WorkerKills, n),
			run: func(ctx context.Context, r *chaosRun) error {
				return r.paced(ctx, n, window, func(ctx context.Context) error {
					for i := 1; i <= o.WorkerKills; i++ {
						if err := r.at(ctx, window*time.Duration(i)/time.Duration(o.WorkerKills+1)); err != nil {
							return err
						}
						busy := r.busyScheduler(ctx)
						r.note("kill -9 the worker (pid %d; %s) and start it again", r.stack.PID("worker"), busy)
						if err := r.stack.KillService("worker"); err != nil {
							return err
						}
						if err := r.stack.StartService(ctx, "worker"); err != nil {
							return err
						}
					}
					return nil
				})
			},
		},
		"temporal-restart": {
			about:    fmt.Sprintf("the Temporal dev server stopped for %s mid-run, then started again on its database", o.TemporalDown),
			restarts: true,
			run: func(ctx context.Context, r *chaosRun) error {
				return r.paced(ctx, n, window, func(ctx context.Context) error {
					return r.outage(ctx, "temporal", fraction(0.3), o.TemporalDown)
				})
			},
		},
		"dynamodb-outage": {
			about: fmt.Sprintf("dynalite stopped for %s (longer than 12 retries at FETCH_RETRY_MAX_INTERVAL=%s, inside FETCH_RETRY_HORIZON=%s), then started again on its data",
				o.DynamoDBDown, o.RetryMaxInterval, o.RetryHorizon),
			restarts: true,
			run: func(ctx context.Context, r *chaosRun) error {
				return r.paced(ctx, n, window, func(ctx context.Context) error {
					return r.outage(ctx, "dynalite", fraction(0.25), o.DynamoDBDown)
				})
			},
		},
		"genesys-faults": {
			about: fmt.Sprintf("Genesys: total outage %s (503s, then resets), a mix of 5xx, 504, resets, slowness, malformed JSON and HTML pages for %s, then 429 storms with Retry-After %s for %s",
				o.GenesysOutage, o.GenesysMix, o.StormRetryAfter, o.GenesysStorm),
			run: func(ctx context.Context, r *chaosRun) error {
				return r.paced(ctx, n, genesysWindow, func(ctx context.Context) error {
					at := genesysLead
					for _, phase := range []struct {
						settings map[string]any
						lasts    time.Duration
					}{
						{map[string]any{"outage": simulator.Outage503}, o.GenesysOutage / 2},
						{map[string]any{"outage": simulator.OutageReset}, o.GenesysOutage - o.GenesysOutage/2},
						{map[string]any{"outage": simulator.OutageNone, "error5xxRate": 0.1, "timeout504Rate": 0.05, "resetRate": 0.05,
							"malformedRate": 0.05, "htmlErrorRate": 0.05, "slowRate": 0.1, "slowDelay": "3s"}, o.GenesysMix},
						{map[string]any{"error5xxRate": 0, "timeout504Rate": 0, "resetRate": 0, "malformedRate": 0, "htmlErrorRate": 0, "slowRate": 0,
							"rateLimitStormRate": 0.3, "stormRetryAfter": o.StormRetryAfter.String()}, o.GenesysStorm},
						{map[string]any{"rateLimitStormRate": 0}, 0},
					} {
						if err := r.at(ctx, at); err != nil {
							return err
						}
						if err := r.settings(ctx, phase.settings); err != nil {
							return err
						}
						at += phase.lasts
					}
					return nil
				})
			},
		},
		"tokens": {
			about:    fmt.Sprintf("tokens that live 60 s, two forced 401s, the permission revoked (403) for %s, then restored", o.PermissionRevoked),
			settings: map[string]any{"tokenLifetime": "60s"},
			run: func(ctx context.Context, r *chaosRun) error {
				return r.paced(ctx, n, tokensLead+o.PermissionRevoked+tokensLead, func(ctx context.Context) error {
					for _, at := range []time.Duration{5 * time.Second, 10 * time.Second} {
						if err := r.at(ctx, at); err != nil {
							return err
						}
						if err := r.settings(ctx, map[string]any{"forceUnauthorized": 1}); err != nil {
							return err
						}
					}
					if err := r.at(ctx, tokensLead); err != nil {
						return err
					}
					if err := r.settings(ctx, map[string]any{"permissionRevoked": true}); err != nil {
						return err
					}
					if err := r.at(ctx, tokensLead+o.PermissionRevoked); err != nil {
						return err
					}
					return r.settings(ctx, map[string]any{"permissionRevoked": false})
				})
			},
		},
		"duplicates": {
			about: "every event three times in different deliveries; one SQS batch redelivered while its workflow runs and again after it finished",
			run:   func(ctx context.Context, r *chaosRun) error { return r.duplicates(ctx, n, window) },
		},
		"readiness": {
			about: fmt.Sprintf("Genesys completes conversations only after READY_TIMEOUT=%s: stored incomplete, then a later event for each upgrades it to complete", o.ReadyTimeout),
			env:   []string{"READY_TIMEOUT=" + o.ReadyTimeout.String(), "READY_POLL_INTERVAL=5s"},
			// Open for longer than the deadline plus the time the events
			// take to come in, with a margin.
			settings: map[string]any{"wrapupFor": (o.ReadyTimeout + window/2 + 45*time.Second).String()},
			run:      func(ctx context.Context, r *chaosRun) error { return r.readiness(ctx, max(1, n/5), window/2) },
		},
		"scheduler-terminate": {
			about: fmt.Sprintf("the fetch scheduler (%s) terminated mid-run", workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue)),
			run: func(ctx context.Context, r *chaosRun) error {
				return r.paced(ctx, n, window, func(ctx context.Context) error {
					if err := r.at(ctx, fraction(0.4)); err != nil {
						return err
					}
					busy := r.busyScheduler(ctx)
					id := workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue)
					r.note("terminate %s (%s)", id, busy)
					return r.temporal.TerminateWorkflow(ctx, id, "", "chaos: scheduler terminated mid-run")
				})
			},
		},
		"scheduler-reset": {
			about: "the fetch scheduler reset to its last workflow task mid-run",
			run: func(ctx context.Context, r *chaosRun) error {
				return r.paced(ctx, n, window, func(ctx context.Context) error {
					if err := r.at(ctx, fraction(0.5)); err != nil {
						return err
					}
					return r.resetScheduler(ctx)
				})
			},
		},
		"load": {
			about: fmt.Sprintf("%d events/s through the forwarder Lambda for %s; worker peak RSS under %d MB", o.LoadRate, o.LoadDuration, o.MaxWorkerRSSMB),
			run: func(ctx context.Context, r *chaosRun) error {
				return r.load(ctx, o.LoadRate, o.LoadDuration, int64(o.MaxWorkerRSSMB)*1_000_000)
			},
		},
		"bad-ids": {
			about:    fmt.Sprintf("%.1f%% of the conversations permanently bad (400 naming the id, or a record that cannot be mapped)", 100*o.PoisonRate),
			settings: map[string]any{"poisonRate": o.PoisonRate},
			run: func(ctx context.Context, r *chaosRun) error {
				if err := r.paced(ctx, n, window, nil); err != nil {
					return err
				}
				counters, err := r.sim.Counters(ctx)
				if err != nil {
					return err
				}
				r.note("the simulator refused %d requests for a bad id and served %d unmappable records",
					counters.Faults["poisonBadRequest"], counters.Faults["poisonBrokenRecord"])
				return nil
			},
		},
	}
}

// chaosRun is one scenario on its stack.
type chaosRun struct {
	o        ChaosOptions
	stack    *Stack
	sim      *simulator.Client
	temporal client.Client
	sender   *chaosSender
	log      io.Writer
	row      *ChaosRow
	// started is when the first batch went out; at() counts from it.
	started time.Time

	mu     sync.Mutex
	ids    []string // every conversation emitted, in order
	events int      // every event emitted
}

// runScenario starts a fresh stack, runs the scenario, waits for its
// workflows and judges the items. It never panics on a broken stack: what
// went wrong is in the row.
func runScenario(ctx context.Context, o ChaosOptions, name string, sc chaosScenario, out io.Writer) *ChaosRow {
	row := &ChaosRow{Scenario: name, About: sc.about, WorkflowStatuses: map[string]int{}}
	log := &prefixWriter{prefix: "[" + name + "] ", w: out}
	defer log.Flush()
	fmt.Fprintf(log, "%s\n", sc.about)
	if err := runOn(ctx, o, sc, row, log); err != nil {
		row.Error = err.Error()
		fmt.Fprintf(log, "error: %v\n", err)
	}
	row.Passed = row.Error == "" && row.Lost == 0 && row.Corrupted == 0 && len(row.Failures) == 0 && row.Conversations > 0
	fmt.Fprintf(log, "%d conversations: %d complete, %d incomplete, %d failed (%d bad ids), %d lost, %d corrupted; %d Genesys requests; %.0fs; passed: %v\n",
		row.Conversations, row.Complete, row.Incomplete, row.Failed, row.Poisoned, row.Lost, row.Corrupted, row.GenesysRequests, row.WallSeconds, row.Passed)
	return row
}

func runOn(ctx context.Context, o ChaosOptions, sc chaosScenario, row *ChaosRow, log io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.SettleTimeout+o.runLength()+5*time.Minute)
	defer cancel()
	paths := o.Paths
	// Logs of each scenario stay apart from `make up`'s and from each
	// other's, and are kept for a post-mortem.
	paths.Logs = filepath.Join(paths.Logs, "chaos", row.Scenario)
	paths.Run = filepath.Join(paths.Run, "chaos", row.Scenario)
	var dataDir string
	if sc.restarts {
		// State is per run: another suite (a `make test` beside `make
		// chaos`) must never share or delete it.
		if err := os.MkdirAll(filepath.Join(o.Paths.Data, "chaos"), 0o755); err != nil {
			return err
		}
		var err error
		if dataDir, err = os.MkdirTemp(filepath.Join(o.Paths.Data, "chaos"), row.Scenario+"-"); err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
	}
	ports, err := FreePorts()
	if err != nil {
		return err
	}
	row.Env = slices.Concat([]string{
		"FETCH_RETRY_HORIZON=" + o.RetryHorizon.String(), "FETCH_RETRY_MAX_INTERVAL=" + o.RetryMaxInterval.String(),
	}, sc.env)
	fmt.Fprintf(log, "starting a fresh stack (%s)\n", strings.Join(row.Env, " "))
	started := time.Now()
	stack, err := Start(ctx, Options{
		Hermetic: true,
		Paths:    paths, Ports: ports, DataDir: dataDir, Env: row.Env, Log: log,
		SimulatorArgs: []string{"--seed", strconv.FormatInt(o.Seed, 10), "--absent-for", "0s", "--wrapup-for", "0s"},
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	row.StackStartSeconds = round3(time.Since(started).Seconds())
	temporal, err := client.DialContext(ctx, client.Options{HostPort: stack.Endpoints.TemporalAddress, Logger: quietLogger{}})
	if err != nil {
		return fmt.Errorf("devstack: connect to Temporal: %w", err)
	}
	defer temporal.Close()
	r := &chaosRun{o: o, stack: stack, sim: simulator.NewClient(stack.Endpoints.Simulator), temporal: temporal,
		sender: newChaosSender(ctx, stack.Endpoints), log: log, row: row}
	r.started = time.Now()
	if len(sc.settings) > 0 {
		if err := r.settings(ctx, sc.settings); err != nil {
			return err
		}
	}
	if err := sc.run(ctx, r); err != nil {
		return err
	}
	row.WallSeconds = round3(time.Since(r.started).Seconds())
	row.Send, _ = r.sender.snapshot()
	if row.Simulator, err = r.sim.Counters(ctx); err != nil {
		return err
	}
	row.GenesysRequests = row.Simulator.Requests
	row.WorkerPeakRSS = peakRSS(stack.PID("worker"))
	fmt.Fprintf(log, "all workflows closed after %.0fs; checking %d conversations against the ground truth…\n", row.WallSeconds, len(r.ids))
	verdict, err := verifyItems(ctx, stack.Endpoints, r.table(), r.ids, false)
	if err != nil {
		return err
	}
	row.Verdict = *verdict
	return nil
}

// runLength is the longest a scenario injects faults or sends events for.
func (o ChaosOptions) runLength() time.Duration {
	return max(o.Window, o.GenesysOutage+o.GenesysMix+o.GenesysStorm, o.PermissionRevoked, o.LoadDuration) + time.Minute
}

// table is the worker's table: DYNAMODB_TABLE reaches it through the
// stack's environment.
func (r *chaosRun) table() string {
	return cmp.Or(os.Getenv("DYNAMODB_TABLE"), store.DefaultTableName)
}

// note logs what the scenario does, with the time since the run started,
// and keeps it in the row.
func (r *chaosRun) note(format string, args ...any) {
	line := fmt.Sprintf("t+%.0fs ", time.Since(r.started).Seconds()) + fmt.Sprintf(format, args...)
	fmt.Fprintln(r.log, line)
	r.mu.Lock()
	r.row.Notes = append(r.row.Notes, line)
	r.mu.Unlock()
}

// fail records a check of the scenario that did not hold.
func (r *chaosRun) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(r.log, "check failed: "+msg)
	r.mu.Lock()
	r.row.Failures = append(r.row.Failures, msg)
	r.mu.Unlock()
}

// at waits until d after the run started.
func (r *chaosRun) at(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(r.started.Add(d))):
		return nil
	}
}

func (r *chaosRun) settings(ctx context.Context, patch map[string]any) error {
	b, _ := json.Marshal(patch)
	r.note("simulator settings %s", b)
	return r.sim.UpdateSettings(ctx, patch)
}

// emit has the simulator emit events as SQS batches and remembers the new
// conversations. Every batch but the last holds EventsPerDelivery events.
func (r *chaosRun) emit(ctx context.Context, req simulator.EmitRequest) ([][]byte, error) {
	req.Shape, req.BatchSize = "sqs", r.o.EventsPerDelivery
	res, err := r.sim.Emit(ctx, req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.events += res.Events
	r.mu.Unlock()
	if len(req.LaterEventsFor) == 0 {
		r.mu.Lock()
		r.ids = append(r.ids, res.ConversationIDs...)
		r.row.Conversations = len(r.ids)
		r.mu.Unlock()
	}
	deliveries := make([][]byte, len(res.Deliveries))
	for i, d := range res.Deliveries {
		deliveries[i] = d
	}
	return deliveries, nil
}

// paced is the common shape of a scenario: n new conversations whose
// batches come in evenly over window while faults (if any) runs, then the
// wait until every workflow is closed.
func (r *chaosRun) paced(ctx context.Context, n int, window time.Duration, faults func(context.Context) error) error {
	deliveries, err := r.emit(ctx, simulator.EmitRequest{Conversations: n})
	if err != nil {
		return err
	}
	r.note("sending %d conversations in %d SQS batches over %s", n, len(deliveries), window)
	group, gctx := errgroup.WithContext(ctx)
	group.Go(func() error { return r.sender.sendPaced(gctx, deliveries, window) })
	if faults != nil {
		group.Go(func() error { return faults(gctx) })
	}
	if err := group.Wait(); err != nil {
		return err
	}
	return r.settle(ctx)
}

// settle waits until the forwarder took every batch and every workflow it
// started is closed. Workflows still open after SettleTimeout are a failed
// check, not an error: the items are judged all the same.
func (r *chaosRun) settle(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, r.o.SettleTimeout)
	defer cancel()
	if err := r.sender.wait(sctx); err != nil {
		r.fail("%v", err)
		return nil
	}
	stats, ids := r.sender.snapshot()
	r.note("the forwarder took every batch (%d invocations, %d redeliveries); waiting for %d workflows", stats.Invocations, stats.Redeliveries, len(ids))
	statuses, failed, err := settleWorkflows(sctx, r.temporal, ids, func(open int) {
		line := fmt.Sprintf("workflows open %d/%d", open, len(ids))
		if c, err := r.sim.Counters(sctx); err == nil {
			line += fmt.Sprintf(" · Genesys requests %d (%d × 429, %d faults)", c.Requests, c.RateLimited, c.FaultsInjected)
		}
		fmt.Fprintf(r.log, "  t+%.0fs %s\n", time.Since(r.started).Seconds(), line)
	})
	r.row.Workflows = len(ids)
	for status, count := range statuses {
		r.row.WorkflowStatuses[status] += count
	}
	r.row.WorkflowsFailed += failed
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.fail("%v", err)
	}
	return nil
}

// outage stops a service at moment at, keeps it down for lasts, and starts
// it again.
func (r *chaosRun) outage(ctx context.Context, service string, at, lasts time.Duration) error {
	if err := r.at(ctx, at); err != nil {
		return err
	}
	r.note("stop %s for %s", service, lasts)
	if err := r.stack.StopService(service); err != nil {
		return err
	}
	if err := r.at(ctx, at+lasts); err != nil {
		return err
	}
	r.note("start %s again", service)
	return r.stack.StartService(ctx, service)
}

// busyScheduler waits, for up to 10 s, until the fetch scheduler has a
// fetch running on the worker, so that a fault lands on work in progress
// rather than between two chunks, and says what was in flight.
func (r *chaosRun) busyScheduler(ctx context.Context) string {
	id := workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue)
	deadline := time.Now().Add(10 * time.Second)
	for {
		desc, err := r.temporal.DescribeWorkflowExecution(ctx, id, "")
		running := 0
		for _, a := range desc.GetPendingActivities() {
			if a.GetState() == enums.PENDING_ACTIVITY_STATE_STARTED {
				running++
			}
		}
		switch {
		case running > 0 || err == nil && time.Now().After(deadline):
			return fmt.Sprintf("%d fetches running, %d scheduled", running, len(desc.GetPendingActivities())-running)
		case time.Now().After(deadline):
			return "no fetch scheduler: " + err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err().Error()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// resetScheduler resets the fetch scheduler's current run to its last
// completed workflow task, as an operator repairing a stuck run would.
func (r *chaosRun) resetScheduler(ctx context.Context) error {
	busy := r.busyScheduler(ctx)
	id := workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue)
	var last int64
	history := r.temporal.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for history.HasNext() {
		event, err := history.Next()
		if err != nil {
			return fmt.Errorf("devstack: history of %s: %w", id, err)
		}
		if event.GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			last = event.GetEventId()
		}
	}
	if last == 0 {
		return fmt.Errorf("devstack: %s has no completed workflow task to reset to", id)
	}
	r.note("reset %s to its last workflow task (event %d; %s)", id, last, busy)
	_, err := r.temporal.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 "default",
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: id},
		Reason:                    "chaos: scheduler reset mid-run",
		WorkflowTaskFinishEventId: last,
		RequestId:                 uuid.NewString(),
	})
	return err
}

// duplicates sends every event three times, redelivers one batch while its
// workflow runs and once more after it finished, and checks that the
// redeliveries were taken and started no second workflow.
func (r *chaosRun) duplicates(ctx context.Context, n int, window time.Duration) error {
	deliveries, err := r.emit(ctx, simulator.EmitRequest{Conversations: n, Copies: 3})
	if err != nil {
		return err
	}
	first := deliveries[0]
	redeliver := func(when string) error {
		resp, err := r.sender.deliver(ctx, first)
		if err != nil {
			return err
		}
		if len(resp.BatchItemFailures) > 0 {
			r.fail("the batch redelivered %s was handed back (%d records)", when, len(resp.BatchItemFailures))
		}
		return nil
	}
	r.note("sending %d conversations, every event three times, in %d SQS batches over %s", n, len(deliveries), window)
	if _, err := r.sender.deliver(ctx, first); err != nil {
		return err
	}
	if err := redeliver("while its workflow runs"); err != nil {
		return err
	}
	_, ids := r.sender.snapshot()
	running := "already finished"
	if desc, err := r.temporal.DescribeWorkflowExecution(ctx, ids[0], ""); err == nil &&
		desc.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		running = "still running"
	}
	r.note("redelivered the first batch right after it was taken; its workflow %s is %s", ids[0], running)
	if err := r.sender.sendPaced(ctx, deliveries[1:], window); err != nil {
		return err
	}
	if err := r.settle(ctx); err != nil {
		return err
	}
	if err := redeliver("after its workflow finished"); err != nil {
		return err
	}
	r.note("redelivered the first batch after its workflow finished")
	runs, err := r.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + ids[0] + "'"})
	if err != nil {
		return err
	}
	if len(runs.Executions) != 1 {
		r.fail("the first batch's workflow %s has %d runs, want 1", ids[0], len(runs.Executions))
	}
	return r.settle(ctx)
}

// readiness runs n conversations that Genesys completes only after
// READY_TIMEOUT: every one must be stored incomplete. Once Genesys has
// completed them, a later event for each must upgrade its item to complete.
func (r *chaosRun) readiness(ctx context.Context, n int, window time.Duration) error {
	if err := r.paced(ctx, n, window, nil); err != nil {
		return err
	}
	phase, err := verifyItems(ctx, r.stack.Endpoints, r.table(), r.ids, true)
	if err != nil {
		return err
	}
	r.note("at READY_TIMEOUT: %d incomplete, %d complete, %d failed, %d lost, %d corrupted",
		phase.Incomplete, phase.Complete, phase.Failed, phase.Lost, phase.Corrupted)
	if phase.Lost > 0 || phase.Corrupted > 0 {
		r.fail("at READY_TIMEOUT %d conversations were lost and %d not stored incomplete: %s",
			phase.Lost, phase.Corrupted, strings.Join(phase.Problems, "; "))
	}
	last := r.ids[len(r.ids)-1]
	for {
		truth, err := r.sim.GroundTruth(ctx, last)
		if err != nil {
			return err
		}
		if truth.State == "complete" {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	deliveries, err := r.emit(ctx, simulator.EmitRequest{LaterEventsFor: r.ids})
	if err != nil {
		return err
	}
	r.note("Genesys completed them; sending a later event for each in %d SQS batches", len(deliveries))
	if err := r.sender.sendPaced(ctx, deliveries, window); err != nil {
		return err
	}
	return r.settle(ctx)
}

// load sends rate events a second through the forwarder for duration,
// emitting ten seconds' worth of conversations at a time, and bounds the
// worker's peak RSS.
func (r *chaosRun) load(ctx context.Context, rate int, duration time.Duration, maxRSS int64) error {
	const eventsPerConversation = 2.3 // measured mean of the simulator's conversations
	chunk := max(1, int(float64(rate)*10/eventsPerConversation))
	sent := 0
	r.note("sending %d events/s for %s", rate, duration)
	for time.Since(r.started) < duration {
		deliveries, err := r.emit(ctx, simulator.EmitRequest{Conversations: chunk})
		if err != nil {
			return err
		}
		unsent := r.events - sent
		for _, d := range deliveries {
			events := min(unsent, r.o.EventsPerDelivery)
			unsent -= events
			due := r.started.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(due)):
			}
			if _, err := r.sender.deliver(ctx, d); err != nil {
				return err
			}
			sent += events
		}
	}
	took := time.Since(r.started)
	r.note("sent %d events of %d conversations in %s: %.0f events/s", sent, len(r.ids), took.Round(time.Second), float64(sent)/took.Seconds())
	if err := r.settle(ctx); err != nil {
		return err
	}
	rss := peakRSS(r.stack.PID("worker"))
	r.note("worker peak RSS %.1f MB", float64(rss)/1e6)
	if rss >= maxRSS {
		r.fail("worker peak RSS %.1f MB, bound %.0f MB", float64(rss)/1e6, float64(maxRSS)/1e6)
	}
	return nil
}

// ChaosCommand runs `devstack chaos [-reduced] [-no-build]`: the suite, the
// table, and an error if any scenario failed.
func ChaosCommand(ctx context.Context, p Paths, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("chaos", flag.ContinueOnError)
	reduced := flags.Bool("reduced", false, "the three short scenarios `make test` runs")
	skipBuild := flags.Bool("no-build", false, "use the binaries already in .local/bin")
	if err := flags.Parse(args); err != nil {
		return err
	}
	o, err := ChaosOptionsFromEnv(p, *reduced)
	if err != nil {
		return err
	}
	o.SkipBuild, o.Out = *skipBuild, out
	res, err := Chaos(ctx, o)
	if err != nil {
		return err
	}
	if !res.Passed() {
		var failed []string
		for _, row := range res.Rows {
			if !row.Passed {
				failed = append(failed, row.Scenario)
			}
		}
		return fmt.Errorf("chaos: %d of %d scenarios failed: %s (see %s)", len(failed), len(res.Rows), strings.Join(failed, ", "), res.File)
	}
	return nil
}
