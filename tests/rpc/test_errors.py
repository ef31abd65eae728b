"""Error classes, the code table and error_for_code."""

from __future__ import annotations

import json
import pickle

import pytest

from osis.rpc import errors
from osis.rpc.errors import (
    ERROR_CODES,
    Conflict,
    Forbidden,
    InternalError,
    InvalidParams,
    InvalidRequest,
    LimitExceeded,
    MethodNotFound,
    NotFound,
    NotImplementedRpc,
    ParseError,
    RpcError,
    TransportError,
    Unauthorized,
    Unavailable,
    ValidationFailed,
    error_for_code,
)

EXPECTED = {
    -32700: ParseError,
    -32600: InvalidRequest,
    -32601: MethodNotFound,
    -32602: InvalidParams,
    -32603: InternalError,
    -32001: NotFound,
    -32002: Conflict,
    -32003: ValidationFailed,
    -32004: Unauthorized,
    -32005: Forbidden,
    -32006: NotImplementedRpc,
    -32007: Unavailable,
    -32008: LimitExceeded,
}


@pytest.mark.parametrize(("code", "cls"), sorted(EXPECTED.items()))
def test_error_for_code_builds_the_subclass(code: int, cls: type[RpcError]) -> None:
    error = error_for_code(code, "boom", {"k": 1}, "note.get")
    assert type(error) is cls
    assert (error.code, error.message, error.data, error.method) == (code, "boom", {"k": 1}, "note.get")
    assert cls.code == code


def test_error_codes_table_documents_exactly_the_known_codes() -> None:
    assert set(ERROR_CODES) == set(EXPECTED)
    assert ERROR_CODES[-32001][0] == "NOT_FOUND"
    assert ERROR_CODES[-32008][0] == "LIMIT_EXCEEDED"
    for code, (name, meaning) in ERROR_CODES.items():
        assert getattr(errors, name) == code
        assert meaning.endswith(".")
    application = {code for code in ERROR_CODES if -32099 <= code <= -32000}
    assert application == set(range(-32008, -32000))


def test_unknown_code_gives_plain_rpc_error() -> None:
    error = error_for_code(-32050, "custom", None, "x")
    assert type(error) is RpcError
    assert error.code == -32050


def test_plain_rpc_error_defaults_to_internal_error_code() -> None:
    assert RpcError("x").code == -32603
    assert RpcError("x", code=-32010).code == -32010
    # The override is per instance, not a change to the class.
    assert RpcError.code == -32603


def test_str_and_repr_name_method_and_code() -> None:
    error = NotFound("no note 'a'", method="note.get", data={"sid": "a"})
    assert str(error) == "note.get: no note 'a' (code -32001)"
    assert "NotFound(" in repr(error) and "'note.get'" in repr(error)
    assert str(NotFound("gone")) == "gone (code -32001)"


def test_error_object_is_json_safe_and_omits_null_data() -> None:
    assert NotFound("x").to_error_object() == {"code": -32001, "message": "x"}
    weird = Conflict("x", data={"obj": object(), "items": {3}, "when": b"raw"})
    encoded = json.dumps(weird.to_error_object())
    assert '"code": -32002' in encoded
    assert "object object at" in encoded  # unknown values fall back to repr()


def test_errors_survive_pickling() -> None:
    error = pickle.loads(pickle.dumps(Forbidden("no", data=[1], method="m")))
    assert type(error) is Forbidden
    assert (error.message, error.data, error.method, error.code) == ("no", [1], "m", -32005)
    custom = pickle.loads(pickle.dumps(RpcError("c", code=-32077)))
    assert custom.code == -32077


def test_transport_error_is_not_an_rpc_error_and_names_target_and_cause() -> None:
    cause = ConnectionRefusedError(111, "Connection refused")
    error = TransportError("cannot connect", target="http://127.0.0.1:9", cause=cause)
    assert not isinstance(error, RpcError)
    assert str(error) == "cannot connect (http://127.0.0.1:9): [Errno 111] Connection refused"
    assert error.cause is cause and error.target == "http://127.0.0.1:9"
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert str(TransportError("closed", target="unix:/s")) == "closed (unix:/s)"
