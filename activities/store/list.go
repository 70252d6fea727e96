package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Listed is what ListConversations reads of one item: enough to decide what
// to retry, not the detail.
type Listed struct {
	ConversationID string `json:"conversationId"`
	Status         string `json:"status"`
	OrgID          string `json:"orgId,omitempty"`
	UpdatedAt      string `json:"updatedAt"`
	FailureReason  string `json:"failureReason,omitempty"`
	LastError      string `json:"lastError,omitempty"`
	Attempts       int    `json:"attempts,omitempty"`
	LastEventAt    string `json:"lastEventAt,omitempty"`
}

// ListConversations reads the items whose status is one of statuses and
// that were updated at or after since (zero: any time), ordered by
// updatedAt. It scans the table: a failed or incomplete item is rare, and
// an operator's retry is not a hot path.
func (t *Table) ListConversations(ctx context.Context, statuses []string, since time.Time) ([]Listed, error) {
	names := map[string]string{"#status": "status", "#updatedAt": "updatedAt", "#id": PartitionKey}
	values := map[string]types.AttributeValue{}
	var terms []string
	for i, s := range statuses {
		p := fmt.Sprintf(":s%d", i)
		values[p] = &types.AttributeValueMemberS{Value: s}
		terms = append(terms, "#status = "+p)
	}
	if len(terms) == 0 {
		return nil, fmt.Errorf("list conversations: name at least one status")
	}
	filter := "(" + strings.Join(terms, " OR ") + ")"
	if !since.IsZero() {
		values[":since"] = &types.AttributeValueMemberS{Value: since.UTC().Format(TimeFormat)}
		filter += " AND #updatedAt >= :since"
	}
	projection := "#id, #status, #updatedAt, orgId, failureReason, lastError, attempts, lastEventAt"
	var out []Listed
	paginator := dynamodb.NewScanPaginator(t.api, &dynamodb.ScanInput{
		TableName:                 aws.String(t.name),
		FilterExpression:          aws.String(filter),
		ProjectionExpression:      aws.String(projection),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list conversations in %s: %w", t.name, err)
		}
		for _, item := range page.Items {
			out = append(out, Listed{
				ConversationID: stringAttr(item, PartitionKey),
				Status:         stringAttr(item, "status"),
				OrgID:          stringAttr(item, "orgId"),
				UpdatedAt:      stringAttr(item, "updatedAt"),
				FailureReason:  stringAttr(item, "failureReason"),
				LastError:      stringAttr(item, "lastError"),
				Attempts:       intAttr(item, "attempts"),
				LastEventAt:    stringAttr(item, "lastEventAt"),
			})
		}
	}
	slices.SortFunc(out, func(a, b Listed) int {
		return strings.Compare(a.UpdatedAt+a.ConversationID, b.UpdatedAt+b.ConversationID)
	})
	return out, nil
}
