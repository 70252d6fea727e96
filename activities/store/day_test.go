package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dayRecord is the complete fixture as conversation n, started at start in
// queue, of org-1.
func dayRecord(t *testing.T, n int, start time.Time, queue string) Record {
	t.Helper()
	raw := readFixture(t, completeFixture)
	raw = bytes.ReplaceAll(raw, []byte(fixtureID), []byte(fmt.Sprintf("00000000-0000-4000-8000-%012d", n)))
	raw = bytes.ReplaceAll(raw, []byte(`"conversationStart": "2026-11-27T10:54:47.667Z"`),
		[]byte(`"conversationStart": "`+start.UTC().Format(TimeFormat)+`"`))
	raw = bytes.ReplaceAll(raw, []byte(fixtureQueue), []byte(queue))
	r, err := NewRecord(raw, "org-1", fetchedAt)
	require.NoError(t, err)
	return r
}

// putAsBeforeTheIndex writes r as the code before DayIndex did: no orgDay.
func putAsBeforeTheIndex(t *testing.T, table *Table, r Record) {
	t.Helper()
	r.UpdatedAt = r.FetchedAt
	item, err := attributevalue.MarshalMap(r)
	require.NoError(t, err)
	delete(item, DayIndexKey)
	_, err = table.api.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table.name), Item: item})
	require.NoError(t, err)
}

func listDay(t *testing.T, table *Table, day time.Time, f DayFilter) []string {
	t.Helper()
	var ids []string
	for c, err := range table.ListDay(context.Background(), "org-1", day, f) {
		require.NoError(t, err)
		ids = append(ids, c.ConversationID)
	}
	return ids
}

// testDayIndexAndMigration: items written before DayIndex get their key on
// their next write or from MigrateDayKeys (which resumes where it stopped),
// and ListDay reads a day. In AWS, Terraform adds the index to the table;
// here the table has it from the start, as dynalite cannot add one.
func testDayIndexAndMigration(t *testing.T, table *Table) {
	ctx := context.Background()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var want []string
	const old = 130 // more than a scan page
	for n := range old {
		r := dayRecord(t, n, day.Add(time.Duration(n)*time.Minute), "q-a")
		putAsBeforeTheIndex(t, table, r)
		want = append(want, r.ConversationID)
	}
	other := dayRecord(t, old, day.Add(-time.Minute), "q-b") // the day before
	putAsBeforeTheIndex(t, table, other)
	_, err := table.RecordFailures(ctx, []Failure{{ConversationID: "00000000-0000-4000-8000-999999999999", Reason: "400"}})
	require.NoError(t, err)
	assert.Empty(t, listDay(t, table, day, DayFilter{}), "old items have no orgDay yet")

	// The next write of an old item gives it its key.
	rewritten := dayRecord(t, 0, day, "q-a")
	rewritten.FetchedAt = fetchedAt.Add(time.Minute).Format(TimeFormat)
	rewritten.Detail = append(bytes.Clone(rewritten.Detail), 0) // another version of the conversation
	assert.Equal(t, Written, upsert(t, table, rewritten))
	assert.Equal(t, want[:1], listDay(t, table, day, DayFilter{}))

	// A run that stops after its first page resumes from its checkpoint.
	stop := errors.New("stopped")
	var saved DayKeyProgress
	_, err = table.MigrateDayKeys(ctx, DayKeyProgress{}, 10_000, func(p DayKeyProgress) error {
		saved = p
		return stop
	})
	require.ErrorIs(t, err, stop)
	require.NotEmpty(t, saved.After)
	require.False(t, saved.Done)
	var checkpoints int
	done, err := table.MigrateDayKeys(ctx, saved, 10_000, func(DayKeyProgress) error { checkpoints++; return nil })
	require.NoError(t, err)
	assert.True(t, done.Done)
	assert.Equal(t, old, done.Updated, "every old item but the rewritten one, and the one of the other day")
	assert.Zero(t, done.Skipped)
	assert.Equal(t, old+2, done.Scanned, "every item once: the old ones, the other day's and the failed one")
	assert.GreaterOrEqual(t, checkpoints, 1)

	assert.Equal(t, want, listDay(t, table, day, DayFilter{}), "in start order")
	assert.Equal(t, []string{other.ConversationID}, listDay(t, table, day.AddDate(0, 0, -1), DayFilter{}))
	assert.Equal(t, []string{other.ConversationID}, listDay(t, table, day.AddDate(0, 0, -1), DayFilter{QueueID: "q-b"}))
	assert.Empty(t, listDay(t, table, day, DayFilter{QueueID: "q-b"}))
	assert.Empty(t, listDay(t, table, day, DayFilter{Status: StatusIncomplete}))
	assert.Len(t, listDay(t, table, day, DayFilter{Status: StatusComplete, QueueID: "q-a"}), old)

	again, err := table.MigrateDayKeys(ctx, DayKeyProgress{}, 10_000, func(DayKeyProgress) error { return nil })
	require.NoError(t, err)
	assert.Zero(t, again.Updated, "nothing left to migrate")
}

func TestMigrateDayKeysHoldsItsRate(t *testing.T) {
	api := &fakeAPI{}
	start := time.Now()
	_, err := newFakeTable(api).MigrateDayKeys(context.Background(), DayKeyProgress{}, 20, func(DayKeyProgress) error { return nil })
	require.NoError(t, err)
	assert.Less(t, time.Since(start), time.Second, "an empty page costs nothing")

	p := newPacer(100)
	start = time.Now()
	for range 5 {
		require.NoError(t, p.wait(context.Background(), 4))
	}
	assert.InDelta(t, 200*time.Millisecond, time.Since(start), float64(60*time.Millisecond), "20 units at 100 a second")
}

func TestMigrateDayKeysRejectsANonPositiveRate(t *testing.T) {
	_, err := newFakeTable(&fakeAPI{}).MigrateDayKeys(context.Background(), DayKeyProgress{}, 0, nil)
	assert.ErrorContains(t, err, "the rate must be above 0")
}

func TestOrgDayIsTheOrgAndTheUTCDayOfTheStart(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600))
	assert.Equal(t, "org-1#2026-11-30", OrgDay("org-1", start))
	assert.Equal(t, UnknownOrg+"#2026-11-30", OrgDay("", start))
}
