# Worker scaling. Application Auto Scaling runs both target tracking
# policies and keeps the larger of the capacities they ask for:
#
#   1. backlog per task: the worker's ApproximateBacklogCount total (published
#      by worker/backlog, no dimension) divided by the running task count
#      (ECS/ContainerInsights RunningTaskCount), kept near
#      worker_backlog_per_task_target;
#   2. CPU: the fallback when the backlog metric is missing or the work is
#      CPU bound.
resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker.name}"
  min_capacity       = var.worker_min_count
  max_capacity       = var.worker_max_count
  tags               = local.tags
}

resource "aws_appautoscaling_policy" "worker_backlog" {
  name               = "${var.name}-worker-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  resource_id        = aws_appautoscaling_target.worker.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_backlog_per_task_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    customized_metric_specification {
      metrics {
        id          = "backlog"
        label       = "Temporal task queue backlog (all queues)"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = local.backlog_metric_namespace
            metric_name = local.backlog_metric_name
          }
        }
      }

      metrics {
        id          = "tasks"
        label       = "Running worker tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Temporal backlog per running worker task"
        expression  = "backlog / tasks"
        return_data = true
      }
    }
  }
}

resource "aws_appautoscaling_policy" "worker_cpu" {
  name               = "${var.name}-worker-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  resource_id        = aws_appautoscaling_target.worker.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
