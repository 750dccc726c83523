#!/bin/sh
# install.sh installs yujing as the systemd service of yujing.service. As
# root, from the repository root:
#
#   make build && deploy/systemd/install.sh bin/yujing my-yujing.yaml
#   $EDITOR /etc/yujing/yujing.env      # values of the ${VAR}s in the configuration
#   systemctl enable --now yujing
#
# DESTDIR=DIR installs under DIR instead and leaves systemd alone
# (scripts/check-deploy.sh checks the result that way).
#
# What goes where, and why:
#   /usr/local/bin/yujing          0755
#   /etc/yujing/yujing.yaml        0644 root:root. The service runs as a
#       DynamicUser: a uid allocated at each start that owns no file and is
#       in no group, so the configuration must be world-readable. Keep
#       secrets out of it: write ${VAR} and put the value in yujing.env.
#       An existing file is kept (not overwritten, its mode not changed).
#   /etc/yujing/yujing.env         0600 root:root, created empty if missing.
#       systemd reads it as root (EnvironmentFile=) and hands the variables
#       to the service; the service itself cannot read the file.
#   /etc/systemd/system/yujing.service  0644
set -eu

if [ "$#" -ne 2 ]; then
	echo "usage: [DESTDIR=DIR] $0 BINARY CONFIG" >&2
	exit 2
fi
bin=$1
config=$2
root=${DESTDIR:-}
unit="$(dirname "$0")/yujing.service"

install -D -m 0755 "$bin" "$root/usr/local/bin/yujing"

install -d -m 0755 "$root/etc/yujing"
if [ -e "$root/etc/yujing/yujing.yaml" ]; then
	echo "install.sh: kept the existing $root/etc/yujing/yujing.yaml"
	# The dynamic user reads it as "others".
	if [ -z "$(find "$root/etc/yujing/yujing.yaml" -perm -o=r)" ]; then
		echo "install.sh: warning: $root/etc/yujing/yujing.yaml is not world-readable: the service cannot read it." >&2
		echo "install.sh: move any secret into yujing.env as \${VAR}, then: chmod 0644 $root/etc/yujing/yujing.yaml" >&2
	fi
else
	install -m 0644 "$config" "$root/etc/yujing/yujing.yaml"
fi
if [ ! -e "$root/etc/yujing/yujing.env" ]; then
	install -m 0600 /dev/null "$root/etc/yujing/yujing.env"
fi

install -D -m 0644 "$unit" "$root/etc/systemd/system/yujing.service"

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	echo "install.sh: installed; start it with: systemctl enable --now yujing"
fi
