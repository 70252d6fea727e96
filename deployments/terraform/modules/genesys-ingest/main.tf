# genesys-ingest: Genesys Cloud conversation events -> EventBridge partner bus
# -> rule -> SQS (with DLQs) -> forwarder Lambda (starts Temporal workflows)
# -> Temporal worker on ECS Fargate -> DynamoDB (and S3 for the details too
# large for an item).
#
# Resources are grouped by component: eventbridge.tf, sqs.tf, lambda.tf,
# dynamodb.tf, s3.tf, ecs.tf, endpoints.tf, autoscaling.tf, secrets.tf,
# iam.tf, alarms.tf, dashboard.tf.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  tags = merge(var.tags, { "genesys-ingest:stack" = var.name })

  # --- EventBridge -----------------------------------------------------------
  create_event_bus          = var.existing_event_bus_name == null
  partner_event_source_name = "aws.partner/genesys.com/cloud/${coalesce(var.genesys_org_id, "unset")}/${coalesce(var.genesys_event_source_suffix, "unset")}"
  # The intake reads the topic from detail-type, or from detail.topicName
  # when detail-type carries none (starter/intake): match either, with the
  # {id} of a template standing for any id, as the intake's own
  # normalization does. Genesys puts the template itself in detail-type,
  # which "*" matches too.
  event_topic_wildcards = [for t in var.event_detail_types : { wildcard = replace(t, "{id}", "*") }]
  event_pattern = jsonencode({
    source = [{ prefix = "aws.partner/genesys.com" }]
    "$or" = [
      { "detail-type" = local.event_topic_wildcards },
      { detail = { topicName = local.event_topic_wildcards } },
    ]
  })

  # --- SQS -----------------------------------------------------------------
  # AWS: the visibility timeout of a Lambda event source queue must be at
  # least six times the function timeout, plus the batching window.
  minimum_visibility_timeout_seconds = 6 * var.lambda_timeout_seconds + var.event_source_maximum_batching_window_seconds
  queue_visibility_timeout_seconds   = coalesce(var.sqs_visibility_timeout_seconds, local.minimum_visibility_timeout_seconds)

  # --- Temporal ------------------------------------------------------------
  temporal_port         = tonumber(element(split(":", var.temporal_address), length(split(":", var.temporal_address)) - 1))
  temporal_needs_secret = var.temporal_auth_mode != "none"

  # --- Secrets (ARNs only; values never pass through Terraform) -------------
  genesys_secret_arn  = var.genesys_secret_arn != null ? var.genesys_secret_arn : one(aws_secretsmanager_secret.genesys[*].arn)
  temporal_secret_arn = local.temporal_needs_secret ? (var.temporal_secret_arn != null ? var.temporal_secret_arn : one(aws_secretsmanager_secret.temporal[*].arn)) : null
  worker_secret_arns  = concat([local.genesys_secret_arn], local.temporal_needs_secret ? [local.temporal_secret_arn] : [])
  # The contact hash key is read by the worker process (task role), not
  # injected by ECS: it is not in worker_secret_arns.
  hash_contacts               = var.store_contact_addresses == "hashed"
  contact_hash_key_secret_arn = local.hash_contacts ? (var.contact_hash_key_secret_arn != null ? var.contact_hash_key_secret_arn : one(aws_secretsmanager_secret.contact_hash_key[*].arn)) : null

  # --- Detail bucket -----------------------------------------------------------
  # The account id makes the default name unique in S3's global namespace.
  detail_bucket_name = coalesce(var.detail_bucket_name, "${var.name}-details-${local.account_id}")

  # --- Metrics ---------------------------------------------------------------
  # Names published by worker/backlog (backlog.MetricBacklogCount, ...); the
  # Go tests in deployments/ check that they agree.
  backlog_metric_namespace = coalesce(var.backlog_metric_namespace, "GenesysIngest/${var.name}")
  backlog_metric_name      = "ApproximateBacklogCount"
  backlog_age_metric_name  = "ApproximateBacklogAge"
  workflow_failure_metric  = "WorkflowFailures"

  # The worker's own metrics reach CloudWatch as embedded metric format
  # lines in its log group (WORKER_METRICS_NAMESPACE): no agent, no
  # PutMetricData permission. Every task writes them once a minute, which
  # is also the window of its GenesysBudgetUse: the dashboard's Sum over a
  # minute is then the fleet's budget use.
  metrics_namespace        = var.worker_metrics_namespace
  metrics_interval_seconds = 60

  # The worker counts IngestionBlocked once per failed attempt of a blocked
  # chunk, and attempts are at most fetch_retry_max_interval apart (plus the
  # attempt itself): a period of twice that, and at least 5 minutes, sees a
  # count in every period for as long as ingestion stays blocked (1-minute
  # periods would have gaps with the default 2m backoff, and the alarm would
  # never fire). The minutes are rounded up to whole periods, within the
  # 1 day over which CloudWatch evaluates an alarm at most (evaluation
  # periods x period; see alarms.tf).
  alarm_range_seconds                  = 86400
  ingestion_blocked_period_seconds     = max(300, 60 * ceil(2 * local.fetch_retry_max_interval_seconds / 60))
  ingestion_blocked_evaluation_periods = max(1, min(ceil(var.ingestion_blocked_alarm_minutes * 60 / local.ingestion_blocked_period_seconds), floor(local.alarm_range_seconds / local.ingestion_blocked_period_seconds)))

  # --- Go durations in seconds (the variables' validations allow only
  # <number><ms|s|m|h> terms, e.g. 90s, 2m, 1h30m) ---------------------------
  duration_unit_seconds            = { ms = 0.001, s = 1, m = 60, h = 3600 }
  fetch_retry_horizon_seconds      = sum(concat([0], [for t in regexall("([0-9]+)(ms|s|m|h)", var.fetch_retry_horizon) : tonumber(t[0]) * local.duration_unit_seconds[t[1]]]))
  fetch_retry_max_interval_seconds = sum(concat([0], [for t in regexall("([0-9]+)(ms|s|m|h)", var.fetch_retry_max_interval) : tonumber(t[0]) * local.duration_unit_seconds[t[1]]]))
  forwarder_start_timeout_seconds  = sum(concat([0], [for t in regexall("([0-9]+)(ms|s|m|h)", var.forwarder_start_timeout) : tonumber(t[0]) * local.duration_unit_seconds[t[1]]]))
  sweep_every_seconds              = sum(concat([0], [for t in regexall("([0-9]+)(ms|s|m|h)", var.sweep_every) : tonumber(t[0]) * local.duration_unit_seconds[t[1]]]))
  sweep_window_seconds             = sum(concat([0], [for t in regexall("([0-9]+)(ms|s|m|h)", var.sweep_window) : tonumber(t[0]) * local.duration_unit_seconds[t[1]]]))

  # --- Forwarder Lambda environment (no secret values: ARNs only) -----------
  lambda_environment = merge(
    {
      TEMPORAL_ADDRESS        = var.temporal_address
      TEMPORAL_NAMESPACE      = var.temporal_namespace
      TEMPORAL_TASK_QUEUE     = var.temporal_task_queue
      GENESYS_TASK_QUEUE      = var.genesys_task_queue
      READY_POLL_INTERVAL     = var.ready_poll_interval
      READY_TIMEOUT           = var.ready_timeout
      FORWARDER_START_TIMEOUT = var.forwarder_start_timeout
      LOG_LEVEL               = var.lambda_log_level
    },
    # The forwarder reads the secret itself on its first invocation.
    { for k, v in { TEMPORAL_API_KEY_SECRET_ARN = local.temporal_secret_arn } : k => v if var.temporal_auth_mode == "api_key" },
  )

  # --- Scheduled sweep (output sweep_schedule_command) ----------------------
  # `starter sweep schedule` reads the Temporal connection and the batches'
  # options as the forwarder does (config.LoadForwarder), and the schedule
  # keeps those options: the forwarder's values make the sweep's workflows
  # run on the task queues the worker polls. TEMPORAL_TLS as the worker's.
  sweep_environment = merge(
    { for k in ["TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "GENESYS_TASK_QUEUE", "READY_POLL_INTERVAL", "READY_TIMEOUT"] : k => local.lambda_environment[k] },
    { for k, v in { TEMPORAL_TLS = tostring(var.temporal_tls) } : k => v if var.temporal_tls != null },
  )
  # The API key goes from the secret into the command's environment only,
  # never onto a command line (shell history, process list). Values are
  # single-quoted for the shell.
  sweep_api_key_secret_arns = var.temporal_auth_mode == "api_key" ? [local.temporal_secret_arn] : []
  sweep_schedule_command = join(" ", concat(
    [for arn in local.sweep_api_key_secret_arns : "TEMPORAL_API_KEY=\"$(aws secretsmanager get-secret-value --region ${split(":", arn)[3]} --secret-id '${arn}' --query SecretString --output text | jq -r .api_key)\""],
    [for k in sort(keys(local.sweep_environment)) : "${k}='${replace(local.sweep_environment[k], "'", "'\\''")}'"],
    ["go run ./starter sweep schedule --every ${var.sweep_every} --window ${var.sweep_window}"],
    var.genesys_org_id == null ? [] : ["--org ${var.genesys_org_id}"],
  ))

  # --- Worker container ----------------------------------------------------
  worker_container_name = "worker"

  # Plain settings. Credentials are in worker_secrets below and must never be
  # added here (the Go tests in deployments/ reject secret-looking names).
  worker_environment = merge(
    {
      TEMPORAL_ADDRESS                = var.temporal_address
      TEMPORAL_NAMESPACE              = var.temporal_namespace
      TEMPORAL_TASK_QUEUE             = var.temporal_task_queue
      GENESYS_TASK_QUEUE              = var.genesys_task_queue
      GENESYS_REGION                  = var.genesys_region
      GENESYS_REQUESTS_PER_SECOND     = tostring(var.genesys_requests_per_second)
      GENESYS_DETAIL_SOURCE           = var.genesys_detail_source
      STORE_CONTACT_ADDRESSES         = var.store_contact_addresses
      FETCH_MAX_CONCURRENT_ACTIVITIES = tostring(var.worker_max_concurrent_fetches)
      # How the fetch scheduler spends the budget: the worker's to say.
      FETCH_BATCH_SIZE         = tostring(var.fetch_batch_size)
      FETCH_CONCURRENCY        = tostring(var.fetch_concurrency)
      FETCH_RETRY_HORIZON      = var.fetch_retry_horizon
      FETCH_RETRY_MAX_INTERVAL = var.fetch_retry_max_interval
      DYNAMODB_TABLE           = aws_dynamodb_table.conversations.name
      DYNAMODB_BATCH_TABLE     = aws_dynamodb_table.batches.name
      DETAIL_BUCKET            = aws_s3_bucket.details.bucket
      AWS_REGION               = local.region
      WORKER_STOP_TIMEOUT      = "${var.worker_stop_timeout_seconds}s"
      LOG_FORMAT               = "json"
      LOG_LEVEL                = var.worker_log_level
      METRICS_ADDRESS          = var.worker_metrics_address
      WORKER_METRICS_NAMESPACE = local.metrics_namespace
      WORKER_EMF_INTERVAL      = "${local.metrics_interval_seconds}s"
      BACKLOG_METRIC_NAMESPACE = local.backlog_metric_namespace
      BACKLOG_METRIC_INTERVAL  = "${var.backlog_metric_interval_seconds}s"
    },
    { for k, v in { TEMPORAL_TLS = tostring(var.temporal_tls) } : k => v if var.temporal_tls != null },
    # The ARN only: the worker reads the key with its task role at start.
    { for k, v in { CONTACT_HASH_KEY_SECRET_ARN = local.contact_hash_key_secret_arn } : k => v if local.hash_contacts },
  )

  # Secrets Manager JSON keys -> environment variables, injected by ECS at
  # task start through the execution role (valueFrom "<arn>:<json key>::").
  worker_secret_keys = merge(
    {
      GENESYS_CLIENT_ID     = { arn = local.genesys_secret_arn, key = "client_id" }
      GENESYS_CLIENT_SECRET = { arn = local.genesys_secret_arn, key = "client_secret" }
    },
    { for k, v in { TEMPORAL_API_KEY = { arn = local.temporal_secret_arn, key = "api_key" } } : k => v if var.temporal_auth_mode == "api_key" },
  )

  worker_environment_list = [for k in sort(keys(local.worker_environment)) : { name = k, value = local.worker_environment[k] }]
  worker_secrets_list     = [for k in sort(keys(local.worker_secret_keys)) : { name = k, valueFrom = "${local.worker_secret_keys[k].arn}:${local.worker_secret_keys[k].key}::" }]

  # ECR repository of the worker image, when it is one: the execution role
  # may pull from that repository only.
  worker_image_ecr          = try(regex("^(?P<account>[0-9]{12})\\.dkr\\.ecr\\.(?P<region>[a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/(?P<repository>[^:@]+)", var.worker_image), null)
  worker_ecr_repository_arn = local.worker_image_ecr == null ? null : "arn:${local.partition}:ecr:${local.worker_image_ecr.region}:${local.worker_image_ecr.account}:repository/${local.worker_image_ecr.repository}"

  alarm_actions = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
}
