#!/bin/sh
# make bench: the benchmarks against an installed tree, then a
# summary.
#
#   bench/run.sh [prefix]      (make bench passes $(PREFIX) = build/root)
#
# Installs nothing: wrk and nginx must already be there (Debian packages
# wrk and nginx-light; make deps installs them).  RUNS (default 3) is the
# number of runs of each throughput benchmark; the other knobs are
# described at the top of idle-memory.sh, health-throughput.sh and
# projects-throughput.sh.  Exit status 1 if a memory or projects target is
# missed or a benchmark fails.
set -eu
prog=bench
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] ||
    missing="$missing nginx-light"
if [ -n "$missing" ]; then
	echo "$prog: missing tools; install them with: apt-get install$missing" >&2
	echo "$prog: (or run 'make deps')" >&2
	exit 1
fi

prefix=${1:-$(dirname -- "$here")/build/root}
RUNS=${RUNS:-3}
export RUNS

BENCH_SUMMARY=$(mktemp "${TMPDIR:-/tmp}/dkbench-summary.XXXXXX")
export BENCH_SUMMARY
trap 'rm -f -- "$BENCH_SUMMARY"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

status=0
echo "== idle memory"
"$here/idle-memory.sh" "$prefix" || { rc=$?; status=1
	echo "$prog: idle-memory.sh exited with status $rc" >>"$BENCH_SUMMARY"; }
echo
echo "== health throughput (dkd vs nginx, $RUNS run(s))"
"$here/health-throughput.sh" "$prefix" || { rc=$?; status=1
	echo "$prog: health-throughput.sh exited with status $rc" >>"$BENCH_SUMMARY"; }
echo
echo "== projects throughput (authenticated GET /api/projects, alone and with" \
    "${LOGIN_RATE:-20} logins/s, $RUNS run(s))"
"$here/projects-throughput.sh" "$prefix" || { rc=$?; status=1
	echo "$prog: projects-throughput.sh exited with status $rc" >>"$BENCH_SUMMARY"; }

echo
echo "== services throughput (GET of a ${SERVICES:-50}-service project vs nginx," \
    "$RUNS run(s))"
"$here/services-throughput.sh" "$prefix" || { rc=$?; status=1
	echo "$prog: services-throughput.sh exited with status $rc" >>"$BENCH_SUMMARY"; }

echo
echo "== canvas: Apply of 100 changes, a room of 50 clients, memory"
DKD_PREFIX=$prefix "$here/canvas.py" || { rc=$?; status=1
	echo "$prog: canvas.py exited with status $rc" >>"$BENCH_SUMMARY"; }

echo
echo "== reconciler: Apply -> container running vs docker create + start," \
    "a no-op resync of ${REC_SERVICES:-200} services, memory"
DKD_PREFIX=$prefix "$here/reconciler.py" || { rc=$?; status=1
	echo "$prog: reconciler.py exited with status $rc" >>"$BENCH_SUMMARY"; }

echo
echo "== logs: ${LINES:-200000} lines to 1 and ${CLIENTS:-10} SSE clients vs" \
    "docker logs -f, latency, q= over ${SEARCH_MIB:-1024} MiB, logd memory"
DKD_PREFIX=$prefix "$here/logs.py" || { rc=$?; status=1
	echo "$prog: logs.py exited with status $rc" >>"$BENCH_SUMMARY"; }

echo
echo "== summary ($(uname -r), $(nproc) CPUs, prefix $prefix)"
cat "$BENCH_SUMMARY"
if [ "$status" -eq 0 ]; then
	echo "bench: OK"
else
	echo "bench: FAILED (see above)"
fi
exit "$status"
