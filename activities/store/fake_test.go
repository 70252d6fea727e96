package store

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeAPI records requests and answers with canned responses; it evaluates
// no conditions (TestUpsertAgainstDynalite covers their semantics). UpsertAll
// calls it from several goroutines.
type fakeAPI struct {
	mu sync.Mutex

	puts []*dynamodb.PutItemInput
	// putErrs are returned by successive PutItem calls; later calls succeed.
	putErrs []error
	// putDelay is how long each PutItem takes, so that calls overlap.
	putDelay                      time.Duration
	putsInFlight, maxPutsInFlight int

	gets []*dynamodb.GetItemInput
	item map[string]types.AttributeValue

	batchGets []*dynamodb.BatchGetItemInput
	// stored items, by conversation id, are answered by BatchGetItem.
	stored map[string]map[string]types.AttributeValue
	// unprocessed is how many BatchGetItem calls, the first ones, hand back
	// all their keys unprocessed.
	unprocessed int

	creates   []*dynamodb.CreateTableInput
	createErr error
	// statuses are returned by successive DescribeTable calls; the last repeats.
	statuses  []types.TableStatus
	describes int
}

func (f *fakeAPI) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	f.puts = append(f.puts, in)
	n := len(f.puts)
	f.putsInFlight++
	f.maxPutsInFlight = max(f.maxPutsInFlight, f.putsInFlight)
	f.mu.Unlock()

	time.Sleep(f.putDelay)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.putsInFlight--
	if n <= len(f.putErrs) && f.putErrs[n-1] != nil {
		return nil, f.putErrs[n-1]
	}
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeAPI) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
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

func (f *fakeAPI) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return &dynamodb.QueryOutput{}, nil
}

func (f *fakeAPI) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return &dynamodb.UpdateItemOutput{}, nil
}

func (f *fakeAPI) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batchGets = append(f.batchGets, in)
	if len(f.batchGets) <= f.unprocessed {
		return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
	}
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for table, req := range in.RequestItems {
		for _, key := range req.Keys {
			if item, ok := f.stored[key[PartitionKey].(*types.AttributeValueMemberS).Value]; ok {
				out.Responses[table] = append(out.Responses[table], item)
			}
		}
	}
	return out, nil
}

func (f *fakeAPI) Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return &dynamodb.ScanOutput{}, nil
}
