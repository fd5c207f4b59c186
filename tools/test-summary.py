#!/usr/bin/env python3
"""Sum the results of meson test runs: TAP tests count each "ok" and
"not ok" line; other tests count once.  Prints "N passed, N failed" last.
Usage: test-summary.py BUILDDIR..."""
import json
import os
import re
import sys

passed = failed = 0
for build in sys.argv[1:]:
    log = os.path.join(build, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{build}: no test log", file=sys.stderr)
        failed += 1
        continue
    suites = {}
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            oks = len(re.findall(r"^ok\b", out, re.M))
            bad = len(re.findall(r"^not ok\b", out, re.M))
            ok_result = t["result"] in ("OK", "SKIP", "EXPECTEDFAIL")
            if oks + bad == 0:
                oks, bad = (1, 0) if ok_result else (0, 1)
            elif not ok_result and bad == 0:
                bad = 1  # crashed or timed out after its last line
            # "project:suite / test"
            suite = t["name"].split(" / ")[0].split(":")[-1]
            p, q = suites.get(suite, (0, 0))
            suites[suite] = (p + oks, q + bad)
            passed += oks
            failed += bad
    for s, (p, q) in sorted(suites.items()):
        print(f"{build}/{s}: {p} passed, {q} failed")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
