# Partner event bus: Genesys Cloud's "Amazon EventBridge Source" integration
# creates the partner event source; the bus of the same name receives it.
# Events sent before the bus exists are dropped.
resource "aws_cloudwatch_event_bus" "genesys" {
  count = local.create_event_bus ? 1 : 0

  name              = local.partner_event_source_name
  event_source_name = local.partner_event_source_name
  tags              = local.tags

  lifecycle {
    precondition {
      condition     = var.genesys_org_id != null && var.genesys_event_source_suffix != null
      error_message = "Set genesys_org_id and genesys_event_source_suffix to create the partner event bus, or existing_event_bus_name to use a bus that already exists."
    }
  }
}

locals {
  event_bus_name = local.create_event_bus ? one(aws_cloudwatch_event_bus.genesys[*].name) : var.existing_event_bus_name
  event_bus_arn  = local.create_event_bus ? one(aws_cloudwatch_event_bus.genesys[*].arn) : "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${var.existing_event_bus_name}"
}

# Every event of the bus, not only the rule's topics: a replay can then also
# feed a topic added to event_detail_types later.
resource "aws_cloudwatch_event_archive" "genesys" {
  count = var.event_archive_retention_days == null ? 0 : 1

  name             = "${var.name}-genesys"
  description      = "Genesys Cloud events of ${local.event_bus_name}, for replay"
  event_source_arn = local.event_bus_arn
  retention_days   = var.event_archive_retention_days
}

# The topics of event_detail_types only (by default those the intake
# ingests on), by template or concrete topic name.
resource "aws_cloudwatch_event_rule" "conversations" {
  name           = "${var.name}-conversations"
  description    = "Genesys Cloud conversation events to the ${var.name} SQS queue"
  event_bus_name = local.event_bus_name
  state          = "ENABLED"
  tags           = local.tags

  event_pattern = local.event_pattern
}

resource "aws_cloudwatch_event_target" "queue" {
  rule           = aws_cloudwatch_event_rule.conversations.name
  event_bus_name = local.event_bus_name
  target_id      = "sqs"
  arn            = aws_sqs_queue.events.arn

  retry_policy {
    maximum_event_age_in_seconds = var.event_target_maximum_event_age_seconds
    maximum_retry_attempts       = var.event_target_maximum_retry_attempts
  }

  # Events EventBridge could not deliver to the queue (after the retries
  # above) land here instead of being dropped.
  dead_letter_config {
    arn = aws_sqs_queue.delivery_dlq.arn
  }
}
