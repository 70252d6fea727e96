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
