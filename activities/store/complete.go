package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// batchGetLimit is BatchGetItem's maximum number of keys per call.
const batchGetLimit = 100

// CompleteIDs returns which of ids are already stored with status complete,
// so a conversation that another batch has stored is not fetched again.
// Reads are eventually consistent: missing a very recent write only costs
// one redundant fetch, never a wrong item.
func (t *Table) CompleteIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	complete := make(map[string]bool)
	for start := 0; start < len(ids); start += batchGetLimit {
		keys := make([]map[string]types.AttributeValue, 0, batchGetLimit)
		for _, id := range ids[start:min(start+batchGetLimit, len(ids))] {
			keys = append(keys, map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: id}})
		}
		request := map[string]types.KeysAndAttributes{t.name: {
			Keys:                     keys,
			ProjectionExpression:     aws.String("#id, #status"),
			ExpressionAttributeNames: map[string]string{"#id": PartitionKey, "#status": "status"},
		}}
		// DynamoDB hands back keys it could not read under load; retry those
		// a few times, then give up (the caller fetches them anyway).
		for attempt := 0; len(request) > 0; attempt++ {
			if attempt == 5 {
				return nil, fmt.Errorf("read stored status: keys still unprocessed after %d attempts", attempt)
			}
			if attempt > 0 {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
				}
			}
			out, err := t.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
			if err != nil {
				return nil, fmt.Errorf("read stored status of %d conversations: %w", len(keys), err)
			}
			for _, item := range out.Responses[t.name] {
				id, _ := item[PartitionKey].(*types.AttributeValueMemberS)
				status, _ := item["status"].(*types.AttributeValueMemberS)
				if id != nil && status != nil && status.Value == StatusComplete {
					complete[id.Value] = true
				}
			}
			request = out.UnprocessedKeys
		}
	}
	return complete, nil
}
