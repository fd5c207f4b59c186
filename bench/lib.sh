# Helpers shared by the benchmark scripts; sourced, not run.
#
# The caller sets `prog` (for messages) before sourcing and calls
# bench_init "$@" to get: BENCH_PREFIX (the installed tree), BENCH_TMP (a
# temporary directory removed on exit) and a trap that stops every server
# started through start_dkd/start_nginx.  POSIX sh (dash) compatible.

: "${prog:=bench}"
BENCH_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
REPO_DIR=$(dirname -- "$BENCH_DIR")

# Deadlines, in seconds.
READY_DEADLINE=${READY_DEADLINE:-20}
STOP_DEADLINE=${STOP_DEADLINE:-10}

HEALTH_BODY='{"status":"ok"}'

DKD_PID=""
DKD_WORKERS=""
NGINX_PID=""
BENCH_TMP=""

say() { printf '%s: %s\n' "$prog" "$*"; }
warn() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { warn "$*"; exit 1; }

# Append a line to the summary file run.sh collects (if any).
summary() {
	printf '%s\n' "$*"
	if [ -n "${BENCH_SUMMARY:-}" ]; then
		printf '%s\n' "$*" >>"$BENCH_SUMMARY"
	fi
}

# wrk_settings: the knobs every wrk benchmark reads from the
# environment (see the scripts' headers), with their defaults.
wrk_settings() {
	RUNS=${RUNS:-1}
	THREADS=${THREADS:-2}
	CONNECTIONS=${CONNECTIONS:-50}
	DURATION=${DURATION:-10}
	WARMUP=${WARMUP:-2}
	RAW=${RAW:-0}
}

bench_init() {
	[ "$(id -u)" -eq 0 ] ||
	    die "run as root (dkd starts as root and drops privileges)"
	BENCH_PREFIX=${1:-$REPO_DIR/build/root}
	case $BENCH_PREFIX in
	/*) ;;
	*) BENCH_PREFIX=$(pwd)/$BENCH_PREFIX ;;
	esac
	for f in sbin/dkd libexec/deploykit/dkd-api \
	    libexec/deploykit/dkd-reconciler libexec/deploykit/dkd-logd; do
		[ -x "$BENCH_PREFIX/$f" ] ||
		    die "$BENCH_PREFIX/$f not found; run 'make build' first"
	done
	[ -d "$BENCH_PREFIX/share/deploykit/www" ] ||
	    die "$BENCH_PREFIX/share/deploykit/www not found; run 'make build'"
	for t in curl python3 awk; do
		command -v "$t" >/dev/null 2>&1 ||
		    die "$t not found (make deps installs it)"
	done
	# Short path: the control socket must fit in sun_path (107 bytes).
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dkbench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

bench_cleanup() {
	set +e
	stop_nginx
	stop_dkd
	if [ -n "$BENCH_TMP" ] && [ -d "$BENCH_TMP" ]; then
		rm -rf -- "$BENCH_TMP"
	fi
}

# wrk and nginx come from Debian packages; say which one is missing.
need_wrk_nginx() {
	missing=""
	command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
	find_nginx >/dev/null || missing="$missing nginx-light"
	if [ -n "$missing" ]; then
		warn "missing tools; install them with: apt-get install$missing"
		warn "(or run 'make deps')"
		exit 1
	fi
}

find_nginx() {
	if command -v nginx >/dev/null 2>&1; then
		command -v nginx
	elif [ -x /usr/sbin/nginx ]; then
		echo /usr/sbin/nginx
	else
		return 1
	fi
}

# free_ports N: N distinct TCP ports that are free on 127.0.0.1 right now
# (all bound at once so the kernel cannot hand out the same one twice).
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# now: seconds since the epoch (integer), for deadlines.
now() { date +%s; }

# proc_alive PID COMM: PID exists and its comm is COMM (guards pid reuse).
proc_alive() {
	[ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# children PID: the direct children of PID.
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' |
	    sed '/^$/d'
}

# start_dkd DIR PORT: a fresh dkd with its state in DIR, listening on PORT.
# Returns once /api/health answers and all three workers run, with
# DKD_PID (the master) and DKD_WORKERS ("pid:comm ...") set.  Its
# reconciler finds no Docker: these benchmarks measure the API, and on
# the machine's dockerd every project they create would leave a bridge
# network behind (Docker's default pools hold about thirty).
start_dkd() {
	dir=$1
	port=$2
	mkdir -p "$dir/db"
	cat >"$dir/dkd.conf" <<CONF
listen "127.0.0.1:$port"
database "$dir/db/dkd.db"
control-socket "$dir/dkd.sock"
www "$BENCH_PREFIX/share/deploykit/www"
log-dir "$dir/logs"
docker-socket "$dir/no-docker.sock"
CONF
	"$BENCH_PREFIX/sbin/dkd" -d -f "$dir/dkd.conf" >"$dir/dkd.log" 2>&1 &
	DKD_PID=$!
	DKD_LOG=$dir/dkd.log
	DKD_URL=http://127.0.0.1:$port/api/health
	deadline=$(($(now) + READY_DEADLINE))
	while :; do
		if ! kill -0 "$DKD_PID" 2>/dev/null; then
			warn "dkd exited during start-up; its log:"
			sed 's/^/  /' "$DKD_LOG" >&2
			DKD_PID=""
			exit 1
		fi
		body=$(curl -fsS --max-time 1 "$DKD_URL" 2>/dev/null || true)
		if [ "$body" = "$HEALTH_BODY" ] && dkd_find_workers; then
			break
		fi
		if [ "$(now)" -ge "$deadline" ]; then
			warn "dkd not ready after ${READY_DEADLINE}s" \
			    "(health: '${body}', workers: '${DKD_WORKERS}'); its log:"
			sed 's/^/  /' "$DKD_LOG" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# Sets DKD_WORKERS to "pid:comm" for the three workers; false until all
# three are there.
dkd_find_workers() {
	DKD_WORKERS=""
	n=0
	for c in $(children "$DKD_PID"); do
		comm=$(cat "/proc/$c/comm" 2>/dev/null || true)
		case $comm in
		dkd-api | dkd-reconciler | dkd-logd)
			DKD_WORKERS="$DKD_WORKERS $c:$comm"
			n=$((n + 1))
			;;
		esac
	done
	[ "$n" -eq 3 ]
}

# The four processes as "pid:comm", master first, then api, reconciler, logd.
dkd_procs() {
	printf '%s:dkd\n' "$DKD_PID"
	for want in dkd-api dkd-reconciler dkd-logd; do
		for pc in $DKD_WORKERS; do
			[ "${pc#*:}" = "$want" ] && printf '%s\n' "$pc"
		done
	done
	return 0
}

stop_dkd() {
	[ -n "$DKD_PID" ] || return 0
	pid=$DKD_PID
	DKD_PID=""
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(($(now) + STOP_DEADLINE))
	while kill -0 "$pid" 2>/dev/null && [ "$(now)" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		warn "dkd (pid $pid) did not stop within ${STOP_DEADLINE}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	# Workers exit when the master goes away; make sure of it.
	for pc in $DKD_WORKERS; do
		p=${pc%%:*}
		deadline=$(($(now) + 3))
		while proc_alive "$p" "${pc#*:}" && [ "$(now)" -lt "$deadline" ]; do
			sleep 0.1
		done
		if proc_alive "$p" "${pc#*:}"; then
			warn "worker $pc outlived the master; killing it"
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	DKD_WORKERS=""
}

# start_nginx DIR PORT: nginx serving DIR/www/api/health (the same 15-byte
# body as dkd) on PORT, with its pid file, logs and temp files in DIR.
start_nginx() {
	dir=$1
	port=$2
	nginx=$(find_nginx)
	mkdir -p "$dir/www/api" "$dir/tmp"
	printf '%s' "$HEALTH_BODY" >"$dir/www/api/health"
	# nginx workers run as nobody: they must be able to reach the file.
	chmod 0755 "$BENCH_TMP" "$dir" "$dir/www" "$dir/www/api"
	chmod 0644 "$dir/www/api/health"
	chown nobody "$dir/tmp" 2>/dev/null || true
	# Keep temp files out of /var/lib/nginx; only name the modules built in.
	temps="client_body_temp_path $dir/tmp/body;"
	for m in proxy fastcgi uwsgi scgi; do
		if ! "$nginx" -V 2>&1 | grep -q -- "--without-http_${m}_module"; then
			temps="$temps ${m}_temp_path $dir/tmp/$m;"
		fi
	done
	cat >"$dir/nginx.conf" <<CONF
daemon off;
pid $dir/nginx.pid;
worker_processes auto;
error_log $dir/error.log warn;
events {
	worker_connections 1024;
}
http {
	access_log off;
	types { }
	default_type application/json;
	$temps
	server {
		listen 127.0.0.1:$port;
		root $dir/www;
		location = /api/health { }
	}
}
CONF
	"$nginx" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" -t \
	    >"$dir/configtest.log" 2>&1 || {
		warn "nginx rejected its configuration:"
		sed 's/^/  /' "$dir/configtest.log" >&2
		exit 1
	}
	"$nginx" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" \
	    >"$dir/nginx.out" 2>&1 &
	NGINX_PID=$!
	NGINX_LOG=$dir/error.log
	NGINX_URL=http://127.0.0.1:$port/api/health
	deadline=$(($(now) + READY_DEADLINE))
	while :; do
		if ! kill -0 "$NGINX_PID" 2>/dev/null; then
			warn "nginx exited during start-up:"
			cat "$dir/nginx.out" "$NGINX_LOG" 2>/dev/null |
			    sed 's/^/  /' >&2
			NGINX_PID=""
			exit 1
		fi
		body=$(curl -fsS --max-time 1 "$NGINX_URL" 2>/dev/null || true)
		[ "$body" = "$HEALTH_BODY" ] && break
		if [ "$(now)" -ge "$deadline" ]; then
			warn "nginx not ready after ${READY_DEADLINE}s:"
			cat "$dir/nginx.out" "$NGINX_LOG" 2>/dev/null |
			    sed 's/^/  /' >&2
			exit 1
		fi
		sleep 0.1
	done
}

stop_nginx() {
	[ -n "$NGINX_PID" ] || return 0
	pid=$NGINX_PID
	NGINX_PID=""
	kids=$(children "$pid")
	kill -TERM "$pid" 2>/dev/null || true	# fast shutdown
	deadline=$(($(now) + STOP_DEADLINE))
	while kill -0 "$pid" 2>/dev/null && [ "$(now)" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		warn "nginx (pid $pid) did not stop; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	for k in $kids; do
		if proc_alive "$k" nginx; then
			kill -KILL "$k" 2>/dev/null || true
		fi
	done
}

# CPU time (utime + stime, in clock ticks) of the given pids, summed.
cpu_ticks() {
	t=0
	for p in "$@"; do
		# Fields after the ")" that ends comm: utime is the 12th, stime 13th.
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null |
		    awk '{ print $12 + $13 }') || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# foreign_procs: "pid:comm" of running (non-zombie) dkd, nginx and wrk
# processes that this script did not start.  Another dkd shares library
# pages with ours (so our PSS reads low) and any of them competes for CPU.
foreign_procs() {
	ours=" $DKD_PID $NGINX_PID "
	for pc in $DKD_WORKERS; do ours="$ours${pc%%:*} "; done
	[ -n "$NGINX_PID" ] && ours="$ours$(children "$NGINX_PID" | tr '\n' ' ')"
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		case $ours in *" $p "*) continue ;; esac
		c=$(cat "$d/comm" 2>/dev/null) || continue
		case $c in
		dkd | dkd-api | dkd-reconciler | dkd-logd | nginx | wrk) ;;
		*) continue ;;
		esac
		st=$(sed 's/.*) //' "$d/stat" 2>/dev/null | cut -d' ' -f1) || continue
		[ "$st" = Z ] && continue
		printf '%s:%s ' "$p" "$c"
	done
	return 0
}

# parse_wrk FILE: "req_per_s p50_ms p90_ms p99_ms requests non2xx sockerr".
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
		if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
		if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
		if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
		return v + 0
	}
	$1 == "Requests/sec:" { rps = $2 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "90%" { p90 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	$2 == "requests" && $3 == "in" { n = $1 }
	$1 == "Socket" && $2 == "errors:" {
		gsub(",", "")
		serr += $4 + $6 + $8 + $10
	}
	$1 == "Non-2xx" { bad += $NF }
	END {
		if (rps == "" || p50 == "" || p90 == "" || p99 == "") exit 1
		printf "%.2f %.3f %.3f %.3f %d %d %d\n", rps, p50, p90, p99, n,
		    bad, serr
	}' "$1"
}

# The wrk comparisons (health-throughput.sh, services-throughput.sh) set
# THREADS, CONNECTIONS, DURATION, WARMUP, RAW, CLK_TCK and, for extra wrk
# options such as a header, WRK_ARGS; rows go to $BENCH_TMP/results.
WRK_ARGS=${WRK_ARGS:-}

# bench_one NAME URL RUN PIDS...: warm-up, measured run, one result row.
bench_one() {
	name=$1
	url=$2
	run=$3
	shift 3
	# shellcheck disable=SC2086
	wrk $WRK_ARGS -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null 2>&1 ||
	    die "wrk warm-up against $name failed"
	out=$BENCH_TMP/wrk-$name-$run.txt
	t0=$(cpu_ticks "$@")
	# shellcheck disable=SC2086
	wrk $WRK_ARGS -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" \
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

# print_results: the table of every run, from $BENCH_TMP/results.
print_results() {
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
}

# median SERVER COLUMN: the median of one column of one server's runs.
median() {
	awk -v n="$1" -v c="$2" '$2 == n { print $c }' "$BENCH_TMP/results" |
	    sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# report_comparison WHAT: the table, the medians of dkd and nginx, and
# the summary line, after the runs of a wrk comparison.
report_comparison() {
	echo
	print_results
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
	summary "$(awk -v what="$1" -v l="$label" -v dr="$dkd_rps" -v d9="$dkd_p99" -v d5="$dkd_p50" \
	    -v nr="$nginx_rps" -v n9="$nginx_p99" -v n5="$nginx_p50" \
	    'BEGIN { printf "%s (%s): dkd %.0f req/s, p50 %.3f ms, p99 %.3f ms | nginx %.0f req/s, p50 %.3f ms, p99 %.3f ms | dkd/nginx %.0f%% of req/s", what, l, dr, d5, d9, nr, n5, n9, 100 * dr / nr }')"
	if [ -s "$BENCH_TMP/foreign" ]; then
		summary "WARNING: other dkd/nginx/wrk processes were running and" \
		    "competed for CPU: $(tr '\n' ' ' <"$BENCH_TMP/foreign")"
	fi
	errs=$(awk '{ e += $7 } END { print e + 0 }' "$BENCH_TMP/results")
	if [ "$errs" -gt 0 ]; then
		summary "WARNING: $errs socket errors or non-2xx responses in total (see the errors column)"
	fi
}

# Per-process CPU of dkd during its measured run, for the curious.
dkd_cpu_split() {
	for pc in $(dkd_procs); do
		printf '%s %s\n' "${pc#*:}" "$(cpu_ticks "${pc%%:*}")"
	done
}

# compare_runs: RUNS times, a fresh dkd and nginx, prepare_targets
# RUNDIR (the caller's: sets DKD_TARGET, NGINX_TARGET and DKD_WRK_ARGS),
# then wrk against each; rows in $BENCH_TMP/results.
compare_runs() {
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
		prepare_targets "$rundir"

		others=$(foreign_procs)
		if [ -n "$others" ]; then
			echo "run $run: $others" >>"$BENCH_TMP/foreign"
		fi
		dkd_cpu_split >"$rundir/cpu0"
		# shellcheck disable=SC2046
		WRK_ARGS=$DKD_WRK_ARGS bench_one dkd "$DKD_TARGET" "$run" \
		    $(dkd_procs | sed 's/:.*//')
		dkd_cpu_split >"$rundir/cpu1"
		# shellcheck disable=SC2046
		WRK_ARGS="" bench_one nginx "$NGINX_TARGET" "$run" "$NGINX_PID" \
		    $(children "$NGINX_PID")
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
}
