#!/usr/bin/env bash
# check-deploy.sh validates the files under deploy/ with the real tools when
# they are installed, and says which ones are missing ("skipped: …"):
#   - every YAML file parses (PyYAML, else scripts/yamlcheck), every JSON file too
#   - `yujing check` on the yujing.yaml of deploy/compose and of the ConfigMap
#   - promtool check config / rules, test rules (Debian package prometheus)
#   - systemd-analyze verify of the unit      (systemd)
#   - docker compose config -q                (docker with the compose plugin)
# It installs nothing. Run from anywhere; exits non-zero on the first failure.
set -euo pipefail
# go.mod names Go 1.27.3: the go command fetches it from the module proxy.
case "${GOTOOLCHAIN:-local}" in local) export GOTOOLCHAIN=go1.27.3 ;; esac

cd "$(dirname "$0")/.."
GO="${GO:-go}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say() { echo "check-deploy: $*"; }
skip() { say "skipped: $1 not installed${2:+ ($2)}"; }

mapfile -t yamls < <(find deploy -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
mapfile -t jsons < <(find deploy -type f -name '*.json' | sort)

# --- well-formedness ---------------------------------------------------------
for f in "${jsons[@]}"; do
	python3 -m json.tool "$f" >/dev/null || { say "invalid JSON: $f"; exit 1; }
done
say "JSON ok: ${#jsons[@]} files"

"$GO" build -o "$tmp/yamlcheck" ./scripts/yamlcheck
if python3 -c 'import yaml' 2>/dev/null; then
	python3 - "${yamls[@]}" <<'PY'
import sys, yaml
for p in sys.argv[1:]:
    with open(p, encoding="utf-8") as f:
        list(yaml.safe_load_all(f))
PY
	say "YAML ok (PyYAML): ${#yamls[@]} files"
fi
"$tmp/yamlcheck" "${yamls[@]}"
say "YAML ok (gopkg.in/yaml.v3): ${#yamls[@]} files"

# --- yujing's own configuration check ----------------------------------------
"$GO" build -o "$tmp/yujing" ./cmd/yujing
"$tmp/yamlcheck" -configmap-key yujing.yaml deploy/kubernetes/configmap.yaml >"$tmp/k8s-yujing.yaml"
# Dummy values for the ${VAR}s the files take from the environment / Secret.
env INFLUX_TOKEN=dummy MQTT_USERNAME=dummy MQTT_PASSWORD=dummy \
	WEBHOOK_URL=http://127.0.0.1:9/hook WEBHOOK_SECRET=dummy \
	bash -c '"$1" check -config deploy/compose/yujing.yaml && "$1" check -config "$2"' _ "$tmp/yujing" "$tmp/k8s-yujing.yaml"

# --- promtool ----------------------------------------------------------------
if command -v promtool >/dev/null 2>&1; then
	promtool check rules deploy/prometheus/rules.yml
	promtool test rules deploy/prometheus/rules_test.yml
	# prometheus.yml names the rules at their path inside the container.
	sed 's#/etc/prometheus/rules.yml#rules.yml#' deploy/prometheus/prometheus.yml >"$tmp/prometheus.yml"
	cp deploy/prometheus/rules.yml "$tmp/rules.yml"
	promtool check config "$tmp/prometheus.yml"
else
	skip promtool "Debian package prometheus"
fi

# --- systemd -----------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify checks that ExecStart's binary exists: point it at the one just built.
	sed "s#/usr/local/bin/yujing#$tmp/yujing#" deploy/systemd/yujing.service >"$tmp/yujing.service"
	out="$(systemd-analyze verify "$tmp/yujing.service" 2>&1)" || { echo "$out"; say "systemd-analyze verify failed"; exit 1; }
	# Without systemd as PID 1 (containers) it still parses the unit; print what it said.
	[ -z "$out" ] || echo "$out"
	if grep -qiE 'unknown (key|section)|invalid|failed to parse|ignoring' <<<"$out"; then
		say "systemd-analyze found problems in deploy/systemd/yujing.service"
		exit 1
	fi
	say "systemd unit ok (systemd-analyze verify)"
else
	skip systemd-analyze
fi

# --- docker compose ----------------------------------------------------------
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
	docker compose -f deploy/compose/docker-compose.yml config -q
	say "compose file ok (docker compose config)"
elif command -v docker-compose >/dev/null 2>&1; then
	# Debian's docker-compose 1.29 predates the top-level `name:` of the
	# Compose Specification; it checks everything else. The copy sits beside
	# the original so that its relative paths resolve the same.
	dc="deploy/compose/.check-compose.yml"
	sed 's/^name: .*$/version: "3.8"/' deploy/compose/docker-compose.yml >"$dc"
	trap 'rm -rf "$tmp" "$dc"' EXIT
	docker-compose -f "$dc" config -q || { rm -f "$dc"; say "docker-compose config refused deploy/compose/docker-compose.yml"; exit 1; }
	rm -f "$dc"
	say "compose file ok (docker-compose config)"
else
	skip "docker compose" "docker client without the compose plugin"
fi
say "ok"
