"""Printing results as a table (Rich), JSON or CSV — the same data in every format."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from journeylens.errors import ConfigError

__all__ = [
    "FigureOption",
    "Format",
    "FormatOption",
    "emit",
    "emit_record",
    "jsonable",
    "parse_moment",
    "write_figure",
]


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
"""The ``--format`` option every command that prints results takes."""
FigureOption = Annotated[
    Path | None,
    typer.Option("--figure", help="Also write the chart to this HTML file (works offline)."),
]
"""The ``--figure`` option of every command that draws a chart."""


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(jsonable(value), ensure_ascii=False)
    return str(value)


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: Format,
    *,
    title: str | None = None,
    console: Console | None = None,
) -> None:
    """Print a list of records (same keys) in the chosen format."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(jsonable(list(rows)), ensure_ascii=False, indent=2) + "\n")
        return
    columns = list(rows[0].keys()) if rows else []
    if fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    (console or Console()).print(table if rows else f"[dim]{title or 'nothing'}: no rows[/dim]")


def emit_record(record: Mapping[str, Any], fmt: Format, *, title: str | None = None) -> None:
    """Print one record: as key/value rows in a table or CSV, as an object in JSON."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(jsonable(record), ensure_ascii=False, indent=2) + "\n")
        return
    emit([{"field": k, "value": v} for k, v in record.items()], fmt, title=title)


def parse_moment(text: str | None, zone: str, *, end_of_day: bool) -> datetime | None:
    """A date (its end, or its start) or a date-time, in the reporting time zone → naive UTC."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            local = datetime.combine(day + timedelta(days=1) if end_of_day else day, time(0))
        else:
            local = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM)"
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def write_figure(figure: Any, path: Path | None) -> None:
    """Write a Plotly figure to an HTML file with plotly.js inside (it works offline)."""
    if path is not None:
        figure.write_html(str(path), include_plotlyjs=True, full_html=True)
        Console(stderr=True).print(f"chart written to {path}")
