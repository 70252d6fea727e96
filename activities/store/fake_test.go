package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeAPI records requests and answers with canned responses; it evaluates
// no conditions (TestUpsertAgainstDynalite covers their semantics).
type fakeAPI struct {
	puts   []*dynamodb.PutItemInput
	putErr error

	gets []*dynamodb.GetItemInput
	item map[string]types.AttributeValue

	batchGets []*dynamodb.BatchGetItemInput
	// complete ids are answered by BatchGetItem with status complete.
	complete map[string]bool

	creates   []*dynamodb.CreateTableInput
	createErr error
	// statuses are returned by successive DescribeTable calls; the last repeats.
	statuses  []types.TableStatus
	describes int
}

func (f *fakeAPI) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.puts = append(f.puts, in)
	if f.putErr != nil {
		return nil, f.putErr
	}
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeAPI) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.gets = append(f.gets, in)
	return &dynamodb.GetItemOutput{Item: f.item}, nil
}

func (f *fakeAPI) CreateTable(_ context.Context, in *dynamodb.CreateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	f.creates = append(f.creates, in)
	if f.createErr != nil {
		return nil, f.createErr
	}
	return &dynamodb.CreateTableOutput{}, nil
}

func (f *fakeAPI) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	status := f.statuses[min(f.describes, len(f.statuses)-1)]
	f.describes++
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableName: in.TableName, TableStatus: status}}, nil
}

func (f *fakeAPI) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.batchGets = append(f.batchGets, in)
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for table, req := range in.RequestItems {
		for _, key := range req.Keys {
			id := key[PartitionKey].(*types.AttributeValueMemberS).Value
			if f.complete[id] {
				out.Responses[table] = append(out.Responses[table], map[string]types.AttributeValue{
					PartitionKey: &types.AttributeValueMemberS{Value: id},
					"status":     &types.AttributeValueMemberS{Value: StatusComplete},
				})
			}
		}
	}
	return out, nil
}
