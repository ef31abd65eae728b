"""Schemathesis against the REST API of `osis serve` with auth on, as a user: for generated
requests to every operation, no 5xx, every answer conforms to the OpenAPI document, and
none is a 401 (the token is accepted; scoping never turns into an error). SQLite only and
about 25 examples per operation, so it stays CI-sized."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from osis_ai.client import AsyncAiClient
from starlette.types import ASGIApp, Receive, Scope, Send

from osis.auth.tokens import TokenStore, now_text
from osis.demo import fill_store
from osis.rest import create_rest_app
from osis.server import build_app, open_store
from tests.rest.openapi_checks import CHECKS


def _unused_client() -> AsyncAiClient:
    raise AssertionError("the OpenAPI document is served without calling OSIS")


class _App:
    """The app under test: the REST app's document at import time (schemathesis loads it
    then), `osis serve`'s app on a store once the fixture has opened one."""

    def __init__(self) -> None:
        self.app: ASGIApp = create_rest_app(_unused_client)
        self.token = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


_APP = _App()
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)

@pytest.fixture(scope="module", autouse=True)
def served_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi-auth') / 'osis.db'}"
    fill_store(url, days=3, seed=11)
    engine = open_store(url)
    tokens = TokenStore(engine)
    tokens.create("admin", None, now=now_text())
    _APP.token, _ = tokens.create("user", "grace", now=now_text())  # a demo user
    previous, _APP.app = _APP.app, build_app(engine, token_ttl=0)
    yield
    _APP.app = previous
    engine.close()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_with_a_user_token(case: Any) -> None:
    response = case.call_and_validate(headers={"Authorization": f"Bearer {_APP.token}"}, checks=CHECKS)
    assert response.status_code != 401, response.text
