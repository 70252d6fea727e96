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
