package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

const (
	multiGet = "GET /api/v2/analytics/conversations/details"
	token    = "POST /oauth/token"
)

// emfTest is a registry whose EMF documents the test flushes by hand.
type emfTest struct {
	*Registry
	out   bytes.Buffer
	start time.Time
}

func newEMFTest(t *testing.T) *emfTest {
	t.Helper()
	e := &emfTest{start: time.Now()}
	r, err := New(Config{EMF: true, Interval: time.Hour, Namespace: "GenesysIngest", Output: &e.out}, zap.NewNop())
	require.NoError(t, err)
	e.Registry = r
	t.Cleanup(func() { _ = r.Shutdown(t.Context()) })
	return e
}

// flush writes the documents of the interval so far and returns them, keyed
// by their dimension values ("" for none, "Outcome=failed", ...), each
// with its Timestamp checked and removed.
func (e *emfTest) flush(t *testing.T) map[string]string {
	t.Helper()
	e.out.Reset()
	require.NoError(t, e.provider.ForceFlush(t.Context()))
	docs := map[string]string{}
	scanner := bufio.NewScanner(&e.out)
	for scanner.Scan() {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &doc), "one JSON document per line")
		meta := doc["_aws"].(map[string]any)
		stamp := time.UnixMilli(int64(meta["Timestamp"].(float64)))
		assert.WithinRange(t, stamp, e.start.Add(-time.Millisecond), time.Now())
		delete(meta, "Timestamp")
		var key []string
		for _, dim := range meta["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"].([]any)[0].([]any) {
			key = append(key, dim.(string)+"="+doc[dim.(string)].(string))
		}
		normalized, err := json.Marshal(doc)
		require.NoError(t, err)
		docs[strings.Join(key, ",")] = string(normalized)
	}
	return docs
}

func TestEMFDocumentsCarryTheContractWithItsDimensionsAndUnits(t *testing.T) {
	e := newEMFTest(t)
	h := e.Handler()
	// As an activity records them: the Temporal SDK adds its own tags,
	// which CloudWatch does not get and which are summed over.
	fetch := h.WithTags(map[string]string{"activity_type": "FetchAndStoreConversations", "task_queue": "genesys-fetch"})
	fetch.WithTags(map[string]string{"status": "complete"}).Counter("genesys_ingest_conversations_stored").Inc(5)
	fetch.WithTags(map[string]string{"status": "incomplete"}).Counter("genesys_ingest_conversations_stored").Inc(1)
	fetch.Counter("genesys_ingest_conversations_unchanged").Inc(2)
	fetch.Counter("genesys_ingest_conversations_not_ready").Inc(4)
	fetch.Counter("genesys_ingest_conversations_failed").Inc(1)
	fetch.WithTags(map[string]string{"reason": "RateLimited"}).Counter("genesys_ingest_blocked").Inc(2)
	h.WithTags(map[string]string{"activity_type": "Other", "reason": "RateLimited"}).Counter("genesys_ingest_blocked").Inc(1)
	h.Counter("genesys_ingest_conversations_recorded_failed").Inc(3)
	h.Counter("genesys_ingest_scheduler_stuck").Inc(1)
	// Three conversations stored 2.2 s after their event, one 0.4 s after.
	for _, d := range []time.Duration{2200 * time.Millisecond, 2200 * time.Millisecond, 2200 * time.Millisecond, 400 * time.Millisecond} {
		fetch.Timer("genesys_ingest_freshness").Record(d)
	}
	// Not the project's: stays on /metrics.
	h.Counter("temporal_request").Inc(7)

	g, err := e.Genesys(4.5)
	require.NoError(t, err)
	g.Observe(token, 200, 40*time.Millisecond)
	g.Observe(multiGet, 200, 300*time.Millisecond)
	g.Observe(multiGet, 200, 300*time.Millisecond)
	g.Observe(multiGet, 429, 20*time.Millisecond)
	g.Observe(multiGet, 0, 30*time.Second)
	g.RetryAfter(42 * time.Second)
	g.TokenRenewed()

	docs := e.flush(t)
	assert.JSONEq(t, `{
		"_aws": {"CloudWatchMetrics": [{"Namespace": "GenesysIngest", "Dimensions": [["Reason"], []],
			"Metrics": [{"Name": "IngestionBlocked", "Unit": "Count"}]}]},
		"Reason": "RateLimited", "IngestionBlocked": 3}`, docs["Reason=RateLimited"],
		"IngestionBlocked by Reason and, for the alarm, without dimensions")
	for outcome, n := range map[string]int{"complete": 5, "incomplete": 1, "unchanged": 2, "not_ready": 4, "failed": 1} {
		assert.JSONEq(t, `{
			"_aws": {"CloudWatchMetrics": [{"Namespace": "GenesysIngest", "Dimensions": [["Outcome"]],
				"Metrics": [{"Name": "ConversationsProcessed", "Unit": "Count"}]}]},
			"Outcome": "`+outcome+`", "ConversationsProcessed": `+jsonNumber(n)+`}`, docs["Outcome="+outcome], outcome)
	}
	assert.JSONEq(t, `{
		"_aws": {"CloudWatchMetrics": [{"Namespace": "GenesysIngest", "Dimensions": [["Endpoint", "StatusClass"]],
			"Metrics": [{"Name": "GenesysRequests", "Unit": "Count"}]}]},
		"Endpoint": "GET /api/v2/analytics/conversations/details", "StatusClass": "2xx", "GenesysRequests": 2}`,
		docs["Endpoint="+multiGet+",StatusClass=2xx"])
	for _, key := range []string{"Endpoint=" + multiGet + ",StatusClass=429", "Endpoint=" + multiGet + ",StatusClass=none", "Endpoint=" + token + ",StatusClass=2xx"} {
		assert.Contains(t, docs[key], `"GenesysRequests":1`, key)
	}
	// Response times in milliseconds, the request without a response left
	// out: buckets (10, 25] and (250, 500], narrowed to the minimum 20 and
	// the maximum 300.
	assert.JSONEq(t, `{
		"_aws": {"CloudWatchMetrics": [{"Namespace": "GenesysIngest", "Dimensions": [["Endpoint"]],
			"Metrics": [{"Name": "GenesysResponseTime", "Unit": "Milliseconds"}]}]},
		"Endpoint": "GET /api/v2/analytics/conversations/details",
		"GenesysResponseTime": {"Values": [22.5, 275], "Counts": [1, 2], "Min": 20, "Max": 300, "Count": 3, "Sum": 620}}`,
		docs["Endpoint="+multiGet])

	var flat map[string]any
	require.NoError(t, json.Unmarshal([]byte(docs[""]), &flat))
	assert.Equal(t, []any{map[string]any{"Namespace": "GenesysIngest", "Dimensions": []any{[]any{}},
		"Metrics": []any{
			map[string]any{"Name": "ConversationsRecordedFailed", "Unit": "Count"},
			map[string]any{"Name": "FetchSchedulerStalled", "Unit": "Count"},
			map[string]any{"Name": "Freshness", "Unit": "Milliseconds"},
			map[string]any{"Name": "GenesysBudgetUse", "Unit": "Percent"},
			map[string]any{"Name": "GenesysRateLimited", "Unit": "Count"},
			map[string]any{"Name": "GenesysRetryAfter", "Unit": "Seconds"},
			map[string]any{"Name": "GenesysTokenRenewals", "Unit": "Count"},
		}}}, flat["_aws"].(map[string]any)["CloudWatchMetrics"], "metrics without dimensions share the [[]] dimension set")
	assert.EqualValues(t, 3, flat["ConversationsRecordedFailed"])
	assert.EqualValues(t, 1, flat["FetchSchedulerStalled"])
	assert.EqualValues(t, 1, flat["GenesysRateLimited"])
	assert.EqualValues(t, 1, flat["GenesysTokenRenewals"])
	assert.Equal(t, map[string]any{"Values": []any{42.0}, "Counts": []any{1.0}, "Min": 42.0, "Max": 42.0, "Count": 1.0, "Sum": 42.0},
		flat["GenesysRetryAfter"], "one value in a bucket is exact")
	// Buckets (2, 2.5] and (0.3, 0.5], narrowed to the minimum 0.4 and the
	// maximum 2.2: CloudWatch's p99 is 2100 ms, its p10 450 ms.
	freshness := flat["Freshness"].(map[string]any)
	assert.InDeltaSlice(t, []any{450.0, 2100.0}, freshness["Values"], 1e-9)
	assert.Equal(t, []any{1.0, 3.0}, freshness["Counts"])
	assert.InDelta(t, 400.0, freshness["Min"], 1e-9)
	assert.InDelta(t, 2200.0, freshness["Max"], 1e-9)
	assert.InDelta(t, 7000.0, freshness["Sum"], 1e-9)
	assert.Positive(t, flat["GenesysBudgetUse"])
	assert.Len(t, flat, 8, "the _aws member and the seven metrics, nothing else")

	for _, doc := range docs {
		assert.NotContains(t, doc, "temporal_request")
		assert.NotContains(t, doc, "activity_type")
	}
	assert.Len(t, docs, 13, "one document per set of dimension values")
}

// TestEMFTotalsDeclareTheEmptyDimensionSet: a metric with a total gets a
// directive with its dimensions and []; the document's other metrics keep
// their own, and without dimensions there is nothing to add.
func TestEMFTotalsDeclareTheEmptyDimensionSet(t *testing.T) {
	e := newEMFExporter("Test", nil, zap.NewNop())
	at := time.UnixMilli(1700000000000)
	doc := e.encode(&emfDocument{dimensions: map[string]string{"Reason": "StoreUnavailable"}, time: at, metrics: map[string]*emfValue{
		"IngestionBlocked": {unit: unitCount, total: true, sum: 2},
		"Other":            {unit: unitCount, sum: 1},
	}})
	line, err := json.Marshal(doc)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"_aws": {"Timestamp": 1700000000000, "CloudWatchMetrics": [
			{"Namespace": "Test", "Dimensions": [["Reason"]], "Metrics": [{"Name": "Other", "Unit": "Count"}]},
			{"Namespace": "Test", "Dimensions": [["Reason"], []], "Metrics": [{"Name": "IngestionBlocked", "Unit": "Count"}]}]},
		"Reason": "StoreUnavailable", "IngestionBlocked": 2, "Other": 1}`, string(line))

	doc = e.encode(&emfDocument{dimensions: map[string]string{}, time: at, metrics: map[string]*emfValue{
		"IngestionBlocked": {unit: unitCount, total: true, sum: 2},
	}})
	line, err = json.Marshal(doc)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"_aws": {"Timestamp": 1700000000000, "CloudWatchMetrics": [
			{"Namespace": "Test", "Dimensions": [[]], "Metrics": [{"Name": "IngestionBlocked", "Unit": "Count"}]}]},
		"IngestionBlocked": 2}`, string(line))
}

func TestEMFDocumentsHoldOnlyTheIntervalsChanges(t *testing.T) {
	e := newEMFTest(t)
	blocked := e.Handler().WithTags(map[string]string{"reason": "StoreUnavailable"}).Counter("genesys_ingest_blocked")
	blocked.Inc(4)
	e.Handler().Timer("genesys_ingest_freshness").Record(time.Second)
	e.Handler().WithTags(map[string]string{"reason": "GenesysUnavailable"}).Counter("genesys_ingest_blocked").Inc(2)
	docs := e.flush(t)
	assert.Contains(t, docs["Reason=StoreUnavailable"], `"IngestionBlocked":4`)
	for _, reason := range []string{"StoreUnavailable", "GenesysUnavailable"} {
		assert.Contains(t, docs["Reason="+reason], `"Dimensions":[["Reason"],[]]`, "every reason's document adds to the total")
	}

	blocked.Inc(1)
	docs = e.flush(t)
	assert.Contains(t, docs["Reason=StoreUnavailable"], `"IngestionBlocked":1`, "delta, not the running total")
	assert.NotContains(t, docs[""], "Freshness", "no values this interval, no distribution")

	docs = e.flush(t)
	assert.NotContains(t, docs, "Reason=StoreUnavailable", "nothing counted, nothing written")
}

func TestShutdownWritesTheLastInterval(t *testing.T) {
	var out bytes.Buffer
	r, err := New(Config{EMF: true, Interval: time.Hour, Namespace: "Test", Output: &out}, zap.NewNop())
	require.NoError(t, err)
	r.Handler().Counter("genesys_ingest_scheduler_stuck").Inc(1)
	require.NoError(t, r.Shutdown(t.Context()))
	assert.Contains(t, out.String(), `"FetchSchedulerStalled":1`)
	assert.Contains(t, out.String(), `"Namespace":"Test"`)
	assert.Equal(t, 1, strings.Count(out.String(), "\n"))
}

func TestWithoutEMFNothingIsWritten(t *testing.T) {
	var out bytes.Buffer
	r, err := New(Config{Interval: time.Hour, Namespace: "Test", Output: &out}, zap.NewNop())
	require.NoError(t, err)
	r.Handler().Counter("genesys_ingest_scheduler_stuck").Inc(1)
	require.NoError(t, r.Shutdown(t.Context()))
	assert.Empty(t, out.String())
}

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
