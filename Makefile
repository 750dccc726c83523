# yujing — build and test.
#
#   make test    install the external test services if missing, check
#                formatting, vet, sizes (scripts/sizecheck: no Go file over
#                800 lines, no function over 120), vulncheck, and run
#                every test (race detector on) against real mosquitto,
#                InfluxDB 1.8, PostgreSQL 15 and a headless chromium
#                (screenshots of the console in artifacts/), then the
#                date-sensitive tests again with the clock a year ahead
#                (make clockshift) and the README's walk-through as written
#                (scripts/walkthrough.sh); cmd/yujing's end-to-end tests
#                run alongside the rest (scripts/test.sh), so both cores
#                are used. The fuzz targets' seed corpora run as tests;
#                fuzzing is make fuzz
#   make vulncheck  govulncheck against the Go vulnerability database from
#                the module proxy (scripts/vulncheck.sh; no vuln.go.dev)
#   make bench   run the benchmarks, then the end-to-end ingest benchmark
#                (publisher → mosquitto → yujing → InfluxDB, E2ECOUNT times)
#                and the sensor scale benchmark (100 000 and 1 000 000
#                sensors: heap per sensor, start time, peak RSS; needs
#                about 8 GB of free memory)
#                and the cluster's cost of coordination (BenchmarkCluster:
#                CPU per reading and per call, 1 node on SQLite, 1 and 3
#                on PostgreSQL)
#   make chaos   the long failure runs kept out of make test: yujing
#                SIGKILLed while calling about a 5 000-warning burst
#                (TestBurstKilledCallsOnce at full size)
#                and a cluster of three under load for CLUSTERCHAOS
#                (default 10m): nodes SIGKILLed every 20-40 s, PostgreSQL
#                and mosquitto restarted once (TestClusterChaos)
#   make fuzz    run every fuzz target for FUZZTIME each (default 30s)
#   make build   build bin/yujing

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

GO       ?= go
# go.mod names Go 1.27.3; a machine's own Go (1.21 or later) fetches that
# toolchain from the module proxy when told to (these machines default to
# GOTOOLCHAIN=local).
ifeq ($(filter-out local,$(GOTOOLCHAIN)),)
GOTOOLCHAIN := go1.27.3
endif
export GOTOOLCHAIN
FUZZTIME ?= 30s
FUZZPKGS ?= ./...
FUZZPARALLEL ?=
# How long make chaos runs the cluster under node kills (TestClusterChaos).
CLUSTERCHAOS ?= 10m

# scripts/test-deps.sh installs influxd here; internal/testenv looks here too.
YUJING_TOOLS ?= $(HOME)/.cache/yujing-tools
export YUJING_TOOLS
# Debian installs the mosquitto broker in /usr/sbin.
export PATH := $(YUJING_TOOLS):/usr/sbin:$(PATH)
# Integration tests fail, rather than skip, when a service is missing.
export YUJING_REQUIRE_EXTERNAL := 1
# The console's browser tests save their screenshots here (gitignored).
YUJING_ARTIFACTS ?= $(CURDIR)/artifacts
export YUJING_ARTIFACTS

.PHONY: test deps fmt-check vet sizecheck vulncheck clockshift bench chaos fuzz build

test: deps fmt-check vet sizecheck vulncheck
	GO=$(GO) scripts/check-deploy.sh
	GO=$(GO) MAKE=$(MAKE) scripts/test.sh

# The tests once more with the wall clock a year ahead (scripts/clockshift.sh):
# a test that depends on today's date fails here today, not on the day the
# date comes. cmd/yujing's tests that meet the real clock with timestamps of
# their own: those that publish timed payloads, replay, and the console.
CLOCKSHIFT_CMD_TESTS ?= Sparkplug|Replay|Tail|Timestamp|ConsoleInBrowser|EscalationEndToEnd|Scheduled
clockshift:
	GO=$(GO) scripts/clockshift.sh -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/cmd/yujing$$')
	GO=$(GO) scripts/clockshift.sh -count=1 -timeout 20m -run '$(CLOCKSHIFT_CMD_TESTS)' ./cmd/yujing

deps:
	scripts/test-deps.sh

fmt-check:
	@files="$$(gofmt -l $$(find . -type f -name '*.go' -not -path './.git/*' -not -path '*/testdata/*'))"; \
	if [ -n "$$files" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; \
		echo "$$files"; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...

# No non-test, non-generated Go file over 800 lines, no function over 120;
# the exemptions, each with its reason, are listed in the script.
sizecheck:
	$(GO) run ./scripts/sizecheck

# Versions of govulncheck and of its database: in scripts/vulncheck.sh.
vulncheck:
	GO=$(GO) scripts/vulncheck.sh

# Rounds of the end-to-end ingest benchmark (BENCHMARKS.md): a few minutes each.
E2ECOUNT ?= 3

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...
	YUJING_E2E=1 $(GO) test -run '^$$' -bench E2E -benchtime 1x -count $(E2ECOUNT) -timeout 90m ./cmd/yujing/
	YUJING_SCALE=1 $(GO) test -run '^$$' -bench SensorScale -benchtime 1x -timeout 120m ./cmd/yujing/
	YUJING_BENCH_DEPS=1 scripts/test-deps.sh
	YUJING_BURST_BENCH=1 $(GO) test -run '^$$' -bench 'BurstDispatch|CallLatency' -benchtime 1x -count 2 -timeout 60m ./cmd/yujing/
	YUJING_CLUSTER_BENCH=1 $(GO) test -run '^$$' -bench '^BenchmarkCluster$$' -benchtime 1x -timeout 30m ./cmd/yujing/

chaos: deps
	YUJING_BURST_GAUGES=5000 $(GO) test -race -count=1 -timeout 30m -run '^TestBurstKilledCallsOnce$$' -v ./cmd/yujing/
	YUJING_CLUSTER_CHAOS=$(CLUSTERCHAOS) $(GO) test -race -count=1 -timeout 60m -run '^TestClusterChaos$$' -v ./cmd/yujing/

# One `go test -fuzz` per target: the fuzzer takes one package and one target at a time.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) FUZZPARALLEL=$(FUZZPARALLEL) scripts/fuzz.sh $(FUZZPKGS)

build:
	$(GO) build -o bin/yujing ./cmd/yujing
