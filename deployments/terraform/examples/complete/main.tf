# A complete genesys-ingest deployment: the module plus an SNS topic (with
# its KMS key) for its alarms. Run from this directory after `make lambda`
# and pushing the worker image (see deployments/README.md).

locals {
  # lambda_zip_path is relative to the repository root unless absolute.
  repository_root = abspath("${path.module}/../../../..")
  lambda_zip_path = startswith(var.lambda_zip_path, "/") ? var.lambda_zip_path : "${local.repository_root}/${var.lambda_zip_path}"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The alarm topic is encrypted with a key of its own: CloudWatch publishes
# to an encrypted topic only if the key policy lets it use the key, which
# the AWS managed aws/sns key's policy cannot be changed to do (alarms
# would fire and deliver nothing).
data "aws_iam_policy_document" "alarms_key" {
  # The account administers the key through IAM, as with a default key
  # policy: without this statement nobody could manage it.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  # In a key policy "*" is this key.
  statement {
    sid       = "CloudWatchPublishesAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "alarms" {
  description             = "${var.name} alarm notifications (SNS topic ${var.name}-alarms)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alarms_key.json
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
}

resource "aws_sns_topic_subscription" "alarms_email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

module "genesys_ingest" {
  source = "../../modules/genesys-ingest"

  name = var.name

  # Genesys Cloud
  genesys_org_id              = var.genesys_org_id
  genesys_event_source_suffix = var.genesys_event_source_suffix
  existing_event_bus_name     = var.existing_event_bus_name
  event_detail_types          = var.event_detail_types
  genesys_region              = var.genesys_region

  # Temporal
  temporal_address   = var.temporal_address
  temporal_namespace = var.temporal_namespace
  temporal_auth_mode = var.temporal_auth_mode

  # Forwarder
  lambda_zip_path = local.lambda_zip_path

  # Worker
  vpc_id             = var.vpc_id
  private_subnet_ids = var.private_subnet_ids
  worker_image       = var.worker_image
  worker_min_count   = var.worker_min_count
  worker_max_count   = var.worker_max_count

  # What is fetched and what is kept of contact addresses
  genesys_detail_source   = var.genesys_detail_source
  store_contact_addresses = var.store_contact_addresses

  dynamodb_table_name          = var.dynamodb_table_name
  dynamodb_batch_table_name    = var.dynamodb_batch_table_name
  dynamodb_deletion_protection = var.dynamodb_deletion_protection

  alarm_sns_topic_arn = aws_sns_topic.alarms.arn
}
