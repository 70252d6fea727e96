package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// migratePageSize is how many items each Scan page of MigrateDayKeys
// examines, so that a run can stop and resume without losing much.
const migratePageSize = 100

// DayKeyProgress is where a MigrateDayKeys run is, as its checkpoints
// report it.
type DayKeyProgress struct {
	// After is the conversationId the scan resumes after; "" at the start,
	// and again once the whole table was scanned (Done).
	After string `json:"after,omitempty"`
	Done  bool   `json:"done,omitempty"`
	// Scanned counts the items examined, Updated those given their orgDay.
	// Skipped were written with one meanwhile, or changed under the run.
	Scanned int `json:"scanned"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
}

// MigrateDayKeys gives orgDay to the items written before DayIndex, so the
// index finds them; items written since have it. It scans the table from
// from.After, at most perSecond items examined or updated a second, so that
// it leaves the table's capacity to the workers, and calls checkpoint with
// the progress after each page; a run stopped at any point resumes from its
// last checkpoint. Each update is conditional on the item still lacking
// orgDay and having the start and org it was computed from, so a record
// written meanwhile is never touched.
func (t *Table) MigrateDayKeys(ctx context.Context, from DayKeyProgress, perSecond float64, checkpoint func(DayKeyProgress) error) (DayKeyProgress, error) {
	if perSecond <= 0 {
		return from, fmt.Errorf("migrate %s: the rate must be above 0, got %g", t.name, perSecond)
	}
	p := from
	pace := newPacer(perSecond)
	in := &dynamodb.ScanInput{
		TableName:                aws.String(t.name),
		Limit:                    aws.Int32(migratePageSize),
		FilterExpression:         aws.String("attribute_exists(#start) AND attribute_not_exists(#orgDay)"),
		ProjectionExpression:     aws.String("#id, #start, #org"),
		ExpressionAttributeNames: map[string]string{"#id": PartitionKey, "#start": DayIndexSortKey, "#orgDay": DayIndexKey, "#org": "orgId"},
	}
	if p.After != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: p.After}}
	}
	for {
		page, err := t.api.Scan(ctx, in)
		if err != nil {
			return p, fmt.Errorf("migrate %s: scan after %q: %w", t.name, p.After, err)
		}
		p.Scanned += int(page.ScannedCount)
		if err := pace.wait(ctx, int(page.ScannedCount)); err != nil {
			return p, err
		}
		for _, item := range page.Items {
			updated, err := t.setOrgDay(ctx, item)
			if err != nil {
				return p, err
			}
			if updated {
				p.Updated++
			} else {
				p.Skipped++
			}
			if err := pace.wait(ctx, 1); err != nil {
				return p, err
			}
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
		p.After, p.Done = stringAttr(page.LastEvaluatedKey, PartitionKey), len(page.LastEvaluatedKey) == 0
		if err := checkpoint(p); err != nil {
			return p, err
		}
		if p.Done {
			return p, nil
		}
	}
}

// setOrgDay writes the orgDay of one item read by MigrateDayKeys; false
// when the item changed since (or cannot have one: an unreadable start).
func (t *Table) setOrgDay(ctx context.Context, item map[string]types.AttributeValue) (bool, error) {
	id, org, rawStart := stringAttr(item, PartitionKey), stringAttr(item, "orgId"), stringAttr(item, DayIndexSortKey)
	start, err := time.Parse(time.RFC3339Nano, rawStart)
	if err != nil {
		return false, nil
	}
	names := map[string]string{"#orgDay": DayIndexKey, "#start": DayIndexSortKey, "#org": "orgId"}
	values := map[string]types.AttributeValue{
		":orgDay": &types.AttributeValueMemberS{Value: OrgDay(org, start)},
		":start":  &types.AttributeValueMemberS{Value: rawStart},
	}
	condition := "attribute_not_exists(#orgDay) AND #start = :start AND "
	if org == "" {
		condition += "attribute_not_exists(#org)"
	} else {
		values[":org"] = &types.AttributeValueMemberS{Value: org}
		condition += "#org = :org"
	}
	_, err = t.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.name),
		Key:                       map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          aws.String("SET #orgDay = :orgDay"),
		ConditionExpression:       aws.String(condition),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var changed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &changed):
		return false, nil
	default:
		return false, fmt.Errorf("migrate %s: set orgDay of %s: %w", t.name, id, err)
	}
}

// pacer holds work to a rate: after each n units done, wait sleeps until
// they fit in it. Time lost when the work itself was slower is not made up
// with a burst.
type pacer struct {
	every time.Duration
	next  time.Time
}

func newPacer(perSecond float64) *pacer {
	return &pacer{every: time.Duration(float64(time.Second) / perSecond)}
}

func (p *pacer) wait(ctx context.Context, n int) error {
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(n) * p.every)
	timer := time.NewTimer(time.Until(p.next))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
