#!/bin/sh
# Throughput and latency of GET /api/health on dkd (dkd-api -> master over
# imsg -> reply) against nginx serving the same 15-byte body from a file.
#
#   bench/health-throughput.sh [prefix]     (prefix defaults to build/root)
#
# Each run starts a fresh dkd and a fresh nginx, then, one after the other,
# warms each up with wrk for WARMUP seconds and measures it with
#   wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency URL
# With RUNS > 1 the per-run figures and the medians are printed.
#
# Environment: RUNS (1), THREADS (2), CONNECTIONS (50), DURATION (10),
# WARMUP (2), RAW (1: also print wrk's own output), BENCH_SUMMARY (file to
# append the summary lines to; set by run.sh).
set -eu
prog=health-throughput
. "$(dirname -- "$0")/lib.sh"

wrk_settings

need_wrk_nginx
bench_init "$@"
CLK_TCK=$(getconf CLK_TCK)

# check_same URL: the body is exactly the health body, as application/json.
check_same() {
	curl -sS --max-time 2 -D "$BENCH_TMP/headers" -o "$BENCH_TMP/body" "$1" ||
	    die "GET $1 failed"
	if [ "$(cat "$BENCH_TMP/body")" != "$HEALTH_BODY" ] ||
	    [ "$(wc -c <"$BENCH_TMP/body")" -ne 15 ]; then
		die "GET $1: unexpected body '$(cat "$BENCH_TMP/body")'"
	fi
	grep -qi '^content-type: application/json' "$BENCH_TMP/headers" ||
	    die "GET $1: not served as application/json"
	# Bytes on the wire per response, headers included.
	wc -c <"$BENCH_TMP/headers" | awk '{ print $1 + 15 }'
}

# prepare_targets RUNDIR (compare_runs' hook): both serve the health body.
prepare_targets() {
	DKD_TARGET=$DKD_URL
	NGINX_TARGET=$NGINX_URL
	DKD_WRK_ARGS=""
	dbytes=$(check_same "$DKD_URL")
	nbytes=$(check_same "$NGINX_URL")
	[ "$run" -eq 1 ] && say "response size: dkd $dbytes bytes, nginx" \
	    "$nbytes bytes (headers + 15-byte body)"
	return 0
}

compare_runs
report_comparison health
