package store

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewTableDefaultsTableName(t *testing.T) {
	assert.Equal(t, DefaultTableName, NewTable(&fakeAPI{}, Config{}).Name())
	assert.Equal(t, "other", NewTable(&fakeAPI{}, Config{TableName: "other"}).Name())
}

func TestCreateTableCreatesOnDemandTableKeyedByConversationIDAndWaitsUntilActive(t *testing.T) {
	api := &fakeAPI{statuses: []types.TableStatus{types.TableStatusCreating, types.TableStatusActive}}

	require.NoError(t, newFakeTable(api).CreateTable(context.Background()))

	require.Len(t, api.creates, 1)
	in := api.creates[0]
	assert.Equal(t, "conversations-test", aws.ToString(in.TableName))
	assert.Equal(t, types.BillingModePayPerRequest, in.BillingMode)
	assert.Equal(t, []types.KeySchemaElement{{AttributeName: aws.String(PartitionKey), KeyType: types.KeyTypeHash}}, in.KeySchema)
	assert.Equal(t, []types.AttributeDefinition{
		{AttributeName: aws.String(PartitionKey), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String("orgDay"), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String("conversationStart"), AttributeType: types.ScalarAttributeTypeS},
	}, in.AttributeDefinitions)
	require.Len(t, in.GlobalSecondaryIndexes, 1)
	gsi := in.GlobalSecondaryIndexes[0]
	assert.Equal(t, "orgDay", aws.ToString(gsi.IndexName))
	assert.Equal(t, []types.KeySchemaElement{
		{AttributeName: aws.String("orgDay"), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String("conversationStart"), KeyType: types.KeyTypeRange},
	}, gsi.KeySchema)
	assert.Equal(t, types.ProjectionTypeInclude, gsi.Projection.ProjectionType)
	assert.NotContains(t, gsi.Projection.NonKeyAttributes, "detail", "the index holds no detail")
	assert.Contains(t, gsi.Projection.NonKeyAttributes, "handleTimeMs")
	assert.Equal(t, 2, api.describes, "must poll until ACTIVE")
}

func TestCreateTableAcceptsExistingTable(t *testing.T) {
	api := &fakeAPI{
		createErr: &types.ResourceInUseException{Message: aws.String("Table already exists")},
		statuses:  []types.TableStatus{types.TableStatusActive},
	}

	assert.NoError(t, newFakeTable(api).CreateTable(context.Background()))
}

func TestCreateTableWrapsOtherErrorsWithTableName(t *testing.T) {
	api := &fakeAPI{createErr: &types.LimitExceededException{Message: aws.String("too many tables")}}

	err := newFakeTable(api).CreateTable(context.Background())

	assert.ErrorContains(t, err, "create table conversations-test")
	assert.Zero(t, api.describes)
}

func TestGetReturnsPlainValuesWithSortedSetsAndDecodedDetail(t *testing.T) {
	r := fixtureRecord(t, completeFixture, fetchedAt)
	r.UserIDs = []string{"user-b", "user-a"}
	item, err := attributevalue.MarshalMap(r)
	require.NoError(t, err)
	api := &fakeAPI{item: item}

	got, ok, err := newFakeTable(api).Get(context.Background(), fixtureID)

	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, fixtureID, got["conversationId"])
	assert.Equal(t, int64(343110), got["durationMs"])
	assert.Equal(t, int64(3), got["participantCount"])
	assert.Equal(t, []string{"user-a", "user-b"}, got["userIds"])
	assert.Equal(t, []any{map[string]any{"userId": fixtureAgent, "queueId": fixtureQueue, "wrapUpCode": fixtureWrapUp,
		"answered": true, "handleTimeMs": int64(326747), "talkTimeMs": int64(296093), "holdTimeMs": int64(0),
		"acwTimeMs": int64(30654)}}, got["agents"])
	assert.Equal(t, false, got["abandoned"])
	assert.Equal(t, json.RawMessage(readFixture(t, completeFixture)), got["detail"])
	_, err = json.Marshal(got)
	assert.NoError(t, err, "the map must print as JSON")
	assert.True(t, aws.ToBool(api.gets[0].ConsistentRead))
}

func TestGetReportsMissingItem(t *testing.T) {
	got, ok, err := newFakeTable(&fakeAPI{}).Get(context.Background(), "nope")

	require.NoError(t, err)
	assert.False(t, ok)
	assert.Nil(t, got)
}

func TestGetRecordReturnsWhatNewRecordBuilt(t *testing.T) {
	want := fixtureRecord(t, completeFixture, fetchedAt)
	item, err := attributevalue.MarshalMap(want)
	require.NoError(t, err)
	api := &fakeAPI{item: item}

	got, ok, err := newFakeTable(api).GetRecord(context.Background(), fixtureID)

	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, want, got)
	assert.Equal(t, map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: fixtureID}}, api.gets[0].Key)
}

func TestCompleteIDsReadsInBatchesOf100(t *testing.T) {
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{
		ids[3]:   statusItem(ids[3], StatusComplete),
		ids[7]:   statusItem(ids[7], StatusIncomplete),
		ids[249]: statusItem(ids[249], StatusComplete),
	}}
	got, err := NewTable(api, Config{}).CompleteIDs(context.Background(), ids)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{ids[3]: true, ids[249]: true}, got)
	assert.Len(t, api.batchGets, 3)
}

func TestCompleteIDsLeavesOutCompleteItemsStillMissingAWrapUp(t *testing.T) {
	waiting := statusItem("c-2", StatusComplete)
	waiting["missingWrapUps"] = &types.AttributeValueMemberSS{Value: []string{fixtureAgent}}
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{"c-1": statusItem("c-1", StatusComplete), "c-2": waiting}}

	got, err := newFakeTable(api).CompleteIDs(context.Background(), []string{"c-1", "c-2"})

	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"c-1": true}, got, "c-2 is fetched again: its agent's wrap-up may be indexed by now")
	req := api.batchGets[0].RequestItems["conversations-test"]
	assert.Equal(t, "#id, #status, #missingWrapUps", aws.ToString(req.ProjectionExpression))
}

func TestStatusesReadsStatusAndUpdatedAtOfEachIDOnceRetryingUnprocessedKeys(t *testing.T) {
	item := statusItem("c-1", StatusIncomplete)
	item["updatedAt"] = &types.AttributeValueMemberS{Value: "2026-11-27T11:06:07.891Z"}
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{"c-1": item}, unprocessed: 1}

	got, err := newFakeTable(api).Statuses(context.Background(), []string{"c-1", "c-2", "c-1"})

	require.NoError(t, err)
	assert.Equal(t, map[string]StoredStatus{"c-1": {Status: StatusIncomplete, UpdatedAt: "2026-11-27T11:06:07.891Z"}}, got)
	require.Len(t, api.batchGets, 2, "unprocessed keys are asked for again")
	req := api.batchGets[0].RequestItems["conversations-test"]
	assert.Len(t, req.Keys, 2, "DynamoDB rejects a request that names a key twice")
	assert.Equal(t, "#id, #status, #updatedAt", aws.ToString(req.ProjectionExpression))
	assert.Equal(t, map[string]string{"#id": "conversationId", "#status": "status", "#updatedAt": "updatedAt"},
		req.ExpressionAttributeNames)
}

func statusItem(id, status string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		PartitionKey: &types.AttributeValueMemberS{Value: id},
		"status":     &types.AttributeValueMemberS{Value: status},
	}
}
