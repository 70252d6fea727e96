# Forwarder: receives batches of SQS messages (EventBridge envelopes) and
# starts one Temporal workflow per batch. Built by `make lambda`.

# CloudWatch Logs encrypts every log group at rest with its own keys; a
# customer managed key (log_kms_key_arn) is for whoever must control or
# audit the key, and needs a key policy for the Logs service.
resource "aws_cloudwatch_log_group" "lambda" {
  name              = "/aws/lambda/${var.name}-forwarder"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

# No X-Ray: the forwarder has no X-Ray instrumentation, so active tracing
# would record only the invocation segment, whose duration, errors and
# throttles are the Lambda metrics already alarmed on, and would need
# xray:PutTraceSegments on Resource "*". The workflow it starts is traced
# by Temporal's own history.
#trivy:ignore:AWS-0066
resource "aws_lambda_function" "forwarder" {
  function_name    = "${var.name}-forwarder"
  description      = "Starts a Temporal workflow per batch of Genesys conversation events"
  role             = aws_iam_role.lambda.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  timeout          = var.lambda_timeout_seconds
  memory_size      = var.lambda_memory_mb
  tags             = local.tags

  environment {
    variables = local.lambda_environment
  }

  dynamic "vpc_config" {
    for_each = var.lambda_vpc_config == null ? [] : [var.lambda_vpc_config]

    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
  ]

  # The forwarder validates its settings on a cold start and fails every
  # batch when one is out of range (config.LoadForwarder): refuse them here.
  lifecycle {
    precondition {
      condition     = local.forwarder_start_timeout_seconds > 0 && local.forwarder_start_timeout_seconds < var.lambda_timeout_seconds
      error_message = "forwarder_start_timeout must be above 0 and below lambda_timeout_seconds."
    }
  }
}

resource "aws_lambda_event_source_mapping" "events" {
  event_source_arn                   = aws_sqs_queue.events.arn
  function_name                      = aws_lambda_function.forwarder.arn
  batch_size                         = var.event_source_batch_size
  maximum_batching_window_in_seconds = var.event_source_maximum_batching_window_seconds
  # The handler reports the messages it could not handle; only those return
  # to the queue (and, after sqs_max_receive_count receives, to the DLQ).
  function_response_types = ["ReportBatchItemFailures"]
  enabled                 = true

  scaling_config {
    maximum_concurrency = var.event_source_maximum_concurrency
  }
}
