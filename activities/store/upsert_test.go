package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var writeTime = time.Date(2026, 11, 27, 11, 6, 7, 891_234_567, time.UTC)

// storedAt is the updatedAt of the items the fake has stored.
const storedAt = "2026-11-27T11:05:30.000Z"

func newFakeTable(api *fakeAPI) *Table {
	return NewTable(api, Config{TableName: "conversations-test", Now: func() time.Time { return writeTime }})
}

// snapshots are versions of the fixture conversation as successive fetches
// see it.
type snapshots struct {
	incomplete, complete []byte
	// incompleteLater is the open conversation a little later: one metric
	// has grown.
	incompleteLater []byte
	// completeEdited is the closed conversation after its wrap-up code was
	// corrected.
	completeEdited []byte
}

func fixtureSnapshots(t *testing.T) snapshots {
	t.Helper()
	s := snapshots{incomplete: readFixture(t, notReadyFixture), complete: readFixture(t, completeFixture)}
	s.incompleteLater = bytes.Replace(s.incomplete, []byte(`"value": 312456`), []byte(`"value": 312999`), 1)
	s.completeEdited = bytes.Replace(s.complete, []byte(fixtureWrapUp), []byte("0b0b0b0b-0000-4000-8000-000000000009"), 1)
	require.NotEqual(t, s.incomplete, s.incompleteLater)
	require.NotEqual(t, s.complete, s.completeEdited)
	return s
}

func snapshotRecord(t *testing.T, raw []byte, fetched time.Time) Record {
	t.Helper()
	r, err := NewRecord(raw, "org-1", fetched)
	require.NoError(t, err)
	return r
}

// storedItem is the item of r as UpsertAll would have written it.
func storedItem(t *testing.T, r Record) map[string]types.AttributeValue {
	t.Helper()
	r.UpdatedAt = storedAt
	item, err := attributevalue.MarshalMap(r)
	require.NoError(t, err)
	return item
}

// upsertOne upserts r against api and returns its outcome.
func upsertOne(t *testing.T, api *fakeAPI, r Record) Outcome {
	t.Helper()
	outcomes, err := newFakeTable(api).UpsertAll(context.Background(), []Record{r})
	require.NoError(t, err)
	require.Len(t, outcomes, 1)
	return outcomes[0]
}

// writeNew upserts r into an empty fake table and returns the PutItem sent.
func writeNew(t *testing.T, r Record) *dynamodb.PutItemInput {
	t.Helper()
	api := &fakeAPI{}
	require.Equal(t, Written, upsertOne(t, api, r))
	require.Len(t, api.puts, 1)
	return api.puts[0]
}

func TestShouldReplace(t *testing.T) {
	s := fixtureSnapshots(t)
	t0 := fetchedAt
	rec := func(raw []byte, fetched time.Time) Record { return snapshotRecord(t, raw, fetched) }
	stored := func(r Record) *storedVersion { return versionOf(storedItem(t, r)) }
	withoutDetail := func(r Record) Record {
		r.Detail, r.DetailOmitted = nil, true
		return r
	}
	inBucket := func(r Record) Record {
		r.DetailBucket, r.DetailKey = "details", detailKey(r.OrgID, fetchedAt, r.ConversationID, r.Detail)
		r.Detail = nil
		return r
	}
	incompleteItem := stored(rec(s.incomplete, t0))
	completeItem := stored(rec(s.complete, t0))

	cases := []struct {
		name   string
		r      Record
		stored *storedVersion
		want   bool
	}{
		// The steps of testUpsertMatrix.
		{"no item", rec(s.incomplete, t0), nil, true},
		{"same incomplete again", rec(s.incomplete, t0), incompleteItem, false},
		{"same incomplete fetched later", rec(s.incomplete, t0.Add(time.Minute)), incompleteItem, false},
		{"older different incomplete", rec(s.incompleteLater, t0.Add(-time.Minute)), incompleteItem, false},
		{"newer different incomplete", rec(s.incompleteLater, t0.Add(time.Minute)), incompleteItem, true},
		{"complete over incomplete", rec(s.complete, t0.Add(time.Minute)), incompleteItem, true},
		{"complete fetched earlier over incomplete", rec(s.complete, t0.Add(-time.Minute)), incompleteItem, true},
		{"same complete again", rec(s.complete, t0), completeItem, false},
		{"newer incomplete over complete", rec(s.incompleteLater, t0.Add(time.Minute)), completeItem, false},
		{"older different complete", rec(s.completeEdited, t0.Add(-time.Minute)), completeItem, false},
		{"same complete fetched later", rec(s.complete, t0.Add(time.Minute)), completeItem, false},
		{"newer different complete", rec(s.completeEdited, t0.Add(time.Minute)), completeItem, true},
		// Records and items without detail (too large).
		{"newer incomplete without detail", withoutDetail(rec(s.incomplete, t0.Add(time.Minute))), incompleteItem, true},
		{"same-time incomplete without detail", withoutDetail(rec(s.incomplete, t0)), incompleteItem, false},
		{"newer complete without detail", withoutDetail(rec(s.complete, t0.Add(time.Minute))), completeItem, true},
		{"newer incomplete without detail over complete", withoutDetail(rec(s.incomplete, t0.Add(time.Minute))), completeItem, false},
		{"newer complete over item without detail", rec(s.complete, t0.Add(time.Minute)),
			stored(withoutDetail(rec(s.complete, t0))), true},
		// Details in the detail bucket: the key names the content.
		{"newer complete with the same detail in the bucket", inBucket(rec(s.complete, t0.Add(time.Minute))),
			stored(inBucket(rec(s.complete, t0))), false},
		{"newer complete with another detail in the bucket", inBucket(rec(s.completeEdited, t0.Add(time.Minute))),
			stored(inBucket(rec(s.complete, t0))), true},
		{"newer complete in the bucket over item with the detail inline", inBucket(rec(s.complete, t0.Add(time.Minute))),
			completeItem, true},
		// Items this package does not write.
		{"incomplete over item without fetchedAt", rec(s.incompleteLater, t0.Add(time.Minute)),
			&storedVersion{status: StatusIncomplete}, false},
		{"complete over incomplete without fetchedAt", rec(s.complete, t0),
			&storedVersion{status: StatusIncomplete}, true},
		{"newer complete over item without status", rec(s.complete, t0.Add(time.Minute)),
			&storedVersion{fetchedAt: t0.Format(TimeFormat)}, true},
		{"newer incomplete over item without status", rec(s.incomplete, t0.Add(time.Minute)),
			&storedVersion{fetchedAt: t0.Format(TimeFormat)}, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, shouldReplace(c.r, c.stored), c.name)
	}
}

func TestUpsertAllReadsStoredVersionsEventuallyConsistentInBatchesOf100(t *testing.T) {
	r := fixtureRecord(t, completeFixture, fetchedAt)
	recs := make([]Record, 250)
	for i := range recs {
		recs[i] = r
		recs[i].ConversationID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i%201)
	}
	api := &fakeAPI{}

	outcomes, err := newFakeTable(api).UpsertAll(context.Background(), recs)

	require.NoError(t, err)
	assert.Len(t, outcomes, 250)
	require.Len(t, api.batchGets, 3, "201 distinct ids")
	req := api.batchGets[0].RequestItems["conversations-test"]
	assert.Len(t, req.Keys, 100)
	assert.Equal(t, "#id, #status, #fetchedAt, #updatedAt, #detail, #detailKey, #firstEventAt, #lastEventTopic, #batchIds",
		aws.ToString(req.ProjectionExpression))
	assert.Equal(t, map[string]string{
		"#id": "conversationId", "#status": "status", "#fetchedAt": "fetchedAt", "#updatedAt": "updatedAt", "#detail": "detail",
		"#detailKey": "detailKey", "#firstEventAt": "firstEventAt", "#lastEventTopic": "lastEventTopic", "#batchIds": "batchIds",
	}, req.ExpressionAttributeNames)
	assert.False(t, aws.ToBool(req.ConsistentRead))
}

func TestUpsertAllRetriesUnprocessedKeys(t *testing.T) {
	r := fixtureRecord(t, completeFixture, fetchedAt)
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{fixtureID: storedItem(t, r)}, unprocessed: 1}

	assert.Equal(t, Unchanged, upsertOne(t, api, r))
	assert.Len(t, api.batchGets, 2)
	assert.Empty(t, api.puts)
}

func TestUpsertAllWritesNewRecordOnlyIfStillAbsent(t *testing.T) {
	put := writeNew(t, fixtureRecord(t, notReadyFixture, fetchedAt))

	assert.Equal(t, "attribute_not_exists(#id)", aws.ToString(put.ConditionExpression))
	assert.Equal(t, map[string]string{"#id": "conversationId"}, put.ExpressionAttributeNames)
	assert.Nil(t, put.ExpressionAttributeValues)
}

func TestUpsertAllReplacesItemOnlyIfStillTheVersionRead(t *testing.T) {
	s := fixtureSnapshots(t)
	item := storedItem(t, snapshotRecord(t, s.incomplete, fetchedAt))
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{fixtureID: item}}

	assert.Equal(t, Written, upsertOne(t, api, snapshotRecord(t, s.complete, fetchedAt.Add(time.Minute))))

	require.Len(t, api.puts, 1)
	put := api.puts[0]
	assert.Equal(t, "#updatedAt = :seenUpdatedAt AND #fetchedAt = :seenFetchedAt AND #status = :seenStatus",
		aws.ToString(put.ConditionExpression))
	assert.Equal(t, map[string]string{"#updatedAt": "updatedAt", "#fetchedAt": "fetchedAt", "#status": "status"},
		put.ExpressionAttributeNames)
	assert.Equal(t, map[string]types.AttributeValue{
		":seenUpdatedAt": &types.AttributeValueMemberS{Value: storedAt},
		":seenFetchedAt": &types.AttributeValueMemberS{Value: "2026-11-27T11:05:00.000Z"},
		":seenStatus":    &types.AttributeValueMemberS{Value: StatusIncomplete},
	}, put.ExpressionAttributeValues)
	assert.Empty(t, api.gets)
}

func TestUpsertAllConditionRequiresAttributesTheItemLackedToBeStillAbsent(t *testing.T) {
	s := fixtureSnapshots(t)
	item := storedItem(t, snapshotRecord(t, s.incomplete, fetchedAt))
	delete(item, "updatedAt")
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{fixtureID: item}}

	assert.Equal(t, Written, upsertOne(t, api, snapshotRecord(t, s.complete, fetchedAt)))

	put := api.puts[0]
	assert.Equal(t, "attribute_not_exists(#updatedAt) AND #fetchedAt = :seenFetchedAt AND #status = :seenStatus",
		aws.ToString(put.ConditionExpression))
	assert.Equal(t, map[string]string{"#updatedAt": "updatedAt", "#fetchedAt": "fetchedAt", "#status": "status"},
		put.ExpressionAttributeNames)
	assert.ElementsMatch(t, []string{":seenFetchedAt", ":seenStatus"}, keys(put.ExpressionAttributeValues))
}

func TestUpsertAllWritesOnlyTheRecordsThatWin(t *testing.T) {
	s := fixtureSnapshots(t)
	same := snapshotRecord(t, s.complete, fetchedAt)
	same.ConversationID = "c-same"
	newer := snapshotRecord(t, s.incompleteLater, fetchedAt.Add(time.Minute))
	newer.ConversationID = "c-newer"
	older := snapshotRecord(t, s.incompleteLater, fetchedAt.Add(-time.Minute))
	older.ConversationID = "c-older"
	fresh := snapshotRecord(t, s.incomplete, fetchedAt)
	fresh.ConversationID = "c-new"
	storedIncomplete := func(id string) map[string]types.AttributeValue {
		r := snapshotRecord(t, s.incomplete, fetchedAt)
		r.ConversationID = id
		return storedItem(t, r)
	}
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{
		"c-same":  storedItem(t, same),
		"c-newer": storedIncomplete("c-newer"),
		"c-older": storedIncomplete("c-older"),
	}}

	outcomes, err := newFakeTable(api).UpsertAll(context.Background(), []Record{same, newer, older, fresh})

	require.NoError(t, err)
	assert.Equal(t, []Outcome{Unchanged, Written, Unchanged, Written}, outcomes)
	var written []string
	for _, put := range api.puts {
		written = append(written, put.Item[PartitionKey].(*types.AttributeValueMemberS).Value)
	}
	assert.ElementsMatch(t, []string{"c-newer", "c-new"}, written)
}

func TestUpsertAllWritesAtMost16AtATime(t *testing.T) {
	r := fixtureRecord(t, completeFixture, fetchedAt)
	recs := make([]Record, 100)
	for i := range recs {
		recs[i] = r
		recs[i].ConversationID = fmt.Sprintf("c-%d", i)
	}
	api := &fakeAPI{putDelay: 5 * time.Millisecond}

	outcomes, err := newFakeTable(api).UpsertAll(context.Background(), recs)

	require.NoError(t, err)
	assert.Equal(t, slices.Repeat([]Outcome{Written}, 100), outcomes)
	assert.Len(t, api.puts, 100)
	assert.LessOrEqual(t, api.maxPutsInFlight, writeConcurrency)
	assert.Greater(t, api.maxPutsInFlight, 1, "writes must overlap")
}

// lostRace is what PutItem returns when the condition failed.
var lostRace = fmt.Errorf("operation error DynamoDB: PutItem: %w",
	&types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")})

func TestUpsertAllAfterALostRaceRereadsConsistentlyAndKeepsTheWinner(t *testing.T) {
	s := fixtureSnapshots(t)
	api := &fakeAPI{
		putErrs: []error{lostRace},
		// Read before the race: the incomplete conversation; after: another
		// writer's complete one.
		stored: map[string]map[string]types.AttributeValue{fixtureID: storedItem(t, snapshotRecord(t, s.incomplete, fetchedAt))},
		item:   storedItem(t, snapshotRecord(t, s.complete, fetchedAt)),
	}

	outcome := upsertOne(t, api, snapshotRecord(t, s.incompleteLater, fetchedAt.Add(time.Minute)))

	assert.Equal(t, Unchanged, outcome)
	assert.Len(t, api.puts, 1)
	require.Len(t, api.gets, 1)
	assert.True(t, aws.ToBool(api.gets[0].ConsistentRead))
	assert.Equal(t, "conversations-test", aws.ToString(api.gets[0].TableName))
	assert.Equal(t, map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: fixtureID}}, api.gets[0].Key)
}

func TestUpsertAllAfterALostRaceWritesOverTheNewVersionIfStillNewer(t *testing.T) {
	s := fixtureSnapshots(t)
	winner := snapshotRecord(t, s.incompleteLater, fetchedAt.Add(time.Minute))
	api := &fakeAPI{
		putErrs: []error{lostRace},
		item:    storedItem(t, winner),
	}

	outcome := upsertOne(t, api, snapshotRecord(t, s.complete, fetchedAt))

	assert.Equal(t, Written, outcome)
	require.Len(t, api.puts, 2)
	assert.Equal(t, "attribute_not_exists(#id)", aws.ToString(api.puts[0].ConditionExpression))
	assert.Equal(t, &types.AttributeValueMemberS{Value: "2026-11-27T11:06:00.000Z"},
		api.puts[1].ExpressionAttributeValues[":seenFetchedAt"], "the second write must expect the version read after the race")
}

func TestUpsertAllGivesUpOnAnItemThatChangesBeforeEveryWrite(t *testing.T) {
	s := fixtureSnapshots(t)
	api := &fakeAPI{
		putErrs: slices.Repeat([]error{lostRace}, writeAttempts),
		item:    storedItem(t, snapshotRecord(t, s.incomplete, fetchedAt)),
	}

	outcomes, err := newFakeTable(api).UpsertAll(context.Background(),
		[]Record{snapshotRecord(t, s.complete, fetchedAt.Add(time.Minute))})

	assert.ErrorContains(t, err, "upsert conversation "+fixtureID+": the stored item changed before each of 5 writes")
	assert.Nil(t, outcomes)
	assert.Len(t, api.puts, writeAttempts)
	assert.Len(t, api.gets, writeAttempts-1)
}

func TestUpsertAllWrapsOtherErrorsWithConversationID(t *testing.T) {
	throttled := &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}
	api := &fakeAPI{putErrs: []error{throttled}}

	outcomes, err := newFakeTable(api).UpsertAll(context.Background(), []Record{fixtureRecord(t, completeFixture, fetchedAt)})

	require.ErrorIs(t, err, throttled)
	assert.ErrorContains(t, err, "upsert conversation "+fixtureID)
	assert.Nil(t, outcomes)
	assert.Empty(t, api.gets, "only a failed condition is a lost race")
}

func TestUpsertAllRejectsRecordWithoutKeyFieldsBeforeAnyRequest(t *testing.T) {
	for _, bad := range []Record{
		{ConversationID: "c-1", Status: StatusComplete},
		{FetchedAt: "2026-11-27T11:05:00.000Z", Status: StatusComplete},
		{ConversationID: "c-1", FetchedAt: "2026-11-27T11:05:00.000Z", Status: "done"},
	} {
		api := &fakeAPI{}

		_, err := newFakeTable(api).UpsertAll(context.Background(), []Record{fixtureRecord(t, completeFixture, fetchedAt), bad})

		assert.ErrorContains(t, err, "needs conversationId, fetchedAt and status")
		assert.Empty(t, api.batchGets)
		assert.Empty(t, api.puts)
	}
}

func TestUpsertAllOfNoRecordsMakesNoRequest(t *testing.T) {
	api := &fakeAPI{}

	outcomes, err := newFakeTable(api).UpsertAll(context.Background(), nil)

	require.NoError(t, err)
	assert.Empty(t, outcomes)
	assert.Empty(t, api.batchGets)
}

func TestUpsertAllStampsUpdatedAtFromClockAndWritesToConfiguredTable(t *testing.T) {
	put := writeNew(t, fixtureRecord(t, completeFixture, fetchedAt))

	assert.Equal(t, "conversations-test", aws.ToString(put.TableName))
	assert.Equal(t, &types.AttributeValueMemberS{Value: "2026-11-27T11:06:07.891Z"}, put.Item["updatedAt"])
}

func TestUpsertAllItemOfCompleteRecordHasExactlyTheContractAttributes(t *testing.T) {
	item := writeNew(t, fixtureRecord(t, completeFixture, fetchedAt)).Item

	assert.ElementsMatch(t, []string{
		"conversationId", "status", "conversationStart", "conversationEnd", "durationMs",
		"originatingDirection", "mediaType", "divisionIds", "queueIds", "userIds", "wrapUpCodes",
		"participantCount", "handleTimeMs", "talkTimeMs", "holdTimeMs", "acwTimeMs", "waitTimeMs",
		"answerTimeMs", "ivrTimeMs", "abandoned", "transfers", "disconnectType", "agents", "orgId", "orgDay", "detail",
		"fetchedAt", "updatedAt",
	}, keys(item))
	assert.Equal(t, &types.AttributeValueMemberN{Value: "343110"}, item["durationMs"])
	assert.Equal(t, &types.AttributeValueMemberSS{Value: []string{fixtureWrapUp}}, item["wrapUpCodes"])
	assert.IsType(t, &types.AttributeValueMemberB{}, item["detail"])
}

func TestUpsertAllItemOfIncompleteRecordHasExactlyTheContractAttributes(t *testing.T) {
	item := writeNew(t, fixtureRecord(t, notReadyFixture, fetchedAt)).Item

	assert.ElementsMatch(t, []string{
		"conversationId", "status", "conversationStart",
		"originatingDirection", "mediaType", "divisionIds", "queueIds", "userIds",
		"participantCount", "handleTimeMs", "talkTimeMs", "holdTimeMs", "acwTimeMs", "waitTimeMs",
		"answerTimeMs", "ivrTimeMs", "abandoned", "transfers", "disconnectType", "agents", "missingWrapUps", "orgId",
		"orgDay", "detail", "fetchedAt", "updatedAt",
	}, keys(item))
	assert.Equal(t, &types.AttributeValueMemberN{Value: "0"}, item["acwTimeMs"])
}

func TestUpsertAllItemOfOversizeRecordFlagsOmittedDetail(t *testing.T) {
	r, err := NewRecord(oversizeConversation(t), "", fetchedAt)
	require.NoError(t, err)

	item := writeNew(t, r).Item

	assert.NotContains(t, item, "detail")
	assert.NotContains(t, item, "detailKey", "without a detail bucket")
	assert.Equal(t, &types.AttributeValueMemberBOOL{Value: true}, item["detailOmitted"])
}

func TestUpsertAllKeepsTheEarliestEventTimeAndTheLastKnownTopic(t *testing.T) {
	s := fixtureSnapshots(t)
	stored := snapshotRecord(t, s.incomplete, fetchedAt)
	stored.FirstEventAt, stored.LastEventTopic = "2026-11-27T11:00:00.200Z", "customer.end"
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{fixtureID: storedItem(t, stored)}}

	later := snapshotRecord(t, s.complete, fetchedAt.Add(time.Minute))
	later.FirstEventAt, later.LastEventTopic = "2026-11-27T11:00:31.000Z", "acw"
	require.Equal(t, Written, upsertOne(t, api, later))
	assert.Equal(t, &types.AttributeValueMemberS{Value: "2026-11-27T11:00:00.200Z"}, api.puts[0].Item["firstEventAt"])
	assert.Equal(t, &types.AttributeValueMemberS{Value: "acw"}, api.puts[0].Item["lastEventTopic"])

	unknown := snapshotRecord(t, s.complete, fetchedAt.Add(time.Minute))
	api = &fakeAPI{stored: map[string]map[string]types.AttributeValue{fixtureID: storedItem(t, stored)}}
	require.Equal(t, Written, upsertOne(t, api, unknown))
	assert.Equal(t, &types.AttributeValueMemberS{Value: "2026-11-27T11:00:00.200Z"}, api.puts[0].Item["firstEventAt"])
	assert.Equal(t, &types.AttributeValueMemberS{Value: "customer.end"}, api.puts[0].Item["lastEventTopic"])
}

func TestOutcomeString(t *testing.T) {
	assert.Equal(t, "written", Written.String())
	assert.Equal(t, "unchanged", Unchanged.String())
	assert.Equal(t, "Outcome(0)", Outcome(0).String())
}
