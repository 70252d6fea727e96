// Package forwarder is the Lambda handler that starts one ingestion workflow
// per EventBridge delivery. The Lambda binary and `starter events send` run
// the same code.
package forwarder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// WorkflowStarter is the part of client.Client the forwarder uses.
type WorkflowStarter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Search attributes set on every workflow, for filtering in the Web UI.
// They must be registered in the namespace (the local dev server registers
// them); where they are not, workflows start without them.
var (
	OrgIDSearchAttribute             = temporal.NewSearchAttributeKeyKeyword("GenesysOrgId")
	ConversationCountSearchAttribute = temporal.NewSearchAttributeKeyInt64("IngestConversationCount")
)

// Handler forwards deliveries to Temporal.
type Handler struct {
	temporal WorkflowStarter
	cfg      config.Forwarder
	logger   *zap.Logger
	// noSearchAttributes is set once the namespace refused them.
	noSearchAttributes atomic.Bool
}

// New returns a Handler. The client may be lazy: nothing dials Temporal until
// the first delivery with conversations in it.
func New(temporal WorkflowStarter, cfg config.Forwarder, logger *zap.Logger) *Handler {
	return &Handler{temporal: temporal, cfg: cfg, logger: logger}
}

// Outcome is what one delivery led to.
type Outcome struct {
	Shape         intake.Shape       `json:"shape"`
	WorkflowID    string             `json:"workflowId,omitempty"`
	RunID         string             `json:"runId,omitempty"`
	Conversations int                `json:"conversations"`
	Rejected      []intake.Rejection `json:"rejected,omitempty"`
	Ignored       int                `json:"ignored"`
	// AlreadyStarted is true when a workflow for the same content had already
	// been started (a redelivery): nothing new was started.
	AlreadyStarted bool `json:"alreadyStarted,omitempty"`
	// RetryMessageIDs are SQS message ids to hand back to the queue because
	// the workflow could not be started; they may succeed on retry.
	RetryMessageIDs []string `json:"retryMessageIds,omitempty"`
}

// LambdaResponse is the value the Lambda returns: the partial batch response
// for SQS, the outcome itself for the other shapes (where it is only logged).
func (o Outcome) LambdaResponse() any {
	if o.Shape != intake.ShapeSQS {
		return o
	}
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, id := range o.RetryMessageIDs {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp
}

// responseMargin is the time left to the Lambda after its workflow start
// gives up: enough to log and return the batch response, so that a Temporal
// that does not answer yields batchItemFailures instead of a Lambda timeout
// (which would hand the whole batch, poison included, back to SQS).
const responseMargin = 2 * time.Second

// ErrUnusablePayload wraps payloads that are not a delivery at all.
var ErrUnusablePayload = errors.New("unusable payload")

// Forward starts the workflow for one delivery. Poison records are logged and
// acknowledged, never retried. For SQS a failed start is reported through
// RetryMessageIDs and Forward returns no error (an error would fail the whole
// batch, poison included); for the other shapes it returns the error so that
// Lambda or EventBridge retries the delivery.
func (h *Handler) Forward(ctx context.Context, payload json.RawMessage) (Outcome, error) {
	delivery, err := intake.Parse(payload)
	if err != nil {
		// Retrying an unreadable payload can never help: log it and let it go.
		h.logger.Error("delivery rejected", zap.Error(err), zap.Int("bytes", len(payload)))
		return Outcome{}, fmt.Errorf("%w: %w", ErrUnusablePayload, err)
	}
	out := Outcome{
		Shape:         delivery.Shape,
		Conversations: len(delivery.Conversations),
		Rejected:      delivery.Rejected,
		Ignored:       delivery.Ignored,
	}
	for _, r := range delivery.Rejected {
		h.logger.Warn("record rejected",
			zap.String("shape", string(delivery.Shape)), zap.Int("index", r.Index),
			zap.String("messageId", r.MessageID), zap.String("eventId", r.EventID), zap.String("reason", r.Reason))
	}
	if len(delivery.Conversations) == 0 {
		h.logger.Info("delivery has no conversations to ingest",
			zap.Int("events", delivery.Events), zap.Int("rejected", len(delivery.Rejected)), zap.Int("ignored", delivery.Ignored))
		return out, nil
	}

	out.WorkflowID = delivery.WorkflowID()
	// A delivery is one workflow start (two when the namespace refuses the
	// search attributes), so there is nothing to run concurrently: the one
	// deadline bounds the whole delivery.
	startCtx, cancel := h.startContext(ctx)
	defer cancel()
	run, err := h.start(startCtx, out.WorkflowID, delivery)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		out.AlreadyStarted = true
		h.logger.Info("delivery already forwarded", zap.String("workflowId", out.WorkflowID))
		return out, nil
	case err != nil:
		// After a timeout the start may still have happened on the server;
		// the retried delivery then joins that workflow (same id,
		// USE_EXISTING), so handing it back is safe.
		h.logger.Error("start workflow failed", zap.String("workflowId", out.WorkflowID),
			zap.Bool("timedOut", errors.Is(startCtx.Err(), context.DeadlineExceeded)), zap.Error(err))
		if delivery.Shape == intake.ShapeSQS {
			out.RetryMessageIDs = delivery.Accepted
			return out, nil
		}
		return out, fmt.Errorf("start workflow %s: %w", out.WorkflowID, err)
	}
	out.RunID = run.GetRunID()
	h.logger.Info("workflow started",
		zap.String("workflowId", out.WorkflowID), zap.String("runId", out.RunID),
		zap.String("shape", string(delivery.Shape)), zap.Int("conversations", out.Conversations),
		zap.Int("rejected", len(out.Rejected)), zap.Int("ignored", out.Ignored))
	return out, nil
}

// startContext bounds a delivery's workflow start by FORWARDER_START_TIMEOUT
// and by the invocation's deadline less responseMargin, whichever comes
// first. Without a deadline the SDK retries an unreachable server for up to a
// minute, longer than the invocation may live.
func (h *Handler) startContext(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := h.cfg.StartTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline)-responseMargin)
	}
	return context.WithTimeout(ctx, timeout)
}

func (h *Handler) start(ctx context.Context, id string, d *intake.Delivery) (client.WorkflowRun, error) {
	input := workflows.IngestInput{BatchID: id, Conversations: d.Conversations, Options: h.cfg.Workflow}
	opts := h.startOptions(id, d)
	if !h.noSearchAttributes.Load() {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			OrgIDSearchAttribute.ValueSet(d.Conversations[0].OrgID),
			ConversationCountSearchAttribute.ValueSet(int64(len(d.Conversations))))
	}
	run, err := h.temporal.ExecuteWorkflow(ctx, opts, workflows.IngestWorkflowName, input)
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) && strings.Contains(strings.ToLower(invalid.Error()), "search attribute") {
		h.noSearchAttributes.Store(true)
		h.logger.Warn("namespace has no GenesysOrgId/IngestConversationCount search attributes; starting workflows without them",
			zap.Error(err))
		opts.TypedSearchAttributes = temporal.SearchAttributes{}
		return h.temporal.ExecuteWorkflow(ctx, opts, workflows.IngestWorkflowName, input)
	}
	return run, err
}

func (h *Handler) startOptions(id string, d *intake.Delivery) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: h.cfg.TaskQueue,
		// A redelivery while the first workflow still runs joins it instead of
		// failing or starting a twin.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// A redelivery after it finished is refused (the conversations are
		// stored) unless that run failed or was terminated: then the
		// redelivery is a second chance. The dedupe window is the namespace's
		// retention period.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary: fmt.Sprintf("%d conversations from an %s delivery (%d events, %d rejected, %d ignored)",
			len(d.Conversations), d.Shape, d.Events, len(d.Rejected), d.Ignored),
		StaticDetails: batchDetails(h.cfg.Workflow),
	}
}

// batchDetails is what the Web UI shows as a batch workflow's Details (about
// four lines fit): what it does, for someone who has never read the code.
func batchDetails(o workflows.Options) string {
	o = o.WithDefaults()
	return fmt.Sprintf("Stores each conversation's record (ids in the **Input**) in DynamoDB via the fetch scheduler `%s`. "+
		"Ones Genesys has not finished are submitted again after %s, then less often, until %s; then stored as they are.",
		workflows.FetchSchedulerID(o.GenesysTaskQueue), o.ReadyPollInterval, o.ReadyTimeout)
}
