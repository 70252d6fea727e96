package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
)

// TestChaosReduced runs the reduced chaos suite in-process: the worker
// killed with -9 once, a short Genesys fault mix and permanently bad ids,
// each on a fresh stack. Every row must lose and corrupt nothing.
func TestChaosReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three full local stacks; skipped with -short")
	}
	paths, err := FindPaths()
	require.NoError(t, err)
	opts, err := ChaosOptionsFromEnv(paths, true)
	require.NoError(t, err)
	opts.ResultsDir = t.TempDir()
	var out bytes.Buffer
	opts.Out = &out
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	res, err := Chaos(ctx, opts)
	t.Log("chaos output:\n" + out.String())
	require.NoError(t, err)

	require.Len(t, res.Rows, len(chaosReducedSuite))
	for _, row := range res.Rows {
		assert.Empty(t, row.Error, "%s: error", row.Scenario)
		assert.Equal(t, opts.Conversations, row.Conversations, "%s: conversations", row.Scenario)
		assert.Zero(t, row.Lost, "%s: lost: %v", row.Scenario, row.Problems)
		assert.Zero(t, row.Corrupted, "%s: corrupted: %v", row.Scenario, row.Problems)
		assert.Equal(t, row.Poisoned, row.Failed, "%s: failed items are exactly the bad ids", row.Scenario)
		assert.Empty(t, row.Failures, "%s: checks", row.Scenario)
		assert.True(t, row.Passed, "%s passed", row.Scenario)
		assert.Positive(t, row.GenesysRequests, "%s: Genesys requests", row.Scenario)
	}
	byName := map[string]*ChaosRow{}
	for _, row := range res.Rows {
		byName[row.Scenario] = row
	}
	assert.Positive(t, byName["genesys-faults"].Simulator.FaultsInjected, "the simulator injected faults")
	assert.Positive(t, byName["bad-ids"].Poisoned, "some conversations were made permanently bad")
	assert.Contains(t, out.String(), "| scenario | conversations | stored complete |")
	assert.FileExists(t, res.File)
}

func TestChaosOptionsFromEnv(t *testing.T) {
	paths := NewPaths(t.TempDir())
	full, err := ChaosOptionsFromEnv(paths, false)
	require.NoError(t, err)
	assert.Equal(t, chaosFullSuite, full.suite(), "the full suite measures its baseline first")
	reduced, err := ChaosOptionsFromEnv(paths, true)
	require.NoError(t, err)
	assert.Equal(t, chaosReducedSuite, reduced.suite(), "the reduced suite compares with the ideal requests")
	assert.Less(t, reduced.Conversations, full.Conversations)

	t.Setenv("CHAOS_SCENARIOS", "bad-ids, worker-kill")
	t.Setenv("CHAOS_BASELINE", "1")
	t.Setenv("CHAOS_CONVERSATIONS", "300")
	t.Setenv("CHAOS_POISON_RATE", "0.1")
	o, err := ChaosOptionsFromEnv(paths, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"baseline", "bad-ids", "worker-kill"}, o.suite())
	assert.Equal(t, 300, o.Conversations)
	assert.InDelta(t, 0.1, o.PoisonRate, 1e-9)

	t.Setenv("CHAOS_SCENARIOS", "meteor")
	t.Setenv("CHAOS_WINDOW", "soon")
	t.Setenv("CHAOS_POISON_RATE", "2")
	_, err = ChaosOptionsFromEnv(paths, false)
	require.Error(t, err)
	for _, knob := range []string{"CHAOS_SCENARIOS", "CHAOS_WINDOW", "CHAOS_POISON_RATE"} {
		assert.Contains(t, err.Error(), knob)
	}
}

func TestChaosScenariosCoverTheSuite(t *testing.T) {
	o, err := ChaosOptionsFromEnv(NewPaths(t.TempDir()), false)
	require.NoError(t, err)
	scenarios := chaosScenarios(o)
	assert.Len(t, scenarios, len(chaosFullSuite))
	for _, name := range chaosFullSuite {
		sc, ok := scenarios[name]
		if assert.True(t, ok, name) {
			assert.NotEmpty(t, sc.about, name)
			assert.NotNil(t, sc.run, name)
		}
	}
}

func TestRedeliveryOfKeepsTheFailedRecordsAndCountsTheReceive(t *testing.T) {
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "a", Body: "{}", Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		{MessageId: "b", Body: "{}", Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		{MessageId: "c", Body: "{}", Attributes: map[string]string{"ApproximateReceiveCount": "2"}},
	}}
	payload, err := json.Marshal(batch)
	require.NoError(t, err)
	for _, tc := range []struct {
		failed []string
		want   map[string]string
	}{
		{[]string{"b", "c"}, map[string]string{"b": "2", "c": "3"}},
		{nil, map[string]string{"a": "2", "b": "2", "c": "3"}},
	} {
		again, err := redeliveryOf(payload, tc.failed)
		require.NoError(t, err)
		var got events.SQSEvent
		require.NoError(t, json.Unmarshal(again, &got))
		counts := map[string]string{}
		for _, r := range got.Records {
			counts[r.MessageId] = r.Attributes["ApproximateReceiveCount"]
		}
		assert.Equal(t, tc.want, counts, "failed %v", tc.failed)
	}
}

func TestRecordMismatchesNamesEveryWrongField(t *testing.T) {
	ctx, details := context.Background(), store.NewTable(nil, store.Config{})
	c := simulator.Generate(1, 3)
	truth := simulator.GroundTruth{Expected: c.Expected, Complete: c.Record}
	raw, err := json.Marshal(c.Record)
	require.NoError(t, err)
	rec, err := store.NewRecord(raw, "org", time.Now())
	require.NoError(t, err)
	assert.Empty(t, RecordMismatches(ctx, details, rec, truth, "org"))

	rec.TalkTimeMs++
	rec.OrgID = "other"
	rec.QueueIDs = append(rec.QueueIDs, "extra")
	bad := RecordMismatches(ctx, details, rec, truth, "org")
	assert.Len(t, bad, 3, "%v", bad)
	for i, field := range []string{"talkTimeMs", "queueIds", "orgId"} {
		assert.True(t, strings.HasPrefix(bad[i], field+":"), bad[i])
	}

	other := simulator.Generate(1, 4)
	raw, err = json.Marshal(other.Record)
	require.NoError(t, err)
	rec, err = store.NewRecord(raw, "org", time.Now())
	require.NoError(t, err)
	rec.ConversationID = c.Record.ConversationID
	assert.Contains(t, RecordMismatches(ctx, details, rec, truth, "org"), "detail: differs from the generated record")
}

func TestPrintChaosShowsOneRowPerScenarioAndWhyRowsFailed(t *testing.T) {
	res := &ChaosResult{Baseline: "ideal ceil(n/100) requests", Rows: []*ChaosRow{
		{Scenario: "worker-kill", Verdict: Verdict{Conversations: 1000, Complete: 1000}, GenesysRequests: 12, RequestsRatio: 1.2, WallSeconds: 42, Passed: true},
		{Scenario: "bad-ids", Verdict: Verdict{Conversations: 1000, Complete: 990, Failed: 7, Poisoned: 10, Lost: 3,
			Problems: []string{"x lost: no item"}, FailureReasons: map[string]int{"InvalidConversationRecord: parse": 7}},
			GenesysRequests: 80, RequestsRatio: 8, WallSeconds: 61},
	}}
	var out bytes.Buffer
	printChaos(&out, res)
	text := out.String()
	assert.Contains(t, text, "| worker-kill | 1000 | 1000 | 0 / 0 | 0 | 0 | 12 (1.20×) | 42s | pass |")
	assert.Contains(t, text, "| bad-ids | 1000 | 990 | 0 / 7 (10 bad ids) | 3 | 0 | 80 (8.00×) | 1m1s | **FAIL** |")
	assert.Contains(t, text, "bad-ids failed:\n  x lost: no item\n  failed items: 7 × InvalidConversationRecord: parse\n")
	assert.NotContains(t, text, "worker-kill failed")
}

// TestChaosSenderRedeliversWhatTheForwarderHandsBackOneInvocationAtATime
// plays the Lambda emulator: batch A fails outright, then has one record
// handed back, then is taken; batch B, sent meanwhile, is taken at once.
func TestChaosSenderRedeliversWhatTheForwarderHandsBackOneInvocationAtATime(t *testing.T) {
	sim, err := simulator.New(simulator.Config{Seed: 3, ClientID: "c", ClientSecret: "s"})
	require.NoError(t, err)
	emitted, err := sim.Emit(simulator.EmitRequest{Conversations: 6, Shape: "sqs", BatchSize: 8})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(emitted.Deliveries), 2)
	a, b := emitted.Deliveries[0], emitted.Deliveries[1]
	var first events.SQSEvent
	require.NoError(t, json.Unmarshal(a, &first))
	ofA := map[string]bool{}
	for _, r := range first.Records {
		ofA[r.MessageId] = true
	}

	var (
		mu      sync.Mutex
		toA     []events.SQSEvent // what A's invocations carried
		busy    atomic.Int32
		overlap atomic.Bool
	)
	emulator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if busy.Add(1) > 1 {
			overlap.Store(true)
		}
		defer busy.Add(-1)
		time.Sleep(20 * time.Millisecond)
		var batch events.SQSEvent
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil || len(batch.Records) == 0 {
			http.Error(w, "bad batch", http.StatusBadRequest)
			return
		}
		if !ofA[batch.Records[0].MessageId] {
			_, _ = w.Write([]byte(`{"batchItemFailures":[]}`))
			return
		}
		mu.Lock()
		toA = append(toA, batch)
		n := len(toA)
		mu.Unlock()
		switch n {
		case 1:
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = w.Write([]byte(`{"errorMessage":"boom"}`))
		case 2:
			_ = json.NewEncoder(w).Encode(events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: batch.Records[0].MessageId}}})
		default:
			_, _ = w.Write([]byte(`{"batchItemFailures":[]}`))
		}
	}))
	defer emulator.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := newChaosSender(ctx, Endpoints{Lambda: emulator.URL})
	s.retryAfter = 10 * time.Millisecond
	sentB := make(chan error, 1)
	go func() {
		_, err := s.deliver(ctx, b)
		sentB <- err
	}()
	_, err = s.deliver(ctx, a)
	require.NoError(t, err)
	require.NoError(t, <-sentB)
	require.NoError(t, s.wait(ctx))

	stats, ids := s.snapshot()
	assert.False(t, overlap.Load(), "two invocations at once")
	assert.Equal(t, SendStats{Deliveries: 2, Invocations: 4, Redeliveries: 2}, stats)
	// B, A (whose other records were taken when one was handed back), and
	// A's record handed back, which comes again on its own: other content,
	// so another workflow.
	assert.Len(t, ids, 3, "%v", ids)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, toA, 3)
	receives := func(b events.SQSEvent) []string {
		var out []string
		for _, r := range b.Records {
			out = append(out, r.Attributes["ApproximateReceiveCount"])
		}
		return out
	}
	assert.Len(t, toA[1].Records, len(first.Records), "a failed invocation comes again whole")
	assert.Equal(t, "2", receives(toA[1])[0])
	assert.Equal(t, []string{"3"}, receives(toA[2]), "only the record handed back comes again")
}
