"""The engines' differences, as data: one row per dialect.

Analyses never branch on the engine; where a piece of SQL differs, it is looked up here by the
engine's dialect name. A feature an engine lacks is listed in ``unsupported`` and raises
:class:`~journeylens.errors.UnsupportedError` before any SQL runs.
"""

from __future__ import annotations

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

    def require(self, feature: str) -> None:
        if feature in self.unsupported:
            raise UnsupportedError(
                f"the {self.name} engine cannot do {feature}", engine=self.name, feature=feature
            )


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect(name="duckdb", json_type="JSON"),
    "clickhouse": Dialect(name="clickhouse", json_type="String"),
    "spark": Dialect(name="spark", json_type="STRING"),
}


def render(expression: exp.Expression, dialect: str) -> str:
    """SQL text of ``expression`` for ``dialect`` (a key of :data:`DIALECTS`)."""
    if dialect not in DIALECTS:
        raise UnsupportedError(f"unknown engine dialect {dialect!r}", engine=dialect)
    return expression.sql(dialect=dialect)
