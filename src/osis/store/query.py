"""Query and aggregation descriptions, and their validation against a collection.

The public dataclasses (:class:`Query`, :class:`Cond`, :class:`Aggregation`,
:class:`Day`, :class:`Metric`, :class:`Page`) are engine-neutral.  ``resolve_*``
checks them against a :class:`Layout` once and produces the "resolved" forms the
engines compile to SQL: every field name mapped to its column, every value
type-checked and normalised (see :mod:`osis.store.codec`).

Search semantics (identical on every engine): ``search`` matches a document
when the text occurs as a substring of at least one of the collection's search
fields, comparing ASCII letters case-insensitively and every other character
exactly (like SQLite's ``LIKE``).  All characters are literal; none has a
special meaning.  ``None`` or ``""`` means "no search".  A match never spans two
fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from . import cursor as _cursor
from .codec import coerce_filter_value
from .errors import InvalidQuery
from .layout import Column, Layout

Op = Literal["eq", "in", "gt", "gte", "lt", "lte"]
OPS: tuple[str, ...] = get_args(Op)
MetricOp = Literal["count", "sum", "avg", "min", "max", "percentile"]
METRIC_OPS: tuple[str, ...] = get_args(MetricOp)

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_ascii(text: str) -> str:
    """Lower-case ASCII letters only: the case folding every engine's search uses."""
    if text.isascii():
        return text.lower()
    # bytes.lower() touches ASCII bytes only, and UTF-8 never uses ASCII bytes inside
    # a multi-byte character; surrogates (rejected elsewhere) take the slow path.
    try:
        return text.encode("utf-8").lower().decode("utf-8")
    except UnicodeEncodeError:
        return text.translate(_ASCII_LOWER)


@dataclass(frozen=True, init=False)
class Cond:
    """``field <op> value``.  ``eq`` with ``None`` matches a missing/null field;
    ``in`` takes a list of values."""

    field: str
    op: Op
    value: Any

    # Hand-written: a frozen dataclass's generated __init__ sets each field through
    # object.__setattr__, a noticeable share of a sub-0.1 ms lookup.  Item assignment
    # costs less than __dict__.update(**kwargs) (no keyword dict is built).
    def __init__(self, field: str, op: Op, value: Any) -> None:
        fields = self.__dict__
        fields["field"] = field
        fields["op"] = op
        fields["value"] = value


@dataclass(frozen=True, init=False)
class Query:
    """What :meth:`Engine.find`, :meth:`Engine.find_page` and :meth:`Engine.count` select.

    ``order_by`` is an indexed field or ``"sid"`` (the default); ties are broken by
    sid in the same direction, so every ordering is total and stable.  ``limit``
    ``None`` means no limit.  ``cursor`` (from :attr:`Page.next_cursor`) continues
    a :meth:`Engine.find_page` listing and cannot be combined with ``offset``.
    """

    filters: Sequence[Cond] = ()
    search: str | None = None
    order_by: str | None = None
    descending: bool = False
    limit: int | None = None
    offset: int = 0
    cursor: str | None = None

    def __init__(
        self,
        filters: Sequence[Cond] = (),
        search: str | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
        cursor: str | None = None,
    ) -> None:
        # Hand-written for speed (see Cond).  Accept lists from callers but keep the
        # dataclass hashable and immutable.
        kind = type(filters)
        if kind is list or (kind is not tuple and isinstance(filters, Sequence) and not isinstance(filters, str)):
            filters = tuple(filters)
        fields = self.__dict__
        fields["filters"] = filters
        fields["search"] = search
        fields["order_by"] = order_by
        fields["descending"] = descending
        fields["limit"] = limit
        fields["offset"] = offset
        fields["cursor"] = cursor


@dataclass(frozen=True)
class Page:
    """One page of :meth:`Engine.find_page`; ``next_cursor`` is None on the last page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Day:
    """Group by the UTC calendar day (``YYYY-MM-DD``) of a time field."""

    field: str

    @property
    def key(self) -> str:
        return f"{self.field}_day"


@dataclass(frozen=True)
class Metric:
    """An aggregate: ``count`` (rows, or non-null values of ``field``),
    ``sum``/``avg``/``min``/``max`` of a numeric field, or ``percentile`` ``q``
    (0 < q <= 1) of a numeric field: the nearest-rank value at 0-based index
    ``floor(q * (n - 1))`` of the group's non-null values in ascending order (p50
    of 1..10 is 5, p95 is 9).  Results use ``name``, defaulting to ``"count"``,
    ``"<op>_<field>"`` or ``"p<q*100>_<field>"``."""

    op: MetricOp
    field: str | None = None
    name: str | None = None
    q: float | None = None

    @property
    def key(self) -> str:
        if self.name:
            return self.name
        if self.op == "percentile":
            return f"p{(self.q or 0) * 100:g}_{self.field}"
        return self.op if self.field is None else f"{self.op}_{self.field}"


@dataclass(frozen=True)
class Aggregation:
    """Grouped metrics over the documents matching ``filters`` and ``search``.

    Rows are ordered by the metric named ``order_by`` (descending unless
    ``descending=False``), ties and the default ordering by the group keys
    ascending.  Each row maps group keys (field name, or ``<field>_day`` for
    :class:`Day`) and metric keys to values.
    """

    group_by: Sequence[str | Day] = ()
    metrics: Sequence[Metric] = (Metric("count"),)
    filters: Sequence[Cond] = ()
    search: str | None = None
    order_by: str | None = None
    descending: bool = True
    limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("group_by", "metrics", "filters"):
            value = getattr(self, name)
            if not isinstance(value, tuple) and isinstance(value, Sequence) and not isinstance(value, str):
                object.__setattr__(self, name, tuple(value))


# --------------------------------------------------------------------------- resolved forms


@dataclass(frozen=True)
class ResolvedCond:
    column: Column
    op: Op
    value: Any  # normalised; a tuple for ``in``; None only with ``eq`` (IS NULL)


@dataclass(frozen=True)
class ResolvedQuery:
    collection: str
    conds: tuple[ResolvedCond, ...]
    search: str | None  # ASCII-folded needle
    order: Column | None  # None: order by sid (the row key)
    descending: bool
    limit: int | None
    offset: int
    after: tuple[Any, int] | None  # keyset position (order value, row key) from a cursor

    @property
    def fingerprint(self) -> str:
        """Identity of the row sequence a cursor walks (everything but limit/offset)."""
        return _cursor.fingerprint(
            self.collection,
            [(c.column.field, c.op, c.value) for c in self.conds],
            self.search,
            self.order.field if self.order else None,
            self.descending,
        )


def index_ordered(layout: Layout, rq: ResolvedQuery) -> bool:
    """Does one B-tree index read this query's matches already in its order?

    True when, besides conditions on the ordering field (a range on the index's next
    key column), every filter is an equality on a field that, all together, make up the
    leading key columns of an index whose next column is the ordering field: the rows
    are then one contiguous stretch of that index, walked in order and stopped at the
    limit, whatever the values are. No statistics or plan choice can improve on it.
    """
    order = rq.order
    if order is None or rq.search is not None:
        return False
    equal: set[str] = set()
    for cond in rq.conds:
        if cond.column == order:
            if cond.op == "in":  # several stretches of the index, not one
                return False
        elif cond.op == "eq":
            equal.add(cond.column.field)
        else:
            return False
    return layout.serves(equal, order.field)


@dataclass(frozen=True)
class ResolvedGroup:
    column: Column
    day: bool
    key: str


@dataclass(frozen=True)
class ResolvedMetric:
    op: MetricOp
    column: Column | None
    key: str
    # percentile q as a fraction of PERCENTILE_SCALE, so the rank is integer arithmetic
    # in SQL (PostgreSQL rounds, and SQLite truncates, a float cast to integer).
    q_scaled: int = 0


PERCENTILE_SCALE = 10_000


@dataclass(frozen=True)
class ResolvedAggregation:
    groups: tuple[ResolvedGroup, ...]
    metrics: tuple[ResolvedMetric, ...]
    conds: tuple[ResolvedCond, ...]
    search: str | None
    order: int | None  # index into metrics
    descending: bool
    limit: int | None


def _allowed(layout: Layout) -> str:
    names = ", ".join(sorted(layout.indexed)) or "(none)"
    return f"indexed fields of {layout.name!r}: {names}"


def _indexed_column(layout: Layout, name: object, what: str) -> Column:
    if not isinstance(name, str) or name not in layout.indexed:
        raise InvalidQuery(f"{layout.name}: cannot {what} {name!r}; {_allowed(layout)}")
    return layout.indexed[name]


#: Largest limit or offset: both engines take them as signed 64-bit integers.
MAX_COUNT = 2**63 - 1


def _check_count(value: object, what: str, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidQuery(f"{what} must be a non-negative integer, got {value!r}")
    if value > MAX_COUNT:
        raise InvalidQuery(f"{what} must be at most {MAX_COUNT}, got {value}")


def resolve_conds(layout: Layout, conds: object) -> tuple[ResolvedCond, ...]:
    if not isinstance(conds, (list, tuple)):
        raise InvalidQuery(f"{layout.name}: filters must be a list of Cond, got {type(conds).__name__}")
    out = []
    for cond in conds:
        if not isinstance(cond, Cond):
            raise InvalidQuery(f"{layout.name}: filters must be Cond objects, got {cond!r}")
        column = _indexed_column(layout, cond.field, "filter on")
        if cond.op not in OPS:
            raise InvalidQuery(
                f"{layout.name}: unknown operator {cond.op!r} on {cond.field!r}; expected one of {', '.join(OPS)}"
            )
        value: Any
        if cond.op == "in":
            if not isinstance(cond.value, (list, tuple, set, frozenset)):
                raise InvalidQuery(f"{layout.name}: 'in' on {cond.field!r} needs a list of values")
            value = tuple(
                coerce_filter_value(layout.name, cond.field, column.kind, v) for v in cond.value
            )
        elif cond.op == "eq" and cond.value is None:
            value = None
        else:
            value = coerce_filter_value(layout.name, cond.field, column.kind, cond.value)
        out.append(ResolvedCond(column, cond.op, value))
    return tuple(out)


def resolve_search(layout: Layout, search: object) -> str | None:
    if search is None or search == "":
        return None
    if not isinstance(search, str):
        raise InvalidQuery(f"{layout.name}: search must be a string, got {type(search).__name__}")
    if not layout.search:
        raise InvalidQuery(f"{layout.name}: this collection has no search fields")
    if "\x00" in search:
        raise InvalidQuery(f"{layout.name}: search text may not contain NUL (U+0000)")
    try:
        search.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuery(f"{layout.name}: search text contains a lone surrogate") from None
    return fold_ascii(search)


def resolve_query(layout: Layout, query: object) -> ResolvedQuery:
    """Validate ``query`` for ``layout``; raises :class:`InvalidQuery` naming the problem."""
    if not isinstance(query, Query):
        raise InvalidQuery(f"expected a Query, got {type(query).__name__}")
    conds = resolve_conds(layout, query.filters)
    search = resolve_search(layout, query.search)
    order: Column | None = None
    if query.order_by not in (None, "sid"):
        order = _indexed_column(layout, query.order_by, "order by")
    if not isinstance(query.descending, bool):
        raise InvalidQuery(f"descending must be true or false, got {query.descending!r}")
    _check_count(query.limit, "limit", allow_none=True)
    _check_count(query.offset, "offset", allow_none=False)
    rq = ResolvedQuery(layout.name, conds, search, order, query.descending, query.limit, query.offset, None)
    if query.cursor is None:
        return rq
    if query.offset:
        raise InvalidQuery("a query cannot have both a cursor and an offset")
    after = _cursor.decode(query.cursor, rq.fingerprint)
    _check_cursor_value(layout, order, after[0])
    return replace(rq, after=after)


def _check_cursor_value(layout: Layout, order: Column | None, value: object) -> None:
    """Reject a tampered cursor whose position value does not fit the ordering column."""
    if value is None:
        return
    ok = order is not None and (
        (order.kind in ("str", "enum") and isinstance(value, str))
        or (order.kind in ("int", "time") and isinstance(value, int) and not isinstance(value, bool))
        or (order.kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (order.kind == "bool" and isinstance(value, bool))
    )
    if not ok:
        raise InvalidQuery(f"{layout.name}: cursor is not a valid paging cursor for this ordering")


def resolve_aggregation(layout: Layout, agg: object) -> ResolvedAggregation:
    """Validate ``agg`` for ``layout``; raises :class:`InvalidQuery` naming the problem."""
    if not isinstance(agg, Aggregation):
        raise InvalidQuery(f"expected an Aggregation, got {type(agg).__name__}")
    for name in ("group_by", "metrics", "filters"):
        if not isinstance(getattr(agg, name), (list, tuple)):
            raise InvalidQuery(f"{layout.name}: {name} must be a list, got {type(getattr(agg, name)).__name__}")
    groups = []
    for g in agg.group_by:
        if isinstance(g, Day):
            column = _indexed_column(layout, g.field, "group by day of")
            if column.kind != "time":
                raise InvalidQuery(f"{layout.name}: Day() needs a time field; {g.field!r} is {column.kind}")
            groups.append(ResolvedGroup(column, True, g.key))
        else:
            column = _indexed_column(layout, g, "group by")
            groups.append(ResolvedGroup(column, False, column.field))
    metrics = []
    if not agg.metrics:
        raise InvalidQuery(f"{layout.name}: an aggregation needs at least one metric")
    for m in agg.metrics:
        if not isinstance(m, Metric) or m.op not in METRIC_OPS:
            raise InvalidQuery(
                f"{layout.name}: metrics must be Metric(op, field) with op one of {', '.join(METRIC_OPS)}, got {m!r}"
            )
        metric_column: Column | None = None
        q_scaled = 0
        if m.op == "percentile":
            if isinstance(m.q, bool) or not isinstance(m.q, (int, float)) or not 0 < m.q <= 1:
                raise InvalidQuery(f"{layout.name}: percentile needs 0 < q <= 1, got {m.q!r}")
            q_scaled = round(m.q * PERCENTILE_SCALE)
        elif m.q is not None:
            raise InvalidQuery(f"{layout.name}: only percentile metrics take q, not {m.op}")
        if m.field is not None or m.op != "count":
            if m.field not in layout.numeric:
                names = ", ".join(sorted(layout.numeric)) or "(none)"
                raise InvalidQuery(
                    f"{layout.name}: cannot compute {m.op} of {m.field!r}; numeric fields: {names}"
                )
            metric_column = layout.numeric[m.field]
        metrics.append(ResolvedMetric(m.op, metric_column, m.key, q_scaled))
    keys = [g.key for g in groups] + [m.key for m in metrics]
    if len(set(keys)) != len(keys):
        raise InvalidQuery(f"{layout.name}: aggregation output names collide: {keys}")
    order = None
    if agg.order_by is not None:
        metric_keys = [m.key for m in metrics]
        if agg.order_by not in metric_keys:
            raise InvalidQuery(
                f"{layout.name}: order_by must name a metric ({', '.join(metric_keys)}), got {agg.order_by!r}"
            )
        order = metric_keys.index(agg.order_by)
    if not isinstance(agg.descending, bool):
        raise InvalidQuery(f"descending must be true or false, got {agg.descending!r}")
    _check_count(agg.limit, "limit", allow_none=True)
    return ResolvedAggregation(
        tuple(groups),
        tuple(metrics),
        resolve_conds(layout, agg.filters),
        resolve_search(layout, agg.search),
        order,
        agg.descending,
        agg.limit,
    )
