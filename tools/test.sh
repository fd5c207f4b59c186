#!/bin/sh
# make test: every suite, then one line "N passed, N failed" over all.
#   build       unit, lint and integration (real dkd, real dockerd)
#   build-asan  unit under ASan/UBSan (sandbox off: seccomp and the
#               sanitizer runtimes do not mix)
#   build-fuzz  libFuzzer targets for a fixed time each (clang)
set -u
build=${1:-build}
top=$(pwd)
status=0

run() {
	echo "==> $*"
	"$@" || status=1
}

run meson test -C "$build" --print-errorlogs --suite unit --suite lint \
    --suite integration

if [ ! -f build-asan/build.ninja ]; then
	run meson setup build-asan -Db_sanitize=address,undefined \
	    -Dsandbox=false --prefix="$top/build-asan/root" >/dev/null
fi
run ninja -C build-asan
run meson test -C build-asan --print-errorlogs --suite unit

if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang run meson setup build-fuzz -Dfuzz=true -Dsandbox=false \
	    -Db_sanitize=address,undefined -Db_lundef=false \
	    --prefix="$top/build-fuzz/root" >/dev/null
fi
run ninja -C build-fuzz
run meson test -C build-fuzz --print-errorlogs --suite fuzz

python3 tools/test-summary.py "$build" build-asan build-fuzz || status=1
exit $status
