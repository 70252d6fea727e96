package store

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DayConversation is what DayIndex holds of one conversation: the item
// without its detail.
type DayConversation struct {
	ConversationID       string   `dynamodbav:"conversationId" json:"conversationId"`
	Status               string   `dynamodbav:"status" json:"status"`
	ConversationStart    string   `dynamodbav:"conversationStart" json:"conversationStart"`
	ConversationEnd      string   `dynamodbav:"conversationEnd" json:"conversationEnd,omitempty"`
	DurationMs           *int64   `dynamodbav:"durationMs" json:"durationMs,omitempty"`
	OriginatingDirection string   `dynamodbav:"originatingDirection" json:"originatingDirection,omitempty"`
	MediaType            string   `dynamodbav:"mediaType" json:"mediaType,omitempty"`
	DivisionIDs          []string `dynamodbav:"divisionIds,stringset" json:"divisionIds,omitempty"`
	QueueIDs             []string `dynamodbav:"queueIds,stringset" json:"queueIds,omitempty"`
	UserIDs              []string `dynamodbav:"userIds,stringset" json:"userIds,omitempty"`
	WrapUpCodes          []string `dynamodbav:"wrapUpCodes,stringset" json:"wrapUpCodes,omitempty"`
	ParticipantCount     int      `dynamodbav:"participantCount" json:"participantCount"`
	HandleTimeMs         int64    `dynamodbav:"handleTimeMs" json:"handleTimeMs"`
	TalkTimeMs           int64    `dynamodbav:"talkTimeMs" json:"talkTimeMs"`
	HoldTimeMs           int64    `dynamodbav:"holdTimeMs" json:"holdTimeMs"`
	AcwTimeMs            int64    `dynamodbav:"acwTimeMs" json:"acwTimeMs"`
	WaitTimeMs           int64    `dynamodbav:"waitTimeMs" json:"waitTimeMs"`
	AnswerTimeMs         int64    `dynamodbav:"answerTimeMs" json:"answerTimeMs"`
	IvrTimeMs            int64    `dynamodbav:"ivrTimeMs" json:"ivrTimeMs"`
	Abandoned            bool     `dynamodbav:"abandoned" json:"abandoned"`
	Transfers            int      `dynamodbav:"transfers" json:"transfers"`
	DisconnectType       string   `dynamodbav:"disconnectType" json:"disconnectType,omitempty"`
	Agents               []Agent  `dynamodbav:"agents" json:"agents,omitempty"`
	MissingWrapUps       []string `dynamodbav:"missingWrapUps,stringset" json:"missingWrapUps,omitempty"`
	OrgID                string   `dynamodbav:"orgId" json:"orgId,omitempty"`
	FirstEventAt         string   `dynamodbav:"firstEventAt" json:"firstEventAt,omitempty"`
	LastEventTopic       string   `dynamodbav:"lastEventTopic" json:"lastEventTopic,omitempty"`
	FetchedAt            string   `dynamodbav:"fetchedAt" json:"fetchedAt"`
	UpdatedAt            string   `dynamodbav:"updatedAt" json:"updatedAt"`
}

// DayFilter narrows ListDay; zero fields match everything.
type DayFilter struct {
	Status  string
	QueueID string
}

// ListDay yields the conversations of org that started on the UTC day of
// day, in start order, read from DayIndex a page (1 MB) at a time: no Scan,
// and filters apply inside DynamoDB. Items written before the index have no
// orgDay until their next write or `starter table migrate`, and are missed
// until then. The sequence stops at the first error, which it yields.
func (t *Table) ListDay(ctx context.Context, orgID string, day time.Time, f DayFilter) iter.Seq2[DayConversation, error] {
	return func(yield func(DayConversation, error) bool) {
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(t.name),
			IndexName:                 aws.String(DayIndex),
			KeyConditionExpression:    aws.String("#orgDay = :orgDay"),
			ExpressionAttributeNames:  map[string]string{"#orgDay": DayIndexKey},
			ExpressionAttributeValues: map[string]types.AttributeValue{":orgDay": &types.AttributeValueMemberS{Value: OrgDay(orgID, day)}},
		}
		var filters []string
		if f.Status != "" {
			in.ExpressionAttributeNames["#status"] = "status" // a reserved word
			in.ExpressionAttributeValues[":status"] = &types.AttributeValueMemberS{Value: f.Status}
			filters = append(filters, "#status = :status")
		}
		if f.QueueID != "" {
			in.ExpressionAttributeNames["#queueIds"] = "queueIds"
			in.ExpressionAttributeValues[":queue"] = &types.AttributeValueMemberS{Value: f.QueueID}
			filters = append(filters, "contains(#queueIds, :queue)")
		}
		if len(filters) > 0 {
			in.FilterExpression = aws.String(strings.Join(filters, " AND "))
		}
		pages := dynamodb.NewQueryPaginator(t.api, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(DayConversation{}, fmt.Errorf("list the conversations of %s: %w", OrgDay(orgID, day), err))
				return
			}
			for _, item := range page.Items {
				var c DayConversation
				if err := attributevalue.UnmarshalMap(item, &c); err != nil {
					yield(DayConversation{}, fmt.Errorf("list the conversations of %s: item %s: %w", OrgDay(orgID, day), stringAttr(item, PartitionKey), err))
					return
				}
				if !yield(c, nil) {
					return
				}
			}
		}
	}
}
