#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the packages given for FUZZTIME each.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-input, on a loaded
# machine (golang/go#75804, fixed in Go 1.27): nothing was found and no
# failing input was written. Such a run is tried once more; a real finding
# (a failing input written, a panic, a t.Error) fails at once.
set -euo pipefail
# go.mod names Go 1.27.3: the go command fetches it from the module proxy.
case "${GOTOOLCHAIN:-local}" in local) export GOTOOLCHAIN=go1.27.3 ;; esac
GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-5s}"
# FUZZPARALLEL: fuzz workers per target (go test -parallel); empty: one per
# core. make test sets 1, its other lane keeping the other core busy.
parallel=()
[ -z "${FUZZPARALLEL:-}" ] || parallel=(-parallel "$FUZZPARALLEL")
# The targets are read from the test files (func FuzzX(f *testing.F)), not
# with `go test -list`, which builds every package's test binary.
"$GO" list -f '{{.ImportPath}} {{.Dir}}' "$@" | while read -r pkg dir; do
	targets="$(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*\*testing\.F).*/\1/p' || true)"
	for target in $targets; do
		for try in 1 2; do
			echo "== $pkg $target ($FUZZTIME)"
			log="$(mktemp)"
			if "$GO" test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "$pkg" </dev/null 2>&1 | tee "$log"; then
				rm -f "$log"
				break
			fi
			if [ "$try" = 1 ] && grep -q 'context deadline exceeded' "$log" &&
				! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"; then
				echo "fuzz: $target stopped on Go's fuzztime deadline race (golang/go#75804), nothing found; once more"
				rm -f "$log"
				continue
			fi
			rm -f "$log"
			exit 1
		done
	done
done
