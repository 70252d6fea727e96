package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Which workflows handled a conversation is kept on its item, written with
// it: the batch workflows whose requests wrote it (batchIds) and the fetch
// activity that wrote its record (fetchedBy). `starter conversations
// where` reads them with one GetItem. Workflow search attributes cannot
// say it: a batch holds up to 10,000 conversations, and Temporal limits a
// search attribute value to 2 KB and a workflow's to 40 KB in all.

// MaxBatchIDs bounds the batch workflow ids an item keeps, the latest
// ones: a conversation is usually asked for by one or two batches (its
// customer.end and acw events), and the ids must fit the item's margin
// (maxItemBytes).
const MaxBatchIDs = 5

// maxWorkflowIDLen skips workflow ids too long to be this project's (its
// ids are under 100 characters), so that no id can crowd the item.
const maxWorkflowIDLen = 200

// FetchRef names the fetch activity that wrote an item's record: the
// scheduler workflow's run and the activity in it.
type FetchRef struct {
	WorkflowID string `dynamodbav:"workflowId" json:"workflowId"`
	RunID      string `dynamodbav:"runId" json:"runId"`
	ActivityID string `dynamodbav:"activityId" json:"activityId"`
}

// MergeBatchIDs adds ids to stored, each id once, keeping the last
// MaxBatchIDs in the order they came.
func MergeBatchIDs(stored, ids []string) []string {
	out := slices.Clone(stored)
	for _, id := range ids {
		if id == "" || len(id) > maxWorkflowIDLen {
			continue
		}
		if i := slices.Index(out, id); i >= 0 {
			out = slices.Delete(out, i, i+1)
		}
		out = append(out, id)
	}
	if len(out) > MaxBatchIDs {
		out = out[len(out)-MaxBatchIDs:]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// batchIDsAttr reads an item's batchIds.
func batchIDsAttr(item map[string]types.AttributeValue) []string {
	var ids []string
	if av, ok := item["batchIds"]; ok {
		_ = attributevalue.Unmarshal(av, &ids)
	}
	return ids
}

// Handling is what a conversation's item says of the workflows that
// handled it.
type Handling struct {
	ConversationID string `dynamodbav:"conversationId" json:"conversationId"`
	// Status is complete, incomplete or failed.
	Status        string `dynamodbav:"status" json:"status"`
	FetchedAt     string `dynamodbav:"fetchedAt" json:"fetchedAt,omitempty"`
	FailedAt      string `dynamodbav:"failedAt" json:"failedAt,omitempty"`
	FailureReason string `dynamodbav:"failureReason" json:"failureReason,omitempty"`
	UpdatedAt     string `dynamodbav:"updatedAt" json:"updatedAt,omitempty"`
	// BatchIDs are the batch workflows whose requests wrote the item (or
	// gave up on it), oldest first; empty on items written before they
	// were recorded.
	BatchIDs []string `dynamodbav:"batchIds" json:"batchIds"`
	// FetchedBy is the fetch that wrote the stored record; nil on failed
	// items and on items written before it was recorded.
	FetchedBy *FetchRef `dynamodbav:"fetchedBy" json:"fetchedBy,omitempty"`
}

// Handling reads what the conversation's item says of the workflows that
// handled it; false when it has no item.
func (t *Table) Handling(ctx context.Context, conversationID string) (Handling, bool, error) {
	attrs := []string{"conversationId", "status", "fetchedAt", "failedAt", "failureReason", "updatedAt", "batchIds", "fetchedBy"}
	names := make(map[string]string, len(attrs))
	projection := ""
	for i, a := range attrs {
		names[fmt.Sprintf("#a%d", i)] = a
		if i > 0 {
			projection += ", "
		}
		projection += fmt.Sprintf("#a%d", i)
	}
	out, err := t.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(t.name),
		Key:                      map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: conversationID}},
		ProjectionExpression:     aws.String(projection),
		ExpressionAttributeNames: names,
		ConsistentRead:           aws.Bool(true),
	})
	if err != nil {
		return Handling{}, false, fmt.Errorf("read conversation %s from %s: %w", conversationID, t.name, err)
	}
	if out.Item == nil {
		return Handling{}, false, nil
	}
	var h Handling
	if err := attributevalue.UnmarshalMap(out.Item, &h); err != nil {
		return Handling{}, false, fmt.Errorf("read conversation %s from %s: %w", conversationID, t.name, err)
	}
	return h, true, nil
}

// Get reads a batch's audit record; false when there is none (the batch
// has not finished, or finished before records were written).
func (b *Batches) Get(ctx context.Context, batchID string) (BatchRecord, bool, error) {
	out, err := b.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(b.name),
		Key:       map[string]types.AttributeValue{BatchKey: &types.AttributeValueMemberS{Value: batchID}},
	})
	if err != nil {
		return BatchRecord{}, false, fmt.Errorf("read batch %s from %s: %w", batchID, b.name, err)
	}
	if out.Item == nil {
		return BatchRecord{}, false, nil
	}
	var r BatchRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return BatchRecord{}, false, fmt.Errorf("read batch %s from %s: %w", batchID, b.name, err)
	}
	return r, true, nil
}
