"""JSON-RPC 2.0 conformance of Dispatcher.handle, and Dispatcher.call.

Many cases mirror the examples of the JSON-RPC 2.0 specification (section 7).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from osis.rpc import (
    Dispatcher,
    InternalError,
    InvalidParams,
    MethodNotFound,
    NotFound,
    NotImplementedRpc,
    Route,
    crud_routes,
)
from osis.rpc.params import CountParams, FindPageParams, FindParams, ListFullParams, NoParams, ObjParams, SidParams
from tests.rpc import rpc_testsvc as svc

NEW_NOTE = {"obj": {"title": "first", "isPinned": True, "tags": ["x"]}}


def handle(dispatcher: Dispatcher, payload: Any) -> Any:
    """POST ``payload`` (bytes, or data to encode) and decode the answer."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    answer = asyncio.run(dispatcher.handle(body))
    return None if answer is None else json.loads(answer)


def request(method: str, params: Any = None, id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        message["params"] = params
    return message


def error_code(answer: Any) -> int:
    assert set(answer) == {"jsonrpc", "id", "error"}, answer
    code: int = answer["error"]["code"]
    return code


# -- successful calls ---------------------------------------------------------------


def test_call_by_name_returns_result_with_aliases(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, request("note.new", NEW_NOTE, id=7))
    assert answer == {
        "jsonrpc": "2.0",
        "id": 7,
        "result": {"sid": "n1", "title": "first", "body": "", "tags": ["x"], "isPinned": True, "due": None},
    }


def test_params_accept_field_names_as_well_as_aliases(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, request("note.new", {"obj": {"title": "t", "is_pinned": True}}))
    assert answer["result"]["isPinned"] is True


def test_call_by_position_maps_onto_field_order(dispatcher: Dispatcher, service: svc.NoteService) -> None:
    for title in ("b", "a", "c"):
        handle(dispatcher, request("note.new", [{"title": title}]))
    # FindParams order: filter, order_by, descending, limit, offset
    answer = handle(dispatcher, request("note.find", [None, "title", True, 2]))
    assert [note["title"] for note in answer["result"]] == ["c", "b"]
    assert handle(dispatcher, request("add", [{"a": 2, "b": 40}]))["result"] == {"sum": 42}


def test_missing_params_mean_empty_object(dispatcher: Dispatcher) -> None:
    assert handle(dispatcher, request("note.list"))["result"] == []
    # ListFullParams has defaults for every field, so no params is fine too.
    assert handle(dispatcher, request("note.list_full"))["result"] == []


def test_null_result_for_routes_without_result_adapter(dispatcher: Dispatcher) -> None:
    sid = handle(dispatcher, request("note.new", NEW_NOTE))["result"]["sid"]
    assert handle(dispatcher, request("note.delete", {"sid": sid})) == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": None,
    }


@pytest.mark.parametrize("request_id", ["abc", 0, -5, 2.5, None])
def test_ids_are_echoed_verbatim(dispatcher: Dispatcher, request_id: Any) -> None:
    answer = handle(dispatcher, request("note.list", id=request_id))
    assert answer["id"] == request_id and answer["result"] == []


# -- errors of the JSON-RPC layer ------------------------------------------------------


def test_parse_error_has_null_id(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')
    assert error_code(answer) == -32700 and answer["id"] is None
    assert answer["error"]["message"].startswith("parse error:")


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"NaN", b'{"jsonrpc": "2.0", "id": 1, "method": "add", "params": [Infinity]}', b"[" * 1000],
)
def test_non_json_bodies_are_parse_errors(dispatcher: Dispatcher, body: bytes) -> None:
    assert error_code(handle(dispatcher, body)) == -32700


def test_invalid_utf8_is_a_parse_error_that_says_so(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, b'{"jsonrpc":"2.0","id":1,"method":"note.get","params":{"sid":"\xff"}}')
    assert error_code(answer) == -32700
    assert "UTF-8" in answer["error"]["message"]


def test_batch_with_invalid_json_is_a_single_parse_error(dispatcher: Dispatcher) -> None:
    answer = handle(
        dispatcher,
        b'[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]',
    )
    assert isinstance(answer, dict) and error_code(answer) == -32700


def test_empty_batch_is_a_single_invalid_request(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, [])
    assert isinstance(answer, dict) and error_code(answer) == -32600 and answer["id"] is None


def test_batch_of_non_objects_gives_one_error_each(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, [1, 2, 3])
    assert [error_code(a) for a in answer] == [-32600] * 3
    assert all(a["id"] is None for a in answer)


@pytest.mark.parametrize(
    ("message", "expected_id"),
    [
        ({"jsonrpc": "2.0", "method": 1, "params": "bar"}, None),  # the specification's example
        ({"foo": "boo"}, None),
        ({"method": "note.list", "id": 3}, 3),  # jsonrpc member missing
        ({"jsonrpc": "1.0", "method": "note.list", "id": 3}, 3),
        ({"jsonrpc": 2.0, "method": "note.list", "id": 3}, 3),
        ({"jsonrpc": "2.0", "id": 3}, 3),  # no method
        ({"jsonrpc": "2.0", "method": "note.get", "params": "n1", "id": 3}, 3),
        ({"jsonrpc": "2.0", "method": "note.get", "params": None, "id": 3}, 3),
        ({"jsonrpc": "2.0", "method": "note.get", "params": 5, "id": 3}, 3),
        ({"jsonrpc": "2.0", "method": "note.list", "id": True}, None),  # booleans are no ids
        ({"jsonrpc": "2.0", "method": "note.list", "id": {"a": 1}}, None),
        ({"jsonrpc": "2.0", "method": "note.list", "id": [1]}, None),
        ("just a string", None),
        (17, None),
        (None, None),
    ],
)
def test_invalid_requests(dispatcher: Dispatcher, message: Any, expected_id: Any) -> None:
    answer = handle(dispatcher, message)
    assert error_code(answer) == -32600
    assert answer["id"] == expected_id
    assert answer["error"]["message"].startswith("invalid request")


def test_unknown_method(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, request("foobar", id="1"))
    assert error_code(answer) == -32601 and answer["id"] == "1"
    assert "foobar" in answer["error"]["message"]


def test_unknown_method_name_is_not_echoed_unbounded(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, request("x" * 100_000))
    assert error_code(answer) == -32601
    assert len(answer["error"]["message"]) < 200


@pytest.mark.parametrize(
    ("method", "params", "first_loc"),
    [
        ("note.get", {}, ["sid"]),
        ("note.get", {"sid": 5}, ["sid"]),
        ("note.get", {"sid": "a", "extra": 1}, ["extra"]),
        ("note.new", {"obj": {"title": 3}}, ["obj", "title"]),
        ("note.new", {"obj": {"title": "t", "due": "not a date"}}, ["obj", "due"]),
        ("note.list_full", {"limit": 10_001}, ["limit"]),
        ("note.list_full", {"offset": -1}, ["offset"]),
        ("note.find", {"filter": {"colour": "red"}}, ["filter", "colour"]),
        ("note.list", {"anything": 1}, ["anything"]),
        ("add", {"input": {"a": "one", "b": 2}}, ["input", "a"]),
        # Models ignore unknown keys (for clients reading newer answers); requests may not carry them.
        ("note.new", {"obj": {"title": "t", "is_admin": True}}, ["obj", "is_admin"]),
        ("add", {"input": {"a": 1, "b": 2, "c": 3}}, ["input", "c"]),
    ],
)
def test_invalid_params_carry_pydantic_details(
    dispatcher: Dispatcher, method: str, params: Any, first_loc: list[str]
) -> None:
    answer = handle(dispatcher, request(method, params))
    assert error_code(answer) == -32602
    details = answer["error"]["data"]
    assert details[0]["loc"] == first_loc
    assert {"type", "loc", "msg", "input"} <= set(details[0])
    assert "url" not in details[0] and "ctx" not in details[0]
    assert answer["error"]["message"].startswith("invalid params: " + ".".join(first_loc))


def test_too_many_positional_params(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, request("note.get", ["a", "b"]))
    assert error_code(answer) == -32602
    assert "at most 1 positional" in answer["error"]["message"]
    assert error_code(handle(dispatcher, request("note.list", [1]))) == -32602


def test_internal_errors_are_logged_not_leaked(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="osis.rpc"):
        answer = handle(dispatcher, request("fail", {"input": {"code": 0}}))
    assert answer["error"] == {"code": -32603, "message": "internal error"}
    assert "hunter2" not in json.dumps(answer)
    record = next(r for r in caplog.records if r.name == "osis.rpc")
    assert record.exc_info is not None and "hunter2" in str(record.exc_info[1])


def test_unserialisable_result_is_an_internal_error(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="osis.rpc"):
        answer = handle(dispatcher, request("bad_result"))
    assert answer["error"] == {"code": -32603, "message": "internal error"}
    assert any("could not be serialised" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("method", ["reindex", "purge"])
def test_unimplemented_methods(dispatcher: Dispatcher, method: str) -> None:
    answer = handle(dispatcher, request(method))
    assert error_code(answer) == -32006
    assert answer["error"]["message"].startswith(f"{method} is not implemented")


# -- application errors ----------------------------------------------------------------


@pytest.mark.parametrize("code", [-32001, -32002, -32003, -32004, -32005, -32006, -32007, -32008, -32042])
def test_application_errors_pass_through_with_code_and_data(dispatcher: Dispatcher, code: int) -> None:
    params = {"input": {"code": code, "message": "nope", "data": {"why": [1, 2]}}}
    answer = handle(dispatcher, request("fail", params, id=9))
    assert answer == {
        "jsonrpc": "2.0",
        "id": 9,
        "error": {"code": code, "message": "nope", "data": {"why": [1, 2]}},
    }


def test_not_found_from_a_crud_handler(dispatcher: Dispatcher) -> None:
    answer = handle(dispatcher, request("note.get", {"sid": "missing"}))
    assert answer["error"] == {
        "code": -32001,
        "message": "no note with sid 'missing'",
        "data": {"sid": "missing"},
    }


# -- notifications and batches -----------------------------------------------------------


def test_notification_runs_but_gets_no_answer(dispatcher: Dispatcher, service: svc.NoteService) -> None:
    assert handle(dispatcher, {"jsonrpc": "2.0", "method": "ping", "params": {"input": {"tag": "a"}}}) is None
    assert service.pings == ["a"]


def test_failing_notifications_stay_silent(dispatcher: Dispatcher) -> None:
    for method, params in [
        ("nope", None),
        ("note.get", {}),
        ("fail", {"input": {"code": 0}}),
        ("reindex", None),
    ]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        assert handle(dispatcher, message) is None


def test_batch_of_only_notifications_gets_no_answer(dispatcher: Dispatcher, service: svc.NoteService) -> None:
    batch = [{"jsonrpc": "2.0", "method": "ping", "params": {"input": {"tag": t}}} for t in "abc"]
    assert handle(dispatcher, batch) is None
    assert service.pings == ["a", "b", "c"]


def test_mixed_batch(dispatcher: Dispatcher, service: svc.NoteService) -> None:
    answer = handle(
        dispatcher,
        [
            request("note.new", NEW_NOTE, id="1"),
            {"jsonrpc": "2.0", "method": "ping", "params": {"input": {"tag": "hello"}}},
            request("add", {"input": {"a": 42, "b": -23}}, id="2"),
            {"foo": "boo"},
            request("get_data", id="5"),
            request("note.get", {"sid": "zzz"}, id="9"),
            request("note.get", {"sid": 1}, id="10"),
            request("note.exists", {"sid": "n1"}, id="11"),
        ],
    )
    by_id = {a["id"]: a for a in answer if a["id"] is not None}
    assert len(answer) == 7  # everything but the notification
    assert by_id["1"]["result"]["sid"] == "n1"
    assert by_id["2"]["result"] == {"sum": 19}
    assert error_code(by_id["5"]) == -32601
    assert error_code(by_id["9"]) == -32001
    assert error_code(by_id["10"]) == -32602
    # Entries run in order, so the note created by entry 1 exists for entry 11.
    assert by_id["11"]["result"] is True
    assert [error_code(a) for a in answer if a["id"] is None] == [-32600]
    assert service.pings == ["hello"]


def test_oversized_batch_is_refused_as_a_whole(dispatcher: Dispatcher, service: svc.NoteService) -> None:
    batch = [request("note.new", NEW_NOTE, id=i) for i in range(svc.MAX_BATCH + 1)]
    answer = handle(dispatcher, batch)
    assert isinstance(answer, dict) and error_code(answer) == -32008
    assert service.notes == {}  # nothing ran
    assert len(handle(dispatcher, batch[:-1])) == svc.MAX_BATCH


# -- rpc.discover -------------------------------------------------------------------------


@pytest.mark.parametrize("ids", [[1, 1], ["a", "b", "a"], [7, 7.0]], ids=["int", "string", "int-and-float"])
def test_batch_with_a_duplicate_id_is_refused_as_a_whole(
    dispatcher: Dispatcher, service: svc.NoteService, ids: list[Any]
) -> None:
    before = dict(service.notes)
    answer = handle(dispatcher, [request("note.new", NEW_NOTE, id=i) for i in ids])
    assert error_code(answer) == -32600 and answer["id"] is None
    assert answer["error"]["message"] == f"invalid request: id {ids[-1]!r} is used twice in the batch"
    assert service.notes == before  # nothing ran


def test_batch_ids_may_repeat_only_as_null_or_notifications(dispatcher: Dispatcher) -> None:
    calls = [request("note.list", id=None), request("note.list", id=None), {"jsonrpc": "2.0", "method": "note.list"}]
    assert [a["result"] for a in handle(dispatcher, calls)] == [[], []]


def test_discover_returns_the_openrpc_document(dispatcher: Dispatcher) -> None:
    assert handle(dispatcher, request("rpc.discover"))["result"] == svc.OPENRPC
    assert error_code(handle(dispatcher, request("rpc.discover", {"x": 1}))) == -32602


def test_discover_without_document_is_method_not_found(service: svc.NoteService) -> None:
    dispatcher = Dispatcher(service, svc.ROUTES)
    assert error_code(handle(dispatcher, request("rpc.discover"))) == -32601


# -- Dispatcher.call -------------------------------------------------------------------------


def test_call_returns_json_compatible_results(dispatcher: Dispatcher) -> None:
    created = asyncio.run(dispatcher.call("note.new", {"obj": {"title": "t", "due": "2030-01-02T03:04:05Z"}}))
    assert created["due"] == "2030-01-02T03:04:05Z" and "isPinned" in created
    assert asyncio.run(dispatcher.call("note.list", None)) == ["n1"]
    assert asyncio.run(dispatcher.call("note.get", ("n1",)))["title"] == "t"
    assert asyncio.run(dispatcher.call("note.delete", {"sid": "n1"})) is None
    assert asyncio.run(dispatcher.call("rpc.discover", None)) == svc.OPENRPC


def test_call_raises_typed_errors_with_method(dispatcher: Dispatcher) -> None:
    with pytest.raises(NotFound) as not_found:
        asyncio.run(dispatcher.call("note.get", {"sid": "x"}))
    assert not_found.value.method == "note.get" and not_found.value.data == {"sid": "x"}
    with pytest.raises(MethodNotFound):
        asyncio.run(dispatcher.call("nope", None))
    with pytest.raises(NotImplementedRpc, match="purge is not implemented"):
        asyncio.run(dispatcher.call("purge", None))
    with pytest.raises(InternalError):
        asyncio.run(dispatcher.call("fail", {"input": {"code": 0}}))
    with pytest.raises(InternalError):
        asyncio.run(dispatcher.call("bad_result", None))
    with pytest.raises(InvalidParams, match="must be a mapping or a sequence"):
        asyncio.run(dispatcher.call("note.get", "n1"))  # type: ignore[arg-type]


def test_invalid_params_data_is_json_safe_for_in_process_input(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidParams) as caught:
        asyncio.run(dispatcher.call("note.get", {"sid": object()}))
    json.dumps(caught.value.to_error_object())


# -- routes ------------------------------------------------------------------------------------


def test_crud_routes_shape() -> None:
    routes = crud_routes("agent_memory", svc.Note, svc.NoteFilter)
    assert list(routes) == [
        f"agent_memory.{verb}"
        for verb in ("new", "get", "set", "delete", "list", "list_full", "exists", "find", "find_page", "count")
    ]
    assert {name: r.handler for name, r in routes.items()}[
        "agent_memory.list_full"
    ] == "agent_memory_list_full"
    assert all(name == r.method and r.description for name, r in routes.items())
    assert routes["agent_memory.new"].params is ObjParams[svc.Note]
    assert routes["agent_memory.set"].params is ObjParams[svc.Note]
    assert routes["agent_memory.get"].params is SidParams
    assert routes["agent_memory.list"].params is NoParams
    assert routes["agent_memory.list_full"].params is ListFullParams
    assert routes["agent_memory.find"].params is FindParams[svc.NoteFilter]
    assert routes["agent_memory.find_page"].params is FindPageParams[svc.NoteFilter]
    assert routes["agent_memory.count"].params is CountParams[svc.NoteFilter]
    assert routes["agent_memory.delete"].result is None
    note = svc.Note(title="t")
    exists = routes["agent_memory.exists"].result
    sids = routes["agent_memory.list"].result
    many = routes["agent_memory.find"].result
    assert exists is not None and exists.validate_python(True) is True
    assert sids is not None and sids.validate_python(["a"]) == ["a"]
    assert many is not None and many.validate_python([note.model_dump()]) == [note]
    with pytest.raises(ValueError, match="identifier"):
        crud_routes("agent-memory", svc.Note, svc.NoteFilter)


def test_dispatcher_rejects_inconsistent_routes(service: svc.NoteService) -> None:
    route = Route("a", "a", NoParams, None)
    with pytest.raises(ValueError, match="registered as 'b'"):
        Dispatcher(service, {"b": route})
    with pytest.raises(ValueError, match="reserved"):
        Dispatcher(service, {"rpc.x": Route("rpc.x", "a", NoParams, None)})
    with pytest.raises(TypeError, match="pydantic model"):
        Dispatcher(service, {"a": Route("a", "a", dict, None)})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_batch"):
        Dispatcher(service, {}, max_batch=0)


def test_handler_kwargs_are_field_names_even_for_aliased_params() -> None:
    class WhoParams(BaseModel):
        model_config = ConfigDict(extra="forbid")

        user_id: str = Field(alias="userId")
        loud: bool = False

    class Service:
        async def who(self, user_id: str, loud: bool) -> str:
            return user_id.upper() if loud else user_id

    dispatcher = Dispatcher(Service(), {"who": Route("who", "who", WhoParams, TypeAdapter(str))})
    assert handle(dispatcher, request("who", {"userId": "ann"}))["result"] == "ann"
    assert handle(dispatcher, request("who", {"user_id": "bob", "loud": True}))["result"] == "BOB"
    assert handle(dispatcher, request("who", ["cy", True]))["result"] == "CY"


def test_route_result_adapter_serialises_by_alias(service: svc.NoteService) -> None:
    class Service:
        async def pinned(self) -> svc.Note:
            return svc.Note(title="p", is_pinned=True)

    dispatcher = Dispatcher(Service(), {"pinned": Route("pinned", "pinned", NoParams, TypeAdapter(svc.Note))})
    assert handle(dispatcher, request("pinned"))["result"]["isPinned"] is True
