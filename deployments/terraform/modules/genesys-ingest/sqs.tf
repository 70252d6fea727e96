# events: the rule's target, consumed by the forwarder Lambda.
resource "aws_sqs_queue" "events" {
  name                       = "${var.name}-events"
  visibility_timeout_seconds = local.queue_visibility_timeout_seconds
  message_retention_seconds  = var.sqs_message_retention_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = var.sqs_kms_key_arn == null ? true : null
  kms_master_key_id          = var.sqs_kms_key_arn
  tags                       = local.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dlq.arn
    maxReceiveCount     = var.sqs_max_receive_count
  })

  lifecycle {
    precondition {
      condition     = local.queue_visibility_timeout_seconds >= 6 * var.lambda_timeout_seconds + var.event_source_maximum_batching_window_seconds
      error_message = "The events queue visibility timeout must be at least 6 x lambda_timeout_seconds + event_source_maximum_batching_window_seconds."
    }
  }
}

# events_dlq: messages the forwarder failed sqs_max_receive_count times.
resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name}-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = var.sqs_kms_key_arn == null ? true : null
  kms_master_key_id         = var.sqs_kms_key_arn
  tags                      = local.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "events_dlq" {
  queue_url = aws_sqs_queue.events_dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.events.arn]
  })
}

# delivery_dlq: events EventBridge could not deliver to the events queue.
resource "aws_sqs_queue" "delivery_dlq" {
  name                      = "${var.name}-delivery-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = var.sqs_kms_key_arn == null ? true : null
  kms_master_key_id         = var.sqs_kms_key_arn
  tags                      = local.tags
}

# Only the Genesys rule may send to the events queue and to its delivery DLQ.
resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy    = data.aws_iam_policy_document.events_queue.json
}

resource "aws_sqs_queue_policy" "delivery_dlq" {
  queue_url = aws_sqs_queue.delivery_dlq.id
  policy    = data.aws_iam_policy_document.delivery_dlq.json
}
