"""A catalogue of hostile requests against `osis serve`, generated from categories.

Every case is one HTTP request with a readable id (`rpc/nul/agent_memory.new/key`). Two
kinds of cases:

* `reject`: the request is wrong (malformed JSON, wrong types, out-of-range numbers, deep
  nesting, NUL bytes, invalid UTF-8, unknown fields, negative paging, duplicate batch ids,
  oversized bodies, wrong content types or methods, limits exceeded). It must get a 4xx,
  or a JSON-RPC error answer for every call in it, and leave the store as it was.
* `literal`: the request is valid but carries SQL, FTS5 or LIKE syntax (`' OR 1=1 --`,
  `NEAR(a b)`, `100%_done`) in a string filter or search term. It must be answered, and
  the syntax must match literally: exactly the seeded objects an oracle in Python selects.

The store the cases run against is seeded with `SEED` (see `seed_objects`), which holds
objects whose strings contain the same syntax, so a wildcard or an injection that is
interpreted instead of matched would select something the oracle does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal

#: Limits the corpus server runs with (small, so that the corpus reaches every one quickly).
MAX_BODY: Final = 64 * 1024
MAX_BATCH: Final = 20
MAX_DEPTH: Final = 16
MAX_PAGE: Final = 200
SERVE_FLAGS: Final = [
    "--max-body", str(MAX_BODY), "--max-batch", str(MAX_BATCH), "--max-depth", str(MAX_DEPTH),
    "--max-page", str(MAX_PAGE), "--body-timeout", "5", "--header-timeout", "5", "--keep-alive-timeout", "5",
]

JSON_TYPE: Final = {"content-type": "application/json"}
TIME: Final = "2026-05-04T09:30:00Z"


@dataclass
class Case:
    id: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_TYPE))
    kind: Literal["reject", "literal"] = "reject"
    #: For `literal` cases: checks the result (JSON-RPC) or body (REST), given the seeded objects.
    check: Callable[[Any, dict[str, list[dict[str, Any]]]], None] | None = None


# -- the seeded store -----------------------------------------------------------------------

#: SQL, FTS5 and LIKE syntax that a store must treat as plain characters.
INJECTIONS: Final = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '"; DROP TABLE agent_audit_entry; --',
    "x'); DELETE FROM agent_memory; --",
    "1; SELECT pg_sleep(5)",
    "%",
    "_",
    "100%_done",
    "\\%",
    "a%b_c",
    "[abc]",
    'NEAR("web" "search")',
    "web* OR search",
    "web AND NOT search",
    '"unterminated',
    "tool_name:web",
    "^web",
    "{web}",
    "$ne",
    "web\\",
    "*",
]

_ROOTS: Final = {
    "agent_audit_entry": "AgentAuditEntry",
    "agent_usage_entry": "AgentUsageEntry",
    "agent_conversation": "AgentConversation",
    "agent_message": "AgentMessage",
    "agent_memory": "AgentMemory",
}

#: Indexed string fields of each root type: every one is a string filter.
STRING_FILTERS: Final = {
    "agent_audit_entry": ["tool_name", "user_sid"],
    "agent_usage_entry": ["model", "user_sid"],
    "agent_conversation": ["user_sid"],
    "agent_message": ["conversation_sid", "user_sid"],
    "agent_memory": ["user_sid", "key"],
}


def valid_object(coll: str, i: int = 0, text: str = "plain") -> dict[str, Any]:
    """A valid object of `coll` (wire form) whose string fields carry `text`."""
    if coll == "agent_audit_entry":
        return {"tool_name": text, "arguments": json.dumps({"progress": text}), "result_preview": f"ok {text}",
                "success": True, "duration_ms": 10 + i, "user_sid": text, "created_at": TIME}
    if coll == "agent_usage_entry":
        return {"model": text, "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "user_sid": text,
                "created_at": TIME}
    if coll == "agent_conversation":
        return {"title": text, "context": "", "user_sid": text, "created_at": TIME, "updated_at": TIME}
    if coll == "agent_message":
        return {"conversation_sid": text, "role": "user", "content": text, "user_sid": text, "created_at": TIME}
    return {"user_sid": text, "category": "fact", "key": text, "value": text, "confidence": 0.5,
            "access_count": 1, "tags": [text], "created_at": TIME, "updated_at": TIME}


def seed_objects() -> dict[str, list[dict[str, Any]]]:
    """What the corpus store holds before the corpus: per collection, objects (no sids yet)
    whose strings are the injections, plus near misses a wildcard would also match."""
    texts = [*INJECTIONS, "plain", "100xxdone", "web_search", "axxbxc", "abc"]
    return {coll: [valid_object(coll, i, t) for i, t in enumerate(texts)] for coll in _ROOTS}


def _fold(text: str) -> str:
    # The search's case folding: ASCII letters only.
    return "".join(c.lower() if c.isascii() else c for c in text)


# -- building requests ----------------------------------------------------------------------


def rpc_body(method: str, params: Any, request_id: Any = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()


def rpc(case_id: str, method: str, params: Any, **extra: Any) -> Case:
    return Case(f"rpc/{case_id}", "POST", "/rpc", rpc_body(method, params), **extra)


def raw(case_id: str, body: bytes, **extra: Any) -> Case:
    return Case(f"rpc/{case_id}", "POST", "/rpc", body, **extra)


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# -- JSON-RPC --------------------------------------------------------------------------------

MALFORMED: Final = [
    b"", b" ", b"{", b"}", b"[", b"[1,]", b"{,}", b'{"jsonrpc"}', b'{"jsonrpc": "2.0",}', b"nul", b"tru",
    b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]', b"{'jsonrpc': '2.0'}",
    b'{"jsonrpc": "2.0", "id": 1, "method": "agent_memory.list"} trailing', b'"\\x41"', b'"\\u12"',
    b"0x10", b"01", b"+1", b".5", b"1.", b"--1", b"[1 2]", b'{"a" 1}', b'{"a":1 "b":2}', b"/* c */ {}",
    b'{"jsonrpc": "2.0", "id": 1, "method": "agent_memory.list"',
    b"\x00", b'{"jsonrpc": "2.0", "id": 1, "method": "agent\x00memory.list"}', b"\xef\xbb\xbf{}",
]

BAD_UTF8: Final = {
    "lone-ff": b"\xff", "bad-continuation": b"\xc3\x28", "stray-continuation": b"\xa0\xa1",
    "truncated-3": b"\xe2\x28\xa1", "truncated-4": b"\xf0\x28\x8c\xbc", "encoded-surrogate": b"\xed\xa0\x80",
    "overlong-slash": b"\xc0\xaf", "five-byte": b"\xf8\x88\x80\x80\x80",
}

#: (field, kind) of each root type's fields, for the type and range cases.
FIELDS: Final = {
    "agent_audit_entry": [("tool_name", "str"), ("arguments", "str"), ("result_preview", "str"),
                          ("success", "bool"), ("duration_ms", "u32"), ("user_sid", "str"), ("created_at", "time")],
    "agent_usage_entry": [("model", "str"), ("prompt_tokens", "u32"), ("completion_tokens", "u32"),
                          ("total_tokens", "u32"), ("user_sid", "str"), ("created_at", "time")],
    "agent_conversation": [("title", "str"), ("context", "str"), ("user_sid", "str"), ("created_at", "time"),
                           ("updated_at", "time")],
    "agent_message": [("conversation_sid", "str"), ("role", "enum"), ("content", "str"), ("model", "optstr"),
                      ("user_sid", "str"), ("created_at", "time")],
    "agent_memory": [("user_sid", "str"), ("category", "enum"), ("key", "str"), ("value", "str"),
                     ("source", "optstr"), ("confidence", "f64"), ("access_count", "u32"), ("tags", "list"),
                     ("created_at", "time"), ("updated_at", "time")],
}

WRONG_TYPES: Final[dict[str, list[tuple[str, str]]]] = {
    # (label, JSON text): values no lax conversion turns into the field's type.
    "str": [("int", "1"), ("bool", "true"), ("list", '["a"]'), ("object", '{"$ne": null}'), ("null", "null")],
    "optstr": [("int", "1"), ("list", "[]"), ("object", "{}")],
    "bool": [("word", '"maybe"'), ("two", "2"), ("list", "[]"), ("null", "null")],
    "u32": [("word", '"ten"'), ("fraction", "1.5"), ("list", "[1]"), ("object", "{}"), ("null", "null")],
    "f64": [("word", '"half"'), ("list", "[0.5]"), ("null", "null")],
    "time": [("word", '"yesterday"'), ("month-13", '"2026-13-01T00:00:00Z"'), ("list", "[]"), ("null", "null")],
    "enum": [("unknown", '"nope"'), ("int", "1"), ("null", "null")],
    "list": [("string", '"a"'), ("object", '{"a": 1}'), ("ints", "[1]"), ("nested", '[["a"]]')],
}

HUGE_NUMBERS: Final[dict[str, list[tuple[str, str]]]] = {
    "u32": [("2^32", str(2**32)), ("2^63", str(2**63)), ("2^64", str(2**64)), ("10^400", "1" + "0" * 400),
            ("minus-1", "-1"), ("minus-2^63", str(-(2**63) - 1)), ("1e400", "1e400"), ("NaN", "NaN"),
            ("Infinity", "Infinity"), ("-Infinity", "-Infinity")],
    "time": [("2^63", str(2**63)), ("2^64", str(2**64)), ("minus-2^63", str(-(2**63))), ("10^400", "1" + "0" * 400),
             ("1e400", "1e400"), ("-1e400", "-1e400"), ("NaN", "NaN"), ("Infinity", "Infinity"),
             ("year-10000", '"10000-01-01T00:00:00Z"')],
    "f64": [("1e400", "1e400"), ("-1e400", "-1e400"), ("NaN", "NaN"), ("Infinity", "Infinity"),
            ("-Infinity", "-Infinity"), ("10^400", "1" + "0" * 400)],
}


_MARK: Final = "\x00MARK\x00"


def _splice(body: bytes, value: str | bytes) -> bytes:
    """`body` with the JSON string `_MARK` replaced by `value` verbatim: NaN, 1e400 or
    invalid UTF-8 stay exactly as written."""
    return body.replace(json.dumps(_MARK).encode(), value if isinstance(value, bytes) else value.encode())


def _new_with(coll: str, name: str, json_value: str | bytes) -> bytes:
    """`<coll>.new` with one field's JSON text replaced verbatim."""
    return _splice(rpc_body(f"{coll}.new", {"obj": {**valid_object(coll), name: _MARK}}), json_value)


def rpc_cases() -> Iterator[Case]:
    for i, body in enumerate(MALFORMED):
        yield raw(f"malformed/{i}", body)
    for label, bad in BAD_UTF8.items():
        yield raw(f"bad-utf8/{label}/method", b'{"jsonrpc":"2.0","id":1,"method":"agent_memory.' + bad + b'"}')
        yield raw(f"bad-utf8/{label}/key", b'{"jsonrpc":"2.0","id":1,"method":"agent_memory.find","params":{"'
                  + bad + b'":1}}')
        yield raw(f"bad-utf8/{label}/new", _new_with("agent_memory", "value", b'"a' + bad + b'"'))
        yield raw(f"bad-utf8/{label}/filter", b'{"jsonrpc":"2.0","id":1,"method":"agent_audit_entry.find",'
                  b'"params":{"filter":{"tool_name":"' + bad + b'"}}}')
    surrogate = '"\\ud800"'
    for coll, names in STRING_FILTERS.items():
        for name in names:
            yield raw(f"lone-surrogate/{coll}.new/{name}", _new_with(coll, name, surrogate))
            yield raw(f"lone-surrogate/{coll}.find/{name}",
                      _splice(rpc_body(f"{coll}.find", {"filter": {name: _MARK}}), surrogate))
    yield raw("lone-surrogate/audit_search/q", _splice(rpc_body("audit_search", {"input": {"q": _MARK}}), '"\\udfff"'))
    # NUL: in every string field of every type, every string filter, the search, sids.
    for coll, fields in FIELDS.items():
        for name, kind in fields:
            if kind in ("str", "optstr"):
                yield raw(f"nul/{coll}.new/{name}", _new_with(coll, name, '"a\\u0000b"'))
        for name in STRING_FILTERS[coll]:
            yield rpc(f"nul/{coll}.find/{name}", f"{coll}.find", {"filter": {name: "a\x00"}})
            yield rpc(f"nul/{coll}.find/{name}_in", f"{coll}.find", {"filter": {f"{name}_in": ["ok", "\x00"]}})
        for verb in ("get", "delete", "exists"):
            yield rpc(f"nul/{coll}.{verb}/sid", f"{coll}.{verb}", {"sid": "ab\x00"})
    yield rpc("nul/audit_search/q", "audit_search", {"input": {"q": "needle\x00"}})
    yield rpc("nul/memory_search/key", "memory_search", {"input": {"key": "\x00"}})
    yield rpc("nul/memory_touch/sid", "memory_touch", {"input": {"sid": "\x00"}})
    # Wrong types and out-of-range numbers, field by field.
    for coll, fields in FIELDS.items():
        for name, kind in fields:
            for label, value in WRONG_TYPES[kind]:
                yield raw(f"wrong-type/{coll}.new/{name}/{label}", _new_with(coll, name, value))
            for label, value in HUGE_NUMBERS.get(kind, []):
                yield raw(f"huge-number/{coll}.new/{name}/{label}", _new_with(coll, name, value))
        for name, kind in fields:
            if kind == "u32" or kind == "time":
                for label, value in HUGE_NUMBERS[kind][:5]:
                    yield raw(f"huge-number/{coll}.find/{name}_gte/{label}",
                              _splice(rpc_body(f"{coll}.find", {"filter": {f"{name}_gte": _MARK}}), value))
        yield rpc(f"wrong-type/{coll}.new/obj-list", f"{coll}.new", {"obj": [valid_object(coll)]})
        yield rpc(f"wrong-type/{coll}.new/obj-string", f"{coll}.new", {"obj": "x"})
        yield rpc(f"wrong-type/{coll}.new/missing-obj", f"{coll}.new", {})
        yield rpc(f"wrong-type/{coll}.find/filter-list", f"{coll}.find", {"filter": [1]})
        yield rpc(f"wrong-type/{coll}.find/descending", f"{coll}.find", {"descending": "perhaps"})
        yield rpc(f"wrong-type/{coll}.find/order_by", f"{coll}.find", {"order_by": "value; DROP TABLE x"})
        yield rpc(f"wrong-type/{coll}.get/sid-int", f"{coll}.get", {"sid": 1})
        yield rpc(f"wrong-type/{coll}.set/no-sid", f"{coll}.set", {"obj": valid_object(coll)})
    # Unknown fields, at every level.
    for coll in FIELDS:
        yield rpc(f"unknown-field/{coll}.new/obj", f"{coll}.new", {"obj": {**valid_object(coll), "is_admin": True}})
        yield rpc(f"unknown-field/{coll}.new/params", f"{coll}.new", {"obj": valid_object(coll), "force": True})
        yield rpc(f"unknown-field/{coll}.find/filter", f"{coll}.find", {"filter": {"$where": "1=1"}})
        yield rpc(f"unknown-field/{coll}.find/unindexed", f"{coll}.find", {"filter": {"sid; DROP TABLE x": 1}})
        yield rpc(f"unknown-field/{coll}.find/__proto__", f"{coll}.find", {"filter": {"__proto__": {}}})
        yield rpc(f"unknown-field/{coll}.get/params", f"{coll}.get", {"sid": "a", "user": "admin"})
    for method in ("audit_search", "usage_summary", "memory_search", "conversation_list", "stats"):
        yield rpc(f"unknown-field/{method}/input", method, {"input": {"sudo": True}})
        yield rpc(f"unknown-field/{method}/params", method, {"input": {}, "as_user": "u1"})
    # Paging: negative, huge, above the server's page limit, wrong types.
    paging: list[tuple[str, Any]] = [
        ("limit", -1), ("offset", -1), ("limit", 2**31), ("limit", 2**64), ("offset", 2**64), ("offset", 2**63),
        ("limit", MAX_PAGE + 1), ("limit", 1.5), ("offset", "one"), ("limit", [10]),
    ]
    for coll in FIELDS:
        for verb in ("find", "list_full"):
            for name, value in [*paging, ("limit", None)]:
                yield rpc(f"paging/{coll}.{verb}/{name}={value}", f"{coll}.{verb}", {name: value})
    # The ai methods' paging is u32 (`90_rpc.oschema`).
    for method in ("audit_search", "memory_search", "conversation_list"):
        for name, value in [*paging, ("offset", 2**32)]:
            yield rpc(f"paging/{method}/{name}={value}", method, {"input": {name: value}})
    for name, value in [*paging, ("offset", 2**32)]:
        yield rpc(f"paging/message_history/{name}={value}", "message_history",
                  {"input": {"conversation_sid": "x", name: value}})
    for method in ("usage_summary", "stats"):
        for days in (0, -1, 3661, 2**16, 2**64, 1.5, "thirty"):
            yield rpc(f"range/{method}/days={days}", method, {"input": {"days": days}})
    # Deep nesting, below and above the JSON parser's own limit.
    for depth in (MAX_DEPTH + 1, 64, 199, 201, 1000, 20_000):
        yield raw(f"deep/params-array/{depth}", b'{"jsonrpc":"2.0","id":1,"method":"agent_memory.find","params":'
                  + nested(depth).encode() + b"}")
        yield raw(f"deep/filter-object/{depth}", b'{"jsonrpc":"2.0","id":1,"method":"agent_memory.find",'
                  b'"params":{"filter":' + nested_object(depth).encode() + b"}}")
        yield raw(f"deep/tags/{depth}", _new_with("agent_memory", "tags", nested(depth, '"t"')))
        yield raw(f"deep/batch/{depth}", nested(depth, rpc_body("agent_memory.list", {}).decode()).encode())
    # The envelope.
    envelopes: list[tuple[str, Any]] = [
        ("no-jsonrpc", {"id": 1, "method": "agent_memory.list"}),
        ("jsonrpc-1.0", {"jsonrpc": "1.0", "id": 1, "method": "agent_memory.list"}),
        ("jsonrpc-number", {"jsonrpc": 2.0, "id": 1, "method": "agent_memory.list"}),
        ("method-int", {"jsonrpc": "2.0", "id": 1, "method": 1}),
        ("method-null", {"jsonrpc": "2.0", "id": 1, "method": None}),
        ("method-missing", {"jsonrpc": "2.0", "id": 1}),
        ("method-unknown", {"jsonrpc": "2.0", "id": 1, "method": "agent_memory.drop"}),
        ("method-sql", {"jsonrpc": "2.0", "id": 1, "method": "agent_memory; DROP TABLE agent_memory"}),
        ("method-huge", {"jsonrpc": "2.0", "id": 1, "method": "m" * 50_000}),
        ("method-private", {"jsonrpc": "2.0", "id": 1, "method": "_page"}),
        ("method-dunder", {"jsonrpc": "2.0", "id": 1, "method": "__init__"}),
        ("method-rpc-reserved", {"jsonrpc": "2.0", "id": 1, "method": "rpc.shutdown"}),
        ("id-bool", {"jsonrpc": "2.0", "id": True, "method": "agent_memory.list"}),
        ("id-object", {"jsonrpc": "2.0", "id": {"a": 1}, "method": "agent_memory.list"}),
        ("id-array", {"jsonrpc": "2.0", "id": [1], "method": "agent_memory.list"}),
        ("params-string", {"jsonrpc": "2.0", "id": 1, "method": "agent_memory.list", "params": "x"}),
        ("params-null", {"jsonrpc": "2.0", "id": 1, "method": "agent_memory.list", "params": None}),
        ("params-number", {"jsonrpc": "2.0", "id": 1, "method": "agent_memory.list", "params": 5}),
        ("params-too-many-positional", {"jsonrpc": "2.0", "id": 1, "method": "agent_memory.get",
                                        "params": ["a", "b"]}),
        ("list-takes-no-params", {"jsonrpc": "2.0", "id": 1, "method": "agent_memory.list", "params": {"x": 1}}),
        ("discover-with-params", {"jsonrpc": "2.0", "id": 1, "method": "rpc.discover", "params": {"x": 1}}),
        ("top-level-string", "agent_memory.list"),
        ("top-level-number", 42),
        ("top-level-null", None),
        ("empty-batch", []),
        ("batch-of-scalars", [1, 2, 3]),
        ("batch-of-nulls", [None]),
        ("batch-too-large", [{"jsonrpc": "2.0", "id": i, "method": "agent_memory.list"}
                             for i in range(MAX_BATCH + 1)]),
    ]
    for label, payload in envelopes:
        yield raw(f"envelope/{label}", json.dumps(payload).encode())
    # Duplicate ids in a batch: refused whole, so none of its writes happen.
    for label, ids in [("int", [1, 1]), ("string", ["a", "a"]), ("int-float", [7, 7.0]), ("third", [1, 2, 1]),
                       ("many", [5] * 10), ("empty-string", ["", ""])]:
        batch = [json.loads(rpc_body("agent_memory.new", {"obj": valid_object("agent_memory", i, f"dup{i}")}, rid))
                 for i, rid in enumerate(ids)]
        yield raw(f"duplicate-ids/{label}", json.dumps(batch).encode())
    # Bad sids on every verb that takes one.
    sids = ["", "../../etc/passwd", "x" * 5000, "' OR 1=1 --", "%", "*", "ZZZZZZ", "é", " ", "\\"]
    for coll in FIELDS:
        for verb in ("get", "delete"):
            for sid in sids:
                yield rpc(f"bad-sid/{coll}.{verb}/{sid[:20]!r}", f"{coll}.{verb}", {"sid": sid})
        yield rpc(f"bad-sid/{coll}.set/unknown", f"{coll}.set", {"obj": {**valid_object(coll), "sid": "ZZZZZZ"}})
        yield rpc(f"bad-sid/{coll}.set/injection", f"{coll}.set",
                  {"obj": {**valid_object(coll), "sid": "' OR 1=1 --"}})
    yield rpc("bad-sid/memory_touch/unknown", "memory_touch", {"input": {"sid": "ZZZZZZ"}})
    # Size, content type and method of the HTTP request itself.
    big = rpc_body("agent_memory.new", {"obj": valid_object("agent_memory", 0, "x" * MAX_BODY)})
    yield raw("oversized/content-length", big)
    yield Case("rpc/oversized/chunked", "POST", "/rpc", big, headers={**JSON_TYPE, "x-chunked": "1"})
    yield raw("oversized/batch-of-small", json.dumps([json.loads(rpc_body("agent_memory.list", {}, i))
                                                        for i in range(MAX_BODY // 40)]).encode())
    write = rpc_body("agent_memory.new", {"obj": valid_object("agent_memory", 0, "content-type")})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                  "text/html", "application/xml", "application/javascript", "json", "application/json-patch"):
        yield Case(f"rpc/content-type/{ctype}", "POST", "/rpc", write, headers={"content-type": ctype})
    for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS"):
        yield Case(f"rpc/http-method/{method} /rpc", method, "/rpc", write if method != "GET" else None)
    for path in ("/health", "/openrpc.json", "/.well-known/heroservice.json"):
        for method in ("POST", "PUT", "DELETE"):
            yield Case(f"rpc/http-method/{method} {path}", method, path, b"{}")


# -- literal matching through JSON-RPC --------------------------------------------------------


def _sids_equal(expected: Callable[[dict[str, Any]], bool], coll: str) -> Callable[[Any, Any], None]:
    def check(result: Any, seeded: dict[str, list[dict[str, Any]]]) -> None:
        items = result["items"] if isinstance(result, dict) else result
        want = sorted(o["sid"] for o in seeded[coll] if expected(o))
        assert sorted(o["sid"] for o in items) == want
        if isinstance(result, dict):
            assert result["total"] == len(want)

    return check


def _usage_calls(expected: Callable[[dict[str, Any]], bool]) -> Callable[[Any, Any], None]:
    def check(result: Any, seeded: dict[str, list[dict[str, Any]]]) -> None:
        assert result["totals"]["calls"] == sum(1 for o in seeded["agent_usage_entry"] if expected(o))

    return check


def _contains(needle: str, *fields: str) -> Callable[[dict[str, Any]], bool]:
    return lambda o: any(_fold(needle) in _fold(o[f]) for f in fields)


def _equals(value: str, name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda o: o[name] == value


def literal_cases() -> Iterator[Case]:
    for text in INJECTIONS:
        for coll, names in STRING_FILTERS.items():
            for name in names:
                yield rpc(f"literal/{coll}.find/{name}/{text}", f"{coll}.find", {"filter": {name: text}},
                          kind="literal", check=_sids_equal(_equals(text, name), coll))
            name = names[0]
            yield rpc(f"literal/{coll}.find/{name}_in/{text}", f"{coll}.find",
                      {"filter": {f"{name}_in": [text, "nobody"]}}, kind="literal",
                      check=_sids_equal(_equals(text, name), coll))
        yield rpc(f"literal/audit_search/q/{text}", "audit_search", {"input": {"q": text, "limit": MAX_PAGE}},
                  kind="literal", check=_sids_equal(_contains(text, "arguments", "result_preview"),
                                                    "agent_audit_entry"))
        yield rpc(f"literal/audit_search/tool_name/{text}", "audit_search", {"input": {"tool_name": text}},
                  kind="literal", check=_sids_equal(_equals(text, "tool_name"), "agent_audit_entry"))
        yield rpc(f"literal/memory_search/key/{text}", "memory_search", {"input": {"key": text}},
                  kind="literal", check=_sids_equal(_equals(text, "key"), "agent_memory"))
        yield rpc(f"literal/conversation_list/user_sid/{text}", "conversation_list",
                  {"input": {"user_sid": text}}, kind="literal",
                  check=_sids_equal(_equals(text, "user_sid"), "agent_conversation"))
        yield rpc(f"literal/usage_summary/model/{text}", "usage_summary", {"input": {"model": text, "days": 3660}},
                  kind="literal", check=_usage_calls(_equals(text, "model")))


# -- REST ------------------------------------------------------------------------------------


def rest(case_id: str, method: str, path: str, body: bytes | None = None, **extra: Any) -> Case:
    return Case(f"rest/{case_id}", method, path, body, **extra)


def memory_body(**changes: Any) -> dict[str, Any]:
    body = {"user_sid": "u-rest", "category": "fact", "key": "rest_key", "value": "v", "confidence": 0.5,
            "tags": ["a"]}
    body.update(changes)
    return body


def _memory_json_with(name: str, json_value: str | bytes) -> bytes:
    return _splice(json.dumps(memory_body(**{name: _MARK})).encode(), json_value)


def rest_cases(existing_memory: str) -> Iterator[Case]:
    """REST cases; `existing_memory` is the sid of a seeded memory (for PUT and DELETE)."""
    one = f"/api/memories/{existing_memory}"
    queries: list[tuple[str, list[str]]] = [
        ("/api/audit", ["limit=-1", "limit=0", f"limit={MAX_PAGE + 1}", "limit=1001", "limit=abc", "limit=1e3",
                        f"limit={2**64}", "limit=", "offset=-1", f"offset={2**32}", "offset=1.5", "success=maybe",
                        "success=2", "since=yesterday", "since=2026-13-01T00:00:00Z", "since=2026-01-01T00:00:00",
                        "until=99999-01-01T00:00:00Z", "since=%00", "q=" + "x" * 201, "q=a%00b", "tool_name=%00",
                        "user_sid=" + "u" * 201, "q=%ff", "q=%c3%28", "tool_name=%ed%a0%80", "limit=NaN",
                        "limit=Infinity", "offset=--1", "q=ok&q=%ff"]),
        ("/api/usage", ["days=0", "days=-1", "days=3661", "days=abc", f"days={2**64}", "days=1.5", "model=%00",
                        "user_sid=%ff", "days=NaN"]),
        ("/api/stats", ["days=0", "days=-5", "days=99999", "days=x", "user_sid=%00"]),
        ("/api/dashboard", ["days=0", "days=3661", "user_sid=" + "u" * 300]),
        ("/api/memories", ["order_by=bogus", "order_by=value", "category=nope", "descending=maybe", "limit=-1",
                           f"limit={MAX_PAGE + 1}", "offset=-1", "key=%00", "user_sid=%ff", "limit=" + "9" * 30]),
    ]
    for path, params in queries:
        for query in params:
            yield rest(f"query/{path}?{query[:40]}", "GET", f"{path}?{query}")
    writes = [("POST", "/api/memories"), ("PUT", one)]
    for verb, path in writes:
        label = f"{verb} {'/api/memories/{sid}' if verb == 'PUT' else path}"
        for i, body in enumerate(MALFORMED):
            if body.strip():
                yield rest(f"body/{label}/malformed/{i}", verb, path, body)
        for name, bad in BAD_UTF8.items():
            yield rest(f"body/{label}/bad-utf8/{name}", verb, path, _memory_json_with("value", b'"' + bad + b'"'))
        for depth in (MAX_DEPTH + 1, 100, 1000, 100_000):
            yield rest(f"body/{label}/deep-tags/{depth}", verb, path, _memory_json_with("tags", nested(depth)))
            yield rest(f"body/{label}/deep-top/{depth}", verb, path, nested(depth).encode())
        for name, kind in [("user_sid", "str"), ("category", "enum"), ("key", "str"), ("value", "str"),
                           ("source", "optstr"), ("confidence", "f64"), ("access_count", "u32"), ("tags", "list")]:
            for value_label, value in WRONG_TYPES[kind]:
                if value_label == "null" and name in ("source", "access_count"):
                    continue  # optional: null means "not given"
                yield rest(f"body/{label}/wrong-type/{name}/{value_label}", verb, path,
                           _memory_json_with(name, value))
            for value_label, value in HUGE_NUMBERS.get(kind, []):
                yield rest(f"body/{label}/huge-number/{name}/{value_label}", verb, path,
                           _memory_json_with(name, value))
            if kind in ("str", "optstr"):
                yield rest(f"body/{label}/nul/{name}", verb, path, _memory_json_with(name, '"a\\u0000"'))
                yield rest(f"body/{label}/lone-surrogate/{name}", verb, path, _memory_json_with(name, '"\\udc00"'))
                yield rest(f"body/{label}/too-long/{name}", verb, path, _memory_json_with(name, json.dumps("k" * 20_000)))
        for number_label, number in [("confidence-2", '{"confidence": 2}'), ("confidence-neg", '{"confidence": -0.1}'),
                                     ("confidence-bool", '{"confidence": true}'),
                                     ("confidence-string", '{"confidence": "0.5"}'),
                                     ("access-count-float", '{"access_count": 1.0}')]:
            override = json.loads(number)
            yield rest(f"body/{label}/range/{number_label}", verb, path, json.dumps(memory_body(**override)).encode())
        yield rest(f"body/{label}/unknown-field", verb, path, json.dumps(memory_body(is_admin=True)).encode())
        yield rest(f"body/{label}/missing-fields", verb, path, b"{}")
        yield rest(f"body/{label}/array", verb, path, json.dumps([memory_body()]).encode())
        yield rest(f"body/{label}/too-many-tags", verb, path, json.dumps(memory_body(tags=["t"] * 101)).encode())
        yield rest(f"body/{label}/empty-key", verb, path, json.dumps(memory_body(key="")).encode())
        yield rest(f"body/{label}/oversized", verb, path, json.dumps(memory_body(value="v" * MAX_BODY)).encode())
        yield Case(f"rest/body/{label}/oversized-chunked", verb, path,
                   json.dumps(memory_body(value="v" * MAX_BODY)).encode(), headers={**JSON_TYPE, "x-chunked": "1"})
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                      "application/xml"):
            yield rest(f"body/{label}/content-type/{ctype}", verb, path, json.dumps(memory_body()).encode(),
                       headers={"content-type": ctype})
        yield rest(f"body/{label}/no-content-type", verb, path, b"user_sid=u&key=k", headers={})
        yield rest(f"body/{label}/no-content-type-deep", verb, path, nested(100_000).encode(), headers={})
        yield rest(f"body/{label}/text-plain-deep", verb, path, nested(100_000).encode(),
                   headers={"content-type": "text/plain"})
    yield rest("body/PUT /api/memories/{sid}/other-sid", "PUT", one, json.dumps(memory_body(sid="other1")).encode())
    yield rest("body/POST /api/memories/taken-key", "POST", "/api/memories",
               json.dumps(memory_body(user_sid="plain", key="plain")).encode())
    for sid in ("%00", "x" * 100, "..%2F..%2Fetc%2Fpasswd", "%ff", "ZZZZZZ", "'%20OR%201=1", "%25", "%ed%a0%80"):
        for verb in ("GET", "DELETE", "PUT"):
            body = json.dumps(memory_body()).encode() if verb == "PUT" else None
            yield rest(f"path/{verb} /api/memories/{sid[:20]}", verb, f"/api/memories/{sid}", body)
    for verb, path in [("POST", "/api/audit"), ("PUT", "/api/audit"), ("DELETE", "/api/audit"), ("PATCH", "/api/audit"),
                       ("POST", "/api/usage"), ("POST", "/api/stats"), ("DELETE", "/api/dashboard"),
                       ("PATCH", "/api/memories"), ("PUT", "/api/memories"), ("DELETE", "/api/memories"),
                       ("POST", one), ("PATCH", one), ("GET", "/api/nothing"), ("POST", "/"), ("DELETE", "/docs")]:
        yield rest(f"http-method/{verb} {path.replace(existing_memory, '{sid}')}", verb, path, b"{}")


def rest_literal_cases() -> Iterator[Case]:
    from urllib.parse import quote

    for text in INJECTIONS:
        q = quote(text, safe="")
        yield rest(f"literal/audit?q={text}", "GET", f"/api/audit?limit={MAX_PAGE}&q={q}", kind="literal",
                   check=_sids_equal(_contains(text, "arguments", "result_preview"), "agent_audit_entry"))
        yield rest(f"literal/audit?tool_name={text}", "GET", f"/api/audit?tool_name={q}", kind="literal",
                   check=_sids_equal(_equals(text, "tool_name"), "agent_audit_entry"))
        yield rest(f"literal/audit?user_sid={text}", "GET", f"/api/audit?user_sid={q}", kind="literal",
                   check=_sids_equal(_equals(text, "user_sid"), "agent_audit_entry"))
        yield rest(f"literal/memories?key={text}", "GET", f"/api/memories?key={q}", kind="literal",
                   check=_sids_equal(_equals(text, "key"), "agent_memory"))
        yield rest(f"literal/usage?model={text}", "GET", f"/api/usage?days=3660&model={q}", kind="literal",
                   check=_usage_calls(_equals(text, "model")))
        yield rest(f"literal/stats?user_sid={text}", "GET", f"/api/stats?user_sid={q}", kind="literal",
                   check=_stats_calls(text))


def _stats_calls(user: str) -> Callable[[Any, Any], None]:
    def check(answer: Any, seeded: dict[str, list[dict[str, Any]]]) -> None:
        assert answer["tool_calls"] == sum(1 for o in seeded["agent_audit_entry"] if o["user_sid"] == user)
        assert answer["memories"] == sum(1 for o in seeded["agent_memory"] if o["user_sid"] == user)

    return check
