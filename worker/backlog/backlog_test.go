package backlog_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/genesys-ingest/genesys-ingest/worker/backlog"
)

// fakeTemporal answers DescribeTaskQueue from a table keyed by queue and type.
type fakeTemporal struct {
	mu    sync.Mutex
	stats map[string]map[enumspb.TaskQueueType]*taskqueuepb.TaskQueueStats
	// fail makes describe of these queues fail while the value is > 0; each
	// failure decrements it.
	fail  map[string]int
	calls []*workflowservice.DescribeTaskQueueRequest
}

func (f *fakeTemporal) DescribeTaskQueue(_ context.Context, in *workflowservice.DescribeTaskQueueRequest, _ ...grpc.CallOption) (*workflowservice.DescribeTaskQueueResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	q := in.GetTaskQueue().GetName()
	if f.fail[q] > 0 {
		f.fail[q]--
		return nil, errors.New("unavailable")
	}
	return &workflowservice.DescribeTaskQueueResponse{Stats: f.stats[q][in.GetTaskQueueType()]}, nil
}

// fakeCloudWatch records every PutMetricData input and signals it.
type fakeCloudWatch struct {
	mu     sync.Mutex
	inputs []*cloudwatch.PutMetricDataInput
	put    chan struct{}
	err    error
}

func newFakeCloudWatch() *fakeCloudWatch { return &fakeCloudWatch{put: make(chan struct{}, 100)} }

func (f *fakeCloudWatch) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	err := f.err
	f.mu.Unlock()
	f.put <- struct{}{}
	return &cloudwatch.PutMetricDataOutput{}, err
}

func (f *fakeCloudWatch) input(i int) *cloudwatch.PutMetricDataInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs[i]
}

func stats(count int64, age time.Duration) *taskqueuepb.TaskQueueStats {
	return &taskqueuepb.TaskQueueStats{ApproximateBacklogCount: count, ApproximateBacklogAge: durationpb.New(age)}
}

func twoQueues() *fakeTemporal {
	return &fakeTemporal{
		stats: map[string]map[enumspb.TaskQueueType]*taskqueuepb.TaskQueueStats{
			"genesys-ingest": {
				enumspb.TASK_QUEUE_TYPE_WORKFLOW: stats(3, 5*time.Second),
				enumspb.TASK_QUEUE_TYPE_ACTIVITY: stats(4, 2*time.Second),
			},
			"genesys-ingest-genesys": {
				enumspb.TASK_QUEUE_TYPE_WORKFLOW: stats(0, 0),
				enumspb.TASK_QUEUE_TYPE_ACTIVITY: stats(20, 90*time.Second),
			},
		},
		fail: map[string]int{},
	}
}

func config() backlog.Config {
	return backlog.Config{
		Namespace:       "ns.acct",
		TaskQueues:      []string{"genesys-ingest", "genesys-ingest-genesys", "genesys-ingest"},
		MetricNamespace: "GenesysIngest/test",
		Interval:        10 * time.Millisecond,
	}
}

// datum is a flattened MetricDatum for comparisons.
type datum struct {
	Metric    string
	TaskQueue string // "" for the dimensionless total
	Value     float64
	Unit      cwtypes.StandardUnit
}

func flatten(t *testing.T, in *cloudwatch.PutMetricDataInput) []datum {
	t.Helper()
	var out []datum
	for _, d := range in.MetricData {
		require.NotNil(t, d.Timestamp, "every datum carries a timestamp")
		fd := datum{Metric: *d.MetricName, Value: *d.Value, Unit: d.Unit}
		for _, dim := range d.Dimensions {
			require.Equal(t, backlog.DimensionTaskQueue, *dim.Name)
			fd.TaskQueue = *dim.Value
		}
		require.LessOrEqual(t, len(d.Dimensions), 1)
		out = append(out, fd)
	}
	return out
}

func waitPut(t *testing.T, cw *fakeCloudWatch) {
	t.Helper()
	select {
	case <-cw.put:
	case <-time.After(5 * time.Second):
		t.Fatal("no PutMetricData within 5s")
	}
}

func TestPublishOnceSendsEachQueueAndTotal(t *testing.T) {
	tc := twoQueues()
	cw := newFakeCloudWatch()
	p := backlog.New(config(), tc, cw, zap.NewNop())

	require.NoError(t, p.PublishOnce(context.Background()))

	require.Len(t, cw.inputs, 1)
	assert.Equal(t, "GenesysIngest/test", *cw.input(0).Namespace)
	assert.ElementsMatch(t, []datum{
		{backlog.MetricBacklogCount, "genesys-ingest", 7, cwtypes.StandardUnitCount},
		{backlog.MetricBacklogAge, "genesys-ingest", 5, cwtypes.StandardUnitSeconds},
		{backlog.MetricBacklogCount, "genesys-ingest-genesys", 20, cwtypes.StandardUnitCount},
		{backlog.MetricBacklogAge, "genesys-ingest-genesys", 90, cwtypes.StandardUnitSeconds},
		{backlog.MetricBacklogCount, "", 27, cwtypes.StandardUnitCount},
		{backlog.MetricBacklogAge, "", 90, cwtypes.StandardUnitSeconds},
	}, flatten(t, cw.input(0)))

	// One call per queue (deduplicated) and task type, all asking for stats
	// in the configured namespace.
	require.Len(t, tc.calls, 4)
	for _, c := range tc.calls {
		assert.Equal(t, "ns.acct", c.GetNamespace())
		assert.True(t, c.GetReportStats(), "ReportStats must be set")
		assert.Equal(t, enumspb.TASK_QUEUE_KIND_NORMAL, c.GetTaskQueue().GetKind())
	}
}

func TestFailingDescribeIsLoggedAndLoopContinues(t *testing.T) {
	tc := twoQueues()
	tc.fail["genesys-ingest-genesys"] = 1 // first round only
	cw := newFakeCloudWatch()
	core, logs := observer.New(zapcore.DebugLevel)
	p := backlog.New(config(), tc, cw, zap.New(core))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	waitPut(t, cw) // first round: one queue failed
	waitPut(t, cw) // second round: both succeed
	cancel()
	require.NoError(t, <-done)

	first := flatten(t, cw.input(0))
	assert.ElementsMatch(t, []datum{
		{backlog.MetricBacklogCount, "genesys-ingest", 7, cwtypes.StandardUnitCount},
		{backlog.MetricBacklogAge, "genesys-ingest", 5, cwtypes.StandardUnitSeconds},
	}, first, "a failed queue leaves out its datums and the total")

	second := flatten(t, cw.input(1))
	assert.Contains(t, second, datum{backlog.MetricBacklogCount, "", 27, cwtypes.StandardUnitCount})

	failed := logs.FilterMessage("describe task queue failed").All()
	require.Len(t, failed, 1)
	assert.Equal(t, zapcore.WarnLevel, failed[0].Level)
	assert.Equal(t, "genesys-ingest-genesys", failed[0].ContextMap()["taskQueue"])
	assert.Contains(t, failed[0].ContextMap()["error"], "unavailable")
}

func TestAllDescribesFailingSkipsPutAndKeepsTicking(t *testing.T) {
	tc := twoQueues()
	tc.fail["genesys-ingest"] = 2
	tc.fail["genesys-ingest-genesys"] = 2
	cw := newFakeCloudWatch()
	core, logs := observer.New(zapcore.WarnLevel)
	p := backlog.New(config(), tc, cw, zap.New(core))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	waitPut(t, cw) // the third round succeeds
	cancel()
	require.NoError(t, <-done)
	assert.Len(t, logs.FilterMessage("describe task queue failed").All(), 4)
	assert.Contains(t, flatten(t, cw.input(0)), datum{backlog.MetricBacklogCount, "", 27, cwtypes.StandardUnitCount})
}

func TestPutFailureIsReturnedAndLogged(t *testing.T) {
	cw := newFakeCloudWatch()
	cw.err = errors.New("throttled")
	core, logs := observer.New(zapcore.WarnLevel)
	p := backlog.New(config(), twoQueues(), cw, zap.New(core))

	err := p.PublishOnce(context.Background())
	require.ErrorContains(t, err, "throttled")
	assert.Len(t, logs.FilterMessage("publish backlog metric failed").All(), 1)
}

func TestMissingStatsIsAnError(t *testing.T) {
	tc := twoQueues()
	delete(tc.stats, "genesys-ingest-genesys")
	cw := newFakeCloudWatch()
	p := backlog.New(config(), tc, cw, nil)

	err := p.PublishOnce(context.Background())
	require.ErrorContains(t, err, "server reported no stats")
	assert.Len(t, flatten(t, cw.input(0)), 2, "only the described queue is published, without total")
}

func TestRunStopsOnContextCancel(t *testing.T) {
	cfg := config()
	cfg.Interval = time.Hour // only the initial round runs
	cw := newFakeCloudWatch()
	p := backlog.New(cfg, twoQueues(), cw, nil)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitPut(t, cw)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the context was cancelled")
	}
}

func TestRunDisabledWithoutMetricNamespace(t *testing.T) {
	cfg := config()
	cfg.MetricNamespace = ""
	tc := twoQueues()
	p := backlog.New(cfg, tc, newFakeCloudWatch(), nil)
	require.NoError(t, p.Run(context.Background()))
	assert.Empty(t, tc.calls)
}

func TestRunRejectsInvalidConfig(t *testing.T) {
	cfg := backlog.Config{MetricNamespace: "X", TaskQueues: []string{""}, Interval: -time.Second}
	err := backlog.New(cfg, twoQueues(), newFakeCloudWatch(), nil).Run(context.Background())
	require.Error(t, err)
	for _, want := range []string{"no task queue", "negative"} {
		assert.ErrorContains(t, err, want)
	}
}

func TestEmptyNamespaceIsDefault(t *testing.T) {
	cfg := config()
	cfg.Namespace = ""
	tc := twoQueues()
	require.NoError(t, backlog.New(cfg, tc, newFakeCloudWatch(), nil).PublishOnce(context.Background()))
	for _, c := range tc.calls {
		assert.Equal(t, "default", c.GetNamespace())
	}
}
