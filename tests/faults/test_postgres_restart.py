"""PostgreSQL restarted under load: while it is down `osis serve` answers promptly with a
clear "store unavailable" error (JSON-RPC UNAVAILABLE, REST 503) and logs the outage; when
it is back the server recovers by itself, without a restart, and nothing acknowledged is lost.

The database restarted is a private cluster (`private_postgres`), never the shared one.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from osis_ai.client import AiClient

from osis.rpc.errors import Unavailable
from osis.store import CollectionSpec, Engine, IndexedField, Query, StoreUnavailable, open_engine
from osis.store import postgres_stats
from osis.store.postgres import PostgresEngine
from tests.servers import free_port, start_server
from tests.store.conftest import _drop_schema, postgres_dsn
from tests.workload import ThreadedLoad, audit_entry, missing_or_changed

from .private_postgres import PrivateCluster

PROMPT = 5.0  # seconds within which a call must get its answer while the database is down
RECOVERY = 20.0  # seconds within which writes must work again once the database is back


def _wait_for(what: str, condition: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.1)
    return time.monotonic() - started


def _reachable(engine: Engine, collection: str) -> bool:
    """Does a count on ``collection`` get through (the server is back)?"""
    try:
        engine.count(collection)
    except StoreUnavailable:
        return False
    return True


def test_postgres_restart_under_load(private_postgres: PrivateCluster, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "osis", "serve", "--store", f"{private_postgres.dsn}?connect_timeout=2",
            "--listen", f"127.0.0.1:{port}"]
    server = start_server(argv, tmp_path / "serve.log", url=url)
    load = ThreadedLoad(url, clients=8)
    rng = random.Random(3)
    try:
        _wait_for("50 acknowledged writes", lambda: len(load.acks()) >= 50, 30)
        private_postgres.stop()

        with AiClient(url, timeout=30) as client:
            started = time.monotonic()
            with pytest.raises(Unavailable) as down:
                client.agent_audit_entry.new(audit_entry(99, 1, rng))
            assert time.monotonic() - started < PROMPT
        assert down.value.message.startswith("store unavailable: PostgreSQL at postgresql://postgres@127.0.0.1")
        assert "unreachable" in down.value.message
        started = time.monotonic()
        answer = httpx.get(f"{url}/api/stats", timeout=30)
        assert time.monotonic() - started < PROMPT
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"].startswith("store unavailable: PostgreSQL at")
        assert answer.headers["retry-after"]
        time.sleep(1.0)  # the load keeps meeting the outage

        private_postgres.start()

        def writes_work() -> bool:
            with AiClient(url, timeout=30) as client:
                try:
                    client.agent_audit_entry.new(audit_entry(99, 2, rng))
                except Unavailable:
                    return False
                return True

        _wait_for("recovery", writes_work, RECOVERY)
        time.sleep(0.5)  # let requests that started during the outage finish
        errors_after_recovery = load.error_count()
        acks_after_recovery = len(load.acks())
        _wait_for("50 more acknowledged writes", lambda: len(load.acks()) >= acks_after_recovery + 50, 30)
        assert load.error_count() == errors_after_recovery, "errors after the database came back"
        assert server.process.poll() is None, "the server had to be restarted"
    finally:
        result = load.stop()
    try:
        assert result.errors, "the load never met the outage"
        for op, messages in result.errors.items():
            for message in messages:
                assert "store unavailable" in message, f"{op}: {message}"
        with AiClient(url) as client:
            assert missing_or_changed(client, result.acks) == []
    finally:
        server.stop()
    log = server.log_text()
    assert "PostgreSQL store unreachable" in log
    assert "PostgreSQL store reachable again" in log


def test_a_busy_pool_is_not_an_outage() -> None:
    """Every connection busy for the whole wait is reported as such, not as the server being
    unreachable, and does not put the engine into an outage."""
    dsn = postgres_dsn()
    if dsn is None:
        pytest.skip("POSTGRES TESTS SKIPPED: no PostgreSQL server")
    schema = f"osis_test_{uuid.uuid4().hex[:12]}"
    engine = open_engine(f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}&pool_max=1&connect_timeout=0.5")
    try:
        engine.open([CollectionSpec("note", indexed=())])
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with engine._conn("hold"):  # type: ignore[attr-defined]
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(10)
        try:
            with pytest.raises(StoreUnavailable, match="no connection to .* became available during get"):
                engine.get("note", "0001")
        finally:
            release.set()
            holder.join()
        assert not engine._outage.ongoing  # type: ignore[attr-defined]
        assert engine.get("note", "0001") is None
    finally:
        engine.close()
        _drop_schema(dsn, schema)


def test_an_outage_during_statistics_upkeep_is_reported_not_raised(
    private_postgres: PrivateCluster, caplog: pytest.LogCaptureFixture
) -> None:
    """The background thread meets the outage while looking for tables to analyse: the
    outage is logged once, the thread neither raises nor dies, an explicit analyze says
    the server is unreachable, and once it is back a bulk load is analysed as usual."""
    engine = open_engine(f"{private_postgres.dsn}?connect_timeout=2")
    try:
        assert isinstance(engine, PostgresEngine)
        engine.open([CollectionSpec("note", indexed=(IndexedField("topic", "str"),))])
        with caplog.at_level(logging.INFO, logger="osis.store"):
            private_postgres.stop()
            _wait_for("the upkeep meeting the outage", lambda: engine._outage.ongoing, 10)
            with pytest.raises(StoreUnavailable, match=r"^PostgreSQL at postgresql://postgres@.* is unreachable"):
                engine.analyze()
            time.sleep(2 * postgres_stats.CHECK_EVERY)  # rounds during the outage: skipped, not raised
            private_postgres.start()

            _wait_for("recovery", lambda: _reachable(engine, "note"), RECOVERY)
            engine.insert_many("note", [{"topic": f"t{i}"} for i in range(20_000)])
            _wait_for("analysis of the load", lambda: _last_analyze(engine) is not None, 20)
        assert engine._indexer is not None and engine._indexer._thread is not None
        assert engine._indexer._thread.is_alive()
        store_log = [r for r in caplog.records if r.name == "osis.store"]
        assert [r.getMessage() for r in store_log if r.levelno >= logging.ERROR] == []
        messages = [r.getMessage() for r in store_log]
        assert messages.count("PostgreSQL store unreachable") == 1
        assert "PostgreSQL store reachable again" in messages
    finally:
        engine.close()


def _last_analyze(engine: PostgresEngine) -> object:
    with engine._conn("test") as conn:
        row = conn.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relid = %s::regclass",
            (engine._table(engine._layouts["note"]),),
        ).fetchone()
    return None if row is None else row[0]


def test_an_outage_during_search_indexing_is_one_warning_not_a_traceback_a_second(
    private_postgres: PrivateCluster, caplog: pytest.LogCaptureFixture
) -> None:
    """The search indexer tries a round every tick; while the server is down each round
    meets the outage.  That is said once (a warning, no traceback), the thread lives on,
    and once the server is back the backlog written after the restart is indexed."""
    engine = open_engine(f"{private_postgres.dsn}?connect_timeout=2")
    try:
        assert isinstance(engine, PostgresEngine)
        engine.open([CollectionSpec("note", indexed=(IndexedField("topic", "str"),), search=("body",))])
        with caplog.at_level(logging.INFO, logger="osis.store"):
            private_postgres.stop()
            _wait_for("the indexer meeting the outage", lambda: engine._outage.ongoing, 10)
            time.sleep(3)  # several of the indexer's rounds, each meeting the outage
            private_postgres.start()

            _wait_for("recovery", lambda: _reachable(engine, "note"), RECOVERY)
            engine.insert_many("note", [{"topic": "t", "body": f"needle-{i} text"} for i in range(200)])
            _wait_for("indexing of the backlog", lambda: engine.search_backlog("note") == 0, 20)
        assert engine._indexer is not None and engine._indexer._thread is not None
        assert engine._indexer._thread.is_alive()
        store_log = [r for r in caplog.records if r.name == "osis.store"]
        assert [r.getMessage() for r in store_log if r.levelno >= logging.ERROR] == []
        waits = [r for r in store_log if "waits for the store" in r.getMessage()]
        assert len(waits) == 1 and waits[0].exc_info is None
        assert len(engine.find("note", Query(search="needle-17 "))) == 1
    finally:
        engine.close()
