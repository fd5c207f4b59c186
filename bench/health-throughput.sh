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

RUNS=${RUNS:-1}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RAW=${RAW:-0}

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

# bench_one NAME URL RUN PIDS...: warm-up, measured run, one result row.
bench_one() {
	name=$1
	url=$2
	run=$3
	shift 3
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null 2>&1 ||
	    die "wrk warm-up against $name failed"
	out=$BENCH_TMP/wrk-$name-$run.txt
	t0=$(cpu_ticks "$@")
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" \
	    >"$out" 2>&1 || { cat "$out" >&2; die "wrk against $name failed"; }
	t1=$(cpu_ticks "$@")
	[ "$RAW" = 1 ] && sed "s/^/  [$name run $run] /" "$out"
	# req/s p50 p99 requests errors, from lib.sh's fuller parse_wrk.
	fig=$(parse_wrk "$out" | awk '{ print $1, $2, $4, $5, $6 + $7 }') ||
	    { cat "$out" >&2; die "cannot parse wrk output"; }
	[ -n "$fig" ] || { cat "$out" >&2; die "cannot parse wrk output"; }
	# CPU used by the server during the measured run, in % of one core.
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$DURATION" \
	    'BEGIN { printf "%.0f", 100 * d / hz / s }')
	echo "$run $name $fig $cpu" >>"$BENCH_TMP/results"
}

# Per-process CPU of dkd during its measured run, for the curious.
dkd_cpu_split() {
	for pc in $(dkd_procs); do
		printf '%s %s\n' "${pc#*:}" "$(cpu_ticks "${pc%%:*}")"
	done
}

: >"$BENCH_TMP/results"
say "$RUNS run(s): wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency," \
    "${WARMUP}s warm-up each; $(nproc) CPUs"
run=1
while [ "$run" -le "$RUNS" ]; do
	# shellcheck disable=SC2046
	set -- $(free_ports 2)
	dport=$1
	nport=$2
	rundir=$BENCH_TMP/run$run
	mkdir -p "$rundir"
	start_dkd "$rundir/dkd" "$dport"
	start_nginx "$rundir/nginx" "$nport"
	dbytes=$(check_same "$DKD_URL")
	nbytes=$(check_same "$NGINX_URL")
	[ "$run" -eq 1 ] && say "response size: dkd $dbytes bytes, nginx" \
	    "$nbytes bytes (headers + 15-byte body)"

	others=$(foreign_procs)
	if [ -n "$others" ]; then
		echo "run $run: $others" >>"$BENCH_TMP/foreign"
	fi
	dkd_cpu_split >"$rundir/cpu0"
	# shellcheck disable=SC2046
	bench_one dkd "$DKD_URL" "$run" $(dkd_procs | sed 's/:.*//')
	dkd_cpu_split >"$rundir/cpu1"
	# shellcheck disable=SC2046
	bench_one nginx "$NGINX_URL" "$run" "$NGINX_PID" $(children "$NGINX_PID")
	split=$(awk -v hz="$CLK_TCK" -v s=$((WARMUP + DURATION)) '
		NR == FNR { t[$1] = $2; next }
		{ printf "%s%s %.0f%%", sep, $1, 100 * ($2 - t[$1]) / hz / s; sep = ", " }' \
	    "$rundir/cpu0" "$rundir/cpu1")
	say "run $run done (dkd CPU by process over warm-up + run: $split;" \
	    "load average $(cut -d' ' -f1-3 /proc/loadavg))"

	stop_nginx
	stop_dkd
	rm -rf -- "$rundir"
	run=$((run + 1))
done

echo
awk '
function line(r, n, rps, p50, p99, req, err, cpu) {
	printf "%-7s %-6s %12s %10s %10s %10s %7s %8s\n",
	    r, n, rps, p50, p99, req, err, cpu
}
BEGIN {
	line("run", "server", "req/s", "p50 ms", "p99 ms", "requests",
	    "errors", "CPU %")
}
{ line($1, $2, $3, $4, $5, $6, $7, $8) }' "$BENCH_TMP/results"

# Medians per server (of each column separately).
median() {
	awk -v n="$1" -v c="$2" '$2 == n { print $c }' "$BENCH_TMP/results" |
	    sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}
dkd_rps=$(median dkd 3)
dkd_p50=$(median dkd 4)
dkd_p99=$(median dkd 5)
dkd_cpu=$(median dkd 8)
nginx_rps=$(median nginx 3)
nginx_p50=$(median nginx 4)
nginx_p99=$(median nginx 5)
nginx_cpu=$(median nginx 8)
if [ "$RUNS" -gt 1 ]; then
	awk -v dr="$dkd_rps" -v d5="$dkd_p50" -v d9="$dkd_p99" -v dc="$dkd_cpu" \
	    -v nr="$nginx_rps" -v n5="$nginx_p50" -v n9="$nginx_p99" -v nc="$nginx_cpu" \
	    'BEGIN {
		printf "%-7s %-6s %12.2f %10.3f %10.3f %10s %7s %8s\n", "median", "dkd", dr, d5, d9, "", "", dc
		printf "%-7s %-6s %12.2f %10.3f %10.3f %10s %7s %8s\n", "median", "nginx", nr, n5, n9, "", "", nc
	}'
fi
echo "(CPU % = server CPU time during the measured run, 100 = one core;" \
    "wrk shares the same $(nproc) CPUs)"
echo

label=$([ "$RUNS" -gt 1 ] && echo "median of $RUNS" || echo "1 run")
summary "$(awk -v l="$label" -v dr="$dkd_rps" -v d9="$dkd_p99" -v d5="$dkd_p50" \
    -v nr="$nginx_rps" -v n9="$nginx_p99" -v n5="$nginx_p50" \
    'BEGIN { printf "health (%s): dkd %.0f req/s, p50 %.3f ms, p99 %.3f ms | nginx %.0f req/s, p50 %.3f ms, p99 %.3f ms | dkd/nginx %.0f%% of req/s", l, dr, d5, d9, nr, n5, n9, 100 * dr / nr }')"
if [ -s "$BENCH_TMP/foreign" ]; then
	summary "WARNING: other dkd/nginx/wrk processes were running and" \
	    "competed for CPU: $(tr '\n' ' ' <"$BENCH_TMP/foreign")"
fi
errs=$(awk '{ e += $7 } END { print e + 0 }' "$BENCH_TMP/results")
if [ "$errs" -gt 0 ]; then
	summary "WARNING: $errs socket errors or non-2xx responses in total (see the errors column)"
fi
exit 0
