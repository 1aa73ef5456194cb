"""DDL expressions built from the canonical column lists in :mod:`journeylens.schema`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

from journeylens.schema import Column

__all__ = ["create_table"]


def create_table(name: str, columns: Iterable[Column], *, replace: bool = False) -> exp.Create:
    """``CREATE TABLE [IF NOT EXISTS] name (...)`` for the given canonical columns."""
    defs = []
    for column in columns:
        constraints = (
            [] if column.nullable else [exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())]
        )
        defs.append(
            exp.ColumnDef(
                this=exp.to_identifier(column.name, quoted=True),
                kind=exp.DataType.build(column.sql, dialect="duckdb"),
                constraints=constraints,
            )
        )
    schema = exp.Schema(this=exp.to_table(name), expressions=defs)
    return exp.Create(this=schema, kind="TABLE", exists=not replace, replace=replace)
