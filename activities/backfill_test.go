package activities

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

type fakeQuerier struct {
	page *genesys.QueryPage
	err  error
	got  genesys.DetailsQuery
}

func (f *fakeQuerier) QueryConversationDetails(_ context.Context, q genesys.DetailsQuery) (*genesys.QueryPage, error) {
	f.got = q
	return f.page, f.err
}

type fakeStatuses map[string]store.StoredStatus

func (f fakeStatuses) Statuses(context.Context, []string) (map[string]store.StoredStatus, error) {
	return f, nil
}

type fakeReports struct{ got []store.BackfillRecord }

func (f *fakeReports) PutBackfill(_ context.Context, r store.BackfillRecord) error {
	f.got = append(f.got, r)
	return nil
}

func backfillEnv(b *Backfiller) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(b)
	return env
}

func TestQueryConversationDetailsReturnsIDsAndStarts(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 0, 1, 0, time.UTC)
	q := &fakeQuerier{page: &genesys.QueryPage{TotalHits: 7, Conversations: []genesys.QueriedConversation{{ID: "a", Start: start}}}}
	env := backfillEnv(&Backfiller{Genesys: q})
	v, err := env.ExecuteActivity("QueryConversationDetails", workflows.DetailsQueryRequest{From: start, Days: 3, PageSize: 100, PageNumber: 2, Desc: true})
	require.NoError(t, err)
	var page workflows.DetailsQueryPage
	require.NoError(t, v.Get(&page))
	assert.Equal(t, workflows.DetailsQueryPage{TotalHits: 7, Conversations: []workflows.QueriedConversation{{ID: "a", Start: start.UnixMilli()}}}, page)
	assert.Equal(t, genesys.DetailsQuery{From: start, Days: 3, PageSize: 100, PageNumber: 2, Desc: true}, q.got)
}

func TestQueryConversationDetailsClassifiesErrorsAsFetchesDo(t *testing.T) {
	for name, tc := range map[string]struct {
		err     error
		errType string
	}{
		"rate limited": {&genesys.APIError{Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second}, workflows.ErrTypeRateLimited},
		"refused":      {&genesys.APIError{Status: http.StatusBadRequest, Message: "Pagination may not exceed 100000 results"}, workflows.ErrTypeBadRequest},
		"forbidden":    {&genesys.APIError{Status: http.StatusForbidden}, workflows.ErrTypeUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			env := backfillEnv(&Backfiller{Genesys: &fakeQuerier{err: tc.err}})
			_, err := env.ExecuteActivity("QueryConversationDetails", workflows.DetailsQueryRequest{Days: 1, PageSize: 100, PageNumber: 1})
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "%v", err)
			assert.Equal(t, tc.errType, appErr.Type())
		})
	}
}

func TestClassifyStoredConversations(t *testing.T) {
	env := backfillEnv(&Backfiller{Table: fakeStatuses{
		"c": {Status: store.StatusComplete}, "i": {Status: store.StatusIncomplete}, "f": {Status: store.StatusFailed},
	}})
	v, err := env.ExecuteActivity("ClassifyStoredConversations", workflows.ClassifyRequest{IDs: []string{"c", "i", "f", "missing"}})
	require.NoError(t, err)
	var res workflows.ClassifyResult
	require.NoError(t, v.Get(&res))
	assert.Equal(t, workflows.ClassifyResult{Complete: []string{"c"}, Incomplete: []string{"i"}, Failed: []string{"f"}}, res)
}

func TestRecordBackfillWritesTheReport(t *testing.T) {
	reports := &fakeReports{}
	env := backfillEnv(&Backfiller{Reports: reports})
	report := workflows.BackfillReport{Fix: true, Totals: workflows.DayReport{Found: 3, Missing: 1},
		FinishedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	_, err := env.ExecuteActivity("RecordBackfill", workflows.BackfillRecordRequest{WorkflowID: "backfill-1", Report: report})
	require.NoError(t, err)
	require.Len(t, reports.got, 1)
	got := reports.got[0]
	assert.Equal(t, "backfill-1", got.BatchID)
	assert.Equal(t, store.KindBackfill, got.Kind)
	assert.Equal(t, "2026-12-01T10:00:00.000Z", got.FinishedAt)
	var back workflows.BackfillReport
	require.NoError(t, json.Unmarshal([]byte(got.Report), &back))
	assert.Equal(t, report.Totals, back.Totals)
}
