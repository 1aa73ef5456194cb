"""Small constructors that keep expression building short and injection-free.

Names go through ``exp.to_identifier`` (quoted when needed) and values through ``exp.convert``;
user text never becomes SQL by string formatting.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

__all__ = ["col", "lit", "table"]


def col(name: str, table_name: str | None = None) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=table_name)


def lit(value: Any) -> exp.Expression:
    return exp.convert(value)


def table(name: str, alias: str | None = None) -> exp.Table:
    return exp.Table(
        this=exp.to_identifier(name, quoted=True),
        alias=exp.TableAlias(this=exp.to_identifier(alias)) if alias else None,
    )
