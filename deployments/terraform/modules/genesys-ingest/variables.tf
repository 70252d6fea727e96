# ---------------------------------------------------------------------------
# Naming and tagging
# ---------------------------------------------------------------------------

variable "name" {
  description = "Prefix of every resource name (queues, function, cluster, roles, secrets, alarms). Lower case letters, digits and hyphens."
  type        = string
  default     = "genesys-ingest"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3 to 32 characters of lower case letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------
# EventBridge: Genesys Cloud partner event source
# ---------------------------------------------------------------------------

variable "genesys_org_id" {
  description = "Genesys Cloud organization id (a UUID). With genesys_event_source_suffix it names the partner event source aws.partner/genesys.com/cloud/<org id>/<suffix>. Required unless existing_event_bus_name is set."
  type        = string
  default     = null

  validation {
    condition     = var.genesys_org_id == null || can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.genesys_org_id))
    error_message = "genesys_org_id must be a UUID such as 0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d."
  }
}

variable "genesys_event_source_suffix" {
  description = "Event source suffix entered in the Genesys Cloud 'Amazon EventBridge Source' integration. Required unless existing_event_bus_name is set."
  type        = string
  default     = null

  validation {
    condition     = var.genesys_event_source_suffix == null || can(regex("^[A-Za-z0-9._-]{1,64}$", var.genesys_event_source_suffix))
    error_message = "genesys_event_source_suffix may contain letters, digits, '.', '_' and '-' (1 to 64 characters)."
  }
}

variable "existing_event_bus_name" {
  description = "Name of an event bus already associated with the Genesys partner event source. When null the module creates the partner event bus from genesys_org_id and genesys_event_source_suffix."
  type        = string
  default     = null

  validation {
    condition     = var.existing_event_bus_name == null || can(regex("^[A-Za-z0-9/._-]{1,256}$", var.existing_event_bus_name))
    error_message = "existing_event_bus_name must be an event bus name (letters, digits, '/', '.', '_', '-')."
  }
}

variable "event_detail_types" {
  description = "Genesys topic templates the rule forwards, matched in the event's detail-type or detail.topicName with {id} standing for any conversation id. The default is what the intake ingests a conversation on (the end of its customer leg and after-call work); every other topic is an explicit choice, e.g. \"v2.detail.events.conversation.{id}.*\" for every conversation detail event."
  type        = list(string)
  default = [
    "v2.detail.events.conversation.{id}.customer.end",
    "v2.detail.events.conversation.{id}.acw",
  ]

  validation {
    condition     = length(var.event_detail_types) > 0 && alltrue([for t in var.event_detail_types : can(regex("^v2\\.[A-Za-z0-9._{}*-]+$", t))])
    error_message = "event_detail_types must list at least one Genesys topic template starting with \"v2.\" (letters, digits, '.', '_', '-', {id} and * only)."
  }
}

variable "event_archive_retention_days" {
  description = "Archives every event of the partner bus for this many days, so they can be replayed (`aws events start-replay`) after an outage or a bug; 0 keeps them forever. Null creates no archive."
  type        = number
  default     = null

  validation {
    condition     = var.event_archive_retention_days == null || try(var.event_archive_retention_days >= 0 && floor(var.event_archive_retention_days) == var.event_archive_retention_days, false)
    error_message = "event_archive_retention_days must be null, 0 (forever) or a whole number of days."
  }
}

variable "event_target_maximum_event_age_seconds" {
  description = "How long EventBridge retries delivering an event to the SQS queue before sending it to the delivery DLQ (60 to 86400)."
  type        = number
  default     = 86400

  validation {
    condition     = var.event_target_maximum_event_age_seconds >= 60 && var.event_target_maximum_event_age_seconds <= 86400
    error_message = "event_target_maximum_event_age_seconds must be between 60 and 86400."
  }
}

variable "event_target_maximum_retry_attempts" {
  description = "How many times EventBridge retries delivering an event to the SQS queue (0 to 185)."
  type        = number
  default     = 185

  validation {
    condition     = var.event_target_maximum_retry_attempts >= 0 && var.event_target_maximum_retry_attempts <= 185
    error_message = "event_target_maximum_retry_attempts must be between 0 and 185."
  }
}

# ---------------------------------------------------------------------------
# SQS
# ---------------------------------------------------------------------------

variable "sqs_max_receive_count" {
  description = "Receives of a message by the forwarder before SQS moves it to the events DLQ."
  type        = number
  default     = 5

  validation {
    condition     = var.sqs_max_receive_count >= 1 && var.sqs_max_receive_count <= 1000
    error_message = "sqs_max_receive_count must be between 1 and 1000."
  }
}

variable "sqs_message_retention_seconds" {
  description = "Retention of the events queue (60 to 1209600)."
  type        = number
  default     = 345600

  validation {
    condition     = var.sqs_message_retention_seconds >= 60 && var.sqs_message_retention_seconds <= 1209600
    error_message = "sqs_message_retention_seconds must be between 60 and 1209600."
  }
}

variable "sqs_visibility_timeout_seconds" {
  description = "Visibility timeout of the events queue. Null computes 6 x lambda_timeout_seconds + event_source_maximum_batching_window_seconds, the minimum AWS recommends for a Lambda event source."
  type        = number
  default     = null

  validation {
    condition     = var.sqs_visibility_timeout_seconds == null || try(var.sqs_visibility_timeout_seconds >= 6 * var.lambda_timeout_seconds + var.event_source_maximum_batching_window_seconds && var.sqs_visibility_timeout_seconds <= 43200, false)
    error_message = "sqs_visibility_timeout_seconds must be at least 6 x lambda_timeout_seconds + event_source_maximum_batching_window_seconds, and at most 43200."
  }
}

variable "sqs_kms_key_arn" {
  description = "KMS key for the queues. Null uses SQS-managed encryption (SSE-SQS). A customer managed key's policy must let events.amazonaws.com use kms:GenerateDataKey and kms:Decrypt."
  type        = string
  default     = null

  validation {
    condition     = var.sqs_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.sqs_kms_key_arn))
    error_message = "sqs_kms_key_arn must be a KMS key ARN."
  }
}

# ---------------------------------------------------------------------------
# Forwarder Lambda
# ---------------------------------------------------------------------------

variable "lambda_zip_path" {
  description = "Path of the forwarder deployment package built by `make lambda` (dist/forwarder.zip in the repository). The examples resolve it relative to the repository root."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must name a .zip file (run `make lambda` to build dist/forwarder.zip)."
  }
  validation {
    condition     = fileexists(var.lambda_zip_path)
    error_message = "lambda_zip_path does not exist: run `make lambda` in the repository root first."
  }
}

variable "lambda_timeout_seconds" {
  description = "Forwarder timeout. The queue's visibility timeout is derived from it."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout_seconds >= 5 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 5 and 900."
  }
}

variable "lambda_memory_mb" {
  description = "Forwarder memory size in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_log_level" {
  description = "LOG_LEVEL of the forwarder."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.lambda_log_level)
    error_message = "lambda_log_level must be one of debug, info, warn, error."
  }
}

variable "lambda_vpc_config" {
  description = "Runs the forwarder in these subnets with these security groups, for a Temporal reachable only inside a VPC. They must route to Temporal and to Secrets Manager (NAT or an interface endpoint); the queue needs no route (Lambda polls it). Null runs it outside any VPC."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition = var.lambda_vpc_config == null || try(
      length(var.lambda_vpc_config.subnet_ids) > 0 && alltrue([for s in var.lambda_vpc_config.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))]) &&
      length(var.lambda_vpc_config.security_group_ids) > 0 && alltrue([for g in var.lambda_vpc_config.security_group_ids : can(regex("^sg-[0-9a-f]+$", g))]),
    false)
    error_message = "lambda_vpc_config needs at least one subnet id (subnet-...) and one security group id (sg-...)."
  }
}

variable "event_source_batch_size" {
  description = "Maximum SQS messages per forwarder invocation (one Temporal workflow per batch). Lambda also stops filling a batch at 6 MB, about 4,000 Genesys events. Chosen by make bench-sweep: a large batch keeps a backlog at 0.09 history events per conversation (0.67 at 100)."
  type        = number
  default     = 10000

  validation {
    condition     = var.event_source_batch_size >= 1 && var.event_source_batch_size <= 10000
    error_message = "event_source_batch_size must be between 1 and 10000."
  }
  validation {
    condition     = var.event_source_batch_size <= 10 || var.event_source_maximum_batching_window_seconds >= 1
    error_message = "A batch size above 10 needs event_source_maximum_batching_window_seconds of at least 1."
  }
}

variable "event_source_maximum_batching_window_seconds" {
  description = "How long the event source mapping gathers messages before invoking the forwarder (0 to 300). It bounds freshness: with 1 s (chosen by make bench-sweep) half load measured p99 1.4 s from arrival to stored, two thirds of it this window; a longer window means fewer, larger batches (less history) and staler data."
  type        = number
  default     = 1

  validation {
    condition     = var.event_source_maximum_batching_window_seconds >= 0 && var.event_source_maximum_batching_window_seconds <= 300
    error_message = "event_source_maximum_batching_window_seconds must be between 0 and 300."
  }
}

variable "event_source_maximum_concurrency" {
  description = "Maximum concurrent forwarder invocations the SQS event source mapping starts (2 to 1000)."
  type        = number
  default     = 5

  validation {
    condition     = var.event_source_maximum_concurrency >= 2 && var.event_source_maximum_concurrency <= 1000
    error_message = "event_source_maximum_concurrency must be between 2 and 1000."
  }
}

variable "fetch_batch_size" {
  description = "FETCH_BATCH_SIZE (worker): conversation ids per analytics multi-get."
  type        = number
  default     = 100

  validation {
    condition     = var.fetch_batch_size >= 1 && var.fetch_batch_size <= 100
    error_message = "fetch_batch_size must be between 1 and 100."
  }
}

variable "fetch_concurrency" {
  description = "FETCH_CONCURRENCY (worker): fetch activities the fetch scheduler keeps scheduled, for all batches together."
  type        = number
  default     = 10

  validation {
    condition     = var.fetch_concurrency >= 1 && var.fetch_concurrency <= 500
    error_message = "fetch_concurrency must be between 1 and 500."
  }
}

variable "ready_poll_interval" {
  description = "READY_POLL_INTERVAL: how often a workflow re-fetches a conversation whose analytics record is not complete yet (Go duration)."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^([0-9]+(ms|s|m|h))+$", var.ready_poll_interval))
    error_message = "ready_poll_interval must be a Go duration such as 60s or 2m."
  }
}

variable "ready_timeout" {
  description = "READY_TIMEOUT: how long a workflow waits for a complete analytics record (Go duration)."
  type        = string
  default     = "2h"

  validation {
    condition     = can(regex("^([0-9]+(ms|s|m|h))+$", var.ready_timeout))
    error_message = "ready_timeout must be a Go duration such as 2h or 90m."
  }
}

variable "fetch_retry_horizon" {
  description = "FETCH_RETRY_HORIZON: how long a chunk blocked by a systemic error (Genesys or DynamoDB outage, 429 storms, revoked permission) is retried before its conversations are recorded failed (Go duration, at least 1m)."
  type        = string
  default     = "72h"

  validation {
    condition     = can(regex("^([0-9]+(ms|s|m|h))+$", var.fetch_retry_horizon))
    error_message = "fetch_retry_horizon must be a Go duration such as 72h or 90m."
  }
}

variable "fetch_retry_max_interval" {
  description = "FETCH_RETRY_MAX_INTERVAL: the longest wait between two retries of a blocked chunk, so ingestion resumes within this of a recovery (Go duration, at least 1s and at most fetch_retry_horizon). The ingestion-blocked alarm's period follows it."
  type        = string
  default     = "2m"

  validation {
    condition     = can(regex("^([0-9]+(ms|s|m|h))+$", var.fetch_retry_max_interval))
    error_message = "fetch_retry_max_interval must be a Go duration such as 2m or 30s."
  }
}

variable "forwarder_start_timeout" {
  description = "FORWARDER_START_TIMEOUT: longest one workflow start may take in the forwarder, so an unreachable Temporal returns the batch to the queue instead of timing the Lambda out (Go duration, above 0 and below lambda_timeout_seconds)."
  type        = string
  default     = "10s"

  validation {
    condition     = can(regex("^([0-9]+(ms|s|m|h))+$", var.forwarder_start_timeout))
    error_message = "forwarder_start_timeout must be a Go duration such as 10s."
  }
}

variable "log_kms_key_arn" {
  description = "Customer managed KMS key of the forwarder and worker log groups; its key policy must let logs.<region>.amazonaws.com use it. Null keeps CloudWatch Logs' own encryption at rest."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the forwarder and worker log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

# ---------------------------------------------------------------------------
# Temporal
# ---------------------------------------------------------------------------

variable "temporal_address" {
  description = "Temporal frontend host:port, e.g. <region>.<cloud>.api.temporal.io:7233 (Temporal Cloud with an API key) or temporal.internal:7233 (self-hosted)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", var.temporal_address))
    error_message = "temporal_address must be host:port."
  }
}

variable "temporal_namespace" {
  description = "Temporal namespace (Temporal Cloud: <namespace>.<account id>)."
  type        = string

  validation {
    condition     = length(var.temporal_namespace) > 0
    error_message = "temporal_namespace must not be empty."
  }
}

variable "temporal_task_queue" {
  description = "TEMPORAL_TASK_QUEUE: the workflow task queue."
  type        = string
  default     = "genesys-ingest"

  validation {
    condition     = length(var.temporal_task_queue) > 0
    error_message = "temporal_task_queue must not be empty."
  }
}

variable "genesys_task_queue" {
  description = "GENESYS_TASK_QUEUE: the rate-limited task queue of the Genesys API activities."
  type        = string
  default     = "genesys-ingest-genesys"

  validation {
    condition     = length(var.genesys_task_queue) > 0
    error_message = "genesys_task_queue must not be empty."
  }
}

variable "temporal_auth_mode" {
  description = "How worker and forwarder authenticate to Temporal: \"api_key\" (secret JSON key api_key) or \"none\" (self-hosted without auth). \"mtls\" is refused: the forwarder reads only an API key from Secrets Manager, so with a client certificate it could not start a workflow."
  type        = string
  default     = "api_key"

  validation {
    condition     = var.temporal_auth_mode != "mtls"
    error_message = "temporal_auth_mode \"mtls\" is not supported yet: the forwarder Lambda reads only an API key (TEMPORAL_API_KEY_SECRET_ARN), not a client certificate and key. Use an API key (Temporal Cloud supports both) or \"none\" for a self-hosted server."
  }
  validation {
    condition     = contains(["api_key", "none"], var.temporal_auth_mode)
    error_message = "temporal_auth_mode must be api_key or none."
  }
}

variable "temporal_tls" {
  description = "Sets TEMPORAL_TLS for the worker. Null leaves the SDK default (TLS on with an API key or client certificate, off otherwise)."
  type        = bool
  default     = null
}

variable "temporal_secret_arn" {
  description = "ARN of an existing Secrets Manager secret holding the Temporal API key as JSON {\"api_key\": ...}. Null creates an empty secret (no value in Terraform state) to fill with `aws secretsmanager put-secret-value`. Ignored when temporal_auth_mode is none."
  type        = string
  default     = null

  validation {
    condition     = var.temporal_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.temporal_secret_arn))
    error_message = "temporal_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "temporal_egress_cidr_blocks" {
  description = "IPv4 ranges the worker may reach on the Temporal frontend port (taken from temporal_address). Temporal Cloud has no fixed ranges, hence 0.0.0.0/0 by default."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.temporal_egress_cidr_blocks) > 0 && alltrue([for c in var.temporal_egress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "temporal_egress_cidr_blocks must be a non-empty list of IPv4 CIDR blocks."
  }
}

# ---------------------------------------------------------------------------
# Genesys Cloud
# ---------------------------------------------------------------------------

variable "genesys_region" {
  description = "GENESYS_REGION: the Genesys Cloud domain (e.g. mypurecloud.com, mypurecloud.ie) or its AWS region name (e.g. us-east-1, eu-west-1)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+$", var.genesys_region))
    error_message = "genesys_region must be a Genesys domain such as mypurecloud.com or a region such as us-east-1."
  }
}

variable "genesys_secret_arn" {
  description = "ARN of an existing Secrets Manager secret with the Genesys OAuth client as JSON {\"client_id\": ..., \"client_secret\": ...}. Null creates an empty secret (no value in Terraform state)."
  type        = string
  default     = null

  validation {
    condition     = var.genesys_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.genesys_secret_arn))
    error_message = "genesys_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "genesys_requests_per_second" {
  description = "GENESYS_REQUESTS_PER_SECOND: request rate shared by all workers for the Genesys API (the default 300 requests/minute per client is 5/s)."
  type        = number
  default     = 4.5

  validation {
    condition     = var.genesys_requests_per_second > 0 && var.genesys_requests_per_second <= 1000
    error_message = "genesys_requests_per_second must be above 0 and at most 1000."
  }
}

variable "genesys_detail_source" {
  description = "GENESYS_DETAIL_SOURCE: the Genesys endpoint the worker fetches records from. \"multiget\" (GET /api/v2/analytics/conversations/details?id=...) finds a conversation whatever day it started, without participant attributes; \"query\" (POST /api/v2/analytics/conversations/details/query) adds participantAttributes but finds only conversations that started in the 31 UTC days it asks for (see the repository README). Both make one request per chunk of up to 100."
  type        = string
  default     = "multiget"

  validation {
    condition     = contains(["multiget", "query"], var.genesys_detail_source)
    error_message = "genesys_detail_source must be multiget or query."
  }
}

variable "store_contact_addresses" {
  description = "STORE_CONTACT_ADDRESSES: what items keep of the customer's ANI and DNIS, which are personal data. \"off\": nothing; \"plain\": customerAni and customerDnis as Genesys reports them; \"hashed\": customerAniHmac and customerDnisHmac, HMAC-SHA256 under the key in contact_hash_key_secret_arn (or the secret the module creates). The gzipped detail keeps them in plain text whatever the mode."
  type        = string
  default     = "off"

  validation {
    condition     = contains(["off", "plain", "hashed"], var.store_contact_addresses)
    error_message = "store_contact_addresses must be off, plain or hashed."
  }
}

variable "contact_hash_key_secret_arn" {
  description = "With store_contact_addresses = \"hashed\": ARN of an existing Secrets Manager secret whose value is the HMAC key (at least 32 bytes: the secret's binary value, or else its string without surrounding white space), passed to the worker as CONTACT_HASH_KEY_SECRET_ARN. Null creates an empty secret <name>/contact-hash-key (no value in Terraform state) to fill with `aws secretsmanager put-secret-value` (secret_setup_commands). The worker reads it once at start with its task role. Ignored in the other modes."
  type        = string
  default     = null

  validation {
    condition     = var.contact_hash_key_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.contact_hash_key_secret_arn))
    error_message = "contact_hash_key_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "secrets_kms_key_arn" {
  description = "KMS key of the secrets the module creates, and of existing secrets passed in. Null uses the AWS managed key aws/secretsmanager."
  type        = string
  default     = null

  validation {
    condition     = var.secrets_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be a KMS key ARN."
  }
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the secrets the module creates (0 deletes at once, else 7 to 30)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

# ---------------------------------------------------------------------------
# DynamoDB
# ---------------------------------------------------------------------------

variable "dynamodb_table_name" {
  description = "DYNAMODB_TABLE: name of the conversations table (partition key conversationId, type S)."
  type        = string
  default     = "genesys-conversations"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.dynamodb_table_name))
    error_message = "dynamodb_table_name must be 3 to 255 characters of letters, digits, '_', '-' and '.'."
  }
}

variable "dynamodb_batch_table_name" {
  description = "DYNAMODB_BATCH_TABLE: name of the batches table, one audit record per batch (partition key batchId, type S)."
  type        = string
  default     = "genesys-ingest-batches"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.dynamodb_batch_table_name))
    error_message = "dynamodb_batch_table_name must be 3 to 255 characters of letters, digits, '_', '-' and '.'."
  }
  validation {
    condition     = var.dynamodb_batch_table_name != var.dynamodb_table_name
    error_message = "dynamodb_batch_table_name must differ from dynamodb_table_name: batch records have their own table."
  }
}

variable "dynamodb_deletion_protection" {
  description = "Protects the conversations and batches tables against deletion (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "dynamodb_kms_key_arn" {
  description = "Customer managed KMS key for the conversations and batches tables. Null uses the AWS managed key aws/dynamodb (encryption stays on)."
  type        = string
  default     = null

  validation {
    condition     = var.dynamodb_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.dynamodb_kms_key_arn))
    error_message = "dynamodb_kms_key_arn must be a KMS key ARN."
  }
}

# ---------------------------------------------------------------------------
# Detail bucket
# ---------------------------------------------------------------------------

variable "detail_bucket_name" {
  description = "DETAIL_BUCKET: name of the S3 bucket for the details too large for their DynamoDB item. Null uses <name>-details-<account id>. No dots: AWS advises against them, as virtual-hosted-style HTTPS requests cannot use them."
  type        = string
  default     = null

  validation {
    condition     = var.detail_bucket_name == null || can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.detail_bucket_name))
    error_message = "detail_bucket_name must be 3 to 63 lower case letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "detail_bucket_ia_after_days" {
  description = "Days after which a detail object moves to S3 Standard-IA (at least 30, S3's minimum for that transition). Details are read rarely, by `starter conversations get --detail`."
  type        = number
  default     = 30

  validation {
    condition     = var.detail_bucket_ia_after_days >= 30 && floor(var.detail_bucket_ia_after_days) == var.detail_bucket_ia_after_days
    error_message = "detail_bucket_ia_after_days must be a whole number of days, at least 30."
  }
}

variable "detail_bucket_expire_after_days" {
  description = "Days after which a detail object expires (it is then kept 35 more days as a noncurrent version); from then on `starter conversations get --detail` fails for its conversation, whose item still points to it. Null keeps them forever, as the items are."
  type        = number
  default     = null

  validation {
    condition     = var.detail_bucket_expire_after_days == null || try(var.detail_bucket_expire_after_days > var.detail_bucket_ia_after_days && floor(var.detail_bucket_expire_after_days) == var.detail_bucket_expire_after_days, false)
    error_message = "detail_bucket_expire_after_days must be null or a whole number of days above detail_bucket_ia_after_days (S3 refuses an expiration before the transition)."
  }
}

# ---------------------------------------------------------------------------
# Scheduled sweep (created by the sweep_schedule_command output)
# ---------------------------------------------------------------------------

variable "sweep_every" {
  description = "How often the scheduled sweep runs (`starter sweep schedule --every`, Go duration, at least 1m)."
  type        = string
  default     = "1h"

  validation {
    condition     = can(regex("^([0-9]+(ms|s|m|h))+$", var.sweep_every))
    error_message = "sweep_every must be a Go duration such as 1h or 30m."
  }
}

variable "sweep_window" {
  description = "How far back each sweep looks, by conversation start (`starter sweep schedule --window`, Go duration, 1h to 400 days)."
  type        = string
  default     = "48h"

  validation {
    condition     = can(regex("^([0-9]+(ms|s|m|h))+$", var.sweep_window))
    error_message = "sweep_window must be a Go duration such as 48h."
  }
}

# ---------------------------------------------------------------------------
# Worker on ECS Fargate
# ---------------------------------------------------------------------------

variable "vpc_id" {
  description = "VPC of the worker tasks."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets of the worker tasks (and of the interface endpoints of vpc_endpoints: one per Availability Zone). They need a route to Temporal and the Genesys API (NAT gateway), and to the AWS APIs (ECR, S3, Logs, Secrets Manager, CloudWatch, DynamoDB) through the same NAT or vpc_endpoints."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) > 0 && alltrue([for s in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "private_subnet_ids must be a non-empty list of subnet ids (subnet-...)."
  }
}

variable "vpc_endpoints" {
  description = "VPC endpoints the module creates so that the worker reaches the AWS APIs inside the VPC and only Genesys and Temporal need the internet. route_table_ids: the route tables of private_subnet_ids, for the gateway endpoints; gateway_services and interface_services: which to create (interface endpoints in private_subnet_ids, with private DNS). Leave out the services your VPC already has an endpoint for (a second one with private DNS fails). Null creates none: the AWS APIs go through the NAT gateway."
  type = object({
    route_table_ids    = list(string)
    gateway_services   = optional(list(string), ["dynamodb", "s3"])
    interface_services = optional(list(string), ["ecr.api", "ecr.dkr", "logs", "monitoring", "secretsmanager"])
  })
  default = null

  validation {
    condition = var.vpc_endpoints == null || try(
      alltrue([for r in var.vpc_endpoints.route_table_ids : can(regex("^rtb-[0-9a-f]+$", r))]) &&
      (length(var.vpc_endpoints.gateway_services) == 0 || length(var.vpc_endpoints.route_table_ids) > 0) &&
      length(setsubtract(var.vpc_endpoints.gateway_services, ["dynamodb", "s3"])) == 0 &&
      length(setsubtract(var.vpc_endpoints.interface_services, ["ecr.api", "ecr.dkr", "logs", "monitoring", "secretsmanager"])) == 0,
    false)
    error_message = "vpc_endpoints: route_table_ids must be route table ids (rtb-..., at least one for gateway endpoints), gateway_services a subset of [dynamodb, s3] and interface_services a subset of [ecr.api, ecr.dkr, logs, monitoring, secretsmanager] (what the worker and the Fargate agent call)."
  }
}

variable "worker_image" {
  description = "Worker container image, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/genesys-ingest-worker:v1 (pin a tag or @sha256 digest). For an ECR image the execution role may pull from that repository only."
  type        = string

  validation {
    condition     = length(var.worker_image) > 0 && !endswith(var.worker_image, ":latest")
    error_message = "worker_image must be set and pinned (not :latest)."
  }
}

variable "worker_cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.worker_cpu)
    error_message = "worker_cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "worker_memory" {
  description = "Fargate task memory in MiB (must be a valid combination with worker_cpu)."
  type        = number
  default     = 1024

  validation {
    condition     = var.worker_memory >= 512 && var.worker_memory <= 122880
    error_message = "worker_memory must be between 512 and 122880."
  }
}

variable "worker_log_level" {
  description = "LOG_LEVEL of the worker: debug, info or warn. Its LOG_FORMAT is always json, which the workflow-failures metric filter parses. error is refused: the warnings (\"ingestion blocked\", \"conversations recorded failed\") say why the ingestion-blocked and conversations-recorded-failed alarms fire."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn"], var.worker_log_level)
    error_message = "worker_log_level must be one of debug, info, warn (error would hide the warnings that explain the ingestion-blocked and conversations-recorded-failed alarms)."
  }
}

variable "worker_stop_timeout_seconds" {
  description = "WORKER_STOP_TIMEOUT in seconds: how long the worker drains running activities after SIGTERM. Must stay below the container stopTimeout of 120 s, after which ECS kills the task."
  type        = number
  default     = 100

  validation {
    condition     = var.worker_stop_timeout_seconds >= 1 && var.worker_stop_timeout_seconds <= 110
    error_message = "worker_stop_timeout_seconds must be between 1 and 110 (the container stopTimeout is 120 s)."
  }
}

variable "worker_max_concurrent_fetches" {
  description = "FETCH_MAX_CONCURRENT_ACTIVITIES: fetch activities one worker task runs at once (the fleet-wide Genesys rate is genesys_requests_per_second)."
  type        = number
  default     = 20

  validation {
    condition     = var.worker_max_concurrent_fetches >= 1 && var.worker_max_concurrent_fetches <= 1000
    error_message = "worker_max_concurrent_fetches must be between 1 and 1000."
  }
}

variable "worker_metrics_address" {
  description = "METRICS_ADDRESS of the worker's HTTP server: Prometheus /metrics and the /healthz the container health check (`worker healthcheck`) asks. No port is published and the security group has no ingress."
  type        = string
  default     = ":9464"

  validation {
    condition     = can(regex("^[A-Za-z0-9.-]*:[0-9]{1,5}$", var.worker_metrics_address))
    error_message = "worker_metrics_address must be [host]:port, e.g. :9464: the container health check needs the server (an empty address would turn it off)."
  }
}

variable "worker_metrics_namespace" {
  description = "WORKER_METRICS_NAMESPACE: CloudWatch namespace of the worker's embedded-format metrics (Genesys requests, 429s, budget use, conversations by outcome, freshness, ingestion blocked...), which the alarms and the dashboard read. Give each deployment sharing an account and region its own."
  type        = string
  default     = "GenesysIngest"

  validation {
    condition     = can(regex("^[A-Za-z0-9./_#:-]{1,255}$", var.worker_metrics_namespace)) && !startswith(var.worker_metrics_namespace, "AWS/")
    error_message = "worker_metrics_namespace must be a custom CloudWatch namespace (letters, digits, . / _ # : -, not starting with AWS/)."
  }
}

variable "worker_min_count" {
  description = "Minimum number of worker tasks (at least 1: the backlog-per-task scaling metric divides by the running count)."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_min_count >= 1
    error_message = "worker_min_count must be at least 1."
  }
}

variable "worker_max_count" {
  description = "Maximum number of worker tasks."
  type        = number
  default     = 4

  validation {
    condition     = var.worker_max_count >= var.worker_min_count && var.worker_max_count <= 100
    error_message = "worker_max_count must be at least worker_min_count and at most 100."
  }
}

variable "worker_backlog_per_task_target" {
  description = "Target tracking value: queued Temporal tasks (all task queues) per running worker task."
  type        = number
  default     = 50

  validation {
    condition     = var.worker_backlog_per_task_target > 0
    error_message = "worker_backlog_per_task_target must be positive."
  }
}

variable "worker_cpu_target_percent" {
  description = "Target tracking value for the CPU fallback policy (average CPU utilization of the service)."
  type        = number
  default     = 70

  validation {
    condition     = var.worker_cpu_target_percent >= 10 && var.worker_cpu_target_percent <= 95
    error_message = "worker_cpu_target_percent must be between 10 and 95."
  }
}

variable "backlog_metric_namespace" {
  description = "CloudWatch namespace of the worker's backlog metric (BACKLOG_METRIC_NAMESPACE) and of the log metric WorkflowFailures. Null uses GenesysIngest/<name>."
  type        = string
  default     = null

  validation {
    condition     = var.backlog_metric_namespace == null || can(regex("^[A-Za-z0-9./_#:-]{1,255}$", var.backlog_metric_namespace)) && !startswith(coalesce(var.backlog_metric_namespace, "x"), "AWS/")
    error_message = "backlog_metric_namespace must be a custom CloudWatch namespace (not starting with AWS/)."
  }
}

variable "backlog_metric_interval_seconds" {
  description = "BACKLOG_METRIC_INTERVAL in seconds: how often the worker publishes the backlog."
  type        = number
  default     = 60

  validation {
    condition     = var.backlog_metric_interval_seconds >= 10 && var.backlog_metric_interval_seconds <= 300
    error_message = "backlog_metric_interval_seconds must be between 10 and 300."
  }
}

# ---------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified when an alarm fires or recovers. Null creates the alarms without actions."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN."
  }
}

variable "workflow_failure_log_pattern" {
  description = "CloudWatch Logs filter pattern over the worker's JSON logs that counts failed workflows (see the README: the worker logs msg \"workflow failed\")."
  type        = string
  default     = "{ $.msg = \"workflow failed\" }"

  validation {
    condition     = length(var.workflow_failure_log_pattern) > 0
    error_message = "workflow_failure_log_pattern must not be empty."
  }
}

variable "queue_age_alarm_seconds" {
  description = "Alarm when the oldest message of the events queue is older than this (the forwarder is not keeping up)."
  type        = number
  default     = 900

  validation {
    condition     = var.queue_age_alarm_seconds >= 60
    error_message = "queue_age_alarm_seconds must be at least 60."
  }
}

variable "backlog_age_alarm_seconds" {
  description = "Alarm when the oldest waiting Temporal task is older than this, or when the worker stops publishing the backlog metric."
  type        = number
  default     = 1800

  validation {
    condition     = var.backlog_age_alarm_seconds >= 60
    error_message = "backlog_age_alarm_seconds must be at least 60."
  }
}

variable "ingestion_blocked_alarm_minutes" {
  description = "Alarm when the worker has counted IngestionBlocked (a systemic error: Genesys or DynamoDB unavailable, 429 storms, lost permission) in every alarm period for this many minutes. The period is 5 minutes, or twice fetch_retry_max_interval when that is longer, so a single blocked chunk retrying at its longest backoff still counts in every period. At most 1440: the alarm reads IngestionBlocked without dimensions (the total over all reasons), and CloudWatch evaluates an alarm over at most 1 day."
  type        = number
  default     = 15

  validation {
    condition     = var.ingestion_blocked_alarm_minutes >= 5 && var.ingestion_blocked_alarm_minutes <= 1440 && floor(var.ingestion_blocked_alarm_minutes) == var.ingestion_blocked_alarm_minutes
    error_message = "ingestion_blocked_alarm_minutes must be a whole number of minutes between 5 and 1440 (CloudWatch evaluates an alarm over at most 1 day)."
  }
}

variable "conversations_failed_alarm_threshold" {
  description = "Alarm when the worker records more than this many conversations failed within 5 minutes (sum of its ConversationsRecordedFailed metric)."
  type        = number
  default     = 0

  validation {
    condition     = var.conversations_failed_alarm_threshold >= 0
    error_message = "conversations_failed_alarm_threshold must not be negative."
  }
}

variable "rate_limited_alarm_threshold" {
  description = "Alarm when Genesys answered more than this many requests with 429 (GenesysRateLimited) in each of three consecutive 5-minute periods. The worker stays below the client's limit (genesys_requests_per_second), so lasting 429s mean another consumer shares the OAuth client or Genesys lowered the limit; the default 5 is about 0.4% of the default budget."
  type        = number
  default     = 5

  validation {
    condition     = var.rate_limited_alarm_threshold >= 0
    error_message = "rate_limited_alarm_threshold must not be negative."
  }
}

variable "freshness_p99_alarm_ms" {
  description = "Alarm when the 99th percentile of Freshness (event time to the conversation stored, in milliseconds) stays above this for three consecutive 5-minute periods. Conversations whose analytics record was not ready yet count the wait too: a customer.end event's conversation is complete only after the agent's wrap-up, minutes later, so the default (15 minutes) sits above Genesys's usual readiness lag; the pipeline's own share is about 1.5 s at p99 (make bench, data ready on arrival)."
  type        = number
  default     = 900000

  validation {
    condition     = var.freshness_p99_alarm_ms > 0
    error_message = "freshness_p99_alarm_ms must be positive."
  }
}
