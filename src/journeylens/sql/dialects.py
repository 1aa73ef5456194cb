"""The engines' differences, as data: one row per dialect.

Analyses never branch on the engine; where a piece of SQL differs, it is looked up here by the
engine's dialect name. A feature an engine lacks is listed in ``unsupported`` and raises
:class:`~journeylens.errors.UnsupportedError` before any SQL runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from journeylens.errors import UnsupportedError

__all__ = ["DIALECTS", "Dialect", "render"]


@dataclass(frozen=True)
class Dialect:
    name: str
    """sqlglot dialect name."""
    json_type: str
    """Column type used for JSON text."""
    unsupported: frozenset[str] = field(default_factory=frozenset)
    rewrites: dict[type[exp.Expression], Callable[[exp.Expression], exp.Expression]] = field(
        default_factory=dict
    )
    """Expression kinds this engine spells differently, and how to spell them."""

    def require(self, feature: str) -> None:
        if feature in self.unsupported:
            raise UnsupportedError(
                f"the {self.name} engine cannot do {feature}", engine=self.name, feature=feature
            )


def _without(node: exp.Expression, arg: str) -> exp.Expression:
    node.set(arg, None)
    return node


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _ordered_array_agg(node: exp.Expression) -> exp.Expression:
    """``ARRAY_AGG(v ORDER BY k, …)``: ClickHouse has no ordered aggregates (groupArray keeps
    arrival order), so (k…, v) tuples are collected, sorted and their last element kept."""
    inner = node.this
    if not isinstance(inner, exp.Order):
        return node
    if any(o.args.get("desc") for o in inner.expressions):
        raise UnsupportedError("descending ARRAY_AGG order", engine="clickhouse")
    pairs = exp.Tuple(expressions=[*(o.this for o in inner.expressions), inner.this])
    last = _call("tupleElement", exp.column("x"), exp.Literal.number(len(inner.expressions) + 1))
    element = exp.Lambda(this=last, expressions=[exp.to_identifier("x")])
    return _call("arrayMap", element, _call("arraySort", _call("groupArray", pairs)))


_CLICKHOUSE_REWRITES: dict[type[exp.Expression], Callable[[exp.Expression], exp.Expression]] = {
    # epoch microseconds of a DateTime64
    exp.UnixMicros: lambda e: _call("toUnixTimestamp64Micro", e.this),
    # ClickHouse always inlines CTEs and has no MATERIALIZED hint
    exp.CTE: lambda e: _without(e, "materialized"),
    # integer division that stays integer
    exp.IntDiv: lambda e: _call("intDiv", e.this, e.expression),
    # exact median, interpolated between the two middle values as elsewhere (median() is
    # approximate on ClickHouse)
    exp.Median: lambda e: exp.ParameterizedAgg(
        this="quantileExactInclusive", expressions=[exp.Literal.number(0.5)], params=[e.this]
    ),
    # an ordered list aggregate (a path in time order)
    exp.ArrayAgg: _ordered_array_agg,
    # a failed cast is NULL, as TRY_CAST elsewhere
    exp.TryCast: lambda e: _call(
        "accurateCastOrNull",
        e.this,
        exp.Literal.string(
            e.to.sql(dialect="clickhouse").removeprefix("Nullable(").removesuffix(")")
        ),
    ),
    # JSON scalars as text, numbers included (JSONExtractString gives '' for a number);
    # a missing key is NULL as elsewhere (ClickHouse gives '')
    exp.JSONExtractScalar: lambda e: _call(
        "nullIf", _call("JSON_VALUE", e.this, e.expression), exp.Literal.string("")
    ),
}

DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect(name="duckdb", json_type="JSON"),
    "clickhouse": Dialect(name="clickhouse", json_type="String", rewrites=_CLICKHOUSE_REWRITES),
    "spark": Dialect(name="spark", json_type="STRING"),
}


def render(expression: exp.Expression, dialect: str) -> str:
    """SQL text of ``expression`` for ``dialect`` (a key of :data:`DIALECTS`)."""
    if dialect not in DIALECTS:
        raise UnsupportedError(f"unknown engine dialect {dialect!r}", engine=dialect)
    rewrites = DIALECTS[dialect].rewrites
    if rewrites:
        expression = expression.copy()
        # children first, so that a rewritten parent holds rewritten children
        for node in reversed(list(expression.walk(bfs=False))):
            rewrite = rewrites.get(type(node))
            if rewrite is not None:
                replacement = rewrite(node)
                if node is expression:
                    expression = replacement
                else:
                    node.replace(replacement)
    return expression.sql(dialect=dialect)
