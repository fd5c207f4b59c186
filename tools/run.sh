#!/bin/sh
# make run: dkd in the foreground with its state in ./var and the UI on
# http://127.0.0.1:8080.
set -eu
prefix=$1
var=$2

mkdir -p "$var"
conf="$var/dkd.conf"
if [ ! -f "$conf" ]; then
	cat >"$conf" <<CONF
# Written by make run; edit freely.
listen "127.0.0.1:8080"
database "$var/dkd.db"
control-socket "$var/dkd.sock"
docker-socket "/var/run/docker.sock"
www "$prefix/share/deploykit/www"
log-dir "$var/logs"
CONF
fi
echo "dkd: http://127.0.0.1:8080  (dkctl -s $var/dkd.sock status)"
exec "$prefix/sbin/dkd" -d -f "$conf"
