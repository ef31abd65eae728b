"""hero_agent's REST surface and dashboard, in front of OSIS.

`create_rest_app(client_factory)` builds a FastAPI app that reaches OSIS only through the
generated `AsyncAiClient`: in-process next to the store (`osis serve` does that), or over
HTTP or a unix socket when OSIS runs elsewhere. It never touches a store itself.
"""

from .app import create_rest_app

__all__ = ["create_rest_app"]
