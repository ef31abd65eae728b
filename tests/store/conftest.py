"""Fixtures running every store test on both engines.

PostgreSQL tests use ``OSIS_TEST_POSTGRES_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``) and a fresh schema per test.
They are skipped only when the variable is unset *and* no server answers at
the default address; the skip is repeated in the terminal summary so it cannot
go unnoticed.  With the variable set, an unreachable server is an error.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from osis.store import CollectionSpec, Engine, IndexedField, open_engine

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
ENGINES = ["sqlite", "postgres"]

_pg_state: dict[str, Any] = {}


def postgres_dsn() -> str | None:
    """The DSN to test against, or None when PostgreSQL tests must be skipped."""
    if "dsn" in _pg_state:
        return _pg_state["dsn"]  # type: ignore[no-any-return]
    explicit = os.environ.get("OSIS_TEST_POSTGRES_DSN")
    dsn = explicit or DEFAULT_DSN
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        if explicit:
            pytest.fail(f"OSIS_TEST_POSTGRES_DSN={explicit} is set but unreachable: {exc}", pytrace=False)
        _pg_state["dsn"] = None
        _pg_state["why"] = f"no PostgreSQL at {DEFAULT_DSN} and OSIS_TEST_POSTGRES_DSN unset ({exc})"
        return None
    _pg_state["dsn"] = dsn
    return dsn


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=ENGINES)
def engine_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "postgres":
        request.node.add_marker(pytest.mark.postgres)
    return kind


@pytest.fixture
def store_url(engine_kind: str, tmp_path: Any) -> Iterator[str]:
    """A URL for an empty store of the parametrised kind."""
    if engine_kind == "sqlite":
        yield f"sqlite:///{tmp_path}/osis.db"
        return
    dsn = postgres_dsn()
    if dsn is None:
        pytest.skip(f"POSTGRES TESTS SKIPPED: {_pg_state['why']}")
    schema = f"osis_test_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in dsn else "?"
    try:
        yield f"{dsn}{sep}schema={schema}"
    finally:
        _drop_schema(dsn, schema)


@pytest.fixture
def make_engine(store_url: str) -> Iterator[Callable[..., Engine]]:
    """``make_engine(specs)`` opens an engine on the test's store; all are closed afterwards."""
    opened: list[Engine] = []

    def make(specs: list[CollectionSpec], url: str | None = None) -> Engine:
        engine = open_engine(url or store_url)
        opened.append(engine)
        engine.open(specs)
        return engine

    yield make
    for engine in opened:
        engine.close()


AUDIT = CollectionSpec(
    name="audit",
    indexed=(
        IndexedField("tool_name", "str"),
        IndexedField("user_sid", "str"),
        IndexedField("success", "bool"),
        IndexedField("created_at", "time"),
        IndexedField("score", "float"),
        IndexedField("level", "enum"),
        IndexedField("attempt", "int"),
    ),
    search=("arguments", "result_preview"),
    owner="user_sid",
    numeric=(IndexedField("duration_ms", "int"), IndexedField("cost", "float")),
    compound=(("user_sid", "created_at"), ("tool_name", "success", "attempt")),
)


@pytest.fixture
def audit_engine(make_engine: Callable[..., Engine]) -> Engine:
    return make_engine([AUDIT])


def analyzed_tables(engine: Engine) -> set[str]:
    """The store's tables that ``ANALYZE`` (not autovacuum) gave planner statistics:
    those with rows in ``sqlite_stat1`` on SQLite, and on PostgreSQL those whose
    ``pg_stat_user_tables.last_analyze`` is set."""
    from osis.store.postgres import PostgresEngine
    from osis.store.sqlite import SqliteEngine

    if isinstance(engine, SqliteEngine):
        with engine._read() as conn:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() is None:
                return set()
            return {name for (name,) in conn.execute("SELECT DISTINCT tbl FROM sqlite_stat1")}
    assert isinstance(engine, PostgresEngine)
    with engine._conn("test") as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = %s AND last_analyze IS NOT NULL",
            (engine._schema,),
        ).fetchall()
    return {name for (name,) in rows}


def with_option(url: str, option: str) -> str:
    """``url`` with one more query option (``"indexer=off"``)."""
    return f"{url}{'&' if '?' in url else '?'}{option}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_state.get("dsn", "") is None:
        terminalreporter.write_sep("!", "POSTGRESQL STORE TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_pg_state["why"])
        terminalreporter.write_line("set OSIS_TEST_POSTGRES_DSN to run them (an unreachable DSN then fails the run)")


@contextlib.contextmanager
def table_locked(conninfo: str, table: str) -> Iterator[None]:
    """Another session holds ANALYZE's own lock (SHARE UPDATE EXCLUSIVE) on ``table``
    (already quoted and qualified) for as long as the block runs, as autovacuum at
    work on it would."""
    import psycopg

    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(conninfo) as conn:
            conn.execute(f"LOCK TABLE {table} IN SHARE UPDATE EXCLUSIVE MODE")
            locked.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10), f"could not lock {table}"
        yield
    finally:
        release.set()
        holder.join()


@contextlib.contextmanager
def non_owner(store_url: str) -> Iterator[str]:
    """``store_url`` as seen by a new login role that may read and write the store's
    tables (already created by their owner) but owns none of them, as an application
    role set up by an operator would; the role is dropped afterwards."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from osis.store.url import PostgresConfig, parse_url

    config = parse_url(store_url)
    assert isinstance(config, PostgresConfig)
    role = f"osis_test_role_{uuid.uuid4().hex[:8]}"
    schema = f'"{config.schema}"'
    with psycopg.connect(config.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    parts = urlsplit(store_url)
    host = parts.netloc.rpartition("@")[2]
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{host}"))
    finally:
        with psycopg.connect(config.conninfo, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
