#!/usr/bin/env python3
"""Projects (/api/projects: create, slugs, list with paging and the name
filter, get, delete, the 409 for a project with services) and the
database presets (/api/presets/databases).  One dkd serves all checks."""

import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (RFC3339_RE, UUID_RE, Dkd, check, check_page, eq,
                     expect_empty, expect_error, expect_json,
                     expect_validation, parse_time, run_tests)

shared = {}
PROJECT_KEYS = {"id", "name", "slug", "created_at", "updated_at"}
PRESET_IDS = {"MariaDB": "mariadb", "Meilisearch": "meilisearch",
              "MySQL": "mysql", "PostgreSQL": "postgres", "Redis": "redis",
              "Typesense": "typesense"}


def dkd():
    if "d" not in shared:
        d = Dkd("projects", keep=True).start()
        _, t = d.register_admin()
        shared["d"] = d
        shared["tok"] = t["access_token"]
        d.create_user(t["access_token"], "member@example.test", "Member")
        shared["mtok"] = d.login("member@example.test")["access_token"]
    return shared["d"]


def tok():
    dkd()
    return shared["tok"]


def check_project(p, what, name=None):
    check(isinstance(p, dict), "%s: not an object: %r" % (what, p))
    eq(set(p), PROJECT_KEYS, "%s: keys" % what)
    check(UUID_RE.match(p["id"]), "%s: id %r is not a UUID v4"
          % (what, p["id"]))
    for k in ("created_at", "updated_at"):
        check(RFC3339_RE.match(p[k]), "%s: %s %r is not RFC 3339"
              % (what, k, p[k]))
    if name is not None:
        eq(p["name"], name, "%s: name" % what)
    return p


def create(name, token=None):
    d = dkd()
    r = d.api("POST", "/api/projects", {"name": name}, token=token or tok())
    return check_project(expect_json(r, 201, "POST /api/projects %r" % name),
                         "project %r" % name, name)


def slug_base(p, what):
    m = re.match(r"^(.*)-([0-9a-f]{6})$", p["slug"])
    check(m, "%s: slug %r does not end in -XXXXXX (6 hex)"
          % (what, p["slug"]))
    return m.group(1)


# -------------------------------------------------------------- projects

def test_create():
    d = dkd()
    t0 = time.time()
    p = create("My App!")
    eq(slug_base(p, "My App!"), "my-app", "slug base of 'My App!'")
    check(abs(parse_time(p["created_at"]) - t0) < 60, "created_at %r is "
          "not about now" % p["created_at"])
    got = expect_json(d.api("GET", "/api/projects/" + p["id"], token=tok()),
                      200, "GET /api/projects/ID")
    eq(got, p, "GET /api/projects/ID vs the created project")
    # any signed-in user may create projects and see everyone's
    m = create("Member's project", token=shared["mtok"])
    eq(expect_json(d.api("GET", "/api/projects/" + m["id"], token=tok()),
                   200, "admin reads the member's project"), m,
       "member's project as the admin sees it")
    eq(expect_json(d.api("GET", "/api/projects/" + p["id"],
                         token=shared["mtok"]), 200,
                   "member reads the admin's project"), p,
       "admin's project as the member sees it")


def test_slugs():
    cases = [
        ("My App!", "my-app"),
        ("Café", "café"),
        ("ÄÖÜ Straße", "äöü-straße"),
        ("!!!", "project"),
        ("---", "project"),
        ("  Hello   World  ", "hello-world"),
        ("foo_bar.baz", "foo-bar-baz"),
        ("API v2 -- Beta", "api-v2-beta"),
        ("123", "123"),
        ("a" * 60, "a" * 40),
        ("a" * 39 + " bcd", "a" * 39),
        ("x" * 38 + "--yy", "x" * 38 + "-y"),
        ("Über" + "z" * 50, "über" + "z" * 36),
    ]
    for name, base in cases:
        p = create(name)
        eq(slug_base(p, name), base, "slug base of %r (slug %r)"
           % (name, p["slug"]))
        check(len(p["slug"]) <= 47, "slug %r longer than 47 chars"
              % p["slug"])
    a, b = create("Same Name"), create("Same Name")
    check(a["slug"] != b["slug"], "two projects got the same slug %r"
          % a["slug"])
    check(a["id"] != b["id"], "two projects got the same id")


def test_create_validation():
    d = dkd()
    for body in ({}, {"name": ""}, {"name": None}):
        expect_validation(d.api("POST", "/api/projects", body, token=tok()),
                          "POST /api/projects %r" % body,
                          {"name": "Name is required."})
    expect_error(d.api("POST", "/api/projects", {"name": "x"}), 401,
                 "unauthorized", "Authentication required.",
                 "POST /api/projects without a token")
    expect_error(d.api("GET", "/api/projects"), 401, "unauthorized",
                 "Authentication required.", "GET /api/projects without a "
                 "token")


def test_get_404():
    d = dkd()
    for pid in (str(uuid.uuid4()), "nope", "%27%20OR%201%3D1--"):
        for m in ("GET", "DELETE"):
            expect_error(d.api(m, "/api/projects/" + pid, token=tok()), 404,
                         "not_found", "Project not found.",
                         "%s /api/projects/%s" % (m, pid))


def test_delete():
    d = dkd()
    p = create("to be deleted")
    keep = create("to be kept")
    expect_empty(d.api("DELETE", "/api/projects/" + p["id"], token=tok()),
                 204, "DELETE /api/projects/ID")
    expect_error(d.api("GET", "/api/projects/" + p["id"], token=tok()), 404,
                 "not_found", "Project not found.", "GET after DELETE")
    expect_error(d.api("DELETE", "/api/projects/" + p["id"], token=tok()),
                 404, "not_found", "Project not found.", "DELETE again")
    j = expect_json(d.api("GET", "/api/projects?name=to%20be%20",
                          token=tok()), 200, "list after delete")
    eq([x["id"] for x in j["data"]], [keep["id"]], "projects left")
    expect_json(d.api("GET", "/api/projects/" + keep["id"], token=tok()),
                200, "the other project")
    # members may delete projects (no per-project access control)
    m = create("member deletes")
    expect_empty(d.api("DELETE", "/api/projects/" + m["id"],
                       token=shared["mtok"]), 204, "DELETE as a member")


def test_delete_with_service():
    d = dkd()
    p = create("has a service")
    sid = str(uuid.uuid4())
    d.db_query("INSERT INTO services (id, project_id, name) VALUES (?, ?, ?)",
               (sid, p["id"], "web"))
    expect_error(d.api("DELETE", "/api/projects/" + p["id"], token=tok()),
                 409, "conflict", "Project has 1 service(s); delete them "
                 "before deleting the project.", "DELETE with one service")
    expect_json(d.api("GET", "/api/projects/" + p["id"], token=tok()), 200,
                "project after the refused delete")
    d.db_query("INSERT INTO services (id, project_id, name) VALUES (?, ?, ?)",
               (str(uuid.uuid4()), p["id"], "worker"))
    expect_error(d.api("DELETE", "/api/projects/" + p["id"], token=tok()),
                 409, "conflict", "Project has 2 service(s); delete them "
                 "before deleting the project.", "DELETE with two services")
    d.db_query("DELETE FROM services WHERE project_id = ?", (p["id"],))
    expect_empty(d.api("DELETE", "/api/projects/" + p["id"], token=tok()),
                 204, "DELETE after the services are gone")


def test_list():
    d = dkd()
    first = create("ListOrder first")
    time.sleep(1.1)     # created_at has second precision
    second = create("ListOrder second")
    j = expect_json(d.api("GET", "/api/projects?name=listorder",
                          token=tok()), 200, "GET /api/projects?name=...")
    data = check_page(j, "filtered list", 0, 0, 2)
    eq([p["id"] for p in data], [second["id"], first["id"]],
       "order (newest first)")
    eq(data, [second, first], "listed projects vs created")
    j = expect_json(d.api("GET", "/api/projects", token=tok()), 200,
                    "GET /api/projects")
    data = check_page(j, "full list", 0, 0)
    check(j["total_count"] >= 2, "total_count %r" % j["total_count"])
    times = [parse_time(p["created_at"]) for p in data]
    eq(times, sorted(times, reverse=True), "created_at order")
    for p in data:
        check_project(p, "listed project")


def test_list_paging():
    d = dkd()
    made = [create("Pager %03d" % i) for i in range(105)]
    ids = {p["id"] for p in made}
    for q, off, lim, n in (("", 0, 0, 20), ("&limit=0", 0, 0, 20),
                           ("&limit=-1", 0, -1, 20),
                           ("&limit=1000", 0, 1000, 100),
                           ("&limit=100", 0, 100, 100),
                           ("&limit=101", 0, 101, 100),
                           ("&limit=7", 0, 7, 7),
                           ("&offset=100", 100, 0, 5),
                           ("&offset=-5&limit=3", -5, 3, 3),
                           ("&offset=105", 105, 0, 0),
                           ("&offset=999999", 999999, 0, 0)):
        j = expect_json(d.api("GET", "/api/projects?name=pager%20" + q,
                              token=tok()), 200, "GET ?name=pager " + q)
        data = check_page(j, q or "no offset/limit", off, lim, 105)
        eq(len(data), n, "projects returned for %r" % q)
        check({p["id"] for p in data} <= ids, "foreign projects for %r" % q)
    seen = []
    for off in range(0, 105, 25):
        j = expect_json(d.api("GET", "/api/projects?name=PAGER&offset=%d&"
                              "limit=25" % off, token=tok()), 200,
                        "page at %d" % off)
        seen += [p["id"] for p in check_page(j, "page", off, 25, 105)]
    eq(len(seen), 105, "projects over all pages")
    eq(set(seen), ids, "pages cover every project exactly once")
    for q, param in (("offset=x", "offset"), ("offset=1.5", "offset"),
                     ("offset=", "offset"), ("offset=1e3", "offset"),
                     ("limit=abc", "limit"), ("limit=10x", "limit"),
                     ("limit=", "limit")):
        expect_error(d.api("GET", "/api/projects?" + q, token=tok()), 400,
                     "invalid", 'Query param "%s" must be an integer.'
                     % param, "GET /api/projects?" + q)


def all_projects(d):
    out, off = [], 0
    while True:
        j = expect_json(d.api("GET", "/api/projects?limit=100&offset=%d"
                              % off, token=tok()), 200, "GET all projects")
        out += j["data"]
        off += 100
        if off >= j["total_count"]:
            return out


def test_name_filter():
    d = dkd()
    names = ["Filter Alpha", "filter beta", "FILTER GAMMA", "100% real",
             "100 percent", "under_score", "underXscore", "back\\slash",
             "quote'name", "dbl\"quote"]
    made = {n: create(n) for n in names}
    every = [p["name"] for p in all_projects(d)]

    def filt(q, literal):
        j = expect_json(d.api("GET", "/api/projects?limit=100&name=" + q,
                              token=tok()), 200, "GET ?name=" + q)
        got = sorted(p["name"] for p in check_page(j, "name=" + q, 0, 100))
        want = sorted(n for n in every if literal.lower() in n.lower())
        eq(got, want, "projects for name=%r (filter %r)" % (q, literal))
        return got

    eq(filt("fIlTeR", "filter"), sorted(names[:3]), "name=fIlTeR")
    eq(filt("alpha", "alpha"), ["Filter Alpha"], "name=alpha")
    eq(filt("100%25", "100%"), ["100% real"], "name=100%")
    filt("%25", "%")
    eq(filt("under_", "under_"), ["under_score"], "name=under_")
    filt("_", "_")
    eq(filt("back%5Cslash", "back\\slash"), ["back\\slash"],
       "name=back\\slash")
    filt("%5C", "\\")
    filt("%5C%25", "\\%")
    filt("quote'", "quote'")
    filt("%22", '"')
    eq(filt("no-such-project-here", "no-such-project-here"), [], "no match")
    j = expect_json(d.api("GET", "/api/projects?name=100%25", token=tok()),
                    200, "GET ?name=100%")
    check_page(j, "name=100%", 0, 0, 1)
    eq(j["data"][0], made["100% real"], "project found by name=100%")


# --------------------------------------------------------------- presets

def test_presets_list():
    d = dkd()
    r = d.api("GET", "/api/presets/databases", token=shared["mtok"])
    j = expect_json(r, 200, "GET /api/presets/databases")
    check(isinstance(j, list), "preset list is not a bare array: %r" % j)
    eq([p.get("name") for p in j], sorted(PRESET_IDS),
       "preset names (sorted by name)")
    eq([p.get("id") for p in j], [PRESET_IDS[n] for n in sorted(PRESET_IDS)],
       "preset ids")
    for p in j:
        what = "preset %s" % p.get("id")
        eq(set(p), {"id", "name", "image", "icon_url", "ports", "volumes",
                    "env_vars"}, "%s: keys" % what)
        check(isinstance(p["image"], str) and p["image"], "%s: image"
              % what)
        check(p["icon_url"].startswith("https://"), "%s: icon_url %r"
              % (what, p["icon_url"]))
        check(p["ports"] and all(set(x) == {"container_port", "protocol"} and
                                 isinstance(x["container_port"], int) and
                                 x["protocol"] in ("tcp", "udp")
                                 for x in p["ports"]),
              "%s: ports %r" % (what, p["ports"]))
        check(p["volumes"] and all(set(v) == {"mount_path"} and
                                   v["mount_path"].startswith("/")
                                   for v in p["volumes"]),
              "%s: volumes %r" % (what, p["volumes"]))
        check(p["env_vars"], "%s: no env_vars" % what)
        for e in p["env_vars"]:
            check(set(e) in ({"key", "value"}, {"key", "generate"}),
                  "%s: env var %r has neither exactly value nor generate"
                  % (what, e))
    pg = [p for p in j if p["id"] == "postgres"][0]
    eq(pg["image"], "postgres:16", "postgres image")
    eq(pg["ports"], [{"container_port": 5432, "protocol": "tcp"}],
       "postgres ports")
    eq(pg["volumes"], [{"mount_path": "/var/lib/postgresql/data"}],
       "postgres volumes")
    env = {e["key"]: e for e in pg["env_vars"]}
    eq(env.get("POSTGRES_PASSWORD"), {"key": "POSTGRES_PASSWORD",
                                      "generate": "password_24"},
       "POSTGRES_PASSWORD")
    eq(env.get("POSTGRES_USER"), {"key": "POSTGRES_USER",
                                  "value": "postgres"}, "POSTGRES_USER")
    eq(env.get("POSTGRES_DB"), {"key": "POSTGRES_DB", "value": "app"},
       "POSTGRES_DB")
    ports = {p["id"]: p["ports"][0]["container_port"] for p in j}
    eq(ports, {"postgres": 5432, "mysql": 3306, "mariadb": 3306,
               "redis": 6379, "meilisearch": 7700, "typesense": 8108},
       "container ports of the presets")
    shared["presets"] = j


def test_preset_get():
    d = dkd()
    if "presets" not in shared:
        test_presets_list()
    listed = {p["id"]: p for p in shared["presets"]}
    values = []
    for i in range(3):
        j = expect_json(d.api("GET", "/api/presets/databases/postgres",
                              token=shared["mtok"]), 200,
                        "GET /api/presets/databases/postgres #%d" % (i + 1))
        pw = [e for e in j["env_vars"] if e["key"] == "POSTGRES_PASSWORD"]
        eq(len(pw), 1, "POSTGRES_PASSWORD entries")
        eq(set(pw[0]), {"key", "value"}, "keys of POSTGRES_PASSWORD")
        check(re.match(r"^[A-Za-z0-9]{24}$", pw[0]["value"]),
              "POSTGRES_PASSWORD %r is not 24 chars of [A-Za-z0-9]"
              % pw[0]["value"])
        values.append(pw[0]["value"])
        want = dict(listed["postgres"])
        want["env_vars"] = [e if "value" in e else
                            {"key": e["key"], "value": pw[0]["value"]}
                            for e in want["env_vars"]]
        eq(j, want, "postgres preset vs the listed one, generated")
    eq(len(set(values)), 3, "generated passwords of 3 calls %r" % values)
    for pid, p in listed.items():
        j = expect_json(d.api("GET", "/api/presets/databases/" + pid,
                              token=tok()), 200, "GET preset %s" % pid)
        eq(j["id"], pid, "id of preset %s" % pid)
        eq([e["key"] for e in j["env_vars"]],
           [e["key"] for e in p["env_vars"]], "env keys of %s" % pid)
        for e, le in zip(j["env_vars"], p["env_vars"]):
            eq(set(e), {"key", "value"}, "%s %s keys" % (pid, e["key"]))
            if "value" in le:
                eq(e["value"], le["value"], "%s %s" % (pid, e["key"]))
            else:
                check(isinstance(e["value"], str) and len(e["value"]) >= 24,
                      "%s %s: generated value %r" % (pid, e["key"],
                                                     e["value"]))
        eq({k: v for k, v in j.items() if k != "env_vars"},
           {k: v for k, v in p.items() if k != "env_vars"},
           "preset %s apart from env_vars" % pid)


def test_preset_404():
    d = dkd()
    expect_error(d.api("GET", "/api/presets/databases/nope", token=tok()),
                 404, "not_found", 'Preset "nope" not found.',
                 "GET /api/presets/databases/nope")
    expect_error(d.api("GET", "/api/presets/databases/Postgres",
                       token=tok()), 404, "not_found",
                 'Preset "Postgres" not found.', "GET .../Postgres")
    for path in ("/api/presets/databases", "/api/presets/databases/postgres"):
        expect_error(d.api("GET", path), 401, "unauthorized",
                     "Authentication required.", "GET %s without a token"
                     % path)


run_tests([
    ("POST /api/projects: 201 project; any user reads any project",
     test_create),
    ("slugs: lower-case, runs of other chars -> '-', Unicode letters kept, "
     "40 chars, 'project', -XXXXXX", test_slugs),
    ("POST /api/projects without a name: 422; without a token: 401",
     test_create_validation),
    ("GET/DELETE /api/projects/{unknown}: 404 \"Project not found.\"",
     test_get_404),
    ("DELETE /api/projects/{id}: 204, then 404", test_delete),
    ("DELETE a project with services: 409 \"Project has N service(s)...\"",
     test_delete_with_service),
    ("GET /api/projects: newest first, envelope", test_list),
    ("GET /api/projects paging: default 20, max 100, offset, echo; bad "
     "offset/limit 400", test_list_paging),
    ("GET /api/projects?name=: case-insensitive substring, % _ \\ literal",
     test_name_filter),
    ("GET /api/presets/databases: bare array sorted by name, postgres "
     "details", test_presets_list),
    ("GET /api/presets/databases/{id}: generators materialised, fresh each "
     "call", test_preset_get),
    ("GET /api/presets/databases/nope: 404; presets need a token",
     test_preset_404),
])
