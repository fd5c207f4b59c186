"""Helpers shared by the Python benchmarks (the shell ones have lib.sh).

Importing it makes the integration tests' helpers (tests/integration)
importable and sets DKD_PREFIX to build/root unless it is set."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests",
                                "integration"))
os.environ.setdefault("DKD_PREFIX", os.path.join(os.path.dirname(HERE),
                                                 "build", "root"))


def summary(line):
    """A summary line: printed, and appended to $BENCH_SUMMARY if set."""
    print(line, flush=True)
    f = os.environ.get("BENCH_SUMMARY")
    if f:
        with open(f, "a") as out:
            out.write(line + "\n")


def must(r, status, what):
    """The JSON body of reply r, which must have this status."""
    if r.status != status:
        raise SystemExit("%s: HTTP %d %r" % (what, r.status, r.body[:300]))
    return r.json() if r.body else None
