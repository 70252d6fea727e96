package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

func TestTheQuerySourceFetchesThroughTheDetailsQuery(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	st := &fakeStore{}
	event := time.Date(2026, 11, 27, 23, 59, 0, 0, time.UTC)
	res, err := execute(t, &Fetcher{Genesys: gc, Store: st, Source: SourceQuery}, workflows.FetchRequest{Conversations: []workflows.ConversationRef{
		{ID: completeID, Topic: "customer.end", EventTime: event.UnixMilli()}, {ID: absentID, Topic: "acw", EventTime: event.Add(-time.Hour).UnixMilli()}}})
	require.NoError(t, err)

	assert.Equal(t, workflows.FetchResult{StoredComplete: 1, NotReady: []string{absentID}, Requests: 1}, res)
	assert.Equal(t, [][]string{{completeID, absentID}}, gc.asked, "one request for the whole chunk")
	to := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, [][2]time.Time{{to.AddDate(0, 0, -31), to}}, gc.intervals, "the 31 days up to the latest event's")
	assert.Len(t, st.written, 1)
}

func TestTheMultiGetIsTheDefaultSource(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	_, err := execute(t, &Fetcher{Genesys: gc, Store: &fakeStore{}}, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	assert.Empty(t, gc.intervals)
	assert.Len(t, gc.asked, 1)
}

func TestQueryWindowEndsWithTheLatestEventOrNow(t *testing.T) {
	now := time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC)
	at := func(day int) int64 { return time.Date(2026, 11, day, 12, 0, 0, 0, time.UTC).UnixMilli() }
	for name, tc := range map[string]struct {
		refs []workflows.ConversationRef
		to   time.Time
	}{
		"latest event": {[]workflows.ConversationRef{{ID: "a", EventTime: at(3)}, {ID: "b", EventTime: at(20)}},
			time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)},
		"a ref without event time": {[]workflows.ConversationRef{{ID: "a", EventTime: at(3)}, {ID: "b"}},
			time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC)},
		"an event after now": {[]workflows.ConversationRef{{ID: "a"}, {ID: "b", EventTime: now.Add(20 * time.Hour).UnixMilli()}},
			time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)},
		"an event time far ahead": {[]workflows.ConversationRef{{ID: "a", EventTime: now.AddDate(73, 0, 0).UnixMilli()}},
			time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(name, func(t *testing.T) {
			from, to := queryWindow(tc.refs, now)
			assert.Equal(t, tc.to, to)
			assert.Equal(t, 31*24*time.Hour, to.Sub(from), "the longest interval Genesys accepts with a filter")
		})
	}
}

func TestTheMappingDecidesWhatContactAddressesAreStored(t *testing.T) {
	gc := &fakeGenesys{conversations: map[string][]byte{completeID: fixtures.Read(t, "analytics/conversation-complete.json")}}
	st := &fakeStore{}
	_, err := execute(t, &Fetcher{Genesys: gc, Store: st, Mapping: store.Mapping{Contacts: store.PlainContacts()}},
		workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	require.Len(t, st.written, 1)
	assert.NotEmpty(t, st.written[0].CustomerAni)

	st = &fakeStore{}
	_, err = execute(t, &Fetcher{Genesys: gc, Store: st}, workflows.FetchRequest{Conversations: refs(completeID)})
	require.NoError(t, err)
	assert.Empty(t, st.written[0].CustomerAni, "none by default")
}
