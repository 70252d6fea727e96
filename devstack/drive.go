package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// DriveOptions describe one end-to-end run.
type DriveOptions struct {
	Conversations int
	// EventsPerDelivery is the SQS batch size (events per Lambda invocation).
	EventsPerDelivery int
	// Poison adds a non-JSON record and a bad conversation id to every batch.
	Poison bool
	// Progress receives a line every few seconds; nil is quiet.
	Progress io.Writer
	// TableName is the DynamoDB table the worker writes to.
	TableName string
}

// Report is what one run did, measured from outside the pipeline.
type Report struct {
	Conversations int `json:"conversations"`
	Events        int `json:"events"`
	Deliveries    int `json:"deliveries"`
	Workflows     int `json:"workflows"`
	// RejectedRecords were acknowledged as poison by the forwarder.
	RejectedRecords int `json:"rejectedRecords"`
	// BatchItemFailures were handed back to SQS for a retry; 0 when healthy.
	BatchItemFailures int `json:"batchItemFailures"`
	StoredComplete    int `json:"storedComplete"`
	StoredIncomplete  int `json:"storedIncomplete"`
	// Missing conversations are not in the table at the end.
	Missing []string `json:"missing,omitempty"`
	// Failed is the sum of the workflows' failed counts.
	Failed          int                  `json:"failed"`
	Summaries       []workflows.Summary  `json:"-"`
	WorkflowIDs     []string             `json:"-"`
	Counters        simulator.Counters   `json:"-"`
	GenesysRequests int64                `json:"genesysRequests"`
	RateLimited     int64                `json:"rateLimited"`
	Elapsed         time.Duration        `json:"elapsed"`
	Latencies       []time.Duration      `json:"-"`
	Items           map[string]itemBrief `json:"-"`
}

type itemBrief struct {
	Status    string
	UpdatedAt time.Time
}

// Drive runs conversations through the whole pipeline: the simulator emits
// their events as SQS batches, each batch goes to the real forwarder
// bootstrap under the Lambda emulator, the workflows run on the worker, and
// Drive waits for every workflow, then reads every item back from DynamoDB.
func Drive(ctx context.Context, e Endpoints, opts DriveOptions) (*Report, error) {
	if e.Simulator == "" {
		return nil, errors.New("devstack: the driver needs the simulator (unset GENESYS_API_BASE_URL)")
	}
	if opts.EventsPerDelivery == 0 {
		opts.EventsPerDelivery = 100
	}
	if opts.TableName == "" {
		opts.TableName = store.DefaultTableName
	}
	sim := simulator.NewClient(e.Simulator)
	before, err := sim.Counters(ctx)
	if err != nil {
		return nil, err
	}
	emitted, err := sim.Emit(ctx, simulator.EmitRequest{
		Conversations: opts.Conversations, Shape: "sqs", BatchSize: opts.EventsPerDelivery, Poison: opts.Poison,
	})
	if err != nil {
		return nil, err
	}
	report := &Report{Conversations: len(emitted.ConversationIDs), Events: emitted.Events, Deliveries: len(emitted.Deliveries)}
	temporal, err := client.DialContext(ctx, client.Options{HostPort: e.TemporalAddress, Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("devstack: connect to Temporal: %w", err)
	}
	defer temporal.Close()

	start := time.Now()
	firstSeen := map[string]time.Time{}
	for _, delivery := range emitted.Deliveries {
		parsed, err := intake.Parse(delivery)
		if err != nil {
			return nil, fmt.Errorf("devstack: emitted delivery: %w", err)
		}
		sentAt := time.Now()
		resp, err := InvokeForwarder(ctx, e, delivery)
		if err != nil {
			return nil, err
		}
		report.BatchItemFailures += len(resp.BatchItemFailures)
		report.RejectedRecords += len(parsed.Rejected)
		for _, c := range parsed.Conversations {
			if _, ok := firstSeen[c.ID]; !ok {
				firstSeen[c.ID] = sentAt
			}
		}
		if len(parsed.Conversations) > 0 && !slices.Contains(report.WorkflowIDs, parsed.WorkflowID()) {
			report.WorkflowIDs = append(report.WorkflowIDs, parsed.WorkflowID())
		}
	}
	report.Workflows = len(report.WorkflowIDs)
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "sent %d events of %d conversations in %d SQS batches to the forwarder Lambda → %d workflows\n",
			report.Events, report.Conversations, report.Deliveries, report.Workflows)
	}
	if err := waitForWorkflows(ctx, temporal, report, opts.Progress); err != nil {
		return nil, err
	}

	items, err := readItems(ctx, e.DynamoDB, opts.TableName, emitted.ConversationIDs)
	if err != nil {
		return nil, err
	}
	report.Items = items
	var last time.Time
	for _, id := range emitted.ConversationIDs {
		item, ok := items[id]
		if !ok {
			report.Missing = append(report.Missing, id)
			continue
		}
		if item.Status == store.StatusComplete {
			report.StoredComplete++
		} else {
			report.StoredIncomplete++
		}
		if item.UpdatedAt.After(last) {
			last = item.UpdatedAt
		}
		report.Latencies = append(report.Latencies, max(0, item.UpdatedAt.Sub(firstSeen[id])))
	}
	report.Elapsed = last.Sub(start)
	if last.IsZero() {
		report.Elapsed = time.Since(start)
	}
	after, err := sim.Counters(ctx)
	if err != nil {
		return nil, err
	}
	report.Counters = after
	report.GenesysRequests = after.Requests - before.Requests
	report.RateLimited = after.RateLimited - before.RateLimited
	return report, nil
}

// InvokeForwarder sends one SQS delivery to the forwarder under the Lambda
// emulator and returns its partial batch response; a function error is an
// error.
func InvokeForwarder(ctx context.Context, e Endpoints, payload []byte) (events.SQSEventResponse, error) {
	var out events.SQSEventResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.LambdaInvokeURL(), bytes.NewReader(payload))
	if err != nil {
		return out, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out, fmt.Errorf("devstack: invoke the forwarder: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		return out, fmt.Errorf("devstack: the forwarder failed (%s): %s", resp.Status, body)
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return out, fmt.Errorf("devstack: forwarder answer %q: %w", body, err)
	}
	return out, nil
}

// waitForWorkflows waits for every workflow (following continue-as-new) and
// prints progress while it waits.
func waitForWorkflows(ctx context.Context, temporal client.Client, report *Report, progress io.Writer) error {
	var (
		mu   sync.Mutex
		done int
	)
	summaries := make([]workflows.Summary, len(report.WorkflowIDs))
	stopProgress := make(chan struct{})
	if progress != nil {
		go func() {
			tick := time.NewTicker(2 * time.Second)
			defer tick.Stop()
			started := time.Now()
			for {
				select {
				case <-stopProgress:
					return
				case <-tick.C:
					mu.Lock()
					finished := done
					current := slices.Clone(summaries)
					mu.Unlock()
					stored, received, submitted, waiting := liveProgress(ctx, temporal, report.WorkflowIDs, current)
					fmt.Fprintf(progress, "  %5.0fs  workflows done %d/%d · stored %d of their %d conversations · with the fetch scheduler %d · waiting for readiness %d\n",
						time.Since(started).Seconds(), finished, len(report.WorkflowIDs), stored, received, submitted, waiting)
				}
			}
		}()
	}
	defer close(stopProgress)
	group, ctx := errgroup.WithContext(ctx)
	group.SetLimit(64)
	for i, id := range report.WorkflowIDs {
		group.Go(func() error {
			var s workflows.Summary
			if err := temporal.GetWorkflow(ctx, id, "").Get(ctx, &s); err != nil {
				return fmt.Errorf("devstack: workflow %s: %w", id, err)
			}
			mu.Lock()
			summaries[i] = s
			done++
			mu.Unlock()
			return nil
		})
	}
	if err := group.Wait(); err != nil {
		return err
	}
	report.Summaries = summaries
	for _, s := range summaries {
		report.Failed += s.Failed
	}
	return nil
}

// liveProgress adds the finished workflows' summaries to what the running
// ones report through their progress query. A conversation whose events came
// in two batches is in two workflows, so the counts are per workflow.
func liveProgress(ctx context.Context, temporal client.Client, ids []string, finished []workflows.Summary) (stored, received, submitted, waiting int) {
	for i, id := range ids {
		s := finished[i]
		if s.Received == 0 {
			value, err := temporal.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
			var p workflows.Progress
			if err != nil || value.Get(&p) != nil {
				continue
			}
			s, submitted, waiting = p.Summary, submitted+p.Submitted, waiting+p.Waiting
		}
		stored += s.StoredComplete + s.StoredIncomplete + s.Unchanged
		received += s.Received
	}
	return stored, received, submitted, waiting
}

// readItems reads status and updatedAt of every id.
func readItems(ctx context.Context, endpoint, table string, ids []string) (map[string]itemBrief, error) {
	statuses, err := store.NewTable(LocalDynamoDB(endpoint), store.Config{TableName: table}).Statuses(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("devstack: read items: %w", err)
	}
	items := make(map[string]itemBrief, len(statuses))
	for id, s := range statuses {
		updated, _ := time.Parse(store.TimeFormat, s.UpdatedAt)
		items[id] = itemBrief{Status: s.Status, UpdatedAt: updated}
	}
	return items, nil
}

// LocalDynamoDB is a client for dynalite at endpoint.
func LocalDynamoDB(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}
