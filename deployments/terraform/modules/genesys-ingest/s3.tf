# Detail bucket (DETAIL_BUCKET): the gzipped analytics record of a
# conversation whose item would exceed DynamoDB's 400 KB, as
# <orgId>/<YYYY-MM-DD>/<conversationId>/<hash>.json.gz. The item keeps
# detailBucket and detailKey instead of the detail, so the objects must live
# as long as the items that point to them.

# Server access logs would need a second bucket (whose own logging trivy
# would ask for in turn). The only writer is the worker's task role; who
# read what is answered by CloudTrail data events, which an account trail can
# record for this bucket.
#trivy:ignore:AWS-0089
resource "aws_s3_bucket" "details" {
  bucket = local.detail_bucket_name
  # Never emptied by a destroy: the conversations table points into it.
  force_destroy = false
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "details" {
  bucket                  = aws_s3_bucket.details.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# No ACLs: every object belongs to the account, whoever wrote it.
resource "aws_s3_bucket_ownership_controls" "details" {
  bucket = aws_s3_bucket.details.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# SSE-S3, which the worker asks for on every PutObject (activities/store)
# and the bucket policy requires. A customer managed key would add a KMS
# call per object and kms:GenerateDataKey/kms:Decrypt to every role for no
# extra separation: who may read is decided by IAM on this bucket alone.
#trivy:ignore:AWS-0132
resource "aws_s3_bucket_server_side_encryption_configuration" "details" {
  bucket = aws_s3_bucket.details.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Versioned, as the table has point-in-time recovery: an object deleted or
# overwritten by hand (the worker may do neither) can be brought back with
# the items that point to it. It costs next to nothing: keys name their
# content, so the worker never replaces an object with other bytes, and the
# lifecycle rule drops noncurrent versions after the table's recovery window.
resource "aws_s3_bucket_versioning" "details" {
  bucket = aws_s3_bucket.details.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "details" {
  bucket = aws_s3_bucket.details.id

  rule {
    id     = "details"
    status = "Enabled"

    filter {}

    # Details are read rarely (`starter conversations get --detail`), and an
    # object is only here because it did not fit a 400 KB item: Standard-IA's
    # 128 KB minimum object charge never applies.
    transition {
      days          = var.detail_bucket_ia_after_days
      storage_class = "STANDARD_IA"
    }

    # Expired objects become noncurrent versions and go 35 days later.
    dynamic "expiration" {
      for_each = var.detail_bucket_expire_after_days == null ? [] : [var.detail_bucket_expire_after_days]

      content {
        days = expiration.value
      }
    }

    # 35 days: DynamoDB's point-in-time recovery window.
    noncurrent_version_expiration {
      noncurrent_days = 35
    }
  }

  # S3 refuses noncurrent-version rules until versioning is configured.
  depends_on = [aws_s3_bucket_versioning.details]
}

data "aws_iam_policy_document" "details_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.details.arn, "${aws_s3_bucket.details.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Also denies a PutObject without the header: nothing is stored unless it
  # asked for SSE-S3, as the worker does.
  statement {
    sid       = "DenyObjectsWithoutSseS3"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.details.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["AES256"]
    }
  }
}

resource "aws_s3_bucket_policy" "details" {
  bucket = aws_s3_bucket.details.id
  policy = data.aws_iam_policy_document.details_bucket.json

  # S3 rejects concurrent changes of a bucket's policy and its public access
  # block ("conflicting conditional operation").
  depends_on = [aws_s3_bucket_public_access_block.details]
}
