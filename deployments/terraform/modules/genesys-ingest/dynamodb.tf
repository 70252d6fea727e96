# The orgDay index of activities/store (store.DayIndex, DayIndexKey,
# DayIndexSortKey, DayIndexAttributes; the Go tests in deployments/ compare
# them): an org's conversations of one UTC day are one Query, in start order.
# It projects every summary attribute, so a day's figures need no further
# read, and not the detail, which would double the index's size.
locals {
  day_index_name = "orgDay"
  day_index_attributes = [
    "status", "conversationEnd", "durationMs", "originatingDirection", "mediaType", "divisionIds", "queueIds",
    "userIds", "wrapUpCodes", "participantCount", "handleTimeMs", "talkTimeMs", "holdTimeMs", "acwTimeMs",
    "waitTimeMs", "answerTimeMs", "ivrTimeMs", "abandoned", "transfers", "disconnectType", "agents",
    "missingWrapUps", "orgId", "firstEventAt", "lastEventTopic", "fetchedAt", "updatedAt",
  ]
}

# One item per conversation, keyed like activities/store (store.PartitionKey).
resource "aws_dynamodb_table" "conversations" {
  name                        = var.dynamodb_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "conversationId"
  deletion_protection_enabled = var.dynamodb_deletion_protection
  tags                        = local.tags

  attribute {
    name = "conversationId"
    type = "S"
  }

  attribute {
    name = "orgDay"
    type = "S"
  }

  attribute {
    name = "conversationStart"
    type = "S"
  }

  # Adding it to an existing table is an online operation: DynamoDB fills it
  # from the items that have orgDay; `starter table migrate` gives the older
  # items theirs. Failed items have no conversationStart and stay out of it.
  global_secondary_index {
    name               = local.day_index_name
    hash_key           = "orgDay"
    range_key          = "conversationStart"
    projection_type    = "INCLUDE"
    non_key_attributes = local.day_index_attributes
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.dynamodb_kms_key_arn
  }
}

# One audit record per batch workflow, written when the batch finishes and
# kept after Temporal's retention drops the workflow's history; keyed like
# activities/store (store.BatchKey). The worker only puts items; operators
# read them with `starter batches list`.
resource "aws_dynamodb_table" "batches" {
  name                        = var.dynamodb_batch_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "batchId"
  deletion_protection_enabled = var.dynamodb_deletion_protection
  tags                        = local.tags

  attribute {
    name = "batchId"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.dynamodb_kms_key_arn
  }
}
