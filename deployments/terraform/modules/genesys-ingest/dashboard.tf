# One page of the worker's embedded-format metrics: how much is ingested,
# how it ends, how much of the Genesys budget it takes, 429s and freshness.

locals {
  # The Outcome dimension of ConversationsProcessed.
  conversation_outcomes = ["complete", "unchanged", "incomplete", "failed", "not_ready"]

  dashboard_widget = {
    type   = "metric"
    height = 6
  }
  dashboard_properties = {
    region = local.region
    view   = "timeSeries"
    period = local.metrics_interval_seconds
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      merge(local.dashboard_widget, {
        x = 0, y = 0, width = 12
        properties = merge(local.dashboard_properties, {
          title = "Throughput: conversations processed per minute"
          stat  = "Sum"
          metrics = concat(
            [[{ id = "total", expression = "SUM(METRICS())", label = "all outcomes" }]],
            [for i, o in local.conversation_outcomes : [local.metrics_namespace, "ConversationsProcessed", "Outcome", o, { id = "o${i}", visible = false }]],
          )
        })
      }),
      merge(local.dashboard_widget, {
        x = 12, y = 0, width = 12
        properties = merge(local.dashboard_properties, {
          title   = "Outcomes per minute"
          stat    = "Sum"
          stacked = true
          metrics = [for o in local.conversation_outcomes : [local.metrics_namespace, "ConversationsProcessed", "Outcome", o, { label = o }]]
        })
      }),
      # Every task reports its share of the fleet's budget once a period
      # (local.metrics_interval_seconds), so the Sum is the fleet's use.
      merge(local.dashboard_widget, {
        x = 0, y = 6, width = 8
        properties = merge(local.dashboard_properties, {
          title   = "Genesys request budget in use (all tasks)"
          metrics = [[local.metrics_namespace, "GenesysBudgetUse", { stat = "Sum", label = "budget use (%)" }]]
          yAxis   = { left = { min = 0, label = "%" } }
          annotations = {
            horizontal = [{ value = 100, label = "genesys_requests_per_second = ${var.genesys_requests_per_second}/s" }]
          }
        })
      }),
      merge(local.dashboard_widget, {
        x = 8, y = 6, width = 8
        properties = merge(local.dashboard_properties, {
          title = "Genesys 429s per minute"
          metrics = [
            [local.metrics_namespace, "GenesysRateLimited", { stat = "Sum", label = "429 responses" }],
            [local.metrics_namespace, "GenesysRetryAfter", { stat = "Maximum", label = "longest Retry-After (s)", yAxis = "right" }],
          ]
        })
      }),
      merge(local.dashboard_widget, {
        x = 16, y = 6, width = 8
        properties = merge(local.dashboard_properties, {
          title = "Freshness: event to stored (ms)"
          metrics = [
            [local.metrics_namespace, "Freshness", { stat = "p50", label = "p50" }],
            [local.metrics_namespace, "Freshness", { stat = "p99", label = "p99" }],
          ]
          yAxis = { left = { min = 0, label = "ms" } }
          annotations = {
            horizontal = [{ value = var.freshness_p99_alarm_ms, label = "p99 alarm" }]
          }
        })
      }),
    ]
  })
}
