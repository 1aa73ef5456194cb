"""File import: CSV, Parquet and JSON lines, with an optional column-mapping file.

(Being written; see the brief in the issue.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.events.report import OnError, WriteReport

__all__ = ["import_file"]

Progress = Callable[[int, int | None], None]
"""Called as ``progress(rows_done, rows_total_or_None)`` while a file is read."""


def import_file(
    engine: Engine,
    config: WorkspaceConfig,
    path: str | Path,
    mapping: str | Path | None = None,
    *,
    on_error: OnError = "stop",
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> WriteReport:
    raise NotImplementedError
