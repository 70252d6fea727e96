package devstack

// The benchmark's steady-load run (the half-load freshness figure and the
// sweep): conversations arrive at a fixed rate, their events go through an
// emulation of the SQS event source mapping as it is deployed (batch size,
// batching window, concurrent pollers), each delivery to the real forwarder
// under the Lambda emulator, and every conversation's freshness is measured
// from its events' arrival in the queue to its item's updatedAt.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/starter/progress"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// EventSource is how the SQS event source mapping hands events to the
// forwarder: what Terraform's event_source_batch_size,
// event_source_maximum_batching_window_seconds and
// event_source_maximum_concurrency set.
type EventSource struct {
	// BatchSize is the most events one invocation gets (1 to 10,000).
	BatchSize int `json:"batchSize"`
	// Window is how long a poller gathers events before it invokes, unless
	// the batch fills first. With 0 it invokes with what one receive
	// returned (at most 10 events), as Lambda does.
	Window time.Duration `json:"-"`
	// Pollers gather batches at the same time, each its own: Lambda starts
	// five when messages are available, and maximum concurrency caps the
	// invocations. Events are dealt to them a receive (up to 10) at a time.
	Pollers int `json:"pollers"`
}

// MarshalJSON adds the window in seconds.
func (s EventSource) MarshalJSON() ([]byte, error) {
	type plain EventSource
	return json.Marshal(struct {
		plain
		WindowSeconds float64 `json:"windowSeconds"`
	}{plain(s), s.Window.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *EventSource) UnmarshalJSON(b []byte) error {
	type plain EventSource
	var v struct {
		plain
		WindowSeconds float64 `json:"windowSeconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = EventSource(v.plain)
	s.Window = time.Duration(v.WindowSeconds * float64(time.Second))
	return nil
}

func (s EventSource) String() string {
	return fmt.Sprintf("batch size %d, window %s, %d pollers", s.BatchSize, s.Window, s.Pollers)
}

// The event source mapping's limits.
const (
	// receiveMax is the most messages one SQS ReceiveMessage returns.
	receiveMax = 10
	// maxDeliveryBytes: Lambda invokes when a batch's payload reaches 6 MB
	// (the synchronous invocation limit, which the emulator enforces too),
	// whatever the batch size. About 4,000 simulated events.
	maxDeliveryBytes = 5_900_000
	// maxEventsPerDelivery is how many simulated events (about 1.5 KB each
	// in their SQS record) fit maxDeliveryBytes.
	maxEventsPerDelivery = 4_000
)

// LoadOptions describe a steady-load run.
type LoadOptions struct {
	// PerSecond conversations arrive every second for Duration.
	PerSecond int
	Duration  time.Duration
	Source    EventSource
	TableName string
	// Progress receives a progress bar (a plain line now and then when it
	// is not a terminal), labelled ProgressWhat; nil is quiet.
	Progress     io.Writer
	ProgressWhat string
	// Drain bounds the wait for the last conversations after the arrivals
	// stop; default 3 minutes.
	Drain time.Duration
	// FetchBatchSize is the worker's FETCH_BATCH_SIZE, for counting partial
	// chunks; 0 means the default.
	FetchBatchSize int
}

// LoadResult is what a steady-load run measured.
type LoadResult struct {
	Source EventSource `json:"eventSource"`
	// ConversationsPerSecond is the offered rate; AchievedPerSecond what the
	// driver emitted (a loaded machine may fall short).
	ConversationsPerSecond float64 `json:"conversationsPerSecond"`
	AchievedPerSecond      float64 `json:"achievedPerSecond"`
	Seconds                float64 `json:"seconds"`
	Conversations          int     `json:"conversations"`
	Events                 int     `json:"events"`
	Deliveries             int     `json:"deliveries"`
	Workflows              int     `json:"workflows"`
	EventsPerDelivery      float64 `json:"eventsPerDelivery"`
	MaxEventsPerDelivery   int     `json:"maxEventsPerDelivery"`
	// Freshness: the conversation's events' arrival in the queue (what the
	// forwarder sees as SentTimestamp) to its item's updatedAt; the
	// batching window is part of it.
	P50LatencyMs float64 `json:"p50LatencyMs"`
	P90LatencyMs float64 `json:"p90LatencyMs"`
	P99LatencyMs float64 `json:"p99LatencyMs"`
	MaxLatencyMs float64 `json:"maxLatencyMs"`
	// From the forwarder's invocation to the item: the window left out.
	InvokedP50LatencyMs float64 `json:"invokedP50LatencyMs"`
	InvokedP99LatencyMs float64 `json:"invokedP99LatencyMs"`
	// Stages split each conversation's freshness; see loadStages.
	Stages []Stage `json:"stages"`
	// Invocation time of the forwarder (one workflow start each).
	InvokeP50Ms float64 `json:"invokeP50Ms"`
	InvokeP99Ms float64 `json:"invokeP99Ms"`
	Missing     int     `json:"missing"`
	Failed      int     `json:"failed"`
	// Genesys requests the simulator served during the run, and per
	// conversation; RateLimited are 429s among them.
	GenesysRequests                int64   `json:"genesysRequests"`
	RateLimited                    int64   `json:"rateLimited"`
	GenesysRequestsPerConversation float64 `json:"genesysRequestsPerConversation"`
	// Chunks the scheduler fetched, and their mean size: a partial chunk
	// (fewer than FETCH_BATCH_SIZE ids) costs a request of its own.
	Chunks        int     `json:"chunks"`
	MeanChunkSize float64 `json:"meanChunkSize"`
	PartialChunks int     `json:"partialChunks"`
	// History of the batches and the scheduler during the run.
	History                      HistoryStats `json:"history"`
	HistoryEventsPerConversation float64      `json:"historyEventsPerConversation"`
	// StoredPerSecond counts items by the second of their updatedAt, from
	// the first arrival on.
	StoredPerSecond []int                   `json:"storedPerSecond"`
	WindowSeconds   float64                 `json:"windowSeconds"`
	Usage           map[string]ServiceUsage `json:"usage,omitempty"`
	Machine         MachineLoad             `json:"machine"`

	latencies  []time.Duration
	workflowID []string
}

// Stage is one part of the conversations' freshness: its p50 and p99 over
// the conversations, and its mean over the slowest 1% (those at or above
// the p99 of the whole), which says what the p99 is made of.
type Stage struct {
	Name string `json:"name"`
	// Conversations measured; the split rows count only theirs.
	Conversations int     `json:"conversations"`
	P50Ms         float64 `json:"p50Ms"`
	P99Ms         float64 `json:"p99Ms"`
	SlowestMsAv   float64 `json:"slowestOnePercentMeanMs"`
}

// queuedRecord is one event's SQS record and when it reached the queue.
type queuedRecord struct {
	raw json.RawMessage
	at  time.Time
}

// RunLoad runs opts.PerSecond conversations a second for opts.Duration
// through the event source emulation and the forwarder, waits for every one
// of them to be stored and for the batches to finish, and measures.
func RunLoad(ctx context.Context, s *Stack, opts LoadOptions) (*LoadResult, error) {
	e := s.Endpoints
	if opts.PerSecond <= 0 || opts.Duration <= 0 {
		return nil, errors.New("devstack: a load run needs a rate and a duration")
	}
	src := opts.Source
	if src.BatchSize <= 0 || src.BatchSize > 10_000 || src.Pollers <= 0 || src.Window < 0 {
		return nil, fmt.Errorf("devstack: event source %s out of range", src)
	}
	if opts.Drain <= 0 {
		opts.Drain = 3 * time.Minute
	}
	if opts.TableName == "" {
		opts.TableName = store.DefaultTableName
	}
	sim := simulator.NewClient(e.Simulator)
	before, err := sim.Counters(ctx)
	if err != nil {
		return nil, err
	}
	temporal, err := client.DialContext(ctx, client.Options{HostPort: e.TemporalAddress, Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("devstack: connect to Temporal: %w", err)
	}
	defer temporal.Close()

	res := &LoadResult{Source: src, ConversationsPerSecond: float64(opts.PerSecond)}
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{}
		invoked = map[string]time.Time{}
		order   []string
		wfIDs   = map[string]bool{}
		invokes []time.Duration
		sizes   []int
		sendErr error
	)
	queue := make(chan []queuedRecord, 1024)
	batches := make([]chan []queuedRecord, src.Pollers)
	for k := range batches {
		batches[k] = make(chan []queuedRecord)
	}

	cpuBefore := stackCPU(s)
	busyBefore, _ := machineTicks()
	started := time.Now()
	storedBefore, _, _ := workerStored(ctx, e.WorkerMetrics)
	var bar *progress.Bar
	total := int64(float64(opts.PerSecond) * opts.Duration.Seconds())
	stopBar := func() {}
	if opts.Progress != nil {
		bar = progress.New(opts.Progress, cmp.Or(opts.ProgressWhat, "conversations stored"), "conversations", total)
		barCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-barCtx.Done():
					return
				case <-tick.C:
				}
				if stored, _, err := workerStored(barCtx, e.WorkerMetrics); err == nil {
					mu.Lock()
					n := int64(len(order))
					mu.Unlock()
					bar.Set(min(stored-storedBefore, max(n, total)), max(n, total))
				}
			}
		}()
		stopBar = func() { cancel(); <-done }
	}

	// The poller emulation hands batches to the invokers. Each poller
	// invokes a forwarder of its own, as Lambda runs up to maximum
	// concurrency invocations at once: the stack's, and one more emulator
	// per further poller.
	endpoints := []Endpoints{e}
	for k := 1; k < src.Pollers; k++ {
		f, err := s.StartForwarder(ctx, fmt.Sprintf("lambda-poller-%d", k+1), nil)
		if err != nil {
			return nil, err
		}
		defer f.Stop()
		endpoints = append(endpoints, f.Endpoints)
	}
	var invokers errgroup.Group
	for k := range src.Pollers {
		invokers.Go(func() error {
			for batch := range batches[k] {
				payload := sqsPayload(batch)
				parsed, err := intake.Parse(payload)
				if err != nil {
					return fmt.Errorf("devstack: delivery: %w", err)
				}
				at := time.Now()
				_, err = InvokeForwarder(ctx, endpoints[k], payload)
				took := time.Since(at)
				if err != nil {
					return err
				}
				mu.Lock()
				invokes = append(invokes, took)
				sizes = append(sizes, len(batch))
				for _, c := range parsed.Conversations {
					if _, ok := invoked[c.ID]; !ok {
						invoked[c.ID] = at
					}
				}
				if len(parsed.Conversations) > 0 {
					wfIDs[parsed.WorkflowID()] = true
				}
				mu.Unlock()
			}
			return nil
		})
	}
	pollersDone := make(chan struct{})
	go func() {
		defer close(pollersDone)
		emulatePollers(ctx, src, queue, batches)
		for _, b := range batches {
			close(b)
		}
	}()

	// Arrivals: every 100 ms the conversations due by then, their events
	// shuffled as EventBridge would.
	const tick = 100 * time.Millisecond
	emitted := 0
	ticker := time.NewTicker(tick)
emit:
	for {
		elapsed := time.Since(started)
		if elapsed >= opts.Duration {
			break
		}
		due := int(float64(opts.PerSecond)*min(elapsed+tick, opts.Duration).Seconds()) - emitted
		if due > 0 {
			out, err := sim.Emit(ctx, simulator.EmitRequest{Conversations: due, Shape: "sqs", BatchSize: 10_000})
			if err != nil {
				sendErr = err
				break
			}
			at := time.Now()
			var recs []queuedRecord
			for _, d := range out.Deliveries {
				var b struct {
					Records []json.RawMessage `json:"Records"`
				}
				if err := json.Unmarshal(d, &b); err != nil {
					sendErr = err
					break emit
				}
				for _, r := range b.Records {
					recs = append(recs, queuedRecord{raw: r, at: at})
				}
			}
			mu.Lock()
			for _, id := range out.ConversationIDs {
				arrived[id] = at
				order = append(order, id)
			}
			mu.Unlock()
			res.Events += out.Events
			emitted += due
			queue <- recs
		}
		select {
		case <-ctx.Done():
			sendErr = ctx.Err()
			break emit
		case <-ticker.C:
		}
	}
	ticker.Stop()
	emitSeconds := time.Since(started).Seconds()
	close(queue)
	<-pollersDone
	if err := errors.Join(sendErr, invokers.Wait()); err != nil {
		stopBar()
		return nil, err
	}
	res.Conversations = len(order)
	res.AchievedPerSecond = round3(float64(res.Conversations) / emitSeconds)
	res.Deliveries = len(sizes)
	for id := range wfIDs {
		res.workflowID = append(res.workflowID, id)
	}
	slices.Sort(res.workflowID)
	res.Workflows = len(res.workflowID)
	if len(sizes) > 0 {
		res.EventsPerDelivery = round3(float64(res.Events) / float64(len(sizes)))
		res.MaxEventsPerDelivery = slices.Max(sizes)
	}
	res.InvokeP50Ms, res.InvokeP99Ms = percentileMs(invokes, 0.5), percentileMs(invokes, 0.99)

	// Every conversation stored, then every batch finished (their
	// histories are complete then).
	items, err := waitStored(ctx, e.DynamoDB, opts.TableName, order, opts.Drain)
	stopBar()
	if err != nil {
		return nil, err
	}
	if bar != nil {
		bar.Set(int64(len(items)), int64(len(order)))
		bar.Finish()
	}
	var failed int
	group, gctx := errgroup.WithContext(ctx)
	group.SetLimit(32)
	var fmu sync.Mutex
	for _, id := range res.workflowID {
		group.Go(func() error {
			var sum workflows.Summary
			if err := temporal.GetWorkflow(gctx, id, "").Get(gctx, &sum); err != nil {
				return fmt.Errorf("devstack: workflow %s: %w", id, err)
			}
			fmu.Lock()
			failed += sum.Failed
			fmu.Unlock()
			return nil
		})
	}
	if err := group.Wait(); err != nil {
		return nil, err
	}
	window := time.Since(started)
	res.Usage = usageBetween(s, cpuBefore, stackCPU(s), window)
	busyAfter, _ := machineTicks()
	res.Machine = machineLoad(busyBefore, busyAfter, window, res.Usage)
	res.WindowSeconds = round3(window.Seconds())
	res.Seconds = round3(emitSeconds)
	res.Failed = failed

	after, err := sim.Counters(ctx)
	if err != nil {
		return nil, err
	}
	res.GenesysRequests = after.Requests - before.Requests
	res.RateLimited = after.RateLimited - before.RateLimited

	var fromInvoke []time.Duration
	first := started
	for _, id := range order {
		item, ok := items[id]
		if !ok {
			res.Missing++
			continue
		}
		res.latencies = append(res.latencies, max(0, item.updated.Sub(arrived[id])))
		if at, ok := invoked[id]; ok {
			fromInvoke = append(fromInvoke, max(0, item.updated.Sub(at)))
		}
		sec := int(item.updated.Sub(first).Seconds())
		if sec >= 0 {
			for len(res.StoredPerSecond) <= sec {
				res.StoredPerSecond = append(res.StoredPerSecond, 0)
			}
			res.StoredPerSecond[sec]++
		}
	}
	res.P50LatencyMs, res.P90LatencyMs = percentileMs(res.latencies, 0.5), percentileMs(res.latencies, 0.9)
	res.P99LatencyMs, res.MaxLatencyMs = percentileMs(res.latencies, 0.99), percentileMs(res.latencies, 1)
	res.InvokedP50LatencyMs, res.InvokedP99LatencyMs = percentileMs(fromInvoke, 0.5), percentileMs(fromInvoke, 0.99)
	if n := float64(res.Conversations); n > 0 {
		res.GenesysRequestsPerConversation = round4(float64(res.GenesysRequests) / n)
	}

	schedulerID := workflows.FetchSchedulerID(workflows.DefaultGenesysTaskQueue)
	trace, err := schedulerTrace(ctx, temporal, schedulerID, started, cmp.Or(opts.FetchBatchSize, workflows.DefaultFetchBatchSize))
	if err != nil {
		return nil, err
	}
	res.Chunks, res.PartialChunks = len(trace.chunks), trace.partial
	if len(trace.chunks) > 0 {
		var n int
		for _, c := range trace.chunks {
			n += c
		}
		res.MeanChunkSize = round3(float64(n) / float64(len(trace.chunks)))
	}
	res.Stages = loadStages(order, arrived, invoked, items, trace, cmp.Or(opts.FetchBatchSize, workflows.DefaultFetchBatchSize))

	hist, err := workflowHistories(ctx, e.TemporalAddress, append(slices.Clone(res.workflowID), schedulerID))
	if err != nil {
		return nil, err
	}
	res.History = hist
	if res.Conversations > 0 {
		res.HistoryEventsPerConversation = round4(float64(hist.Events) / float64(res.Conversations))
	}
	return res, nil
}

// emulatePollers deals the queued events to src.Pollers pollers, a receive
// (up to 10 events) at a time to the next poller that is gathering, and
// hands a poller's batch on when it is full (BatchSize events, or 6 MB),
// or its window has passed since its first event; with a zero window,
// at once. A poller whose batch is being invoked takes nothing until the
// invocation returns. It returns when queue is closed and everything
// gathered has been handed on.
func emulatePollers(ctx context.Context, src EventSource, queue <-chan []queuedRecord, batches []chan []queuedRecord) {
	type poller struct {
		index  int
		recs   []queuedRecord
		bytes  int
		opened time.Time
		busy   chan struct{} // closed when its invocation is handed on and done
	}
	pollers := make([]*poller, src.Pollers)
	for i := range pollers {
		pollers[i] = &poller{index: i}
	}
	limit := src.BatchSize
	if src.Window == 0 {
		limit = min(limit, receiveMax)
	}
	var (
		backlog []queuedRecord
		next    int
		closed  bool
	)
	// Invocations are handed to the invokers; a poller stays busy until the
	// invoker took its batch (the invokers serialise on the one emulator).
	free := func(p *poller) bool {
		if p.busy == nil {
			return true
		}
		select {
		case <-p.busy:
			p.busy = nil
			return true
		default:
			return false
		}
	}
	flush := func(p *poller) {
		batch := p.recs
		p.recs, p.bytes = nil, 0
		done := make(chan struct{})
		p.busy = done
		go func() {
			select {
			case batches[p.index] <- batch:
			case <-ctx.Done():
			}
			close(done)
		}()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if !closed {
			select {
			case recs, ok := <-queue:
				if !ok {
					closed = true
				} else {
					backlog = append(backlog, recs...)
				}
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		} else {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
		now := time.Now()
		// Deal the backlog a receive at a time.
		for len(backlog) > 0 {
			var p *poller
			for k := range pollers {
				c := pollers[(next+k)%len(pollers)]
				if free(c) && len(c.recs) < limit {
					p = c
					next = (next + k + 1) % len(pollers)
					break
				}
			}
			if p == nil {
				break
			}
			n := min(receiveMax, len(backlog), limit-len(p.recs))
			full := false
			for range n {
				r := backlog[0]
				if p.bytes+len(r.raw)+1 > maxDeliveryBytes {
					full = true
					break
				}
				if len(p.recs) == 0 {
					p.opened = now
				}
				p.recs = append(p.recs, r)
				p.bytes += len(r.raw) + 1
				backlog = backlog[1:]
			}
			if full || len(p.recs) >= limit {
				flush(p)
			}
		}
		idle := true
		for _, p := range pollers {
			if len(p.recs) > 0 && (src.Window == 0 || !now.Before(p.opened.Add(src.Window))) {
				flush(p)
			}
			if len(p.recs) > 0 || !free(p) {
				idle = false
			}
		}
		if closed && len(backlog) == 0 && idle {
			return
		}
	}
}

// sqsPayload is the SQS event of the records.
func sqsPayload(recs []queuedRecord) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i, r := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r.raw)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// storedItem is what the load run reads back.
type storedItem struct {
	status  string
	fetched time.Time
	updated time.Time
}

// waitStored reads the items of ids until every one is stored or drain
// passes, asking only for the ones not seen yet.
func waitStored(ctx context.Context, endpoint, table string, ids []string, drain time.Duration) (map[string]storedItem, error) {
	db := LocalDynamoDB(endpoint)
	items := make(map[string]storedItem, len(ids))
	deadline := time.Now().Add(drain)
	for {
		var left []string
		for _, id := range ids {
			if _, ok := items[id]; !ok {
				left = append(left, id)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return items, nil
		}
		for chunk := range slices.Chunk(left, 100) {
			got, err := readTimes(ctx, db, table, chunk)
			if err != nil {
				return nil, err
			}
			for id, it := range got {
				items[id] = it
			}
		}
		if len(items) < len(ids) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
}

// readTimes reads status, fetchedAt and updatedAt of up to 100 ids.
func readTimes(ctx context.Context, db *dynamodb.Client, table string, ids []string) (map[string]storedItem, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, map[string]types.AttributeValue{store.PartitionKey: &types.AttributeValueMemberS{Value: id}})
	}
	request := map[string]types.KeysAndAttributes{table: {
		Keys:                     keys,
		ProjectionExpression:     aws.String("#id, #s, #f, #u"),
		ExpressionAttributeNames: map[string]string{"#id": store.PartitionKey, "#s": "status", "#f": "fetchedAt", "#u": "updatedAt"},
	}}
	out := map[string]storedItem{}
	for attempt := 0; len(request) > 0; attempt++ {
		if attempt == 8 {
			return nil, errors.New("devstack: read items: keys still unprocessed")
		}
		if attempt > 0 {
			time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
		}
		resp, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return nil, fmt.Errorf("devstack: read items: %w", err)
		}
		for _, item := range resp.Responses[table] {
			str := func(name string) string {
				if v, ok := item[name].(*types.AttributeValueMemberS); ok {
					return v.Value
				}
				return ""
			}
			if str("status") != store.StatusComplete && str("status") != store.StatusIncomplete {
				continue // a failed item is not a stored conversation
			}
			fetched, _ := time.Parse(store.TimeFormat, str("fetchedAt"))
			updated, _ := time.Parse(store.TimeFormat, str("updatedAt"))
			out[str(store.PartitionKey)] = storedItem{status: str("status"), fetched: fetched, updated: updated}
		}
		request = resp.UnprocessedKeys
	}
	return out, nil
}
