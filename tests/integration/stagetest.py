"""Helpers for the tests of services, env vars, staged changes, Apply and
deployments (issue 7): one shared dkd with an admin and a member, REST
shortcuts that must succeed, a follower of `dkctl -j events`, and fixtures
written straight into the database for what only the canvas WebSocket can
stage (a pending service.create and its placeholder node, group nodes).
Payloads in the database are value trees (common/tree.h), written with
dkdtest.tree."""

import json
import os
import queue
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (Dkd, EventStream, Failure, check, eq, expect_json,  # noqa
                     tree)

shared = {}


def dkd():
    """The shared dkd (debug logging on), with an admin and a member."""
    if "d" not in shared:
        d = Dkd("stage", keep=True).start(args=["-v"])
        admin, t = d.register_admin()
        shared["d"] = d
        shared["admin"] = t["access_token"]
        shared["admin_id"] = admin["id"]
        u = d.create_user(t["access_token"], "member@example.test", "Member")
        shared["member"] = d.login("member@example.test")["access_token"]
        shared["member_id"] = u["id"]
    return shared["d"]


def tok(who="admin"):
    dkd()
    return shared[who]


def api(method, path, obj=None, who="admin", body=None):
    return dkd().api(method, path, obj, token=tok(who), body=body)


def ok(method, path, obj=None, status=200, who="admin"):
    """A request that must answer status; -> its JSON (None for 204)."""
    r = api(method, path, obj, who=who)
    if status == 204:
        if r.status != 204:
            raise Failure("%s %s: expected 204, got %d: %r"
                          % (method, path, r.status, r.body[:500]))
        return None
    return expect_json(r, status, "%s %s" % (method, path))


def project(name="proj"):
    return ok("POST", "/api/projects", {"name": name}, 201)


def service(pid, name):
    return ok("POST", "/api/projects/%s/services" % pid, {"name": name}, 201)


def deploy(pid, sid, image="nginx:1.27", **kw):
    body = {"image": image}
    body.update(kw)
    return ok("POST", "/api/projects/%s/services/%s/deployments"
              % (pid, sid), body, 201)


def deployments(pid, sid):
    return ok("GET", "/api/projects/%s/services/%s/deployments?limit=100"
              % (pid, sid))["data"]


def env_path(pid, scope="project", owner=None):
    if scope == "project":
        return "/api/projects/%s/env-vars" % pid
    return "/api/projects/%s/%s/%s/env-vars" % (
        pid, "services" if scope == "service" else "groups", owner)


def stage_env(pid, key, value, scope="project", owner=None, status=201):
    return ok("POST", env_path(pid, scope, owner),
              {"key": key, "value": value}, status)


def env_list(pid, scope="project", owner=None):
    return ok("GET", env_path(pid, scope, owner))["data"]


def pending(pid):
    return ok("GET", "/api/projects/%s/pending-changes" % pid)["data"]


def apply(pid, status=200):
    return ok("POST", "/api/projects/%s/deploy" % pid, status=status)


def apply_error(pid):
    """An Apply that must fail: -> (status, JSON body)."""
    r = api("POST", "/api/projects/%s/deploy" % pid)
    check(r.status >= 400, "Apply succeeded: %r" % r)
    return r.status, r.json()


# -------------------------------------------------- database fixtures

def db(sql, args=()):
    return dkd().db_query(sql, args)


def add_node(pid, type_="service", label="", service_id=None,
             parent_id=None, node_id=None):
    """A canvas node, as the WebSocket would have written it."""
    nid = node_id or str(uuid.uuid4())
    db("INSERT INTO canvas_nodes (id, project_id, type, label, service_id, "
       "parent_id, data) VALUES (?, ?, ?, ?, ?, ?, '{}')",
       (nid, pid, type_, label, service_id, parent_id))
    return nid


def add_group(pid, label="group"):
    return add_node(pid, "group", label)


def stage_raw(pid, op, target_type, payload, target_id=None,
              target_temp_id=None, parent_temp_id=None):
    """Append an entry to the log directly; -> its id."""
    cid = str(uuid.uuid4())
    seq = db("SELECT coalesce(max(seq), 0) + 1 FROM pending_changes WHERE "
             "project_id = ?", (pid,))[0][0]
    db("INSERT INTO pending_changes (id, project_id, seq, op, target_type, "
       "target_id, target_temp_id, parent_temp_id, payload, user_id) "
       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
       (cid, pid, seq, op, target_type, target_id, target_temp_id,
        parent_temp_id, tree(payload), shared["admin_id"]))
    return cid


def stage_create(pid, name, image="redis:7", env=None, ports=None,
                 parent_id=None):
    """A pending service.create with its placeholder node, as the canvas
    service:create op makes them; -> (temp id, change id)."""
    temp = add_node(pid, "service", name, parent_id=parent_id)
    payload = {"name": name, "image": image}
    if ports is not None:
        payload["ports"] = ports
    if env:
        payload["env_vars"] = [{"scope": "service", "key": k, "value": v}
                               for k, v in env.items()]
    return temp, stage_raw(pid, "service.create", "service", payload,
                           target_temp_id=temp)


def node_of(sid):
    rows = db("SELECT id, parent_id FROM canvas_nodes WHERE service_id = ?",
              (sid,))
    return rows[0] if rows else None


def edges_of(pid):
    return db("SELECT source_id, target_id, label, data FROM canvas_edges "
              "WHERE project_id = ? ORDER BY label", (pid,))


# -------------------------------------------------------------- events

class Events(EventStream):
    """`dkctl -j events PROJECT` in the background: the events of one
    project, as dicts, in order."""

    def __init__(self, pid):
        self.q = queue.Queue()
        self.seen = []
        EventStream.__init__(self, dkd(), pid)

    def line(self, line):
        self.q.put(line)

    def next(self, timeout=5):
        try:
            ev = json.loads(self.q.get(timeout=timeout))
        except queue.Empty:
            return None
        self.seen.append(ev)
        return ev

    def until(self, etype, timeout=5):
        """Events up to and including the first of type etype."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = self.next(max(0.05, deadline - time.monotonic()))
            if ev is None:
                break
            got.append(ev)
            if ev["type"] == etype:
                return got
        raise Failure("no %s event within %ds; saw %r"
                      % (etype, timeout, [e["type"] for e in got]))

    def drain(self, wait=0.5):
        got = []
        while True:
            ev = self.next(wait)
            if ev is None:
                return got
            got.append(ev)


def types(events):
    return [e["type"] for e in events]
