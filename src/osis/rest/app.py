"""`create_rest_app`: the REST API, its docs and the dashboard as one FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import dashboard, docs, errors, memories, queries
from .client import ClientFactory, ClientSource
from .params import Utf8Query

TITLE = "hero_agent on OSIS"

DESCRIPTION = """\
The REST surface of hero_agent's store: its audit log of tool calls, its LLM token usage,
its memories and the numbers of the dashboard (served at `/`).

Times are UTC, written as RFC 3339 (`2026-05-04T09:30:00Z`). Lists are paged with `limit`
(default 50, at most 1000) and `offset`, and carry the number of all matches in `total`.
An empty filter value (`?user_sid=`) means no filter. Every error is a JSON object with an
`error` message; a 422 also lists the offending parameters in `errors`.
"""


def create_rest_app(client_factory: ClientFactory) -> FastAPI:
    """The REST app, reaching OSIS through the `AsyncAiClient` that `client_factory` makes.

    In the process of the store::

        create_rest_app(lambda: AsyncAiClient(transport=AsyncInProcessTransport(dispatcher)))

    and against an OSIS elsewhere::

        create_rest_app(lambda: AsyncAiClient("http://osis:8080"))   # or socket="/run/osis.sock"

    The client is made on the first request and closed when the app shuts down.
    """
    source = ClientSource(client_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await source.aclose()

    app = FastAPI(title=TITLE, description=DESCRIPTION, version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    app.state.osis = source
    errors.install(app)
    app.add_middleware(Utf8Query)
    app.include_router(queries.router)
    app.include_router(memories.router)
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=str(dashboard.STATIC)), name="static")
    docs.install(app, TITLE)
    return app
