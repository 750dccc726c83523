#!/usr/bin/env bash
# vulncheck.sh runs govulncheck on the module (./...) against the Go
# vulnerability database taken from the module proxy, so it needs no access
# to vuln.go.dev:
#   - golang.org/x/vulndb (a module) carries the database's OSV entries in
#     data/osv/; its cmd/indexdb writes them out in the layout govulncheck
#     reads with -db file://… (index/db.json, index/modules.json,
#     index/vulns.json, ID/<id>.json). The result is kept in
#     $YUJING_TOOLS/vulndb/<version> and made again when VULNDB_VERSION
#     changes.
#   - govulncheck (golang.org/x/vuln) is installed into $YUJING_TOOLS.
# To take newer entries, raise VULNDB_VERSION to the newest pseudo-version:
#   go list -m -json golang.org/x/vulndb@master
# govulncheck exits 3 when the code calls a vulnerable function; the
# database's own entries carry no dates ("DB updated: 0001-01-01"): its
# age is the date in VULNDB_VERSION.
set -euo pipefail
# go.mod names Go 1.27.3: the go command fetches it from the module proxy.
case "${GOTOOLCHAIN:-local}" in local) export GOTOOLCHAIN=go1.27.3 ;; esac

# The versions, here and nowhere else.
GOVULNCHECK_VERSION="v1.9.0"
VULNDB_VERSION="v0.0.0-20261105234957-e22db6528018"

cd "$(dirname "$0")/.."
GO="${GO:-go}"
YUJING_TOOLS="${YUJING_TOOLS:-$HOME/.cache/yujing-tools}"
say() { echo "vulncheck: $*"; }
start=$SECONDS
mkdir -p "$YUJING_TOOLS/vulndb"

# --- govulncheck ---------------------------------------------------------------
govulncheck="$YUJING_TOOLS/govulncheck"
have="$("$GO" version -m "$govulncheck" 2>/dev/null | awk '$1 == "mod" && $2 == "golang.org/x/vuln" {print $3}' || true)"
if [ "$have" != "$GOVULNCHECK_VERSION" ]; then
	say "installing govulncheck ${GOVULNCHECK_VERSION} into ${YUJING_TOOLS}"
	GOBIN="$YUJING_TOOLS" "$GO" install "golang.org/x/vuln/cmd/govulncheck@${GOVULNCHECK_VERSION}"
fi

# --- the database ----------------------------------------------------------------
db="$YUJING_TOOLS/vulndb/$VULNDB_VERSION"
if [ ! -f "$db/index/modules.json" ]; then
	say "making the database from golang.org/x/vulndb@${VULNDB_VERSION}"
	build="$(mktemp -d "$YUJING_TOOLS/vulndb/.build.XXXXXX")"
	trap 'rm -rf "$build"' EXIT
	# Outside the module, so that nothing is added to go.mod.
	json="$(cd "$build" && "$GO" mod download -json "golang.org/x/vulndb@${VULNDB_VERSION}")" || { echo "$json"; exit 1; }
	dir="$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")"
	if [ ! -d "$dir/data/osv" ]; then
		say "golang.org/x/vulndb@${VULNDB_VERSION} has no data/osv (module in '${dir}')"
		exit 1
	fi
	(cd "$build" && GOBIN="$build/bin" "$GO" install "golang.org/x/vulndb/cmd/indexdb@${VULNDB_VERSION}")
	"$build/bin/indexdb" -vulns "$dir/data/osv" -out "$build/db"
	rm -rf "$db"
	mv "$build/db" "$db"
	rm -rf "$build"
	trap - EXIT
fi
# Databases of other versions are no longer used.
find "$YUJING_TOOLS/vulndb" -mindepth 1 -maxdepth 1 ! -name "$VULNDB_VERSION" ! -name '.build.*' -exec rm -rf {} +

# The database answers for an entry it must have (GO-2021-0113:
# golang.org/x/text before v0.3.7), so that an empty or unreadable one
# cannot pass for "no vulnerabilities".
known="$("$govulncheck" -mode query -format json -db "file://$db" golang.org/x/text@v0.3.5)"
if ! grep -q '"id": "GO-2021-0113"' <<<"$known"; then
	say "the database in $db does not list GO-2021-0113 for golang.org/x/text@v0.3.5: remove it to have it made again"
	exit 1
fi
entries="$(find "$db/ID" -name '*.json' | wc -l)"
say "govulncheck ${GOVULNCHECK_VERSION}, $("$GO" env GOVERSION), database golang.org/x/vulndb@${VULNDB_VERSION} (${entries} entries)"

# --- the check -------------------------------------------------------------------
"$govulncheck" -db "file://$db" ./...
say "ok ($((SECONDS - start))s)"
