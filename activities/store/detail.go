package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ObjectAPI is the subset of *s3.Client the store uses for the details too
// large for an item.
type ObjectAPI interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// ErrDetailOmitted: the item was written without a detail bucket while its
// detail was too large for it; the detail is only in Genesys.
var ErrDetailOmitted = errors.New("the detail was too large for the item and no detail bucket was configured")

// detailKey is where a detail too large for its item goes in the detail
// bucket: <org>/<UTC day of conversationStart>/<conversationId>/<hash>.json.gz,
// the hash being the first 16 bytes of the gzip's SHA-256. Each version of
// a conversation is an object of its own, so that two writers of different
// versions never overwrite the object the winner's item points to.
func detailKey(orgID string, start time.Time, conversationID string, gz []byte) string {
	sum := sha256.Sum256(gz)
	return fmt.Sprintf("%s/%s/%s/%s.json.gz", cmp.Or(orgID, UnknownOrg), start.UTC().Format(time.DateOnly),
		conversationID, hex.EncodeToString(sum[:16]))
}

// placeDetail decides where the detail of a record too large for its item
// goes: to the detail bucket, or, without one, nowhere (DetailOmitted).
func (t *Table) placeDetail(r Record) (Record, error) {
	switch {
	case r.largeDetail == nil:
		return r, nil
	case t.detailBucket == "":
		r.DetailKey, r.DetailOmitted, r.largeDetail = "", true, nil
		return r, nil
	case t.objects == nil:
		return r, fmt.Errorf("conversation %s: detail bucket %s configured without an S3 client", r.ConversationID, t.detailBucket)
	}
	r.DetailBucket = t.detailBucket
	return r, nil
}

// putDetail writes r's large detail to its object, encrypted at rest. The
// key names the content, so writing it again is harmless.
func (t *Table) putDetail(ctx context.Context, r Record) error {
	_, err := t.objects.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(r.DetailBucket),
		Key:                  aws.String(r.DetailKey),
		Body:                 bytes.NewReader(r.largeDetail),
		ContentType:          aws.String("application/gzip"),
		ServerSideEncryption: s3types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return fmt.Errorf("write detail of conversation %s to s3://%s/%s: %w", r.ConversationID, r.DetailBucket, r.DetailKey, err)
	}
	return nil
}

// Detail returns the conversation JSON of r exactly as it was fetched,
// from the item or from the detail bucket; ErrDetailOmitted when it was
// dropped.
func (t *Table) Detail(ctx context.Context, r Record) (json.RawMessage, error) {
	switch {
	case len(r.Detail) > 0:
		return DecodeDetail(r.Detail)
	case r.DetailKey != "":
		return t.readDetail(ctx, r.DetailBucket, r.DetailKey)
	case r.DetailOmitted:
		return nil, ErrDetailOmitted
	}
	return nil, fmt.Errorf("conversation %s has no detail (status %s)", r.ConversationID, r.Status)
}

func (t *Table) readDetail(ctx context.Context, bucket, key string) (json.RawMessage, error) {
	if t.objects == nil {
		return nil, fmt.Errorf("the detail is in s3://%s/%s; reading it needs an S3 client", bucket, key)
	}
	out, err := t.objects.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("read detail s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	gz, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read detail s3://%s/%s: %w", bucket, key, err)
	}
	return DecodeDetail(gz)
}
