#!/usr/bin/env bash
# test-deps.sh installs the external services the tests run against:
# mosquitto (+ clients), PostgreSQL 15 and chromium (+ a CJK font) from
# Debian's packages, and InfluxDB OSS 1.8.10 built with `go install`; the
# Alertmanager API's real clients: prometheus (Debian's package, 2.42) and
# amtool (`go install`); with YUJING_BENCH_DEPS=1, Alertmanager itself for
# the burst benchmark; and the tools scripts/check-deploy.sh checks
# deploy/ with: promtool, docker-compose, systemd-analyze, kubeconform and
# the Kubernetes API's schemas. It is idempotent: tools already present are
# only reported.
#
# YUJING_TOOLS (default $HOME/.cache/yujing-tools) receives influxd,
# prometheus, promtool, amtool, kubeconform and kubernetes-schemas/.
# The system mosquitto service is never left running: `yujing serve` embeds a
# broker on 127.0.0.1:1883 and tests start their own brokers on free ports.
# Nor is the PostgreSQL cluster that installing the package creates: tests
# (internal/testenv) run their own servers on free ports.
set -euo pipefail
# go.mod names Go 1.27.3: the go command fetches it from the module proxy.
case "${GOTOOLCHAIN:-local}" in local) export GOTOOLCHAIN=go1.27.3 ;; esac

YUJING_TOOLS="${YUJING_TOOLS:-$HOME/.cache/yujing-tools}"
INFLUXD_VERSION="v1.8.10"
KUBECONFORM_VERSION="v0.8.0"
# amtool, the Alertmanager client the Alertmanager API is tested with.
AMTOOL_VERSION="v0.35.0"
# The k8s.io/kubernetes module whose api/openapi-spec/swagger.json gives the
# schemas kubeconform checks deploy/kubernetes against.
KUBERNETES_VERSION="v1.37.2"
GO="${GO:-go}"

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "test-deps: need root (or sudo) to run: $*" >&2
		return 1
	fi
}

# find_mosquitto prints the path of the broker binary, which Debian installs in
# /usr/sbin (often not on a non-root PATH).
find_mosquitto() {
	command -v mosquitto 2>/dev/null || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; } || true
}

# pid_on_1883 prints the pid of the process listening on TCP port 1883, if any.
pid_on_1883() {
	if command -v ss >/dev/null 2>&1; then
		as_root ss -Hltnp 'sport = :1883' 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1
	fi
}

# stop_system_mosquitto stops the packaged service, which apt starts on
# 0.0.0.0:1883; port 1883 must stay free for the broker embedded in
# `yujing serve`. Brokers started by the tests listen on other ports and are
# left alone.
stop_system_mosquitto() {
	as_root systemctl stop mosquitto >/dev/null 2>&1 ||
		as_root service mosquitto stop >/dev/null 2>&1 || true
	as_root systemctl disable mosquitto >/dev/null 2>&1 ||
		as_root update-rc.d mosquitto disable >/dev/null 2>&1 || true
	local pid
	pid="$(pid_on_1883)"
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = mosquitto ]; then
		as_root kill "$pid" || true
	fi
}

# --- mosquitto ---------------------------------------------------------------
mosq="$(find_mosquitto)"
if [ -n "$mosq" ] && command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1; then
	state=found
else
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update
	as_root apt-get install -y --no-install-recommends mosquitto mosquitto-clients
	stop_system_mosquitto
	mosq="$(find_mosquitto)"
	state=installed
fi
if [ -z "$mosq" ]; then
	echo "test-deps: mosquitto not found after install" >&2
	exit 1
fi
# `mosquitto -h` prints "mosquitto version X" and exits non-zero.
mosq_version="$("$mosq" -h 2>&1 | sed -n 's/^mosquitto version //p' | head -n1 || true)"
echo "mosquitto: ${state} ${mosq} (version ${mosq_version:-unknown}); mosquitto_pub: $(command -v mosquitto_pub)"

# A broker left running on 1883 (by apt or by hand) would shadow the embedded one.
pid="$(pid_on_1883)"
if [ -n "$pid" ]; then
	comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
	if [ "$comm" = mosquitto ]; then
		echo "test-deps: stopping mosquitto (pid $pid) listening on port 1883"
		stop_system_mosquitto
	else
		echo "test-deps: warning: port 1883 is used by ${comm:-pid $pid}; yujing serve needs it" >&2
	fi
fi

# --- postgresql ----------------------------------------------------------------
# internal/testenv runs initdb and postgres from Debian's postgresql-15 (the
# version issue 16 names). Installing the package also creates and starts a
# cluster "main" on port 5432; it is stopped and set to manual start, so that
# nothing of it keeps running: the tests start their own servers.
PG_BIN=/usr/lib/postgresql/15/bin

# stop_packaged_postgres stops the cluster the package just created and keeps
# it from starting at boot (start.conf "manual" holds whatever the init
# system; the service is disabled too where systemd or sysv-rc manage it).
stop_packaged_postgres() {
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql/15/main ]; then
		as_root pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
		echo manual | as_root tee /etc/postgresql/15/main/start.conf >/dev/null
	fi
	as_root systemctl stop postgresql >/dev/null 2>&1 ||
		as_root service postgresql stop >/dev/null 2>&1 || true
	as_root systemctl disable postgresql >/dev/null 2>&1 ||
		as_root update-rc.d postgresql disable >/dev/null 2>&1 || true
}

if [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/postgres" ]; then
	state=found
else
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update
	as_root apt-get install -y --no-install-recommends postgresql-15
	stop_packaged_postgres
	state=installed
fi
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/postgres" ]; then
	echo "test-deps: PostgreSQL 15 not found in $PG_BIN after install" >&2
	exit 1
fi
# PostgreSQL refuses to run as root; run as root, the tests run it as the
# "postgres" user, which the package creates.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
	echo "test-deps: no \"postgres\" user; the tests run PostgreSQL as that user when run as root" >&2
	exit 1
fi
echo "postgresql: ${state} ${PG_BIN} ($("$PG_BIN/postgres" --version))"

# --- chromium ----------------------------------------------------------------
# The console's browser tests (cmd/yujing/console_test.go) drive Debian's
# chromium headless; a CJK font makes their screenshots show the Chinese text.
chromium="$(command -v chromium || command -v chromium-browser || true)"
if [ -n "$chromium" ] && fc-list :lang=zh 2>/dev/null | grep -q .; then
	state=found
else
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update
	as_root apt-get install -y --no-install-recommends chromium fonts-wqy-microhei
	chromium="$(command -v chromium || true)"
	state=installed
fi
if [ -z "$chromium" ]; then
	echo "test-deps: chromium not found after install" >&2
	exit 1
fi
# The Debian launcher script warns on stderr about its own checks; the
# version line is the last one.
chromium_version="$("$chromium" --version 2>/dev/null | tail -n1 || true)"
echo "chromium: ${state} ${chromium} (${chromium_version:-version unknown})"

# --- promtool, prometheus -----------------------------------------------------
# scripts/check-deploy.sh checks the Prometheus rules and configuration with
# promtool from Debian's prometheus package; cmd/yujing's
# TestPrometheusAlertsCallThroughYujing runs its prometheus server, whose
# alerting rule fires into yujing's Alertmanager API. Only the two binaries
# are taken (apt-get download + dpkg -x into YUJING_TOOLS): installing the
# package would start a Prometheus server on this machine.
promtool="$(command -v promtool || true)"
if [ -z "$promtool" ] && [ -x "$YUJING_TOOLS/promtool" ]; then
	promtool="$YUJING_TOOLS/promtool"
fi
prometheus="$YUJING_TOOLS/prometheus"
if [ -n "$promtool" ] && [ -x "$prometheus" ]; then
	state=found
else
	mkdir -p "$YUJING_TOOLS"
	debdir="$(mktemp -d)"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update
	(cd "$debdir" && apt-get download prometheus)
	dpkg -x "$debdir"/prometheus_*.deb "$debdir/x"
	if [ -z "$promtool" ]; then
		cp "$debdir/x/usr/bin/promtool" "$YUJING_TOOLS/promtool"
		promtool="$YUJING_TOOLS/promtool"
	fi
	cp "$debdir/x/usr/bin/prometheus" "$prometheus"
	rm -rf "$debdir"
	state=installed
fi
echo "promtool: ${state} ${promtool} ($("$promtool" --version 2>&1 | head -n1))"
echo "prometheus: ${state} ${prometheus} ($("$prometheus" --version 2>&1 | head -n1))"

# --- amtool --------------------------------------------------------------------
# cmd/yujing's TestAmtoolAlertAdd runs `amtool alert add` and `amtool alert
# query` against yujing's Alertmanager API.
mkdir -p "$YUJING_TOOLS"
amtool="$YUJING_TOOLS/amtool"
have="$("$GO" version -m "$amtool" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/prometheus/alertmanager" {print $3}' || true)"
if [ "$have" = "$AMTOOL_VERSION" ]; then
	state=found
else
	# Outside the module, so that nothing is added to go.mod.
	(cd "$(mktemp -d)" && GOBIN="$YUJING_TOOLS" "$GO" install "github.com/prometheus/alertmanager/cmd/amtool@${AMTOOL_VERSION}")
	state=installed
fi
echo "amtool: ${state} ${amtool} (${AMTOOL_VERSION})"

# --- alertmanager (make bench only) --------------------------------------------
# cmd/yujing's BenchmarkBurstDispatch sends the same burst through
# Alertmanager as through yujing. Only with YUJING_BENCH_DEPS=1 (make bench
# sets it), so that make test spends no time on it. `go install` cannot
# build it: the module's ui package embeds app/dist, the web UI's build
# output, which the module zip leaves out. It is built from the module's
# source with empty pages in its place (the benchmark uses the API only).
ALERTMANAGER_VERSION="v0.35.0"
if [ "${YUJING_BENCH_DEPS:-}" = 1 ]; then
	mkdir -p "$YUJING_TOOLS"
	alertmanager="$YUJING_TOOLS/alertmanager"
	if "$alertmanager" --version 2>/dev/null | grep -q "version ${ALERTMANAGER_VERSION#v} "; then
		state=found
	else
		work="$(mktemp -d)"
		json="$(cd "$work" && "$GO" mod download -json "github.com/prometheus/alertmanager@${ALERTMANAGER_VERSION}")" || { echo "$json" >&2; exit 1; }
		dir="$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")"
		cp -r "$dir" "$work/am"
		chmod -R u+w "$work/am"
		for ui in elm mantine; do
			mkdir -p "$work/am/ui/app/dist/$ui"
			echo '<!doctype html><title>Alertmanager</title>web UI not built' >"$work/am/ui/app/dist/$ui/index.html"
		done
		(cd "$work/am" && "$GO" build -o "$alertmanager" \
			-ldflags "-X github.com/prometheus/common/version.Version=${ALERTMANAGER_VERSION#v}" ./cmd/alertmanager)
		rm -rf "$work"
		state=installed
	fi
	echo "alertmanager: ${state} ${alertmanager} (${ALERTMANAGER_VERSION})"
fi

# --- curl, jq ---------------------------------------------------------------
# scripts/walkthrough.sh runs the README's walk-through, which uses them.
if command -v curl >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; then
	state=found
else
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update
	as_root apt-get install -y --no-install-recommends curl jq
	state=installed
fi
echo "curl, jq: ${state} ($(jq --version 2>&1))"

# --- docker-compose ----------------------------------------------------------
# scripts/check-deploy.sh parses deploy/compose/docker-compose.yml with
# `docker compose config` or, without the plugin, Debian's docker-compose
# (parsing needs no Docker engine).
if command -v docker-compose >/dev/null 2>&1 || { command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; }; then
	state=found
else
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update
	as_root apt-get install -y --no-install-recommends docker-compose
	state=installed
fi
echo "docker-compose: ${state}"

# --- systemd-analyze -----------------------------------------------------------
# scripts/check-deploy.sh verifies deploy/systemd/yujing.service with it.
# Installing the package does not make systemd PID 1 in a container.
if command -v systemd-analyze >/dev/null 2>&1; then
	state=found
else
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update
	as_root apt-get install -y --no-install-recommends systemd
	state=installed
fi
echo "systemd-analyze: ${state} ($(systemd-analyze --version | head -n1))"

# --- kubeconform and the Kubernetes schemas -------------------------------------
# scripts/check-deploy.sh validates deploy/kubernetes with kubeconform -strict.
# kubeconform downloads its schemas from GitHub by default, which is not
# reachable here; scripts/k8sschema makes the same kind of schemas from the
# OpenAPI document of the Kubernetes API in the k8s.io/kubernetes module.
mkdir -p "$YUJING_TOOLS"
kubeconform="$YUJING_TOOLS/kubeconform"
have="$("$GO" version -m "$kubeconform" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/yannh/kubeconform" {print $3}' || true)"
if [ "$have" = "$KUBECONFORM_VERSION" ]; then
	state=found
else
	GOBIN="$YUJING_TOOLS" "$GO" install "github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}"
	state=installed
fi
echo "kubeconform: ${state} ${kubeconform} (${KUBECONFORM_VERSION})"

schemas="$YUJING_TOOLS/kubernetes-schemas"
if [ "$(cat "$schemas/VERSION" 2>/dev/null || true)" = "$KUBERNETES_VERSION" ]; then
	state=found
else
	work="$(mktemp -d)"
	# Outside the module, so that nothing is added to go.mod.
	json="$(cd "$work" && "$GO" mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}")" || { echo "$json" >&2; exit 1; }
	dir="$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")"
	(cd "$(dirname "$0")/.." && "$GO" build -o "$work/k8sschema" ./scripts/k8sschema)
	"$work/k8sschema" -out "$work/schemas" "$dir/api/openapi-spec/swagger.json"
	echo "$KUBERNETES_VERSION" >"$work/schemas/VERSION"
	rm -rf "$schemas"
	mv "$work/schemas" "$schemas"
	rm -rf "$work"
	state=installed
fi
echo "kubernetes schemas: ${state} ${schemas} (k8s.io/kubernetes ${KUBERNETES_VERSION})"

# --- influxd -----------------------------------------------------------------
influxd="$YUJING_TOOLS/influxd"
if [ -x "$influxd" ]; then
	state=found
else
	if ! command -v go >/dev/null 2>&1; then
		echo "test-deps: go is needed to build influxd" >&2
		exit 1
	fi
	mkdir -p "$YUJING_TOOLS"
	echo "test-deps: building influxd ${INFLUXD_VERSION} into ${YUJING_TOOLS} (takes a few minutes)"
	GOBIN="$YUJING_TOOLS" nice go install "github.com/influxdata/influxdb/cmd/influxd@${INFLUXD_VERSION}"
	state=installed
fi
# influxd built by `go install` reports "vunknown"; the module version is in the build info.
influxd_version="$(go version -m "$influxd" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/influxdata/influxdb" {print $3}' || true)"
echo "influxd: ${state} ${influxd} (version ${influxd_version:-unknown})"
