#!/usr/bin/env bash
# test.sh runs the tests of `make test` (after its checks) in two lanes, so
# that both cores of a CI machine stay busy:
#
#   background  go test -race ./cmd/yujing: the end-to-end tests (yujing
#               processes, brokers, databases and browsers), about half the
#               suite's time;
#   foreground  go test -race on every other package, then the clock-shifted
#               run (make clockshift) and the README's walk-through.
#
# The fuzz targets' seed corpora run as tests in both lanes; fuzzing itself
# is make fuzz. The background lane's output is printed when it ends, after
# the foreground's; the script fails if either lane failed, and says which.
#
#   GO=go scripts/test.sh
set -euo pipefail
case "${GOTOOLCHAIN:-local}" in local) export GOTOOLCHAIN=go1.27.3 ;; esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO="${GO:-go}"
MAKE="${MAKE:-make}"

log="$(mktemp -t yujing-cmd-test.XXXXXX)"
# setsid: the lane is its own process group, so that an interrupted run
# stops the test binary and what it started, not only `go test`.
setsid "$GO" test -race -count=1 -timeout 25m ./cmd/yujing >"$log" 2>&1 &
bg=$!
trap 'kill -- -"$bg" 2>/dev/null || true; rm -f "$log"' EXIT
started=$SECONDS
echo "test: go test -race ./cmd/yujing runs in the background (its output follows the rest)"

fg=0
# Each step's failure fails the lane: inside `( … ) || fg=$?` bash ignores
# set -e, so the steps are chained with && (before, a failing go test or
# clockshift was hidden by a walk-through that passed).
(
	set -x
	"$GO" test -race -count=1 -timeout 20m $("$GO" list ./... | grep -v '/cmd/yujing$') &&
		"$MAKE" --no-print-directory clockshift &&
		scripts/walkthrough.sh
) || fg=$?
echo "test: the foreground lane ended after $((SECONDS - started)) s (status $fg); waiting for ./cmd/yujing"

bgrc=0
wait "$bg" || bgrc=$?
echo "== go test -race -count=1 ./cmd/yujing (ran in the background, $((SECONDS - started)) s)"
cat "$log"
trap - EXIT
rm -f "$log"
if [ "$fg" != 0 ] || [ "$bgrc" != 0 ]; then
	[ "$fg" = 0 ] || echo "test: FAILED in the foreground lane (status $fg): see above"
	[ "$bgrc" = 0 ] || echo "test: FAILED in ./cmd/yujing (status $bgrc): see its output above"
	exit 1
fi
echo "test: all passed in $((SECONDS - started)) s"
