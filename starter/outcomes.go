package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/config/workerconfig"
	"github.com/genesys-ingest/genesys-ingest/telemetry"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// retryBatchSize is the most conversations one retry workflow gets, the
// size of the largest delivery the forwarder starts one for.
const retryBatchSize = 10_000

// sinceFlag parses --since as RFC 3339 or a YYYY-MM-DD date (UTC).
type sinceFlag struct{ t time.Time }

func (s *sinceFlag) String() string {
	if s.t.IsZero() {
		return ""
	}
	return s.t.Format(time.RFC3339)
}

func (s *sinceFlag) Set(v string) error {
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			s.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("%q is neither an RFC 3339 time nor a YYYY-MM-DD date", v)
}

// statusFlag takes failed, incomplete or both (comma-separated).
func parseStatuses(v string) ([]string, error) {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		switch s = strings.TrimSpace(s); s {
		case store.StatusFailed, store.StatusIncomplete:
			out = append(out, s)
		default:
			return nil, fmt.Errorf("--status %q: want %s or %s (or both, comma-separated)", s, store.StatusFailed, store.StatusIncomplete)
		}
	}
	return out, nil
}

// listConversations prints the failed or incomplete conversations.
func listConversations(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("conversations list", flag.ContinueOnError)
	status := flags.String("status", store.StatusFailed, "failed, incomplete, or failed,incomplete")
	var since sinceFlag
	flags.Var(&since, "since", "only items updated at or after this RFC 3339 time or YYYY-MM-DD date")
	asJSON := flags.Bool("json", false, "print JSON lines instead of a table")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	statuses, err := parseStatuses(*status)
	if err != nil {
		return usageError("%v", err)
	}
	table, err := openTable(ctx)
	if err != nil {
		return err
	}
	listed, err := table.ListConversations(ctx, statuses, since.t)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, l := range listed {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CONVERSATION\tSTATUS\tUPDATED\tATTEMPTS\tREASON")
	for _, l := range listed {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", l.ConversationID, l.Status, l.UpdatedAt, l.Attempts, l.FailureReason)
	}
	fmt.Fprintf(w, "%d conversations\n", len(listed))
	return w.Flush()
}

// retryConversations starts ingestion workflows for the named conversations,
// or for the failed (or incomplete) ones in the table: the same scheduler,
// request budget and dedupe as live events.
func retryConversations(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("conversations retry", flag.ContinueOnError)
	status := flags.String("status", store.StatusFailed, "without ids: retry items of this status (failed, incomplete, or both)")
	var since sinceFlag
	flags.Var(&since, "since", "without ids: only items updated at or after this time or date")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	for _, id := range flags.Args() {
		if !workflows.ValidConversationID(id) {
			return &exitError{code: 2, err: fmt.Errorf("conversation id %q is not a UUID", id)}
		}
	}
	table, err := openTable(ctx)
	if err != nil {
		return err
	}
	var refs []workflows.ConversationRef
	if flags.NArg() > 0 {
		// The org comes from the item, as the event would have given it.
		orgs, err := table.OrgIDs(ctx, flags.Args())
		if err != nil {
			return err
		}
		for _, id := range flags.Args() {
			refs = append(refs, workflows.ConversationRef{ID: id, OrgID: orgs[id], Topic: "retry"})
		}
	} else {
		statuses, err := parseStatuses(*status)
		if err != nil {
			return usageError("%v", err)
		}
		listed, err := table.ListConversations(ctx, statuses, since.t)
		if err != nil {
			return err
		}
		for _, l := range listed {
			refs = append(refs, workflows.ConversationRef{ID: l.ConversationID, OrgID: l.OrgID, Topic: "retry"})
		}
	}
	refs = slices.CompactFunc(refs, func(a, b workflows.ConversationRef) bool { return a.ID == b.ID })
	if len(refs) == 0 {
		fmt.Fprintln(stdout, "nothing to retry")
		return nil
	}
	cfg, _, temporal, err := connect(ctx)
	if err != nil {
		return err
	}
	defer temporal.Close()
	now := time.Now().UTC()
	for chunk := range slices.Chunk(refs, retryBatchSize) {
		id := retryWorkflowID(chunk, now)
		_, err := temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       id,
			TaskQueue:                cfg.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			StaticSummary:            fmt.Sprintf("Retry of %d conversations", len(chunk)),
		}, workflows.IngestWorkflowName, workflows.IngestInput{BatchID: "retry " + now.Format(time.RFC3339), Conversations: chunk, Options: cfg.Workflow})
		if err != nil {
			return fmt.Errorf("start retry workflow %s: %w", id, err)
		}
		fmt.Fprintf(stdout, "%s\t%d conversations\n", id, len(chunk))
	}
	return nil
}

// retryWorkflowID names a retry after what it retries and when, so that
// running the same command twice in a second starts it once.
func retryWorkflowID(refs []workflows.ConversationRef, at time.Time) string {
	h := sha256.New()
	for _, r := range refs {
		h.Write([]byte(r.ID))
	}
	h.Write([]byte(at.Truncate(time.Second).Format(time.RFC3339)))
	return "genesys-ingest-retry-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// listBatches prints the batches' audit records.
func listBatches(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("batches list", flag.ContinueOnError)
	var since sinceFlag
	flags.Var(&since, "since", "only batches finished at or after this RFC 3339 time or YYYY-MM-DD date")
	asJSON := flags.Bool("json", false, "print JSON lines instead of a table")
	if err := flags.Parse(args); err != nil {
		return usageError("%v", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	batches := store.NewBatches(dynamodb.NewFromConfig(awsCfg), workerconfig.BatchTable(config.OSLookup))
	records, err := batches.List(ctx, since.t)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range records {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "BATCH\tFINISHED\tRECEIVED\tCOMPLETE\tINCOMPLETE\tUNCHANGED\tFAILED\tFIRST EVENT\tLAST STORED")
	for _, r := range records {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.BatchID, r.FinishedAt, r.Received, r.StoredComplete,
			r.StoredIncomplete, r.Unchanged, r.Failed, r.FirstEventAt, r.LastStoredAt)
	}
	fmt.Fprintf(w, "%d batches\n", len(records))
	return w.Flush()
}

// connect reads the forwarder's configuration (the task queue and the
// batches' options, as the Lambda has them) and dials Temporal the way the
// Temporal CLI does, logging to the console at LOG_LEVEL.
func connect(ctx context.Context) (config.Forwarder, *zap.Logger, client.Client, error) {
	cfg, err := config.LoadForwarder(config.OSLookup)
	if err != nil {
		return cfg, nil, nil, err
	}
	logger, err := telemetry.NewLogger("console", cfg.Log.Level)
	if err != nil {
		return cfg, nil, nil, err
	}
	temporal, err := dialTemporal(ctx, logger)
	return cfg, logger, temporal, err
}

// dialTemporal connects the way the Temporal CLI does (temporal.toml,
// TEMPORAL_*), logging through logger.
func dialTemporal(ctx context.Context, logger *zap.Logger) (client.Client, error) {
	opts, err := config.TemporalClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = telemetry.TemporalLogger(logger)
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	return c, nil
}
