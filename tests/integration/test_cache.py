#!/usr/bin/env python3
"""dkd-api keeps the answers of reads the master marks as cacheable and
asks the master, on each identical request, whether its copy is still
current.  What a user must never see: a stale answer after a write, an
answer meant for someone the master would refuse, or one user's answer
after a failed authentication."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (Dkd, check, eq, expect_empty, expect_error,  # noqa: E402
                     expect_json, run_tests)

shared = {}


def dkd():
    if "d" not in shared:
        d = Dkd("cache", keep=True).start()
        _, t = d.register_admin()
        shared.update(d=d, tok=t["access_token"])
        d.create_user(t["access_token"], "member@example.test", "Member")
        shared["mtok"] = d.login("member@example.test")["access_token"]
    return shared["d"]


def get(path, token):
    return dkd().api("GET", path, token=token)


def names(r, what):
    return sorted(x["name"] for x in expect_json(r, 200, what)["data"])


def test_writes_show_at_once():
    d, t = dkd(), shared["tok"]
    before = names(get("/api/projects?limit=100", t), "list")
    eq(names(get("/api/projects?limit=100", t), "list again"), before,
       "the same list twice")
    p = expect_json(d.api("POST", "/api/projects", {"name": "cached one"},
                          token=t), 201, "create")
    eq(names(get("/api/projects?limit=100", t), "list after create"),
       sorted(before + ["cached one"]), "the new project, at once")
    path = "/api/projects/%s/services" % p["id"]
    eq(names(get(path, t), "services"), [], "no services yet")
    get(path, t)
    expect_json(d.api("POST", path, {"name": "web"}, token=t), 201,
                "create service")
    eq(names(get(path, t), "services after create"), ["web"],
       "the new service, at once")
    # A staged rename shows only after Apply, and then at once.
    sid = expect_json(get(path, t), 200, "services")["data"][0]["id"]
    expect_json(d.api("PATCH", "%s/%s" % (path, sid), {"name": "www"},
                      token=t), 200, "stage a rename")
    eq(names(get(path, t), "services, rename staged"), ["web"],
       "a staged rename changes nothing yet")
    expect_json(d.api("POST", "/api/projects/%s/deploy" % p["id"],
                      token=t), 200, "apply")
    eq(names(get(path, t), "services after apply"), ["www"],
       "the applied rename, at once")
    expect_json(d.api("POST", "/api/projects/%s/env-vars" % p["id"],
                      {"key": "A", "value": "1"}, token=t), 201, "stage")
    pend = "/api/projects/%s/pending-changes" % p["id"]
    eq(len(expect_json(get(pend, t), 200, "pending")["data"]), 1,
       "one staged change")
    expect_empty(d.api("DELETE", pend, token=t), 204, "discard")
    eq(expect_json(get(pend, t), 200, "pending after discard")["data"], [],
       "no staged change after discard")


def test_caller_checked_every_time():
    t, m = shared["tok"], shared["mtok"]
    dkd()
    users = expect_json(get("/api/users?limit=100", t), 200, "users")
    expect_json(get("/api/users?limit=100", t), 200, "users again")
    expect_error(get("/api/users?limit=100", m), 403, "forbidden",
                 "Insufficient permissions.", "a member after an admin")
    expect_error(get("/api/users?limit=100", "no-such-token"), 401,
                 "unauthorized", what="a bad token after an admin")
    expect_error(get("/api/users?limit=100", None), 401, "unauthorized",
                 what="no token after an admin")
    # A member whose role changes sees the change at once, both ways.
    mid = [u for u in users["data"] if u["email"] ==
           "member@example.test"][0]["id"]
    expect_json(dkd().api("PATCH", "/api/users/%s" % mid,
                          {"role": "admin"}, token=t), 200, "promote")
    expect_json(get("/api/users?limit=100", m), 200, "the member, promoted")
    expect_json(dkd().api("PATCH", "/api/users/%s" % mid,
                          {"role": "member"}, token=t), 200, "demote")
    expect_error(get("/api/users?limit=100", m), 403, "forbidden",
                 "Insufficient permissions.", "the member, demoted")


def test_answers_differ_by_fields():
    d, t = dkd(), shared["tok"]
    for i in range(3):
        expect_json(d.api("POST", "/api/projects", {"name": "page %d" % i},
                          token=t), 201, "create")
    a = expect_json(get("/api/projects?limit=1", t), 200, "limit 1")
    b = expect_json(get("/api/projects?limit=2", t), 200, "limit 2")
    c = expect_json(get("/api/projects?limit=1&offset=1", t), 200,
                    "offset 1")
    eq((len(a["data"]), len(b["data"]), len(c["data"])), (1, 2, 1),
       "page sizes")
    check(a["data"][0]["id"] != c["data"][0]["id"],
          "offset 1 is another project than offset 0")
    one = expect_json(get("/api/projects?name=page%201", t), 200, "name")
    eq([x["name"] for x in one["data"]], ["page 1"], "a name filter")


if __name__ == "__main__":
    run_tests([
        ("cache: every write shows in the next read (create, rename "
         "through Apply, staging, discard)", test_writes_show_at_once),
        ("cache: the caller is authenticated and authorised on every "
         "read, whatever was kept", test_caller_checked_every_time),
        ("cache: answers are kept per op and fields (pages, filters)",
         test_answers_differ_by_fields),
    ])
