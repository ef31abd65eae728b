"""Parsing of store URLs into engine configurations.

* ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` (the path is
  everything after ``sqlite:///``), ``sqlite:///:memory:``.  Options:
  ``synchronous=normal|full`` (default normal), ``timeout=<seconds>`` busy
  timeout (default 5), ``readers=<n>`` reader connections (default 4),
  ``indexer=on|off`` the background thread that indexes search text and
  refreshes planner statistics (default on; when off, call
  ``SqliteEngine.index_search()`` / ``analyze()`` yourself).
* ``postgresql://user@host:port/dbname?...`` (also ``postgres://``).  Options
  understood by the store are ``schema=<name>`` (default ``public``),
  ``pool_max=<n>`` (default 8), ``connect_timeout=<seconds>`` (default 5) and
  ``indexer=on|off`` the background thread that fills the search index and
  refreshes planner statistics (default on; when off, call
  ``PostgresEngine.index_search()`` / ``analyze()`` yourself); every other
  option is passed to libpq unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .errors import InvalidURL

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class SqliteConfig:
    path: str  # ":memory:" for a private in-memory database
    synchronous: str = "normal"
    busy_timeout: float = 5.0
    readers: int = 4
    indexer: bool = True

    @property
    def memory(self) -> bool:
        return self.path == ":memory:"


@dataclass(frozen=True)
class PostgresConfig:
    conninfo: str  # libpq URL without the store's own options
    schema: str = "public"
    pool_max: int = 8
    connect_timeout: float = 5.0
    indexer: bool = True

    @property
    def redacted(self) -> str:
        """The URL without its password, for error messages."""
        parts = urlsplit(self.conninfo)
        netloc = parts.netloc
        if "@" in netloc:
            user, host = netloc.rsplit("@", 1)
            netloc = f"{user.split(':', 1)[0]}@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _number(url: str, name: str, text: str, *, integer: bool, minimum: float) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise InvalidURL(f"store URL option {name}={text!r} must be a number ({url})") from None
    if value < minimum:
        raise InvalidURL(f"store URL option {name}={text!r} must be at least {minimum} ({url})")
    return value


def _options(url: str, query: str, allowed: set[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InvalidURL(f"malformed query string in store URL {url!r}") from None
    for key, value in pairs:
        if allowed is not None and key not in allowed:
            raise InvalidURL(
                f"unknown option {key!r} in store URL {url!r}; allowed: {', '.join(sorted(allowed))}"
            )
        out[key] = value
    return out


def parse_url(url: object) -> SqliteConfig | PostgresConfig:
    """Parse a store URL; raises :class:`InvalidURL` with the reason."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidURL(f"store URL must be a non-empty string, got {url!r}")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise InvalidURL(f"store URL {url!r} has no scheme; use sqlite:///path.db or postgresql://host/db")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return _parse_sqlite(url, rest)
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(url)
    raise InvalidURL(f"unsupported store URL scheme {scheme!r} in {url!r}; use sqlite or postgresql")


def _parse_sqlite(url: str, rest: str) -> SqliteConfig:
    location, _, query = rest.partition("?")
    if not location.startswith("/"):
        raise InvalidURL(
            f"SQLite URL {url!r} must have an empty host: sqlite:///relative.db or sqlite:////abs/path.db"
        )
    path = location[1:]
    if not path:
        raise InvalidURL(f"SQLite URL {url!r} has no database path")
    opts = _options(url, query, {"synchronous", "timeout", "readers", "indexer"})
    sync = opts.get("synchronous", "normal").lower()
    if sync not in ("normal", "full"):
        raise InvalidURL(f"store URL option synchronous={sync!r} must be normal or full ({url})")
    return SqliteConfig(
        path=path,
        synchronous=sync,
        busy_timeout=_number(url, "timeout", opts.get("timeout", "5"), integer=False, minimum=0),
        readers=int(_number(url, "readers", opts.get("readers", "4"), integer=True, minimum=1)),
        indexer=_switch(url, "indexer", opts.get("indexer", "on")),
    )


def _switch(url: str, name: str, text: str) -> bool:
    value = text.lower()
    if value not in ("on", "off"):
        raise InvalidURL(f"store URL option {name}={value!r} must be on or off ({url})")
    return value == "on"


def _parse_postgres(url: str) -> PostgresConfig:
    parts = urlsplit(url)
    opts = _options(url, parts.query, None)
    schema = opts.pop("schema", "public")
    if not _SCHEMA_RE.match(schema):
        raise InvalidURL(f"store URL option schema={schema!r} must match [a-z_][a-z0-9_]* ({url})")
    pool_max = int(_number(url, "pool_max", opts.pop("pool_max", "8"), integer=True, minimum=1))
    timeout = _number(url, "connect_timeout", opts.pop("connect_timeout", "5"), integer=False, minimum=0.1)
    indexer = _switch(url, "indexer", opts.pop("indexer", "on"))
    # libpq does not decode '+' as a space: percent-encode everything.
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(opts, quote_via=quote), ""))
    # Let libpq's own parser reject what it cannot use, with its message.
    from psycopg import conninfo as _ci
    import psycopg

    try:
        _ci.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise InvalidURL(f"invalid PostgreSQL URL: {str(exc).strip().splitlines()[0]}") from None
    return PostgresConfig(conninfo, schema, pool_max, timeout, indexer)
