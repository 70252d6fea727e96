output "event_bus_name" {
  description = "Name of the partner event bus receiving Genesys Cloud events."
  value       = local.event_bus_name
}

output "event_rule_arn" {
  description = "ARN of the rule forwarding conversation events to the queue."
  value       = aws_cloudwatch_event_rule.conversations.arn
}

output "queue_url" {
  description = "URL of the events queue consumed by the forwarder."
  value       = aws_sqs_queue.events.url
}

output "queue_arn" {
  description = "ARN of the events queue consumed by the forwarder."
  value       = aws_sqs_queue.events.arn
}

output "events_dlq_arn" {
  description = "ARN of the DLQ of messages the forwarder failed to process (redrive target of the events queue)."
  value       = aws_sqs_queue.events_dlq.arn
}

output "events_dlq_url" {
  description = "URL of the events DLQ (for inspection and redrive)."
  value       = aws_sqs_queue.events_dlq.url
}

output "delivery_dlq_arn" {
  description = "ARN of the DLQ of events EventBridge could not deliver to the events queue."
  value       = aws_sqs_queue.delivery_dlq.arn
}

output "lambda_function_name" {
  description = "Name of the forwarder Lambda."
  value       = aws_lambda_function.forwarder.function_name
}

output "lambda_log_group_name" {
  description = "Log group of the forwarder Lambda."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "dynamodb_table_name" {
  description = "Name of the conversations table (DYNAMODB_TABLE)."
  value       = aws_dynamodb_table.conversations.name
}

output "dynamodb_table_arn" {
  description = "ARN of the conversations table."
  value       = aws_dynamodb_table.conversations.arn
}

output "dynamodb_batch_table_name" {
  description = "Name of the batches table (DYNAMODB_BATCH_TABLE), read with `starter batches list`."
  value       = aws_dynamodb_table.batches.name
}

output "dynamodb_batch_table_arn" {
  description = "ARN of the batches table."
  value       = aws_dynamodb_table.batches.arn
}

output "detail_bucket_name" {
  description = "Name of the S3 bucket of the details too large for their item (DETAIL_BUCKET)."
  value       = aws_s3_bucket.details.bucket
}

output "reader_policy_json" {
  description = "IAM policy for the people who read what is stored with the starter CLI: conversations get [--detail], conversations list [--day], batches list, and the table reads of conversations where (GetItem on both tables; it also asks Temporal, which takes a Temporal API key: operator_policy_json reads the deployment's). Attached to nothing: give it to their role, group or permission set."
  value       = data.aws_iam_policy_document.reader.json
}

output "operator_policy_json" {
  description = "IAM policy for operators: reader_policy_json plus conversations retry, table migrate (Scan and UpdateItem on the conversations table) and reading the Temporal API key for the commands that start workflows (retry, backfill, reconcile, sweep schedule) and for conversations where. Attached to nothing."
  value       = data.aws_iam_policy_document.operator.json
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster running the worker."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_name" {
  description = "Name of the worker ECS service."
  value       = aws_ecs_service.worker.name
}

output "worker_log_group_name" {
  description = "Log group of the worker containers."
  value       = aws_cloudwatch_log_group.worker.name
}

output "worker_security_group_id" {
  description = "Security group of the worker tasks (no ingress)."
  value       = aws_security_group.worker.id
}

output "genesys_secret_arn" {
  description = "ARN of the secret holding the Genesys OAuth client as JSON {client_id, client_secret}."
  value       = local.genesys_secret_arn
}

output "contact_hash_key_secret_arn" {
  description = "ARN of the secret holding the HMAC key of the hashed contact addresses (CONTACT_HASH_KEY_SECRET_ARN); null unless store_contact_addresses is hashed."
  value       = local.contact_hash_key_secret_arn
}

output "temporal_secret_arn" {
  description = "ARN of the secret holding the Temporal API key as JSON {api_key}; null when temporal_auth_mode is none."
  value       = local.temporal_secret_arn
}

output "backlog_metric_namespace" {
  description = "CloudWatch namespace of the backlog metrics (BACKLOG_METRIC_NAMESPACE) and of the log metric WorkflowFailures."
  value       = local.backlog_metric_namespace
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the worker's embedded-format metrics (WORKER_METRICS_NAMESPACE) the alarms and the dashboard read."
  value       = local.metrics_namespace
}

output "dashboard_name" {
  description = "CloudWatch dashboard with throughput, outcomes, Genesys budget use, 429s and freshness."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "event_archive_arn" {
  description = "ARN of the archive of the partner bus (replay with `aws events start-replay`); null without event_archive_retention_days."
  value       = one(aws_cloudwatch_event_archive.genesys[*].arn)
}

# The values come from standard input (paste the JSON, then Ctrl-D; the
# contact hash key is piped from openssl): a value on the command line would
# stay in the shell history and show in the process list.
output "secret_setup_commands" {
  description = "AWS CLI commands that put the secret values. Each reads its value from standard input, so no credential is on a command line: paste the JSON shown in its comment, then Ctrl-D; with store_contact_addresses = hashed, the contact hash key is a random one piped from openssl (run that command once: a new key changes every hash written afterwards)."
  value = concat(
    [
      "aws secretsmanager put-secret-value --secret-id '${local.genesys_secret_arn}' --secret-string file:///dev/stdin  # {\"client_id\":\"...\",\"client_secret\":\"...\"}",
    ],
    var.temporal_auth_mode == "api_key" ? [
      "aws secretsmanager put-secret-value --secret-id '${coalesce(local.temporal_secret_arn, "-")}' --secret-string file:///dev/stdin  # {\"api_key\":\"...\"}",
    ] : [],
    # 48 random bytes in base64: a 64-character key, which the worker uses
    # as it is (at least 32 bytes), never shown on the terminal.
    local.hash_contacts ? [
      "openssl rand -base64 48 | aws secretsmanager put-secret-value --secret-id '${coalesce(local.contact_hash_key_secret_arn, "-")}' --secret-string file:///dev/stdin  # the contact HMAC key, once only: a new key changes every hash written afterwards",
    ] : [],
  )
}

# Terraform cannot create a Temporal Schedule: this is the command that does
# (local.sweep_schedule_command).
output "sweep_schedule_command" {
  description = "Creates or updates the scheduled sweep (Temporal Schedule genesys-ingest-sweep): run it from the repository root after the first apply and whenever sweep_every, sweep_window or the Temporal settings change. With an API key it reads TEMPORAL_API_KEY from the Temporal secret (AWS CLI and jq; secretsmanager:GetSecretValue, as in operator_policy_json): never put the key itself on a command line. Without genesys_org_id, set GENESYS_ORG_ID, or the sweep stores what it finds without an org."
  value       = local.sweep_schedule_command

  # The starter refuses these (sweep.Settings.Validate): refuse them at plan.
  precondition {
    condition     = local.sweep_every_seconds >= 60
    error_message = "sweep_every must be at least 1m."
  }
  precondition {
    condition     = local.sweep_window_seconds >= 3600 && local.sweep_window_seconds <= 400 * 86400
    error_message = "sweep_window must be between 1h and 400 days (9600h), the longest backfill."
  }
}
