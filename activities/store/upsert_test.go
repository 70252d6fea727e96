package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var writeTime = time.Date(2026, 11, 27, 11, 6, 7, 891_234_567, time.UTC)

func newFakeTable(api *fakeAPI) *Table {
	return NewTable(api, Config{TableName: "conversations-test", Now: func() time.Time { return writeTime }})
}

// upsertOne upserts r against a fake and returns the outcome and the request.
func upsertOne(t *testing.T, r Record) (Outcome, *fakeAPI) {
	t.Helper()
	api := &fakeAPI{}
	outcome, err := newFakeTable(api).Upsert(context.Background(), r)
	require.NoError(t, err)
	require.Len(t, api.puts, 1)
	return outcome, api
}

func TestUpsertIncompleteRecordReplacesOnlyNewerDifferentIncompleteItem(t *testing.T) {
	r := fixtureRecord(t, notReadyFixture, fetchedAt)

	outcome, api := upsertOne(t, r)

	put := api.puts[0]
	assert.Equal(t, Written, outcome)
	assert.Equal(t, "attribute_not_exists(#id) OR (#status = :incomplete AND #fetchedAt < :fetchedAt"+
		" AND (attribute_not_exists(#detail) OR #detail <> :detail))", aws.ToString(put.ConditionExpression))
	assert.Equal(t, map[string]string{"#id": "conversationId", "#status": "status", "#fetchedAt": "fetchedAt", "#detail": "detail"},
		put.ExpressionAttributeNames)
	assert.Equal(t, map[string]types.AttributeValue{
		":incomplete": &types.AttributeValueMemberS{Value: "incomplete"},
		":fetchedAt":  &types.AttributeValueMemberS{Value: "2026-11-27T11:05:00.000Z"},
		":detail":     &types.AttributeValueMemberB{Value: r.Detail},
	}, put.ExpressionAttributeValues)
}

func TestUpsertCompleteRecordReplacesIncompleteItemOrNewerDifferentComplete(t *testing.T) {
	r := fixtureRecord(t, completeFixture, fetchedAt)

	_, api := upsertOne(t, r)

	put := api.puts[0]
	assert.Equal(t, "attribute_not_exists(#id) OR #status = :incomplete OR (#fetchedAt < :fetchedAt"+
		" AND (attribute_not_exists(#detail) OR #detail <> :detail))", aws.ToString(put.ConditionExpression))
	assert.Equal(t, map[string]string{"#id": "conversationId", "#status": "status", "#fetchedAt": "fetchedAt", "#detail": "detail"},
		put.ExpressionAttributeNames)
	assert.Equal(t, map[string]types.AttributeValue{
		":incomplete": &types.AttributeValueMemberS{Value: "incomplete"},
		":fetchedAt":  &types.AttributeValueMemberS{Value: "2026-11-27T11:05:00.000Z"},
		":detail":     &types.AttributeValueMemberB{Value: r.Detail},
	}, put.ExpressionAttributeValues)
}

func TestUpsertIncompleteRecordWithoutDetailComparesFetchedAtOnly(t *testing.T) {
	r := fixtureRecord(t, notReadyFixture, fetchedAt)
	r.Detail, r.DetailOmitted = nil, true

	_, api := upsertOne(t, r)

	put := api.puts[0]
	assert.Equal(t, "attribute_not_exists(#id) OR (#status = :incomplete AND #fetchedAt < :fetchedAt)",
		aws.ToString(put.ConditionExpression))
	assert.Equal(t, map[string]string{"#id": "conversationId", "#status": "status", "#fetchedAt": "fetchedAt"},
		put.ExpressionAttributeNames)
	assert.Equal(t, map[string]types.AttributeValue{
		":incomplete": &types.AttributeValueMemberS{Value: "incomplete"},
		":fetchedAt":  &types.AttributeValueMemberS{Value: "2026-11-27T11:05:00.000Z"},
	}, put.ExpressionAttributeValues)
}

func TestUpsertCompleteRecordWithoutDetailComparesFetchedAtOnly(t *testing.T) {
	r := fixtureRecord(t, completeFixture, fetchedAt)
	r.Detail, r.DetailOmitted = nil, true

	_, api := upsertOne(t, r)

	put := api.puts[0]
	assert.Equal(t, "attribute_not_exists(#id) OR #status = :incomplete OR (#fetchedAt < :fetchedAt)",
		aws.ToString(put.ConditionExpression))
	assert.Equal(t, map[string]string{"#id": "conversationId", "#status": "status", "#fetchedAt": "fetchedAt"},
		put.ExpressionAttributeNames)
	assert.Len(t, put.ExpressionAttributeValues, 2)
}

func TestUpsertMapsConditionalCheckFailedToUnchanged(t *testing.T) {
	api := &fakeAPI{putErr: fmt.Errorf("operation error DynamoDB: PutItem: %w",
		&types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")})}

	outcome, err := newFakeTable(api).Upsert(context.Background(), fixtureRecord(t, completeFixture, fetchedAt))

	require.NoError(t, err)
	assert.Equal(t, Unchanged, outcome)
}

func TestUpsertWrapsOtherErrorsWithConversationID(t *testing.T) {
	throttled := &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}
	api := &fakeAPI{putErr: throttled}

	_, err := newFakeTable(api).Upsert(context.Background(), fixtureRecord(t, completeFixture, fetchedAt))

	require.ErrorIs(t, err, throttled)
	assert.ErrorContains(t, err, fixtureID)
}

func TestUpsertRejectsRecordWithoutKeyFields(t *testing.T) {
	api := &fakeAPI{}

	_, err := newFakeTable(api).Upsert(context.Background(), Record{ConversationID: "c-1", Status: StatusComplete})

	assert.ErrorContains(t, err, "needs conversationId, fetchedAt and status")
	assert.Empty(t, api.puts)
}

func TestUpsertStampsUpdatedAtFromClockAndWritesToConfiguredTable(t *testing.T) {
	_, api := upsertOne(t, fixtureRecord(t, completeFixture, fetchedAt))

	put := api.puts[0]
	assert.Equal(t, "conversations-test", aws.ToString(put.TableName))
	assert.Equal(t, &types.AttributeValueMemberS{Value: "2026-11-27T11:06:07.891Z"}, put.Item["updatedAt"])
}

func TestUpsertItemOfCompleteRecordHasExactlyTheContractAttributes(t *testing.T) {
	_, api := upsertOne(t, fixtureRecord(t, completeFixture, fetchedAt))

	item := api.puts[0].Item
	assert.ElementsMatch(t, []string{
		"conversationId", "status", "conversationStart", "conversationEnd", "durationMs",
		"originatingDirection", "mediaType", "divisionIds", "queueIds", "userIds", "wrapUpCodes",
		"participantCount", "handleTimeMs", "talkTimeMs", "acwTimeMs", "orgId", "detail",
		"fetchedAt", "updatedAt",
	}, keys(item))
	assert.Equal(t, &types.AttributeValueMemberN{Value: "343110"}, item["durationMs"])
	assert.Equal(t, &types.AttributeValueMemberSS{Value: []string{fixtureWrapUp}}, item["wrapUpCodes"])
	assert.IsType(t, &types.AttributeValueMemberB{}, item["detail"])
}

func TestUpsertItemOfIncompleteRecordHasExactlyTheContractAttributes(t *testing.T) {
	_, api := upsertOne(t, fixtureRecord(t, notReadyFixture, fetchedAt))

	assert.ElementsMatch(t, []string{
		"conversationId", "status", "conversationStart",
		"originatingDirection", "mediaType", "divisionIds", "queueIds", "userIds",
		"participantCount", "handleTimeMs", "talkTimeMs", "acwTimeMs", "orgId", "detail",
		"fetchedAt", "updatedAt",
	}, keys(api.puts[0].Item))
	assert.Equal(t, &types.AttributeValueMemberN{Value: "0"}, api.puts[0].Item["acwTimeMs"])
}

func TestUpsertItemOfOversizeRecordFlagsOmittedDetail(t *testing.T) {
	r, err := NewRecord(oversizeConversation(t), "", fetchedAt)
	require.NoError(t, err)

	_, api := upsertOne(t, r)

	item := api.puts[0].Item
	assert.NotContains(t, item, "detail")
	assert.Equal(t, &types.AttributeValueMemberBOOL{Value: true}, item["detailOmitted"])
}

func TestOutcomeString(t *testing.T) {
	assert.Equal(t, "written", Written.String())
	assert.Equal(t, "unchanged", Unchanged.String())
	assert.Equal(t, "Outcome(0)", Outcome(0).String())
}
