#!/bin/sh
# Throughput and latency of an authenticated GET
# /api/projects/{id}/services?limit=100 on a project of 50 services
# (about 12 KB of JSON) against nginx serving the same bytes from a file.
#
#   bench/services-throughput.sh [prefix]    (prefix defaults to build/root)
#
# Each run starts a fresh dkd and a fresh nginx, creates the project and
# its services, copies dkd's answer into nginx's root, then measures both
# with wrk as health-throughput.sh does.
#
# Environment: RUNS (1), THREADS (2), CONNECTIONS (50), DURATION (10),
# WARMUP (2), SERVICES (50), RAW (1: also print wrk's own output),
# BENCH_SUMMARY (set by run.sh).  Target: dkd >= 0.5 x nginx's req/s.
set -eu
prog=services-throughput
. "$(dirname -- "$0")/lib.sh"

wrk_settings
SERVICES=${SERVICES:-50}

need_wrk_nginx
bench_init "$@"
CLK_TCK=$(getconf CLK_TCK)

# prepare_targets RUNDIR (compare_runs' hook): an admin, a project of
# SERVICES services; nginx serves dkd's exact answer at the same path.
prepare_targets() {
	base=${DKD_URL%/api/health}
	token=$("$BENCH_PREFIX/bin/dkctl" -s "$1/dkd/dkd.sock" setup-token |
	    head -n 1)
	out=$(python3 - "$base" "$token" "$SERVICES" <<'PY'
import http.client, json, sys, urllib.parse
base, setup, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
def call(method, path, body=None, token=None):
    h = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    d = r.read()
    if r.status >= 300:
        sys.exit("%s %s: HTTP %d %r" % (method, path, r.status, d[:200]))
    return json.loads(d)
t = call("POST", "/api/auth/register", {"email": "bench@example.com",
         "name": "Bench", "password": "bench-password-0123",
         "setup_token": setup})["tokens"]["access_token"]
p = call("POST", "/api/projects", {"name": "bench"}, t)["id"]
for i in range(n):
    call("POST", "/api/projects/%s/services" % p, {"name": "svc-%03d" % i}, t)
print(t, p)
PY
	) || die "cannot prepare the project"
	set -- "$1" $out
	path=/api/projects/$3/services
	mkdir -p "$1/nginx/www$path"
	rmdir "$1/nginx/www$path"
	curl -fsS --max-time 5 -H "Authorization: Bearer $2" \
	    -o "$1/nginx/www$path" "$base$path?limit=100" ||
	    die "GET $path failed"
	chmod 0644 "$1/nginx/www$path"
	chmod -R a+rX "$1/nginx/www"
	printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$2" \
	    >"$1/auth.lua"
	DKD_TARGET=$base$path?limit=100
	NGINX_TARGET=${NGINX_URL%/api/health}$path
	DKD_WRK_ARGS="-s $1/auth.lua"
	[ "$run" -eq 1 ] && say "response: $(wc -c <"$1/nginx/www$path")" \
	    "bytes of JSON for $SERVICES services"
	return 0
}

compare_runs
report_comparison "services ($SERVICES)"
