"""Serve the in-memory kitchen service: `python kitchen_server.py OUT_DIR (--port N | --socket PATH)`.

Started as a subprocess by the SDK tests, so the client talks to a real uvicorn server.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--port", type=int)
    parser.add_argument("--socket")
    args = parser.parse_args()
    sys.path.insert(0, args.out)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from osis.rpc.app import create_app, serve
    from tests.sdk.memory_impl import make_service

    package = importlib.import_module("osis_kitchen")
    importlib.import_module("osis_kitchen.server")
    service = make_service(package)
    dispatcher = package.server.KitchenDispatcher(service)
    app = create_app(dispatcher, service_name="kitchen", openrpc=package.server.openrpc_document())
    if args.socket:
        serve(app, socket=args.socket, log_level="warning")
    else:
        serve(app, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
