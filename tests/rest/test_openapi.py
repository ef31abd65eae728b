"""Schemathesis against the OpenAPI document: for generated requests to every operation,
no 5xx, and every answer conforms to the document (status, content type, schema); invalid
requests are rejected.

SQLite only and about 25 examples per operation, so it stays CI-sized; the oracle tests
cover both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from osis_ai.client import AsyncAiClient
from osis_ai.server import AiDispatcher

from osis.ai.service import AiStoreService
from osis.demo import fill_store
from osis.rest import create_rest_app
from osis.rpc.transport import AsyncInProcessTransport
from osis.server import open_store
from osis.store.engine import Engine
from tests.rest.openapi_checks import CHECKS

# The schema is loaded when the module is imported, as schemathesis' pytest integration
# wants; the store behind the app is opened by the fixture below, before any request.
_store: dict[str, Engine] = {}


def _client() -> AsyncAiClient:
    return AsyncAiClient(transport=AsyncInProcessTransport(AiDispatcher(AiStoreService(_store["engine"]))))


schema = schemathesis.openapi.from_asgi("/openapi.json", create_rest_app(_client))

@pytest.fixture(scope="module", autouse=True)
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'osis.db'}"
    fill_store(url, days=3, seed=7)
    _store["engine"] = open_store(url)
    yield
    _store.pop("engine").close()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
