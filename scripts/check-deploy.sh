#!/usr/bin/env bash
# check-deploy.sh validates the files under deploy/, as shipped (no edited
# copies), with the real tools when they are installed, and says which ones
# are missing ("skipped: …"); scripts/test-deps.sh installs them:
#   - every YAML file parses (PyYAML, else scripts/yamlcheck), every JSON file too
#   - `yujing check` on the yujing.yaml of deploy/compose and of the
#     ConfigMap (with the Secret yujing-state's url at its state.url_file)
#   - go test ./deploy: the Kubernetes ports match what the ConfigMap's
#     configuration listens on; the PodDisruptionBudget lets a drain evict
#     one of the cluster's pods and leaves two; the ConfigMap's cluster
#     state comes from the Secret the pods mount, each pod has its own
#     spool volume; the Dockerfile's Go is as new as go.mod's
#   - kubeconform -strict against the Kubernetes API's own schemas
#     ($YUJING_TOOLS/kubernetes-schemas, made by scripts/k8sschema)
#   - promtool check config / rules, test rules (Debian package prometheus)
#   - deploy/systemd/install.sh into a scratch root; the installed unit
#     through systemd-analyze verify (systemd), the installed configuration
#     read by a uid that owns nothing, as the unit's DynamicUser
#   - docker-compose config (Debian's 1.29) and/or docker compose config
#     (v2), and the project name both take from deploy/compose/.env
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
dummies=(INFLUX_TOKEN=dummy PGPASSWORD=dummy MQTT_USERNAME=dummy MQTT_PASSWORD=dummy
	WEBHOOK_URL=http://127.0.0.1:9/hook WEBHOOK_SECRET=dummy)
env "${dummies[@]}" "$tmp/yujing" check -config deploy/compose/yujing.yaml
# The ConfigMap's state.url_file is where the pods mount the Secret
# yujing-state (go test ./deploy checks that they agree): put that Secret's
# url there, in a private mount namespace with a tmpfs over the file's
# top directory, and check the configuration unedited.
url_file="$(sed -n 's/^ *url_file: *//p' "$tmp/k8s-yujing.yaml")"
state_url="$(sed -n 's/^  url: *//p' deploy/kubernetes/secret.yaml)"
[ -n "$url_file" ] && [ -n "$state_url" ] ||
	{ say "no state.url_file in the ConfigMap or no url in the Secret yujing-state"; exit 1; }
top="/$(cut -d/ -f2 <<<"$url_file")"
ns=(unshare --mount --propagation private)
[ "$(id -u)" -eq 0 ] || ns=(unshare --mount --map-root-user --propagation private)
if "${ns[@]}" true 2>/dev/null; then
	env "${dummies[@]}" "${ns[@]}" sh -c 'mount -t tmpfs tmpfs "$1" && mkdir -p "$(dirname "$2")" &&
		printf "%s\n" "$3" >"$2" && exec "$4" check -config "$5"' _ \
		"$top" "$url_file" "$state_url" "$tmp/yujing" "$tmp/k8s-yujing.yaml"
else
	# No mount namespace here: check a copy that reads the url elsewhere.
	printf '%s\n' "$state_url" >"$tmp/state-url"
	sed "s#url_file: *$url_file#url_file: $tmp/state-url#" "$tmp/k8s-yujing.yaml" >"$tmp/k8s-yujing-copy.yaml"
	env "${dummies[@]}" "$tmp/yujing" check -config "$tmp/k8s-yujing-copy.yaml"
	say "the ConfigMap checked with state.url_file moved to $tmp/state-url (unshare refused a mount namespace)"
fi

# --- what the deployment files promise each other ---------------------------
"$GO" test -count=1 ./deploy/
say "Kubernetes ports, PodDisruptionBudget, Dockerfile's Go ok (go test ./deploy)"

# --- kubeconform ---------------------------------------------------------------
# YUJING_TOOLS is where scripts/test-deps.sh puts kubeconform and the schemas.
YUJING_TOOLS="${YUJING_TOOLS:-$HOME/.cache/yujing-tools}"
kubeconform="$(command -v kubeconform || echo "$YUJING_TOOLS/kubeconform")"
schemas="$YUJING_TOOLS/kubernetes-schemas"
if [ -x "$kubeconform" ] && [ -f "$schemas/VERSION" ]; then
	"$kubeconform" -strict -summary \
		-schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
		deploy/kubernetes/
	say "Kubernetes manifests ok (kubeconform -strict, schemas of k8s.io/kubernetes $(cat "$schemas/VERSION"))"
else
	skip kubeconform "scripts/test-deps.sh installs it and the schemas into $YUJING_TOOLS"
fi

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

# --- systemd -------------------------------------------------------------------
# Installed by deploy/systemd/install.sh into a scratch root, then checked
# there as installed.
root="$tmp/root"
chmod 0755 "$tmp" # the unprivileged uid below must reach into it
DESTDIR="$root" deploy/systemd/install.sh "$tmp/yujing" deploy/compose/yujing.yaml
cmp deploy/systemd/yujing.service "$root/etc/systemd/system/yujing.service"

# DynamicUser=yes runs yujing as a uid allocated at start (from 61184 up)
# that owns no file and is in no group: it must read the configuration.
if [ "$(id -u)" -eq 0 ]; then
	if ! setpriv --reuid=61184 --regid=61184 --clear-groups --no-new-privs \
		env -i INFLUX_TOKEN=dummy PGPASSWORD=dummy "$root/usr/local/bin/yujing" check -config "$root/etc/yujing/yujing.yaml"; then
		say "the service's DynamicUser cannot read the configuration as deploy/systemd/install.sh installs it"
		exit 1
	fi
	say "systemd: a uid that owns nothing reads /etc/yujing/yujing.yaml as installed"
else
	say "skipped: the DynamicUser read check (needs root to switch to an unprivileged uid)"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify checks that ExecStart's /usr/local/bin/yujing exists: in a
	# private mount namespace the scratch root's /usr/local/bin is bound there.
	ns=(unshare --mount --propagation private)
	[ "$(id -u)" -eq 0 ] || ns=(unshare --mount --map-root-user --propagation private)
	out="$("${ns[@]}" sh -c 'mount --bind "$1/usr/local/bin" /usr/local/bin && exec systemd-analyze verify "$1/etc/systemd/system/yujing.service"' _ "$root" 2>&1)" ||
		{ echo "$out"; say "systemd-analyze verify failed"; exit 1; }
	# Without systemd as PID 1 (containers) it still parses the unit; print what it said.
	[ -z "$out" ] || echo "$out"
	if grep -qiE 'unknown (key|section)|invalid|failed to parse|ignoring' <<<"$out"; then
		say "systemd-analyze found problems in deploy/systemd/yujing.service"
		exit 1
	fi
	say "systemd unit ok (systemd-analyze verify, as installed)"
else
	skip systemd-analyze "Debian package systemd"
fi

# --- docker compose ------------------------------------------------------------
# The file as shipped, with each Compose there is: Debian's docker-compose
# (1.29) and Compose v2 (the docker plugin, or a v2 docker-compose). Parsing
# needs no Docker engine. Both must take the project name from .env.
compose=deploy/compose/docker-compose.yml
checked=0
# compose_v2 COMMAND…: `config` prints the model with the project's name first.
compose_v2() {
	local cfg
	cfg="$(env -u COMPOSE_PROJECT_NAME "$@" -f "$compose" config)" ||
		{ say "$* config refused $compose"; exit 1; }
	if [ "$(head -n1 <<<"$cfg")" != "name: yujing" ]; then
		say "$* config: project name $(head -n1 <<<"$cfg"), want yujing (deploy/compose/.env)"
		exit 1
	fi
	say "compose file ok ($* config, $("$@" version --short 2>/dev/null), project yujing)"
	checked=$((checked + 1))
}
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
	compose_v2 docker compose
fi
if command -v docker-compose >/dev/null 2>&1; then
	version="$(docker-compose version --short)"
	case "$version" in
	1.*)
		env -u COMPOSE_PROJECT_NAME docker-compose -f "$compose" config -q ||
			{ say "docker-compose $version config refused $compose"; exit 1; }
		# 1.29's config prints no project name: ask its own code, run by
		# the Python its launcher names, what it makes of the directory.
		py="$(sed -n '1s/^#! *//p' "$(command -v docker-compose)")"
		name="$(cd deploy/compose && env -u COMPOSE_PROJECT_NAME "$py" -c '
from compose.cli.command import get_project_name
from compose.config.environment import Environment
print(get_project_name(".", None, Environment.from_env_file(".")))')"
		if [ "$name" != yujing ]; then
			say "docker-compose $version: project name $name, want yujing (deploy/compose/.env)"
			exit 1
		fi
		say "compose file ok (docker-compose $version config, project yujing)"
		checked=$((checked + 1))
		;;
	*) compose_v2 docker-compose ;;
	esac
fi
[ "$checked" -gt 0 ] || skip "docker compose" "Debian package docker-compose, or docker with the compose plugin"
say "ok"
