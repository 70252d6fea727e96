package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// batchGetLimit is BatchGetItem's maximum number of keys per call.
const batchGetLimit = 100

// batchGetAttempts bounds the BatchGetItem calls per chunk of keys: the
// first and the retries of the keys DynamoDB left unprocessed.
const batchGetAttempts = 5

// StoredStatus is what Statuses reads of one item.
type StoredStatus struct {
	Status    string
	UpdatedAt string
}

// CompleteIDs returns which of ids are already stored with status complete
// and every agent's wrap-up, so a conversation that another batch has
// stored is not fetched again. One stored without a wrap-up code that
// Genesys had not indexed yet is left out: the event that brought it here
// may be that agent's acw, so it is fetched again. Reads are eventually
// consistent: missing a very recent write only costs one redundant fetch,
// never a wrong item.
func (t *Table) CompleteIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	items, err := t.batchGetItems(ctx, ids, "status", "missingWrapUps")
	if err != nil {
		return nil, fmt.Errorf("read stored status: %w", err)
	}
	complete := make(map[string]bool)
	for id, item := range items {
		if _, waiting := item["missingWrapUps"]; stringAttr(item, "status") == StatusComplete && !waiting {
			complete[id] = true
		}
	}
	return complete, nil
}

// Statuses reads status and updatedAt of the stored ones among ids, 100 keys
// per BatchGetItem; ids not stored are absent from the result.
func (t *Table) Statuses(ctx context.Context, ids []string) (map[string]StoredStatus, error) {
	items, err := t.batchGetItems(ctx, ids, "status", "updatedAt")
	if err != nil {
		return nil, fmt.Errorf("read stored status: %w", err)
	}
	statuses := make(map[string]StoredStatus, len(items))
	for id, item := range items {
		statuses[id] = StoredStatus{Status: stringAttr(item, "status"), UpdatedAt: stringAttr(item, "updatedAt")}
	}
	return statuses, nil
}

// batchGetItems reads the stored items among ids, projected to the key and
// attrs, batchGetLimit keys per BatchGetItem, and returns them by
// conversation id; ids not stored are absent. Reads are eventually
// consistent, half the price of consistent ones; callers must tolerate an
// item a moment out of date.
func (t *Table) batchGetItems(ctx context.Context, ids []string, attrs ...string) (map[string]map[string]types.AttributeValue, error) {
	// DynamoDB rejects a request that names a key twice.
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	names := map[string]string{"#id": PartitionKey}
	projection := []string{"#id"}
	for _, a := range attrs {
		names["#"+a] = a // every name through a placeholder: status is a reserved word
		projection = append(projection, "#"+a)
	}
	items := make(map[string]map[string]types.AttributeValue, len(ids))
	for chunk := range slices.Chunk(ids, batchGetLimit) {
		keys := make([]map[string]types.AttributeValue, 0, len(chunk))
		for _, id := range chunk {
			keys = append(keys, map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: id}})
		}
		request := map[string]types.KeysAndAttributes{t.name: {
			Keys:                     keys,
			ProjectionExpression:     aws.String(strings.Join(projection, ", ")),
			ExpressionAttributeNames: names,
		}}
		// DynamoDB hands back keys it could not read under load; retry those
		// a few times, then give up.
		for attempt := 0; len(request) > 0; attempt++ {
			if attempt == batchGetAttempts {
				return nil, fmt.Errorf("batch get: keys still unprocessed after %d attempts", attempt)
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
				return nil, fmt.Errorf("batch get %d conversations: %w", len(keys), err)
			}
			for _, item := range out.Responses[t.name] {
				if id := stringAttr(item, PartitionKey); id != "" {
					items[id] = item
				}
			}
			request = out.UnprocessedKeys
		}
	}
	return items, nil
}

// stringAttr is the value of a string attribute; "" when item lacks it or it
// is of another type.
func stringAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// intAttr is the value of a whole-number attribute; 0 when item lacks it or
// it is of another type.
func intAttr(item map[string]types.AttributeValue, name string) int {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.Atoi(v.Value)
		return n
	}
	return 0
}

// OrgIDs reads the orgId of the stored items among ids, so that a
// conversation retried by id is stored under the org it had.
func (t *Table) OrgIDs(ctx context.Context, ids []string) (map[string]string, error) {
	items, err := t.batchGetItems(ctx, ids, "orgId")
	if err != nil {
		return nil, fmt.Errorf("read stored org ids: %w", err)
	}
	orgs := make(map[string]string, len(items))
	for id, item := range items {
		if org := stringAttr(item, "orgId"); org != "" {
			orgs[id] = org
		}
	}
	return orgs, nil
}
