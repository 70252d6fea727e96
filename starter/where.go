package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap/zapcore"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/config/workerconfig"
	"github.com/genesys-ingest/genesys-ingest/telemetry"
)

// whereConversation names the workflows that handled a conversation.
//
// The conversation's item names them, written with the item at no extra
// request (activities/store/handling.go): the batch workflows whose
// requests wrote it or gave up on it (the latest store.MaxBatchIDs) and the
// fetch activity of the scheduler run that wrote its record. A search
// attribute cannot: a batch holds up to 10,000 conversations, about 390 KB
// of ids, and Temporal's default limits are 2 KB per search attribute value
// (about 50 ids) and 40 KB per workflow, which Temporal Cloud's users do
// not configure; prefixes short enough to fit match every large batch. So
// this is one GetItem, then one DescribeWorkflowExecution per named
// workflow (no visibility query, so no visibility limit or lag), and the
// batches table for batches already past Temporal's retention.
func whereConversation(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("conversations where", flag.ContinueOnError)
	asJSON := flags.Bool("json", false, "print JSON instead of a table")
	id, err := parseConversationID(flags, args)
	if err != nil {
		return err
	}
	table, err := openTable(ctx)
	if err != nil {
		return err
	}
	batches := store.NewBatches(table.API(), workerconfig.BatchTable(config.OSLookup))
	logger, err := telemetry.NewLogger("console", zapcore.ErrorLevel)
	if err != nil {
		return err
	}
	temporal, err := dialTemporal(ctx, logger)
	if err != nil {
		return err
	}
	defer temporal.Close()
	report, err := locate(ctx, id, table, batches, temporal)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, report)
	}
	return printWhere(stdout, report)
}

// handlingReader, batchReader and workflowDescriber are what where reads
// through: *store.Table, *store.Batches and the Temporal client.
type handlingReader interface {
	Name() string
	Handling(ctx context.Context, conversationID string) (store.Handling, bool, error)
}

type batchReader interface {
	Get(ctx context.Context, batchID string) (store.BatchRecord, bool, error)
}

type workflowDescriber interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// Roles of the workflows where names.
const (
	roleBatch = "batch"
	roleFetch = "fetch"
)

// WhereReport is what `conversations where` prints.
type WhereReport struct {
	store.Handling
	Workflows []HandlingWorkflow `json:"workflows"`
}

// HandlingWorkflow is one workflow that handled the conversation.
type HandlingWorkflow struct {
	// Role is batch (it asked for the conversation: its events were in the
	// batch's delivery, a backfill or a retry) or fetch (its scheduler run
	// fetched and stored the record, in activity ActivityID).
	Role       string `json:"role"`
	WorkflowID string `json:"workflowId"`
	// RunID is the fetch's run; for a batch, its latest run.
	RunID      string `json:"runId,omitempty"`
	ActivityID string `json:"activityId,omitempty"`
	Type       string `json:"type,omitempty"`
	// Status is Temporal's (Running, Completed, ...), or Gone when
	// Temporal no longer has the workflow (past the namespace's retention).
	Status string `json:"status"`
	// Parent is the workflow that started it, e.g. the Backfill behind a
	// backfill batch.
	Parent string `json:"parentWorkflowId,omitempty"`
	// Batch is the batch's audit record, once it has finished.
	Batch *store.BatchRecord `json:"batchRecord,omitempty"`
}

// statusGone: Temporal does not know the workflow (any more).
const statusGone = "Gone"

// errNotStored says the conversation has no item.
var errNotStored = errors.New("not stored")

func locate(ctx context.Context, id string, table handlingReader, batches batchReader, temporal workflowDescriber) (WhereReport, error) {
	h, found, err := table.Handling(ctx, id)
	if err != nil {
		return WhereReport{}, err
	}
	if !found {
		return WhereReport{}, fmt.Errorf("conversation %s is %w in table %s: no workflow has stored it or given up on it. "+
			"If its events came less than READY_TIMEOUT ago, a batch may still be waiting for Genesys to finish it "+
			"(the running IngestConversations workflows in the Web UI)", id, errNotStored, table.Name())
	}
	report := WhereReport{Handling: h, Workflows: []HandlingWorkflow{}}
	for _, b := range h.BatchIDs {
		w := HandlingWorkflow{Role: roleBatch, WorkflowID: b}
		if err := describe(ctx, temporal, &w); err != nil {
			return WhereReport{}, err
		}
		if rec, ok, err := batches.Get(ctx, b); err != nil {
			return WhereReport{}, err
		} else if ok {
			w.Batch = &rec
		}
		report.Workflows = append(report.Workflows, w)
	}
	if f := h.FetchedBy; f != nil {
		w := HandlingWorkflow{Role: roleFetch, WorkflowID: f.WorkflowID, RunID: f.RunID, ActivityID: f.ActivityID}
		if err := describe(ctx, temporal, &w); err != nil {
			return WhereReport{}, err
		}
		report.Workflows = append(report.Workflows, w)
	}
	return report, nil
}

// describe fills in what Temporal says of w; a workflow Temporal does not
// know is Gone, not an error.
func describe(ctx context.Context, temporal workflowDescriber, w *HandlingWorkflow) error {
	desc, err := temporal.DescribeWorkflowExecution(ctx, w.WorkflowID, w.RunID)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		w.Status = statusGone
		return nil
	case err != nil:
		return fmt.Errorf("describe workflow %s: %w", w.WorkflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	w.RunID = info.GetExecution().GetRunId()
	w.Type = info.GetType().GetName()
	w.Status = statusName(info.GetStatus().String())
	w.Parent = info.GetParentExecution().GetWorkflowId()
	return nil
}

// statusName turns WORKFLOW_EXECUTION_STATUS_COMPLETED into Completed, as
// the Web UI says it.
func statusName(s string) string {
	const prefix = "WORKFLOW_EXECUTION_STATUS_"
	if len(s) <= len(prefix) || s[:len(prefix)] != prefix {
		return s
	}
	out := []byte(s[len(prefix):])
	upper := true
	j := 0
	for _, c := range out {
		switch {
		case c == '_':
			upper = true
			continue
		case upper:
			upper = false
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		out[j] = c
		j++
	}
	return string(out[:j])
}

func printWhere(stdout io.Writer, r WhereReport) error {
	switch r.Status {
	case store.StatusFailed:
		fmt.Fprintf(stdout, "conversation %s: failed at %s (%s)\n", r.ConversationID, r.FailedAt, r.FailureReason)
	default:
		fmt.Fprintf(stdout, "conversation %s: stored %s, fetched at %s\n", r.ConversationID, r.Status, r.FetchedAt)
	}
	if len(r.Workflows) == 0 {
		fmt.Fprintln(stdout, "the item was written before items named the workflows that handled them: nothing to name")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ROLE\tWORKFLOW\tRUN\tTYPE\tSTATUS\tNOTE")
	for _, h := range r.Workflows {
		var note string
		switch {
		case h.Role == roleFetch:
			note = "fetched and stored the record in activity " + h.ActivityID
		case h.Batch != nil:
			note = fmt.Sprintf("asked for it; finished %s: %d received, %d stored complete, %d failed",
				h.Batch.FinishedAt, h.Batch.Received, h.Batch.StoredComplete, h.Batch.Failed)
		default:
			note = "asked for it"
		}
		if h.Parent != "" && h.Role == roleBatch {
			note += "; started by " + h.Parent
		}
		if h.Status == statusGone {
			note += " (Temporal no longer has it: past the namespace's retention)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Role, h.WorkflowID, dash(h.RunID), dash(h.Type), h.Status, note)
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
