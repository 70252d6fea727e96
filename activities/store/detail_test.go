package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testBucket = "genesys-details-test"

// countingObjects is an S3 API that counts the writes reaching it and can
// fail them.
type countingObjects struct {
	ObjectAPI
	puts   int
	putErr error
}

func (c *countingObjects) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	c.puts++
	if c.putErr != nil {
		return nil, c.putErr
	}
	return c.ObjectAPI.PutObject(ctx, in, optFns...)
}

// fakeS3 is gofakes3, an S3 API in memory, behind a real HTTP listener with
// testBucket created.
func fakeS3(t testing.TB) *countingObjects {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(testBucket))
	server := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(server.Close)
	client := s3.New(s3.Options{BaseEndpoint: aws.String(server.URL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	return &countingObjects{ObjectAPI: client}
}

func tableWithBucket(api API, objects ObjectAPI) *Table {
	return NewTable(api, Config{TableName: "conversations-test", DetailBucket: testBucket, Objects: objects,
		Now: func() time.Time { return writeTime }})
}

func TestUpsertAllWritesATooLargeDetailToTheBucketEncryptedAndPointsTheItemToIt(t *testing.T) {
	ctx := context.Background()
	objects := fakeS3(t)
	api := &fakeAPI{}
	raw := oversizeConversation(t)
	r, err := NewRecord(raw, "org-1", fetchedAt)
	require.NoError(t, err)

	outcomes, err := tableWithBucket(api, objects).UpsertAll(ctx, []Record{r})

	require.NoError(t, err)
	assert.Equal(t, []Outcome{Written}, outcomes)
	require.Len(t, api.puts, 1)
	item := api.puts[0].Item
	assert.NotContains(t, item, "detail")
	assert.NotContains(t, item, "detailOmitted")
	assert.Equal(t, &types.AttributeValueMemberS{Value: testBucket}, item["detailBucket"])
	assert.Equal(t, &types.AttributeValueMemberS{Value: r.DetailKey}, item["detailKey"])
	obj, err := objects.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(r.DetailKey)})
	require.NoError(t, err)
	defer obj.Body.Close()
	assert.Equal(t, s3types.ServerSideEncryptionAes256, obj.ServerSideEncryption)
	gz, err := io.ReadAll(obj.Body)
	require.NoError(t, err)
	assert.Equal(t, r.largeDetail, gz)

	var stored Record
	require.NoError(t, attributevalue.UnmarshalMap(item, &stored))
	detail, err := tableWithBucket(api, objects).Detail(ctx, stored)
	require.NoError(t, err)
	assert.Equal(t, raw, []byte(detail), "read back from the bucket byte for byte")
}

func TestUpsertAllWritesATooLargeDetailOnlyWhenItsItemIsWritten(t *testing.T) {
	objects := fakeS3(t)
	r, err := NewRecord(oversizeConversation(t), "org-1", fetchedAt)
	require.NoError(t, err)
	placed, err := tableWithBucket(nil, objects).placeDetail(r)
	require.NoError(t, err)
	api := &fakeAPI{stored: map[string]map[string]types.AttributeValue{r.ConversationID: storedItem(t, placed)}}

	later, err := NewRecord(oversizeConversation(t), "org-1", fetchedAt.Add(time.Minute))
	require.NoError(t, err)
	outcomes, err := tableWithBucket(api, objects).UpsertAll(context.Background(), []Record{later})

	require.NoError(t, err)
	assert.Equal(t, []Outcome{Unchanged}, outcomes, "same content, same key")
	assert.Zero(t, objects.puts)
	assert.Empty(t, api.puts)
}

func TestUpsertAllWritesNoItemWhenItsDetailCannotBeWritten(t *testing.T) {
	objects := fakeS3(t)
	objects.putErr = errors.New("AccessDenied: not authorized to perform s3:PutObject")
	api := &fakeAPI{}
	r, err := NewRecord(oversizeConversation(t), "org-1", fetchedAt)
	require.NoError(t, err)

	_, err = tableWithBucket(api, objects).UpsertAll(context.Background(), []Record{r})

	assert.ErrorContains(t, err, "write detail of conversation c-oversize to s3://"+testBucket+"/org-1/2026-11-27/c-oversize/")
	assert.Empty(t, api.puts, "an item never points to a missing object")
}

func TestUpsertAllWithABucketButNoS3ClientIsAnError(t *testing.T) {
	r, err := NewRecord(oversizeConversation(t), "org-1", fetchedAt)
	require.NoError(t, err)
	api := &fakeAPI{}

	_, err = NewTable(api, Config{DetailBucket: testBucket}).UpsertAll(context.Background(), []Record{r})

	assert.ErrorContains(t, err, "without an S3 client")
	assert.Empty(t, api.batchGets)
}

func TestDetailReadsTheItemOrTheBucketAndSaysWhenItWasDropped(t *testing.T) {
	ctx := context.Background()
	table := tableWithBucket(&fakeAPI{}, fakeS3(t))
	inline := fixtureRecord(t, completeFixture, fetchedAt)

	detail, err := table.Detail(ctx, inline)
	require.NoError(t, err)
	assert.Equal(t, readFixture(t, completeFixture), []byte(detail))

	_, err = table.Detail(ctx, Record{ConversationID: "c-1", DetailOmitted: true})
	assert.ErrorIs(t, err, ErrDetailOmitted)
	_, err = table.Detail(ctx, Record{ConversationID: "c-1", DetailBucket: testBucket, DetailKey: "org-1/2026-11-27/c-1/00.json.gz"})
	assert.ErrorContains(t, err, "read detail s3://"+testBucket+"/org-1/2026-11-27/c-1/00.json.gz")
	_, err = newFakeTable(&fakeAPI{}).Detail(ctx, Record{ConversationID: "c-1", DetailBucket: testBucket, DetailKey: "k"})
	assert.ErrorContains(t, err, "needs an S3 client")
}

func TestDetailKeyIsOrgDayConversationAndContent(t *testing.T) {
	start := time.Date(2026, 11, 30, 23, 59, 0, 0, time.FixedZone("CET", 3600))
	a := detailKey("org-1", start, "c-1", []byte("a"))
	assert.Regexp(t, `^org-1/2026-11-30/c-1/[0-9a-f]{32}\.json\.gz$`, a, "the UTC day")
	assert.NotEqual(t, a, detailKey("org-1", start, "c-1", []byte("b")))
	assert.True(t, bytes.HasPrefix([]byte(detailKey("", start, "c-1", nil)), []byte("unknown-org/")))
}
