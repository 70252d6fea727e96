// Package health decides whether the worker is healthy, serves that on
// /healthz for the ECS container health check, and turns a fatal error of a
// Temporal SDK worker into the process's exit.
//
// The worker is unhealthy when Temporal has not answered for longer than
// WORKER_UNHEALTHY_AFTER, or once a worker stopped fatally. "Answered" is
// measured by a probe every ten seconds, not by the SDK's own polls: the SDK
// offers no callback for poll results (only log lines and metrics, which
// would have to be recognised by their text or names), and a long poll that
// succeeds can take a minute, so its silence says nothing. The probe describes
// the worker's task queues (DescribeTaskQueue), which needs what polling needs
// and a bare gRPC health check (client.CheckHealth) does not: the namespace,
// the credentials and the matching service that owns the queues.
//
// /readyz (Readiness) asks more, and now: whether Temporal and the
// conversations table answer. It is for deploy checks and people; the ECS
// health check uses /healthz, since replacing a task cures neither a
// DynamoDB nor a Temporal outage.
package health

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap"
)

// probeInterval is how often Temporal is probed, unless the threshold is so
// short that fewer than three probes would fit in it.
const probeInterval = 10 * time.Second

// Probe asks Temporal something cheap; nil means it answered.
type Probe func(ctx context.Context) error

// TaskQueueDescriber is the part of client.Client the probe uses.
type TaskQueueDescriber interface {
	DescribeTaskQueue(ctx context.Context, taskQueue string, taskQueueType enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error)
}

// TaskQueueProbe describes the workflow task queue and the activity task
// queue the worker polls.
func TaskQueueProbe(c TaskQueueDescriber, workflowTaskQueue, activityTaskQueue string) Probe {
	return func(ctx context.Context) error {
		if _, err := c.DescribeTaskQueue(ctx, workflowTaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW); err != nil {
			return fmt.Errorf("describe task queue %s: %w", workflowTaskQueue, err)
		}
		if _, err := c.DescribeTaskQueue(ctx, activityTaskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY); err != nil {
			return fmt.Errorf("describe task queue %s: %w", activityTaskQueue, err)
		}
		return nil
	}
}

// Checker holds the worker's health. It is an http.Handler for /healthz.
type Checker struct {
	probe          Probe
	unhealthyAfter time.Duration
	interval       time.Duration
	logger         *zap.Logger
	// now is time.Now; tests move it by hand.
	now func() time.Time
	// fatal receives the first fatal error; buffered so the SDK's callback
	// never blocks.
	fatal chan error

	mu          sync.Mutex
	lastSuccess time.Time
	lastErr     error
	fatalErr    error
	// reportedUnhealthy is the state last logged, so that a change is
	// logged once, not on every probe.
	reportedUnhealthy bool
}

// New returns a Checker that reports unhealthy once probe has failed for
// longer than unhealthyAfter. The worker has just dialled Temporal when it
// builds the Checker, so that counts as the first success.
func New(probe Probe, unhealthyAfter time.Duration, logger *zap.Logger) *Checker {
	c := &Checker{
		probe:          probe,
		unhealthyAfter: unhealthyAfter,
		// At least three probes per threshold: one slow probe alone never
		// makes the worker unhealthy.
		interval: min(probeInterval, unhealthyAfter/3),
		logger:   logger,
		now:      time.Now,
		fatal:    make(chan error, 1),
	}
	c.lastSuccess = c.now()
	return c
}

// Run probes Temporal until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	for {
		c.probeOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// probeOnce runs one probe, bounded by the interval so probes never pile up,
// and records its outcome.
func (c *Checker) probeOnce(ctx context.Context) {
	probeCtx, cancel := context.WithTimeout(ctx, c.interval)
	err := c.probe(probeCtx)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: not Temporal's failure
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.lastSuccess, c.lastErr = c.now(), nil
	} else {
		if c.lastErr == nil {
			c.logger.Warn("Temporal did not answer the health probe", zap.Error(err))
		}
		c.lastErr = err
	}
	healthy, reason := c.statusLocked()
	switch {
	case !healthy && !c.reportedUnhealthy:
		c.logger.Error("worker unhealthy", zap.String("reason", reason))
	case healthy && c.reportedUnhealthy:
		c.logger.Info("worker healthy again: Temporal answers")
	}
	c.reportedUnhealthy = !healthy
}

// Status reports whether the worker is healthy and, if not, why.
func (c *Checker) Status() (healthy bool, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statusLocked()
}

func (c *Checker) statusLocked() (bool, string) {
	if c.fatalErr != nil {
		return false, c.fatalErr.Error()
	}
	// Measured when asked, not when probed, so a probe that never returns
	// still turns the worker unhealthy.
	if silent := c.now().Sub(c.lastSuccess); silent > c.unhealthyAfter {
		return false, fmt.Sprintf("Temporal has not answered for %s (WORKER_UNHEALTHY_AFTER=%s): %v",
			silent.Round(time.Second), c.unhealthyAfter, c.lastErr)
	}
	return true, ""
}

// ServeHTTP answers 200 "ok" while healthy and 503 with the reason otherwise.
func (c *Checker) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	healthy, reason := c.Status()
	if !healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintln(w, "unhealthy:", reason)
		return
	}
	_, _ = w.Write([]byte("ok"))
}

// OnFatalError returns the worker.Options.OnFatalError callback of the SDK
// worker polling taskQueue. The SDK calls it when the worker stops for good
// (the namespace is gone, the credentials are refused): the process must
// then exit, or it would idle on as a worker that polls nothing.
func (c *Checker) OnFatalError(taskQueue string) func(error) {
	return func(err error) {
		err = fmt.Errorf("worker of task queue %s stopped: %w", taskQueue, err)
		c.logger.Error("worker stopped fatally; exiting", zap.String("taskQueue", taskQueue), zap.Error(err))
		c.mu.Lock()
		first := c.fatalErr == nil
		if first {
			c.fatalErr = err
		}
		c.mu.Unlock()
		if first {
			c.fatal <- err
		}
	}
}

// Wait blocks until interrupt fires or a worker stops fatally, and returns
// that fatal error, or nil after an interrupt. The caller stops the workers
// either way and exits non-zero on an error.
func (c *Checker) Wait(interrupt <-chan any) error {
	select {
	case <-interrupt:
		return nil
	case err := <-c.fatal:
		return err
	}
}
