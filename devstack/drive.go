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
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/starter/progress"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// DriveOptions describe one end-to-end run.
type DriveOptions struct {
	Conversations int
	// EventsPerDelivery is the SQS batch size (events per Lambda invocation).
	EventsPerDelivery int
	// Poison adds a non-JSON record and a bad conversation id to every batch.
	Poison bool
	// Progress receives a progress bar of the conversations stored, with
	// rate and ETA, on a terminal, and a plain line now and then
	// elsewhere; nil is quiet.
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
	stopProgress := func() {}
	if opts.Progress != nil {
		stopProgress = storedProgress(ctx, e.DynamoDB, opts.TableName, emitted.ConversationIDs, opts.Progress)
	}
	err = waitForWorkflows(ctx, temporal, report)
	stopProgress()
	if err != nil {
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

// waitForWorkflows waits for every workflow, following continue-as-new.
func waitForWorkflows(ctx context.Context, temporal client.Client, report *Report) error {
	summaries := make([]workflows.Summary, len(report.WorkflowIDs))
	group, ctx := errgroup.WithContext(ctx)
	group.SetLimit(64)
	for i, id := range report.WorkflowIDs {
		group.Go(func() error {
			if err := temporal.GetWorkflow(ctx, id, "").Get(ctx, &summaries[i]); err != nil {
				return fmt.Errorf("devstack: workflow %s: %w", id, err)
			}
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

// storedProgress shows how many of the conversations are stored, reading
// the table every two seconds for the ones not seen stored yet. It counts
// conversations: the workflows' own counts would count a conversation once
// in every batch that received one of its events (its customer.end and acw
// events are shuffled into different SQS batches), which made 300
// conversations show as 604. The returned function stops it after a last
// reading.
func storedProgress(ctx context.Context, endpoint, table string, ids []string, w io.Writer) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t := store.NewTable(LocalDynamoDB(endpoint), store.Config{TableName: table})
	bar := progress.New(w, "conversations stored", "conversations", int64(len(ids)))
	left := slices.Clone(ids)
	read := func(ctx context.Context) {
		statuses, err := t.Statuses(ctx, left)
		if err != nil {
			return
		}
		left = slices.DeleteFunc(left, func(id string) bool {
			s, ok := statuses[id]
			return ok && (s.Status == store.StatusComplete || s.Status == store.StatusIncomplete)
		})
		bar.Set(int64(len(ids)-len(left)), int64(len(ids)))
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				read(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		last, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		read(last)
		bar.Finish()
	}
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

// LocalS3 is a client for the stack's S3 (gofakes3) at endpoint.
func LocalS3(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// LocalDynamoDB is a client for dynalite at endpoint.
func LocalDynamoDB(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}
