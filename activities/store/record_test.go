package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
)

// Fixtures in the module's testdata/analytics (see internal/fixtures).
const (
	completeFixture = "conversation-complete.json"
	notReadyFixture = "conversation-not-ready.json"
	fixtureID       = "5e8d1c3a-9f7b-4b2e-8c61-0d4f7a2b9e10"
	fixtureQueue    = "4f5a6b7c-8d9e-4f0a-9b2c-3d4e5f6a7b8c"
	fixtureAgent    = "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b"
	fixtureDivision = "d1d1d1d1-0000-4000-8000-000000000001"
	fixtureWrapUp   = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
)

var fetchedAt = time.Date(2026, 11, 27, 11, 5, 0, 0, time.UTC)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	return fixtures.Read(t, "analytics/"+name)
}

func fixtureRecord(t testing.TB, name string, fetched time.Time) Record {
	t.Helper()
	r, err := NewRecord(readFixture(t, name), "org-1", fetched)
	require.NoError(t, err)
	return r
}

// conversationJSON builds a minimal analytics conversation around the given
// participants array.
func conversationJSON(participants string) []byte {
	return []byte(`{"conversationId":"c-1","conversationStart":"2026-11-27T10:00:00.000Z","participants":` + participants + `}`)
}

func newTestRecord(t *testing.T, raw []byte) Record {
	t.Helper()
	r, err := NewRecord(raw, "", fetchedAt)
	require.NoError(t, err)
	return r
}

func TestNewRecordMapsCompleteFixture(t *testing.T) {
	r := fixtureRecord(t, completeFixture, fetchedAt)

	duration := int64(343110)
	want := Record{
		ConversationID:       fixtureID,
		Status:               StatusComplete,
		ConversationStart:    "2026-11-27T10:54:47.667Z",
		ConversationEnd:      "2026-11-27T11:00:30.777Z",
		DurationMs:           &duration,
		OriginatingDirection: "inbound",
		MediaType:            "voice",
		DivisionIDs:          []string{fixtureDivision},
		QueueIDs:             []string{fixtureQueue},
		UserIDs:              []string{fixtureAgent},
		WrapUpCodes:          []string{fixtureWrapUp},
		ParticipantCount:     3,
		HandleTimeMs:         326747,
		TalkTimeMs:           296093,
		AcwTimeMs:            30654,
		WaitTimeMs:           14120,
		AnswerTimeMs:         16130,
		DisconnectType:       "endpoint",
		Agents: []Agent{{UserID: fixtureAgent, QueueID: fixtureQueue, WrapUpCode: fixtureWrapUp, Answered: true,
			HandleTimeMs: 326747, TalkTimeMs: 296093, AcwTimeMs: 30654}},
		OrgID:     "org-1",
		OrgDay:    "org-1#2026-11-27",
		Detail:    r.Detail, // checked by the gzip tests
		FetchedAt: "2026-11-27T11:05:00.000Z",
	}
	assert.Equal(t, want, r)
	assert.True(t, r.Complete())
	assert.NotEmpty(t, r.Detail)
}

func TestNewRecordMapsNotReadyFixtureAsIncomplete(t *testing.T) {
	r := fixtureRecord(t, notReadyFixture, fetchedAt)

	want := Record{
		ConversationID:       fixtureID,
		Status:               StatusIncomplete,
		ConversationStart:    "2026-11-27T10:54:47.667Z",
		OriginatingDirection: "inbound",
		MediaType:            "voice",
		DivisionIDs:          []string{fixtureDivision},
		QueueIDs:             []string{fixtureQueue},
		UserIDs:              []string{fixtureAgent},
		ParticipantCount:     3,
		TalkTimeMs:           296093,
		WaitTimeMs:           14120,
		AnswerTimeMs:         16130,
		DisconnectType:       "endpoint",
		Agents:               []Agent{{UserID: fixtureAgent, QueueID: fixtureQueue, Answered: true, TalkTimeMs: 296093}},
		MissingWrapUps:       []string{fixtureAgent},
		OrgID:                "org-1",
		OrgDay:               "org-1#2026-11-27",
		Detail:               r.Detail,
		FetchedAt:            "2026-11-27T11:05:00.000Z",
	}
	assert.Equal(t, want, r)
	assert.False(t, r.Complete())
}

func TestNewRecordSetsAreDistinctSortedAndSkipEmptyValues(t *testing.T) {
	raw := []byte(`{"conversationId":"c-1","conversationStart":"2026-11-27T10:00:00Z",
		"divisionIds":["div-b","div-a","div-b",""],
		"participants":[
		 {"purpose":"agent","userId":"user-b","sessions":[{"segments":[
		   {"queueId":"q-b","wrapUpCode":"w-b"},{"queueId":"q-a"},{"queueId":"q-b","wrapUpCode":"w-a"},{"wrapUpCode":"w-b"}]}]},
		 {"purpose":"agent","userId":"user-a","sessions":[{"segments":[{"queueId":"q-a","wrapUpCode":""}]}]},
		 {"purpose":"agent","userId":"user-b"}]}`)

	r := newTestRecord(t, raw)

	assert.Equal(t, []string{"div-a", "div-b"}, r.DivisionIDs)
	assert.Equal(t, []string{"q-a", "q-b"}, r.QueueIDs)
	assert.Equal(t, []string{"user-a", "user-b"}, r.UserIDs)
	assert.Equal(t, []string{"w-a", "w-b"}, r.WrapUpCodes)
}

func TestNewRecordMediaTypePrefersCustomerParticipant(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[
		{"purpose":"agent","sessions":[{"mediaType":"voice"}]},
		{"purpose":"customer","sessions":[{"mediaType":"message"},{"mediaType":"voice"}]}]`))

	assert.Equal(t, "message", r.MediaType)
}

func TestNewRecordMediaTypeFallsBackToFirstSessionWithoutCustomer(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[
		{"purpose":"ivr"},
		{"purpose":"agent","sessions":[{"mediaType":"callback"},{"mediaType":"voice"}]},
		{"purpose":"user","sessions":[{"mediaType":"email"}]}]`))

	assert.Equal(t, "callback", r.MediaType)
}

func TestNewRecordUserIDsOnlyFromAgentAndUserPurposes(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[
		{"purpose":"customer","userId":"not-customer"},
		{"purpose":"acd","userId":"not-acd"},
		{"purpose":"ivr","userId":"not-ivr"},
		{"purpose":"agent","userId":"agent-1"},
		{"purpose":"user","userId":"user-1"}]`))

	assert.Equal(t, []string{"agent-1", "user-1"}, r.UserIDs)
}

func TestNewRecordLowerCasesDirectionAndMediaType(t *testing.T) {
	raw := []byte(`{"conversationId":"c-1","conversationStart":"2026-11-27T10:00:00Z","originatingDirection":"OUTBOUND",
		"participants":[{"purpose":"customer","sessions":[{"mediaType":"Voice"}]}]}`)

	r := newTestRecord(t, raw)

	assert.Equal(t, "outbound", r.OriginatingDirection)
	assert.Equal(t, "voice", r.MediaType)
}

func TestNewRecordSumsMetricsOverAllParticipantsAndSessions(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[
		{"purpose":"ivr","sessions":[{"metrics":[{"name":"tIvr","value":9}]}]},
		{"purpose":"acd","sessions":[{"metrics":[{"name":"tAcd","value":20}]},{"metrics":[{"name":"tAcd","value":2}]}]},
		{"purpose":"agent","sessions":[
		  {"metrics":[{"name":"tHandle","value":10},{"name":"tTalk","value":6},{"name":"tTalkComplete","value":7},
		    {"name":"tHeld","value":1},{"name":"tHeldComplete","value":2},{"name":"tAcw","value":3},
		    {"name":"tAnswered","value":30},{"name":"nTransferred","value":1},{"name":"oMos","value":4.2}]},
		  {"metrics":[{"name":"tHandle","value":5},{"name":"tTalkComplete","value":5}]}]},
		{"purpose":"agent","sessions":[{"metrics":[{"name":"tHandle","value":100},{"name":"tAcw","value":1},
		  {"name":"tAnswered","value":4},{"name":"nTransferred","value":2}]}]}]`))

	assert.Equal(t, int64(115), r.HandleTimeMs)
	assert.Equal(t, int64(12), r.TalkTimeMs, "tTalkComplete, not tTalk")
	assert.Equal(t, int64(2), r.HoldTimeMs, "tHeldComplete, not tHeld")
	assert.Equal(t, int64(4), r.AcwTimeMs)
	assert.Equal(t, int64(22), r.WaitTimeMs)
	assert.Equal(t, int64(34), r.AnswerTimeMs)
	assert.Equal(t, int64(9), r.IvrTimeMs)
	assert.Equal(t, 3, r.Transfers)
	assert.False(t, r.Abandoned)
}

func TestNewRecordAbandonedWhenAnyTAbandonIsPresent(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[
		{"purpose":"customer","sessions":[{"segments":[{"segmentType":"interact","disconnectType":"endpoint"}]}]},
		{"purpose":"acd","sessions":[{"metrics":[{"name":"tAcd","value":41000},{"name":"tAbandon","value":41000}]}]}]`))

	assert.True(t, r.Abandoned)
	assert.Equal(t, int64(41000), r.WaitTimeMs)
	assert.Nil(t, r.Agents)
}

func TestNewRecordDisconnectTypeIsTheCustomersLatestSegments(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[
		{"purpose":"agent","sessions":[{"segments":[{"segmentType":"interact","segmentEnd":"2026-11-27T10:09:00.000Z","disconnectType":"client"}]}]},
		{"purpose":"customer","sessions":[
		  {"segments":[{"segmentType":"interact","segmentEnd":"2026-11-27T10:05:00.000Z","disconnectType":"peer"}]},
		  {"segments":[{"segmentType":"interact","segmentEnd":"2026-11-27T10:01:00.000Z","disconnectType":"transfer"},
		    {"segmentType":"hold","segmentEnd":"2026-11-27T10:02:00.000Z"}]}]}]`))

	assert.Equal(t, "peer", r.DisconnectType, "by segmentEnd, not by position, and never another participant's")
}

func TestNewRecordAgentsHaveOneEntryPerHandledOrConnectedAgentSession(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[
		{"purpose":"customer","userId":"not-an-agent","sessions":[{"segments":[{"segmentType":"interact","queueId":"q-1"}]}]},
		{"purpose":"agent","userId":"missed","sessions":[{"segments":[{"segmentType":"alert","queueId":"q-1"}],
		  "metrics":[{"name":"tAlert","value":9000}]}]},
		{"purpose":"agent","userId":"first","sessions":[{"segments":[
		    {"segmentType":"alert","queueId":"q-1"},{"segmentType":"interact","queueId":"q-1"},
		    {"segmentType":"wrapup","queueId":"q-1","wrapUpCode":"w-1"}],
		  "metrics":[{"name":"tAnswered","value":12},{"name":"tTalkComplete","value":100},{"name":"tHeldComplete","value":20},
		    {"name":"tAcw","value":30},{"name":"tHandle","value":150},{"name":"nTransferred","value":1}]}]},
		{"purpose":"agent","userId":"second","sessions":[
		  {"segments":[{"segmentType":"interact","queueId":"q-2"}],"metrics":[{"name":"tTalkComplete","value":40}]},
		  {"segments":[{"segmentType":"dialing","queueId":"q-2"},{"segmentType":"wrapup","queueId":"q-2","wrapUpCode":"w-2"}],
		   "metrics":[{"name":"tHandle","value":70},{"name":"tAcw","value":10}]}]}]`))

	assert.Equal(t, []Agent{
		{UserID: "first", QueueID: "q-1", WrapUpCode: "w-1", Answered: true, HandleTimeMs: 150, TalkTimeMs: 100, HoldTimeMs: 20, AcwTimeMs: 30},
		{UserID: "second", QueueID: "q-2", TalkTimeMs: 40},
		{UserID: "second", QueueID: "q-2", WrapUpCode: "w-2", HandleTimeMs: 70, AcwTimeMs: 10},
	}, r.Agents)
	assert.Equal(t, []string{"first", "missed", "second"}, r.UserIDs, "userIds keeps every agent participant")
}

func TestNewRecordWithASegmentStillOpenIsIncompleteThoughConversationEndIsThere(t *testing.T) {
	raw := []byte(`{"conversationId":"c-1","conversationStart":"2026-11-27T10:00:00.000Z","conversationEnd":"2026-11-27T10:05:00.000Z",
		"participants":[{"purpose":"agent","userId":"u-1","sessions":[{"segments":[
		  {"segmentType":"interact","segmentStart":"2026-11-27T10:00:01.000Z","segmentEnd":"2026-11-27T10:04:00.000Z"},
		  {"segmentType":"wrapup","segmentStart":"2026-11-27T10:04:00.000Z"}]}]}]}`)

	r := newTestRecord(t, raw)

	assert.False(t, r.Complete(), "the wrap-up segment has no segmentEnd yet")
	assert.Equal(t, "2026-11-27T10:05:00.000Z", r.ConversationEnd, "what Genesys said is kept")
	require.NotNil(t, r.DurationMs)
	assert.Equal(t, int64(300000), *r.DurationMs)
}

func TestNewRecordNamesTheAgentsWhoseWrapUpCodeIsNotIndexedYet(t *testing.T) {
	late := bytes.Replace(readFixture(t, completeFixture), []byte(`"wrapUpCode": "`+fixtureWrapUp+`",`), nil, 1)
	require.NotEqual(t, readFixture(t, completeFixture), late)

	r := newTestRecord(t, late)

	assert.True(t, r.Complete(), "conversationEnd is there and every segment closed")
	assert.Equal(t, []string{fixtureAgent}, r.MissingWrapUps)
	assert.Nil(t, fixtureRecord(t, completeFixture, fetchedAt).MissingWrapUps)
}

func TestNewRecordFormatsFetchedAtAsUTCWithFixedMilliseconds(t *testing.T) {
	paris := time.FixedZone("CET", 3600)

	r, err := NewRecord(conversationJSON(`[]`), "", time.Date(2026, 11, 27, 12, 0, 0, 0, paris))
	require.NoError(t, err)

	assert.Equal(t, "2026-11-27T11:00:00.000Z", r.FetchedAt)
}

func TestNewRecordRejectsInvalidJSON(t *testing.T) {
	_, err := NewRecord([]byte(`{"conversationId":`), "", fetchedAt)

	assert.ErrorContains(t, err, "parse analytics conversation")
}

func TestNewRecordRejectsMissingConversationID(t *testing.T) {
	_, err := NewRecord([]byte(`{"conversationStart":"2026-11-27T10:00:00Z"}`), "", fetchedAt)

	assert.ErrorContains(t, err, "missing conversationId")
}

func TestNewRecordRejectsUnparsableTimestamps(t *testing.T) {
	for name, raw := range map[string]string{
		"conversationStart": `{"conversationId":"c-1","conversationStart":"yesterday"}`,
		"conversationEnd":   `{"conversationId":"c-1","conversationStart":"2026-11-27T10:00:00Z","conversationEnd":"27/11/2026"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewRecord([]byte(raw), "", fetchedAt)

			assert.ErrorContains(t, err, "conversation c-1: "+name)
		})
	}
}

func TestNewRecordDetailIsDeterministicGzipOfRawBytes(t *testing.T) {
	raw := readFixture(t, completeFixture)

	first, err := NewRecord(raw, "", fetchedAt)
	require.NoError(t, err)
	second, err := NewRecord(raw, "", fetchedAt.Add(time.Hour))
	require.NoError(t, err)

	assert.Equal(t, first.Detail, second.Detail, "same input must give the same bytes")
	assert.Equal(t, []byte{0, 0, 0, 0}, first.Detail[4:8], "gzip header mtime must be zero")
	decoded, err := DecodeDetail(first.Detail)
	require.NoError(t, err)
	assert.Equal(t, raw, []byte(decoded))
}

func TestNewRecordMovesTheDetailOutOfAnItemThatWouldExceed400KB(t *testing.T) {
	raw := oversizeConversation(t)
	require.Greater(t, len(raw), 550*1024)

	r, err := NewRecord(raw, "org-1", fetchedAt)
	require.NoError(t, err)

	assert.Nil(t, r.Detail)
	assert.False(t, r.DetailOmitted, "the table decides whether it is dropped")
	assert.Regexp(t, `^org-1/2026-11-27/c-oversize/[0-9a-f]{32}\.json\.gz$`, r.DetailKey)
	decoded, err := DecodeDetail(r.largeDetail)
	require.NoError(t, err)
	assert.Equal(t, raw, []byte(decoded))
	assert.Equal(t, []string{fixtureQueue}, r.QueueIDs)
	r.UpdatedAt = r.FetchedAt // as Upsert will add it
	item, err := attributevalue.MarshalMap(r)
	require.NoError(t, err)
	assert.Less(t, itemSize(item), 400*1024)
}

func TestItemSizeCountsListsAndMapsWithTheirOverhead(t *testing.T) {
	item := map[string]types.AttributeValue{"agents": &types.AttributeValueMemberL{Value: []types.AttributeValue{
		&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"userId":   &types.AttributeValueMemberS{Value: "u-1"},
			"answered": &types.AttributeValueMemberBOOL{Value: true},
		}},
	}}}

	// name 6; list 3 + 1 per element; map 3 + (1 + 6 + 3) + (1 + 8 + 1)
	assert.Equal(t, 6+3+1+3+10+10, itemSize(item))
}

func TestNewRecordKeepsDetailOfOrdinaryConversation(t *testing.T) {
	r := fixtureRecord(t, completeFixture, fetchedAt)

	assert.False(t, r.DetailOmitted)
	assert.NotEmpty(t, r.Detail)
}

func TestRecordMarshalsWithoutEmptySetsOrOptionalAttributes(t *testing.T) {
	r := newTestRecord(t, conversationJSON(`[{"purpose":"customer","sessions":[{"mediaType":"voice"}]}]`))

	item, err := attributevalue.MarshalMap(r)
	require.NoError(t, err)

	assert.ElementsMatch(t, []string{
		"conversationId", "status", "conversationStart", "mediaType", "participantCount",
		"handleTimeMs", "talkTimeMs", "holdTimeMs", "acwTimeMs", "waitTimeMs", "answerTimeMs", "ivrTimeMs",
		"abandoned", "transfers", "orgDay", "detail", "fetchedAt",
	}, keys(item))
}

func keys(item map[string]types.AttributeValue) []string {
	var names []string
	for name := range item {
		names = append(names, name)
	}
	return names
}

// oversizeConversation is a conversation of about 600 KB whose segments
// carry random text, so that even gzipped it cannot fit in an item.
func oversizeConversation(t *testing.T) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 450)
	segments := make([]map[string]any, 1000)
	for i := range segments {
		for j := range noise {
			noise[j] = byte(rng.Uint32())
		}
		segments[i] = map[string]any{
			"segmentType":  "interact",
			"segmentStart": "2026-11-27T10:54:47.900Z",
			"queueId":      fixtureQueue,
			"subject":      base64.StdEncoding.EncodeToString(noise),
		}
	}
	raw, err := json.Marshal(map[string]any{
		"conversationId":    "c-oversize",
		"conversationStart": "2026-11-27T10:00:00.000Z",
		"participants": []any{map[string]any{
			"purpose":  "customer",
			"sessions": []any{map[string]any{"mediaType": "voice", "segments": segments}},
		}},
	})
	require.NoError(t, err)
	return raw
}
