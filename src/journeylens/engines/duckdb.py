"""The embedded default engine: DuckDB, in-process, one database file in the workspace folder.

One process may hold the file for writing; a second process gets a :class:`StorageError` that
says so (DuckDB's own lock), instead of a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from journeylens.errors import StorageError
from journeylens.sql import render

__all__ = ["DuckDBEngine"]


class DuckDBEngine:
    """A DuckDB connection with journeylens' session settings applied.

    Sessions always run in UTC: stored timestamps are UTC and reporting-zone conversions are
    written out in the SQL that needs them (``timezone(...)``), never left to a session default.
    """

    dialect = "duckdb"

    def __init__(
        self,
        path: Path | None,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = path
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        try:
            self._con = duckdb.connect(
                str(path) if path else ":memory:", read_only=read_only, config=config
            )
        except duckdb.IOException as exc:
            raise StorageError(
                f"cannot open the event store {path}: {exc}. Another journeylens process "
                "(a server or an import) may hold it; stop it or use the HTTP API.",
                path=str(path),
            ) from exc
        self._con.execute("SET TimeZone = 'UTC'").fetchall()
        self._lock = threading.RLock()

    @staticmethod
    def _sql(statement: exp.Expression | str) -> str:
        return statement if isinstance(statement, str) else render(statement, "duckdb")

    def execute(self, statement: exp.Expression | str, params: list[Any] | None = None) -> None:
        with self._lock:
            self._con.execute(self._sql(statement), params).fetchall()

    def arrow(self, query: exp.Expression | str, params: list[Any] | None = None) -> pa.Table:
        with self._lock:
            relation = self._con.sql(self._sql(query), params=params)
            if relation is None:  # a statement that returns nothing
                return pa.table({})
            # DuckDB 2 names it to_arrow_table; 1.x fetch_arrow_table
            fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
            return fetch()

    def batches(self, query: exp.Expression | str, rows: int = 1 << 20) -> Iterator[pa.RecordBatch]:
        with self._lock:
            reader = self._con.sql(self._sql(query)).to_arrow_reader(rows)
            yield from reader

    def rows(
        self, query: exp.Expression | str, params: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._con.execute(self._sql(query), params)
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, query: exp.Expression | str, params: list[Any] | None = None) -> Any:
        with self._lock:
            rows = self._con.execute(self._sql(query), params).fetchall()
            return rows[0][0] if rows else None

    @contextmanager
    def registered(self, name: str, data: pa.Table) -> Iterator[None]:
        with self._lock:
            self._con.register(name, data)
            try:
                yield
            finally:
                self._con.unregister(name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._con.execute("BEGIN TRANSACTION").fetchall()
            try:
                yield
            except BaseException:
                self._con.execute("ROLLBACK").fetchall()
                raise
            self._con.execute("COMMIT").fetchall()

    def table_exists(self, name: str) -> bool:
        return bool(
            self.scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            )
        )

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw connection, for engine-level code (readers of files) only."""
        return self._con

    def close(self) -> None:
        with self._lock:
            self._con.close()
