package activities

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"

	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/telemetry/metrics"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// cloudWatch runs activities with the worker's metrics and reads back the
// CloudWatch metrics they produced: what the deployment's alarms see, and
// proof that the names the activities record by are the contract's.
type cloudWatch struct {
	registry *metrics.Registry
	out      bytes.Buffer
}

func newCloudWatch(t *testing.T) *cloudWatch {
	t.Helper()
	c := &cloudWatch{}
	r, err := metrics.New(metrics.Config{EMF: true, Interval: time.Hour, Namespace: "GenesysIngest", Output: &c.out}, zap.NewNop())
	require.NoError(t, err)
	c.registry = r
	return c
}

func (c *cloudWatch) env() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetMetricsHandler(c.registry.Handler())
	return s.NewTestActivityEnvironment()
}

// values flushes the metrics and returns each value by metric name and
// dimensions: "Freshness", "ConversationsProcessed Outcome=complete".
func (c *cloudWatch) values(t *testing.T) map[string]any {
	t.Helper()
	require.NoError(t, c.registry.Shutdown(t.Context()))
	out := map[string]any{}
	scanner := bufio.NewScanner(&c.out)
	for scanner.Scan() {
		var doc struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
		}
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &doc))
		var fields map[string]any
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &fields))
		directive := doc.AWS.CloudWatchMetrics[0]
		suffix := ""
		for _, dim := range directive.Dimensions[0] {
			suffix += " " + dim + "=" + fields[dim].(string)
		}
		for _, m := range directive.Metrics {
			out[m.Name+suffix] = fields[m.Name]
		}
	}
	return out
}

func TestFetchReportsOutcomesAndFreshnessToCloudWatch(t *testing.T) {
	cw := newCloudWatch(t)
	storedAt := time.Date(2026, 11, 27, 11, 5, 0, 0, time.UTC)
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	f := &Fetcher{Genesys: gc, Store: &fakeStore{}, Now: func() time.Time { return storedAt }}
	env := cw.env()
	env.RegisterActivity(f.FetchAndStoreConversations)
	_, err := env.ExecuteActivity(f.FetchAndStoreConversations, workflows.FetchRequest{Conversations: []workflows.ConversationRef{
		{ID: completeID, OrgID: org, EventTime: storedAt.Add(-2500 * time.Millisecond).UnixMilli()},
		{ID: absentID, OrgID: org, EventTime: storedAt.Add(-time.Second).UnixMilli()},
	}})
	require.NoError(t, err)

	got := cw.values(t)
	assert.EqualValues(t, 1, got["ConversationsProcessed Outcome=complete"])
	assert.EqualValues(t, 1, got["ConversationsProcessed Outcome=not_ready"])
	assert.Equal(t, map[string]any{"Values": []any{2500.0}, "Counts": []any{1.0}, "Min": 2500.0, "Max": 2500.0, "Count": 1.0, "Sum": 2500.0},
		got["Freshness"], "only the conversation stored complete, from its event's time")
}

func TestFreshnessSkipsWhatWasNotStoredCompleteOrHasNoEventTime(t *testing.T) {
	cw := newCloudWatch(t)
	storedAt := time.Date(2026, 11, 27, 11, 5, 0, 0, time.UTC)
	raw := fixtures.Read(t, "analytics/conversation-complete.json")
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: raw}}
	// Already stored: unchanged.
	f := &Fetcher{Genesys: gc, Store: &fakeStore{existing: map[string]bool{completeID: true}}, Now: func() time.Time { return storedAt }}
	env := cw.env()
	env.RegisterActivity(f.FetchAndStoreConversations)
	_, err := env.ExecuteActivity(f.FetchAndStoreConversations, workflows.FetchRequest{Conversations: []workflows.ConversationRef{
		{ID: completeID, OrgID: org, EventTime: storedAt.Add(-time.Second).UnixMilli()}}})
	require.NoError(t, err)
	// Stored, but no event time known.
	f = &Fetcher{Genesys: gc, Store: &fakeStore{}, Now: func() time.Time { return storedAt }}
	env = cw.env()
	env.RegisterActivity(f.FetchAndStoreConversations)
	_, err = env.ExecuteActivity(f.FetchAndStoreConversations, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)

	got := cw.values(t)
	assert.EqualValues(t, 1, got["ConversationsProcessed Outcome=unchanged"])
	assert.EqualValues(t, 1, got["ConversationsProcessed Outcome=complete"])
	assert.NotContains(t, got, "Freshness")
}

func TestBlockedFetchIsIngestionBlockedInCloudWatch(t *testing.T) {
	cw := newCloudWatch(t)
	f := &Fetcher{Genesys: &fakeGenesys{err: &genesys.APIError{Status: 429, Code: "too.many.requests", RetryAfter: time.Second}}, Store: &fakeStore{}}
	env := cw.env()
	env.RegisterActivity(f.FetchAndStoreConversations)
	_, err := env.ExecuteActivity(f.FetchAndStoreConversations, workflows.FetchRequest{Conversations: refs(completeID, absentID)})
	require.Error(t, err)
	assert.EqualValues(t, 1, cw.values(t)["IngestionBlocked Reason="+workflows.ErrTypeRateLimited])
}

type fakeFailures struct{ outcomes []store.FailureOutcome }

func (f fakeFailures) RecordFailures(context.Context, []store.Failure) ([]store.FailureOutcome, error) {
	return f.outcomes, nil
}

func TestRecordedFailuresAndAStuckSchedulerReachCloudWatch(t *testing.T) {
	cw := newCloudWatch(t)
	r := &Recorder{Conversations: fakeFailures{outcomes: []store.FailureOutcome{store.FailureRecorded, store.FailureKept, store.FailureRecorded}}}
	env := cw.env()
	env.RegisterActivity(r.RecordFailedConversations)
	_, err := env.ExecuteActivity(r.RecordFailedConversations, workflows.RecordFailuresRequest{Failures: make([]workflows.ConversationFailure, 3)})
	require.NoError(t, err)

	w := &SchedulerWatch{Temporal: &fakeTemporal{desc: running(0, 0), progress: workflows.SchedulerProgress{Queued: 12}}}
	env = cw.env()
	env.RegisterActivity(w.CheckFetchScheduler)
	_, err = env.ExecuteActivity(w.CheckFetchScheduler, workflows.SchedulerCheckRequest{SchedulerID: "s", BatchID: "b"})
	require.NoError(t, err)

	got := cw.values(t)
	assert.EqualValues(t, 2, got["ConversationsRecordedFailed"])
	assert.EqualValues(t, 1, got["FetchSchedulerStalled"])
}
