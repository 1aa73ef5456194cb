"""Walk every table and view of a store looking for text: the proof that nothing is left."""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

from journeylens import Workspace


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def relations(ws: Workspace) -> dict[str, list[str]]:
    """Every table and view of the store (any schema, temporary ones excluded) → columns."""
    rows = ws.engine.rows(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() ORDER BY table_schema, table_name, "
        "ordinal_position"
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(f"{_q(row['table_schema'])}.{_q(row['table_name'])}", []).append(
            row["column_name"]
        )
    return out


def find(ws: Workspace, markers: Iterable[str], *, skip: Iterable[str] = ()) -> dict[str, set[str]]:
    """marker → the ``table.column`` places whose text contains it (case-insensitive)."""
    needles = sorted({m.lower() for m in markers})
    skipped = {f'"main"."{t}"' for t in skip}
    found: dict[str, set[str]] = {}
    for relation, columns in relations(ws).items():
        if relation in skipped:
            continue
        for column in columns:
            hits = ws.engine.scalar(
                "SELECT list_distinct(flatten(list(list_filter(?::VARCHAR[], "
                f"lambda m: contains(lower(CAST({_q(column)} AS VARCHAR)), m))))) FROM {relation}",
                [needles],
            )
            for marker in hits or []:
                found.setdefault(marker, set()).add(f"{relation}.{column}")
    return found
