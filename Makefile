# genesys-ingest: the two commands are `make demo` and `make test`.
# Everything this installs goes into the checkout (.tools, node_modules,
# .local); nothing is installed globally.

TOOLS_BIN := $(CURDIR)/.tools/bin
export PATH := $(TOOLS_BIN):$(PATH)
GO ?= go
DEVSTACK := $(GO) run ./devstack/cmd/devstack

.PHONY: help demo test up down reset tools build unit integration lint workflowcheck bench bench-sweep bench-backfill chaos replay-corpus

help:
	@echo "make demo         start the local stack and run a few hundred conversations through it"
	@echo "make test         every test: unit, integration (real Temporal, dynalite, Lambda emulator, simulator), checks"
	@echo "make fuzz-short   every Go fuzz target for 10 s (part of make test)"
	@echo "make fuzz         every Go fuzz target for FUZZTIME each (default 2m)"
	@echo "make docs-screenshots run the browser test and copy its Web UI screenshots to docs/webui/"
	@echo "make up / down    start / stop the local stack (Temporal UI on http://127.0.0.1:8233)"
	@echo "make reset        stop the local stack and delete its data"
	@echo "make lambda       dist/forwarder.zip for AWS Lambda (arm64)"
	@echo "make worker       dist/worker-linux-arm64 for ECS Fargate"
	@echo "make bench        throughput against the reference design, half-load freshness, and the plot"
	@echo "make bench-sweep  event source batch sizes and windows: history, requests and freshness (~20 min)"
	@echo "make bench-backfill backfill throughput at the default budget, alone and with live traffic (~6 min)"
	@echo "make chaos        property tests (random seed), fuzzing (FUZZTIME) and the fault-injection suite against the real local stack (CHAOS_* knobs, ~35 min)"
	@echo "make replay-corpus record workflows/testdata/corpus/ again: one history per workflow path (~3 min)"
	@echo "make worker-image the worker container (needs Docker); make deployments-check: Terraform checks"
	@echo "make deployments-scan trivy over the Terraform (when trivy is installed)"

## The main job: the local stack plus a run of simulated conversations.
demo:
	$(DEVSTACK) demo

up:
	$(DEVSTACK) up

down:
	$(DEVSTACK) down

## Stop the local stack and delete its data: Temporal's workflows and the tables.
reset:
	$(DEVSTACK) reset

## Third-party tools (Temporal CLI, Lambda emulator, dynalite, workflowcheck).
tools:
	$(DEVSTACK) tools

build:
	$(DEVSTACK) build

## Every test. Integration tests start their own services on free ports.
## The browser test (integration/webui_test.go) installs Debian's chromium
## when it runs as root; where it cannot, it skips and the line after the
## tests says so.
test: tools lint terraform-lint fuzz-short
	@rm -f .local/browser-test-skipped
	$(GO) test -count=1 -timeout 30m ./...
	@if [ -f .local/browser-test-skipped ]; then cat .local/browser-test-skipped; fi

## The README's Web UI screenshots: the browser test on a stack of its own,
## then its screenshots (test-screenshots/, git-ignored) copied to docs/webui/.
.PHONY: docs-screenshots
docs-screenshots:
	@rm -f .local/browser-test-skipped
	$(GO) test -count=1 -timeout 15m -run 'TestWebUITellsTheStory' ./integration/
	@if [ -f .local/browser-test-skipped ]; then cat .local/browser-test-skipped; exit 1; fi
	mkdir -p docs/webui
	cp test-screenshots/webui-*.png docs/webui/
	@ls -l docs/webui

lint: workflowcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# Determinism check of the workflow code.
workflowcheck:
	$(GO) tool workflowcheck ./workflows/...

## Go fuzz targets: every func FuzzX in a _test.go file, each run on its own
## (go test takes one -fuzz target per package invocation). Minimizing a new
## input is capped at 2 s: with the default 60 s, a short run that ends while
## a worker minimizes fails with "context deadline exceeded". That error
## without a failing input (the engine stopping on its own deadline, seen
## once on a loaded machine) gets one more run; a failing input never does.
## A crasher is kept
## in its package's testdata/fuzz/FuzzX/ and from then on runs as a seed in
## every go test.
.PHONY: fuzz fuzz-short
FUZZTIME ?= 2m
FUZZ_SHORT_TIME ?= 10s
run_fuzz = for t in $$(grep -rHoE --include='*_test.go' --exclude-dir=.git --exclude-dir=.tools \
		--exclude-dir=.local --exclude-dir=node_modules '^func Fuzz[A-Za-z0-9_]*' . | sed 's|/[^/]*:func |:|' | sort); do \
	echo "fuzz $${t\#\#*:} ($${t%%:*}) for $(1)"; \
	for try in 1 2; do \
		if $(GO) test -run '^$$' -fuzz "^$${t\#\#*:}\$$" -fuzztime $(1) -fuzzminimizetime 2s "$${t%%:*}" > .fuzz.log 2>&1; then \
			tail -1 .fuzz.log; break; fi; \
		cat .fuzz.log; \
		if [ $$try = 2 ] || grep -q "Failing input" .fuzz.log || ! grep -q "context deadline exceeded" .fuzz.log; then rm -f .fuzz.log; exit 1; fi; \
		echo "the fuzzing engine stopped on its own deadline, not on a failing input: once more"; \
	done; \
done; rm -f .fuzz.log

fuzz-short:
	@$(call run_fuzz,$(FUZZ_SHORT_TIME))

fuzz:
	@$(call run_fuzz,$(FUZZTIME))

include deployments/deployments.mk

## Throughput of the reference design's shape and of the defaults, each on a
## fresh local stack, and the freshness at half load (200 conversations/s
## for 2 minutes through the deployed event source mapping); BENCH_* knobs
## are in devstack/bench.go, results and the plot in bench-results/ (the
## plot also in docs/bench.svg). `make bench BENCH_SMOKE=1` is the quick
## CI variant; `make bench BENCH_SWEEP=1` runs the sweep first.
bench:
	$(DEVSTACK) bench

## Backfill throughput at the default budget: 20,000 conversations over 10
## days, alone and with live traffic, each on a fresh stack (BENCH_BACKFILL_*
## knobs in devstack/bench_backfill.go), results in bench-results/.
bench-backfill:
	$(DEVSTACK) bench-backfill

## The event source sweep alone (~20 min): batch sizes and batching windows
## at half load and in a backlog drain, the table and the chosen defaults.
bench-sweep:
	$(DEVSTACK) bench -sweep-only

## Faults injected into the real local stack (worker kill -9, Temporal and
## dynalite restarts, Genesys outages, 429 storms, lost permissions, bad ids,
## duplicates, load), each on a fresh stack, every item checked against the
## simulator's ground truth; CHAOS_* knobs are in devstack/chaos.go, results
## in chaos-results/. `make test` runs a reduced suite (TestChaosReduced).
## Before the stacks: the fetch scheduler's property tests with a random
## seed and many more cases than go test's fixed-seed run, and the fuzz
## targets for FUZZTIME each.
PROPERTY_CHECKS ?= 50000
chaos: fuzz
	$(GO) test -count=1 -run '^TestFetchCoreProperties$$' ./workflows/ -rapid.checks=$(PROPERTY_CHECKS) -rapid.seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	$(DEVSTACK) chaos

## Histories for the replay test (workflows/replay_test.go), one per path the
## workflows take, recorded on fresh stacks on free ports; replaces
## workflows/testdata/corpus/*.json. Scenarios are in devstack/corpus.go.
replay-corpus:
	$(DEVSTACK) replay-corpus
