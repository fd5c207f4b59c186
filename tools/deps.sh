#!/bin/sh
# Install what DeployKit needs on Debian 12, create its system users and
# make sure a Docker engine runs.  Safe to run again: it only does what is
# missing.  Run as root.
set -eu

PACKAGES="
build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
libsqlite3-dev libevent-dev libyajl-dev libbsd-dev libmd-dev
libcurl4-openssl-dev libargon2-dev
docker.io busybox-static mandoc python3 curl procps iproute2 strace
wrk nginx-light
"

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run as root (it installs packages and creates users)" >&2
	exit 1
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# One unprivileged user per worker; none can log in.
for u in _dkd_api _dkd_rec _dkd_log; do
	if ! getent passwd "$u" >/dev/null; then
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin --user-group "$u"
		echo "deps: created user $u"
	fi
done
getent group docker >/dev/null || groupadd --system docker

# A Docker engine: systemd when it runs the machine, else by hand.
if ! docker info >/dev/null 2>&1; then
	if [ -d /run/systemd/system ]; then
		systemctl start docker
	else
		echo "deps: starting dockerd"
		mkdir -p /var/log
		setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &
	fi
	i=0
	until docker info >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 60 ]; then
			echo "deps: dockerd did not come up; see /var/log/dockerd.log" >&2
			exit 1
		fi
		sleep 1
	done
fi
echo "deps: ok"
