"""Benchmark of the OSIS JSON-RPC runtime against a conventional baseline.

Baseline: a minimal Starlette JSON-RPC endpoint (``request.json()`` /
``JSONResponse``) on uvicorn, called with ``httpx.Client``.  Contender: the
``osis.rpc`` app served by ``osis.rpc.app.serve`` and called through
``SyncCrud.new`` / ``SyncClient.batch``, over TCP and over a unix socket.
Both servers store the same pydantic ``Note`` model in a dict and run in
their own subprocesses with the same uvicorn settings (access log off).
The Note objects are built before the clock starts; turning them into JSON,
and the answers back into Notes, is timed for both clients.

Every scenario is measured ``--repeats`` times, round-robin across
scenarios so that background load hits them alike; the table shows the
median and the spread.  Ratios compare with the baseline of the same kind
(single calls with single calls, batches with batches).

    python bench/rpc.py [--calls 2000] [--batches 5] [--batch-size 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

TARGET_SINGLE_RATIO = 3.0
TARGET_BATCH_RATE = 50_000
BASELINE = "baseline: Starlette + httpx"
Key = tuple[str, str, str]  # (single|batch, client, tcp|unix)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sid: str = ""
    title: str
    body: str = ""
    tags: list[str] = Field(default_factory=list)
    is_pinned: bool = Field(default=False, alias="isPinned")


class NoteFilter(BaseModel):
    title: str | None = None


def sample_note(i: int) -> Note:
    return Note(title=f"note {i}", body="a short body of text", tags=["bench", "rpc"])


# -- servers (run in subprocesses) ------------------------------------------------------


class NoteStore:
    """In-memory handlers for the osis.rpc server (only what the benchmark calls)."""

    def __init__(self) -> None:
        self.notes: dict[str, Note] = {}
        self._ids = itertools.count(1)

    async def note_new(self, obj: Note) -> Note:
        obj.sid = f"n{next(self._ids)}"
        self.notes[obj.sid] = obj
        return obj

    async def note_get(self, sid: str) -> Note:
        from osis.rpc import NotFound

        try:
            return self.notes[sid]
        except KeyError:
            raise NotFound(f"no note {sid!r}") from None


def serve_ours(port: int | None, socket_path: str | None) -> None:
    from osis.rpc import Dispatcher, crud_routes
    from osis.rpc.app import create_app, serve

    dispatcher = Dispatcher(NoteStore(), crud_routes("note", Note, NoteFilter))
    app = create_app(dispatcher, service_name="bench")
    if socket_path:
        serve(app, socket=socket_path, log_level="warning")
    else:
        assert port is not None
        serve(app, port=port, log_level="warning")


def serve_baseline(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    notes: dict[str, Note] = {}
    ids = itertools.count(1)

    def one(message: dict[str, Any]) -> dict[str, Any]:
        if message.get("method") != "note.new":
            return {
                "jsonrpc": "2.0",
                "id": message.get("id"),
                "error": {"code": -32601, "message": "not found"},
            }
        note = Note.model_validate(message["params"]["obj"])
        note.sid = f"n{next(ids)}"
        notes[note.sid] = note
        return {
            "jsonrpc": "2.0",
            "id": message.get("id"),
            "result": note.model_dump(mode="json", by_alias=True),
        }

    async def rpc(request: Request) -> Response:
        payload = await request.json()
        if isinstance(payload, list):
            return JSONResponse([one(m) for m in payload])
        return JSONResponse(one(payload))

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/rpc", rpc, methods=["POST"]), Route("/health", health)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- harness ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid``; 0 where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(args: list[str], health: httpx.Client) -> Iterator[int]:
    process = subprocess.Popen([sys.executable, __file__, "--serve", *args])
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server {args} exited with {process.returncode}")
            try:
                if health.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server {args} did not start")
            time.sleep(0.05)
        yield process.pid
    finally:
        process.terminate()
        process.wait(20)
        health.close()


def baseline_single(url: str, calls: int) -> Callable[[], float]:
    client = httpx.Client()
    counter = itertools.count()

    def run() -> float:
        notes = [sample_note(next(counter)) for _ in range(calls)]
        started = time.perf_counter()
        for i, note in enumerate(notes):
            message = {
                "jsonrpc": "2.0",
                "id": i,
                "method": "note.new",
                "params": {"obj": note.model_dump(mode="json", by_alias=True)},
            }
            Note.model_validate(client.post(url, json=message).json()["result"])
        return calls / (time.perf_counter() - started)

    return run


def baseline_batch(url: str, batches: int, size: int) -> Callable[[], float]:
    client = httpx.Client(timeout=60)

    def run() -> float:
        notes = [sample_note(i) for i in range(size)]
        started = time.perf_counter()
        for _ in range(batches):
            messages = [
                {
                    "jsonrpc": "2.0",
                    "id": i,
                    "method": "note.new",
                    "params": {"obj": note.model_dump(mode="json", by_alias=True)},
                }
                for i, note in enumerate(notes)
            ]
            answers = client.post(url, json=messages).json()
            notes = [Note.model_validate(a["result"]) for a in answers]
            assert len(notes) == size
        return batches * size / (time.perf_counter() - started)

    return run


def ours_single(target: dict[str, str], calls: int) -> Callable[[], float]:
    from osis.rpc import SyncClient, SyncCrud

    client = SyncClient(url=target.get("url"), socket=target.get("socket"))
    notes = SyncCrud(client, "note", Note, NoteFilter)
    counter = itertools.count()

    def run() -> float:
        batch = [sample_note(next(counter)) for _ in range(calls)]
        started = time.perf_counter()
        for note in batch:
            notes.new(note)
        return calls / (time.perf_counter() - started)

    return run


def ours_batch(target: dict[str, str], batches: int, size: int) -> Callable[[], float]:
    from osis.rpc import SyncClient

    client = SyncClient(url=target.get("url"), socket=target.get("socket"), timeout=60)
    adapter = TypeAdapter(Note)

    def run() -> float:
        notes = [sample_note(i) for i in range(size)]
        started = time.perf_counter()
        for _ in range(batches):
            with client.batch() as batch:
                handles = [batch.add("note.new", {"obj": note}, adapter) for note in notes]
            stored = [h.result() for h in handles]
            assert len(stored) == size
        return batches * size / (time.perf_counter() - started)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="single calls per measurement")
    parser.add_argument("--batches", type=int, default=5, help="batches per measurement")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5, help="measurements per scenario (median shown)")
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)  # internal: run a server
    args = parser.parse_args()

    if args.serve:
        kind, *rest = args.serve
        if kind == "baseline":
            serve_baseline(int(rest[0]))
        elif rest[0] == "port":
            serve_ours(int(rest[1]), None)
        else:
            serve_ours(None, rest[1])
        return

    base_port, tcp_port = free_port(), free_port()
    sock_dir = tempfile.mkdtemp(prefix="osis-bench-")
    sock_path = os.path.join(sock_dir, "rpc.sock")
    base_url = f"http://127.0.0.1:{base_port}/rpc"
    tcp = {"url": f"http://127.0.0.1:{tcp_port}"}
    uds = {"socket": sock_path}

    with (
        server_process(
            ["baseline", str(base_port)], httpx.Client(base_url=f"http://127.0.0.1:{base_port}")
        ) as base_pid,
        server_process(["ours", "port", str(tcp_port)], httpx.Client(base_url=tcp["url"])) as tcp_pid,
        server_process(
            ["ours", "socket", sock_path],
            httpx.Client(transport=httpx.HTTPTransport(uds=sock_path), base_url="http://localhost"),
        ) as uds_pid,
    ):
        single_ops, batch_ops = args.calls, args.batches * args.batch_size
        scenarios: dict[Key, tuple[Callable[[], float], int, int]] = {
            ("single", BASELINE, "tcp"): (baseline_single(base_url, args.calls), base_pid, single_ops),
            ("single", "osis.rpc SyncCrud.new", "tcp"): (ours_single(tcp, args.calls), tcp_pid, single_ops),
            ("single", "osis.rpc SyncCrud.new", "unix"): (ours_single(uds, args.calls), uds_pid, single_ops),
            ("batch", BASELINE, "tcp"): (
                baseline_batch(base_url, args.batches, args.batch_size),
                base_pid,
                batch_ops,
            ),
            ("batch", "osis.rpc SyncClient.batch", "tcp"): (
                ours_batch(tcp, args.batches, args.batch_size),
                tcp_pid,
                batch_ops,
            ),
            ("batch", "osis.rpc SyncClient.batch", "unix"): (
                ours_batch(uds, args.batches, args.batch_size),
                uds_pid,
                batch_ops,
            ),
        }
        for run, _, _ in scenarios.values():  # warm up connections, caches and the servers' stores
            run()
        samples: dict[Key, list[float]] = {key: [] for key in scenarios}
        cpu: dict[Key, list[float]] = {key: [] for key in scenarios}
        for _ in range(args.repeats):
            for key, (run, pid, ops) in scenarios.items():
                client_before, server_before = time.process_time(), cpu_seconds(pid)
                samples[key].append(run())
                used = time.process_time() - client_before + cpu_seconds(pid) - server_before
                cpu[key].append(used / ops * 1e6)

    medians = {key: statistics.median(values) for key, values in samples.items()}
    cpu_medians = {key: statistics.median(values) for key, values in cpu.items()}
    baselines = {kind: medians[(kind, BASELINE, "tcp")] for kind in ("single", "batch")}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\n{args.calls} single calls or {args.batches} x {args.batch_size}-call batches per measurement; "
        f"median of {args.repeats}; python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} at the end\n"
    )
    header = (
        f"{'kind':<7} {'client':<30} {'via':<5} {'calls/s':>10} {'min..max':>17} {'vs baseline':>12}"
        f" {'CPU us/call':>12}"
    )
    print(header)
    print("-" * len(header))
    for key, value in medians.items():
        kind, name, via = key
        low, high = min(samples[key]), max(samples[key])
        ratio = value / baselines[kind]
        print(
            f"{kind:<7} {name:<30} {via:<5} {value:>10,.0f} {f'{low:,.0f}..{high:,.0f}':>17} {ratio:>11.2f}x"
            f" {cpu_medians[key]:>12.1f}"
        )
    print(
        "\nCPU us/call: client plus server CPU time per call (the server's from /proc), which other\n"
        "load on the machine inflates far less than wall-clock rates; 1e6 / it is the rate a\n"
        "client and a server would reach with a core each to themselves."
    )

    single_ratio = (
        min(medians[("single", "osis.rpc SyncCrud.new", via)] for via in ("tcp", "unix"))
        / baselines["single"]
    )
    batch_rate = min(medians[("batch", "osis.rpc SyncClient.batch", via)] for via in ("tcp", "unix"))
    print()
    print(
        f"single calls vs baseline: {single_ratio:.2f}x (target >= {TARGET_SINGLE_RATIO}x) "
        f"{'OK' if single_ratio >= TARGET_SINGLE_RATIO else 'MISSED'}"
    )
    print(
        f"batched objects/s: {batch_rate:,.0f} (target >= {TARGET_BATCH_RATE:,}) "
        f"{'OK' if batch_rate >= TARGET_BATCH_RATE else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
