#!/usr/bin/env bash
# walkthrough.sh runs the README's "Try it" walk-through exactly as written,
# in a copy of the working tree with no data directory, and checks what it
# promises: every command succeeds, the warning is answered through its link
# and closed, the log has no error, and Ctrl-C stops yujing within 2 s.
#
# The README marks the code blocks to run with an HTML comment on the line
# before each (invisible when the README is shown):
#
#   <!-- walkthrough -->              the second terminal: run in order, in
#                                     one shell (variables carry over)
#   <!-- walkthrough: background -->  the first terminal: started in the
#                                     background; the blocks after it run once
#                                     yujing answers on 127.0.0.1:8080
#
# Needs ports 1883 and 8080 free, and mosquitto_pub, curl and jq
# (scripts/test-deps.sh installs them).
set -euo pipefail
case "${GOTOOLCHAIN:-local}" in local) export GOTOOLCHAIN=go1.27.3 ;; esac
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

for tool in mosquitto_pub curl jq git tar; do
	command -v "$tool" >/dev/null || { echo "walkthrough: $tool is needed" >&2; exit 1; }
done
for port in 1883 8080; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "walkthrough: port $port is in use; the walk-through's yujing needs it" >&2
		exit 1
	fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A copy of the working tree as a user has it: tracked files and untracked
# ones that are not ignored (so no data/ and no bin/).
(cd "$top" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) | tar -xf - -C "$work"

# The driver: the marked blocks in order; the background block becomes a
# call of start_serve. The blocks themselves are copied unchanged.
driver="$work/.walkthrough-driver.sh"
awk '
	BEGIN { n = 0 }
	/^## Try it/ { on = 1; next }
	on && /^## / { on = 0 }
	!on { next }
	/^<!-- walkthrough(: background)? -->$/ { mark = ($0 ~ /background/) ? "bg" : "fg"; next }
	mark != "" && /^```sh$/ { inblock = mark; mark = ""; n++; if (inblock == "bg") bg++; next }
	inblock != "" && /^```$/ { inblock = ""; next }
	inblock == "bg" { printf "start_serve %s\n", $0; next }
	inblock == "fg" { print; next }
	{ mark = "" }
	END { if (n < 3 || bg != 1) { printf "walkthrough: %d marked blocks, %d in the background; want several, one in the background\n", n, bg > "/dev/stderr"; exit 1 } }
' "$top/README.md" >"$driver.blocks"

cat >"$driver" <<'EOF'
set -euo pipefail
# start_serve runs the first terminal's command in the background and waits
# until yujing answers.
start_serve() {
	setsid "$@" >serve.log 2>&1 &
	echo $! >serve.pid
	for _ in $(seq 1 600); do
		if curl -s -o /dev/null http://127.0.0.1:8080/healthz; then return 0; fi
		kill -0 "$(cat serve.pid)" 2>/dev/null || break
		sleep 0.2
	done
	echo "walkthrough: yujing did not come up; its log:" >&2
	cat serve.log >&2
	return 1
}
set -x
EOF
cat "$driver.blocks" >>"$driver"
cat >>"$driver" <<'EOF'
set +x
# What the walk-through promised.
detail=$(api "localhost:8080/api/v1/alerts/$ALERT")
state=$(jq -r .state <<<"$detail")
esc=$(jq -r '[.escalations[] | select(.state == "answered")] | length' <<<"$detail")
via=$(jq -r '[.escalations[] | select(.state == "answered")][0].answer_channel' <<<"$detail")
if [ "$state" != closed ] || [ "$esc" -lt 1 ] || [ "$via" != link ]; then
	echo "walkthrough: warning $ALERT ended $state with $esc escalations answered (through $via); want closed, answered through the link" >&2
	exit 1
fi
echo "walkthrough: warning $ALERT closed, its escalation answered through the link"
EOF

cd "$work"
echo "walkthrough: running the README's Try it blocks in $work"
status=0
bash "$driver" || status=$?
if [ -f serve.pid ]; then
	pid=$(cat serve.pid)
	if kill -0 "$pid" 2>/dev/null; then
		# Ctrl-C: SIGINT to the first terminal's process group. The
		# driver that started yujing has exited, so the process is
		# reaped by PID 1, which here can take a second or two: a zombie
		# counts as stopped (kill -0 would still find it).
		running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
		start=$(date +%s%N)
		kill -INT -- "-$pid"
		for _ in $(seq 1 500); do running "$pid" || break; sleep 0.01; done
		took=$((($(date +%s%N) - start) / 1000000))
		if running "$pid"; then
			echo "walkthrough: yujing still running 5 s after Ctrl-C" >&2
			kill -KILL -- "-$pid" || true
			status=1
		elif [ "$took" -gt 2000 ]; then
			echo "walkthrough: Ctrl-C took ${took} ms, want at most 2 s" >&2
			status=1
		else
			echo "walkthrough: Ctrl-C stopped yujing in ${took} ms"
		fi
	fi
	# Allowed: the first start's admin password, and the demo's log channel,
	# which writes every call at Warn (it stands in for a phone).
	if grep -E 'level=(ERROR|WARN)' serve.log | grep -vE 'msg="(first start: created user admin|warning call)'; then
		echo "walkthrough: yujing logged the warnings or errors above" >&2
		status=1
	fi
	if [ "$status" -ne 0 ]; then
		echo "walkthrough: yujing's log:" >&2
		cat serve.log >&2
	fi
fi
exit "$status"
