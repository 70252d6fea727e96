# Temporal worker on ECS Fargate (arm64), private subnets, no inbound ports.

resource "aws_ecs_cluster" "this" {
  name = var.name
  tags = local.tags

  # Container Insights publishes ECS/ContainerInsights RunningTaskCount, the
  # divisor of the backlog-per-task scaling metric (autoscaling.tf).
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# Encrypted at rest by CloudWatch Logs; see aws_cloudwatch_log_group.lambda
# for when log_kms_key_arn is worth it.
resource "aws_cloudwatch_log_group" "worker" {
  name              = "/ecs/${var.name}/worker"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

# No ingress rules at all; egress only to HTTPS (Genesys Cloud, and the AWS
# APIs: through vpc_endpoints when given, else the NAT gateway) and to the
# Temporal frontend port. DNS to the VPC resolver is not subject to security
# groups.
resource "aws_security_group" "worker" {
  name        = "${var.name}-worker"
  description = "genesys-ingest worker tasks: no inbound, outbound HTTPS and Temporal only"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

# The Genesys Cloud API (api.<region domain>) is served from addresses that
# Genesys does not publish and that change (CloudFront and AWS ranges), and
# a security group can only name addresses: HTTPS must be open to all of
# them. With vpc_endpoints the AWS APIs stay inside the VPC and this rule
# carries Genesys only (and Temporal, when its port is 443); narrow it
# further with an egress proxy or a firewall that filters by host name.
#trivy:ignore:AWS-0104
resource "aws_vpc_security_group_egress_rule" "worker_https" {
  security_group_id = aws_security_group.worker.id
  description       = "HTTPS to the Genesys Cloud API (and AWS APIs without VPC endpoints)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

# 0.0.0.0/0 by default: Temporal Cloud's endpoints have no fixed addresses.
# Narrow temporal_egress_cidr_blocks to a self-hosted server's addresses, or
# to the subnets of a Temporal Cloud PrivateLink endpoint.
#trivy:ignore:AWS-0104
resource "aws_vpc_security_group_egress_rule" "worker_temporal" {
  for_each = local.temporal_port == 443 ? toset([]) : toset(var.temporal_egress_cidr_blocks)

  security_group_id = aws_security_group.worker.id
  description       = "Temporal frontend (gRPC)"
  ip_protocol       = "tcp"
  from_port         = local.temporal_port
  to_port           = local.temporal_port
  cidr_ipv4         = each.value
  tags              = local.tags
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.worker_cpu)
  memory                   = tostring(var.worker_memory)
  execution_role_arn       = aws_iam_role.ecs_execution.arn
  task_role_arn            = aws_iam_role.ecs_task.arn
  tags                     = local.tags

  runtime_platform {
    cpu_architecture        = "ARM64"
    operating_system_family = "LINUX"
  }

  container_definitions = jsonencode([
    {
      name      = local.worker_container_name
      image     = var.worker_image
      essential = true
      # Fargate's maximum. SIGTERM first; the worker stops polling and
      # drains for WORKER_STOP_TIMEOUT (below 120 s), then ECS sends SIGKILL.
      stopTimeout            = 120
      readonlyRootFilesystem = true
      # Plain settings only; credentials come from Secrets Manager.
      environment = local.worker_environment_list
      secrets     = local.worker_secrets_list
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.worker.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "worker"
        }
      }
      # The image is distroless (no shell, no curl): the worker binary asks
      # its own /healthz on METRICS_ADDRESS. ECS replaces a task that fails
      # three checks in a row, e.g. after Temporal went unanswered for
      # WORKER_UNHEALTHY_AFTER; startPeriod covers dialing Temporal and
      # starting the pollers, before which /healthz is not served.
      healthCheck = {
        command     = ["CMD", "/worker", "healthcheck"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      # No portMappings: nothing connects to the worker.
    }
  ])
}

resource "aws_ecs_service" "worker" {
  name                               = "${var.name}-worker"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.worker.arn
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  desired_count                      = var.worker_min_count
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"
  tags                               = local.tags

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    # Application Auto Scaling owns the running count after creation.
    ignore_changes = [desired_count]

    # The worker validates its settings when it starts and exits on one out
    # of range (workerconfig.Load): refuse them here.
    precondition {
      condition     = local.fetch_retry_horizon_seconds >= 60
      error_message = "fetch_retry_horizon must be at least 1m."
    }
    precondition {
      condition     = local.fetch_retry_max_interval_seconds >= 1 && local.fetch_retry_max_interval_seconds <= local.fetch_retry_horizon_seconds
      error_message = "fetch_retry_max_interval must be at least 1s and at most fetch_retry_horizon."
    }
  }

  depends_on = [
    aws_iam_role_policy.ecs_execution,
    aws_iam_role_policy.ecs_task,
  ]
}
