#!/bin/sh
# Idle memory of a fresh dkd: PSS and anonymous PSS of the master and its
# three workers, when idle, again after 10,000 GET /api/health, and again
# after the first account is registered and has logged in five times.
#
#   bench/idle-memory.sh [prefix]     (prefix defaults to build/root)
#
# Environment: IDLE_SECONDS (5), REQUESTS (10000), TOP (10: mappings of the
# biggest process to list, 0 for none), TOP_ALL (1: list them for all four), BENCH_SUMMARY (file to append the
# summary lines to; set by run.sh).
#
# Exit status 1 if a target is missed: total PSS <= 16 MiB, total
# anonymous PSS <= 6 MiB, checked on both rows (TARGET_PSS_MIB and
# TARGET_ANON_MIB override them, for trying out tighter budgets).
set -eu
prog=idle-memory
. "$(dirname -- "$0")/lib.sh"

IDLE_SECONDS=${IDLE_SECONDS:-5}
REQUESTS=${REQUESTS:-10000}
TOP=${TOP:-10}
TARGET_PSS_KIB=$((${TARGET_PSS_MIB:-16} * 1024))
TARGET_ANON_KIB=$((${TARGET_ANON_MIB:-6} * 1024))

bench_init "$@"

# One row per process and a total: state, process, pid, then the
# smaps_rollup fields in KiB.  Also appended to $BENCH_TMP/rows.
measure() {
	state=$1
	others=$(foreign_procs)
	if [ -n "$others" ]; then
		echo "$state: $others" >>"$BENCH_TMP/foreign"
	fi
	for pc in $(dkd_procs); do
		p=${pc%%:*}
		c=${pc#*:}
		proc_alive "$p" "$c" || die "$c (pid $p) is gone; see $DKD_LOG"
		awk -v state="$state" -v comm="$c" -v pid="$p" '
			$1 == "Rss:" { rss = $2 }
			$1 == "Pss:" { pss = $2 }
			$1 == "Pss_Anon:" { anon = $2; have = 1 }
			$1 == "Pss_File:" { file = $2 }
			$1 == "Pss_Shmem:" { shmem = $2 }
			END {
				if (!have) {
					print "no Pss_Anon in smaps_rollup " \
					    "(kernel too old?)" > "/dev/stderr"
					exit 1
				}
				printf "%s %s %s %d %d %d %d %d\n", state, comm,
				    pid, rss, pss, anon, file, shmem
			}' "/proc/$p/smaps_rollup" >>"$BENCH_TMP/rows"
	done
	# shellcheck disable=SC2046
	distinct_pages "$state" $(dkd_procs | sed 's/:.*//') ||
	    warn "could not read pagemap; no distinct-page figures"
}

# distinct_pages STATE PID...: the physical pages mapped by the four
# processes, each counted once, split into anonymous and file-backed
# (from /proc/PID/pagemap; the zero page is left out).  This is what their
# total Pss would be if no other process on the machine mapped the same
# pages, so unlike Pss it does not depend on what else is running.
distinct_pages() {
	python3 - "$@" <<'PY' >>"$BENCH_TMP/distinct"
import struct, sys
state, pids = sys.argv[1], sys.argv[2:]
seen = {}
kflags = open("/proc/kpageflags", "rb")
for pid in pids:
    with open(f"/proc/{pid}/maps") as maps, \
            open(f"/proc/{pid}/pagemap", "rb") as pm:
        for line in maps:
            f = line.split()
            name = f[5] if len(f) > 5 else ""
            if name.startswith("[vvar") or name == "[vsyscall]":
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            pm.seek(lo // 4096 * 8)
            data = pm.read((hi - lo) // 4096 * 8)
            for (e,) in struct.iter_unpack("<Q", data):
                if not (e >> 63) & 1:
                    continue            # not present
                pfn = e & ((1 << 55) - 1)
                if pfn == 0 or pfn in seen:
                    continue            # no PFN (not root?) or counted
                kflags.seek(pfn * 8)
                if (struct.unpack("<Q", kflags.read(8))[0] >> 24) & 1:
                    continue            # the zero page
                seen[pfn] = not (e >> 61) & 1   # anonymous?
anon = sum(seen.values()) * 4
print(state, len(seen) * 4, anon, len(seen) * 4 - anon)
PY
}

print_table() {
	awk -v tp="$TARGET_PSS_KIB" -v ta="$TARGET_ANON_KIB" '
	function mib(k) { return sprintf("%.2f", k / 1024) }
	function line(s, c, p, r, ps, a, f, sh) {
		printf "%-12s %-15s %7s %9s %9s %9s %9s %9s\n",
		    s, c, p, r, ps, a, f, sh
	}
	BEGIN {
		line("state", "process", "pid", "Rss", "Pss", "Pss_Anon",
		    "Pss_File", "Pss_Shmem")
	}
	{
		if (prev != "" && $1 != prev) total(prev)
		prev = $1
		line($1, $2, $3, $4, $5, $6, $7, $8)
		for (i = 4; i <= 8; i++) sum[$1, i] += $i
	}
	function total(s) {
		line(s, "total KiB", "", sum[s, 4], sum[s, 5], sum[s, 6],
		    sum[s, 7], sum[s, 8])
		line(s, "total MiB", "", mib(sum[s, 4]), mib(sum[s, 5]),
		    mib(sum[s, 6]), mib(sum[s, 7]), mib(sum[s, 8]))
		print ""
	}
	END { if (prev != "") total(prev) }' "$BENCH_TMP/rows"
	echo "(all figures in KiB unless marked MiB; targets: total Pss <=" \
	    "$((TARGET_PSS_KIB / 1024)) MiB, total Pss_Anon <=" \
	    "$((TARGET_ANON_KIB / 1024)) MiB)"
	if [ -s "$BENCH_TMP/distinct" ]; then
		echo
		echo "Distinct physical pages of the four processes (= their total Pss"
		echo "if nothing else on the machine mapped the same pages):"
		awk '{ printf "%-12s %9d KiB (%.2f MiB): anon %d KiB, file %d KiB\n",
		    $1, $2, $2 / 1024, $3, $4 }' "$BENCH_TMP/distinct"
	fi
}

# top_mappings PID COMM: the TOP mappings of PID by Pss, summed per file.
# /proc/PID/smaps has no per-mapping Pss_Anon; "Anonymous" is the resident
# anonymous (e.g. copy-on-written relocation) memory of the mapping.
top_mappings() {
	echo
	echo "Top $TOP mappings of $2 (pid $1) by Pss, summed per file, KiB:"
	printf '%9s %9s %9s %9s  %s\n' Pss Rss Anonymous Priv_Dirty mapping
	awk '
		/^[0-9a-f]+-[0-9a-f]+ / {
			name = (NF >= 6) ? $6 : "[anon]"
			next
		}
		$1 == "Pss:" { pss[name] += $2 }
		$1 == "Rss:" { rss[name] += $2 }
		$1 == "Anonymous:" { anon[name] += $2 }
		$1 == "Private_Dirty:" { pd[name] += $2 }
		END {
			for (n in pss)
				if (pss[n] > 0)
					printf "%9d %9d %9d %9d  %s\n",
					    pss[n], rss[n], anon[n], pd[n], n
		}' "/proc/$1/smaps" | sort -rn | head -n "$TOP"
}

# send_requests N: N keep-alive GET /api/health, each checked.
send_requests() {
	python3 - "$DKD_URL" "$1" "$HEALTH_BODY" <<'PY'
import http.client, sys, time, urllib.parse
url, n, want = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
u = urllib.parse.urlsplit(url)
conn = None
bad = reconnects = 0
t0 = time.monotonic()
for i in range(n):
    for attempt in range(3):
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
                reconnects += 1
            conn.request("GET", u.path)
            r = conn.getresponse()
            body = r.read()
            if r.will_close:
                conn.close()
                conn = None
            break
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
            if attempt == 2:
                raise
    if r.status != 200 or body != want:
        bad += 1
dt = time.monotonic() - t0
print(f"{n} requests in {dt:.2f}s over {reconnects} connection(s), "
      f"{bad} bad")
sys.exit(1 if bad else 0)
PY
}

# Register with the setup token dkd logged, then log in: each hash
# takes argon2's 19 MiB, which must be given back afterwards.
do_logins() {
	token=$(sed -n 's/.*setup?token=\([A-Za-z0-9_-]*\).*/\1/p' "$DKD_LOG" |
	    head -n 1)
	[ -n "$token" ] || { echo "no setup token in the log"; return 1; }
	python3 - "${DKD_URL%/health}" "$token" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status
who = {"email": "bench@example.test", "password": "bench-password"}
post("/auth/register", dict(who, name="Bench", setup_token=token))
for _ in range(5):
    if post("/auth/login", who) != 200:
        sys.exit("login failed")
print("registered and logged in 5 times")
PY
}

ports=$(free_ports 1)
say "starting dkd from $BENCH_PREFIX on 127.0.0.1:$ports"
start_dkd "$BENCH_TMP/dkd" "$ports"
say "dkd ready (master pid $DKD_PID, workers$DKD_WORKERS);" \
    "idle for ${IDLE_SECONDS}s"
sleep "$IDLE_SECONDS"
measure idle

say "sending $REQUESTS GET /api/health"
if ! send_requests "$REQUESTS" >"$BENCH_TMP/requests.out" 2>&1; then
	sed "s/^/  /" "$BENCH_TMP/requests.out" >&2
	die "health requests failed; dkd log: $(tail -n 5 "$DKD_LOG")"
fi
sed "s/^/$prog: /" "$BENCH_TMP/requests.out"
say "idle for ${IDLE_SECONDS}s"
sleep "$IDLE_SECONDS"
measure "after-$REQUESTS"

say "registering the first admin and logging in 5 times"
if ! do_logins >"$BENCH_TMP/logins.out" 2>&1; then
	sed "s/^/  /" "$BENCH_TMP/logins.out" >&2
	die "register/login failed; dkd log: $(tail -n 5 "$DKD_LOG")"
fi
sed "s/^/$prog: /" "$BENCH_TMP/logins.out"
say "idle for ${IDLE_SECONDS}s"
sleep "$IDLE_SECONDS"
measure "after-logins"

echo
print_table

if [ "$TOP" -gt 0 ]; then
	big=$(awk '$1 == "idle" { if ($5 > max) { max = $5; p = $3 ":" $2 } }
	    END { print p }' "$BENCH_TMP/rows")
	if [ "${TOP_ALL:-0}" = 1 ]; then
		for pc in $(dkd_procs); do
			top_mappings "${pc%%:*}" "${pc#*:}"
		done
	else
		top_mappings "${big%%:*}" "${big#*:}"
	fi
fi

# Verdict: both rows must meet both targets.
echo
status=0
for state in idle "after-$REQUESTS" after-logins; do
	# shellcheck disable=SC2046
	set -- $(awk -v s="$state" '$1 == s { p += $5; a += $6 }
	    END { print p + 0, a + 0 }' "$BENCH_TMP/rows")
	pss=$1
	anon=$2
	per=$(awk -v s="$state" '$1 == s {
		printf "%s%s %.2f/%.2f", sep, $2, $5 / 1024, $6 / 1024; sep = ", " }' \
	    "$BENCH_TMP/rows")
	summary "$(awk -v s="$state" -v p="$pss" -v a="$anon" -v per="$per" \
	    'BEGIN { printf "memory %-12s total Pss %.2f MiB, Pss_Anon %.2f MiB  (Pss/anon MiB: %s)", s, p / 1024, a / 1024, per }')"
	if [ -s "$BENCH_TMP/distinct" ]; then
		summary "$(awk -v s="$state" '$1 == s { printf "memory %-12s alone (distinct pages of the four) %.2f MiB, anon %.2f MiB", s, $2 / 1024, $3 / 1024 }' "$BENCH_TMP/distinct")"
	fi
	if [ "$pss" -gt "$TARGET_PSS_KIB" ]; then
		summary "$(awk -v p="$pss" -v t="$TARGET_PSS_KIB" -v s="$state" \
		    'BEGIN { printf "FAIL: %s total Pss %.2f MiB > target %d MiB", s, p / 1024, t / 1024 }')"
		status=1
	fi
	if [ "$anon" -gt "$TARGET_ANON_KIB" ]; then
		summary "$(awk -v a="$anon" -v t="$TARGET_ANON_KIB" -v s="$state" \
		    'BEGIN { printf "FAIL: %s total Pss_Anon %.2f MiB > target %d MiB", s, a / 1024, t / 1024 }')"
		status=1
	fi
done
# shellcheck disable=SC2046
set -- $(awk -v j="after-$REQUESTS" '{ p[$1] += $5; a[$1] += $6 }
    END { print p[j] - p["idle"], a[j] - a["idle"] }' "$BENCH_TMP/rows")
summary "memory growth after $REQUESTS requests: Pss ${1} KiB, Pss_Anon ${2} KiB"
if [ -s "$BENCH_TMP/foreign" ]; then
	summary "WARNING: other dkd/nginx/wrk processes ran during the" \
	    "measurement; shared library pages are split with them, so Pss" \
	    "reads low: $(tr '\n' ' ' <"$BENCH_TMP/foreign")"
fi
if [ "$status" -eq 0 ]; then
	summary "memory targets met (total Pss <= $((TARGET_PSS_KIB / 1024)) MiB," \
	    "Pss_Anon <= $((TARGET_ANON_KIB / 1024)) MiB)"
fi
exit "$status"
