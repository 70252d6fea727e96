package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tableActiveTimeout bounds CreateTable's wait; local stacks take about a
// second, so hitting it means something is wrong.
const tableActiveTimeout = time.Minute

// API is the subset of *dynamodb.Client the store uses.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Config configures a Table.
type Config struct {
	// TableName defaults to DefaultTableName.
	TableName string
	// DetailBucket receives the details too large for their item, through
	// Objects; without one they are dropped (detailOmitted).
	DetailBucket string
	Objects      ObjectAPI
	// Now stamps updatedAt; it defaults to time.Now and exists for tests.
	// Concurrent writes call it from several goroutines.
	Now func() time.Time
}

// Table reads and writes conversation records in one DynamoDB table.
type Table struct {
	api          API
	name         string
	detailBucket string
	objects      ObjectAPI
	now          func() time.Time
}

// NewTable returns a Table using api.
func NewTable(api API, cfg Config) *Table {
	t := &Table{api: api, name: cfg.TableName, detailBucket: cfg.DetailBucket, objects: cfg.Objects, now: cfg.Now}
	if t.name == "" {
		t.name = DefaultTableName
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t
}

// Name is the DynamoDB table name.
func (t *Table) Name() string { return t.name }

// API is the DynamoDB client the table uses, to open the batches table
// with the same one.
func (t *Table) API() API { return t.api }

// CreateTable creates the table with its DayIndex if it does not exist and
// waits until it is ACTIVE. It is for local stacks; in AWS, Terraform owns
// the table. A local table created before the index keeps working without
// it (dynalite cannot add an index to a table) until it is deleted and
// created again.
func (t *Table) CreateTable(ctx context.Context) error {
	return createTable(ctx, t.api, t.name, PartitionKey, dayIndex())
}

// dayIndex is DayIndex as CreateTable takes it.
func dayIndex() types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName: aws.String(DayIndex),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(DayIndexKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(DayIndexSortKey), KeyType: types.KeyTypeRange},
		},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: DayIndexAttributes},
	}
}

// keyAttributes defines the key attributes of a table keyed by hashKey
// with indexes, all of type S.
func keyAttributes(hashKey string, indexes ...types.GlobalSecondaryIndex) []types.AttributeDefinition {
	names := []string{hashKey}
	for _, index := range indexes {
		for _, k := range index.KeySchema {
			names = append(names, aws.ToString(k.AttributeName))
		}
	}
	defs := make([]types.AttributeDefinition, 0, len(names))
	for _, name := range slices.Compact(names) {
		defs = append(defs, types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS})
	}
	return defs
}

// createTable creates an on-demand table keyed by hashKey (type S), with
// indexes, unless it exists, and waits until it is ACTIVE.
func createTable(ctx context.Context, api API, name, hashKey string, indexes ...types.GlobalSecondaryIndex) error {
	_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:              aws.String(name),
		BillingMode:            types.BillingModePayPerRequest,
		AttributeDefinitions:   keyAttributes(hashKey, indexes...),
		KeySchema:              []types.KeySchemaElement{{AttributeName: aws.String(hashKey), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: indexes,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // in use: it exists, perhaps still CREATING
		return fmt.Errorf("create table %s: %w", name, err)
	}
	// The SDK's defaults (20 s minimum between polls) suit AWS, not a local
	// table that is ready within a second.
	waiter := dynamodb.NewTableExistsWaiter(api, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableActiveTimeout); err != nil {
		return fmt.Errorf("wait for table %s to be active: %w", name, err)
	}
	return nil
}

// GetRecord reads the stored record of a conversation; false when there is none.
func (t *Table) GetRecord(ctx context.Context, conversationID string) (Record, bool, error) {
	item, err := t.getItem(ctx, conversationID)
	if err != nil || item == nil {
		return Record{}, false, err
	}
	var r Record
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return Record{}, false, fmt.Errorf("get conversation %s: unmarshal: %w", conversationID, err)
	}
	// DynamoDB returns sets in no particular order; sorted they compare equal
	// to what NewRecord built.
	for _, set := range [][]string{r.DivisionIDs, r.QueueIDs, r.UserIDs, r.WrapUpCodes, r.MissingWrapUps} {
		slices.Sort(set)
	}
	return r, true, nil
}

// Get reads the stored item of a conversation as plain Go values for
// printing as JSON: strings, int64 or float64 numbers, sorted string sets,
// and detail decoded to the conversation JSON. False when there is none.
func (t *Table) Get(ctx context.Context, conversationID string) (map[string]any, bool, error) {
	item, err := t.getItem(ctx, conversationID)
	if err != nil || item == nil {
		return nil, false, err
	}
	out := make(map[string]any, len(item))
	for name, av := range item {
		v, err := plainValue(av)
		if err != nil {
			return nil, false, fmt.Errorf("get conversation %s: attribute %s: %w", conversationID, name, err)
		}
		out[name] = v
	}
	if detail, ok := out["detail"].([]byte); ok {
		raw, err := DecodeDetail(detail)
		if err != nil {
			return nil, false, fmt.Errorf("get conversation %s: %w", conversationID, err)
		}
		out["detail"] = raw
	}
	return out, true, nil
}

// getItem returns nil, nil when the conversation has no item.
func (t *Table) getItem(ctx context.Context, conversationID string) (map[string]types.AttributeValue, error) {
	out, err := t.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: conversationID}},
		ConsistentRead: aws.Bool(true), // callers check what was just written
	})
	if err != nil {
		return nil, fmt.Errorf("get conversation %s: %w", conversationID, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// plainValue converts the attribute types a Record produces.
func plainValue(av types.AttributeValue) (any, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value, nil
	case *types.AttributeValueMemberN:
		if i, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			return i, nil
		}
		return strconv.ParseFloat(v.Value, 64)
	case *types.AttributeValueMemberB:
		return v.Value, nil
	case *types.AttributeValueMemberSS:
		return slices.Sorted(slices.Values(v.Value)), nil
	case *types.AttributeValueMemberBOOL:
		return v.Value, nil
	case *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberL:
		out := make([]any, len(v.Value))
		for i, e := range v.Value {
			var err error
			if out[i], err = plainValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *types.AttributeValueMemberM:
		out := make(map[string]any, len(v.Value))
		for name, e := range v.Value {
			pv, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[name] = pv
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unsupported attribute type %T", av)
	}
}
