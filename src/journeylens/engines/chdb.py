"""ClickHouse in-process (chDB): the same analyses on the engine event-analytics products run on.

Optional (``pip install journeylens[clickhouse]``). Used in the tests to show that the compiled
SQL gives identical results on ClickHouse; a ClickHouse server engine will share its dialect.

Every column is created ``Nullable``: ClickHouse otherwise returns type defaults ('' or
1970-01-01) where other engines return NULL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from sqlglot import exp

from journeylens.errors import UnsupportedError
from journeylens.sql import render

__all__ = ["ChDBEngine"]

_TYPES = {
    pa.string(): "String",
    pa.large_string(): "String",
    pa.int32(): "Int32",
    pa.int64(): "Int64",
    pa.float64(): "Float64",
    pa.bool_(): "Bool",
    pa.date32(): "Date",
}


def _clickhouse_type(arrow: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow):
        return "DateTime64(6, 'UTC')"
    if pa.types.is_decimal(arrow):
        return f"Decimal({arrow.precision}, {arrow.scale})"
    if arrow in _TYPES:
        return _TYPES[arrow]
    raise UnsupportedError(f"no ClickHouse column type for Arrow {arrow}", engine="clickhouse")


class ChDBEngine:
    dialect = "clickhouse"

    def __init__(self) -> None:
        try:
            from chdb import session
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise UnsupportedError(
                "the ClickHouse engine needs chdb: pip install 'journeylens[clickhouse]'",
                engine="clickhouse",
            ) from exc
        self._session = session.Session()
        self._session.query("SET session_timezone = 'UTC'")
        # outer joins give NULL for a missing row, as on every other engine (not 0 or '')
        self._session.query("SET join_use_nulls = 1")

    def _sql(self, statement: exp.Expression | str) -> str:
        return statement if isinstance(statement, str) else render(statement, "clickhouse")

    def execute(self, statement: exp.Expression | str, params: list[Any] | None = None) -> None:
        if params:
            raise UnsupportedError("bound parameters", engine="clickhouse", feature="params")
        self._session.query(self._sql(statement))

    def arrow(self, query: exp.Expression | str, params: list[Any] | None = None) -> pa.Table:
        if params:
            raise UnsupportedError("bound parameters", engine="clickhouse", feature="params")
        result = self._session.query(self._sql(query), "ArrowTable")
        return result if isinstance(result, pa.Table) else pa.table({})

    def batches(self, query: exp.Expression | str, rows: int = 1 << 20) -> Iterator[pa.RecordBatch]:
        yield from self.arrow(query).to_batches(rows)

    def rows(
        self, query: exp.Expression | str, params: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        return self.arrow(query, params).to_pylist()

    def scalar(self, query: exp.Expression | str, params: list[Any] | None = None) -> Any:
        rows = self.arrow(query, params).to_pylist()
        return next(iter(rows[0].values())) if rows else None

    def load(self, name: str, data: pa.Table, order_by: tuple[str, ...] = ()) -> None:
        """Create (replace) table ``name`` from Arrow data, every column Nullable."""
        columns = ", ".join(f"`{f.name}` Nullable({_clickhouse_type(f.type)})" for f in data.schema)
        order = ", ".join(f"assumeNotNull(`{c}`)" for c in order_by) or "tuple()"
        self._session.query(f"DROP TABLE IF EXISTS `{name}`")
        self._session.query(
            f"CREATE TABLE `{name}` ({columns}) ENGINE = MergeTree "
            f"ORDER BY ({order}) SETTINGS allow_nullable_key = 1"
        )
        if data.num_rows:
            frame = data  # noqa: F841 - read by the Python() table function below
            self._session.query(f"INSERT INTO `{name}` SELECT * FROM Python(frame)")

    @contextmanager
    def registered(self, name: str, data: pa.Table) -> Iterator[None]:
        self.load(name, data)
        try:
            yield
        finally:
            self._session.query(f"DROP TABLE IF EXISTS `{name}`")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        raise UnsupportedError("transactions", engine="clickhouse", feature="transaction")
        yield  # pragma: no cover

    def table_exists(self, name: str) -> bool:
        return bool(
            self.scalar(
                f"SELECT count() FROM system.tables WHERE database = "
                f"currentDatabase() AND name = '{name.replace(chr(39), '')}'"
            )
        )

    def close(self) -> None:
        self._session.close()
