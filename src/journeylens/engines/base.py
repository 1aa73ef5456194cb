"""The interface every engine offers to the rest of journeylens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import pyarrow as pa
from sqlglot import exp

__all__ = ["Engine"]


class Engine(Protocol):
    dialect: str

    def execute(self, statement: exp.Expression | str, params: list[Any] | None = None) -> None:
        """Run a statement for its effect."""

    def arrow(self, query: exp.Expression | str, params: list[Any] | None = None) -> pa.Table:
        """Run a query; the result as an Arrow table (columns read by name)."""

    def batches(self, query: exp.Expression | str, rows: int = 1 << 20) -> Iterator[pa.RecordBatch]:
        """Run a query; its result in record batches of about ``rows`` rows, as they come
        (the engine is busy until the iteration ends)."""

    def rows(
        self, query: exp.Expression | str, params: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a query; the result as a list of dicts keyed by column name."""

    def scalar(self, query: exp.Expression | str, params: list[Any] | None = None) -> Any:
        """Run a query that returns one value."""

    def registered(self, name: str, data: pa.Table) -> AbstractContextManager[None]:
        """Make an Arrow table readable as ``name`` for the duration of the block."""

    def transaction(self) -> AbstractContextManager[None]:
        """All statements in the block land together or not at all."""

    def table_exists(self, name: str) -> bool: ...

    def close(self) -> None: ...
