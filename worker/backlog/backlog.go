// Package backlog publishes the approximate backlog of the worker's Temporal
// task queues as a CloudWatch metric, so that ECS Application Auto Scaling can
// add worker tasks while work waits and remove them when the queues drain.
//
// Every Interval the Publisher asks the Temporal frontend for the statistics of
// each configured task queue (DescribeTaskQueue with ReportStats, once per task
// queue type), adds the workflow and activity backlogs of each queue, and sends
// one PutMetricData call with:
//
//   - ApproximateBacklogCount and ApproximateBacklogAge (seconds) with the
//     dimension TaskQueue=<name> for each queue, and
//   - ApproximateBacklogCount and ApproximateBacklogAge with no dimension: the
//     sum of the counts and the oldest age over all queues. The Terraform
//     module scales the ECS service on this dimensionless total.
//
// The total is sent only when every queue was described in that round: a
// partial sum would understate the backlog and scale the service in while
// work waits. Failures are logged and retried on the next tick; Run stops only
// when its context ends.
package backlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Names shared with the Terraform module (deployments/terraform), which builds
// its scaling policy and alarms on them.
const (
	// MetricBacklogCount is the number of tasks waiting in a task queue.
	MetricBacklogCount = "ApproximateBacklogCount"
	// MetricBacklogAge is the age in seconds of the oldest waiting task.
	MetricBacklogAge = "ApproximateBacklogAge"
	// DimensionTaskQueue names the task queue of a per-queue datum. The
	// total over all queues carries no dimension.
	DimensionTaskQueue = "TaskQueue"

	// DefaultInterval is how often the backlog is published when
	// Config.Interval is zero (BACKLOG_METRIC_INTERVAL).
	DefaultInterval = 60 * time.Second
	// DefaultTimeout bounds one round of describe calls plus the
	// PutMetricData call when Config.Timeout is zero.
	DefaultTimeout = 15 * time.Second
)

// taskQueueTypes are the task types whose backlogs are added per queue: the
// workflow queue holds workflow tasks (and activity tasks of activities
// registered on it); the Genesys queue holds activity tasks only.
var taskQueueTypes = []enumspb.TaskQueueType{
	enumspb.TASK_QUEUE_TYPE_WORKFLOW,
	enumspb.TASK_QUEUE_TYPE_ACTIVITY,
}

// TaskQueueDescriber is the one Temporal frontend call the Publisher makes.
// The WorkflowService() of a go.temporal.io/sdk client satisfies it.
type TaskQueueDescriber interface {
	DescribeTaskQueue(ctx context.Context, in *workflowservice.DescribeTaskQueueRequest, opts ...grpc.CallOption) (*workflowservice.DescribeTaskQueueResponse, error)
}

// MetricPutter is the one CloudWatch call the Publisher makes; a
// *cloudwatch.Client satisfies it.
type MetricPutter interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// Config says what to describe and where to publish.
type Config struct {
	// Namespace is the Temporal namespace of the task queues
	// (TEMPORAL_NAMESPACE); "default" when empty, as in the SDK client.
	Namespace string
	// TaskQueues are the queues to report, e.g. the workflow queue
	// (TEMPORAL_TASK_QUEUE) and the Genesys activity queue
	// (GENESYS_TASK_QUEUE). Duplicates and empty names are ignored.
	TaskQueues []string
	// MetricNamespace is the CloudWatch namespace
	// (BACKLOG_METRIC_NAMESPACE). Empty disables publishing: Run returns
	// nil at once.
	MetricNamespace string
	// Interval between two publications (BACKLOG_METRIC_INTERVAL);
	// DefaultInterval when zero.
	Interval time.Duration
	// Timeout bounds one round (describe calls and PutMetricData);
	// DefaultTimeout when zero, and never longer than Interval.
	Timeout time.Duration
}

// Enabled reports whether a metric namespace is configured.
func (c Config) Enabled() bool { return c.MetricNamespace != "" }

// Validate reports every problem of an enabled configuration together.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	if len(uniqueNonEmpty(c.TaskQueues)) == 0 {
		errs = append(errs, errors.New("backlog: no task queue to report"))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("backlog: interval %s is negative", c.Interval))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("backlog: timeout %s is negative", c.Timeout))
	}
	return errors.Join(errs...)
}

// Publisher periodically publishes task queue backlogs to CloudWatch.
type Publisher struct {
	cfg      Config
	queues   []string
	temporal TaskQueueDescriber
	cw       MetricPutter
	log      *zap.Logger
	now      func() time.Time
}

// New builds a Publisher. A nil logger discards logs.
func New(cfg Config, temporal TaskQueueDescriber, cw MetricPutter, logger *zap.Logger) *Publisher {
	if cfg.Namespace == "" {
		cfg.Namespace = client.DefaultNamespace
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Interval > 0 && cfg.Timeout > cfg.Interval {
		cfg.Timeout = cfg.Interval
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Publisher{
		cfg:      cfg,
		queues:   uniqueNonEmpty(cfg.TaskQueues),
		temporal: temporal,
		cw:       cw,
		log:      logger.Named("backlog"),
		now:      time.Now,
	}
}

// Run publishes once at start and then every Interval until ctx ends, when
// it returns nil. It returns an error only for an invalid configuration; a
// failed round is logged and the next tick tries again. With no metric
// namespace configured it returns nil at once.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.cfg.Enabled() {
		p.log.Info("backlog metric disabled: no CloudWatch namespace configured")
		return nil
	}
	if err := p.cfg.Validate(); err != nil {
		return err
	}
	p.log.Info("publishing task queue backlog",
		zap.String("metricNamespace", p.cfg.MetricNamespace),
		zap.Strings("taskQueues", p.queues),
		zap.Duration("interval", p.cfg.Interval))

	ticker := time.NewTicker(p.cfg.Interval)
	defer ticker.Stop()
	for {
		// The error is logged inside; the loop goes on regardless.
		_ = p.PublishOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// QueueBacklog is the backlog of one task queue, summed over task types.
type QueueBacklog struct {
	TaskQueue string
	Count     int64
	// Age of the oldest waiting task over the task types.
	Age time.Duration
}

// PublishOnce describes every queue and publishes what it learnt. Queues that
// could not be described are logged and left out, and so is the total. It
// returns the joined errors of the round, already logged.
func (p *Publisher) PublishOnce(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()

	var (
		errs     []error
		backlogs []QueueBacklog
	)
	for _, q := range p.queues {
		b, err := p.describe(ctx, q)
		if err != nil {
			p.log.Warn("describe task queue failed", zap.String("taskQueue", q), zap.Error(err))
			errs = append(errs, err)
			continue
		}
		backlogs = append(backlogs, b)
	}
	complete := len(errs) == 0
	if len(backlogs) == 0 {
		return errors.Join(errs...)
	}

	in := p.metricInput(backlogs, complete)
	if _, err := p.cw.PutMetricData(ctx, in); err != nil {
		err = fmt.Errorf("put %d backlog datums to %s: %w", len(in.MetricData), p.cfg.MetricNamespace, err)
		p.log.Warn("publish backlog metric failed", zap.Error(err))
		errs = append(errs, err)
		return errors.Join(errs...)
	}
	fields := make([]zap.Field, 0, len(backlogs)+1)
	var total int64
	for _, b := range backlogs {
		total += b.Count
		fields = append(fields, zap.Int64(b.TaskQueue, b.Count))
	}
	if complete {
		fields = append(fields, zap.Int64("total", total))
	}
	p.log.Debug("published task queue backlog", fields...)
	return errors.Join(errs...)
}

// describe returns the backlog of one queue over all task types.
func (p *Publisher) describe(ctx context.Context, queue string) (QueueBacklog, error) {
	b := QueueBacklog{TaskQueue: queue}
	for _, t := range taskQueueTypes {
		resp, err := p.temporal.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace:     p.cfg.Namespace,
			TaskQueue:     &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			TaskQueueType: t,
			ReportStats:   true,
		})
		if err != nil {
			return QueueBacklog{}, fmt.Errorf("describe task queue %q (%s): %w", queue, t, err)
		}
		stats := resp.GetStats()
		if stats == nil {
			// Servers before 1.27 ignore ReportStats in this mode.
			return QueueBacklog{}, fmt.Errorf("describe task queue %q (%s): server reported no stats (needs Temporal Server 1.27 or later, or Temporal Cloud)", queue, t)
		}
		b.Count += stats.GetApproximateBacklogCount()
		if age := stats.GetApproximateBacklogAge().AsDuration(); age > b.Age {
			b.Age = age
		}
	}
	return b, nil
}

// metricInput builds one PutMetricData request: per-queue datums and, when
// every queue was described, the dimensionless total.
func (p *Publisher) metricInput(backlogs []QueueBacklog, withTotal bool) *cloudwatch.PutMetricDataInput {
	ts := aws.Time(p.now())
	data := make([]cwtypes.MetricDatum, 0, 2*len(backlogs)+2)
	var (
		total  int64
		oldest time.Duration
	)
	for _, b := range backlogs {
		dims := []cwtypes.Dimension{{Name: aws.String(DimensionTaskQueue), Value: aws.String(b.TaskQueue)}}
		data = append(data,
			countDatum(b.Count, dims, ts),
			ageDatum(b.Age, dims, ts),
		)
		total += b.Count
		if b.Age > oldest {
			oldest = b.Age
		}
	}
	if withTotal {
		data = append(data, countDatum(total, nil, ts), ageDatum(oldest, nil, ts))
	}
	return &cloudwatch.PutMetricDataInput{
		Namespace:  aws.String(p.cfg.MetricNamespace),
		MetricData: data,
	}
}

func countDatum(n int64, dims []cwtypes.Dimension, ts *time.Time) cwtypes.MetricDatum {
	return cwtypes.MetricDatum{
		MetricName: aws.String(MetricBacklogCount),
		Dimensions: dims,
		Timestamp:  ts,
		Unit:       cwtypes.StandardUnitCount,
		Value:      aws.Float64(float64(n)),
	}
}

func ageDatum(age time.Duration, dims []cwtypes.Dimension, ts *time.Time) cwtypes.MetricDatum {
	return cwtypes.MetricDatum{
		MetricName: aws.String(MetricBacklogAge),
		Dimensions: dims,
		Timestamp:  ts,
		Unit:       cwtypes.StandardUnitSeconds,
		Value:      aws.Float64(age.Seconds()),
	}
}

func uniqueNonEmpty(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}
