variable "aws_region" {
  description = "AWS region to deploy to. For the partner event source this must be the region entered in the Genesys Cloud EventBridge integration."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region such as us-east-1."
  }
}

variable "environment" {
  description = "Environment tag value (e.g. dev, staging, prod)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,32}$", var.environment))
    error_message = "environment must be 1 to 32 lower case letters, digits or hyphens."
  }
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "genesys-ingest"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3 to 32 characters of lower case letters, digits and hyphens, starting with a letter."
  }
}

variable "genesys_org_id" {
  description = "Genesys Cloud organization id (Admin > Account Settings > Organization Settings)."
  type        = string
  default     = null
}

variable "genesys_event_source_suffix" {
  description = "Event source suffix entered in the Genesys Cloud Amazon EventBridge Source integration."
  type        = string
  default     = null
}

variable "existing_event_bus_name" {
  description = "Use this already associated partner event bus instead of creating one."
  type        = string
  default     = null
}

variable "event_detail_types" {
  description = "Genesys topic templates to forward ({id} for any id); the module's default is the topics the intake ingests on."
  type        = list(string)
  default = [
    "v2.detail.events.conversation.{id}.customer.end",
    "v2.detail.events.conversation.{id}.acw",
  ]
}

variable "genesys_region" {
  description = "Genesys Cloud domain or region of the organization (e.g. mypurecloud.com, mypurecloud.ie, us-east-1)."
  type        = string
}

variable "temporal_address" {
  description = "Temporal frontend host:port (Temporal Cloud with API key: <region>.<cloud>.api.temporal.io:7233)."
  type        = string
}

variable "temporal_namespace" {
  description = "Temporal namespace (Temporal Cloud: <namespace>.<account id>)."
  type        = string
}

variable "temporal_auth_mode" {
  description = "api_key or none (mtls is refused until the forwarder reads a client certificate)."
  type        = string
  default     = "api_key"
}

variable "lambda_zip_path" {
  description = "Forwarder package built by `make lambda`, relative to the repository root unless absolute."
  type        = string
  default     = "dist/forwarder.zip"
}

variable "vpc_id" {
  description = "VPC of the worker tasks."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (with NAT or VPC endpoints) of the worker tasks."
  type        = list(string)
}

variable "worker_image" {
  description = "Worker image pushed by `make worker-image` and `docker push` (pinned tag or digest)."
  type        = string
}

variable "worker_min_count" {
  description = "Minimum number of worker tasks."
  type        = number
  default     = 1
}

variable "worker_max_count" {
  description = "Maximum number of worker tasks."
  type        = number
  default     = 4
}

variable "genesys_detail_source" {
  description = "Where the worker fetches records from: multiget (the default) or query (adds participant attributes; conversations that started within 31 days only)."
  type        = string
  default     = "multiget"
}

variable "store_contact_addresses" {
  description = "What items keep of the customer's ANI and DNIS: off (the default), plain or hashed (HMAC-SHA256; the module creates the key's secret, see secret_setup_commands)."
  type        = string
  default     = "off"
}

variable "dynamodb_table_name" {
  description = "Name of the conversations table."
  type        = string
  default     = "genesys-conversations"
}

variable "dynamodb_batch_table_name" {
  description = "Name of the batches table (one audit record per batch)."
  type        = string
  default     = "genesys-ingest-batches"
}

variable "dynamodb_deletion_protection" {
  description = "Protect the conversations and batches tables against deletion."
  type        = bool
  default     = true
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "alarm_emails must contain e-mail addresses."
  }
}
