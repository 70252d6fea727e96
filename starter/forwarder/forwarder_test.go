package forwarder

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/internal/fixtures"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

type fakeStarter struct {
	err     error
	options []client.StartWorkflowOptions
	inputs  []workflows.IngestInput
}

func (f *fakeStarter) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if wf != workflows.IngestWorkflowName {
		return nil, errors.New("unexpected workflow")
	}
	f.options = append(f.options, o)
	f.inputs = append(f.inputs, args[0].(workflows.IngestInput))
	if f.err != nil {
		return nil, f.err
	}
	return fakeRun{id: o.ID}, nil
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-1" }

func newHandler(t *testing.T, starter WorkflowStarter) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	cfg, err := config.LoadForwarder(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	return New(starter, cfg, zap.New(core)), logs
}

func TestSQSBatchStartsOneWorkflowAndAcknowledgesPoison(t *testing.T) {
	starter := &fakeStarter{}
	h, logs := newHandler(t, starter)
	out, err := h.Forward(context.Background(), fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err)

	require.Len(t, starter.options, 1)
	opts := starter.options[0]
	assert.Equal(t, out.WorkflowID, opts.ID)
	assert.Equal(t, workflows.DefaultTaskQueue, opts.TaskQueue)
	assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, opts.WorkflowIDConflictPolicy)
	assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, opts.WorkflowIDReusePolicy)
	in := starter.inputs[0]
	assert.Len(t, in.Conversations, 2)
	assert.Equal(t, workflows.DefaultReadyTimeout, in.Options.ReadyTimeout)
	assert.Zero(t, in.Options.FetchBatchSize, "how to fetch is the worker's to say")

	assert.Equal(t, events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}, out.LambdaResponse())
	rejected := logs.FilterMessage("record rejected").All()
	require.Len(t, rejected, 2)
	assert.Equal(t, "m-0004", rejected[0].ContextMap()["messageId"])
	assert.Equal(t, "m-0005", rejected[1].ContextMap()["messageId"])
}

func TestSQSStartFailureHandsBackOnlyTheRecordsThatMaySucceed(t *testing.T) {
	h, _ := newHandler(t, &fakeStarter{err: serviceerror.NewUnavailable("connection refused")})
	out, err := h.Forward(context.Background(), fixtures.Read(t, "events/sqs-batch.json"))
	require.NoError(t, err, "an error would fail the whole batch, poison included")
	assert.Equal(t, events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{
		{ItemIdentifier: "m-0001"}, {ItemIdentifier: "m-0002"}, {ItemIdentifier: "m-0003"},
	}}, out.LambdaResponse())
}

func TestSingleEventStartFailureIsReturnedForLambdaToRetry(t *testing.T) {
	h, _ := newHandler(t, &fakeStarter{err: serviceerror.NewUnavailable("connection refused")})
	_, err := h.Forward(context.Background(), fixtures.Read(t, "events/customer-end.json"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start workflow")
}

func TestRedeliveryOfAFinishedBatchIsAcknowledged(t *testing.T) {
	h, logs := newHandler(t, &fakeStarter{err: serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "")})
	out, err := h.Forward(context.Background(), fixtures.Read(t, "events/pipes-array.json"))
	require.NoError(t, err)
	assert.True(t, out.AlreadyStarted)
	assert.Equal(t, 1, logs.FilterMessage("delivery already forwarded").Len())
}

func TestUnreadablePayloadIsRejectedWithoutStarting(t *testing.T) {
	starter := &fakeStarter{}
	h, _ := newHandler(t, starter)
	_, err := h.Forward(context.Background(), []byte("{not json"))
	assert.ErrorIs(t, err, ErrUnusablePayload)
	assert.Empty(t, starter.options)
}

func TestDeliveryOfOnlyPoisonStartsNothing(t *testing.T) {
	starter := &fakeStarter{}
	h, _ := newHandler(t, starter)
	out, err := h.Forward(context.Background(), []byte(`{"Records":[{"messageId":"m-1","body":"{not json"}]}`))
	require.NoError(t, err)
	assert.Empty(t, starter.options)
	assert.Equal(t, events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}, out.LambdaResponse())
}

func TestStartsWithoutSearchAttributesWhereTheNamespaceLacksThem(t *testing.T) {
	starter := &refusingStarter{}
	h, logs := newHandler(t, starter)
	for range 2 {
		_, err := h.Forward(context.Background(), fixtures.Read(t, "events/acw.json"))
		require.NoError(t, err)
	}
	assert.Equal(t, []int{2, 0, 0}, starter.attributeCounts, "refused once, then never sent again")
	assert.Equal(t, 1, logs.FilterMessageSnippet("search attributes").Len())
}

// refusingStarter refuses any start that carries search attributes, as a
// namespace does where they are not registered.
type refusingStarter struct{ attributeCounts []int }

func (r *refusingStarter) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	n := o.TypedSearchAttributes.Size()
	r.attributeCounts = append(r.attributeCounts, n)
	if n > 0 {
		return nil, serviceerror.NewInvalidArgument("search attribute GenesysOrgId is not defined")
	}
	return fakeRun{id: o.ID}, nil
}
