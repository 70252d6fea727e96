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
