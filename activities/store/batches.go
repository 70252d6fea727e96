package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BatchRecord is the audit record of one batch workflow: what it was given,
// what became of it, and when. It outlives Temporal's retention of the
// workflow's history. Its dynamodbav names are a contract like Record's.
type BatchRecord struct {
	BatchID string `dynamodbav:"batchId" json:"batchId"`
	// Delivery names the delivery the conversations came from (SQS message
	// ids, EventBridge ids, or a retry).
	Delivery         string `dynamodbav:"delivery,omitempty" json:"delivery,omitempty"`
	StartedAt        string `dynamodbav:"startedAt" json:"startedAt"`
	FinishedAt       string `dynamodbav:"finishedAt" json:"finishedAt"`
	FirstEventAt     string `dynamodbav:"firstEventAt,omitempty" json:"firstEventAt,omitempty"`
	LastStoredAt     string `dynamodbav:"lastStoredAt,omitempty" json:"lastStoredAt,omitempty"`
	Received         int    `dynamodbav:"received" json:"received"`
	StoredComplete   int    `dynamodbav:"storedComplete" json:"storedComplete"`
	StoredIncomplete int    `dynamodbav:"storedIncomplete" json:"storedIncomplete"`
	Unchanged        int    `dynamodbav:"unchanged" json:"unchanged"`
	Failed           int    `dynamodbav:"failed" json:"failed"`
	// Failures lists failed conversations, the first MaxReportedFailures of
	// the batch; every one also has its own failed item.
	Failures    []BatchFailure `dynamodbav:"failures,omitempty" json:"failures,omitempty"`
	Submissions int            `dynamodbav:"submissions" json:"submissions"`
	Runs        int            `dynamodbav:"runs" json:"runs"`
}

// BatchFailure is one failed conversation of a batch.
type BatchFailure struct {
	ConversationID string `dynamodbav:"conversationId" json:"conversationId"`
	Reason         string `dynamodbav:"reason" json:"reason"`
}

// Batches reads and writes batch records in their own table, so that the
// conversations table holds conversations only.
type Batches struct {
	api  API
	name string
}

// NewBatches returns the batches table called name (DefaultBatchTableName
// when empty).
func NewBatches(api API, name string) *Batches {
	if name == "" {
		name = DefaultBatchTableName
	}
	return &Batches{api: api, name: name}
}

// Name is the DynamoDB table name.
func (b *Batches) Name() string { return b.name }

// CreateTable creates the table if it does not exist; for local stacks.
func (b *Batches) CreateTable(ctx context.Context) error {
	return createTable(ctx, b.api, b.name, BatchKey)
}

// Put writes r, replacing the batch's earlier record: a batch writes one
// when it finishes, and a retried write writes the same.
func (b *Batches) Put(ctx context.Context, r BatchRecord) error {
	for i := range r.Failures {
		r.Failures[i].Reason = clip(r.Failures[i].Reason)
	}
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("batch %s: marshal: %w", r.BatchID, err)
	}
	if _, err := b.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(b.name), Item: item}); err != nil {
		return fmt.Errorf("write batch record %s: %w", r.BatchID, err)
	}
	return nil
}

// BackfillRecord is a finished backfill's or reconcile's report, in the
// batches table beside the batches it started.
type BackfillRecord struct {
	// BatchID is the backfill's workflow id.
	BatchID    string `dynamodbav:"batchId" json:"batchId"`
	Kind       string `dynamodbav:"kind" json:"kind"` // KindBackfill or KindReconcile
	FinishedAt string `dynamodbav:"finishedAt" json:"finishedAt"`
	// Report is the workflow's report as JSON (days, totals, batches,
	// problems): a few tens of KB for a year.
	Report string `dynamodbav:"report" json:"report"`
}

// Kinds of BackfillRecord.
const (
	KindBackfill  = "backfill"
	KindReconcile = "reconcile"
)

// PutBackfill writes a backfill's report, replacing an earlier write of it.
func (b *Batches) PutBackfill(ctx context.Context, r BackfillRecord) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("backfill %s: marshal: %w", r.BatchID, err)
	}
	if _, err := b.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(b.name), Item: item}); err != nil {
		return fmt.Errorf("write backfill report %s: %w", r.BatchID, err)
	}
	return nil
}

// List reads the batches that finished at or after since (zero: all),
// oldest first; backfill reports are left out.
func (b *Batches) List(ctx context.Context, since time.Time) ([]BatchRecord, error) {
	in := &dynamodb.ScanInput{TableName: aws.String(b.name),
		FilterExpression:         aws.String("attribute_not_exists(#kind)"),
		ExpressionAttributeNames: map[string]string{"#kind": "kind"}}
	if !since.IsZero() {
		in.FilterExpression = aws.String("attribute_not_exists(#kind) AND #finishedAt >= :since")
		in.ExpressionAttributeNames["#finishedAt"] = "finishedAt"
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":since": &types.AttributeValueMemberS{Value: since.UTC().Format(TimeFormat)}}
	}
	var out []BatchRecord
	paginator := dynamodb.NewScanPaginator(b.api, in)
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list batches in %s: %w", b.name, err)
		}
		var records []BatchRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &records); err != nil {
			return nil, fmt.Errorf("list batches in %s: %w", b.name, err)
		}
		out = append(out, records...)
	}
	slices.SortFunc(out, func(a, b BatchRecord) int { return strings.Compare(a.FinishedAt+a.BatchID, b.FinishedAt+b.BatchID) })
	return out, nil
}
