"""The agent's load on a running `osis serve`: writers and dashboard readers, measured.

Each client writes audit and usage entries through the generated JSON-RPC client and reads
what the dashboard reads (REST `/api/stats`, `/api/dashboard`, `/api/audit` and the
JSON-RPC `stats`). Every write the server acknowledged is recorded with the object it
returned, so a fault test can check afterwards that the store still holds exactly that.

Clients run as threads (the fault tests: cheap to start, results shared) or as processes
(`bench/load.py`: eight clients are not held back by one client interpreter's GIL). A
client outlives the server it talks to: a call that gets no answer (the server was killed,
or is restarting) counts as *unanswered*, not as an error, and the client tries again
shortly after. An answer that is an error (a JSON-RPC error, an HTTP status other than
200) counts as an error, with its message kept for the report.
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

import httpx
from osis_ai import models as m
from osis_ai.client import AiClient

from osis.rpc.client import SyncCrud
from osis.rpc.errors import RpcError, TransportError
from tests.servers import Server

#: Operations and how often a client picks each (writes dominate, as in an agent's life).
OPERATIONS: dict[str, int] = {
    "agent_audit_entry.new": 40,
    "agent_usage_entry.new": 25,
    "rpc stats": 10,
    "GET /api/stats": 8,
    "GET /api/dashboard": 7,
    "GET /api/audit": 10,
}
WRITES = ("agent_audit_entry.new", "agent_usage_entry.new")
TOOLS = ("web_search", "read_file", "shell", "calendar", "send_mail", "grep", "fetch_url", "summarise")
MODELS = ("gpt-4o-mini", "claude-haiku", "llama-3.1-8b", "mistral-small")
USERS = tuple(f"user{i}" for i in range(6))
RETRY_PAUSE = 0.05  # seconds a client waits after an unanswered call
CALL_TIMEOUT = 30.0


class StopFlag(Protocol):
    """`threading.Event` or `multiprocessing.Event`: all a client needs of either."""

    def is_set(self) -> bool: ...


@dataclass
class Ack:
    """A write the server acknowledged: which collection, the sid, the object as returned."""

    collection: str
    sid: str
    stored: dict[str, Any]


@dataclass
class ClientResult:
    """What one client did: latencies of answered calls (seconds) per operation, errors, acks."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    unanswered: int = 0
    acks: list[Ack] = field(default_factory=list)

    def merge(self, other: ClientResult) -> None:
        for op, values in other.latencies.items():
            self.latencies.setdefault(op, []).extend(values)
        for op, messages in other.errors.items():
            self.errors.setdefault(op, []).extend(messages)
        self.unanswered += other.unanswered
        self.acks.extend(other.acks)

    @property
    def error_count(self) -> int:
        return sum(len(v) for v in self.errors.values())


def audit_entry(client_id: int, seq: int, rng: random.Random) -> m.AgentAuditEntry:
    ok = rng.random() < 0.9
    return m.AgentAuditEntry(
        tool_name=rng.choice(TOOLS),
        arguments=f'{{"client": {client_id}, "seq": {seq}, "query": "load {rng.randrange(10**6)}"}}',
        result_preview="ok: 12 results" if ok else "error: timed out",
        success=ok,
        duration_ms=rng.randrange(5, 5000),
        user_sid=rng.choice(USERS),
        created_at=datetime.now(timezone.utc).replace(microsecond=0),
    )


def usage_entry(rng: random.Random) -> m.AgentUsageEntry:
    prompt, completion = rng.randrange(50, 4000), rng.randrange(10, 1000)
    return m.AgentUsageEntry(
        model=rng.choice(MODELS),
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        user_sid=rng.choice(USERS),
        created_at=datetime.now(timezone.utc).replace(microsecond=0),
    )


class _Client:
    """One client's connections and its loop; `ops` restricts what it does (default: all)."""

    def __init__(self, url: str, client_id: int, ops: Iterable[str] | None, seed: int) -> None:
        self.id = client_id
        self.rng = random.Random(seed * 1000 + client_id)
        chosen = list(ops) if ops is not None else list(OPERATIONS)
        self.ops = chosen
        self.weights = [OPERATIONS[op] for op in chosen]
        self.rpc = AiClient(url, timeout=CALL_TIMEOUT)
        self.http = httpx.Client(base_url=url, timeout=CALL_TIMEOUT)
        self.result = ClientResult()
        self.seq = 0

    def close(self) -> None:
        self.rpc.close()
        self.http.close()

    def _rest(self, path: str, params: dict[str, Any]) -> None:
        answer = self.http.get(path, params=params)
        if answer.status_code != 200:
            raise _HttpError(f"{answer.status_code} {answer.text[:300]}")

    def step(self) -> None:
        op = self.rng.choices(self.ops, self.weights)[0]
        self.seq += 1
        user = self.rng.choice(USERS) if self.rng.random() < 0.5 else None
        started = time.perf_counter()
        try:
            if op == "agent_audit_entry.new":
                stored = self.rpc.agent_audit_entry.new(audit_entry(self.id, self.seq, self.rng))
                self.result.acks.append(Ack("agent_audit_entry", stored.sid, stored.model_dump(mode="json")))
            elif op == "agent_usage_entry.new":
                stored_usage = self.rpc.agent_usage_entry.new(usage_entry(self.rng))
                self.result.acks.append(
                    Ack("agent_usage_entry", stored_usage.sid, stored_usage.model_dump(mode="json"))
                )
            elif op == "rpc stats":
                self.rpc.stats(m.StatsInput(user_sid=user, days=7))
            elif op == "GET /api/stats":
                self._rest("/api/stats", {"days": 7, **({"user_sid": user} if user else {})})
            elif op == "GET /api/dashboard":
                self._rest("/api/dashboard", {"days": 7, **({"user_sid": user} if user else {})})
            else:
                self._rest("/api/audit", {"limit": 50, "tool_name": self.rng.choice(TOOLS)})
        except (TransportError, httpx.TransportError):
            self.result.unanswered += 1
            time.sleep(RETRY_PAUSE)
            return
        except (RpcError, _HttpError) as err:
            self.result.errors.setdefault(op, []).append(str(err))
            time.sleep(RETRY_PAUSE)
            return
        self.result.latencies.setdefault(op, []).append(time.perf_counter() - started)


class _HttpError(Exception):
    """A REST answer other than 200."""


def run_client(url: str, client_id: int, stop: StopFlag, ops: Iterable[str] | None = None,
               seed: int = 1, sink: Callable[[ClientResult], None] | None = None) -> ClientResult:
    """Run one client until `stop` is set; `sink` receives the result (for processes)."""
    client = _Client(url, client_id, ops, seed)
    try:
        while not stop.is_set():
            client.step()
    finally:
        client.close()
    if sink is not None:
        sink(client.result)
    return client.result


class ThreadedLoad:
    """`clients` client threads against `url` until `stop()`; `acks()` can be read while it runs."""

    def __init__(self, url: str, clients: int = 8, ops: Iterable[str] | None = None, seed: int = 1) -> None:
        self._stop = threading.Event()
        self._clients = [_Client(url, i, ops, seed) for i in range(clients)]
        # One list, in acknowledgement order, so a checker can resume where it stopped.
        self._acks: list[Ack] = []
        for client in self._clients:
            client.result.acks = self._acks
        self._threads = [threading.Thread(target=self._loop, args=(c,), daemon=True) for c in self._clients]
        for thread in self._threads:
            thread.start()

    def _loop(self, client: _Client) -> None:
        while not self._stop.is_set():
            client.step()

    def acks(self) -> list[Ack]:
        """Every acknowledged write so far, in order (a snapshot: clients keep appending)."""
        return list(self._acks)

    def error_count(self) -> int:
        """Error answers so far."""
        return sum(client.result.error_count for client in self._clients)

    def stop(self) -> ClientResult:
        self._stop.set()
        total = ClientResult()
        for thread, client in zip(self._threads, self._clients):
            thread.join(CALL_TIMEOUT + 5)
            client.close()
            client.result.acks = []
            total.merge(client.result)
        total.acks = self._acks
        return total


class ProcessLoad:
    """`clients` client processes against `url` until `stop()` (results sent back at the end)."""

    def __init__(self, url: str, clients: int = 8, ops: Iterable[str] | None = None, seed: int = 1) -> None:
        ctx = multiprocessing.get_context("fork")
        self._stop = ctx.Event()
        self._results: multiprocessing.Queue[ClientResult] = ctx.Queue()
        self._procs = [
            ctx.Process(target=run_client, args=(url, i, self._stop, list(ops) if ops else None, seed,
                                                 self._results.put), daemon=True)
            for i in range(clients)
        ]
        for proc in self._procs:
            proc.start()

    def stop(self) -> ClientResult:
        self._stop.set()
        total = ClientResult()
        for _ in self._procs:
            total.merge(self._results.get(timeout=CALL_TIMEOUT + 30))
        for proc in self._procs:
            proc.join(10)
        return total


def missing_or_changed(client: AiClient, acks: list[Ack], chunk: int = 500) -> list[str]:
    """Acknowledged writes the store does not hold as acknowledged, one line each."""
    problems: list[str] = []
    cruds: dict[str, SyncCrud[Any, Any]] = {
        "agent_audit_entry": client.agent_audit_entry,
        "agent_usage_entry": client.agent_usage_entry,
    }
    for start in range(0, len(acks), chunk):
        part = acks[start:start + chunk]
        batch = client.batch()
        pending = [batch.add(f"{a.collection}.get", {"sid": a.sid}, cruds[a.collection]._one) for a in part]
        batch.send()
        for ack, handle in zip(part, pending):
            if handle.error is not None:
                problems.append(f"{ack.collection} {ack.sid}: {handle.error}")
            elif handle.result().model_dump(mode="json") != ack.stored:
                problems.append(f"{ack.collection} {ack.sid}: stored {handle.result()!r}, acknowledged {ack.stored!r}")
    return problems


@dataclass
class KillReport:
    """What `kill_repeatedly` saw: kills done, acknowledged writes read back, problems found."""

    kills: int = 0
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def kill_repeatedly(server: Server, start: Callable[[int], Server], kills: int, url: str, rng: random.Random,
                    acks: Callable[[], list[Ack]] | None = None,
                    uptime: tuple[float, float] = (0.1, 0.5), recheck: int = 200) -> tuple[Server, KillReport]:
    """Kill `server` with SIGKILL `kills` times while a load runs, restarting it each time.

    `start(round)` starts it again on the same address and returns once it is healthy
    (it raises if the store does not reopen). When `acks` gives the writes acknowledged so
    far (a `ThreadedLoad`'s), the newest `recheck` of those acknowledged before each kill
    (the ones a crash would lose first) are read back through a fresh client right after
    the restart: a missing or different object is a lost acknowledged write. The caller
    checks every acknowledged write once the load has stopped (`missing_or_changed`).
    Returns the running server and the report.
    """
    report = KillReport()
    seen = 0
    for round_ in range(1, kills + 1):
        time.sleep(rng.uniform(*uptime))
        server.stop(signal.SIGKILL)
        report.kills += 1
        acknowledged = acks() if acks is not None else []
        newest = acknowledged[max(seen, len(acknowledged) - recheck):]
        seen = len(acknowledged)
        server = start(round_)
        if newest:
            with AiClient(url, timeout=CALL_TIMEOUT) as client:
                report.problems += missing_or_changed(client, newest)
            report.checked += len(newest)
    return server, report


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux `/proc`), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]
