"""Numbers the tests take from the C sources, so that they follow the
code: enum members, #defines and the op numbers of common/ops.def.
Standard library only; imported by dkdtest.py and evilworker.py."""

import os
import re


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def c_enum(path, name):
    """The members of `enum name { ... };` in a header, name -> value."""
    with open(path) as f:
        text = _strip_comments(f.read())
    m = re.search(r"\benum\s+%s\s*\{(.*?)\}" % re.escape(name), text, re.S)
    if m is None:
        raise ValueError("no enum %s in %s" % (name, path))
    out, value = {}, -1
    for item in m.group(1).split(","):
        item = item.strip()
        if not item:
            continue
        key, _, expr = item.partition("=")
        key = key.strip()
        value = c_int(expr, out) if expr.strip() else value + 1
        out[key] = value
    return out


def c_int(expr, known=None):
    """An integer constant expression of digits, + - * ( ) and names
    already known."""
    expr = expr.strip()
    for k, v in sorted((known or {}).items(), key=lambda kv: -len(kv[0])):
        expr = re.sub(r"\b%s\b" % re.escape(k), str(v), expr)
    if not re.fullmatch(r"[0-9xXa-fA-FuUlL+\-*() \t]+", expr):
        raise ValueError("not a constant expression: %r" % expr)
    expr = re.sub(r"(?<=[0-9a-fA-F])[uUlL]+\b", "", expr)
    return int(eval(expr, {"__builtins__": {}}))


def c_define(path, name):
    with open(path) as f:
        text = _strip_comments(f.read())
    m = re.search(r"^[ \t]*#[ \t]*define[ \t]+%s[ \t]+(.+)$" % re.escape(name),
                  text, re.M)
    if m is None:
        raise ValueError("no #define %s in %s" % (name, path))
    return c_int(m.group(1))


def op_numbers(common):
    """OP_<id> -> number, in the order of the rows of ops.def (OP_NONE is
    0, the first row 1, OP_MAX one past the last)."""
    with open(os.path.join(common, "ops.def")) as f:
        text = _strip_comments(f.read())
    ids = re.findall(r"^OP\((\w+),", text, re.M)
    out = {"OP_" + k: i for i, k in enumerate(ids, 1)}
    out["OP_NONE"] = 0
    out["OP_MAX"] = len(ids) + 1
    return out
