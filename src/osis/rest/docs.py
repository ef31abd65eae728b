"""`GET /docs`: the OpenAPI document rendered by Swagger UI, served from this machine.

FastAPI's own docs page loads Swagger UI from a CDN, which leaves it blank offline; the
`swagger-ui-bundle-v2` package ships the same files (a Swagger UI 5, which reads the
OpenAPI 3.1 documents FastAPI writes), served here under `/docs/assets`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS = "/docs/assets"


#: How the document declares the bearer token: optional (`{}` is the alternative without
#: one), since a server demands it only when auth is on (see docs/auth.md).
BEARER: Final = {
    "type": "http",
    "scheme": "bearer",
    "description": "A token from `osis token create`; required once the store has issued one, "
    "or with `osis serve --auth`. A user token sees only that user's records.",
}


def _with_bearer(app: FastAPI) -> Callable[[], dict[str, Any]]:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            document.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = BEARER
            document["security"] = [{"bearer": []}, {}]
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def install(app: FastAPI, title: str) -> None:
    openapi_url = app.openapi_url or "/openapi.json"
    app.openapi = _with_bearer(app)  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} (API reference)",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
