output "event_bus_name" {
  description = "Partner event bus receiving Genesys Cloud events."
  value       = module.genesys_ingest.event_bus_name
}

output "queue_url" {
  description = "Events queue consumed by the forwarder."
  value       = module.genesys_ingest.queue_url
}

output "queue_arn" {
  description = "ARN of the events queue."
  value       = module.genesys_ingest.queue_arn
}

output "events_dlq_arn" {
  description = "DLQ of messages the forwarder failed to process."
  value       = module.genesys_ingest.events_dlq_arn
}

output "delivery_dlq_arn" {
  description = "DLQ of events EventBridge could not deliver."
  value       = module.genesys_ingest.delivery_dlq_arn
}

output "lambda_function_name" {
  description = "Forwarder Lambda."
  value       = module.genesys_ingest.lambda_function_name
}

output "dynamodb_table_name" {
  description = "Conversations table."
  value       = module.genesys_ingest.dynamodb_table_name
}

output "dynamodb_table_arn" {
  description = "ARN of the conversations table."
  value       = module.genesys_ingest.dynamodb_table_arn
}

output "dynamodb_batch_table_name" {
  description = "Batches table (audit records, `starter batches list`)."
  value       = module.genesys_ingest.dynamodb_batch_table_name
}

output "detail_bucket_name" {
  description = "S3 bucket of the details too large for their item."
  value       = module.genesys_ingest.detail_bucket_name
}

output "reader_policy_json" {
  description = "IAM policy for the people who read what is stored (starter conversations get/list, batches list)."
  value       = module.genesys_ingest.reader_policy_json
}

output "operator_policy_json" {
  description = "IAM policy for operators (reader, plus retry, table migrate and the Temporal API key)."
  value       = module.genesys_ingest.operator_policy_json
}

output "ecs_cluster_name" {
  description = "ECS cluster of the worker."
  value       = module.genesys_ingest.ecs_cluster_name
}

output "ecs_service_name" {
  description = "Worker ECS service."
  value       = module.genesys_ingest.ecs_service_name
}

output "genesys_secret_arn" {
  description = "Secret to fill with the Genesys OAuth client JSON."
  value       = module.genesys_ingest.genesys_secret_arn
}

output "temporal_secret_arn" {
  description = "Secret to fill with the Temporal credentials JSON."
  value       = module.genesys_ingest.temporal_secret_arn
}

output "contact_hash_key_secret_arn" {
  description = "Secret holding the HMAC key of hashed contact addresses; null unless store_contact_addresses is hashed."
  value       = module.genesys_ingest.contact_hash_key_secret_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the pipeline (throughput, outcomes, budget use, 429s, freshness)."
  value       = module.genesys_ingest.dashboard_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = aws_sns_topic.alarms.arn
}

output "secret_setup_commands" {
  description = "Commands that put the secret values (placeholders to fill in)."
  value       = module.genesys_ingest.secret_setup_commands
}

output "sweep_schedule_command" {
  description = "Command that creates or updates the scheduled sweep (run from the repository root)."
  value       = module.genesys_ingest.sweep_schedule_command
}
