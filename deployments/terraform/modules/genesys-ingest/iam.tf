# One role per component, inline policies only, each statement naming the
# actions it needs on the ARNs it needs. The Go tests in deployments/ reject a
# wildcard action, and a "*" resource except for the actions that AWS does
# not authorize per resource (documented where they are used).

# ---------------------------------------------------------------------------
# Forwarder Lambda
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${var.name}-forwarder"
  description        = "genesys-ingest forwarder Lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:log-stream:*"]
  }

  statement {
    sid = "ConsumeEventsQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.events.arn]
  }

  # The Temporal secret only (the API key); never the
  # Genesys client secret.
  dynamic "statement" {
    for_each = local.temporal_needs_secret ? [local.temporal_secret_arn] : []

    content {
      sid       = "ReadTemporalSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.sqs_kms_key_arn == null ? [] : [var.sqs_kms_key_arn]

    content {
      sid       = "DecryptQueueMessages"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn != null && local.temporal_needs_secret ? [var.secrets_kms_key_arn] : []

    content {
      sid       = "DecryptTemporalSecret"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  # In a VPC (lambda_vpc_config), Lambda creates and deletes the function's
  # network interfaces with this role: in the given subnets and security
  # groups only.
  dynamic "statement" {
    for_each = var.lambda_vpc_config == null ? [] : [var.lambda_vpc_config]

    content {
      sid = "ManageVpcNetworkInterfaces"
      actions = [
        "ec2:AssignPrivateIpAddresses",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = concat(
        ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
        [for s in statement.value.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${s}"],
        [for g in statement.value.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${g}"],
      )
    }
  }

  # The EC2 Describe actions support no resource-level permission (Service
  # Authorization Reference, Amazon EC2), so the resource must be "*"; they
  # only read.
  dynamic "statement" {
    for_each = var.lambda_vpc_config == null ? [] : ["describe"]

    content {
      sid       = "DescribeVpcNetwork"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "forwarder"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# ---------------------------------------------------------------------------
# ECS task execution role: pull the image, write logs, inject secrets
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Confused-deputy protection: only ECS acting for this account.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "ecs_execution" {
  name               = "${var.name}-worker-execution"
  description        = "genesys-ingest worker: ECS task execution (image pull, logs, secrets)"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "ecs_execution" {
  statement {
    sid       = "WriteWorkerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.worker.arn}:log-stream:*"]
  }

  statement {
    sid       = "ReadWorkerSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.worker_secret_arns
  }

  dynamic "statement" {
    for_each = local.worker_ecr_repository_arn == null ? [] : [local.worker_ecr_repository_arn]

    content {
      sid = "PullWorkerImage"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ]
      resources = [statement.value]
    }
  }

  # ecr:GetAuthorizationToken is account-wide: AWS supports no resource-level
  # permission for it (Service Authorization Reference, Amazon ECR), so the
  # resource must be "*". The token only lets the role call the registry;
  # which repository it may pull from is limited by PullWorkerImage above.
  dynamic "statement" {
    for_each = local.worker_ecr_repository_arn == null ? [] : ["ecr"]

    content {
      sid       = "EcrAuthorizationToken"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn == null ? [] : [var.secrets_kms_key_arn]

    content {
      sid       = "DecryptWorkerSecrets"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "ecs_execution" {
  name   = "worker-execution"
  role   = aws_iam_role.ecs_execution.id
  policy = data.aws_iam_policy_document.ecs_execution.json
}

# ---------------------------------------------------------------------------
# ECS task role: what the worker process itself may do
# ---------------------------------------------------------------------------

resource "aws_iam_role" "ecs_task" {
  name               = "${var.name}-worker-task"
  description        = "genesys-ingest worker: DynamoDB reads and writes, detail objects and the backlog metric"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

# Exactly the calls activities/store makes at run time: BatchGetItem and
# GetItem to compare with the stored item, conditional PutItem to write a
# conversation or a failed item, PutItem of a batch's audit record; GetItem
# is also how the worker's readiness probe (/readyz) finds the table
# reachable. Nothing updates or deletes items. Tables are created by
# Terraform (CreateTable/DescribeTable are for local stacks only, with
# -create-table) and scanned only by operators' `starter` CLI. The backfill
# and the sweep need nothing more: they read stored statuses with
# BatchGetItem and put their reports in the batches table.
data "aws_iam_policy_document" "ecs_task" {
  statement {
    sid = "ConversationsTable"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]
    resources = [aws_dynamodb_table.conversations.arn]
  }

  statement {
    sid       = "BatchesTable"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.batches.arn]
  }

  # With store_contact_addresses = "hashed" the worker reads the HMAC key
  # itself, once at start (workerconfig.Contacts.Load), rather than have the
  # execution role inject it into the container's environment: this secret
  # only, never the Genesys or Temporal secret.
  dynamic "statement" {
    for_each = local.hash_contacts ? [local.contact_hash_key_secret_arn] : []

    content {
      sid       = "ReadContactHashKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn != null && local.hash_contacts ? [var.secrets_kms_key_arn] : []

    content {
      sid       = "DecryptContactHashKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  # A detail too large for its item is written once, under a key naming its
  # content; the worker never reads, lists or deletes one.
  statement {
    sid       = "WriteDetails"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.details.arn}/*"]
  }

  # cloudwatch:PutMetricData supports no resource-level permission (Service
  # Authorization Reference, Amazon CloudWatch: no resource types), so the
  # resource must be "*". The cloudwatch:namespace condition limits the role
  # to the one namespace the backlog publisher writes.
  statement {
    sid       = "PublishBacklogMetric"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.backlog_metric_namespace]
    }
  }
}

resource "aws_iam_role_policy" "ecs_task" {
  name   = "worker-task"
  role   = aws_iam_role.ecs_task.id
  policy = data.aws_iam_policy_document.ecs_task.json
}

# ---------------------------------------------------------------------------
# People: the `starter` CLI runs with their own credentials. Attached to no
# role here; outputs reader_policy_json and operator_policy_json, for the
# roles, groups or permission sets of the people who use it.
# ---------------------------------------------------------------------------

# conversations get [--detail], conversations list [--day], batches list,
# and the table reads of conversations where (GetItem of the conversation's
# item, then of each batch's audit record).
data "aws_iam_policy_document" "reader" {
  statement {
    sid       = "ReadConversations"
    actions   = ["dynamodb:GetItem", "dynamodb:Scan"]
    resources = [aws_dynamodb_table.conversations.arn]
  }

  statement {
    sid       = "QueryConversationsByDay"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.conversations.arn}/index/${local.day_index_name}"]
  }

  statement {
    sid       = "ReadBatches"
    actions   = ["dynamodb:GetItem", "dynamodb:Scan"]
    resources = [aws_dynamodb_table.batches.arn]
  }

  statement {
    sid       = "ReadDetails"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.details.arn}/*"]
  }
}

# The reader's, plus what changes things: `conversations retry ID...` (reads
# the ids' orgs with BatchGetItem), `table migrate` (scans for items without
# orgDay and sets it with conditional UpdateItems), and the commands that
# start workflows (retry, backfill, reconcile, sweep schedule), which take
# TEMPORAL_API_KEY from the Temporal secret, as conversations where does to
# describe the workflows it names.
data "aws_iam_policy_document" "operator" {
  source_policy_documents = [data.aws_iam_policy_document.reader.json]

  statement {
    sid       = "RetryAndMigrateConversations"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.conversations.arn]
  }

  dynamic "statement" {
    for_each = var.temporal_auth_mode == "api_key" ? [local.temporal_secret_arn] : []

    content {
      sid       = "ReadTemporalApiKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn != null && var.temporal_auth_mode == "api_key" ? [var.secrets_kms_key_arn] : []

    content {
      sid       = "DecryptTemporalApiKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

# ---------------------------------------------------------------------------
# Queue policies: only the Genesys rule may send
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "events_queue" {
  statement {
    sid       = "GenesysRuleSendsEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.conversations.arn]
    }
  }
}

data "aws_iam_policy_document" "delivery_dlq" {
  statement {
    sid       = "GenesysRuleDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.delivery_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.conversations.arn]
    }
  }
}
