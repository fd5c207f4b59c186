#!/usr/bin/env python3
"""Write seeds for fuzz_handlers into corpus/handlers: for every op of
common/ops.def and every caller, one request with no fields and one with
every field present and plausible.  Run it again when ops change."""

import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus", "handlers")
CALLERS = 6


def fields_by_array():
    text = open(os.path.join(TOP, "common", "ops.c")).read()
    out = {}
    for m in re.finditer(r"static const struct op_field (\w+)\[\] = \{(.*?)\};",
                         text, re.S):
        out[m.group(1)] = re.findall(r"\b(BODY|QUERY|PATH)\(\"(\w+)\"(?:, (\w+))?",
                                     m.group(2))
    return out


def value(kind, ftype, name):
    if kind == "PATH" or ftype in ("FT_STR", "FT_TOKEN"):
        s = {"email": "admin@fuzz.test", "role": "member",
             "password": "correct horse", "name": "fuzz"}.get(name, "x")
        b = s.encode()
        return b"\1" + struct.pack("<I", len(b)) + b
    if ftype == "FT_INT":
        return b"\1" + struct.pack("<q", 5)
    if ftype == "FT_BOOL":
        return b"\1\1"
    if ftype == "FT_JSON":
        tree = b"\7\x06" + struct.pack("<I", 1) + b"k\x04" + \
            struct.pack("<q", 1) + b"\x09"
        return b"\1" + struct.pack("<I", len(tree)) + tree
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
            value(k, t, n) for k, n, t in fields)
        for c in range(CALLERS):
            for tag, body in (("empty", empty), ("full", full)):
                with open(os.path.join(OUT, "%s-%d-%s" % (opid.lower(), c,
                                                          tag)), "wb") as f:
                    f.write(bytes([c]) + body)


if __name__ == "__main__":
    main()
