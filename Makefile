# yujing — build and test.
#
#   make test    install the external test services if missing, check
#                formatting, vet, vulncheck, and run every test (race
#                detector on) against real mosquitto, InfluxDB 1.8 and a
#                headless chromium (screenshots of the console in artifacts/)
#   make vulncheck  govulncheck against the Go vulnerability database from
#                the module proxy (scripts/vulncheck.sh; no vuln.go.dev)
#   make bench   run the benchmarks, then the end-to-end ingest benchmark
#                (publisher → mosquitto → yujing → InfluxDB, E2ECOUNT times)
#                and the sensor scale benchmark (100 000 and 1 000 000
#                sensors: heap per sensor, start time, peak RSS; needs
#                about 8 GB of free memory)
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
# Each fuzz target also runs this long in `make test`.
FUZZTIME_SHORT ?= 5s
FUZZPKGS ?= ./...

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

.PHONY: test deps fmt-check vet vulncheck bench fuzz build

test: deps fmt-check vet vulncheck
	GO=$(GO) scripts/check-deploy.sh
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

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

# Versions of govulncheck and of its database: in scripts/vulncheck.sh.
vulncheck:
	GO=$(GO) scripts/vulncheck.sh

# Rounds of the end-to-end ingest benchmark (BENCHMARKS.md): a few minutes each.
E2ECOUNT ?= 3

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...
	YUJING_E2E=1 $(GO) test -run '^$$' -bench E2E -benchtime 1x -count $(E2ECOUNT) -timeout 90m ./cmd/yujing/
	YUJING_SCALE=1 $(GO) test -run '^$$' -bench SensorScale -benchtime 1x -timeout 120m ./cmd/yujing/

# One `go test -fuzz` per target: the fuzzer takes one package and one target at a time.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(FUZZPKGS)

build:
	$(GO) build -o bin/yujing ./cmd/yujing
