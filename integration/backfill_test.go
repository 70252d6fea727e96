package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/devstack"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/starter/sweep"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// History for the backfill: 20,000 conversations over ten days that end
// 14 hours ago. Conversations emitted live come after them, 43.2s apart:
// the backfill test's (at most maxLiveConversations, 12 hours' worth) and
// the sweep test's still started before now.
const (
	historyConversations = 20_000
	historyDays          = 10
	maxLiveConversations = 1000
	// historyOversizeRate: about ten of the history's records are too large
	// for a DynamoDB item even gzipped (4 MB each), so the backfill stores
	// their details in the local S3.
	historyOversizeRate = 0.0005
	historySeed         = 11
)

// backfillStack is a stack of its own whose simulator holds that history
// (the shared stack's conversations are a few minutes of the same day).
type backfillStack struct {
	*devstack.Stack
	from, to time.Time
	org      string
}

func startBackfillStack(t *testing.T) *backfillStack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	paths, err := devstack.FindPaths()
	require.NoError(t, err)
	paths.Logs += "/integration-backfill"
	paths.Run += "/integration-backfill"
	ports, err := devstack.FreePorts()
	require.NoError(t, err)
	now := time.Now().UTC()
	from := now.Truncate(time.Hour).Add(-historyDays*24*time.Hour - 14*time.Hour)
	spacing := historyDays * 24 * time.Hour / historyConversations // 43.2s
	s, err := devstack.Start(ctx, devstack.Options{
		Hermetic: true, Paths: paths, Ports: ports, Log: os.Stderr,
		SimulatorArgs: []string{"--conversations", fmt.Sprint(historyConversations), "--history", fmt.Sprint(historyConversations), "--spacing", spacing.String(),
			"--base-time", from.Format(time.RFC3339), "--absent-for", "2s", "--wrapup-for", "6s", "--seed", fmt.Sprint(historySeed),
			"--oversize-rate", fmt.Sprint(historyOversizeRate)},
		// READY_TIMEOUT short enough that the sweep test can make a
		// conversation be stored incomplete.
		Env: []string{"READY_POLL_INTERVAL=2s", "READY_TIMEOUT=20s"},
	})
	require.NoError(t, err, "start the backfill test's stack")
	t.Cleanup(s.Stop)
	catalog, err := simulator.NewClient(s.Endpoints.Simulator).Catalog(ctx)
	require.NoError(t, err)
	return &backfillStack{Stack: s, from: from, to: now, org: catalog.OrgID}
}

// TestBackfillAndSweep: a backfill of ten days finds and stores all 20,000
// conversations while live events flow and the worker is killed midway,
// then reconcile reports nothing missing; the scheduled sweep then finds
// conversations whose events were dropped and upgrades ones stored
// incomplete.
func TestBackfillAndSweep(t *testing.T) {
	bs := startBackfillStack(t)
	t.Run("backfill", func(t *testing.T) { testBackfill(t, bs) })
	t.Run("sweep", func(t *testing.T) { testSweep(t, bs) })
}

func testBackfill(t *testing.T, bs *backfillStack) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tc, err := client.Dial(client.Options{HostPort: bs.Endpoints.TemporalAddress})
	require.NoError(t, err)
	defer tc.Close()

	out, err := starterOn(t, bs.Endpoints, time.Minute, "backfill", "--from", bs.from.Format(time.RFC3339),
		"--to", bs.to.Format(time.RFC3339), "--org", bs.org)
	require.NoError(t, err)
	id := strings.TrimSpace(out)
	started := time.Now()

	// Live events keep flowing: ten conversations a second, through the
	// forwarder, while the backfill runs (up to maxLiveConversations).
	live := startLiveTraffic(ctx, t, bs.Endpoints)

	// Kill the worker once midway.
	killed := false
	var report workflows.BackfillReport
	for {
		var p workflows.BackfillProgress
		if v, err := tc.QueryWorkflow(ctx, id, "", workflows.ProgressQuery); err == nil && v.Get(&p) == nil {
			if !killed && p.Report.DaysWalked >= historyDays/2 {
				t.Logf("killing the worker at %d of %d days, %d found, %d submitted", p.Report.DaysWalked, p.Report.DaysTotal, p.Report.Totals.Found, p.Report.Submitted)
				require.NoError(t, bs.KillService("worker"))
				time.Sleep(2 * time.Second)
				require.NoError(t, bs.StartService(ctx, "worker"))
				killed = true
			}
		}
		desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(t, err)
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			require.NoError(t, tc.GetWorkflow(ctx, id, "").Get(ctx, &report))
			break
		}
		time.Sleep(time.Second)
	}
	elapsed := time.Since(started)
	liveIDs := live.stop()
	require.True(t, killed, "the worker was killed midway")

	t.Logf("backfill: %d found, %d stored complete, %d unchanged, %d batches, %d query requests in %s (%.0f conversations/s with live traffic of %d conversations)",
		report.Totals.Found, report.StoredComplete, report.Unchanged, report.Batches, report.QueryRequests,
		elapsed.Round(time.Second), float64(report.Totals.Found)/elapsed.Seconds(), len(liveIDs))
	assert.True(t, report.Fixed(), "%+v", report)
	assert.Empty(t, report.Problems)
	// Conversations emitted live show up once complete; the walk may have
	// passed their day by then, and live ingestion stores them anyway.
	assert.GreaterOrEqual(t, report.Totals.Found, historyConversations)
	assert.Equal(t, report.Totals.Found, report.Totals.Complete+report.Totals.Missing+report.Totals.Incomplete+report.Totals.Failed)
	events := historyEvents(ctx, t, tc, id)
	t.Logf("backfill workflow history: %d events, %.4f per conversation found", events, float64(events)/float64(report.Totals.Found))

	// Live conversations are stored by their own batches.
	waitStoredComplete(ctx, t, bs.Endpoints, liveIDs, 2*time.Minute)

	// Reconcile the same interval: nothing missing, incomplete or failed.
	out, err = starterOn(t, bs.Endpoints, 10*time.Minute, "reconcile", "--from", bs.from.Format(time.RFC3339),
		"--to", bs.to.Format(time.RFC3339), "--json")
	require.NoError(t, err, "reconcile exits 0 only when nothing is missing")
	var reconciled workflows.BackfillReport
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &reconciled))
	assert.GreaterOrEqual(t, reconciled.Totals.Found, historyConversations, "every conversation of the history, and the live ones")
	assert.Equal(t, reconciled.Totals.Found, reconciled.Totals.Complete)
	assert.True(t, reconciled.Clean())
	assert.GreaterOrEqual(t, len(reconciled.Days), historyDays, "one row per day")

	checkOversizedDetailsInS3(ctx, t, bs)
}

// checkOversizedDetailsInS3: every history record too large for an item
// has its detail in the local S3, pointed to by its item, and the starter
// reads it back from there.
func checkOversizedDetailsInS3(ctx context.Context, t *testing.T, bs *backfillStack) {
	gen := simulator.NewGenerator(historySeed, bs.from).WithOversizeRate(historyOversizeRate)
	var oversized []string
	for i := range historyConversations {
		if c := gen.Generate(i); c.Expected.Oversized {
			oversized = append(oversized, c.Record.ConversationID)
		}
	}
	require.NotEmpty(t, oversized, "the simulator made no oversized record: raise historyOversizeRate")
	tbl := store.NewTable(devstack.LocalDynamoDB(bs.Endpoints.DynamoDB), store.Config{Objects: devstack.LocalS3(bs.Endpoints.S3)})
	for _, id := range oversized {
		rec, ok, err := tbl.GetRecord(ctx, id)
		require.NoError(t, err)
		require.True(t, ok, "oversized conversation %s stored", id)
		assert.NotEmpty(t, rec.DetailKey, "conversation %s: the item points to its detail in S3", id)
		assert.Empty(t, rec.Detail, "conversation %s: no detail in the item", id)
	}
	out, err := starterOn(t, bs.Endpoints, time.Minute, "conversations", "get", "--detail", oversized[0])
	require.NoError(t, err)
	assert.Greater(t, len(out), 1<<20, "the detail read back from S3 is the whole record")
	assert.Contains(t, out, oversized[0])
	t.Logf("%d oversized records: details in S3, read back by the starter (%d bytes)", len(oversized), len(out))
}

func testSweep(t *testing.T, bs *backfillStack) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sim := simulator.NewClient(bs.Endpoints.Simulator)
	// Wrap-up that outlasts READY_TIMEOUT (20s): the conversations whose
	// events arrive are stored incomplete.
	require.NoError(t, sim.UpdateSettings(ctx, map[string]any{"wrapupFor": "2m"}))
	emitted, err := sim.Emit(ctx, simulator.EmitRequest{Conversations: 40, Shape: "sqs", BatchSize: 40, DropRate: 0.25})
	require.NoError(t, err)
	require.Len(t, emitted.DroppedIDs, 10)
	for _, d := range emitted.Deliveries {
		_, err := devstack.InvokeForwarder(ctx, bs.Endpoints, d)
		require.NoError(t, err)
	}
	dropped := map[string]bool{}
	for _, id := range emitted.DroppedIDs {
		dropped[id] = true
	}
	var delivered []string
	for _, id := range emitted.ConversationIDs {
		if !dropped[id] {
			delivered = append(delivered, id)
		}
	}
	tbl := store.NewTable(devstack.LocalDynamoDB(bs.Endpoints.DynamoDB), store.Config{})
	require.Eventually(t, func() bool {
		statuses, err := tbl.Statuses(ctx, delivered)
		if err != nil || len(statuses) < len(delivered) {
			return false
		}
		for _, s := range statuses {
			if s.Status != store.StatusIncomplete {
				return false
			}
		}
		return true
	}, 2*time.Minute, time.Second, "conversations with open wrap-up are stored incomplete at READY_TIMEOUT")
	statuses, err := tbl.Statuses(ctx, emitted.DroppedIDs)
	require.NoError(t, err)
	require.Empty(t, statuses, "conversations whose events were dropped are not in the table")

	// Wrap-up done: Genesys now has every one complete.
	require.NoError(t, sim.UpdateSettings(ctx, map[string]any{"wrapupFor": "6s"}))
	time.Sleep(time.Second)

	tc, err := client.Dial(client.Options{HostPort: bs.Endpoints.TemporalAddress})
	require.NoError(t, err)
	defer tc.Close()
	// These conversations started within the last 14 hours (see
	// historyConversations); the sweep looks back 16.
	_, err = sweep.Ensure(ctx, tc, sweep.Settings{Every: time.Hour, Window: 16 * time.Hour, OrgID: bs.org, TaskQueue: workflows.DefaultTaskQueue})
	require.NoError(t, err)
	handle := tc.ScheduleClient().GetHandle(ctx, sweep.ScheduleID)
	require.NoError(t, handle.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var runID string
	require.Eventually(t, func() bool {
		desc, err := handle.Describe(ctx)
		if err != nil || len(desc.Info.RecentActions) == 0 {
			return false
		}
		runID = desc.Info.RecentActions[len(desc.Info.RecentActions)-1].StartWorkflowResult.WorkflowID
		return true
	}, time.Minute, time.Second, "the schedule started a sweep")
	var report workflows.BackfillReport
	require.NoError(t, tc.GetWorkflow(ctx, runID, "").Get(ctx, &report))
	t.Logf("sweep %s: %d found, %d missing, %d incomplete, %d stored complete, %d query requests",
		runID, report.Totals.Found, report.Totals.Missing, report.Totals.Incomplete, report.StoredComplete, report.QueryRequests)

	assert.Equal(t, len(emitted.DroppedIDs), report.Totals.Missing, "the conversations whose events never arrived")
	assert.Equal(t, len(delivered), report.Totals.Incomplete, "the ones stored incomplete")
	assert.True(t, report.Fixed(), "%+v", report)
	waitStoredComplete(ctx, t, bs.Endpoints, emitted.ConversationIDs, time.Minute)
	require.NoError(t, sweep.Remove(ctx, tc))
}

// liveTraffic emits conversations and sends their deliveries through the
// forwarder until stopped; a delivery under way when it is stopped is sent
// whole, so every conversation it emitted had its events delivered.
type liveTraffic struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	ids  []string
}

func startLiveTraffic(ctx context.Context, t *testing.T, e devstack.Endpoints) *liveTraffic {
	l := &liveTraffic{done: make(chan struct{})}
	sim := simulator.NewClient(e.Simulator)
	l.wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for l.emitted() < maxLiveConversations {
			select {
			case <-l.done:
				return
			case <-tick.C:
			}
			emitted, err := sim.Emit(ctx, simulator.EmitRequest{Conversations: 10, Shape: "sqs", BatchSize: 20})
			if err != nil {
				t.Errorf("live traffic: %v", err)
				return
			}
			for _, d := range emitted.Deliveries {
				res, err := devstack.InvokeForwarder(ctx, e, d)
				if err != nil || len(res.BatchItemFailures) > 0 {
					t.Errorf("live traffic: %v %v", err, res.BatchItemFailures)
				}
			}
			l.mu.Lock()
			l.ids = append(l.ids, emitted.ConversationIDs...)
			l.mu.Unlock()
		}
	})
	return l
}

func (l *liveTraffic) emitted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}

// stop ends the traffic and returns the conversations it emitted.
func (l *liveTraffic) stop() []string {
	close(l.done)
	l.wg.Wait()
	return l.ids
}

func waitStoredComplete(ctx context.Context, t *testing.T, e devstack.Endpoints, ids []string, within time.Duration) {
	t.Helper()
	tbl := store.NewTable(devstack.LocalDynamoDB(e.DynamoDB), store.Config{})
	var left int
	ok := assert.Eventually(t, func() bool {
		complete, err := tbl.CompleteIDs(ctx, ids)
		left = len(ids) - len(complete)
		return err == nil && left == 0
	}, within, time.Second)
	if !ok {
		t.Errorf("%d of %d conversations not stored complete", left, len(ids))
	}
}

// historyEvents sums the history of every run of workflow id.
func historyEvents(ctx context.Context, t *testing.T, tc client.Client, id string) int {
	t.Helper()
	runs, err := tc.ListWorkflow(ctx, listRuns(id))
	require.NoError(t, err)
	n := 0
	for _, r := range runs.GetExecutions() {
		n += int(r.GetHistoryLength())
	}
	return n
}
