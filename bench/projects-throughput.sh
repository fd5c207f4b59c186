#!/bin/sh
# Throughput and latency of an authenticated GET /api/projects (dkd-api ->
# master: token lookup, SQLite query, 20 projects as JSON -> reply), alone
# and while 20 password logins per second (argon2id on the master's hasher
# thread) run in parallel.
#
#   bench/projects-throughput.sh [prefix]     (prefix defaults to build/root)
#
# Each run starts a fresh dkd, registers the first admin with the setup
# token, creates PROJECTS projects and checks that GET /api/projects lists
# them all.  Then:
#   wrk -t$THREADS -c$CONNECTIONS -d${WARMUP}s      (warm-up, discarded)
#   wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency   (no logins)
#   the same wrk again while a paced generator logs in LOGIN_RATE times
#   a second for DURATION seconds (on its own keep-alive connections)
# With RUNS > 1 the per-run figures and the medians are printed.
#
# Environment: RUNS (1), THREADS (2), CONNECTIONS (50), DURATION (10),
# WARMUP (2), PROJECTS (20), LOGIN_RATE (20), LOGIN_CONNS (4: generator
# connections, so that one slow login does not delay the next), RAW (1:
# also print wrk's own output), BENCH_SUMMARY (file to append the summary
# lines to; set by run.sh).
#
# Exit status 1 if a target is missed, checked on the medians unless
# said otherwise: GET /api/projects >= TARGET_RPS (15000) req/s without
# logins; GET p99 < TARGET_P99_MS (50) ms while the logins run; every
# login answered 200 and the achieved login rate >= TARGET_LOGIN_RATE
# (95 % of LOGIN_RATE: 19 per second) in every run; no non-2xx answer or
# socket error in any wrk run.
set -eu
prog=projects-throughput
. "$(dirname -- "$0")/lib.sh"

wrk_settings
PROJECTS=${PROJECTS:-20}
LOGIN_RATE=${LOGIN_RATE:-20}
LOGIN_CONNS=${LOGIN_CONNS:-4}
TARGET_RPS=${TARGET_RPS:-15000}
TARGET_P99_MS=${TARGET_P99_MS:-50}
# 95 % of the asked rate: 19/s for 20/s.
TARGET_LOGIN_RATE=${TARGET_LOGIN_RATE:-$(awk -v r="$LOGIN_RATE" 'BEGIN { print r * 0.95 }')}

ADMIN_EMAIL=bench-admin@example.com
ADMIN_PASSWORD=bench-password-0123456789

command -v wrk >/dev/null 2>&1 || {
	warn "missing tools; install them with: apt-get install wrk"
	warn "(or run 'make deps')"
	exit 1
}
bench_init "$@"
CLK_TCK=$(getconf CLK_TCK)
DKCTL=$BENCH_PREFIX/bin/dkctl

# The login generator runs in the background during the second wrk run;
# stop it too if we exit early.
GEN_PID=""
trap 'if [ -n "$GEN_PID" ]; then kill "$GEN_PID" 2>/dev/null || true; fi; bench_cleanup' EXIT

# setup_token: the first-admin token, from dkctl (first line of its
# output) or, failing that, from the "no accounts yet" line of the log.
setup_token() {
	t=""
	if [ -x "$DKCTL" ]; then
		t=$("$DKCTL" -s "$DKD_DIR/dkd.sock" setup-token 2>/dev/null |
		    head -n 1) || t=""
	fi
	if [ -z "$t" ]; then
		t=$(sed -n 's/.*no accounts yet: .*setup?token=\([A-Za-z0-9_-]*\).*/\1/p' \
		    "$DKD_LOG" | tail -n 1)
	fi
	[ -n "$t" ] || die "no setup token from dkctl setup-token or the log"
	printf '%s\n' "$t"
}

# prepare URL SETUP_TOKEN: register the first admin, create the projects,
# check the list; prints the admin's access token.
prepare() {
	python3 - "$1" "$2" "$ADMIN_EMAIL" "$ADMIN_PASSWORD" "$PROJECTS" <<'PY'
import http.client, json, sys, urllib.parse
base, setup, email, password, n = sys.argv[1:6]
n = int(n)
u = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)

def call(method, path, body=None, token=None):
    headers = {}
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    return r.status, doc, data

def need(cond, what, status, data):
    if not cond:
        sys.exit(f"{what}: HTTP {status}: {data[:300]!r}")

st, doc, raw = call("POST", "/api/auth/register", {"email": email,
    "name": "Bench Admin", "password": password, "setup_token": setup})
need(st == 201 and isinstance(doc, dict) and
     doc.get("tokens", {}).get("access_token"), "register", st, raw)
token = doc["tokens"]["access_token"]
for i in range(n):
    st, doc, raw = call("POST", "/api/projects",
        {"name": f"bench project {i + 1:02d}"}, token)
    need(st == 201, f"create project {i + 1}", st, raw)
st, doc, raw = call("GET", "/api/projects", token=token)
need(st == 200 and isinstance(doc, dict) and
     isinstance(doc.get("data"), list), "list projects", st, raw)
need(len(doc["data"]) == n and doc.get("total_count") == n,
     f"list projects: {len(doc['data'])} items, total_count "
     f"{doc.get('total_count')}, want {n}", st, raw)
print(token)
PY
}

# check_list URL TOKEN: GET /api/projects is 200 with PROJECTS items; prints
# the response size in bytes (headers + body).
check_list() {
	curl -sS --max-time 5 -D "$BENCH_TMP/headers" -o "$BENCH_TMP/body" \
	    -w '%{http_code} %{size_header} %{size_download}\n' \
	    -H "Authorization: Bearer $2" "$1" >"$BENCH_TMP/curl.out" ||
	    die "GET $1 failed"
	read -r code hbytes bbytes <"$BENCH_TMP/curl.out"
	[ "$code" = 200 ] || die "GET $1: HTTP $code: $(head -c 300 "$BENCH_TMP/body")"
	n=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(len(d["data"]) if d.get("total_count") == len(d["data"]) else -1)' \
	    "$BENCH_TMP/body") || die "GET $1: body is not the expected JSON"
	[ "$n" -eq "$PROJECTS" ] ||
	    die "GET $1: $n projects listed (or total_count differs), want $PROJECTS"
	echo $((hbytes + bbytes))
}

# login_load URL OUT READY: LOGIN_RATE logins a second for DURATION seconds,
# each due at t0 + i / LOGIN_RATE (an open loop: a slow login does not
# delay the next one, a free connection of LOGIN_CONNS takes it).  Writes
# READY once its connections are open, then starts; one line per login to
# OUT ("due_s lag_ms latency_ms status"), latency counted from when the
# login was due, and prints "ok total rate p50 p99 max maxlag reconnects".
# Run it in the background only: it execs python3, so $! is python's pid.
login_load() {
	exec python3 - "$1" "$2" "$3" "$ADMIN_EMAIL" "$ADMIN_PASSWORD" \
	    "$LOGIN_RATE" "$DURATION" "$LOGIN_CONNS" <<'PY'
import http.client, json, queue, sys, threading, time, urllib.parse
url, out, ready, email, password = sys.argv[1:6]
rate, duration, nconn = float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
u = urllib.parse.urlsplit(url)
body = json.dumps({"email": email, "password": password})
hdrs = {"Content-Type": "application/json"}
jobs = queue.Queue()
results = []
lock = threading.Lock()
reconnects = 0

def connect():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.connect()
    return c

def worker(conn):
    global reconnects
    while True:
        due = jobs.get()
        if due is None:
            return
        start = time.monotonic()
        status = 0
        for attempt in range(2):
            try:
                if conn is None:
                    conn = connect()
                    with lock:
                        reconnects += 1
                conn.request("POST", u.path, body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                status = r.status
                if status == 200 and b'"access_token"' not in data:
                    status = -200       # 200 without a token
                if r.will_close:
                    conn.close()
                    conn = None
                break
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
        end = time.monotonic()
        with lock:
            results.append((due, start, end, status))

conns = [connect() for _ in range(nconn)]
threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
for t in threads:
    t.start()
open(ready, "w").close()
t0 = time.monotonic()
n = int(round(rate * duration))
for i in range(n):
    due = t0 + i / rate
    d = due - time.monotonic()
    if d > 0:
        time.sleep(d)
    jobs.put(due)
for _ in threads:
    jobs.put(None)
for t in threads:
    t.join()
results.sort()
last = max(r[2] for r in results) - t0
with open(out, "w") as f:
    for due, start, end, status in results:
        f.write(f"{due - t0:.3f} {1000 * (start - due):.3f} "
                f"{1000 * (end - due):.3f} {status}\n")
lat = sorted(1000 * (r[2] - r[0]) for r in results)

def pct(p):
    return lat[min(len(lat) - 1, max(0, int(round(p / 100 * len(lat))) - 1))]

ok = sum(1 for r in results if r[3] == 200)
maxlag = max(1000 * (r[1] - r[0]) for r in results)
print(f"{ok} {len(results)} {ok / max(duration, last):.2f} {pct(50):.3f} "
      f"{pct(99):.3f} {lat[-1]:.3f} {maxlag:.3f} {reconnects}")
PY
}

# CPU ticks of the master's event-loop thread, of its other threads (the
# argon2 hasher) and of dkd-api: "loop hasher api".
cpu_split() {
	loop=0
	other=0
	for t in /proc/"$DKD_PID"/task/*; do
		v=$(sed 's/.*) //' "$t/stat" 2>/dev/null |
		    awk '{ print $12 + $13 }') || v=0
		if [ "${t##*/}" = "$DKD_PID" ]; then
			loop=$((loop + ${v:-0}))
		else
			other=$((other + ${v:-0}))
		fi
	done
	api=0
	for pc in $DKD_WORKERS; do
		[ "${pc#*:}" = dkd-api ] && api=$(cpu_ticks "${pc%%:*}")
	done
	echo "$loop $other $api"
}

# cpu_pct BEFORE AFTER: the difference of two cpu_split lines in % of one
# core over DURATION seconds.
cpu_pct() {
	echo "$1 $2" | awk -v hz="$CLK_TCK" -v s="$DURATION" '{
		printf "%.0f %.0f %.0f", 100 * ($4 - $1) / hz / s,
		    100 * ($5 - $2) / hz / s, 100 * ($6 - $3) / hz / s }'
}

# dkd_mem: "master_Pss master_Pss_Anon total_Pss total_Pss_Anon" in KiB,
# totals over the master and its three workers (from smaps_rollup).
dkd_mem() {
	# shellcheck disable=SC2046
	for pc in $(dkd_procs); do
		cat "/proc/${pc%%:*}/smaps_rollup" 2>/dev/null
		echo "end"
	done | awk '
		$1 == "Pss:" { p = $2 }
		$1 == "Pss_Anon:" { a = $2 }
		$1 == "end" {
			if (n++ == 0) { mp = p; ma = a }
			tp += p; ta += a
		}
		END { print mp + 0, ma + 0, tp + 0, ta + 0 }'
}

# measure NAME RUN URL TOKEN: one measured wrk run; appends
# "run name rps p50 p90 p99 requests non2xx sockerr loop% hasher% api%".
measure() {
	out=$BENCH_TMP/wrk-$1-$2.txt
	c0=$(cpu_split)
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
	    -H "Authorization: Bearer $4" "$3" >"$out" 2>&1 ||
	    { cat "$out" >&2; die "wrk ($1) failed"; }
	c1=$(cpu_split)
	[ "$RAW" = 1 ] && sed "s/^/  [$1 run $2] /" "$out"
	fig=$(parse_wrk "$out") || { cat "$out" >&2; die "cannot parse wrk output"; }
	echo "$2 $1 $fig $(cpu_pct "$c0" "$c1")" >>"$BENCH_TMP/results"
}

: >"$BENCH_TMP/results"
: >"$BENCH_TMP/logins"
: >"$BENCH_TMP/memory"
say "$RUNS run(s): wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency" \
    "(${WARMUP}s warm-up), then again with $LOGIN_RATE logins/s; $(nproc) CPUs"
run=1
while [ "$run" -le "$RUNS" ]; do
	port=$(free_ports 1)
	DKD_DIR=$BENCH_TMP/run$run/dkd
	start_dkd "$DKD_DIR" "$port"
	base=http://127.0.0.1:$port
	url=$base/api/projects
	sleep 1
	mem_fresh=$(dkd_mem)
	stoken=$(setup_token)
	token=$(prepare "$base" "$stoken") ||
	    die "setting up the admin and projects failed; dkd log: $(tail -n 5 "$DKD_LOG")"
	bytes=$(check_list "$url" "$token")
	[ "$run" -eq 1 ] && say "GET /api/projects: 200, $PROJECTS projects," \
	    "$bytes bytes on the wire (headers + body)"

	others=$(foreign_procs)
	[ -n "$others" ] && echo "run $run: $others" >>"$BENCH_TMP/foreign"

	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
	    -H "Authorization: Bearer $token" "$url" >/dev/null 2>&1 ||
	    die "wrk warm-up failed"
	measure get "$run" "$url" "$token"
	mem_reg=$(dkd_mem)

	# Logins and GETs together: the generator opens its connections,
	# says it is ready and starts its clock; wrk starts right after.
	ready=$BENCH_TMP/run$run/login.ready
	login_load "$base/api/auth/login" "$BENCH_TMP/run$run/logins.txt" \
	    "$ready" >"$BENCH_TMP/run$run/login.out" 2>&1 &
	GEN_PID=$!
	deadline=$(($(now) + READY_DEADLINE))
	while [ ! -e "$ready" ]; do
		kill -0 "$GEN_PID" 2>/dev/null || break
		[ "$(now)" -lt "$deadline" ] || die "login generator not ready"
		sleep 0.01
	done
	measure get+login "$run" "$url" "$token"
	rc=0
	wait "$GEN_PID" || rc=$?
	GEN_PID=""
	[ "$rc" -eq 0 ] || { cat "$BENCH_TMP/run$run/login.out" >&2
		die "login generator failed (status $rc)"; }
	echo "$run $(cat "$BENCH_TMP/run$run/login.out")" >>"$BENCH_TMP/logins"
	bad=$(awk '$4 != 200 { n++ } END { print n + 0 }' \
	    "$BENCH_TMP/run$run/logins.txt")
	if [ "$bad" -gt 0 ]; then
		warn "run $run: $bad login(s) not 200 (due_s lag_ms latency_ms status):"
		awk '$4 != 200' "$BENCH_TMP/run$run/logins.txt" | head -n 5 >&2
	fi
	sleep 1
	echo "$run $mem_fresh $mem_reg $(dkd_mem)" >>"$BENCH_TMP/memory"
	check_list "$url" "$token" >/dev/null
	say "run $run done (load average $(cut -d' ' -f1-3 /proc/loadavg))"

	stop_dkd
	rm -rf -- "$BENCH_TMP/run$run"
	run=$((run + 1))
done

# median COLUMN FILE [NAME]: median of a column (rows whose 2nd field is
# NAME, if given).
median() {
	awk -v c="$1" -v n="${3:-}" 'n == "" || $2 == n { print $c }' "$2" |
	    sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

echo
echo "GET /api/projects ($PROJECTS projects), without and with $LOGIN_RATE logins/s:"
{
	cat "$BENCH_TMP/results"
	if [ "$RUNS" -gt 1 ]; then
		for n in get get+login; do
			printf 'median %s %.2f' "$n" "$(median 3 "$BENCH_TMP/results" "$n")"
			for c in 4 5 6; do printf ' %.3f' "$(median "$c" "$BENCH_TMP/results" "$n")"; done
			printf ' - - -'
			for c in 10 11 12; do printf ' %.0f' "$(median "$c" "$BENCH_TMP/results" "$n")"; done
			echo
		done
	fi
} | awk '
function line(r, n, rps, p50, p90, p99, req, bad, serr, l, h, a) {
	printf "%-7s %-10s %10s %8s %8s %8s %9s %6s %6s %6s %6s %6s\n",
	    r, n, rps, p50, p90, p99, req, bad, serr, l, h, a
}
BEGIN {
	line("run", "load", "req/s", "p50 ms", "p90 ms", "p99 ms", "requests",
	    "non2xx", "sockerr", "loop%", "hash%", "api%")
}
{ line($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) }'
echo "(loop% / hash% = CPU of the master's event-loop thread / its other" \
    "threads (argon2); api% = dkd-api; 100 = one core; wrk and the login" \
    "generator share the same $(nproc) CPUs)"

echo
echo "Logins during the second wrk run (latency from when each was due):"
{
	cat "$BENCH_TMP/logins"
	if [ "$RUNS" -gt 1 ]; then
		printf 'median %.0f %.0f %.2f' "$(median 2 "$BENCH_TMP/logins")" \
		    "$(median 3 "$BENCH_TMP/logins")" "$(median 4 "$BENCH_TMP/logins")"
		for c in 5 6 7 8; do printf ' %.3f' "$(median "$c" "$BENCH_TMP/logins")"; done
		printf ' %.0f\n' "$(median 9 "$BENCH_TMP/logins")"
	fi
} | awk '
function line(r, ok, n, rate, p50, p99, mx, lag, rc) {
	printf "%-7s %6s %6s %8s %8s %8s %8s %9s %6s\n",
	    r, ok, n, rate, p50, p99, mx, lag, rc
}
BEGIN {
	line("run", "200s", "logins", "rate/s", "p50 ms", "p99 ms", "max ms",
	    "max lag", "reconn")
}
{ line($1, $2, $3, $4, $5, $6, $7, $8, $9) }'
echo "(max lag = latest start after the due time, i.e. generator delay;" \
    "reconn = connections reopened)"

echo
echo "Memory, KiB (master Pss / Pss_Anon; all four processes Pss / Pss_Anon):"
awk '
function line(r, s, a, b, c, d) {
	printf "%-5s %-28s %9s %9s %9s %9s\n", r, s, a, b, c, d
}
BEGIN { line("run", "state", "m Pss", "m anon", "all Pss", "all anon") }
{
	line($1, "fresh (no account)", $2, $3, $4, $5)
	line($1, "registered, after GETs", $6, $7, $8, $9)
	line($1, "1 s after the logins", $10, $11, $12, $13)
}' "$BENCH_TMP/memory"
echo "(idle-memory.sh budgets the fresh state: all Pss <= 16 MiB, all" \
    "anon <= 6 MiB; argon2id needs 19 MiB per hash)"
echo

rps=$(median 3 "$BENCH_TMP/results" get)
p50=$(median 4 "$BENCH_TMP/results" get)
p90=$(median 5 "$BENCH_TMP/results" get)
p99=$(median 6 "$BENCH_TMP/results" get)
lrps=$(median 3 "$BENCH_TMP/results" get+login)
lp50=$(median 4 "$BENCH_TMP/results" get+login)
lp99=$(median 6 "$BENCH_TMP/results" get+login)
login_ok=$(awk '{ n += $2 } END { print n + 0 }' "$BENCH_TMP/logins")
login_n=$(awk '{ n += $3 } END { print n + 0 }' "$BENCH_TMP/logins")
lrate=$(median 4 "$BENCH_TMP/logins")
lminrate=$(awk 'NR == 1 || $4 < m { m = $4 } END { print m + 0 }' "$BENCH_TMP/logins")
llat50=$(median 5 "$BENCH_TMP/logins")
llat99=$(median 6 "$BENCH_TMP/logins")
# Worst run: the memory of the four processes after the logins.
# shellcheck disable=SC2046
set -- $(awk 'NR == 1 || $13 > ta { tp = $12; ta = $13; ma = $11; fa = $3 }
    END { print tp + 0, ta + 0, ma + 0, fa + 0 }' "$BENCH_TMP/memory")
mem_tp=$1
mem_ta=$2
mem_ma=$3
mem_fa=$4

label=$([ "$RUNS" -gt 1 ] && echo "median of $RUNS" || echo "1 run")
summary "$(awk -v l="$label" -v r="$rps" -v a="$p50" -v b="$p90" -v c="$p99" \
    'BEGIN { printf "projects (%s): GET /api/projects %.0f req/s, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms (no logins)", l, r, a, b, c }')"
summary "$(awk -v l="$label" -v r="$lrps" -v a="$lp50" -v c="$lp99" -v lr="$LOGIN_RATE" \
    'BEGIN { printf "projects (%s): with %d logins/s: GET %.0f req/s, p50 %.3f ms, p99 %.3f ms", l, lr, r, a, c }')"
summary "$(awk -v l="$label" -v ok="$login_ok" -v n="$login_n" -v r="$lrate" -v m="$lminrate" \
    -v a="$llat50" -v b="$llat99" \
    'BEGIN { printf "projects (%s): logins %d/%d answered 200, rate %.2f/s (lowest run %.2f/s), latency p50 %.1f ms, p99 %.1f ms", l, ok, n, r, m, a, b }')"
summary "$(awk -v tp="$mem_tp" -v ta="$mem_ta" -v ma="$mem_ma" -v fa="$mem_fa" \
    'BEGIN { printf "projects memory after the logins (worst run): all four Pss %.2f MiB, Pss_Anon %.2f MiB; master Pss_Anon %.2f MiB (%.2f MiB fresh)", tp / 1024, ta / 1024, ma / 1024, fa / 1024 }')"
if [ "$mem_tp" -gt 16384 ] || [ "$mem_ta" -gt 6144 ]; then
	summary "WARNING: after logins dkd is over the idle memory budget" \
	    "(16 MiB Pss, 6 MiB Pss_Anon); not checked here, see the memory table"
fi
if [ -s "$BENCH_TMP/foreign" ]; then
	summary "WARNING: other dkd/nginx/wrk processes were running and" \
	    "competed for CPU: $(tr '\n' ' ' <"$BENCH_TMP/foreign")"
fi

# Verdict.
status=0
fail() {
	summary "FAIL: projects: $*"
	status=1
}
awk -v r="$rps" -v t="$TARGET_RPS" 'BEGIN { exit !(r >= t) }' ||
    fail "GET /api/projects $(printf '%.0f' "$rps") req/s < target $TARGET_RPS req/s (no logins)"
awk -v p="$lp99" -v t="$TARGET_P99_MS" 'BEGIN { exit !(p < t) }' ||
    fail "GET p99 ${lp99} ms >= target ${TARGET_P99_MS} ms with $LOGIN_RATE logins/s"
if [ "$login_n" -eq 0 ] || [ "$login_ok" -ne "$login_n" ]; then
	fail "$((login_n - login_ok)) of $login_n logins were not answered 200"
fi
awk -v r="$lminrate" -v t="$TARGET_LOGIN_RATE" 'BEGIN { exit !(r >= t) }' ||
    fail "login rate ${lminrate}/s < target ${TARGET_LOGIN_RATE}/s (lowest run)"
errs=$(awk '{ b += $8; s += $9 } END { print b + 0, s + 0 }' "$BENCH_TMP/results")
# shellcheck disable=SC2086
set -- $errs
[ "$1" -eq 0 ] || fail "$1 non-2xx answers to GET /api/projects"
[ "$2" -eq 0 ] || fail "$2 socket errors in the wrk runs"
# Per-run misses of the median-checked targets, for the record.
awk -v t="$TARGET_RPS" -v p="$TARGET_P99_MS" '
	$2 == "get" && $3 < t { printf "run %s: %.0f req/s < %d\n", $1, $3, t }
	$2 == "get+login" && $6 >= p { printf "run %s: p99 %s ms >= %d with logins\n", $1, $6, p }' \
    "$BENCH_TMP/results" >"$BENCH_TMP/misses"
if [ -s "$BENCH_TMP/misses" ]; then
	summary "projects: single runs below target (medians decide):" \
	    "$(tr '\n' ';' <"$BENCH_TMP/misses")"
fi
if [ "$status" -eq 0 ]; then
	summary "projects targets met (>= $TARGET_RPS req/s, p99 < $TARGET_P99_MS ms" \
	    "with $LOGIN_RATE logins/s, all logins 200 at >= $TARGET_LOGIN_RATE/s)"
fi
exit "$status"
