#!/usr/bin/env python3
"""Write seeds for fuzz_handlers into corpus/handlers: for every op of
common/ops.def and every caller, one request with no fields and one with
every field present and plausible (ids of the harness's fixture project,
canvas payloads of the right shape).  Run it again when ops change."""

import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus", "handlers")
CALLERS = 7

# Ids the harness's fixture() creates.
PATHS = {"pid": "p-fuzz", "sid": "s-fuzz", "project_id": "p-fuzz"}

# Plausible FT_JSON values, by op and then by field name.
JSON = {
    "CANVAS_NODE_UPSERT": {"id": "n-new", "type": "note", "label": "hi",
                           "position_x": 1.5, "position_y": 2,
                           "parent_id": "g-fuzz", "data": "{}"},
    "CANVAS_NODE_DELETE": {"id": "n-fuzz"},
    "CANVAS_NODE_MOVE": {"positions": [{"id": "n-fuzz", "position_x": 1,
                                        "position_y": 2.5}]},
    "CANVAS_EDGE_UPSERT": {"id": "e-1", "source_id": "n-fuzz",
                           "target_id": "g-fuzz", "data": "{}"},
    "CANVAS_EDGE_DELETE": {"id": "e-1"},
    "CANVAS_SERVICE_CREATE": {"draft_id": "d1", "name": "api",
                              "image": "nginx:1", "x": 1, "y": 2,
                              "env_vars": [{"key": "A",
                                            "value": "${{web.HOST}}"}],
                              "ports": [{"container_port": 80}]},
    "env_vars": {"A": "${{web.PORT}}"},
    "ports": [{"container_port": 80, "host_port": 8080,
               "protocol": "tcp"}],
    "resources": {"cpu_shares": 512, "memory_mb": 64},
}


def tree(v):
    """A value as a value tree (common/tree.h)."""
    if v is None:
        return b"\1"
    if v is True or v is False:
        return b"\3" if v else b"\2"
    if isinstance(v, int):
        return b"\4" + struct.pack("<q", v)
    if isinstance(v, float):
        return b"\5" + struct.pack("<d", v)
    if isinstance(v, str):
        return b"\6" + struct.pack("<I", len(v.encode())) + v.encode()
    if isinstance(v, dict):
        return b"\7" + b"".join(tree(k) + tree(x) for k, x in v.items()) \
            + b"\x09"
    return b"\x08" + b"".join(tree(x) for x in v) + b"\x09"


def fields_by_array():
    text = open(os.path.join(TOP, "common", "ops.c")).read()
    out = {}
    for m in re.finditer(r"static const struct op_field (\w+)\[\] = \{(.*?)\};",
                         text, re.S):
        out[m.group(1)] = re.findall(r"\b(BODY_REQ|BODY|QUERY|PATH)\(\"(\w+)\"(?:, (\w+))?",
                                     m.group(2))
    return out


def value(opid, kind, ftype, name):
    if kind == "PATH" or ftype in ("FT_STR", "FT_TOKEN"):
        if name == "owner":
            s = "g-fuzz" if opid.startswith("ENV_GROUP") else "s-fuzz"
        else:
            s = PATHS.get(name) or {
                "email": "admin@fuzz.test", "role": "member",
                "password": "correct horse", "name": "fuzz",
                "key": "A", "value": "${{web.HOST}}",
                "image": "nginx:1"}.get(name, "x")
        b = s.encode()
        return b"\1" + struct.pack("<I", len(b)) + b
    if ftype == "FT_INT":
        return b"\1" + struct.pack("<q", 5)
    if ftype == "FT_BOOL":
        return b"\1\1"
    if ftype == "FT_JSON":
        t = tree(JSON.get(opid, JSON.get(name, {"k": 1})))
        return b"\1" + struct.pack("<I", len(t)) + t
    raise SystemExit("unknown field type %s" % ftype)


def main():
    arrays = fields_by_array()
    ops = re.findall(r"^OP\((\w+),.*?(FIELDS\((\w+)\)|NOFIELDS)",
                     open(os.path.join(TOP, "common", "ops.def")).read(),
                     re.M | re.S)
    os.makedirs(OUT, exist_ok=True)
    for num, (opid, _, arr) in enumerate(ops, 1):
        fields = arrays.get(arr, []) if arr else []
        empty = struct.pack("<I", num) + b"\0" * len(fields)
        full = struct.pack("<I", num) + b"".join(
            value(opid, k, t, n) for k, n, t in fields)
        for c in range(CALLERS):
            for tag, body in (("empty", empty), ("full", full)):
                with open(os.path.join(OUT, "%s-%d-%s" % (opid.lower(), c,
                                                          tag)), "wb") as f:
                    f.write(bytes([c]) + body)


if __name__ == "__main__":
    main()
