package genesys

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueryConversationDetails_AsksForWholeDaysOfEndedConversations(t *testing.T) {
	var body map[string]any
	var method, path, contentType string
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		method, path, contentType = r.Method, r.URL.Path, r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &body))
		writeJSON(w, http.StatusOK, `{"totalHits":250,"conversations":[`+
			`{"conversationId":"`+fixtureID+`","conversationStart":"2026-11-20T09:00:01.250Z","participants":[]},`+
			`{"conversationId":"`+otherID+`","conversationStart":"2026-11-20T09:00:02Z"}]}`)
	})
	// Mid-day from: the interval still starts at midnight, as Genesys
	// would select whole days anyway.
	page, err := f.client(t).QueryConversationDetails(context.Background(),
		DetailsQuery{From: time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC), Days: 2, PageSize: 100, PageNumber: 3, Desc: true})
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, method)
	assert.Equal(t, "/api/v2/analytics/conversations/details/query", path)
	assert.Equal(t, "application/json", contentType)
	assert.Equal(t, "2026-11-20T00:00:00Z/2026-11-22T00:00:00Z", body["interval"])
	assert.Equal(t, "desc", body["order"])
	assert.Equal(t, "conversationStart", body["orderBy"])
	assert.Equal(t, map[string]any{"pageSize": 100.0, "pageNumber": 3.0}, body["paging"])
	assert.Equal(t, []any{map[string]any{"type": "and", "predicates": []any{map[string]any{
		"type": "dimension", "dimension": "conversationEnd", "operator": "exists"}}}}, body["conversationFilters"])

	assert.Equal(t, 250, page.TotalHits)
	require.Len(t, page.Conversations, 2)
	assert.Equal(t, QueriedConversation{ID: fixtureID, Start: time.Date(2026, 11, 20, 9, 0, 1, 250e6, time.UTC)}, page.Conversations[0])
}

func TestQueryConversationDetails_EmptyPageHasNoConversationsKey(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, `{"totalHits":0}`))
	page, err := f.client(t).QueryConversationDetails(context.Background(), DetailsQuery{From: time.Now(), Days: 1, PageSize: 100, PageNumber: 1})
	require.NoError(t, err)
	assert.Zero(t, page.TotalHits)
	assert.Empty(t, page.Conversations)
}

func TestQueryConversationDetails_Errors(t *testing.T) {
	for name, tc := range map[string]struct {
		status  int
		body    string
		query   DetailsQuery
		problem string
	}{
		"paging limit": {status: 400, body: genesysError(400, "bad.request", "Pagination may not exceed 100000 results"),
			problem: "Pagination may not exceed"},
		"no totalHits":       {status: 200, body: `{"conversations":[]}`, problem: "no totalHits"},
		"conversation no id": {status: 200, body: `{"totalHits":1,"conversations":[{"conversationStart":"2026-11-20T09:00:00Z"}]}`, problem: "no conversationId"},
		"not json":           {status: 200, body: `<html>`, problem: "POST /api/v2/analytics/conversations/details/query"},
		"too many days":      {query: DetailsQuery{Days: 32, PageSize: 100, PageNumber: 1}, problem: "32 days"},
		"page size":          {query: DetailsQuery{Days: 1, PageSize: 101, PageNumber: 1}, problem: "page size 101"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, nil, respond(tc.status, tc.body))
			q := tc.query
			if q.Days == 0 {
				q = DetailsQuery{From: time.Now(), Days: 1, PageSize: 100, PageNumber: 1}
			}
			_, err := f.client(t).QueryConversationDetails(context.Background(), q)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.problem)
			assert.NotContains(t, err.Error(), testClientSecret)
		})
	}
}

func TestFetchConversationsByQuery_AsksForTheIDsInOnePageAndReturnsTheirRawRecords(t *testing.T) {
	var body map[string]any
	record := `{"conversationId":"` + fixtureID + `","participants":[{"purpose":"customer","attributes":{"intent":"billing"}}]}`
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api/v2/analytics/conversations/details/query", r.URL.Path)
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &body))
		writeJSON(w, http.StatusOK, `{"conversations":[`+record+`,{"conversationId":"not-asked-for"}],"totalHits":2}`)
	})
	from := time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
	fetched, err := f.client(t).FetchConversationsByQuery(context.Background(), []string{fixtureID, otherID}, from, from.AddDate(0, 0, 31))
	require.NoError(t, err)

	assert.Equal(t, "2026-10-31T00:00:00Z/2026-12-01T00:00:00Z", body["interval"])
	assert.Equal(t, map[string]any{"pageSize": 100.0, "pageNumber": 1.0}, body["paging"])
	assert.Equal(t, []any{map[string]any{"type": "or", "predicates": []any{
		map[string]any{"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": fixtureID},
		map[string]any{"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": otherID},
	}}}, body["conversationFilters"])
	assert.Equal(t, map[string]json.RawMessage{fixtureID: json.RawMessage(record)}, fetched.Conversations,
		"exactly the bytes Genesys sent; an id it did not match is absent")
	assert.Equal(t, 1, fetched.Unattributed)
	assert.Equal(t, int64(1), f.apiRequests.Load())
}

func TestFetchConversationsByQuery_NoMatchIsAnEmptyResult(t *testing.T) {
	f := newFake(t, nil, respond(http.StatusOK, `{"totalHits":0}`))
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	fetched, err := f.client(t).FetchConversationsByQuery(context.Background(), []string{fixtureID}, from, from.Add(24*time.Hour))
	require.NoError(t, err)
	assert.Empty(t, fetched.Conversations)
}

func TestFetchConversationsByQuery_Errors(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = fixtureID
	}
	for name, tc := range map[string]struct {
		status   int
		body     string
		ids      []string
		to       time.Time
		problem  string
		requests int64
	}{
		"refused":     {status: 400, body: genesysError(400, "bad.request", "Invalid interval"), problem: "Invalid interval", requests: 1},
		"not json":    {status: 200, body: `<html>`, problem: "POST /api/v2/analytics/conversations/details/query", requests: 1},
		"no ids":      {ids: []string{}, problem: "0 conversation ids"},
		"101 ids":     {ids: tooMany, problem: "101 conversation ids"},
		"empty id":    {ids: []string{fixtureID, " "}, problem: "conversation id 1 is empty"},
		"32 days":     {to: from.AddDate(0, 0, 32), problem: "at most 31 days"},
		"no interval": {to: from, problem: "must end after it starts"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, nil, respond(tc.status, tc.body))
			ids, to := tc.ids, tc.to
			if ids == nil {
				ids = []string{fixtureID}
			}
			if to.IsZero() {
				to = from.Add(24 * time.Hour)
			}
			_, err := f.client(t).FetchConversationsByQuery(context.Background(), ids, from, to)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.problem)
			assert.NotContains(t, err.Error(), testClientSecret)
			assert.Equal(t, tc.requests, f.apiRequests.Load())
		})
	}
}
