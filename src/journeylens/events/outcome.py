"""What an import did so far (counts, errors, sources), and the rows it holds for the store
when they go through Arrow (JSON lines; files while someone is suppressed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.errors import RecordError
from journeylens.events.report import OnError
from journeylens.events.store import AppendResult, append_events

__all__ = ["FLUSH_ROWS", "MAX_ERRORS", "Outcome", "Progress", "flush", "hold", "stage"]

Progress = Callable[[int, int | None], None]
"""Called as ``progress(rows_done, rows_total_or_None)`` while a file is read."""

MAX_ERRORS: Final = 1000
FLUSH_ROWS: Final = 4_000_000
"""Rows that go through Arrow (JSON lines; files while someone is suppressed) are handed to
the store in chunks of about this many (bounded memory)."""


@dataclass
class Outcome:
    """What an import did so far; turned into the WriteReport at the end."""

    read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RecordError] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    pending: list[pa.Table] = field(default_factory=list)
    pending_rows: int = 0

    def add(self, result: AppendResult) -> None:
        self.stored += result.stored
        self.duplicates += result.duplicates
        merged = dict.fromkeys(self.duplicate_ids + result.duplicate_ids)
        self.duplicate_ids = list(merged)[:100]

    def record(self, errors: list[RecordError], count: int, on_error: OnError) -> None:
        """Note ``count`` bad rows (``errors``: the first of them, in row order)."""
        if not count:
            return
        if on_error == "stop":
            raise errors[0]
        self.rejected += count
        self.errors += errors[: max(MAX_ERRORS - len(self.errors), 0)]


def flush(engine: Engine, config: WorkspaceConfig, outcome: Outcome) -> None:
    if outcome.pending:
        batch = pa.concat_tables(outcome.pending)
        outcome.pending, outcome.pending_rows = [], 0
        outcome.add(append_events(engine, batch, config.channel_rules))


def stage(
    engine: Engine, config: WorkspaceConfig, outcome: Outcome, good: pa.Table, default_party: str
) -> None:
    if good.num_rows == 0:
        return
    for source in pc.unique(good["source"]).to_pylist():
        outcome.sources.setdefault(source, default_party)
    hold(engine, config, outcome, good)


def hold(engine: Engine, config: WorkspaceConfig, outcome: Outcome, table: pa.Table) -> None:
    """Keep good rows until FLUSH_ROWS of them are waiting, then store them."""
    outcome.pending.append(table)
    outcome.pending_rows += table.num_rows
    if outcome.pending_rows >= FLUSH_ROWS:
        flush(engine, config, outcome)
