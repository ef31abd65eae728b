"""The REST app's one OSIS client: made on first use, closed when the app shuts down.

Made lazily rather than at start-up because an HTTP client binds to the event loop it
first runs on, and because test harnesses (and some ASGI servers) never send the
lifespan events; the first request always runs on the loop that serves the app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from osis_ai.client import AsyncAiClient

ClientFactory = Callable[[], AsyncAiClient]


class ClientSource:
    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._client: AsyncAiClient | None = None

    def get(self) -> AsyncAiClient:
        # No await between the check and the assignment: concurrent first requests on
        # one loop cannot both make a client.
        if self._client is None:
            self._client = self._factory()
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def _client(request: Request) -> AsyncAiClient:
    source: ClientSource = request.app.state.osis
    return source.get()


#: Route parameter type: the app's OSIS client.
Osis = Annotated[AsyncAiClient, Depends(_client)]
