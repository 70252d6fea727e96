terraform {
  # 1.9 brings variable validations that refer to other variables, used to
  # keep the SQS visibility timeout and the worker stop timeout consistent.
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
