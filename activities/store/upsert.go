package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Outcome says what Upsert did.
type Outcome int

// Outcomes of Upsert; the zero value is none of them, so it cannot be
// mistaken for a result when an error is returned.
const (
	// Written: the record was stored.
	Written Outcome = iota + 1
	// Unchanged: the stored item was kept because it is as complete, as
	// recent or identical.
	Unchanged
)

func (o Outcome) String() string {
	switch o {
	case Written:
		return "written"
	case Unchanged:
		return "unchanged"
	default:
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
}

// Upsert stores r unless the stored item should win. Deliveries are
// at-least-once and writers concurrent, so the decision is a condition
// evaluated by DynamoDB on the stored item, not a read followed by a write:
//   - a conversation without an item is written;
//   - a complete record replaces an incomplete one, whatever their fetch times;
//   - otherwise r must be fetched later than the stored item, with different
//     content, and an incomplete r never replaces a complete item.
//
// Content is the gzipped detail, which is deterministic. When r has no
// detail (too large), status and fetchedAt stand in for it, so a newer fetch
// of the same status is written.
func (t *Table) Upsert(ctx context.Context, r Record) (Outcome, error) {
	if r.ConversationID == "" || r.FetchedAt == "" || (r.Status != StatusComplete && r.Status != StatusIncomplete) {
		return 0, fmt.Errorf("upsert conversation %q: record needs conversationId, fetchedAt and status %s or %s",
			r.ConversationID, StatusComplete, StatusIncomplete)
	}
	r.UpdatedAt = t.now().UTC().Format(TimeFormat)
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return 0, fmt.Errorf("upsert conversation %s: marshal: %w", r.ConversationID, err)
	}
	expr, names, values := upsertCondition(r)
	_, err = t.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(t.name),
		Item:                      item,
		ConditionExpression:       aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return Unchanged, nil
	case err != nil:
		return 0, fmt.Errorf("upsert conversation %s: %w", r.ConversationID, err)
	}
	return Written, nil
}

// upsertCondition builds the PutItem condition for r. Every name goes
// through a placeholder (status is a reserved word), and only the values the
// expression uses are passed, as DynamoDB rejects unused ones.
func upsertCondition(r Record) (string, map[string]string, map[string]types.AttributeValue) {
	names := map[string]string{"#id": PartitionKey, "#status": "status", "#fetchedAt": "fetchedAt"}
	values := map[string]types.AttributeValue{
		":incomplete": &types.AttributeValueMemberS{Value: StatusIncomplete},
		":fetchedAt":  &types.AttributeValueMemberS{Value: r.FetchedAt},
	}
	// newer: r was fetched later and its content differs. An item stored
	// without detail differs from any r with one.
	newer := "#fetchedAt < :fetchedAt"
	if len(r.Detail) > 0 {
		names["#detail"] = "detail"
		values[":detail"] = &types.AttributeValueMemberB{Value: r.Detail}
		newer += " AND (attribute_not_exists(#detail) OR #detail <> :detail)"
	}
	if r.Complete() {
		return "attribute_not_exists(#id) OR #status = :incomplete OR (" + newer + ")", names, values
	}
	return "attribute_not_exists(#id) OR (#status = :incomplete AND " + newer + ")", names, values
}
