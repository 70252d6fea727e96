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

// StoredStatus is what Statuses reads of one item.
type StoredStatus struct {
	Status    string
	UpdatedAt string
}

// CompleteIDs returns which of ids are already stored with status complete,
// so a conversation that another batch has stored is not fetched again.
// Reads are eventually consistent: missing a very recent write only costs
// one redundant fetch, never a wrong item.
func (t *Table) CompleteIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	statuses, err := t.Statuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	complete := make(map[string]bool)
	for id, s := range statuses {
		if s.Status == StatusComplete {
			complete[id] = true
		}
	}
	return complete, nil
}

// Statuses reads status and updatedAt of the stored ones among ids, 100 keys
// per BatchGetItem; ids not stored are absent from the result.
func (t *Table) Statuses(ctx context.Context, ids []string) (map[string]StoredStatus, error) {
	statuses := make(map[string]StoredStatus, len(ids))
	for start := 0; start < len(ids); start += batchGetLimit {
		keys := make([]map[string]types.AttributeValue, 0, batchGetLimit)
		for _, id := range ids[start:min(start+batchGetLimit, len(ids))] {
			keys = append(keys, map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: id}})
		}
		request := map[string]types.KeysAndAttributes{t.name: {
			Keys:                     keys,
			ProjectionExpression:     aws.String("#id, #status, #updatedAt"),
			ExpressionAttributeNames: map[string]string{"#id": PartitionKey, "#status": "status", "#updatedAt": "updatedAt"},
		}}
		// DynamoDB hands back keys it could not read under load; retry those
		// a few times, then give up.
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
				if id == nil {
					continue
				}
				var s StoredStatus
				if v, ok := item["status"].(*types.AttributeValueMemberS); ok {
					s.Status = v.Value
				}
				if v, ok := item["updatedAt"].(*types.AttributeValueMemberS); ok {
					s.UpdatedAt = v.Value
				}
				statuses[id.Value] = s
			}
			request = out.UnprocessedKeys
		}
	}
	return statuses, nil
}
