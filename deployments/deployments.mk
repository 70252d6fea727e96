# Build artifacts and checks of the deployment side.
#
# Included by the root Makefile (which defines TOOLS_BIN and puts it on PATH);
# also usable on its own from the repository root:
#
#   make -f deployments/deployments.mk lambda worker
#
# Targets:
#   lambda               dist/forwarder.zip: the forwarder as `bootstrap` (linux/arm64), reproducible
#   lambda-reproducible  build the zip twice and compare the SHA-256
#   worker               dist/worker-linux-arm64: static, stripped worker binary
#   worker-image         Docker image of the worker (needs a Docker engine)
#   deployments-check    terraform fmt -check, tflint (bundled ruleset), go test ./deployments/...
#   deployments-scan     trivy config over the Terraform: fails on any finding not accepted inline
#   tflint               install tflint $(TFLINT_VERSION) into $(TOOLS_BIN) when missing

# This file's path, to call make on it again (captured before anything else
# is included).
DEPLOYMENTS_MK := $(lastword $(MAKEFILE_LIST))

TOOLS_BIN ?= $(CURDIR)/.tools/bin
DIST_DIR ?= dist
GO ?= go
DOCKER ?= docker

# Cross-compiled, static, without paths of this machine or a build id: the
# binaries depend only on the sources and the Go toolchain.
GO_LINUX_ARM64 := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
GO_RELEASE_FLAGS := -trimpath -ldflags='-s -w -buildid='

LAMBDA_PKG := ./starter/lambda
LAMBDA_BUILD_DIR := $(DIST_DIR)/lambda
LAMBDA_ZIP := $(DIST_DIR)/forwarder.zip

WORKER_PKG := ./worker
WORKER_BIN := $(DIST_DIR)/worker-linux-arm64
WORKER_IMAGE ?= genesys-ingest-worker:dev
WORKER_DOCKERFILE := deployments/docker/worker.Dockerfile

TF_DIR := deployments/terraform
TF_ROOTS := $(TF_DIR)/modules/genesys-ingest $(TF_DIR)/examples/complete
TFLINT_VERSION := v0.64.0
TFLINT := $(TOOLS_BIN)/tflint
# Not installed by any target: building it takes minutes and a lot of
# modules, so the scan is opt-in.
TRIVY_VERSION := v0.74.0
TRIVY ?= $(firstword $(wildcard $(TOOLS_BIN)/trivy) trivy)

.PHONY: lambda lambda-reproducible worker worker-image deployments-check deployments-scan terraform-lint tflint

# The forwarder. -buildvcs=false keeps the commit id out of the binary, so the
# zip (and the Lambda's source_code_hash) changes only when the code does,
# not with every commit. lambda.norpc drops the legacy RPC runtime, unused by
# provided.al2023; grpcnotrace drops gRPC's golang.org/x/net/trace (never
# enabled here), whose html/template keeps every exported method of every
# linked type in the binary.
LAMBDA_TAGS := lambda.norpc,grpcnotrace

lambda:
	@mkdir -p $(LAMBDA_BUILD_DIR)
	$(GO_LINUX_ARM64) $(GO) build $(GO_RELEASE_FLAGS) -buildvcs=false -tags $(LAMBDA_TAGS) -o $(LAMBDA_BUILD_DIR)/bootstrap $(LAMBDA_PKG)
	$(GO) run ./deployments/internal/zipper -o $(LAMBDA_ZIP) $(LAMBDA_BUILD_DIR)/bootstrap

# Two builds into separate directories must give the same bytes. (The second
# compile is served from the Go build cache; Go builds themselves are
# reproducible, what this guards is everything after the compiler.)
lambda-reproducible:
	@$(MAKE) --no-print-directory -f $(DEPLOYMENTS_MK) lambda DIST_DIR=$(DIST_DIR)/repro-a >/dev/null
	@$(MAKE) --no-print-directory -f $(DEPLOYMENTS_MK) lambda DIST_DIR=$(DIST_DIR)/repro-b >/dev/null
	@a=$$(sha256sum < $(DIST_DIR)/repro-a/forwarder.zip); b=$$(sha256sum < $(DIST_DIR)/repro-b/forwarder.zip); \
	rm -rf $(DIST_DIR)/repro-a $(DIST_DIR)/repro-b; \
	if [ "$$a" = "$$b" ]; then echo "forwarder.zip is reproducible: sha256 $${a%% *}"; \
	else echo "forwarder.zip is NOT reproducible: $${a%% *} != $${b%% *}" >&2; exit 1; fi

worker:
	@mkdir -p $(DIST_DIR)
	$(GO_LINUX_ARM64) $(GO) build $(GO_RELEASE_FLAGS) -o $(WORKER_BIN) $(WORKER_PKG)
	@echo "$(WORKER_BIN): $$(du -h $(WORKER_BIN) | cut -f1)"

# Cross-compiles in the builder stage (no emulation needed for arm64).
worker-image:
	@command -v $(DOCKER) >/dev/null 2>&1 || { echo "worker-image: '$(DOCKER)' not found: install Docker (with BuildKit) or build the image on a machine that has it" >&2; exit 1; }
	@$(DOCKER) info >/dev/null 2>&1 || { echo "worker-image: no Docker engine answers ('$(DOCKER) info' failed): start the daemon or set DOCKER_HOST" >&2; exit 1; }
	DOCKER_BUILDKIT=1 $(DOCKER) build --platform linux/arm64 -f $(WORKER_DOCKERFILE) -t $(WORKER_IMAGE) .

deployments-check: terraform-lint
	$(GO) test ./deployments/...

# Static checks of the HCL that need no provider: part of `make test`.
terraform-lint: tflint
	@if command -v terraform >/dev/null 2>&1; then \
		echo "terraform fmt -check -recursive $(TF_DIR)"; \
		TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff $(TF_DIR) || exit 1; \
	else \
		echo "terraform not on PATH: skipping fmt check"; \
	fi
	@for d in $(TF_ROOTS); do \
		echo "tflint --chdir=$$d"; \
		$(TFLINT) --chdir=$$d --config=$(CURDIR)/$(TF_DIR)/.tflint.hcl || exit 1; \
	done

# Misconfigurations in the module, through the example with the values of
# its terraform.tfvars.example (unset inputs would hide findings that depend
# on them). A finding the configuration accepts is ignored inline
# (#trivy:ignore:<id>) with the reason above it; any other fails. The checks
# bundled in the binary are used (--skip-check-update): results depend on
# TRIVY_VERSION only, and nothing is downloaded.
deployments-scan:
	@if ! command -v $(TRIVY) >/dev/null 2>&1; then \
		echo "deployments-scan: trivy not found, skipping. Install it with:"; \
		echo "  GOEXPERIMENT=jsonv2 GOBIN=$(TOOLS_BIN) $(GO) install github.com/aquasecurity/trivy/cmd/trivy@$(TRIVY_VERSION)"; \
		exit 0; \
	fi; \
	set -x; $(TRIVY) config --quiet --skip-check-update --exit-code 1 --tf-vars $(TF_DIR)/examples/complete/terraform.tfvars.example $(TF_DIR)

# tflint's terraform ruleset is bundled in the binary: nothing else is
# downloaded, so `tflint --init` is never needed.
tflint:
	@if ! [ -x $(TFLINT) ] || ! $(TFLINT) --version 2>/dev/null | grep -q "version $(TFLINT_VERSION:v%=%)"; then \
		echo "installing tflint $(TFLINT_VERSION) into $(TOOLS_BIN) (a few minutes the first time)"; \
		mkdir -p $(TOOLS_BIN) && GOBIN=$(TOOLS_BIN) $(GO) install github.com/terraform-linters/tflint@$(TFLINT_VERSION) || exit 1; \
	fi
