package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// countingProbe answers with err and counts its calls.
type countingProbe struct {
	calls atomic.Int32
	mu    sync.Mutex
	err   error
}

func (p *countingProbe) set(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

func (p *countingProbe) probe(context.Context) error {
	p.calls.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// newReadiness returns a Readiness of a Temporal and a table probe on a
// clock that moves only when the test calls advance.
func newReadiness() (*Readiness, *countingProbe, *countingProbe, func(time.Duration)) {
	temporal, table := &countingProbe{}, &countingProbe{}
	r := NewReadiness(Check{Name: "temporal", Probe: temporal.probe}, Check{Name: "dynamodb", Probe: table.probe})
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return clock }
	return r, temporal, table, func(d time.Duration) { clock = clock.Add(d) }
}

func getReady(t *testing.T, r *Readiness) (int, readyReport, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var report readyReport
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &report))
	return rec.Code, report, rec.Body.String()
}

func TestReadyWhenTemporalAndTheTableAnswer(t *testing.T) {
	r, _, _, _ := newReadiness()
	code, _, body := getReady(t, r)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"ready":true,"checks":[{"name":"temporal","ok":true},{"name":"dynamodb","ok":true}]}`, body)
}

func TestNotReadyNamesWhatFailed(t *testing.T) {
	r, temporal, table, advance := newReadiness()
	table.set(errors.New("read table conversations: ResourceNotFoundException: Requested resource not found"))
	code, report, _ := getReady(t, r)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.False(t, report.Ready)
	assert.Equal(t, []checkResult{
		{Name: "temporal", OK: true},
		{Name: "dynamodb", Error: "read table conversations: ResourceNotFoundException: Requested resource not found"},
	}, report.Checks)

	table.set(nil)
	temporal.set(serviceerror.NewUnavailable("connection refused"))
	advance(readyCacheFor)
	code, report, _ = getReady(t, r)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "temporal", report.Checks[0].Name)
	assert.Contains(t, report.Checks[0].Error, "connection refused")
	assert.True(t, report.Checks[1].OK)
}

func TestReadinessIsCachedAgainstProbeStorms(t *testing.T) {
	r, temporal, table, advance := newReadiness()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { getReady(t, r) })
	}
	wg.Wait()
	assert.EqualValues(t, 1, temporal.calls.Load(), "fifty probes at once, one round of checks")
	assert.EqualValues(t, 1, table.calls.Load())

	table.set(errors.New("AccessDeniedException"))
	advance(readyCacheFor - time.Millisecond)
	code, _, _ := getReady(t, r)
	assert.Equal(t, http.StatusOK, code, "still the cached answer")
	advance(time.Millisecond)
	code, _, _ = getReady(t, r)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.EqualValues(t, 2, table.calls.Load())
}

func TestEachCheckIsBoundedByATimeout(t *testing.T) {
	hung := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	r := NewReadiness(Check{Name: "temporal", Probe: hung}, Check{Name: "dynamodb", Probe: hung})
	assert.Equal(t, readyCheckTimeout, r.timeout)
	r.timeout = 50 * time.Millisecond
	start := time.Now()
	code, report, _ := getReady(t, r)
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, context.DeadlineExceeded.Error(), report.Checks[1].Error)
}

func TestAnAbandonedRequestIsNotCached(t *testing.T) {
	r, _, table, _ := newReadiness()
	table.set(context.Canceled)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, r.status(ctx).Ready)
	table.set(nil)
	code, _, _ := getReady(t, r)
	assert.Equal(t, http.StatusOK, code)
}

type fakeDynamo struct {
	in  *dynamodb.GetItemInput
	err error
}

func (f *fakeDynamo) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.in = in
	return &dynamodb.GetItemOutput{}, f.err
}

func TestTableProbeReadsAnItemThatDoesNotExist(t *testing.T) {
	db := &fakeDynamo{}
	require.NoError(t, TableProbe(db, "genesys-conversations", "conversationId")(context.Background()))
	assert.Equal(t, "genesys-conversations", *db.in.TableName)
	assert.Equal(t, map[string]types.AttributeValue{"conversationId": &types.AttributeValueMemberS{Value: "readyz-probe"}}, db.in.Key)

	db.err = &types.ResourceNotFoundException{Message: aws.String("Requested resource not found")}
	err := TableProbe(db, "genesys-conversations", "conversationId")(context.Background())
	var notFound *types.ResourceNotFoundException
	assert.ErrorAs(t, err, &notFound)
	assert.ErrorContains(t, err, "read table genesys-conversations")
}
