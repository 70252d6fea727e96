# Alarms notify var.alarm_sns_topic_arn when set (and when they recover).

# --- Dead-letter queues: any message means an event was not ingested --------
#
# SQS stops reporting the metrics of a queue idle for six hours: missing
# data is an empty queue (notBreaching).

resource "aws_cloudwatch_metric_alarm" "events_dlq" {
  alarm_name          = "${var.name}-events-dlq-not-empty"
  alarm_description   = "Messages the forwarder failed ${var.sqs_max_receive_count} times are in ${aws_sqs_queue.events_dlq.name}. Inspect them, fix the cause, then redrive them to ${aws_sqs_queue.events.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags

  dimensions = {
    QueueName = aws_sqs_queue.events_dlq.name
  }
}

resource "aws_cloudwatch_metric_alarm" "delivery_dlq" {
  alarm_name          = "${var.name}-delivery-dlq-not-empty"
  alarm_description   = "EventBridge could not deliver Genesys events to ${aws_sqs_queue.events.name}; they are in ${aws_sqs_queue.delivery_dlq.name} (check the queue policy and KMS key)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags

  dimensions = {
    QueueName = aws_sqs_queue.delivery_dlq.name
  }
}

resource "aws_cloudwatch_metric_alarm" "events_queue_age" {
  alarm_name          = "${var.name}-events-queue-old-messages"
  alarm_description   = "The oldest message in ${aws_sqs_queue.events.name} is older than ${var.queue_age_alarm_seconds}s: the forwarder is failing or throttled."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.queue_age_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags

  dimensions = {
    QueueName = aws_sqs_queue.events.name
  }
}

# --- Forwarder Lambda ----------------------------------------------------------
#
# Lambda reports Errors and Throttles only for invocations: missing data is
# no traffic (notBreaching).

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${var.name}-forwarder-errors"
  alarm_description   = "The forwarder Lambda failed whole batches (see ${aws_cloudwatch_log_group.lambda.name})."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags

  dimensions = {
    FunctionName = aws_lambda_function.forwarder.function_name
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  alarm_name          = "${var.name}-forwarder-throttles"
  alarm_description   = "The forwarder Lambda was throttled (account concurrency exhausted?)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags

  dimensions = {
    FunctionName = aws_lambda_function.forwarder.function_name
  }
}

# --- Worker -----------------------------------------------------------------

# Workflow failures. The worker writes JSON logs (LOG_FORMAT=json) and logs
# one line with msg "workflow failed" for each workflow that ends in failure;
# a metric filter turns those lines into a count. A log metric needs nothing
# from the worker beyond that line (no extra IAM, no CloudWatch client in the
# workflow path) and also counts failures while the backlog publisher is off.
# The filter publishes only on a match: missing data is no failure.
resource "aws_cloudwatch_log_metric_filter" "workflow_failures" {
  name           = "${var.name}-workflow-failures"
  log_group_name = aws_cloudwatch_log_group.worker.name
  pattern        = var.workflow_failure_log_pattern

  metric_transformation {
    namespace = local.backlog_metric_namespace
    name      = local.workflow_failure_metric
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "workflow_failures" {
  alarm_name          = "${var.name}-workflow-failures"
  alarm_description   = "Ingest workflows failed (worker log lines matching ${var.workflow_failure_log_pattern} in ${aws_cloudwatch_log_group.worker.name})."
  namespace           = local.backlog_metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.workflow_failures.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

# --- Worker metrics (embedded metric format, local.metrics_namespace) --------
#
# The worker writes these as embedded-format JSON lines to its log group and
# only when there is something to count, so missing data means "nothing
# happened" and is notBreaching; a worker that runs no task at all is what
# temporal-backlog-stale (missing data breaching) reports.

# Ingestion blocked. On every failed attempt at a systemic error (Genesys
# unavailable, throttling or refusing the client's authority, a malformed
# response, DynamoDB unavailable, network errors) the worker counts
# IngestionBlocked by Reason (and logs "ingestion blocked"); the chunk is
# retried until fetch_retry_horizon. Its documents also declare the empty
# dimension set, so CloudWatch keeps IngestionBlocked without dimensions,
# the total over every Reason (including any added later), which this alarm
# reads. Fires when the count was above zero in every period for
# ingestion_blocked_alarm_minutes: a sustained outage, not a blip that the
# retries absorb.
resource "aws_cloudwatch_metric_alarm" "ingestion_blocked" {
  alarm_name          = "${var.name}-ingestion-blocked"
  alarm_description   = "The worker has counted IngestionBlocked for ${var.ingestion_blocked_alarm_minutes} minutes: Genesys or DynamoDB unavailable, throttling, or the OAuth client lost its permission. Conversations wait (up to ${var.fetch_retry_horizon}) and are ingested once the cause is fixed; see IngestionBlocked by Reason in ${local.metrics_namespace} and the \"ingestion blocked\" lines in ${aws_cloudwatch_log_group.worker.name}."
  namespace           = local.metrics_namespace
  metric_name         = "IngestionBlocked"
  statistic           = "Sum"
  period              = local.ingestion_blocked_period_seconds
  evaluation_periods  = local.ingestion_blocked_evaluation_periods
  datapoints_to_alarm = local.ingestion_blocked_evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags

  lifecycle {
    precondition {
      condition     = local.ingestion_blocked_period_seconds <= local.alarm_range_seconds
      error_message = "fetch_retry_max_interval must be at most 12h: the ingestion-blocked alarm's period is twice that, and CloudWatch evaluates an alarm over at most 1 day."
    }
  }
}

# Conversations recorded failed: after fetch_retry_horizon of systemic
# errors, or at once for what one conversation causes (Genesys refuses it,
# an unusable record, DynamoDB rejects the item, never in analytics within
# ready_timeout). The worker counts the failed items it writes.
resource "aws_cloudwatch_metric_alarm" "conversations_recorded_failed" {
  alarm_name          = "${var.name}-conversations-recorded-failed"
  alarm_description   = "The worker recorded more than ${var.conversations_failed_alarm_threshold} conversations failed in 5 minutes. List them with `starter conversations list --status failed` (table ${aws_dynamodb_table.conversations.name}), fix the cause, then `starter conversations retry`."
  namespace           = local.metrics_namespace
  metric_name         = "ConversationsRecordedFailed"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.conversations_failed_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

# The fetch scheduler makes no progress while batches wait for it: its
# workflow task keeps failing (a non-deterministic deploy, a panic), it does
# not answer queries, or conversations are queued and nothing is fetched.
# Signals to it still succeed and nothing is left on the task queues, so
# neither the batches' pings nor the backlog alarm would notice. A batch
# that has heard nothing for 10 minutes checks it; the worker then counts
# FetchSchedulerStalled (and logs "fetch scheduler stuck" with the reason).
resource "aws_cloudwatch_metric_alarm" "scheduler_stuck" {
  alarm_name          = "${var.name}-fetch-scheduler-stuck"
  alarm_description   = "A batch found the fetch scheduler making no progress with work queued; the worker's \"fetch scheduler stuck\" log line says why. If its workflow task fails after a deploy, roll the worker back (or reset the scheduler workflow to its last good workflow task); if it was terminated, the next batch starts a new one."
  namespace           = local.metrics_namespace
  metric_name         = "FetchSchedulerStalled"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

# 429s. The fetch queue's rate limit keeps the fleet below
# genesys_requests_per_second, so 429s that last mean someone else spends
# the OAuth client's budget, or Genesys lowered it. Each is retried after
# Retry-After (ingestion-blocked fires if nothing gets through).
resource "aws_cloudwatch_metric_alarm" "genesys_rate_limited" {
  alarm_name          = "${var.name}-genesys-rate-limited"
  alarm_description   = "Genesys answered more than ${var.rate_limited_alarm_threshold} requests per 5 minutes with 429 for 15 minutes. Find the other consumer of the OAuth client, or lower genesys_requests_per_second (now ${var.genesys_requests_per_second}/s)."
  namespace           = local.metrics_namespace
  metric_name         = "GenesysRateLimited"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.rate_limited_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

# Freshness: event time to the conversation stored. Three 5-minute periods
# in a row, so that a burst (a backlog drained after an outage, which the
# other alarms report) or the few samples of a quiet hour do not page.
resource "aws_cloudwatch_metric_alarm" "freshness" {
  alarm_name          = "${var.name}-freshness-p99"
  alarm_description   = "The 99th percentile of Freshness (event to stored) has been above ${var.freshness_p99_alarm_ms} ms for 15 minutes. Check the dashboard ${var.name}: budget use at 100% means more work than genesys_requests_per_second allows; a growing events queue or Temporal backlog points at the forwarder or the worker."
  namespace           = local.metrics_namespace
  metric_name         = "Freshness"
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.freshness_p99_alarm_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

# The oldest waiting Temporal task is too old, or the worker stopped
# publishing the backlog (missing data is breaching).
resource "aws_cloudwatch_metric_alarm" "backlog_age" {
  alarm_name          = "${var.name}-temporal-backlog-stale"
  alarm_description   = "Temporal tasks have waited more than ${var.backlog_age_alarm_seconds}s, or the worker has not published ${local.backlog_age_metric_name} to ${local.backlog_metric_namespace}."
  namespace           = local.backlog_metric_namespace
  metric_name         = local.backlog_age_metric_name
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.backlog_age_alarm_seconds
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}
