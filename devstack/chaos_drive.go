package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// redeliveryDelay stands in for the SQS visibility timeout: how long a
// batch the forwarder handed back waits before it comes again. Minutes in
// AWS; seconds here, so that a suite finishes.
const redeliveryDelay = 5 * time.Second

// SendStats count what the chaos driver sent to the forwarder.
type SendStats struct {
	// Deliveries are the SQS batches the driver sent, the ones it sent
	// twice on purpose (duplicates) counted twice.
	Deliveries int `json:"deliveries"`
	// Invocations of the forwarder, redeliveries included.
	Invocations int `json:"invocations"`
	// Redeliveries are invocations of batches, or of their failed records,
	// that the forwarder had handed back or failed on.
	Redeliveries int `json:"redeliveries"`
}

// chaosSender delivers SQS batches to the real forwarder under the Lambda
// emulator the way SQS does: the records of a batch that the forwarder hands
// back (batchItemFailures), or all of them if the invocation fails, come
// again after retryAfter with their receive count raised, until they are
// taken. Safe for concurrent use.
type chaosSender struct {
	e          Endpoints
	retryAfter time.Duration
	// ctx bounds the redeliveries, which outlive the call that sent the
	// batch first.
	ctx context.Context
	// invoking holds one invocation at a time: the emulator is one Lambda
	// instance and crashes when invoked while busy.
	invoking sync.Mutex

	mu          sync.Mutex
	stats       SendStats
	workflowIDs []string
	known       map[string]bool
	redelivery  sync.WaitGroup
}

func newChaosSender(ctx context.Context, e Endpoints) *chaosSender {
	return &chaosSender{e: e, retryAfter: redeliveryDelay, ctx: ctx, known: map[string]bool{}}
}

// deliver sends one emitted batch. It returns the forwarder's answer to the
// first invocation; redeliveries go on in the background (wait).
func (s *chaosSender) deliver(ctx context.Context, payload []byte) (events.SQSEventResponse, error) {
	s.mu.Lock()
	s.stats.Deliveries++
	s.mu.Unlock()
	return s.invoke(ctx, payload, false)
}

func (s *chaosSender) invoke(ctx context.Context, payload []byte, redelivery bool) (events.SQSEventResponse, error) {
	s.invoking.Lock()
	resp, err := InvokeForwarder(ctx, s.e, payload)
	s.invoking.Unlock()
	s.mu.Lock()
	s.stats.Invocations++
	if redelivery {
		s.stats.Redeliveries++
	}
	s.mu.Unlock()
	if ctx.Err() != nil {
		return resp, ctx.Err()
	}
	if err == nil {
		// The records not handed back were taken, by the delivery's
		// workflow (which may not exist if the forwarder handed back all
		// of them: settling counts it as not found).
		if terr := s.taken(payload); terr != nil || len(resp.BatchItemFailures) == 0 {
			return resp, terr
		}
	}
	var failed []string // nil: the whole batch failed
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	again, rerr := redeliveryOf(payload, failed)
	if rerr != nil {
		return resp, rerr
	}
	s.redelivery.Add(1)
	go func() {
		defer s.redelivery.Done()
		select {
		case <-s.ctx.Done():
		case <-time.After(s.retryAfter):
			_, _ = s.invoke(s.ctx, again, true)
		}
	}()
	return resp, nil
}

// taken notes the workflow a batch the forwarder accepted belongs to.
func (s *chaosSender) taken(payload []byte) error {
	d, err := intake.Parse(payload)
	if err != nil {
		return fmt.Errorf("devstack: emitted delivery: %w", err)
	}
	if len(d.Conversations) == 0 {
		return nil
	}
	id := d.WorkflowID()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known[id] {
		s.known[id] = true
		s.workflowIDs = append(s.workflowIDs, id)
	}
	return nil
}

// wait returns once every batch handed back has been taken, or ctx ends.
func (s *chaosSender) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.redelivery.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("devstack: batches still handed back by the forwarder: %w", ctx.Err())
	}
}

func (s *chaosSender) snapshot() (SendStats, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats, slices.Clone(s.workflowIDs)
}

// redeliveryOf is the SQS batch that comes again: the records named in
// failed (all of them if failed is nil), each received once more.
func redeliveryOf(payload []byte, failed []string) ([]byte, error) {
	var batch events.SQSEvent
	if err := json.Unmarshal(payload, &batch); err != nil {
		return nil, fmt.Errorf("devstack: redeliver: %w", err)
	}
	kept := batch.Records[:0]
	for _, r := range batch.Records {
		if failed != nil && !slices.Contains(failed, r.MessageId) {
			continue
		}
		n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		r.Attributes["ApproximateReceiveCount"] = strconv.Itoa(n + 1)
		kept = append(kept, r)
	}
	batch.Records = kept
	return json.Marshal(batch)
}

// sendPaced delivers the batches evenly over window, the way events trickle
// in from Genesys, rather than all at once.
func (s *chaosSender) sendPaced(ctx context.Context, deliveries [][]byte, window time.Duration) error {
	start := time.Now()
	for i, d := range deliveries {
		due := start.Add(window * time.Duration(i) / time.Duration(len(deliveries)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(due)):
		}
		if _, err := s.deliver(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// settleWorkflows waits until every workflow in ids is closed and returns
// how many closed with each status and the sum of the completed ones'
// failed counts. It waits on each one's result, a long poll rather than a
// polling loop that would load a struggling Temporal further, and rides out
// a Temporal that is down or restarting. progress, if set, is called every
// 10 s with the number still open.
func settleWorkflows(ctx context.Context, temporal client.Client, ids []string, progress func(open int)) (map[string]int, int, error) {
	var (
		mu       sync.Mutex
		statuses = map[string]int{}
		failed   int
		open     atomic.Int64
	)
	open.Store(int64(len(ids)))
	if progress != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(10 * time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					progress(int(open.Load()))
				}
			}
		}()
	}
	group, gctx := errgroup.WithContext(ctx)
	group.SetLimit(64)
	for _, id := range ids {
		group.Go(func() error {
			status, summary, err := waitClosed(gctx, temporal, id)
			if err != nil {
				return err
			}
			mu.Lock()
			statuses[status]++
			failed += summary.Failed
			mu.Unlock()
			open.Add(-1)
			return nil
		})
	}
	if err := group.Wait(); err != nil {
		return statuses, failed, fmt.Errorf("devstack: %d of %d workflows still open: %w", open.Load(), len(ids), err)
	}
	return statuses, failed, nil
}

// waitClosed waits for one workflow's result, following continue-as-new,
// and returns how it closed. An error from Temporal only means "ask again"
// unless Temporal says the workflow is closed or unknown; the error
// returned is ctx's.
func waitClosed(ctx context.Context, temporal client.Client, id string) (string, workflows.Summary, error) {
	for {
		var s workflows.Summary
		err := temporal.GetWorkflow(ctx, id, "").Get(ctx, &s)
		if err == nil {
			return enums.WORKFLOW_EXECUTION_STATUS_COMPLETED.String(), s, nil
		}
		if ctx.Err() != nil {
			return "", s, ctx.Err()
		}
		desc, err := temporal.DescribeWorkflowExecution(ctx, id, "")
		var notFound *serviceerror.NotFound
		switch status := desc.GetWorkflowExecutionInfo().GetStatus(); {
		case errors.As(err, &notFound):
			// The forwarder handed its whole batch back before the start
			// reached Temporal.
			return "NotFound", s, nil
		case err == nil && status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING && status != enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
			return status.String(), s, nil
		}
		select {
		case <-ctx.Done():
			return "", s, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
