# Optional VPC endpoints (var.vpc_endpoints) for the AWS APIs the worker
# task uses, so that only Genesys and Temporal need the NAT gateway:
#
#   ECR (ecr.api, ecr.dkr) and S3 (image layers)  the Fargate agent pulls the image
#   logs                                           awslogs, and with it the embedded-format metrics
#   secretsmanager                                 the agent injects the container's secrets; the worker
#                                                  reads the contact hash key (store_contact_addresses = "hashed")
#   monitoring                                     the backlog publisher's PutMetricData
#   dynamodb                                       the store
#
# No STS endpoint: the task role's credentials come from the ECS agent, and
# KMS is called by Secrets Manager and DynamoDB themselves.

locals {
  vpc_gateway_services   = var.vpc_endpoints == null ? [] : var.vpc_endpoints.gateway_services
  vpc_interface_services = var.vpc_endpoints == null ? [] : var.vpc_endpoints.interface_services
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = toset(local.vpc_gateway_services)

  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.vpc_endpoints.route_table_ids
  tags              = merge(local.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(local.vpc_interface_services)

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.private_subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  tags                = merge(local.tags, { Name = "${var.name}-${each.key}" })
}

# The interface endpoints answer HTTPS from the worker tasks only.
resource "aws_security_group" "endpoints" {
  count = length(local.vpc_interface_services) > 0 ? 1 : 0

  name        = "${var.name}-vpc-endpoints"
  description = "genesys-ingest VPC interface endpoints: HTTPS from the worker tasks only"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_worker" {
  count = length(local.vpc_interface_services) > 0 ? 1 : 0

  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the genesys-ingest worker tasks"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.worker.id
  tags                         = local.tags
}
