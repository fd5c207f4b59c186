#!/usr/bin/env python3
"""Accounts: the admin user API (/api/users), API keys (/api/api-keys)
and the account commands of dkctl (user, apikey, show projects), with
the last-admin rules and the root-only control socket.  One dkd serves
the HTTP checks, another the dkctl checks."""

import json
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (ADMIN_EMAIL, NOBODY, PASSWORD, RFC3339_RE, TOKEN_RE,
                     UUID_RE, Dkd, Failure, check, check_page, check_user, eq,
                     expect_empty, expect_error, expect_json,
                     expect_validation, parse_time, run_tests)

shared = {}
APIKEY_KEYS = {"id", "user_id", "description", "prefix", "expires_at",
               "last_used_at", "created_at"}


def dkd():
    if "d" not in shared:
        d = Dkd("accounts", keep=True).start()
        u, t = d.register_admin()
        shared["d"] = d
        shared["admin"] = u
        shared["tok"] = t["access_token"]
    return shared["d"]


def tok():
    dkd()
    return shared["tok"]


def new_user(email, role=None, password=PASSWORD, name="User"):
    """A user created by the admin, logged in: (user, access token)."""
    d = dkd()
    u = d.create_user(tok(), email, name, password, role)
    return u, d.login(email, password)["access_token"]


def me(d, token):
    return d.api("GET", "/api/auth/me", token=token)


def assert_dead(d, token, what):
    expect_error(me(d, token), 401, "unauthorized",
                 "Invalid or expired token.", what)


# ----------------------------------------------------------------- users

def test_users_create():
    d = dkd()
    r = d.api("POST", "/api/users", {"email": " New.Member@Example.TEST",
                                     "name": "New Member",
                                     "password": PASSWORD}, token=tok())
    u = check_user(expect_json(r, 201, "POST /api/users"), "created user",
                   email="new.member@example.test", name="New Member",
                   role="member")
    check(b"password" not in r.body and b"argon" not in r.body,
          "POST /api/users answer mentions the password: %r" % r.body)
    a = d.create_user(tok(), "new.admin@example.test", "New Admin",
                      role="admin")
    check_user(a, "created admin", role="admin")
    m = d.create_user(tok(), "explicit.member@example.test", role="member")
    check_user(m, "explicit member", role="member")
    eq(expect_json(d.api("GET", "/api/users/" + u["id"], token=tok()), 200,
                   "GET /api/users/ID"), u, "GET /api/users/ID vs created")
    t = d.login("new.member@example.test")
    eq(expect_json(me(d, t["access_token"]), 200, "new member's /me"), u,
       "new member's GET /api/auth/me")


def test_users_validation():
    d = dkd()
    ok = {"email": "val@example.test", "name": "V", "password": PASSWORD}
    cases = [
        ({"name": "V", "password": PASSWORD}, {"email": None}),
        (dict(ok, email=""), {"email": None}),
        (dict(ok, email="no-at-sign"), {"email": None}),
        (dict(ok, name=""), {"name": None}),
        ({"email": "val@example.test", "password": PASSWORD},
         {"name": None}),
        (dict(ok, password="7chars!"),
         {"password": "Password must be at least 8 characters."}),
        ({"email": "val@example.test", "name": "V"}, {"password": None}),
        (dict(ok, role="boss"), {"role": "Role must be admin or member."}),
        (dict(ok, role="Admin"), {"role": "Role must be admin or member."}),
        ({}, {"email": None, "name": None, "password": None}),
    ]
    for body, fields in cases:
        expect_validation(d.api("POST", "/api/users", body, token=tok()),
                          "POST /api/users %r" % body, fields)
    j = expect_json(d.api("GET", "/api/users?email=val@", token=tok()), 200,
                    "GET /api/users?email=val@")
    eq(j["total_count"], 0, "users created by invalid requests")


def test_users_duplicate():
    d = dkd()
    d.create_user(tok(), "dup@example.test")
    for email in ("dup@example.test", "DUP@Example.Test", "  dup@example.test ",
                  ADMIN_EMAIL.upper()):
        expect_error(d.api("POST", "/api/users",
                           {"email": email, "name": "D", "password": PASSWORD},
                           token=tok()), 409, "conflict",
                     "A user with that email already exists.",
                     "POST /api/users with %r" % email)


def test_users_list():
    d = dkd()
    created = []
    for i in range(22):
        created.append(d.create_user(
            tok(), "list%02d@paging.test" % i, "Lister %d" % i,
            role="admin" if i % 7 == 0 else None))
    j = expect_json(d.api("GET", "/api/users?email=paging.test", token=tok()),
                    200, "GET /api/users?email=paging.test")
    data = check_page(j, "filtered users", 0, 0, 22)
    eq(len(data), 20, "users returned with no limit (default 20)")
    for u in data:
        check_user(u, "listed user")
    # newest first: the timestamps are second-granular, so only check
    # that the order never goes forward in time and covers the newest
    times = [parse_time(u["created_at"]) for u in data]
    eq(times, sorted(times, reverse=True), "created_at order of the list")
    ids = [u["id"] for u in data]
    all_ids = {u["id"] for u in created}
    check(set(ids) <= all_ids, "list has users outside the filter")
    j2 = expect_json(d.api("GET", "/api/users?email=PAGING.TEST&offset=20&"
                           "limit=5", token=tok()), 200, "second page")
    data2 = check_page(j2, "second page", 20, 5, 22)
    eq(len(data2), 2, "users on the second page")
    eq(set(ids) | {u["id"] for u in data2}, all_ids,
       "first + second page vs the created users")
    check(not set(ids) & {u["id"] for u in data2}, "pages overlap")
    for q, off, lim, n in (("limit=0", 0, 0, 20), ("limit=-5", 0, -5, 20),
                           ("limit=1000", 0, 1000, 22),
                           ("offset=-3&limit=3", -3, 3, 3),
                           ("limit=3", 0, 3, 3), ("offset=21", 21, 0, 1),
                           ("offset=100", 100, 0, 0)):
        j = expect_json(d.api("GET", "/api/users?email=paging.test&" + q,
                              token=tok()), 200, "GET /api/users?" + q)
        eq(len(check_page(j, q, off, lim, 22)), n, "users with " + q)
    j = expect_json(d.api("GET", "/api/users?email=paging.test&role=admin",
                          token=tok()), 200, "role=admin filter")
    data = check_page(j, "role=admin", 0, 0, 4)
    eq(sorted(u["email"] for u in data),
       ["list%02d@paging.test" % i for i in (0, 7, 14, 21)],
       "admins among the listed users")
    j = expect_json(d.api("GET", "/api/users?role=member&email=paging",
                          token=tok()), 200, "role=member filter")
    check_page(j, "role=member", 0, 0, 18)
    for q in ("offset=x", "offset=1.5", "offset="):
        expect_error(d.api("GET", "/api/users?" + q, token=tok()), 400,
                     "invalid", 'Query param "offset" must be an integer.',
                     "GET /api/users?" + q)
    expect_error(d.api("GET", "/api/users?limit=ten", token=tok()), 400,
                 "invalid", 'Query param "limit" must be an integer.',
                 "GET /api/users?limit=ten")


def test_users_404():
    d = dkd()
    for uid in ("00000000-0000-4000-8000-000000000000", "nope"):
        for m, body in (("GET", None), ("PATCH", {"name": "X"}),
                        ("DELETE", None)):
            expect_error(d.api(m, "/api/users/" + uid, body, token=tok()),
                         404, "not_found", "User not found.",
                         "%s /api/users/%s" % (m, uid))


def test_users_patch():
    d = dkd()
    u, t = new_user("patch-me@example.test")
    r = d.api("PATCH", "/api/users/" + u["id"],
              {"name": "Patched", "email": "Patched@Example.TEST"},
              token=tok())
    j = check_user(expect_json(r, 200, "PATCH name+email"), "patched user",
                   id=u["id"], email="patched@example.test", name="Patched",
                   role="member")
    eq(expect_json(d.api("GET", "/api/users/" + u["id"], token=tok()), 200,
                   "GET after PATCH"), j, "GET after PATCH")
    j = expect_json(d.api("PATCH", "/api/users/" + u["id"], {"role": "admin"},
                          token=tok()), 200, "PATCH role admin")
    eq(j["role"], "admin", "role after PATCH role admin")
    j = expect_json(d.api("PATCH", "/api/users/" + u["id"],
                          {"role": "member"}, token=tok()), 200,
                    "PATCH role member")
    eq(j["role"], "member", "role after PATCH role member")
    j = expect_json(d.api("PATCH", "/api/users/" + u["id"], {}, token=tok()),
                    200, "PATCH {}")
    eq((j["email"], j["name"], j["role"]),
       ("patched@example.test", "Patched", "member"), "user after PATCH {}")
    # the name/email change did not end the user's session
    expect_json(me(d, t), 200, "user's token after a name/email change")
    for body, fields in (({"name": ""}, {"name": None}),
                         ({"email": ""}, {"email": None}),
                         ({"email": "bad"}, {"email": None}),
                         ({"password": "short"}, {"password": None}),
                         ({"role": "root"}, {"role": None})):
        expect_validation(d.api("PATCH", "/api/users/" + u["id"], body,
                                token=tok()), "PATCH %r" % body, fields)
    expect_error(d.api("PATCH", "/api/users/" + u["id"],
                       {"email": ADMIN_EMAIL}, token=tok()), 409, "conflict",
                 "A user with that email already exists.",
                 "PATCH email to the admin's")


def test_users_patch_password():
    d = dkd()
    u, t = new_user("pw-change@example.test")
    t2 = d.login("pw-change@example.test")
    expect_json(d.api("PATCH", "/api/users/" + u["id"],
                      {"password": "admin set this one"}, token=tok()), 200,
                "PATCH password")
    assert_dead(d, t, "first session after the password change")
    assert_dead(d, t2["access_token"], "second session after the change")
    expect_error(d.api("POST", "/api/auth/refresh",
                       {"refresh_token": t2["refresh_token"]}), 401,
                 "unauthorized", "Invalid refresh token.",
                 "refresh token after the password change")
    d.login("pw-change@example.test", "admin set this one")
    expect_error(d.api("POST", "/api/auth/login",
                       {"email": "pw-change@example.test",
                        "password": PASSWORD}), 401, "unauthorized",
                 "Invalid email or password.", "login with the old password")
    expect_json(me(d, tok()), 200, "the admin's own session")


def test_last_admin():
    d = Dkd("lastadmin").start()
    a, t = d.register_admin()
    at = t["access_token"]
    expect_error(d.api("PATCH", "/api/users/" + a["id"], {"role": "member"},
                       token=at), 409, "conflict",
                 "Cannot demote the last admin.", "demote the only admin")
    expect_error(d.api("DELETE", "/api/users/" + a["id"], token=at), 409,
                 "conflict", "Cannot delete the last admin.",
                 "delete the only admin")
    # a member does not count
    m = d.create_user(at, "m@example.test")
    expect_error(d.api("DELETE", "/api/users/" + a["id"], token=at), 409,
                 "conflict", "Cannot delete the last admin.",
                 "delete the only admin while a member exists")
    # with a second admin, the first can be demoted; then the second is
    # the last one
    b = d.create_user(at, "b@example.test", role="admin")
    bt = d.login("b@example.test")["access_token"]
    j = expect_json(d.api("PATCH", "/api/users/" + a["id"],
                          {"role": "member"}, token=at), 200,
                    "demote the first of two admins")
    eq(j["role"], "member", "role of the demoted admin")
    expect_error(d.api("PATCH", "/api/users/" + b["id"], {"role": "member"},
                       token=bt), 409, "conflict",
                 "Cannot demote the last admin.", "demote the remaining admin")
    expect_error(d.api("DELETE", "/api/users/" + b["id"], token=bt), 409,
                 "conflict", "Cannot delete the last admin.",
                 "delete the remaining admin")
    # PATCH role admin on an admin, or member on a member, is fine
    expect_json(d.api("PATCH", "/api/users/" + b["id"], {"role": "admin"},
                      token=bt), 200, "PATCH role admin on the last admin")
    expect_json(d.api("PATCH", "/api/users/" + m["id"], {"role": "member"},
                      token=bt), 200, "PATCH role member on a member")
    j = expect_json(d.api("GET", "/api/users?role=admin", token=bt), 200,
                    "GET /api/users?role=admin")
    eq([u["id"] for u in j["data"]], [b["id"]], "admins at the end")


def test_users_delete():
    d = dkd()
    u, t = new_user("delete-me@example.test")
    r = d.api("POST", "/api/api-keys", {"description": "doomed"}, token=t)
    key = expect_json(r, 201, "POST /api/api-keys as the user")["token"]
    expect_json(me(d, key), 200, "the user's API key before the delete")
    expect_empty(d.api("DELETE", "/api/users/" + u["id"], token=tok()), 204,
                 "DELETE /api/users/ID")
    assert_dead(d, t, "access token of the deleted user")
    assert_dead(d, key, "API key of the deleted user")
    expect_error(d.api("GET", "/api/users/" + u["id"], token=tok()), 404,
                 "not_found", "User not found.", "GET the deleted user")
    expect_error(d.api("DELETE", "/api/users/" + u["id"], token=tok()), 404,
                 "not_found", "User not found.", "DELETE it again")
    expect_error(d.api("POST", "/api/auth/login",
                       {"email": "delete-me@example.test",
                        "password": PASSWORD}), 401, "unauthorized",
                 "Invalid email or password.", "login as the deleted user")


def test_users_forbidden():
    d = dkd()
    u, mt = new_user("forbidden@example.test")
    for m, path, body in (("GET", "/api/users", None),
                          ("POST", "/api/users", {"email": "x@example.test",
                                                  "name": "X",
                                                  "password": PASSWORD}),
                          ("GET", "/api/users/" + u["id"], None),
                          ("GET", "/api/users/" + shared["admin"]["id"],
                           None),
                          ("PATCH", "/api/users/" + u["id"],
                           {"role": "admin"}),
                          ("PATCH", "/api/users/" + shared["admin"]["id"],
                           {"password": "hijacked password"}),
                          ("DELETE", "/api/users/" + shared["admin"]["id"],
                           None),
                          ("GET", "/api/users/nope", None)):
        expect_error(d.api(m, path, body, token=mt), 403, "forbidden",
                     "Insufficient permissions.",
                     "%s %s as a member" % (m, path))
    j = expect_json(me(d, mt), 200, "member's /me")
    eq(j["role"], "member", "member's role afterwards")
    d.login(ADMIN_EMAIL)
    expect_json(d.api("GET", "/api/users/" + shared["admin"]["id"],
                      token=tok()), 200, "admin still there")
    expect_error(d.api("GET", "/api/users"), 401, "unauthorized",
                 "Authentication required.", "GET /api/users without token")


# -------------------------------------------------------------- API keys

def check_key(k, what, description=None, user_id=None, with_token=False):
    check(isinstance(k, dict), "%s: not an object: %r" % (what, k))
    want = APIKEY_KEYS | ({"token"} if with_token else set())
    eq(set(k), want, "%s: keys" % what)
    check(UUID_RE.match(k["id"]), "%s: id %r is not a UUID" % (what, k["id"]))
    check(RFC3339_RE.match(k["created_at"]), "%s: created_at %r"
          % (what, k["created_at"]))
    for f in ("expires_at", "last_used_at"):
        check(k[f] is None or (isinstance(k[f], str) and
                               RFC3339_RE.match(k[f])),
              "%s: %s %r is neither null nor RFC 3339" % (what, f, k[f]))
    check(isinstance(k["prefix"], str) and len(k["prefix"]) == 8,
          "%s: prefix %r is not 8 chars" % (what, k["prefix"]))
    if with_token:
        check(TOKEN_RE.match(k["token"]), "%s: token %r is not 43 chars of "
              "base64url" % (what, k["token"]))
        eq(k["prefix"], k["token"][:8], "%s: prefix vs token" % what)
    if description is not None:
        eq(k["description"], description, "%s: description" % what)
    if user_id is not None:
        eq(k["user_id"], user_id, "%s: user_id" % what)
    return k


def test_apikey_create():
    d = dkd()
    u, t = new_user("keys@example.test")
    r = d.api("POST", "/api/api-keys", {"description": "ci deploys"}, token=t)
    k = check_key(expect_json(r, 201, "POST /api/api-keys"), "created key",
                  "ci deploys", u["id"], with_token=True)
    eq(k["expires_at"], None, "expires_at without one")
    eq(k["last_used_at"], None, "last_used_at of a new key")
    exp = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                        time.gmtime(time.time() + 86400 * 30))
    k2 = check_key(expect_json(d.api("POST", "/api/api-keys",
                                     {"description": "expiring",
                                      "expires_at": exp}, token=t), 201,
                               "POST /api/api-keys with expires_at"),
                   "expiring key", "expiring", u["id"], with_token=True)
    eq(k2["expires_at"], exp, "expires_at echoed")
    check(k["token"] != k2["token"], "two keys with the same token")
    r = d.api("GET", "/api/api-keys", token=t)
    j = expect_json(r, 200, "GET /api/api-keys")
    eq(sorted(j), ["data"], "keys of the list")
    eq(sorted(x["id"] for x in j["data"]), sorted([k["id"], k2["id"]]),
       "listed key ids")
    for x in j["data"]:
        check_key(x, "listed key", user_id=u["id"])
    check(k["token"].encode() not in r.body and
          k2["token"].encode() not in r.body and b'"token"' not in r.body,
          "GET /api/api-keys shows a token: %r" % r.body)
    listed = {x["id"]: x for x in j["data"]}
    eq(listed[k2["id"]]["expires_at"], exp, "listed expires_at")
    eq(listed[k["id"]]["prefix"], k["prefix"], "listed prefix")
    # the admin sees only the admin's keys
    j = expect_json(d.api("GET", "/api/api-keys", token=tok()), 200,
                    "GET /api/api-keys as admin")
    check(not {k["id"], k2["id"]} & {x["id"] for x in j["data"]},
          "the admin's list shows another user's keys: %r" % j)
    shared["member_key"] = (u, t, k)


def test_apikey_validation():
    d = dkd()
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    for body, fields in (({}, {"description": None}),
                         ({"description": ""}, {"description": None}),
                         ({"description": None}, {"description": None}),
                         ({"description": "d", "expires_at": "tomorrow"},
                          {"expires_at": None}),
                         ({"description": "d",
                           "expires_at": "2030-01-01 00:00:00"},
                          {"expires_at": None}),
                         ({"description": "d", "expires_at": "2030-13-01T00:"
                           "00:00Z"}, {"expires_at": None}),
                         ({"description": "d", "expires_at": past},
                          {"expires_at": "Expiry must be in the future."}),
                         ({"description": "d",
                           "expires_at": "2001-01-01T00:00:00Z"},
                          {"expires_at": "Expiry must be in the future."})):
        expect_validation(d.api("POST", "/api/api-keys", body, token=tok()),
                          "POST /api/api-keys %r" % body, fields)
    expect_error(d.api("POST", "/api/api-keys", {"description": "x"}), 401,
                 "unauthorized", "Authentication required.",
                 "POST /api/api-keys without a token")


def test_apikey_auth():
    d = dkd()
    if "member_key" not in shared:
        test_apikey_create()
    u, t, k = shared["member_key"]
    for scheme in ("Bearer", "bearer"):
        r = d.api("GET", "/api/auth/me", headers={
            "Authorization": "%s %s" % (scheme, k["token"])})
        eq(expect_json(r, 200, "GET /api/auth/me with an API key (%s)"
                       % scheme), u, "user of the API key")
    j = expect_json(d.api("GET", "/api/api-keys", token=t), 200,
                    "GET /api/api-keys")
    used = [x for x in j["data"] if x["id"] == k["id"]][0]
    check(used["last_used_at"] is not None, "last_used_at still null after "
          "the key was used: %r" % used)
    check(abs(parse_time(used["last_used_at"]) - time.time()) < 120,
          "last_used_at %r is not about now" % used["last_used_at"])
    # an API key acts as its user: a member key cannot do admin things
    expect_error(d.api("GET", "/api/users", token=k["token"]), 403,
                 "forbidden", "Insufficient permissions.",
                 "GET /api/users with a member's API key")
    # it is not a refresh token
    expect_error(d.api("POST", "/api/auth/refresh",
                       {"refresh_token": k["token"]}), 401, "unauthorized",
                 "Invalid refresh token.", "API key as a refresh token")
    for bad in (k["prefix"], k["token"][:-1], k["token"] + "A"):
        expect_error(me(d, bad), 401, "unauthorized",
                     "Invalid or expired token.", "GET /api/auth/me with %r"
                     % bad)


def test_apikey_expired():
    d = dkd()
    exp_t = int(time.time()) + 3
    exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp_t))
    r = d.api("POST", "/api/api-keys", {"description": "short-lived",
                                        "expires_at": exp}, token=tok())
    k = check_key(expect_json(r, 201, "POST /api/api-keys (3 s)"),
                  "short-lived key", with_token=True)
    eq(expect_json(me(d, k["token"]), 200, "key before it expires")["email"],
       ADMIN_EMAIL, "user of the key before expiry")
    time.sleep(max(0, exp_t - time.time()) + 1.2)
    assert_dead(d, k["token"], "GET /api/auth/me with the expired key")


def test_apikey_delete():
    d = dkd()
    u, t = new_user("keydel@example.test")
    mine = expect_json(d.api("POST", "/api/api-keys", {"description": "m"},
                             token=t), 201, "member key")
    theirs = expect_json(d.api("POST", "/api/api-keys", {"description": "a"},
                               token=tok()), 201, "admin key")
    expect_error(d.api("DELETE", "/api/api-keys/" + theirs["id"], token=t),
                 404, "not_found", "API key not found.",
                 "member deletes the admin's key")
    expect_error(d.api("DELETE", "/api/api-keys/" + mine["id"], token=tok()),
                 404, "not_found", "API key not found.",
                 "admin deletes the member's key")
    expect_json(me(d, theirs["token"]), 200, "admin key after the refusal")
    expect_json(me(d, mine["token"]), 200, "member key after the refusal")
    expect_empty(d.api("DELETE", "/api/api-keys/" + mine["id"], token=t),
                 204, "DELETE own key")
    assert_dead(d, mine["token"], "deleted key")
    expect_error(d.api("DELETE", "/api/api-keys/" + mine["id"], token=t),
                 404, "not_found", "API key not found.", "DELETE it again")
    expect_error(d.api("DELETE", "/api/api-keys/nope", token=t), 404,
                 "not_found", "API key not found.", "DELETE unknown id")
    j = expect_json(d.api("GET", "/api/api-keys", token=t), 200, "list")
    eq(j, {"data": []}, "member's keys after the delete")
    # the key can delete itself
    expect_empty(d.api("DELETE", "/api/api-keys/" + theirs["id"],
                       token=theirs["token"]), 204,
                 "DELETE a key authenticated by that key")
    assert_dead(d, theirs["token"], "self-deleted key")


# ----------------------------------------------------------------- dkctl

def cdkd():
    """The dkctl dkd, with an admin."""
    if "c" not in shared:
        c = Dkd("accounts-dkctl", keep=True).start()
        u, t = c.register_admin()
        shared["c"] = c
        shared["c_admin"] = u
        shared["c_tok"] = t["access_token"]
    return shared["c"]


def dkctl_ok(c, *args, input=None):
    r = c.dkctl(*args, input=input)
    if r.returncode != 0:
        raise Failure("dkctl %s: exit %d, stderr %r" % (" ".join(args),
                                                         r.returncode,
                                                         r.stderr))
    eq(r.stderr, "", "dkctl %s stderr" % " ".join(args))
    return r.stdout


def dkctl_fails(c, args, prefix, input=None):
    r = c.dkctl(*args, input=input)
    eq(r.returncode, 1, "dkctl %s exit status (stdout %r, stderr %r)"
       % (" ".join(args), r.stdout, r.stderr))
    check(r.stderr.startswith(prefix), "dkctl %s stderr %r does not start "
          "with %r" % (" ".join(args), r.stderr, prefix))
    return r


def api_user(c, email):
    j = expect_json(c.api("GET", "/api/users?email=" + email,
                          token=shared["c_tok"]), 200, "GET /api/users")
    us = [u for u in j["data"] if u["email"] == email]
    return us[0] if us else None


def test_dkctl_user_add():
    c = cdkd()
    # only the first line of a non-tty stdin is the password
    out = dkctl_ok(c, "user", "add", "Cli.One@Example.TEST", "Cli One",
                   input="cli password 1\nnot part of it\n")
    eq(out, "user cli.one@example.test (member) created\n", "stdout")
    u = api_user(c, "cli.one@example.test")
    check(u, "user made by dkctl not in GET /api/users")
    check_user(u, "dkctl user", name="Cli One", role="member")
    c.login("cli.one@example.test", "cli password 1")
    out = dkctl_ok(c, "user", "add", "cli.two@example.test", "Cli Two",
                   "admin", input="cli password 2\n")
    eq(out, "user cli.two@example.test (admin) created\n", "stdout (admin)")
    eq(api_user(c, "cli.two@example.test")["role"], "admin", "role")
    out = dkctl_ok(c, "user", "add", "cli.three@example.test", "Cli Three",
                   "member", input="cli password 3\n")
    eq(out, "user cli.three@example.test (member) created\n",
       "stdout (member)")
    c.login("cli.three@example.test", "cli password 3")


def test_dkctl_user_add_errors():
    c = cdkd()
    r = dkctl_fails(c, ("user", "add", "short@example.test", "S"),
                    "command failed: ", input="short\n")
    check("at least 8 characters" in r.stderr, "stderr does not give the "
          "reason: %r" % r.stderr)
    check(api_user(c, "short@example.test") is None,
          "user created despite the short password")
    dkctl_fails(c, ("user", "add", ADMIN_EMAIL, "Again"),
                "command failed: A user with that email already exists.",
                input="long enough pw\n")
    r = dkctl_fails(c, ("user", "add", "role@example.test", "R", "root"),
                    "", input="long enough pw\n")
    check(api_user(c, "role@example.test") is None,
          "user created with role root")
    r = dkctl_fails(c, ("user", "add", "bad-email", "R"), "command failed: ",
                    input="long enough pw\n")


def table_rows(text, header):
    """Split an aligned table by the column starts of its header line;
    -> list of dicts.  Fails unless the header is exactly header and every
    cell starts at its column and is preceded by a blank."""
    lines = text.splitlines()
    check(lines, "empty table")
    head = lines[0]
    eq(head.split(), header, "table header")
    starts = [m.start() for m in re.finditer(r"\S+", head)]
    rows = []
    for line in lines[1:]:
        cells = []
        for i, s in enumerate(starts):
            e = starts[i + 1] if i + 1 < len(starts) else len(line)
            check(len(line) > s and line[s] != " " and
                  (s == 0 or line[s - 1] == " "),
                  "row %r is not aligned with header %r (column %s)"
                  % (line, head, header[i]))
            cells.append(line[s:e].rstrip())
        rows.append(dict(zip(header, cells)))
    return rows


def test_dkctl_user_list():
    c = cdkd()
    j = expect_json(c.api("GET", "/api/users?limit=100",
                          token=shared["c_tok"]), 200, "GET /api/users")
    rows = table_rows(dkctl_ok(c, "user", "list"),
                      ["EMAIL", "NAME", "ROLE", "CREATED", "ID"])
    eq(len(rows), j["total_count"], "rows of dkctl user list")
    want = {u["id"]: u for u in j["data"]}
    for row in rows:
        check(row["ID"] in want, "unknown user row %r" % row)
        u = want[row["ID"]]
        eq((row["EMAIL"], row["NAME"], row["ROLE"], row["CREATED"]),
           (u["email"], u["name"], u["role"], u["created_at"]),
           "row of %s" % u["email"])
    out = dkctl_ok(c, "-j", "user", "list")
    try:
        js = json.loads(out)
    except ValueError:
        raise Failure("dkctl -j user list is not JSON: %r" % out)
    check(isinstance(js, dict) and isinstance(js.get("data"), list),
          "dkctl -j user list: %r" % js)
    eq(sorted(js["data"], key=lambda u: u["id"]),
       sorted(j["data"], key=lambda u: u["id"]),
       "dkctl -j user list data vs GET /api/users")
    eq(js.get("total_count"), j["total_count"], "total_count")


def test_dkctl_passwd():
    c = cdkd()
    dkctl_ok(c, "user", "add", "pw@example.test", "PW",
             input="first password\n")
    t = c.login("pw@example.test", "first password")
    out = dkctl_ok(c, "user", "passwd", "PW@example.test",
                   input="second password\n")
    check("pw@example.test" in out, "stdout %r" % out)
    c.login("pw@example.test", "second password")
    expect_error(c.api("POST", "/api/auth/login",
                       {"email": "pw@example.test",
                        "password": "first password"}), 401, "unauthorized",
                 "Invalid email or password.", "login with the old password")
    assert_dead(c, t["access_token"], "token from before dkctl user passwd")
    expect_error(c.api("POST", "/api/auth/refresh",
                       {"refresh_token": t["refresh_token"]}), 401,
                 "unauthorized", "Invalid refresh token.",
                 "refresh token from before dkctl user passwd")
    r = dkctl_fails(c, ("user", "passwd", "pw@example.test"),
                    "", input="short\n")
    check("at least 8 characters" in r.stderr, "stderr %r" % r.stderr)
    c.login("pw@example.test", "second password")


def test_dkctl_role_del():
    c = cdkd()
    dkctl_ok(c, "user", "add", "rd@example.test", "RD",
             input="rd password\n")
    t = c.login("rd@example.test", "rd password")["access_token"]
    dkctl_ok(c, "user", "role", "rd@example.test", "admin")
    eq(api_user(c, "rd@example.test")["role"], "admin", "role after "
       "dkctl user role admin")
    expect_json(c.api("GET", "/api/users", token=t), 200,
                "GET /api/users with the promoted user's token")
    dkctl_ok(c, "user", "role", "rd@example.test", "member")
    eq(api_user(c, "rd@example.test")["role"], "member", "role after "
       "dkctl user role member")
    expect_error(c.api("GET", "/api/users", token=t), 403, "forbidden",
                 "Insufficient permissions.", "GET /api/users after demotion")
    dkctl_fails(c, ("user", "role", "rd@example.test", "boss"),
                "command failed: ")
    eq(api_user(c, "rd@example.test")["role"], "member", "role after "
       "an invalid role")
    dkctl_ok(c, "user", "del", "rd@example.test")
    check(api_user(c, "rd@example.test") is None, "user still listed")
    assert_dead(c, t, "token of the user deleted by dkctl")


def test_dkctl_last_admin():
    c = Dkd("dkctl-lastadmin").start()
    c.register_admin()
    dkctl_fails(c, ("user", "role", ADMIN_EMAIL, "member"),
                "command failed: Cannot demote the last admin.")
    dkctl_fails(c, ("user", "del", ADMIN_EMAIL),
                "command failed: Cannot delete the last admin.")
    dkctl_ok(c, "user", "add", "second@example.test", "Second", "admin",
             input="second password\n")
    dkctl_ok(c, "user", "del", ADMIN_EMAIL)
    dkctl_fails(c, ("user", "del", "second@example.test"),
                "command failed: Cannot delete the last admin.")
    dkctl_fails(c, ("user", "role", "second@example.test", "member"),
                "command failed: Cannot demote the last admin.")
    c.login("second@example.test", "second password")


def test_dkctl_unknown_email():
    c = cdkd()
    for args, inp in ((("user", "passwd", "ghost@example.test"),
                       "ghost password\n"),
                      (("user", "role", "ghost@example.test", "admin"), None),
                      (("user", "del", "ghost@example.test"), None),
                      (("apikey", "create", "ghost@example.test", "d"), None),
                      (("apikey", "list", "ghost@example.test"), None)):
        dkctl_fails(c, args, "command failed: No user with email "
                    "ghost@example.test", input=inp)


def test_dkctl_apikey():
    c = cdkd()
    dkctl_ok(c, "user", "add", "keyed@example.test", "Keyed",
             input="keyed password\n")
    u = api_user(c, "keyed@example.test")
    out = dkctl_ok(c, "apikey", "create", "keyed@example.test", "from cli")
    m = re.search(r"^token: (\S+)$", out, re.M)
    check(m, "no 'token: TOKEN' line in %r" % out)
    token = m.group(1)
    check(TOKEN_RE.match(token), "token %r is not 43 chars" % token)
    eq(expect_json(me(c, token), 200, "GET /api/auth/me with the dkctl "
                   "key"), u, "user of the dkctl key")
    exp = "2031-01-31T12:00:00Z"
    out = dkctl_ok(c, "apikey", "create", "keyed@example.test", "expiring",
                   exp)
    token2 = re.search(r"^token: (\S+)$", out, re.M).group(1)
    j = expect_json(c.api("GET", "/api/api-keys", token=token), 200,
                    "GET /api/api-keys with the key")
    keys = {k["prefix"]: k for k in j["data"]}
    eq(sorted(keys), sorted([token[:8], token2[:8]]), "listed prefixes")
    eq(keys[token2[:8]]["expires_at"], exp, "expires_at of the dkctl key")
    eq(keys[token[:8]]["description"], "from cli", "description")
    dkctl_fails(c, ("apikey", "create", "keyed@example.test", "x", "soon"),
                "command failed: ")
    dkctl_fails(c, ("apikey", "create", "keyed@example.test", "x",
                    "2001-01-01T00:00:00Z"), "command failed: ")
    # list: all, or one user's
    out = dkctl_ok(c, "apikey", "list", "keyed@example.test")
    for k in keys.values():
        check(k["id"] in out and k["prefix"] in out,
              "apikey list lacks %s: %r" % (k["id"], out))
    check(token not in out and token2 not in out, "apikey list shows a "
          "token: %r" % out)
    expect_json(c.api("POST", "/api/api-keys", {"description": "admins"},
                      token=shared["c_tok"]), 201, "admin key")
    out = dkctl_ok(c, "apikey", "list", "keyed@example.test")
    check("admins" not in out, "apikey list EMAIL shows another user's "
          "key: %r" % out)
    out = dkctl_ok(c, "apikey", "list")
    check("admins" in out and "from cli" in out, "apikey list: %r" % out)
    js = json.loads(dkctl_ok(c, "-j", "apikey", "list", "keyed@example.test"))
    eq(sorted(k["id"] for k in js["data"]), sorted(k["id"] for k in
                                                   keys.values()),
       "dkctl -j apikey list EMAIL ids")
    check(all("token" not in k for k in js["data"]), "token in -j list")
    # del
    dkctl_ok(c, "apikey", "del", keys[token[:8]]["id"])
    assert_dead(c, token, "key deleted with dkctl")
    expect_json(me(c, token2), 200, "the other key")
    dkctl_fails(c, ("apikey", "del", keys[token[:8]]["id"]),
                "command failed: API key not found.")


def test_dkctl_show_projects():
    c = cdkd()
    made = []
    for name in ("Alpha Site", "beta", "Gamma 3"):
        made.append(expect_json(c.api("POST", "/api/projects",
                                      {"name": name},
                                      token=shared["c_tok"]), 201,
                                "POST /api/projects %s" % name))
    rows = table_rows(dkctl_ok(c, "show", "projects"),
                      ["NAME", "SLUG", "CREATED", "ID"])
    got = {r["ID"]: r for r in rows}
    for p in made:
        check(p["id"] in got, "project %s not listed: %r" % (p["name"], rows))
        r = got[p["id"]]
        eq((r["NAME"], r["SLUG"], r["CREATED"]),
           (p["name"], p["slug"], p["created_at"]), "row of %s" % p["name"])
    js = json.loads(dkctl_ok(c, "-j", "show", "projects"))
    eq({p["id"] for p in js["data"]} >= {p["id"] for p in made}, True,
       "dkctl -j show projects lists the projects")


def test_dkctl_nonroot():
    c = cdkd()
    os.chmod(c.sock, 0o666)
    try:
        for args in (("user", "add", "np@example.test", "NP"),
                     ("user", "passwd", ADMIN_EMAIL),
                     ("user", "role", ADMIN_EMAIL, "member"),
                     ("user", "del", ADMIN_EMAIL),
                     ("user", "list"),
                     ("apikey", "create", ADMIN_EMAIL, "stolen"),
                     ("apikey", "list"),
                     ("apikey", "del", "whatever"),
                     ("show", "projects"),
                     ("setup-token",)):
            r = c.dkctl(*args, as_user=NOBODY, input="nobody password\n")
            eq(r.returncode, 1, "dkctl %s as nobody: exit status (%r)"
               % (" ".join(args), r.stdout))
            check(r.stderr.startswith("command failed: Permission denied"),
                  "dkctl %s as nobody: stderr %r" % (" ".join(args),
                                                     r.stderr))
            check(ADMIN_EMAIL not in r.stdout and "token" not in r.stdout,
                  "dkctl %s as nobody printed %r" % (" ".join(args),
                                                     r.stdout))
    finally:
        os.chmod(c.sock, 0o660)
    check(api_user(c, "np@example.test") is None, "nobody created a user")
    j = expect_json(c.api("GET", "/api/users?role=admin",
                          token=shared["c_tok"]), 200, "admins")
    check(ADMIN_EMAIL in [u["email"] for u in j["data"]],
          "the admin lost its role or account")
    c.login(ADMIN_EMAIL)


# ----------------------------------------------- issue 6: limits, errors

KEY_CAP = 100


def test_apikey_cap():
    d = dkd()
    u, t = new_user("many-keys@example.test")
    ids = []
    for i in range(KEY_CAP):
        k = expect_json(d.api("POST", "/api/api-keys",
                              {"description": "key %d" % i}, token=t), 201,
                        "POST /api/api-keys number %d" % (i + 1))
        ids.append(k["id"])
    j = expect_error(d.api("POST", "/api/api-keys", {"description": "one "
                                                     "too many"}, token=t),
                     409, "conflict", what="POST /api/api-keys number %d"
                     % (KEY_CAP + 1), contains="%d API keys" % KEY_CAP)
    check("delete" in j["message"].lower(), "the message does not say what "
          "to do: %r" % j["message"])
    eq(len(expect_json(d.api("GET", "/api/api-keys", token=t), 200,
                       "GET /api/api-keys")["data"]), KEY_CAP,
       "keys after the refusal")
    dkctl_fails(d, ("apikey", "create", "many-keys@example.test", "cli"),
                "command failed: ")
    r = d.dkctl("apikey", "create", "many-keys@example.test", "cli")
    check("%d API keys" % KEY_CAP in r.stderr, "dkctl apikey create beyond "
          "the cap: stderr %r" % r.stderr)
    # deleting one makes room for exactly one
    expect_empty(d.api("DELETE", "/api/api-keys/" + ids[0], token=t), 204,
                 "DELETE one key")
    expect_json(d.api("POST", "/api/api-keys", {"description": "again"},
                      token=t), 201, "POST /api/api-keys after a delete")
    expect_error(d.api("POST", "/api/api-keys", {"description": "no"},
                       token=t), 409, "conflict", what="POST /api/api-keys "
                 "at the cap again", contains="%d API keys" % KEY_CAP)
    # the cap is per user
    expect_json(d.api("POST", "/api/api-keys", {"description": "admin's"},
                      token=tok()), 201, "the admin's key")


def break_role_compare(path, broken):
    """Make every comparison of users.role fail (an unknown collation) or
    undo that: a database error the last-admin check must not ignore."""
    a, b = "DEFAULT 'member'", "DEFAULT 'member' COLLATE dkd_test_broken"
    c = sqlite3.connect(path, timeout=10)
    try:
        v = c.execute("PRAGMA schema_version").fetchone()[0]
        c.execute("PRAGMA writable_schema = ON")
        c.execute("UPDATE sqlite_schema SET sql = replace(sql, ?, ?) "
                  "WHERE name = 'users'", (a, b) if broken else (b, a))
        c.execute("PRAGMA schema_version = %d" % (v + 1))
        c.commit()
    finally:
        c.close()


def test_last_admin_db_error():
    d = Dkd("lastadmin-dberr").start()
    a, t = d.register_admin()
    at = t["access_token"]
    m = d.create_user(at, "m@example.test")
    break_role_compare(d.db, True)
    try:
        r = d.api("DELETE", "/api/users/" + a["id"], token=at)
        check(r.status == 500, "DELETE the only admin while the last-admin "
              "check fails: expected 500, got %d %r" % (r.status, r.body))
        r = d.dkctl("user", "del", ADMIN_EMAIL)
        eq(r.returncode, 1, "dkctl user del of the only admin while the "
           "check fails: exit status (stderr %r)" % r.stderr)
        r = d.api("PATCH", "/api/users/" + a["id"], {"role": "member"},
                  token=at)
        check(r.status == 500, "demote the only admin while the check "
              "fails: expected 500, got %d %r" % (r.status, r.body))
    finally:
        break_role_compare(d.db, False)
    j = expect_json(d.api("GET", "/api/users/" + a["id"], token=at), 200,
                    "the admin after the refused changes")
    eq(j["role"], "admin", "role of the only admin")
    expect_error(d.api("DELETE", "/api/users/" + a["id"], token=at), 409,
                 "conflict", "Cannot delete the last admin.",
                 "delete the only admin once the database works")
    expect_empty(d.api("DELETE", "/api/users/" + m["id"], token=at), 204,
                 "delete the member once the database works")


run_tests([
    ("POST /api/users: 201 User, role member by default or as given",
     test_users_create),
    ("POST /api/users validation: 422 per field, role admin|member",
     test_users_validation),
    ("POST /api/users duplicate email (any case): 409", test_users_duplicate),
    ("GET /api/users: paging, clamps, echo, email/role filters, bad "
     "offset/limit 400", test_users_list),
    ("GET/PATCH/DELETE /api/users/{unknown}: 404 \"User not found.\"",
     test_users_404),
    ("PATCH /api/users/{id}: email, name, role; 422 and 409", test_users_patch),
    ("PATCH /api/users/{id} password ends that user's sessions",
     test_users_patch_password),
    ("last admin cannot be demoted or deleted: 409", test_last_admin),
    ("DELETE /api/users/{id}: 204, their tokens and API keys stop working",
     test_users_delete),
    ("member: 403 \"Insufficient permissions.\" on every /api/users route",
     test_users_forbidden),
    ("POST /api/api-keys: 201 with token and prefix; GET lists own keys "
     "without token", test_apikey_create),
    ("POST /api/api-keys validation: description, expires_at format and "
     "future", test_apikey_validation),
    ("API key works as a Bearer token for its user; last_used_at set",
     test_apikey_auth),
    ("expired API key: 401", test_apikey_expired),
    ("DELETE /api/api-keys/{id}: own 204, another user's 404", test_apikey_delete),
    ("dkctl user add: password from stdin, prints \"user EMAIL (ROLE) "
     "created\"", test_dkctl_user_add),
    ("dkctl user add errors: short password, duplicate, bad role",
     test_dkctl_user_add_errors),
    ("dkctl user list: aligned table; -j user list JSON", test_dkctl_user_list),
    ("dkctl user passwd: new password works, old does not, sessions end",
     test_dkctl_passwd),
    ("dkctl user role and user del", test_dkctl_role_del),
    ("dkctl: last admin cannot be demoted or deleted", test_dkctl_last_admin),
    ("dkctl with an unknown email: \"command failed: No user with email\"",
     test_dkctl_unknown_email),
    ("dkctl apikey create/list/del", test_dkctl_apikey),
    ("dkctl show projects", test_dkctl_show_projects),
    ("dkctl account commands as non-root: \"Permission denied\"",
     test_dkctl_nonroot),
    ("API keys: at most 100 per user, the 101st 409 (HTTP and dkctl)",
     test_apikey_cap),
    ("a database error in the last-admin check is a 500, never a delete",
     test_last_admin_db_error),
])
