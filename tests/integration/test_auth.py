#!/usr/bin/env python3
"""Authentication over HTTP: the first-run setup token and registration,
login, refresh-token rotation, logout, the Bearer check, /auth/me and
/auth/profile, login throttling per email and per client address, and
X-Forwarded-For from a trusted proxy.  One dkd serves the account checks;
every throttling check gets its own dkd (the counters live in memory)."""

import calendar
import hashlib
import os
import http.client
import json
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (ADMIN_EMAIL, PASSWORD, Dkd, check, check_tokens,
                     check_user, eq, expect_empty, expect_error, expect_json,
                     expect_validation, http_request, parse_time, run_tests)

shared = {}


def dkd():
    """The shared dkd; it starts with no accounts."""
    if "d" not in shared:
        shared["d"] = Dkd("auth", keep=True).start()
    return shared["d"]


def admin():
    """The shared dkd's first admin: (user, tokens), registering it if
    the registration check did not (so that one failure does not hide
    the rest)."""
    d = dkd()
    if "admin" not in shared:
        shared["admin"] = d.register_admin(ADMIN_EMAIL, "Admin", PASSWORD)
    return shared["admin"]


def admin_token():
    return admin()[1]["access_token"]


def member(email, password=PASSWORD, name="Member"):
    """A member created by the admin; -> (user, tokens of a login)."""
    d = dkd()
    u = d.create_user(admin_token(), email, name, password)
    return u, d.login(email, password)


def me(d, token, **kw):
    return d.api("GET", "/api/auth/me", token=token, **kw)


def assert_token_dead(d, token, what):
    expect_error(me(d, token), 401, "unauthorized",
                 "Invalid or expired token.", "%s: GET /api/auth/me" % what)


def assert_refresh_dead(d, refresh, what):
    expect_error(d.api("POST", "/api/auth/refresh",
                       {"refresh_token": refresh}), 401, "unauthorized",
                 "Invalid refresh token.", "%s: POST /api/auth/refresh" % what)


def login_raw(d, email, password, headers=None):
    return d.api("POST", "/api/auth/login",
                 {"email": email, "password": password}, headers=headers)


# ------------------------------------------------------------- first run

def test_first_run_log():
    d = dkd()
    m = re.search(r"no accounts yet: create the first admin at "
                  r"http://127\.0\.0\.1:(\d+)/setup\?token=(\S+)", d.log())
    check(m, "no setup URL in the log", *d.log_tail(10))
    eq(int(m.group(1)), d.port, "port in the setup URL")
    token = m.group(2)
    check(re.match(r"^[A-Za-z0-9_-]{20,}$", token), "setup token %r does "
          "not look like a random base64url token" % token)
    shared["log_token"] = token


def test_setup_token_cmd():
    d = dkd()
    r = d.dkctl("setup-token")
    eq(r.returncode, 0, "dkctl setup-token exit status (stderr %r)"
       % r.stderr)
    lines = r.stdout.splitlines()
    eq(len(lines), 2, "lines printed by dkctl setup-token (%r)" % r.stdout)
    token, url = lines
    if "log_token" in shared:
        eq(token, shared["log_token"], "token printed vs token in the log")
    eq(url, "http://127.0.0.1:%d/setup?token=%s" % (d.port, token),
       "setup URL line")


def test_can_register_before():
    d = dkd()
    j = expect_json(d.api("GET", "/api/auth/register"), 200,
                    "GET /api/auth/register")
    eq(j, {"can_register": True}, "GET /api/auth/register body")


def test_register_needs_token():
    d = dkd()
    body = {"email": ADMIN_EMAIL, "name": "Admin", "password": PASSWORD}
    j = expect_error(d.api("POST", "/api/auth/register", body), 401,
                     "unauthorized", what="register without setup_token",
                     contains="setup token")
    for tok in ("", None):
        expect_error(d.api("POST", "/api/auth/register",
                           dict(body, setup_token=tok)), 401, "unauthorized",
                     j["message"], "register with setup_token %r" % (tok,))
    for tok in ("wrong", d.setup_token() + "x", d.setup_token()[:-1]):
        expect_error(d.api("POST", "/api/auth/register",
                           dict(body, setup_token=tok)), 401, "unauthorized",
                     "Invalid setup token.",
                     "register with setup_token %r" % tok)
    j = expect_json(d.api("GET", "/api/auth/register"), 200,
                    "GET /api/auth/register afterwards")
    eq(j, {"can_register": True}, "can_register after refused attempts")


def test_register_validation():
    d = dkd()
    tok = d.setup_token()
    cases = [
        ({"name": "A", "password": PASSWORD}, {"email": None}),
        ({"email": "", "name": "A", "password": PASSWORD}, {"email": None}),
        ({"email": "not-an-email", "name": "A", "password": PASSWORD},
         {"email": None}),
        ({"email": ADMIN_EMAIL, "password": PASSWORD}, {"name": None}),
        ({"email": ADMIN_EMAIL, "name": "", "password": PASSWORD},
         {"name": None}),
        ({"email": ADMIN_EMAIL, "name": "A"}, {"password": None}),
        ({"email": ADMIN_EMAIL, "name": "A", "password": "1234567"},
         {"password": "Password must be at least 8 characters."}),
        ({}, {"email": None, "name": None, "password": None}),
    ]
    for body, fields in cases:
        expect_validation(d.api("POST", "/api/auth/register",
                                dict(body, setup_token=tok)),
                          "register %r" % body, fields)
    j = expect_json(d.api("GET", "/api/auth/register"), 200,
                    "GET /api/auth/register afterwards")
    eq(j, {"can_register": True}, "can_register after invalid attempts")


def test_register():
    d = dkd()
    check("admin" not in shared, "admin already registered")
    tok = d.setup_token()
    r = d.api("POST", "/api/auth/register",
              {"email": "  Admin@Example.TEST ", "name": "Admin",
               "password": PASSWORD, "setup_token": tok, "role": "member",
               "unknown_key": [1, 2, 3]})
    j = expect_json(r, 201, "POST /api/auth/register")
    eq(sorted(j), ["tokens", "user"], "keys of the register answer")
    u = check_user(j["user"], "registered user", email=ADMIN_EMAIL,
                   name="Admin", role="admin")
    check_tokens(j["tokens"], "register tokens")
    shared["admin"] = (u, j["tokens"])
    got = expect_json(me(d, j["tokens"]["access_token"]), 200,
                      "GET /api/auth/me with the register access token")
    eq(got, u, "GET /api/auth/me body vs the registered user")


def test_register_closed():
    d = dkd()
    admin()
    j = expect_json(d.api("GET", "/api/auth/register"), 200,
                    "GET /api/auth/register")
    eq(j, {"can_register": False}, "GET /api/auth/register body")
    for tok in (shared.get("log_token"), "wrong", None):
        body = {"email": "second@example.test", "name": "Second",
                "password": PASSWORD}
        if tok is not None:
            body["setup_token"] = tok
        expect_error(d.api("POST", "/api/auth/register", body), 409,
                     "conflict", "Registration is closed.",
                     "second register (setup_token %r)" % tok)
    expect_error(login_raw(d, "second@example.test", PASSWORD), 401,
                 "unauthorized", "Invalid email or password.",
                 "login as the refused second user")


def test_setup_token_gone():
    d = dkd()
    admin()
    r = d.dkctl("setup-token")
    eq(r.returncode, 1, "dkctl setup-token exit status once a user exists")
    eq(r.stdout, "", "dkctl setup-token stdout")
    check(r.stderr.startswith("command failed: An account exists already"),
          "dkctl setup-token stderr: %r" % r.stderr)


# ----------------------------------------------------------------- login

def test_login():
    d = dkd()
    u, _ = admin()
    for email in (ADMIN_EMAIL, "ADMIN@example.test", " Admin@Example.Test  "):
        t = check_tokens(expect_json(login_raw(d, email, PASSWORD), 200,
                                     "login as %r" % email),
                         "login as %r" % email)
        got = expect_json(me(d, t["access_token"]), 200,
                          "GET /api/auth/me after login as %r" % email)
        eq(got, u, "GET /api/auth/me after login as %r" % email)
    t2 = d.login(ADMIN_EMAIL)
    check(t2["access_token"] != t["access_token"] and
          t2["refresh_token"] != t["refresh_token"],
          "two logins gave the same tokens")


def test_login_validation():
    d = dkd()
    admin()
    for body, fields in (
            ({"email": "", "password": PASSWORD}, {"email": None}),
            ({"email": ADMIN_EMAIL, "password": ""}, {"password": None}),
            ({"email": ADMIN_EMAIL}, {"password": None}),
            ({}, {"email": None, "password": None}),
            ({"email": None, "password": None},
             {"email": None, "password": None})):
        expect_validation(d.api("POST", "/api/auth/login", body),
                          "login %r" % body, fields)


def test_login_wrong():
    d = dkd()
    admin()
    expect_error(login_raw(d, ADMIN_EMAIL, PASSWORD + "x"), 401,
                 "unauthorized", "Invalid email or password.",
                 "login with a wrong password")
    expect_error(login_raw(d, "nobody@example.test", PASSWORD), 401,
                 "unauthorized", "Invalid email or password.",
                 "login with an unknown email")


def test_auth_required():
    d = dkd()
    _, t = admin()
    expect_error(me(d, None), 401, "unauthorized", "Authentication required.",
                 "GET /api/auth/me without Authorization")
    expect_error(d.api("POST", "/api/auth/logout"), 401, "unauthorized",
                 "Authentication required.",
                 "POST /api/auth/logout without Authorization")
    for tok in ("x" * 43, "garbage", t["refresh_token"],
                t["access_token"] + "x", t["access_token"][:-1]):
        expect_error(me(d, tok), 401, "unauthorized",
                     "Invalid or expired token.",
                     "GET /api/auth/me with token %r" % tok)


def test_bearer_case():
    d = dkd()
    u, t = admin()
    for scheme in ("bearer", "BEARER", "bEaReR"):
        r = d.api("GET", "/api/auth/me", headers={
            "Authorization": "%s %s" % (scheme, t["access_token"])})
        eq(expect_json(r, 200, "GET /api/auth/me with scheme %r" % scheme),
           u, "GET /api/auth/me with scheme %r" % scheme)


def test_me():
    d = dkd()
    u, t = admin()
    r = me(d, t["access_token"])
    j = expect_json(r, 200, "GET /api/auth/me")
    check_user(j, "GET /api/auth/me", email=ADMIN_EMAIL, name="Admin",
               role="admin", id=u["id"])
    check(b"argon2" not in r.body and b"password" not in r.body,
          "GET /api/auth/me body mentions a password: %r" % r.body)


# --------------------------------------------------------------- refresh

def test_refresh_errors():
    d = dkd()
    _, t = admin()
    for body in ({}, {"refresh_token": ""}, {"refresh_token": None}):
        expect_error(d.api("POST", "/api/auth/refresh", body), 401,
                     "unauthorized", "Refresh token is required.",
                     "POST /api/auth/refresh %r" % body)
    for tok in ("nope", "x" * 43, t["access_token"]):
        expect_error(d.api("POST", "/api/auth/refresh",
                           {"refresh_token": tok}), 401, "unauthorized",
                     "Invalid refresh token.",
                     "POST /api/auth/refresh with %r" % tok)


def test_refresh_rotation():
    d = dkd()
    u, _ = admin()
    old = d.login(ADMIN_EMAIL)
    r = d.api("POST", "/api/auth/refresh",
              {"refresh_token": old["refresh_token"]})
    new = check_tokens(expect_json(r, 200, "POST /api/auth/refresh"),
                       "refreshed tokens")
    check(new["access_token"] != old["access_token"],
          "refresh kept the access token")
    check(new["refresh_token"] != old["refresh_token"],
          "refresh kept the refresh token")
    eq(expect_json(me(d, new["access_token"]), 200,
                   "GET /api/auth/me with the new access token"), u,
       "GET /api/auth/me with the new access token")
    assert_token_dead(d, old["access_token"], "old access token after refresh")
    newer = check_tokens(expect_json(
        d.api("POST", "/api/auth/refresh",
              {"refresh_token": new["refresh_token"]}), 200,
        "POST /api/auth/refresh with the rotated refresh token"),
        "second refresh")
    assert_token_dead(d, new["access_token"],
                      "access token of the first refresh")
    eq(expect_json(me(d, newer["access_token"]), 200,
                   "GET /api/auth/me after the second refresh"), u,
       "GET /api/auth/me after the second refresh")
    # (reusing a rotated token ends the session: test_refresh_reuse)
    assert_refresh_dead(d, old["refresh_token"],
                        "old refresh token used a second time")


def test_access_expiry():
    d = dkd()
    u, t = member("expiry@example.test")
    h = hashlib.sha256(t["access_token"].encode()).hexdigest()
    rows = d.db_query("SELECT expires_at, refresh_expires_at FROM sessions "
                      "WHERE access_token_hash = ?", (h,))
    eq(len(rows), 1, "session rows with the access token's SHA-256")
    exp, rexp = (calendar.timegm(time.strptime(x, "%Y-%m-%d %H:%M:%S"))
                 for x in rows[0])
    check(abs(exp - time.time() - 15 * 60) < 90, "stored expires_at %r is "
          "not 15 min ahead" % rows[0][0])
    check(abs(rexp - time.time() - 7 * 86400) < 90, "stored "
          "refresh_expires_at %r is not 7 days ahead" % rows[0][1])
    # let the access token expire
    d.db_query("UPDATE sessions SET expires_at = ? WHERE "
               "access_token_hash = ?", (time.strftime(
                   "%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 5)), h))
    assert_token_dead(d, t["access_token"], "expired access token")
    n = expect_json(d.api("POST", "/api/auth/refresh",
                          {"refresh_token": t["refresh_token"]}), 200,
                    "refresh after the access token expired")
    eq(expect_json(me(d, n["access_token"]), 200, "new access token"), u,
       "user after the refresh")
    # let the refresh token expire: refused, and the session is gone
    h2 = hashlib.sha256(n["access_token"].encode()).hexdigest()
    d.db_query("UPDATE sessions SET refresh_expires_at = ? WHERE "
               "access_token_hash = ?", (time.strftime(
                   "%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 5)), h2))
    expect_error(d.api("POST", "/api/auth/refresh",
                       {"refresh_token": n["refresh_token"]}), 401,
                 "unauthorized", "Refresh token has expired.",
                 "refresh with an expired refresh token")
    eq(d.db_query("SELECT count(*) FROM sessions WHERE access_token_hash = ?",
                  (h2,)), [(0,)], "session rows after the expired refresh")
    assert_token_dead(d, n["access_token"], "access token of the expired "
                      "session")


# ---------------------------------------------------------------- logout

def test_logout():
    d = dkd()
    u, a = member("logout@example.test")
    b = d.login("logout@example.test")
    c = d.login("logout@example.test")
    c = expect_json(d.api("POST", "/api/auth/refresh",
                          {"refresh_token": c["refresh_token"]}), 200,
                    "refresh of session c")
    other = d.login(ADMIN_EMAIL)
    expect_empty(d.api("POST", "/api/auth/logout", token=b["access_token"]),
                 204, "POST /api/auth/logout")
    for name, t in (("a", a), ("b", b), ("c (refreshed)", c)):
        assert_token_dead(d, t["access_token"],
                          "access token of session %s after logout" % name)
        assert_refresh_dead(d, t["refresh_token"],
                            "refresh token of session %s after logout" % name)
    expect_json(me(d, other["access_token"]), 200,
                "another user's session after the logout")
    t = d.login("logout@example.test")
    eq(expect_json(me(d, t["access_token"]), 200,
                   "GET /api/auth/me after a new login"), u,
       "user after a new login")


# --------------------------------------------------------------- profile

def test_profile_validation():
    d = dkd()
    _, t = member("prof-val@example.test")
    tok = t["access_token"]
    cases = [
        ({"email": ""}, {"email": None}, True),
        ({"name": ""}, {"name": None}, True),
        ({"email": "not-an-email"}, {"email": None}, True),
        ({"new_password": "short", "current_password": PASSWORD},
         {"new_password": "Password must be at least 8 characters."}, True),
        ({"new_password": "long enough pw"},
         {"current_password": None}, True),
        ({"new_password": "long enough pw", "current_password": ""},
         {"current_password": None}, True),
        ({"new_password": "long enough pw", "current_password": "wrong pw!"},
         {"current_password": "Current password is incorrect."}, True),
    ]
    for body, fields, exact in cases:
        expect_validation(d.api("PATCH", "/api/auth/profile", body,
                                token=tok), "PATCH /api/auth/profile %r"
                          % body, fields, exact)
    j = expect_json(me(d, tok), 200, "GET /api/auth/me afterwards")
    check_user(j, "user after refused updates",
               email="prof-val@example.test", name="Member", role="member")
    d.login("prof-val@example.test")


def test_profile_update():
    d = dkd()
    u, t = member("prof-upd@example.test")
    tok = t["access_token"]
    r = d.api("PATCH", "/api/auth/profile",
              {"name": "Renamed", "email": " Prof-New@Example.TEST ",
               "role": "admin", "current_password": PASSWORD}, token=tok)
    j = expect_json(r, 200, "PATCH /api/auth/profile name+email+role")
    check_user(j, "PATCH /api/auth/profile answer", id=u["id"],
               email="prof-new@example.test", name="Renamed", role="member")
    check(parse_time(j["updated_at"]) >= parse_time(u["updated_at"]),
          "updated_at went back: %r -> %r" % (u["updated_at"],
                                               j["updated_at"]))
    eq(expect_json(me(d, tok), 200, "GET /api/auth/me"), j,
       "GET /api/auth/me after the update")
    d.login("prof-new@example.test")
    expect_error(login_raw(d, "prof-upd@example.test", PASSWORD), 401,
                 "unauthorized", "Invalid email or password.",
                 "login with the old email")
    # null and absent change nothing
    j2 = expect_json(d.api("PATCH", "/api/auth/profile",
                           {"name": None, "email": None}, token=tok),
                     200, "PATCH /api/auth/profile with nulls")
    eq((j2["name"], j2["email"], j2["role"]),
       ("Renamed", "prof-new@example.test", "member"), "user after nulls")
    j3 = expect_json(d.api("PATCH", "/api/auth/profile", {"role": "admin"},
                           token=tok), 200,
                     "PATCH /api/auth/profile {role: admin}")
    eq(j3["role"], "member", "role after PATCH {role: admin}")
    users = expect_json(d.api("GET", "/api/users/" + u["id"],
                              token=admin_token()), 200, "GET /api/users/ID")
    eq(users["role"], "member", "role as the admin sees it")


def test_profile_password():
    d = dkd()
    u, t = member("prof-pw@example.test")
    r = d.api("PATCH", "/api/auth/profile",
              {"new_password": "brand new password",
               "current_password": PASSWORD}, token=t["access_token"])
    check_user(expect_json(r, 200, "PATCH /api/auth/profile new_password"),
               "answer", id=u["id"], email="prof-pw@example.test")
    d.login("prof-pw@example.test", "brand new password")
    expect_error(login_raw(d, "prof-pw@example.test", PASSWORD), 401,
                 "unauthorized", "Invalid email or password.",
                 "login with the old password")


def test_profile_duplicate_email():
    d = dkd()
    member("dup-a@example.test")
    _, t = member("dup-b@example.test")
    for email in ("dup-a@example.test", "DUP-A@example.test",
                  ADMIN_EMAIL):
        expect_error(d.api("PATCH", "/api/auth/profile",
                           {"email": email, "current_password": PASSWORD},
                           token=t["access_token"]), 409, "conflict",
                     "A user with that email already exists.",
                     "PATCH /api/auth/profile email %r" % email)
    j = expect_json(me(d, t["access_token"]), 200, "GET /api/auth/me")
    eq(j["email"], "dup-b@example.test", "email after the refused change")
    # its own address, in another case, is not a conflict
    j = expect_json(d.api("PATCH", "/api/auth/profile",
                          {"email": "Dup-B@Example.test"},
                          token=t["access_token"]), 200,
                    "PATCH /api/auth/profile to its own email")
    eq(j["email"], "dup-b@example.test", "email after setting it again")


# ------------------------------------------------------------ throttling

def throttled(r, what):
    expect_error(r, 429, "rate_limited", what=what)
    ra = r.header("Retry-After")
    check(ra is not None and ra.strip().isdigit() and int(ra) > 0,
          "%s: Retry-After %r is not a positive number of seconds"
          % (what, ra))
    check(int(ra) <= 15 * 60, "%s: Retry-After %s is more than 15 min"
          % (what, ra))


def throttle_dkd(name, **settings):
    d = Dkd(name, **settings).start()
    _, t = d.register_admin()
    for i in range(6):
        d.create_user(t["access_token"], "u%d@example.test" % i)
    return d


def test_throttle_email():
    d = throttle_dkd("throttle-email")
    for i in range(5):
        expect_error(login_raw(d, "u0@example.test", "wrong password"), 401,
                     "unauthorized", "Invalid email or password.",
                     "failed login %d" % (i + 1))
    throttled(login_raw(d, "u0@example.test", PASSWORD),
              "6th attempt, right password")
    throttled(login_raw(d, "u0@example.test", "wrong password"),
              "7th attempt, wrong password")
    # other emails from the same address are not affected
    d.login("u1@example.test")
    expect_error(login_raw(d, "u2@example.test", "wrong password"), 401,
                 "unauthorized", "Invalid email or password.",
                 "wrong password for another email")


def test_throttle_email_case():
    d = throttle_dkd("throttle-case")
    for i, email in enumerate(("u0@example.test", "U0@example.test",
                               "u0@EXAMPLE.test", " u0@example.test",
                               "U0@Example.Test ")):
        expect_error(login_raw(d, email, "wrong password"), 401,
                     "unauthorized", "Invalid email or password.",
                     "failed login %d as %r" % (i + 1, email))
    throttled(login_raw(d, "u0@example.test", PASSWORD),
              "right password after 5 failures spelled in different cases")


def test_throttle_success_clears():
    d = throttle_dkd("throttle-clear")
    for rnd in range(3):
        for i in range(4):
            expect_error(login_raw(d, "u0@example.test", "wrong password"),
                         401, "unauthorized", "Invalid email or password.",
                         "round %d failure %d" % (rnd, i + 1))
        d.login("u0@example.test")
    # the count starts again: 5 more failures are answered 401
    for i in range(5):
        expect_error(login_raw(d, "u0@example.test", "wrong password"), 401,
                     "unauthorized", "Invalid email or password.",
                     "failure %d after the last success" % (i + 1))
    throttled(login_raw(d, "u0@example.test", PASSWORD), "6th attempt")


def fail_from(d, n, xff=None, emails=4):
    """n failed logins spread over several unknown emails (at most 4
    each, below the per-email limit), with X-Forwarded-For xff."""
    h = {"X-Forwarded-For": xff} if xff is not None else None
    for i in range(n):
        email = "nobody%d.%s@example.test" % (i % emails,
                                             (xff or "direct").replace(
                                                 ",", "-").replace(" ", ""))
        r = login_raw(d, email, "wrong password", headers=h)
        expect_error(r, 401, "unauthorized", "Invalid email or password.",
                     "failure %d from %s" % (i + 1, xff or "127.0.0.1"))


def test_throttle_address():
    d = throttle_dkd("throttle-addr")
    fail_from(d, 20, emails=5)
    throttled(login_raw(d, "u0@example.test", PASSWORD),
              "valid login of a never-failed email after 20 failures from "
              "127.0.0.1")
    throttled(login_raw(d, "brand-new@example.test", "x"),
              "another email after 20 failures from 127.0.0.1")


def test_xff_ignored():
    d = throttle_dkd("throttle-noproxy")
    for i in range(20):
        h = {"X-Forwarded-For": "10.1.%d.%d" % (i // 250, i % 250 + 1)}
        expect_error(login_raw(d, "nobody%d@example.test" % i, "x",
                               headers=h), 401, "unauthorized",
                     "Invalid email or password.",
                     "failure %d with X-Forwarded-For %s" % (i + 1, h))
    throttled(login_raw(d, "u0@example.test", PASSWORD,
                        headers={"X-Forwarded-For": "10.9.9.9"}),
              "valid login with a fresh X-Forwarded-For and no trusted-proxy")
    throttled(login_raw(d, "u0@example.test", PASSWORD),
              "valid login without X-Forwarded-For")


def test_trusted_proxy():
    d = throttle_dkd("throttle-proxy", trusted_proxy="127.0.0.1")
    fail_from(d, 20, xff="10.0.0.1", emails=5)
    throttled(login_raw(d, "u0@example.test", PASSWORD,
                        headers={"X-Forwarded-For": "10.0.0.1"}),
              "login from 10.0.0.1 (via the proxy) after its 20 failures")
    # another client behind the same proxy is not affected
    t = d.login("u0@example.test",
                headers={"X-Forwarded-For": "10.0.0.2"})
    check_tokens(t, "login from 10.0.0.2")
    expect_error(login_raw(d, "u1@example.test", "wrong password",
                           headers={"X-Forwarded-For": "10.0.0.2"}), 401,
                 "unauthorized", "Invalid email or password.",
                 "failure from 10.0.0.2")
    # the rightmost address that is not a trusted proxy is the client
    throttled(login_raw(d, "u1@example.test", PASSWORD,
                        headers={"X-Forwarded-For": "10.0.0.2, 10.0.0.1"}),
              "X-Forwarded-For: 10.0.0.2, 10.0.0.1 (client 10.0.0.1)")
    throttled(login_raw(d, "u1@example.test", PASSWORD,
                        headers={"X-Forwarded-For":
                                 "10.0.0.2, 10.0.0.1, 127.0.0.1"}),
              "X-Forwarded-For: 10.0.0.2, 10.0.0.1, 127.0.0.1 (client "
              "10.0.0.1, 127.0.0.1 is the trusted proxy)")
    d.login("u1@example.test",
            headers={"X-Forwarded-For": "10.0.0.1, 10.0.0.2"})
    # the proxy's own address has no failures
    d.login("u2@example.test")


def test_trusted_proxy_other_clients():
    d = throttle_dkd("throttle-proxy2", trusted_proxy="127.0.0.1")
    # 40 failures, 2 per client address: nobody reaches 20
    for i in range(40):
        xff = "192.0.2.%d" % (i // 2 + 1)
        expect_error(login_raw(d, "nobody%d@example.test" % i, "x",
                               headers={"X-Forwarded-For": xff}), 401,
                     "unauthorized", "Invalid email or password.",
                     "failure %d from %s" % (i + 1, xff))
    d.login("u0@example.test", headers={"X-Forwarded-For": "192.0.2.1"})
    d.login("u1@example.test", headers={"X-Forwarded-For": "192.0.2.200"})
    d.login("u2@example.test")


def test_trusted_proxy_reload():
    d = throttle_dkd("throttle-reload")
    d.write_conf(d.conf_text(extra_lines=['trusted-proxy "127.0.0.1"']))
    r = d.dkctl("reload")
    eq(r.returncode, 0, "dkctl reload (stderr %r)" % r.stderr)
    fail_from(d, 20, xff="10.0.0.1", emails=5)
    throttled(login_raw(d, "u0@example.test", PASSWORD,
                        headers={"X-Forwarded-For": "10.0.0.1"}),
              "login from 10.0.0.1 after its 20 failures (after reload)")
    d.login("u0@example.test", headers={"X-Forwarded-For": "10.0.0.2"})
    d.login("u1@example.test")


# ------------------------------------------- issue 6: sessions, bursts

def refresh(d, token):
    return d.api("POST", "/api/auth/refresh", {"refresh_token": token})


def test_refresh_reuse():
    d = dkd()
    u, other = member("reuse@example.test")
    t1 = d.login("reuse@example.test")
    t2 = check_tokens(expect_json(refresh(d, t1["refresh_token"]), 200,
                                  "first refresh"), "first refresh")
    # R1 again: it was rotated, so someone else holds a copy
    expect_error(refresh(d, t1["refresh_token"]), 401, "unauthorized",
                 "Invalid refresh token.", "rotated refresh token again")
    assert_refresh_dead(d, t2["refresh_token"], "current refresh token of "
                        "the session after its old one was reused")
    assert_token_dead(d, t2["access_token"], "current access token of the "
                      "session after its old refresh token was reused")
    # the user's other session is untouched
    eq(expect_json(me(d, other["access_token"]), 200, "another session"), u,
       "user of another session")
    expect_json(refresh(d, other["refresh_token"]), 200,
                "refresh of another session")


def test_profile_password_ends_others():
    d = dkd()
    u, a = member("prof-sessions@example.test")
    b = d.login("prof-sessions@example.test")
    c = d.login("prof-sessions@example.test")
    c = expect_json(refresh(d, c["refresh_token"]), 200, "refresh c")
    expect_json(d.api("PATCH", "/api/auth/profile",
                      {"new_password": "brand new password",
                       "current_password": PASSWORD},
                      token=a["access_token"]), 200,
                "PATCH /api/auth/profile new_password from session a")
    for name, t in (("b", b), ("c (refreshed)", c)):
        assert_token_dead(d, t["access_token"], "access token of session "
                          "%s after the password change" % name)
        assert_refresh_dead(d, t["refresh_token"], "refresh token of "
                            "session %s after the password change" % name)
    eq(expect_json(me(d, a["access_token"]), 200, "the calling session "
                   "after its password change")["id"], u["id"],
       "user of the calling session")
    expect_json(refresh(d, a["refresh_token"]), 200,
                "refresh of the calling session after the password change")
    expect_json(me(d, admin_token()), 200, "another user's session")
    d.login("prof-sessions@example.test", "brand new password")


def test_profile_email_needs_password():
    d = dkd()
    u, t = member("prof-mail@example.test")
    tok = t["access_token"]
    new = "prof-mail-new@example.test"
    for body, msg in (({"email": new}, None),
                      ({"email": new, "current_password": ""}, None),
                      ({"email": new, "name": "N", "current_password":
                        "wrong password"},
                       "Current password is incorrect.")):
        expect_validation(d.api("PATCH", "/api/auth/profile", body,
                                token=tok), "PATCH /api/auth/profile %r"
                          % body, {"current_password": msg})
    j = expect_json(me(d, tok), 200, "GET /api/auth/me after refusals")
    eq((j["email"], j["name"]), ("prof-mail@example.test", "Member"),
       "email and name after the refused changes")
    # a name alone needs no password
    j = expect_json(d.api("PATCH", "/api/auth/profile", {"name": "Renamed"},
                          token=tok), 200, "PATCH name only")
    eq(j["name"], "Renamed", "name")
    j = expect_json(d.api("PATCH", "/api/auth/profile",
                          {"email": new, "current_password": PASSWORD},
                          token=tok), 200, "PATCH email with the password")
    eq(j["email"], new, "email after the change")
    d.login(new)


def login_burst(d, creds, headers=None):
    """One login per (email, password) in creds, all sent at once, each
    on its own connection; -> the responses in order."""
    conns = [http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
             for _ in creds]
    for c in conns:
        c.connect()
    gate = threading.Barrier(len(creds))
    out = [None] * len(creds)

    def one(i):
        email, pw = creds[i]
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        body = json.dumps({"email": email, "password": pw}).encode()
        gate.wait()
        try:
            out[i] = http_request(d.port, "POST", "/api/auth/login",
                                  body=body, headers=h, conn=conns[i])
        except Exception as e:      # reported below
            out[i] = e

    threads = [threading.Thread(target=one, args=(i,))
               for i in range(len(creds))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    for c in conns:
        c.close()
    return out


def burst_counts(rs, what, limit):
    """Every answer 401 or 429 with Retry-After, at most limit 401s."""
    n401 = 0
    for i, r in enumerate(rs):
        check(not isinstance(r, Exception) and r is not None,
              "%s: request %d failed: %r" % (what, i, r))
        if r.status == 401:
            expect_error(r, 401, "unauthorized", "Invalid email or password.",
                         "%s: request %d" % (what, i))
            n401 += 1
        else:
            throttled(r, "%s: request %d" % (what, i))
    check(n401 <= limit, "%s: %d of %d parallel wrong guesses were tried "
          "(401), at most %d may be" % (what, n401, len(rs), limit),
          "statuses: %r" % [r.status for r in rs])
    check(n401 >= 1, "%s: no guess was tried at all" % what)
    return n401


def test_throttle_parallel_email():
    d = throttle_dkd("throttle-burst")
    rs = login_burst(d, [("u0@example.test", "wrong password %d" % i)
                         for i in range(30)])
    burst_counts(rs, "30 parallel wrong logins for one email", 5)
    throttled(login_raw(d, "u0@example.test", PASSWORD),
              "right password after the burst")
    d.login("u1@example.test")


def test_throttle_parallel_address():
    d = throttle_dkd("throttle-burst-addr")
    rs = login_burst(d, [("nobody%d@example.test" % (i % 10), "wrong")
                         for i in range(40)])
    burst_counts(rs, "40 parallel wrong logins from one address", 20)
    throttled(login_raw(d, "u0@example.test", PASSWORD),
              "valid login from the address after the burst")


run_tests([
    ("first run: dkd logs the setup URL with a token", test_first_run_log),
    ("dkctl setup-token prints the token and the setup URL",
     test_setup_token_cmd),
    ("GET /api/auth/register: can_register true before the first user",
     test_can_register_before),
    ("register without/with a wrong setup token: 401, nothing created",
     test_register_needs_token),
    ("register validation: 422 for email, name, password (>= 8)",
     test_register_validation),
    ("register: 201 admin with tokens; email trimmed and lower-cased; "
     "role key ignored", test_register),
    ("after the first user: can_register false, register 409 "
     "\"Registration is closed.\"", test_register_closed),
    ("dkctl setup-token fails once an account exists", test_setup_token_gone),
    ("login: 200 tokens (43-char, 15 min); email case and spaces ignored",
     test_login),
    ("login with an empty or missing field: 422", test_login_validation),
    ("login with a wrong password or unknown email: 401 \"Invalid email or "
     "password.\"", test_login_wrong),
    ("protected route: no token 401 \"Authentication required.\", bad "
     "token 401 \"Invalid or expired token.\"", test_auth_required),
    ("Authorization scheme \"Bearer\" is case-insensitive", test_bearer_case),
    ("GET /api/auth/me: the User, no password hash", test_me),
    ("refresh: missing/empty 401 \"Refresh token is required.\", unknown "
     "401 \"Invalid refresh token.\"", test_refresh_errors),
    ("refresh rotates both tokens: old refresh works once, old access dies",
     test_refresh_rotation),
    ("access token expires (stored 15 min / 7 days); refresh then; expired "
     "refresh 401 \"Refresh token has expired.\"", test_access_expiry),
    ("logout: 204 and every session of the caller ends (access and "
     "refresh)", test_logout),
    ("PATCH /api/auth/profile validation: 422 per field, wrong current "
     "password", test_profile_validation),
    ("PATCH /api/auth/profile: name and email change, role cannot",
     test_profile_update),
    ("PATCH /api/auth/profile new_password: new logs in, old does not",
     test_profile_password),
    ("PATCH /api/auth/profile duplicate email: 409", test_profile_duplicate_email),
    ("throttling: 5 failures for one email -> 429 with Retry-After, even "
     "with the right password", test_throttle_email),
    ("throttling counts the email case-insensitively (as logins match it)",
     test_throttle_email_case),
    ("throttling: a successful login clears the email's failures",
     test_throttle_success_clears),
    ("throttling: 20 failures from one address -> 429 for any email",
     test_throttle_address),
    ("without trusted-proxy, X-Forwarded-For is ignored: all failures "
     "count against 127.0.0.1", test_xff_ignored),
    ("trusted-proxy 127.0.0.1: the rightmost untrusted X-Forwarded-For "
     "address is throttled, others are not", test_trusted_proxy),
    ("trusted-proxy: failures spread over clients do not hit each "
     "other's limit", test_trusted_proxy_other_clients),
    ("trusted-proxy added to dkd.conf takes effect on dkctl reload",
     test_trusted_proxy_reload),
    ("refresh-token reuse: a rotated token presented again ends that "
     "session (old and current tokens 401)", test_refresh_reuse),
    ("PATCH /api/auth/profile new_password ends the other sessions, not "
     "the calling one", test_profile_password_ends_others),
    ("PATCH /api/auth/profile email needs current_password (422 missing "
     "or wrong)", test_profile_email_needs_password),
    ("throttling: 30 parallel wrong logins for one email: at most 5 "
     "tried, the rest 429", test_throttle_parallel_email),
    ("throttling: 40 parallel wrong logins from one address: at most 20 "
     "tried, the rest 429", test_throttle_parallel_address),
])
