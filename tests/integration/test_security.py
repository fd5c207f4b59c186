#!/usr/bin/env python3
"""Security properties over HTTP: no token, API key or password in the
database files in plaintext, argon2id password hashes, SQL metacharacters
stored and returned verbatim, admin-only routes, registration gated by the
setup token, and hostile request bodies (oversized, malformed, deeply
nested, invalid UTF-8, NUL, wrong types, overlong strings) answered with
the right error while the daemon keeps serving."""

import base64
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (ADMIN_EMAIL, PASSWORD, Dkd, Skip, check, eq,
                     expect_error, expect_json, expect_validation, raw_http,
                     run_tests, wait_until)

shared = {}
HEALTH = b'{"status":"ok"}'


def dkd():
    if "d" not in shared:
        d = Dkd("security", keep=True).start()
        shared["setup_token"] = d.setup_token()
        u, t = d.register_admin(ADMIN_EMAIL, "Admin", PASSWORD)
        shared["d"] = d
        shared["admin"] = u
        shared["tok"] = t["access_token"]
        shared["api_pid"] = d.worker("dkd-api")
    return shared["d"]


def tok():
    dkd()
    return shared["tok"]


def still_serving(d, what):
    r = d.get("/api/health")
    eq((r.status, r.body), (200, HEALTH), "GET /api/health after %s" % what)
    eq(d.worker("dkd-api"), shared["api_pid"],
       "dkd-api pid after %s (it crashed or was restarted)" % what)
    expect_json(d.api("GET", "/api/auth/me", token=tok()), 200,
                "GET /api/auth/me after %s" % what)


def post_raw(d, path, body, token=None):
    return d.api("POST", path, body=body, token=tok() if token is None
                 else token)


# ------------------------------------------------------- secrets at rest

def test_no_plaintext_secrets():
    d = dkd()
    secrets = {"admin password": PASSWORD,
               "setup token": shared["setup_token"]}
    member_pw = "Member-Secret-Passw0rd"
    cli_pw = "Cli-Secret-Passw0rd"
    new_pw = "Changed-Secret-Passw0rd"
    d.create_user(tok(), "secret.member@example.test", "SM", member_pw)
    secrets["member password"] = member_pw
    r = d.dkctl("user", "add", "secret.cli@example.test", "SC",
                input=cli_pw + "\n")
    eq(r.returncode, 0, "dkctl user add (stderr %r)" % r.stderr)
    secrets["dkctl user password"] = cli_pw
    prefixes = []
    for i in range(3):
        t = d.login("secret.member@example.test", member_pw)
        secrets["access token %d" % i] = t["access_token"]
        secrets["refresh token %d" % i] = t["refresh_token"]
    t = expect_json(d.api("POST", "/api/auth/refresh",
                          {"refresh_token": t["refresh_token"]}), 200,
                    "refresh")
    secrets["rotated access token"] = t["access_token"]
    secrets["rotated refresh token"] = t["refresh_token"]
    for i in range(2):
        k = expect_json(d.api("POST", "/api/api-keys",
                              {"description": "secret key %d" % i},
                              token=t["access_token"]), 201, "API key")
        secrets["API key %d" % i] = k["token"]
        prefixes.append(k["prefix"])
        # use it, so that last_used_at is written too
        expect_json(d.api("GET", "/api/auth/me", token=k["token"]), 200,
                    "GET /api/auth/me with the API key")
    r = d.dkctl("apikey", "create", "secret.cli@example.test", "cli key")
    m = re.search(r"^token: (\S+)$", r.stdout, re.M)
    check(m, "dkctl apikey create printed no token: %r" % r.stdout)
    secrets["dkctl API key"] = m.group(1)
    prefixes.append(m.group(1)[:8])
    expect_json(d.api("PATCH", "/api/auth/profile",
                      {"new_password": new_pw,
                       "current_password": member_pw},
                      token=t["access_token"]), 200, "profile password")
    secrets["changed password"] = new_pw
    files = d.db_files()
    check("dkd.db" in files and len(files["dkd.db"]) > 0, "no dkd.db: %r"
          % list(files))
    found = []
    for what, s in secrets.items():
        needles = [s.encode()]
        if re.match(r"^[A-Za-z0-9_-]{43}$", s):
            # also the 32 raw bytes behind a base64url token
            needles.append(base64.urlsafe_b64decode(s + "="))
        for fname, data in files.items():
            for n in needles:
                if n in data:
                    found.append("%s (%s) in %s" % (what, s, fname))
    check(not found, "secrets in plaintext in the database files: %s"
          % "; ".join(found))
    # sanity: the files do hold the data (prefixes, emails)
    blob = b"".join(files.values())
    for p in prefixes:
        check(p.encode() in blob, "API key prefix %r not found in the "
              "database files: wrong files read?" % p)
    check(b"secret.member@example.test" in blob, "email not found in the "
          "database files: wrong files read?")


def test_token_hashes():
    d = dkd()
    d.create_user(tok(), "hash.user@example.test", "HU")
    t = d.login("hash.user@example.test")
    k = expect_json(d.api("POST", "/api/api-keys", {"description": "h"},
                          token=t["access_token"]), 201, "API key")
    rows = d.db_query("SELECT access_token_hash, refresh_token_hash FROM "
                      "sessions")
    want = (hashlib.sha256(t["access_token"].encode()).hexdigest(),
            hashlib.sha256(t["refresh_token"].encode()).hexdigest())
    check(want in rows, "no session row with the SHA-256 hex of the tokens")
    for row in rows:
        for h in row:
            check(re.match(r"^[0-9a-f]{64}$", h), "session hash %r is not "
                  "lowercase hex SHA-256" % h)
    rows = d.db_query("SELECT prefix, token_hash FROM api_keys WHERE id = ?",
                      (k["id"],))
    eq(rows, [(k["token"][:8], hashlib.sha256(k["token"].encode())
               .hexdigest())], "api_keys row (prefix, token_hash)")


def test_argon2id():
    d = dkd()
    d.create_user(tok(), "argon.a@example.test", "A", "same password 123")
    d.create_user(tok(), "argon.b@example.test", "B", "same password 123")
    rows = d.db_query("SELECT email, password_hash FROM users")
    check(len(rows) >= 3, "users rows %r" % rows)
    phc = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$"
                     r"([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{32,})$")
    salts = {}
    for email, h in rows:
        m = phc.match(h)
        check(m, "password hash of %s is not an argon2id PHC string: %r"
              % (email, h))
        check(int(m.group(1)) >= 19456 and int(m.group(2)) >= 2,
              "argon2id parameters of %s too weak: %r" % (email, h))
        salts[email] = (m.group(4), m.group(5))
    a, b = salts["argon.a@example.test"], salts["argon.b@example.test"]
    check(a[0] != b[0], "two users share a salt: %r" % a[0])
    check(a[1] != b[1], "the same password gave the same hash")
    # a password change gives a new salt and hash
    uid = [u for u in expect_json(d.api("GET", "/api/users?email=argon.a",
                                        token=tok()), 200, "users")["data"]]
    expect_json(d.api("PATCH", "/api/users/" + uid[0]["id"],
                      {"password": "same password 123"}, token=tok()), 200,
                "PATCH password to the same value")
    h2 = d.db_query("SELECT password_hash FROM users WHERE email = ?",
                    ("argon.a@example.test",))[0][0]
    check(phc.match(h2) and phc.match(h2).group(4) != a[0],
          "a password change kept the salt: %r" % h2)


# ------------------------------------------------------ SQL metacharacters

EVIL = ["x'); DROP TABLE users;--", "%_\\\"", "' OR '1'='1", "\" OR 1=1 --",
        "a'||(SELECT password_hash FROM users)||'", "50% off_sale\\'",
        "Robert'); DELETE FROM projects WHERE ('1'='1"]


def tables(d):
    return sorted(r[0] for r in d.db_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
        "LIKE 'sqlite_%'"))


def test_sql_projects():
    d = dkd()
    before = tables(d)
    made = []
    for name in EVIL:
        r = d.api("POST", "/api/projects", {"name": name}, token=tok())
        p = expect_json(r, 201, "POST /api/projects %r" % name)
        eq(p["name"], name, "name in the answer")
        made.append(p)
        g = expect_json(d.api("GET", "/api/projects/" + p["id"], token=tok()),
                        200, "GET project %r" % name)
        eq(g["name"], name, "name read back")
        rows = d.db_query("SELECT name FROM projects WHERE id = ?",
                          (p["id"],))
        eq(rows, [(name,)], "name in the database")
    j = expect_json(d.api("GET", "/api/projects?limit=100", token=tok()),
                    200, "GET /api/projects")
    listed = {p["id"]: p["name"] for p in j["data"]}
    for p in made:
        eq(listed.get(p["id"]), p["name"], "listed name of %r" % p["name"])
    eq(tables(d), before, "tables after the requests")
    eq(len(d.db_query("SELECT id FROM users")) >= 1, True, "users survive")


def test_sql_users_keys():
    d = dkd()
    before = tables(d)
    nusers = len(d.db_query("SELECT id FROM users"))
    cases = [("o'brien+%_x@example.test", "x'); DROP TABLE users;--"),
             ("a\"b--c@example.test", "%_\\\""),
             ("percent%50@example.test", "' OR '1'='1")]
    for email, name in cases:
        pw = "password " + name
        u = expect_json(d.api("POST", "/api/users", {"email": email,
                                                     "name": name,
                                                     "password": pw},
                              token=tok()), 201, "POST /api/users %r" % email)
        eq((u["email"], u["name"]), (email, name), "user in the answer")
        g = expect_json(d.api("GET", "/api/users/" + u["id"], token=tok()),
                        200, "GET user")
        eq((g["email"], g["name"]), (email, name), "user read back")
        eq(d.db_query("SELECT email, name FROM users WHERE id = ?",
                      (u["id"],)), [(email, name)], "user in the database")
        t = d.login(email, pw)
        me = expect_json(d.api("GET", "/api/auth/me",
                               token=t["access_token"]), 200, "me")
        eq((me["email"], me["name"]), (email, name), "GET /api/auth/me")
        j = expect_json(d.api("GET", "/api/users?limit=100&email=" +
                              "".join("%%%02X" % b for b in email.encode()),
                              token=tok()), 200, "GET /api/users?email=")
        eq([x["email"] for x in j["data"]], [email], "email filter %r" % email)
        desc = "key " + name
        k = expect_json(d.api("POST", "/api/api-keys", {"description": desc},
                              token=t["access_token"]), 201, "API key")
        eq(k["description"], desc, "description in the answer")
        j = expect_json(d.api("GET", "/api/api-keys",
                              token=t["access_token"]), 200, "list keys")
        eq([x["description"] for x in j["data"]], [desc], "listed description")
        eq(d.db_query("SELECT description FROM api_keys WHERE id = ?",
                      (k["id"],)), [(desc,)], "description in the database")
        # profile update with metacharacters
        nm = name + " (renamed)"
        expect_json(d.api("PATCH", "/api/auth/profile", {"name": nm},
                          token=t["access_token"]), 200, "PATCH profile")
        eq(d.db_query("SELECT name FROM users WHERE id = ?", (u["id"],)),
           [(nm,)], "renamed name in the database")
    # a wrong password made of metacharacters does not log in
    expect_error(d.api("POST", "/api/auth/login",
                       {"email": ADMIN_EMAIL, "password": "' OR '1'='1"}),
                 401, "unauthorized", "Invalid email or password.",
                 "login with password ' OR '1'='1")
    expect_error(d.api("POST", "/api/auth/login",
                       {"email": "' OR '1'='1", "password": "x"}),
                 401, "unauthorized", "Invalid email or password.",
                 "login with email ' OR '1'='1")
    eq(tables(d), before, "tables after the requests")
    eq(len(d.db_query("SELECT id FROM users")), nusers + len(cases),
       "number of users")


# ---------------------------------------------------------- authorisation

def test_member_forbidden():
    d = dkd()
    d.create_user(tok(), "plain.member@example.test", "PM")
    t = d.login("plain.member@example.test")
    k = expect_json(d.api("POST", "/api/api-keys", {"description": "m"},
                          token=t["access_token"]), 201, "member API key")
    aid = shared["admin"]["id"]
    routes = [("GET", "/api/users", None),
              ("GET", "/api/users?role=admin", None),
              ("POST", "/api/users", {"email": "evil@example.test",
                                      "name": "E", "password": PASSWORD,
                                      "role": "admin"}),
              ("GET", "/api/users/" + aid, None),
              ("PATCH", "/api/users/" + aid, {"password": "owned owned"}),
              ("DELETE", "/api/users/" + aid, None),
              ("GET", "/api/system/about", None),
              ("GET", "/api/system/status", None),
              ("GET", "/api/system/settings", None),
              ("PATCH", "/api/system/settings", {"auto_update": True}),
              ("GET", "/api/system/release", None),
              ("POST", "/api/system/upgrade", {"version": "v1.2.3"}),
              ("GET", "/api/system/upgrade", None)]
    for token, how in ((t["access_token"], "session"),
                       (k["token"], "API key")):
        for m, path, body in routes:
            expect_error(d.api(m, path, body, token=token), 403, "forbidden",
                         "Insufficient permissions.",
                         "%s %s as a member (%s)" % (m, path, how))
    eq(d.db_query("SELECT count(*) FROM users WHERE email = ?",
                  ("evil@example.test",)), [(0,)], "user made by a member")
    eq(d.db_query("SELECT count(*) FROM system_settings WHERE key = "
                  "'auto_update' AND value = 'true'"), [(0,)],
       "auto_update changed by a member")
    d.login(ADMIN_EMAIL)


def test_register_gate():
    d = Dkd("security-register").start()
    body = {"email": "first@example.test", "name": "F", "password": PASSWORD}
    expect_error(d.api("POST", "/api/auth/register", body), 401,
                 "unauthorized", what="register without setup_token",
                 contains="setup token")
    expect_error(d.api("POST", "/api/auth/register",
                       dict(body, setup_token="guess")), 401, "unauthorized",
                 "Invalid setup token.", "register with a guessed token")
    eq(d.db_query("SELECT count(*) FROM users"), [(0,)],
       "users after refused registrations")
    d.register_admin("first@example.test", "F", PASSWORD)
    expect_error(d.api("POST", "/api/auth/register",
                       dict(body, email="second@example.test")), 409,
                 "conflict", "Registration is closed.", "second register")
    eq(d.db_query("SELECT email, role FROM users"),
       [("first@example.test", "admin")], "users at the end")


# ------------------------------------------------------------------ bodies

def test_body_413():
    d = dkd()
    size = 1024 * 1024
    for path in ("/api/auth/login", "/api/projects"):
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: "
                "application/json\r\nAuthorization: Bearer %s\r\n"
                "Content-Length: %d\r\n\r\n" % (path, tok(), size + 1))
        body = b'{"name":"big"}' + b" " * (size + 1 - 14)
        status, reply = raw_http(d.port, head.encode(), timeout=15,
                                 after=body)
        eq(status, 413, "POST %s with 1 MiB + 1 byte (%r)" % (path,
                                                              reply[:120]))
    # exactly 1 MiB is accepted
    body = b'{"name":"exactly one MiB"}'
    body += b" " * (size - len(body))
    r = post_raw(d, "/api/projects", body)
    p = expect_json(r, 201, "POST /api/projects with a body of exactly 1 MiB")
    eq(p["name"], "exactly one MiB", "name")
    still_serving(d, "oversized bodies")


def test_invalid_json():
    d = dkd()
    bodies = [b"{bad", b"", b"{", b'{"name":"x"', b'{"name":"x",}',
              b"{'name':'x'}", b'{"name":"x"}{"name":"y"}', b'{"name":"x"} x',
              b'{"name":"\\x"}', b'{"name":"\\u12"}', b'{"name":tru}',
              b'{"name":"x","n":0123}', b'{"name" "x"}', b"\x00",
              b'{"name":"a\tb"}', b'{"name":"a\nb"}', b'[]', b'[{"name":"x"}]',
              b'\xef\xbb\xbf{"name":"bom"}']
    for path, token in (("/api/projects", tok()), ("/api/auth/login", ""),
                        ("/api/api-keys", tok())):
        for body in bodies:
            expect_error(post_raw(d, path, body, token=token or None), 400,
                         "invalid", prefix="Invalid JSON body",
                         what="POST %s %r" % (path, body))
    for body in bodies[:6]:
        expect_error(d.api("PATCH", "/api/auth/profile", body=body,
                           token=tok()), 400, "invalid",
                     prefix="Invalid JSON body",
                     what="PATCH /api/auth/profile %r" % body)
    expect_error(d.api("PATCH", "/api/system/settings", body=b"{x",
                       token=tok()), 400, "invalid",
                 prefix="Invalid JSON body", what="PATCH settings {x")
    still_serving(d, "invalid JSON")


def test_scalar_body():
    d = dkd()
    bad = []
    for path, token in (("/api/projects", tok()), ("/api/auth/login", ""),
                        ("/api/api-keys", tok())):
        for body in (b'"just a string"', b"42", b"1.5", b"true", b"false",
                     b"[]"):
            r = post_raw(d, path, body, token=token or None)
            if r.status != 400:
                bad.append("POST %s %r -> %d %r" % (path, body, r.status,
                                                    r.body[:100]))
                continue
            expect_error(r, 400, "invalid", prefix="Invalid JSON body",
                         what="POST %s %r (not an object)" % (path, body))
    check(not bad, "scalar bodies not refused with 400: %s" % "; ".join(bad))


def nest_obj(n):
    """A JSON document with objects n levels deep (the outer one is level
    1): {"name":"nest","e":{"a":{"a":{}}}} is 4."""
    return (b'{"name":"nest","e":' + b'{"a":' * (n - 2) + b"{}" +
            b"}" * (n - 2) + b"}")


def nest_arr(n):
    """An object holding arrays, n levels deep in all."""
    return b'{"name":"nest","e":' + b"[" * (n - 1) + b"]" * (n - 1) + b"}"


def test_nesting():
    d = dkd()
    for n in (31, 32):
        expect_json(post_raw(d, "/api/projects", nest_obj(n)), 201,
                    "objects nested %d deep" % n)
        expect_json(post_raw(d, "/api/projects", nest_arr(n)), 201,
                    "arrays nested %d deep" % n)
    for body, what in ((nest_obj(33), "objects 33 deep"),
                       (nest_arr(33), "arrays 33 deep"),
                       (nest_arr(10000), "arrays 10,000 deep"),
                       (b'{"a":' * 10000 + b"1" + b"}" * 10000,
                        "objects 10,000 deep"),
                       (b'{"name":"x","e":' + b"[" * 10000, "10,000 "
                        "unclosed ["),
                       (b'{"a":' * 100000, "100,000 unclosed objects"),
                       (b"[" * 500000, "500,000 [ at the top")):
        expect_error(post_raw(d, "/api/projects", body), 400, "invalid",
                     prefix="Invalid JSON body", what=what)
        still_serving(d, what)
    for path, token in (("/api/auth/login", None), ("/api/auth/register",
                                                     None),
                        ("/api/auth/refresh", None)):
        expect_error(d.api("POST", path, body=nest_arr(10000)), 400,
                     "invalid", prefix="Invalid JSON body",
                     what="POST %s 10,000 deep" % path)
    still_serving(d, "deep nesting")


BAD_UTF8 = ((b"\xff", "0xff"), (b"\xc0\xaf", "overlong /"),
            (b"\xe0\x80\xaf", "overlong / (3 bytes)"),
            (b"\xed\xa0\x80", "UTF-8 encoded surrogate"),
            (b"\xf4\x90\x80\x80", "above U+10FFFF"),
            (b"\xe2\x82", "truncated sequence"),
            (b"\x80", "lone continuation byte"),
            (b"\xf8\x88\x80\x80\x80", "5-byte sequence"))


def test_invalid_utf8_keys():
    d = dkd()
    bad = []
    for raw, what in BAD_UTF8:
        for body in (b'{"name":"x","k' + raw + b'":1}',
                     b'{"name":"x","e":{"k' + raw + b'":1}}'):
            r = post_raw(d, "/api/projects", body)
            if r.status != 400:
                bad.append("%s: %r -> %d" % (what, body, r.status))
            else:
                expect_error(r, 400, "invalid", prefix="Invalid JSON body",
                             what="%s in %r" % (what, body))
    check(not bad, "invalid UTF-8 in object keys accepted: %s"
          % "; ".join(bad))
    still_serving(d, "invalid UTF-8 in keys")


def expect_invalid_bodies(d, what, bodies):
    """POST /api/projects with each body: 400 "Invalid JSON body..."."""
    for body in bodies:
        expect_error(post_raw(d, "/api/projects", body), 400, "invalid",
                     prefix="Invalid JSON body",
                     what="%s in %r" % (what, body))


def expect_names(d, what, cases):
    """POST /api/projects with each (body, name): 201 with that name."""
    for body, name in cases:
        p = expect_json(post_raw(d, "/api/projects", body), 201,
                        "%s %r" % (what, body))
        eq(p["name"], name, "name from %r" % body)


def test_invalid_utf8():
    d = dkd()
    for raw, what in BAD_UTF8:
        expect_invalid_bodies(d, what, (b'{"name":"a' + raw + b'b"}',
                                         b'{"name":"x","extra":"' + raw +
                                         b'"}',
                                         b'{"name":"x","e":["' + raw +
                                         b'"]}'))
        expect_error(d.api("POST", "/api/auth/login",
                           body=b'{"email":"a' + raw + b'@x.io","password":'
                           b'"xxxxxxxx"}'), 400, "invalid",
                     prefix="Invalid JSON body", what="%s in an email" % what)
    # valid multi-byte UTF-8 and escaped pairs are fine
    expect_names(d, "valid UTF-8",
                 ((b'{"name":"\xf0\x9f\x98\x80 \xc3\xa9"}',
                   "\U0001F600 \u00e9"),
                  (b'{"name":"\\ud83d\\ude00 \\u00e9"}',
                   "\U0001F600 \u00e9")))
    still_serving(d, "invalid UTF-8")


def test_lone_surrogate():
    """yajl decodes an escaped lone UTF-16 surrogate to "?", so the name
    would silently change; the body is refused instead."""
    d = dkd()
    for s, what in ((b"\\ud800", "lone high surrogate"),
                    (b"\\uDBFF", "lone high surrogate, upper case"),
                    (b"\\udc00", "lone low surrogate"),
                    (b"a\\ud800b", "high surrogate then a letter"),
                    (b"\\ud800\\u0041", "high surrogate then \\u0041"),
                    (b"\\ud800\\n", "high surrogate then \\n"),
                    (b"\\ud800\\ud800", "two high surrogates"),
                    (b"\\udc00\\ud800", "low then high surrogate"),
                    (b"\\ud83d\\ude00\\ude00", "a pair, then a lone low")):
        expect_invalid_bodies(d, what, (b'{"name":"' + s + b'"}',
                                         b'{"name":"x","extra":"' + s +
                                         b'"}',
                                         b'{"name":"x","e":[{"k":"' + s +
                                         b'"}]}',
                                         b'{"name":"x","' + s + b'":1}'))
    expect_error(d.api("POST", "/api/auth/login",
                       body=b'{"email":"' + ADMIN_EMAIL.encode() +
                       b'\\ud800","password":"' + PASSWORD.encode() +
                       b'"}'), 400, "invalid", prefix="Invalid JSON body",
                 what="login with a lone surrogate after the admin's email")
    # a pair, and escapes that only look like surrogates, are fine
    expect_names(d, "valid escapes",
                 ((b'{"name":"\\ud83d\\ude00"}', "\U0001F600"),
                  (b'{"name":"\\\\ud800"}', "\\ud800"),
                  (b'{"name":"x\\"\\ud7ff\\ue000"}', "x\"\ud7ff\ue000")))
    still_serving(d, "lone surrogates")


def test_nul():
    d = dkd()
    for body, what in ((b'{"name":"a\\u0000b"}', "\\u0000 in name"),
                       (b'{"name":"\\u0000"}', "name = \\u0000"),
                       (b'{"name":"x","extra":"\\u0000"}',
                        "\\u0000 in an ignored field"),
                       (b'{"name":"x","e":[{"a":"\\u0000"}]}',
                        "\\u0000 nested"),
                       (b'{"name":"a\x00b"}', "raw NUL in a string")):
        expect_error(post_raw(d, "/api/projects", body), 400, "invalid",
                     prefix="Invalid JSON body", what=what)
    expect_error(d.api("POST", "/api/auth/login",
                       body=b'{"email":"' + ADMIN_EMAIL.encode() +
                       b'\\u0000evil","password":"' + PASSWORD.encode() +
                       b'"}'), 400, "invalid", prefix="Invalid JSON body",
                 what="login with \\u0000 after the admin's email")
    expect_error(d.api("POST", "/api/auth/login",
                       body=b'{"email":"' + ADMIN_EMAIL.encode() +
                       b'","password":"' + PASSWORD.encode() +
                       b'\\u0000junk"}'), 400, "invalid",
                 prefix="Invalid JSON body",
                 what="login with \\u0000 after the admin's password")
    still_serving(d, "NUL characters")


def test_nul_keys():
    d = dkd()
    bad = []
    for body, what in ((b'{"name":"x","k\\u0000":1}', "\\u0000 in a key"),
                       (b'{"name":"x","e":{"\\u0000":1}}',
                        "key \\u0000 nested"),
                       (b'{"name\\u0000":"x"}', "\\u0000 after \"name\""),
                       (b'{"name":"x","k\x00":1}', "raw NUL in a key")):
        r = post_raw(d, "/api/projects", body)
        if r.status != 400:
            bad.append("%s: %r -> %d %r" % (what, body, r.status, r.body[:80]))
        else:
            expect_error(r, 400, "invalid", prefix="Invalid JSON body",
                         what=what)
    check(not bad, "NUL in object keys accepted: %s" % "; ".join(bad))
    still_serving(d, "NUL in keys")


def test_wrong_types():
    d = dkd()
    aid = shared["admin"]["id"]
    cases = [
        ("POST", "/api/projects", "name", None),
        ("POST", "/api/auth/login", "email", {"password": "x"}),
        ("POST", "/api/auth/login", "password", {"email": "a@b.io"}),
        ("POST", "/api/auth/register", "email", None),
        ("POST", "/api/auth/register", "setup_token", {"email": "a@b.io",
                                                       "name": "n",
                                                       "password": PASSWORD}),
        ("POST", "/api/auth/refresh", "refresh_token", None),
        ("POST", "/api/api-keys", "description", None),
        ("POST", "/api/api-keys", "expires_at", {"description": "d"}),
        ("POST", "/api/users", "email", None),
        ("POST", "/api/users", "name", None),
        ("POST", "/api/users", "password", None),
        ("POST", "/api/users", "role", {"email": "t@b.io", "name": "n",
                                        "password": PASSWORD}),
        ("PATCH", "/api/users/" + aid, "name", None),
        ("PATCH", "/api/users/" + aid, "role", None),
        ("PATCH", "/api/auth/profile", "name", None),
        ("PATCH", "/api/auth/profile", "current_password",
         {"new_password": "long enough pw"}),
    ]
    for m, path, field, base in cases:
        for v in (5, 1.5, True, False, [], ["x"], {}, {"a": "b"}):
            body = dict(base or {})
            body[field] = v
            expect_error(d.api(m, path, body, token=tok()), 400, "invalid",
                         'Field "%s" must be a string.' % field,
                         "%s %s %r" % (m, path, body))
    for v in ("yes", "true", 1, 0, [], {}):
        expect_error(d.api("PATCH", "/api/system/settings",
                           {"auto_update": v}, token=tok()), 400, "invalid",
                     'Field "auto_update" must be true or false.',
                     "PATCH /api/system/settings auto_update=%r" % (v,))
    eq(expect_json(d.api("GET", "/api/auth/me", token=tok()), 200,
                   "me")["name"], "Admin", "admin's name after the requests")


def test_long_strings():
    d = dkd()
    aid = shared["admin"]["id"]
    big = "x" * 5000
    cases = [
        ("POST", "/api/projects", {"name": big}, "name"),
        ("POST", "/api/projects", {"name": "\u00e9" * 128}, "name"),
        ("POST", "/api/api-keys", {"description": big}, "description"),
        ("POST", "/api/users", {"email": big + "@example.test", "name": "n",
                                "password": PASSWORD}, "email"),
        ("POST", "/api/users", {"email": "long@example.test", "name": big,
                                "password": PASSWORD}, "name"),
        ("POST", "/api/users", {"email": "long@example.test", "name": "n",
                                "password": big}, "password"),
        ("PATCH", "/api/users/" + aid, {"name": big}, "name"),
        ("PATCH", "/api/auth/profile", {"name": big}, "name"),
        ("POST", "/api/auth/login", {"email": big, "password": "x"}, "email"),
        ("POST", "/api/auth/refresh", {"refresh_token": big},
         "refresh_token"),
    ]
    for m, path, body, field in cases:
        expect_validation(d.api(m, path, body, token=tok()),
                          "%s %s with a long %s" % (m, path, field),
                          {field: None})
    # at the limit is fine
    p = expect_json(d.api("POST", "/api/projects", {"name": "y" * 255},
                          token=tok()), 201, "project name of 255 bytes")
    eq(p["name"], "y" * 255, "255-byte name")
    eq(expect_json(d.api("GET", "/api/auth/me", token=tok()), 200,
                   "me")["name"], "Admin", "admin's name after the requests")
    still_serving(d, "long strings")


def test_unknown_and_null():
    d = dkd()
    p = expect_json(d.api("POST", "/api/projects",
                          {"name": "ignored extras", "id": "forced-id",
                           "slug": "forced-slug", "created_at": "2000-01-01"
                           "T00:00:00Z", "x": {"deep": [1, None, True]}},
                          token=tok()), 201, "POST with unknown keys")
    check(p["id"] != "forced-id" and not p["slug"].startswith("forced"),
          "client-chosen id/slug were used: %r" % p)
    check(not p["created_at"].startswith("2000"), "client-chosen "
          "created_at was used: %r" % p)
    expect_validation(d.api("POST", "/api/projects", {"name": None},
                            token=tok()), "name null", {"name": None})
    u = expect_json(d.api("POST", "/api/users",
                          {"email": "nullrole@example.test", "name": "N",
                           "password": PASSWORD, "role": None,
                           "id": "00000000-0000-4000-8000-000000000000"},
                          token=tok()), 201, "POST /api/users role null")
    eq(u["role"], "member", "role when null")
    check(u["id"] != "00000000-0000-4000-8000-000000000000",
          "client-chosen user id was used")


def test_log_injection():
    d = dkd()
    off = d.log_size()
    name = "evil\nFORGED-LINE: admin@example.test deleted\r\x1b[31mred"
    expect_json(d.api("POST", "/api/projects", {"name": name}, token=tok()),
                201, "POST /api/projects with control characters")
    d.create_user(tok(), "ctl@example.test", "n\nFORGED-USER-LINE")
    import time
    time.sleep(0.3)
    log = d.log_since(off)
    check("evil" in log, "the project creation was not logged: %r" % log)
    bad = [l for l in log.splitlines() if l.startswith("FORGED")]
    check(not bad, "a client-chosen name starts its own line in dkd's log "
          "(log forging): %r" % bad)
    check("\x1b" not in log and "\r" not in log,
          "raw control characters from a request in dkd's log: %r" % log)


# ------------------------------------------------ issue 6: the database

def test_commits_synced():
    """A write the client is told succeeded is on disk: with WAL and
    synchronous=FULL every commit syncs the WAL (NORMAL syncs only at
    checkpoints, so a power cut can lose acknowledged writes)."""
    d = dkd()
    if shutil.which("strace") is None:
        raise Skip("strace is not installed")
    trace = os.path.join(d.dir, "strace.out")
    st = subprocess.Popen(["strace", "-f", "-y", "-e",
                           "trace=fsync,fdatasync", "-o", trace, "-p",
                           str(d.pid)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    try:
        # strace says so on stderr once it is attached
        check(wait_until(lambda: os.path.exists(trace), 10),
              "strace did not attach to the master")
        time.sleep(0.3)
        for i in range(5):
            expect_json(d.api("POST", "/api/projects",
                              {"name": "durable %d" % i}, token=tok()),
                        201, "POST /api/projects %d" % i)
        time.sleep(0.3)
    finally:
        st.terminate()
        st.wait(10)
    with open(trace) as f:
        syncs = [l for l in f if "dkd.db-wal" in l and "sync(" in l]
    check(len(syncs) >= 5, "5 acknowledged writes synced the WAL %d times"
          % len(syncs), *syncs[:10])


def test_foreign_lock_brief_wait():
    """Only the master uses the database, so a lock held by anyone else
    is a bug or an admin's sqlite3 shell: the single-threaded master
    waits for it only briefly and goes on serving."""
    d = dkd()
    c = sqlite3.connect(d.db, timeout=10, isolation_level=None)
    try:
        c.execute("BEGIN IMMEDIATE")
        t0 = time.monotonic()
        r = d.api("POST", "/api/projects", {"name": "while locked"},
                  token=tok(), timeout=30)
        took = time.monotonic() - t0
        check(took < 1.0, "POST /api/projects waited %.1f s for a lock held "
              "by another connection (answer %d)" % (took, r.status))
        expect_error(r, 500, "internal", what="POST /api/projects while "
                     "another connection holds the write lock")
        t0 = time.monotonic()
        still_serving(d, "a write refused for a foreign lock")
        check(time.monotonic() - t0 < 1.0, "requests stalled")
    finally:
        c.execute("ROLLBACK")
        c.close()
    expect_json(d.api("POST", "/api/projects", {"name": "after the lock"},
                      token=tok()), 201, "POST /api/projects afterwards")


run_tests([
    ("no access/refresh token, API key, setup token or password in "
     "dkd.db, -wal, -shm", test_no_plaintext_secrets),
    ("sessions and API keys store lowercase hex SHA-256 of the tokens",
     test_token_hashes),
    ("passwords are argon2id PHC strings with per-user salts",
     test_argon2id),
    ("SQL metacharacters in project names stored and returned verbatim",
     test_sql_projects),
    ("SQL metacharacters in emails, user names, passwords, key "
     "descriptions stored verbatim", test_sql_users_keys),
    ("member (session or API key): 403 on every /api/users and "
     "/api/system route", test_member_forbidden),
    ("registration: 401 without the setup token, 409 after the first user",
     test_register_gate),
    ("body over 1 MiB: 413; exactly 1 MiB accepted; daemon keeps serving",
     test_body_413),
    ("malformed JSON and arrays: 400 \"Invalid JSON body...\"",
     test_invalid_json),
    ("a scalar JSON body (string, number, bool): 400 like an array",
     test_scalar_body),
    ("nesting: 32 levels accepted, 33 and 10,000 levels 400; daemon keeps "
     "serving", test_nesting),
    ("invalid UTF-8 in string values: 400", test_invalid_utf8),
    ("invalid UTF-8 in object keys: 400", test_invalid_utf8_keys),
    ("lone UTF-16 surrogate escapes (\\ud800, \\udc00): 400, not \"?\"",
     test_lone_surrogate),
    ("NUL (\\u0000 or raw) in string values: 400", test_nul),
    ("NUL (\\u0000 or raw) in object keys: 400", test_nul_keys),
    ("wrong JSON types: 400 'Field \"x\" must be a string.'",
     test_wrong_types),
    ("strings over the field's byte limit: 422 naming the field",
     test_long_strings),
    ("unknown keys ignored, null treated as absent", test_unknown_and_null),
    ("client-chosen names cannot forge lines in dkd's log",
     test_log_injection),
    ("every acknowledged write syncs the WAL (synchronous=FULL)",
     test_commits_synced),
    ("a lock held by another connection delays a write briefly (< 1 s), "
     "then 500", test_foreign_lock_brief_wait),
])
