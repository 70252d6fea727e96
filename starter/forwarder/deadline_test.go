package forwarder

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
)

// hangingStarter is a Temporal that never answers: every start blocks until
// its context ends, as a dial to a silent server does.
type hangingStarter struct{ calls atomic.Int32 }

func (h *hangingStarter) ExecuteWorkflow(ctx context.Context, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	h.calls.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

func allValidRecordsOfTheSQSFixture() events.SQSEventResponse {
	return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{
		{ItemIdentifier: "m-0001"}, {ItemIdentifier: "m-0002"}, {ItemIdentifier: "m-0003"},
	}}
}

func TestHangingTemporalGivesBatchItemFailuresBeforeTheLambdaDeadline(t *testing.T) {
	starter := &hangingStarter{}
	h, logs := newHandler(t, starter) // FORWARDER_START_TIMEOUT is 10s: the Lambda deadline is nearer
	const lambdaTimeout = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), lambdaTimeout)
	defer cancel()

	began := time.Now()
	out, err := h.Forward(ctx, fixtures.Read(t, "events/sqs-batch.json"))
	took := time.Since(began)

	require.NoError(t, err, "an error would fail the whole batch, poison included")
	assert.Equal(t, allValidRecordsOfTheSQSFixture(), out.LambdaResponse())
	assert.NoError(t, ctx.Err(), "returned before the Lambda deadline")
	assert.Less(t, took, lambdaTimeout-responseMargin+time.Second, "gave up responseMargin before the deadline")
	assert.EqualValues(t, 1, starter.calls.Load())
	failed := logs.FilterMessage("start workflow failed").All()
	require.Len(t, failed, 1)
	assert.Equal(t, true, failed[0].ContextMap()["timedOut"])
}

func TestStartTimeoutCapsAStartWhenTheLambdaDeadlineIsFar(t *testing.T) {
	h, _ := newHandler(t, &hangingStarter{})
	h.cfg.StartTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	began := time.Now()
	out, err := h.Forward(ctx, fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err)
	assert.Less(t, time.Since(began), 2*time.Second)
	assert.Equal(t, allValidRecordsOfTheSQSFixture(), out.LambdaResponse())
}

func TestStartTimeoutAppliesWithoutALambdaDeadline(t *testing.T) {
	h, _ := newHandler(t, &hangingStarter{})
	h.cfg.StartTimeout = 200 * time.Millisecond

	began := time.Now()
	out, err := h.Forward(context.Background(), fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err)
	assert.Less(t, time.Since(began), 2*time.Second)
	assert.Equal(t, allValidRecordsOfTheSQSFixture(), out.LambdaResponse())
}

func TestNoTimeLeftForAStartHandsTheRecordsBackAtOnce(t *testing.T) {
	h, _ := newHandler(t, &hangingStarter{})
	ctx, cancel := context.WithTimeout(context.Background(), responseMargin/2)
	defer cancel()

	out, err := h.Forward(ctx, fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err)
	assert.NoError(t, ctx.Err(), "returned before the Lambda deadline")
	assert.Equal(t, allValidRecordsOfTheSQSFixture(), out.LambdaResponse())
}

func TestHangingTemporalFailsASingleEventBeforeTheLambdaDeadline(t *testing.T) {
	for _, fixture := range []string{"events/customer-end.json", "events/pipes-array.json"} {
		h, _ := newHandler(t, &hangingStarter{})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := h.Forward(ctx, fixtures.Read(t, fixture))
		require.Error(t, err, fixture)
		assert.ErrorIs(t, err, context.DeadlineExceeded, fixture)
		assert.Contains(t, err.Error(), "start workflow", fixture)
		assert.NoError(t, ctx.Err(), "%s: returned before the Lambda deadline", fixture)
		cancel()
	}
}
