package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fakeTemporal is a probe whose answer the test sets.
type fakeTemporal struct {
	mu  sync.Mutex
	err error
}

func (f *fakeTemporal) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeTemporal) probe(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// newChecker returns a Checker on a clock that moves only when the test
// calls advance.
func newChecker(t *testing.T, unhealthyAfter time.Duration) (*Checker, *fakeTemporal, func(time.Duration), *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	temporal := &fakeTemporal{}
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(temporal.probe, unhealthyAfter, zap.New(core))
	c.now = func() time.Time { return clock }
	c.lastSuccess = clock
	return c, temporal, func(d time.Duration) { clock = clock.Add(d) }, logs
}

func get(t *testing.T, c *Checker) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	return rec.Code, rec.Body.String()
}

func TestUnhealthyOnlyOnceTemporalIsSilentLongerThanTheThreshold(t *testing.T) {
	c, temporal, advance, logs := newChecker(t, time.Minute)
	ctx := context.Background()
	c.probeOnce(ctx)
	code, body := get(t, c)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)

	temporal.set(serviceerror.NewUnavailable("connection refused"))
	for range 6 {
		advance(10 * time.Second)
		c.probeOnce(ctx)
	}
	code, _ = get(t, c)
	assert.Equal(t, http.StatusOK, code, "60s of failures is not yet longer than the threshold")
	assert.Equal(t, 1, logs.FilterMessage("Temporal did not answer the health probe").Len(), "an outage is logged when it begins")
	assert.Zero(t, logs.FilterMessage("worker unhealthy").Len())

	advance(time.Second)
	c.probeOnce(ctx)
	advance(10 * time.Second)
	c.probeOnce(ctx)
	code, body = get(t, c)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "Temporal has not answered for 1m11s")
	assert.Contains(t, body, "connection refused")
	assert.Equal(t, 1, logs.FilterMessage("worker unhealthy").Len(), "the change is logged once")
}

func TestHealthyAgainWhenTemporalAnswers(t *testing.T) {
	c, temporal, advance, logs := newChecker(t, 30*time.Second)
	ctx := context.Background()
	temporal.set(errors.New("dial tcp: i/o timeout"))
	advance(31 * time.Second)
	c.probeOnce(ctx)
	healthy, _ := c.Status()
	require.False(t, healthy)

	temporal.set(nil)
	advance(10 * time.Second)
	c.probeOnce(ctx)
	code, body := get(t, c)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)
	assert.Equal(t, 1, logs.FilterMessage("worker healthy again: Temporal answers").Len())

	// A new outage is logged again.
	temporal.set(errors.New("refused"))
	advance(10 * time.Second)
	c.probeOnce(ctx)
	assert.Equal(t, 2, logs.FilterMessage("Temporal did not answer the health probe").Len())
}

func TestAProbeThatNeverReturnsStillTurnsTheWorkerUnhealthy(t *testing.T) {
	c, _, advance, _ := newChecker(t, time.Minute)
	advance(61 * time.Second) // no probe recorded anything in that time
	code, body := get(t, c)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "Temporal has not answered for 1m1s")
}

func TestShutdownIsNotCountedAsAFailure(t *testing.T) {
	c, temporal, advance, logs := newChecker(t, time.Minute)
	temporal.set(context.Canceled)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	advance(time.Second)
	c.probeOnce(ctx)
	assert.Zero(t, logs.Len())
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.NoError(t, c.lastErr)
}

func TestFatalErrorMakesTheWorkerUnhealthyAndEndsWait(t *testing.T) {
	c, _, _, logs := newChecker(t, time.Minute)
	fatal := serviceerror.NewNamespaceNotFound("default")
	workflowWorker, fetchWorker := c.OnFatalError("genesys-ingest"), c.OnFatalError("genesys-fetch")

	done := make(chan error, 1)
	go func() { done <- c.Wait(make(chan any)) }()
	// The SDK calls the callback on its own goroutine; both workers may fail
	// on the same cause, and the second call must not block.
	workflowWorker(fatal)
	fetchWorker(fatal)

	select {
	case err := <-done:
		require.Error(t, err)
		assert.ErrorIs(t, err, fatal)
		assert.Contains(t, err.Error(), "worker of task queue genesys-ingest stopped")
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after a fatal error")
	}
	c.probeOnce(context.Background()) // Temporal answers, but the worker is gone
	code, body := get(t, c)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "genesys-ingest stopped")
	assert.Equal(t, 2, logs.FilterMessage("worker stopped fatally; exiting").Len())
}

func TestInterruptEndsWaitWithoutAnError(t *testing.T) {
	c, _, _, _ := newChecker(t, time.Minute)
	interrupt := make(chan any, 1)
	interrupt <- struct{}{}
	assert.NoError(t, c.Wait(interrupt))
}

func TestRunProbesUntilItsContextEnds(t *testing.T) {
	var probes atomic.Int32
	c := New(func(context.Context) error { probes.Add(1); return nil }, 30*time.Millisecond, zap.NewNop())
	assert.Equal(t, 10*time.Millisecond, c.interval, "three probes fit in the threshold")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { c.Run(ctx); close(stopped) }()
	assert.Eventually(t, func() bool { return probes.Load() >= 3 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	assert.Equal(t, probeInterval, New(nil, time.Minute, zap.NewNop()).interval)
}

type fakeDescriber struct {
	described []string
	failOn    string
}

func (f *fakeDescriber) DescribeTaskQueue(_ context.Context, name string, kind enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	f.described = append(f.described, name+"/"+kind.String())
	if name == f.failOn {
		return nil, serviceerror.NewPermissionDenied("no", "")
	}
	return &workflowservice.DescribeTaskQueueResponse{}, nil
}

func TestTaskQueueProbeDescribesTheQueuesTheWorkerPolls(t *testing.T) {
	d := &fakeDescriber{}
	require.NoError(t, TaskQueueProbe(d, "wf", "fetch")(context.Background()))
	assert.Equal(t, []string{"wf/Workflow", "fetch/Activity"}, d.described)

	d = &fakeDescriber{failOn: "fetch"}
	err := TaskQueueProbe(d, "wf", "fetch")(context.Background())
	var denied *serviceerror.PermissionDenied
	assert.ErrorAs(t, err, &denied)
	assert.Contains(t, err.Error(), "describe task queue fetch")
}
