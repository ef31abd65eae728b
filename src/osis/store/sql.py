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
from .query import PERCENTILE_SCALE, ResolvedAggregation, ResolvedCond, ResolvedQuery

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


def limit_sql(d: Dialect, limit: int | None, offset: int, params: list[Any], *, literal: bool = False) -> str:
    """``LIMIT``/``OFFSET``, as parameters or, with ``literal``, written out as integers."""
    if limit is None and not offset:
        return ""
    # SQLite needs a LIMIT before OFFSET; -1 means "no limit" there, PostgreSQL takes ALL.
    parts = []
    if limit is None:
        parts.append("LIMIT ALL" if d.spell_nulls else "LIMIT -1")
    elif literal:
        parts.append(f"LIMIT {int(limit)}")
    else:
        params.append(limit)
        parts.append(f"LIMIT {d.param}")
    if offset and literal:
        parts.append(f"OFFSET {int(offset)}")
    elif offset:
        params.append(offset)
        parts.append(f"OFFSET {d.param}")
    return " " + " ".join(parts)


def where_sql(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def aggregate_sql(
    d: Dialect, from_sql: str, ra: ResolvedAggregation, extra: list[str], params: list[Any],
    *, groups_off_index: bool = False, off_index: frozenset[Column] = frozenset(),
) -> str:
    """SELECT for an aggregation over ``from_sql``; ``extra`` are engine-built
    predicates (search) whose parameters, like those of ``from_sql``, are already
    in ``params`` before the filter parameters are appended.

    With ``groups_off_index`` the group columns are written ``+column`` (SQLite
    only), which keeps the planner from walking a group column's index to get
    the rows in group order: that walk visits every row of the table, while the
    filters' indexes (a time window's range above all) visit only the matches,
    and sorting the matches costs less than reading the rest.  Filters on the
    columns in ``off_index`` are likewise kept off their indexes (SQLite only), so
    the engine decides which filter's index the rows are read through.

    Percentiles need each value's rank within its group, which plain GROUP BY
    cannot give: with percentile metrics the filtered rows first pass through a
    window query that numbers them per group and value column (ROW_NUMBER and
    COUNT over the same partition), and the outer query picks, per group, the value
    whose rank is ``floor(q * (n - 1)) + 1``.  Both engines run that same SQL.
    """
    clauses = extra + [cond_sql(d, c, params, no_index=c.column in off_index) for c in ra.conds]
    plain = "+" if groups_off_index else ""
    group_exprs = [day_expr(d, quote(g.column.name)) if g.day else plain + quote(g.column.name) for g in ra.groups]
    ranked = sorted({m.column.name for m in ra.metrics if m.op == "percentile" and m.column is not None})
    if ranked:
        inner = [f"{expr} AS g{i}" for i, expr in enumerate(group_exprs)]
        valued = sorted({m.column.name for m in ra.metrics if m.column is not None})
        inner += [f"{quote(name)} AS {quote(name)}" for name in valued]
        for j, name in enumerate(ranked):
            col = quote(name)
            # NULLs get their own partition so they never take a rank among the values.
            partition = ", ".join([*group_exprs, f"({col} IS NULL)"])
            inner.append(f"ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {col}) AS r{j}")
            inner.append(f"COUNT({col}) OVER (PARTITION BY {partition}) AS n{j}")
        from_sql = f"(SELECT {', '.join(inner)} FROM {from_sql}{where_sql(clauses)}) AS w"
        clauses = []
        group_exprs = [f"g{i}" for i in range(len(ra.groups))]
    select = [f"{expr} AS g{i}" if not ranked else f"g{i}" for i, expr in enumerate(group_exprs)]
    for i, m in enumerate(ra.metrics):
        if m.op == "percentile":
            assert m.column is not None
            j, col = ranked.index(m.column.name), quote(m.column.name)
            rank = f"((n{j} - 1) * {m.q_scaled}) / {PERCENTILE_SCALE} + 1"
            select.append(f"MIN(CASE WHEN {col} IS NOT NULL AND r{j} = {rank} THEN {col} END) AS m{i}")
        else:
            arg = "*" if m.column is None else quote(m.column.name)
            select.append(f"{m.op.upper()}({arg}) AS m{i}")
    sql = f"SELECT {', '.join(select)} FROM {from_sql}{where_sql(clauses)}"
    if group_exprs:
        sql += f" GROUP BY {', '.join(group_exprs)}"
    order = []
    if ra.order is not None:
        order.append(d.order_term(f"m{ra.order}", ra.descending))
    order.extend(d.order_term(f"g{i}", False) for i in range(len(ra.groups)))
    if order:
        sql += f" ORDER BY {', '.join(order)}"
    # Written out when nothing else is a value: PostgreSQL then plans a prepared
    # statement once (see PostgresEngine._find_sql).
    sql += limit_sql(d, ra.limit, 0, params, literal=not params)
    return sql
