package activities

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

const (
	completeID = "5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e10"
	absentID   = "a3b9e2f1-6c4d-4e8a-b7f0-1c2d3e4f5a60"
	org        = "7c1f2a0e-5b0d-4d6e-9a55-3f3f2e9c1a01"
)

type fakeGenesys struct {
	conversations map[string][]byte
	err           error
	asked         [][]string
	// intervals are the [from, to) of each FetchConversationsByQuery.
	intervals [][2]time.Time
}

func (f *fakeGenesys) FetchConversationsByQuery(ctx context.Context, ids []string, from, to time.Time) (*genesys.Fetched, error) {
	f.intervals = append(f.intervals, [2]time.Time{from, to})
	return f.FetchConversations(ctx, ids)
}

func (f *fakeGenesys) FetchConversations(_ context.Context, ids []string) (*genesys.Fetched, error) {
	f.asked = append(f.asked, ids)
	if f.err != nil {
		return nil, f.err
	}
	out := &genesys.Fetched{Conversations: map[string]json.RawMessage{}}
	for _, id := range ids {
		if raw, ok := f.conversations[id]; ok {
			out.Conversations[id] = raw
		}
	}
	return out, nil
}

type fakeStore struct {
	written  []store.Record
	existing map[string]bool
	err      error
	// failUpserts: the first n UpsertAll calls fail as an unavailable table.
	failUpserts, upserts int
	// reject ids as DynamoDB rejects an item over 400 KB.
	reject map[string]bool
}

func (f *fakeStore) UpsertAll(_ context.Context, recs []store.Record) ([]store.Outcome, error) {
	f.upserts++
	if f.err != nil || f.upserts <= f.failUpserts {
		return nil, cmp.Or(f.err, errors.New("RequestError: send request failed: connection refused"))
	}
	rejected := &store.RejectedError{Reasons: map[string]string{}}
	outcomes := make([]store.Outcome, len(recs))
	for i, r := range recs {
		if f.reject[r.ConversationID] {
			outcomes[i] = store.Rejected
			rejected.Reasons[r.ConversationID] = "ValidationException: Item size has exceeded the maximum allowed size"
			continue
		}
		if f.existing[r.ConversationID] {
			outcomes[i] = store.Unchanged
			continue
		}
		f.written = append(f.written, r)
		outcomes[i] = store.Written
	}
	if len(rejected.Reasons) > 0 {
		return outcomes, rejected
	}
	return outcomes, nil
}

func (f *fakeStore) CompleteIDs(_ context.Context, ids []string) (map[string]bool, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]bool{}
	for _, id := range ids {
		if f.existing[id] {
			out[id] = true
		}
	}
	return out, nil
}

func TestFindStoredConversationsNamesOnlyCompleteOnes(t *testing.T) {
	f := &Fetcher{Store: &fakeStore{existing: map[string]bool{completeID: true}}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.FindStoredConversations)
	val, err := env.ExecuteActivity(f.FindStoredConversations, workflows.StoredRequest{IDs: []string{absentID, completeID}})
	require.NoError(t, err)
	var res workflows.StoredResult
	require.NoError(t, val.Get(&res))
	assert.Equal(t, []string{completeID}, res.Complete)
}

func execute(t *testing.T, f *Fetcher, req workflows.FetchRequest) (workflows.FetchResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.FetchAndStoreConversations)
	val, err := env.ExecuteActivity(f.FetchAndStoreConversations, req)
	if err != nil {
		return workflows.FetchResult{}, err
	}
	var res workflows.FetchResult
	require.NoError(t, val.Get(&res))
	return res, nil
}

func refs(ids ...string) []workflows.ConversationRef {
	out := make([]workflows.ConversationRef, len(ids))
	for i, id := range ids {
		out[i] = workflows.ConversationRef{ID: id, OrgID: org}
	}
	return out
}

func TestStoresCompleteConversationsAndReportsTheRestAsNotReady(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	st := &fakeStore{}
	fetchedAt := time.Date(2026, 11, 27, 11, 5, 0, 0, time.UTC)
	// The scheduler names the common org once per request.
	res, err := execute(t, &Fetcher{Genesys: gc, Store: st, Now: func() time.Time { return fetchedAt }},
		workflows.FetchRequest{OrgID: org, Conversations: []workflows.ConversationRef{{ID: completeID}, {ID: absentID}}})
	require.NoError(t, err)
	assert.Equal(t, workflows.FetchResult{StoredComplete: 1, NotReady: []string{absentID}, Requests: 1}, res)
	assert.Equal(t, [][]string{{completeID, absentID}}, gc.asked, "one request for the whole chunk")
	require.Len(t, st.written, 1)
	assert.Equal(t, org, st.written[0].OrgID)
	assert.Equal(t, "2026-11-27T11:05:00.000Z", st.written[0].FetchedAt)
}

func TestStoredRecordCarriesTheTriggeringEventWhenTheRequestHasIt(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	st := &fakeStore{}
	eventTime := time.Date(2026, 11, 27, 11, 0, 0, 123_000_000, time.UTC)
	_, err := execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: []workflows.ConversationRef{
		{ID: completeID, Topic: "customer.end", EventTime: eventTime.UnixMilli()}}})
	require.NoError(t, err)
	require.Len(t, st.written, 1)
	assert.Equal(t, "2026-11-27T11:00:00.123Z", st.written[0].FirstEventAt)
	assert.Equal(t, "customer.end", st.written[0].LastEventTopic)

	st = &fakeStore{}
	_, err = execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	require.Len(t, st.written, 1)
	assert.Empty(t, st.written[0].FirstEventAt, "unknown, not the epoch")
	assert.Empty(t, st.written[0].LastEventTopic)
}

func TestAnACWEventWaitsForTheWrapUpGenesysHasNotIndexedYet(t *testing.T) {
	late := bytes.Replace(fixtures.Read(t, "analytics/conversation-complete.json"),
		[]byte(`"wrapUpCode": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",`), nil, 1)
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: late}}
	acw := []workflows.ConversationRef{{ID: completeID, Topic: "acw"}}

	st := &fakeStore{}
	res, err := execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: acw})
	require.NoError(t, err)
	assert.Equal(t, []string{completeID}, res.NotReady, "polled again until the wrap-up is indexed")
	assert.Empty(t, st.written)

	res, err = execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: acw, StoreIncomplete: true})
	require.NoError(t, err)
	assert.Equal(t, 1, res.StoredComplete, "past the deadline it is stored as Genesys has it")

	st = &fakeStore{}
	res, err = execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: []workflows.ConversationRef{
		{ID: completeID, Topic: "customer.end"}}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.StoredComplete, "customer.end says nothing about wrap-ups")
	require.Len(t, st.written, 1)
	assert.Equal(t, []string{"3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b"}, st.written[0].MissingWrapUps)
}

func TestIncompleteConversationWaitsUntilTheDeadline(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-not-ready.json")}}
	st := &fakeStore{}
	res, err := execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	assert.Equal(t, []string{completeID}, res.NotReady)
	assert.Empty(t, st.written)

	res, err = execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: refs(completeID), StoreIncomplete: true})
	require.NoError(t, err)
	assert.Equal(t, 1, res.StoredIncomplete)
	assert.Equal(t, []string{completeID}, res.IncompleteIDs, "named so the scheduler can tell its batch")
	require.Len(t, st.written, 1)
	assert.Equal(t, store.StatusIncomplete, st.written[0].Status)
}

func TestRepeatedWriteCountsAsUnchanged(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	res, err := execute(t, &Fetcher{Genesys: gc, Store: &fakeStore{existing: map[string]bool{completeID: true}}},
		workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Unchanged)
	assert.Equal(t, []string{completeID}, res.UnchangedIDs)
	assert.Zero(t, res.StoredComplete)
}

func TestUnmappableRecordFailsOnlyThatConversation(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{
		completeID: fixtures.Read(t, "analytics/conversation-complete.json"),
		absentID:   []byte(`{"conversationId":"` + absentID + `","conversationStart":"yesterday"}`),
	}}
	res, err := execute(t, &Fetcher{Genesys: gc, Store: &fakeStore{}}, workflows.FetchRequest{Conversations: refs(completeID, absentID)})
	require.NoError(t, err)
	assert.Equal(t, 1, res.StoredComplete)
	require.Len(t, res.Failed, 1)
	assert.Equal(t, absentID, res.Failed[0].ConversationID)
	assert.Contains(t, res.Failed[0].Reason, workflows.ErrTypeInvalidRecord)
}

func TestAnUnavailableTableIsWaitedOutWithoutFetchingAgain(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	st := &fakeStore{failUpserts: 2}
	res, err := execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	assert.Equal(t, 1, res.StoredComplete)
	assert.Len(t, gc.asked, 1, "the fetched records are kept while the table is down")
	assert.Equal(t, 3, st.upserts)
}

func TestATableDownForTheWholeAttemptFailsItRetryably(t *testing.T) {
	f := &Fetcher{Store: &fakeStore{err: errors.New("ProvisionedThroughputExceededException")}}
	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	defer cancel()
	var blocked []error
	_, err := f.upsertUntilStored(ctx, []store.Record{{ConversationID: completeID}}, func(err error) { blocked = append(blocked, err) })
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, workflows.ErrTypeStoreUnavailable, appErr.Type())
	assert.False(t, appErr.NonRetryable())
	assert.Contains(t, err.Error(), "ProvisionedThroughputExceededException")
	assert.NotEmpty(t, blocked, "each failed write is reported as ingestion blocked")
}

func TestAnItemDynamoDBRejectsFailsOnlyThatConversation(t *testing.T) {
	other := "0b7e6a52-3c1d-4f2e-9a8b-7c6d5e4f3a21"
	complete := fixtures.Read(t, "analytics/conversation-complete.json")
	gc := &fakeGenesys{conversations: map[string][]byte{
		completeID: complete,
		other:      bytes.ReplaceAll(complete, []byte(completeID), []byte(other)),
	}}
	st := &fakeStore{reject: map[string]bool{other: true}}
	res, err := execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: refs(completeID, other)})
	require.NoError(t, err)
	assert.Equal(t, 1, res.StoredComplete)
	require.Len(t, res.Failed, 1)
	assert.Equal(t, other, res.Failed[0].ConversationID)
	assert.Contains(t, res.Failed[0].Reason, "DynamoDB rejected the item")
}

func TestAnUnusableRecordInTheResponseFailsOnlyThatConversation(t *testing.T) {
	gc := &invalidGenesys{fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}}
	res, err := execute(t, &Fetcher{Genesys: gc, Store: &fakeStore{}}, workflows.FetchRequest{Conversations: refs(completeID, absentID)})
	require.NoError(t, err)
	assert.Equal(t, 1, res.StoredComplete)
	require.Len(t, res.Failed, 1)
	assert.Equal(t, absentID, res.Failed[0].ConversationID)
	assert.Contains(t, res.Failed[0].Reason, "unusable record")
}

// invalidGenesys answers absentID with an element Genesys's client could
// not use.
type invalidGenesys struct{ fakeGenesys }

func (f *invalidGenesys) FetchConversations(ctx context.Context, ids []string) (*genesys.Fetched, error) {
	out, err := f.fakeGenesys.FetchConversations(ctx, ids)
	if err == nil {
		out.Invalid = map[string]string{absentID: "not a JSON object"}
	}
	return out, err
}

func TestALoneRefusedConversationIsReportedFailedNotRetried(t *testing.T) {
	for _, status := range []int{400, 404, 422} {
		gc := &fakeGenesys{err: &genesys.APIError{Status: status, Code: "bad.request", Endpoint: "GET /api/v2/analytics/conversations/details"}}
		res, err := execute(t, &Fetcher{Genesys: gc, Store: &fakeStore{}}, workflows.FetchRequest{Conversations: refs(completeID)})
		require.NoError(t, err, "status %d", status)
		require.Len(t, res.Failed, 1)
		assert.Equal(t, completeID, res.Failed[0].ConversationID)
		assert.Contains(t, res.Failed[0].Reason, "Genesys refused the conversation")
	}
}

func TestClassify(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		name         string
		err          error
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"429 waits Retry-After", &genesys.APIError{Status: 429, Code: "too.many.requests.retry.after", RetryAfter: 42 * time.Second}, workflows.ErrTypeRateLimited, false, 42 * time.Second},
		{"504 request.timeout waits 10s", &genesys.APIError{Status: 504, Code: "request.timeout"}, workflows.ErrTypeUnavailable, false, 10 * time.Second},
		{"503 backs off", &genesys.APIError{Status: 503, Code: "service.unavailable"}, workflows.ErrTypeUnavailable, false, 0},
		{"400 is split by the workflow", &genesys.APIError{Status: 400, Code: "bad.request"}, workflows.ErrTypeBadRequest, true, 0},
		{"404 on a multi-get is split by the workflow", &genesys.APIError{Status: 404, Code: "not.found"}, workflows.ErrTypeBadRequest, true, 0},
		{"422 is split by the workflow", &genesys.APIError{Status: 422, Code: "invalid.value"}, workflows.ErrTypeBadRequest, true, 0},
		{"403 waits for the permission to return", &genesys.APIError{Status: 403, Code: "missing.permissions"}, workflows.ErrTypeUnauthorized, false, 0},
		{"401 after renewal waits for valid credentials", &genesys.APIError{Status: 401, Code: "bad.credentials"}, workflows.ErrTypeUnauthorized, false, 0},
		{"html error page retries", &genesys.APIError{Status: 502, Message: "<html>Bad Gateway</html>"}, workflows.ErrTypeUnavailable, false, 0},
		{"token throttling retries", &genesys.TokenError{Status: 400, Code: "invalid_request", Throttled: true, RetryAfter: 5 * time.Second}, workflows.ErrTypeUnavailable, false, 5 * time.Second},
		{"bad credentials wait for an operator", &genesys.TokenError{Status: 401, Code: "invalid_client"}, workflows.ErrTypeUnauthorized, false, 0},
		{"malformed body retries", fmt.Errorf("decode: %w", genesys.ErrMalformedResponse), workflows.ErrTypeMalformed, false, 0},
		{"too large splits", fmt.Errorf("read: %w", genesys.ErrResponseTooLarge), workflows.ErrTypeBadRequest, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, classify(tc.err), &appErr)
			assert.Equal(t, tc.wantType, appErr.Type())
			assert.Equal(t, tc.nonRetryable, appErr.NonRetryable())
			assert.Equal(t, tc.delay, appErr.NextRetryDelay())
		})
	}
	assert.Same(t, netErr, classify(netErr), "connection errors keep the retry policy's backoff")
}
