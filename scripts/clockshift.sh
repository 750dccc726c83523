#!/usr/bin/env bash
# clockshift.sh runs Go tests with the wall clock moved ahead (a year by
# default), to catch tests that depend on today's date: a fixed timestamp
# that meets a real clock's max_age window, a certificate or token that
# expires, a "this year" that is hard-coded.
#
#   scripts/clockshift.sh [go test flags and packages]
#
# Linux cannot move CLOCK_REALTIME for one process, and Go reads the clock
# through the vDSO, so libfaketime does not reach it. Instead this script
# keeps a copy of the Go toolchain in which time.Now adds
# YUJING_CLOCK_SHIFT_SECONDS to the wall clock (the monotonic clock, and so
# every timer, duration and deadline, is unchanged) and runs `go test` with
# it. Everything the test binaries read from time.Now is shifted: the code
# under test and the tests alike, as on a machine whose date is a year on.
# Programs the tests start from outside Go's build (mosquitto, influxd,
# chromium) keep the real date.
set -euo pipefail
case "${GOTOOLCHAIN:-local}" in local) export GOTOOLCHAIN=go1.27.3 ;; esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."

YUJING_TOOLS="${YUJING_TOOLS:-$HOME/.cache/yujing-tools}"
SHIFT="${YUJING_CLOCK_SHIFT_SECONDS:-$((366 * 24 * 3600))}"
GO="${GO:-go}"

src="$("$GO" env GOROOT)"
version="$("$GO" env GOVERSION)"
goroot="$YUJING_TOOLS/goroot-clockshift-$version"
if [ ! -x "$goroot/bin/go" ] || [ ! -f "$goroot/src/time/zz_clockshift.go" ]; then
	echo "clockshift: copying $src to $goroot and patching time.Now"
	rm -rf "$goroot.tmp"
	mkdir -p "$YUJING_TOOLS"
	cp -a "$src" "$goroot.tmp"
	chmod -R u+w "$goroot.tmp"
	timego="$goroot.tmp/src/time/time.go"
	grep -q '^	sec, nsec, mono := runtimeNow()$' "$timego" || {
		echo "clockshift: time.Now of $version is not as expected; update this script" >&2
		exit 1
	}
	sed -i 's/^	sec, nsec, mono := runtimeNow()$/	sec, nsec, mono := runtimeNow()\n	sec += clockShift/' "$timego"
	cat >"$goroot.tmp/src/time/zz_clockshift.go" <<'GO'
package time

import "syscall"

// clockShift is added to the wall clock by Now: YUJING_CLOCK_SHIFT_SECONDS
// (whole seconds, may be negative). Added by yujing's scripts/clockshift.sh;
// not part of Go.
var clockShift = func() int64 {
	s, ok := syscall.Getenv("YUJING_CLOCK_SHIFT_SECONDS")
	if !ok {
		return 0
	}
	var n int64
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n
}()
GO
	mv "$goroot.tmp" "$goroot"
fi

export YUJING_CLOCK_SHIFT_SECONDS="$SHIFT"
export GOROOT="$goroot" GOTOOLCHAIN=local
shifted="$("$goroot/bin/go" run ./scripts/clockshift/now.go 2>/dev/null || true)"
echo "clockshift: time.Now in tests reads ${shifted:-?} (shifted ${SHIFT}s)"
exec "$goroot/bin/go" test "$@"
