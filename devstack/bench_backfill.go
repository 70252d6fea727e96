package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// BackfillBench measures a backfill at the default request budget, alone
// and with live traffic, each on a fresh stack whose simulator holds
// Conversations conversations over Days days that ended long ago.
type BackfillBench struct {
	Conversations int `json:"conversations"`
	Days          int `json:"days"`
	// LivePerSecond conversations a second arrive as events during the
	// second run; their data is ready when the events arrive.
	LivePerSecond int              `json:"livePerSecond"`
	Runs          []BackfillRunFig `json:"runs"`
	StartedAt     time.Time        `json:"startedAt"`
	Machine       Machine          `json:"machine"`
	File          string           `json:"-"`
}

// BackfillRunFig is one run's figures.
type BackfillRunFig struct {
	Name                    string  `json:"name"`
	Found                   int     `json:"found"`
	StoredComplete          int     `json:"storedComplete"`
	Seconds                 float64 `json:"seconds"`
	ConversationsPerSecond  float64 `json:"conversationsPerSecond"`
	QueryRequests           int     `json:"queryRequests"`
	GenesysRequests         int64   `json:"genesysRequests"` // every /api request the simulator served, live ones included
	RequestsPerConversation float64 `json:"requestsPerConversation"`
	// HistoryEvents of the Backfill workflow (every run), per conversation
	// found.
	HistoryEvents          int     `json:"historyEvents"`
	HistoryPerConversation float64 `json:"historyPerConversation"`
	// Live: conversations that arrived as events during the backfill, and
	// the time from their events' arrival at the forwarder to their item.
	Live         int     `json:"live,omitempty"`
	LiveP50Ms    float64 `json:"liveP50Ms,omitempty"`
	LiveP99Ms    float64 `json:"liveP99Ms,omitempty"`
	LiveMissing  int     `json:"liveMissing,omitempty"`
	BudgetPerSec float64 `json:"budgetRequestsPerSecond"`
}

// BackfillBenchCommand runs `make bench-backfill`. Knobs:
// BENCH_BACKFILL_CONVERSATIONS (20000), BENCH_BACKFILL_DAYS (10),
// BENCH_BACKFILL_LIVE (20 conversations a second).
func BackfillBenchCommand(ctx context.Context, p Paths, out io.Writer) error {
	b := &BackfillBench{Conversations: envInt("BENCH_BACKFILL_CONVERSATIONS", 20_000), Days: envInt("BENCH_BACKFILL_DAYS", 10),
		LivePerSecond: envInt("BENCH_BACKFILL_LIVE", 20), StartedAt: time.Now().UTC(), Machine: machineInfo()}
	fmt.Fprintf(out, "backfill benchmark: %d conversations over %d days, at the default budget, alone and with %d live conversations/s\n",
		b.Conversations, b.Days, b.LivePerSecond)
	if err := EnsureTools(ctx, p, out); err != nil {
		return err
	}
	if err := Build(ctx, p, out); err != nil {
		return err
	}
	for _, live := range []int{0, b.LivePerSecond} {
		name := "alone"
		if live > 0 {
			name = fmt.Sprintf("with %d live/s", live)
		}
		fig, err := b.run(ctx, p, name, live, out)
		if err != nil {
			return fmt.Errorf("backfill bench %s: %w", name, err)
		}
		b.Runs = append(b.Runs, *fig)
	}
	fmt.Fprintf(out, "\n| run | conversations | time | conversations/s | Genesys requests (per conversation) | details queries | history events per conversation | live p50 / p99 (event → stored) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range b.Runs {
		live := "–"
		if r.Live > 0 {
			live = fmt.Sprintf("%.0f / %.0f ms (%d live, %d missing)", r.LiveP50Ms, r.LiveP99Ms, r.Live, r.LiveMissing)
		}
		fmt.Fprintf(out, "| %s | %d | %.0fs | %.0f | %d (%.4f) | %d | %.4f | %s |\n", r.Name, r.Found, r.Seconds,
			r.ConversationsPerSecond, r.GenesysRequests, r.RequestsPerConversation, r.QueryRequests, r.HistoryPerConversation, live)
	}
	dir := filepath.Join(p.Root, "bench-results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b.File = filepath.Join(dir, "backfill-"+b.StartedAt.Format("20060102T150405Z")+".json")
	full, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(b.File, append(full, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "full results: %s\n", b.File)
	for _, r := range b.Runs {
		if r.Found < b.Conversations || r.LiveMissing > 0 {
			return fmt.Errorf("%s: %d of %d conversations found, %d live ones not stored (see %s)", r.Name, r.Found, b.Conversations, r.LiveMissing, b.File)
		}
	}
	return nil
}

func (b *BackfillBench) run(ctx context.Context, p Paths, name string, livePerSecond int, out io.Writer) (*BackfillRunFig, error) {
	log := &prefixWriter{prefix: "[" + name + "] ", w: out}
	defer log.Flush()
	ports, err := FreePorts()
	if err != nil {
		return nil, err
	}
	p.Logs = filepath.Join(p.Logs, "bench-backfill")
	p.Run = filepath.Join(p.Run, "bench-backfill")
	now := time.Now().UTC()
	span := time.Duration(b.Days) * 24 * time.Hour
	spacing := (span / time.Duration(b.Conversations)).Truncate(time.Millisecond)
	from := now.Add(-span - 24*time.Hour).Truncate(time.Hour)
	stack, err := Start(ctx, Options{Hermetic: true, Paths: p, Ports: ports, Log: log,
		SimulatorArgs: []string{"--conversations", strconv.Itoa(b.Conversations), "--history", strconv.Itoa(b.Conversations),
			"--spacing", spacing.String(), "--base-time", from.Format(time.RFC3339), "--seed", "5"}})
	if err != nil {
		return nil, err
	}
	defer stack.Stop()
	sim := simulator.NewClient(stack.Endpoints.Simulator)
	catalog, err := sim.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	tc, err := client.DialContext(ctx, client.Options{HostPort: stack.Endpoints.TemporalAddress, Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	if err := sim.ResetCounters(ctx); err != nil {
		return nil, err
	}

	started := time.Now()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bench-backfill", TaskQueue: workflows.DefaultTaskQueue},
		workflows.BackfillWorkflowName, workflows.BackfillInput{From: from, To: from.Add(span), OrgID: catalog.OrgID, Fix: true})
	if err != nil {
		return nil, err
	}
	live := &liveArrivals{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if livePerSecond > 0 {
		wg.Go(func() { live.send(ctx, stack.Endpoints, sim, livePerSecond, stop) })
	}
	var report workflows.BackfillReport
	err = run.Get(ctx, &report)
	close(stop)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(started)
	counters, err := sim.Counters(ctx)
	if err != nil {
		return nil, err
	}
	fig := &BackfillRunFig{Name: name, Found: report.Totals.Found, StoredComplete: report.StoredComplete,
		Seconds: round3(elapsed.Seconds()), ConversationsPerSecond: round3(float64(report.Totals.Found) / elapsed.Seconds()),
		QueryRequests: report.QueryRequests, GenesysRequests: counters.Requests, BudgetPerSec: 4.5}
	if fig.Found > 0 {
		fig.RequestsPerConversation = round4(float64(counters.Requests) / float64(fig.Found))
	}
	hist, err := workflowHistories(ctx, stack.Endpoints.TemporalAddress, []string{"bench-backfill"})
	if err != nil {
		return nil, err
	}
	fig.HistoryEvents = hist.Events
	if fig.Found > 0 {
		fig.HistoryPerConversation = round4(float64(hist.Events) / float64(fig.Found))
	}
	if livePerSecond > 0 {
		if err := live.measure(ctx, stack.Endpoints, fig); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(log, "%d conversations in %.0fs: %.0f/s, %d Genesys requests, %.4f history events per conversation\n",
		fig.Found, fig.Seconds, fig.ConversationsPerSecond, fig.GenesysRequests, fig.HistoryPerConversation)
	return fig, nil
}

// liveArrivals sends live conversations and remembers when their events
// reached the forwarder.
type liveArrivals struct {
	mu      sync.Mutex
	arrived map[string]time.Time
}

func (l *liveArrivals) send(ctx context.Context, e Endpoints, sim *simulator.Client, perSecond int, stop <-chan struct{}) {
	l.arrived = map[string]time.Time{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		emitted, err := sim.Emit(ctx, simulator.EmitRequest{Conversations: perSecond, Shape: "sqs", BatchSize: 2 * perSecond})
		if err != nil {
			return
		}
		at := time.Now()
		for _, d := range emitted.Deliveries {
			_, _ = InvokeForwarder(ctx, e, d)
		}
		l.mu.Lock()
		for _, id := range emitted.ConversationIDs {
			l.arrived[id] = at
		}
		l.mu.Unlock()
	}
}

// measure waits for the live conversations and takes their latencies from
// the items' updatedAt.
func (l *liveArrivals) measure(ctx context.Context, e Endpoints, fig *BackfillRunFig) error {
	table := store.NewTable(LocalDynamoDB(e.DynamoDB), store.Config{})
	ids := make([]string, 0, len(l.arrived))
	for id := range l.arrived {
		ids = append(ids, id)
	}
	deadline := time.Now().Add(2 * time.Minute)
	var statuses map[string]store.StoredStatus
	for {
		var err error
		if statuses, err = table.Statuses(ctx, ids); err != nil {
			return err
		}
		if len(statuses) == len(ids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	var latencies []time.Duration
	for id, s := range statuses {
		stored, err := time.Parse(store.TimeFormat, s.UpdatedAt)
		if err != nil {
			return err
		}
		latencies = append(latencies, stored.Sub(l.arrived[id]))
	}
	slices.Sort(latencies)
	fig.Live, fig.LiveMissing = len(ids), len(ids)-len(statuses)
	fig.LiveP50Ms, fig.LiveP99Ms = percentileMs(latencies, 0.5), percentileMs(latencies, 0.99)
	return nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
