# Alarms notify var.alarm_sns_topic_arn when set (and when they recover).

# --- Dead-letter queues: any message means an event was not ingested --------

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

# Ingestion blocked. On every failed attempt at a systemic error (Genesys
# unavailable, throttling or refusing the client's authority, a malformed
# response, DynamoDB unavailable, network errors) the worker logs one line
# with msg "ingestion blocked" and the error type in "reason"; the chunk is
# retried until fetch_retry_horizon. One filter counts all of them (the
# alarm's metric), the other the same lines per Reason, to see the cause.
resource "aws_cloudwatch_log_metric_filter" "ingestion_blocked" {
  name           = "${var.name}-ingestion-blocked"
  log_group_name = aws_cloudwatch_log_group.worker.name
  pattern        = local.ingestion_blocked_log_pattern

  metric_transformation {
    namespace = local.backlog_metric_namespace
    name      = local.ingestion_blocked_metric
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_log_metric_filter" "ingestion_blocked_by_reason" {
  name           = "${var.name}-ingestion-blocked-by-reason"
  log_group_name = aws_cloudwatch_log_group.worker.name
  pattern        = local.ingestion_blocked_log_pattern

  metric_transformation {
    namespace = local.backlog_metric_namespace
    name      = local.ingestion_blocked_metric
    value     = "1"
    unit      = "Count"
    dimensions = {
      Reason = "$.reason"
    }
  }
}

# Fires when the line was logged in every period for
# ingestion_blocked_alarm_minutes: a sustained outage, not a blip that the
# retries absorb. Missing data (nothing blocked, or no worker running, which
# temporal-backlog-stale reports) is not breaching.
resource "aws_cloudwatch_metric_alarm" "ingestion_blocked" {
  alarm_name          = "${var.name}-ingestion-blocked"
  alarm_description   = "The worker has logged \"ingestion blocked\" for ${var.ingestion_blocked_alarm_minutes} minutes: Genesys or DynamoDB unavailable, throttling, or the OAuth client lost its permission. Conversations wait (up to ${var.fetch_retry_horizon}) and are ingested once the cause is fixed; see ${local.ingestion_blocked_metric} by Reason in ${local.backlog_metric_namespace} and ${aws_cloudwatch_log_group.worker.name}."
  namespace           = local.backlog_metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.ingestion_blocked.metric_transformation[0].name
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
}

# Conversations recorded failed: after fetch_retry_horizon of systemic
# errors, or at once for what one conversation causes (Genesys refuses it,
# an unusable record, DynamoDB rejects the item, never in analytics within
# ready_timeout). The worker logs msg "conversations recorded failed" with
# the number of failed items it wrote in "recorded"; the filter sums it.
resource "aws_cloudwatch_log_metric_filter" "conversations_recorded_failed" {
  name           = "${var.name}-conversations-recorded-failed"
  log_group_name = aws_cloudwatch_log_group.worker.name
  pattern        = local.conversations_recorded_failed_log_pattern

  metric_transformation {
    namespace = local.backlog_metric_namespace
    name      = local.conversations_recorded_failed_metric
    value     = "$.recorded"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "conversations_recorded_failed" {
  alarm_name          = "${var.name}-conversations-recorded-failed"
  alarm_description   = "The worker recorded more than ${var.conversations_failed_alarm_threshold} conversations failed in 5 minutes. List them with `starter conversations list --status failed` (table ${aws_dynamodb_table.conversations.name}), fix the cause, then `starter conversations retry`."
  namespace           = local.backlog_metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.conversations_recorded_failed.metric_transformation[0].name
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
# that has heard nothing for 10 minutes checks it; the worker then logs
# msg "fetch scheduler stuck" at error level.
resource "aws_cloudwatch_log_metric_filter" "scheduler_stuck" {
  name           = "${var.name}-fetch-scheduler-stuck"
  log_group_name = aws_cloudwatch_log_group.worker.name
  pattern        = local.scheduler_stuck_log_pattern

  metric_transformation {
    namespace = local.backlog_metric_namespace
    name      = local.scheduler_stuck_metric
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "scheduler_stuck" {
  alarm_name          = "${var.name}-fetch-scheduler-stuck"
  alarm_description   = "A batch found the fetch scheduler making no progress; the log line's reason says why. If its workflow task fails after a deploy, roll the worker back (or reset the scheduler workflow to its last good workflow task); if it was terminated, the next batch starts a new one."
  namespace           = local.backlog_metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.scheduler_stuck.metric_transformation[0].name
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
