"""SQL text shared by the engines: filters, ordering, keyset paging, aggregation.

Both engines speak the same subset of SQL here (row values, ``IN`` lists,
integer division); they differ only in the parameter marker and in whether
``NULLS FIRST/LAST`` must be spelled out.  SQLite already sorts NULLs first
ascending and last descending; PostgreSQL does the opposite by default, so it is
told explicitly and its indexes are built to match.  Identifiers come from
validated specs (``[a-z][a-z0-9_]*``) and are double-quoted anyway; every value
is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .layout import Column
from .query import ResolvedAggregation, ResolvedCond, ResolvedQuery

SECONDS_PER_DAY = 86400


def quote(name: str) -> str:
    return f'"{name}"'


@dataclass(frozen=True)
class Dialect:
    param: str  # "?" (sqlite3) or "%s" (psycopg)
    spell_nulls: bool  # append NULLS FIRST/LAST to ORDER BY terms
    mod: str = "%"  # the modulo operator as written in SQL text ("%%" where % marks parameters)

    def order_term(self, expr: str, descending: bool) -> str:
        if descending:
            return f"{expr} DESC NULLS LAST" if self.spell_nulls else f"{expr} DESC"
        return f"{expr} ASC NULLS FIRST" if self.spell_nulls else f"{expr} ASC"


def day_expr(d: Dialect, column: str) -> str:
    """Days since the epoch of an epoch-seconds column, flooring negative values too
    (both engines truncate integer division toward zero)."""
    day, m = SECONDS_PER_DAY, d.mod
    return f"(({column} - ((({column} {m} {day}) + {day}) {m} {day})) / {day})"


def cond_sql(d: Dialect, cond: ResolvedCond, params: list[Any], *, no_index: bool = False) -> str:
    # A unary "+" keeps SQLite from using the column's index for this term.
    col = ("+" if no_index else "") + quote(cond.column.name)
    if cond.op == "eq":
        if cond.value is None:
            return f"{col} IS NULL"
        params.append(cond.value)
        return f"{col} = {d.param}"
    if cond.op == "in":
        values = [v for v in cond.value if v is not None]
        if not values:
            return "1 = 0"
        params.extend(values)
        return f"{col} IN ({', '.join([d.param] * len(values))})"
    op = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[cond.op]
    params.append(cond.value)
    return f"{col} {op} {d.param}"


def filters_sql(
    d: Dialect, conds: tuple[ResolvedCond, ...], params: list[Any], *, walk: Column | None = None
) -> list[str]:
    """WHERE terms for ``conds``; with ``walk``, terms on other columns are kept off
    their indexes so the planner walks ``walk``'s index (see the SQLite engine)."""
    return [cond_sql(d, c, params, no_index=walk is not None and c.column != walk) for c in conds]


def keyset_sql(d: Dialect, rq: ResolvedQuery, params: list[Any]) -> str | None:
    """Rows strictly after the cursor position in the query's total order."""
    if rq.after is None:
        return None
    value, key = rq.after
    p = d.param
    if rq.order is None:
        params.append(key)
        return f"id {'<' if rq.descending else '>'} {p}"
    col = quote(rq.order.name)
    if not rq.descending:  # NULLs come first
        if value is None:
            params.append(key)
            return f"(({col} IS NULL AND id > {p}) OR {col} IS NOT NULL)"
        params.extend([value, key])
        return f"({col}, id) > ({p}, {p})"
    # descending: NULLs come last
    if value is None:
        params.append(key)
        return f"({col} IS NULL AND id < {p})"
    params.extend([value, key])
    return f"(({col}, id) < ({p}, {p}) OR {col} IS NULL)"


def order_sql(d: Dialect, rq: ResolvedQuery) -> str:
    terms = []
    if rq.order is not None:
        terms.append(d.order_term(quote(rq.order.name), rq.descending))
    terms.append(f"id {'DESC' if rq.descending else 'ASC'}")
    return ", ".join(terms)


def limit_sql(d: Dialect, limit: int | None, offset: int, params: list[Any]) -> str:
    if limit is None and not offset:
        return ""
    # SQLite needs a LIMIT before OFFSET; -1 means "no limit" there, PostgreSQL takes ALL.
    parts = []
    if limit is None:
        parts.append("LIMIT ALL" if d.spell_nulls else "LIMIT -1")
    else:
        params.append(limit)
        parts.append(f"LIMIT {d.param}")
    if offset:
        params.append(offset)
        parts.append(f"OFFSET {d.param}")
    return " " + " ".join(parts)


def where_sql(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def aggregate_sql(
    d: Dialect, from_sql: str, ra: ResolvedAggregation, extra: list[str], params: list[Any]
) -> str:
    """SELECT for an aggregation over ``from_sql``; ``extra`` are engine-built
    predicates (search) whose parameters, like those of ``from_sql``, are already
    in ``params`` before the filter parameters are appended."""
    select = []
    group_exprs = []
    for i, g in enumerate(ra.groups):
        expr = day_expr(d, quote(g.column.name)) if g.day else quote(g.column.name)
        group_exprs.append(expr)
        select.append(f"{expr} AS g{i}")
    for i, m in enumerate(ra.metrics):
        arg = "*" if m.column is None else quote(m.column.name)
        select.append(f"{m.op.upper()}({arg}) AS m{i}")
    clauses = extra + filters_sql(d, ra.conds, params)
    sql = f"SELECT {', '.join(select)} FROM {from_sql}{where_sql(clauses)}"
    if group_exprs:
        sql += f" GROUP BY {', '.join(group_exprs)}"
    order = []
    if ra.order is not None:
        order.append(d.order_term(f"m{ra.order}", ra.descending))
    order.extend(d.order_term(f"g{i}", False) for i in range(len(ra.groups)))
    if order:
        sql += f" ORDER BY {', '.join(order)}"
    sql += limit_sql(d, ra.limit, 0, params)
    return sql
