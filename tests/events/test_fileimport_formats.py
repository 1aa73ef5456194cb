"""Typed Parquet columns, CSV reading options, ids without an id column."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeylens import RecordError, Workspace

Writer = Callable[..., Path]


def events(ws: Workspace) -> list[dict[str, object]]:
    return ws.engine.rows("SELECT * FROM events ORDER BY ts, event_id")


def test_parquet_typed_columns_without_mapping(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    pq.write_table(
        pa.table(
            {
                "messageId": pa.array([1, 2, 3], pa.int64()),
                "event": ["page_viewed", "purchase", "purchase"],
                "userId": ["u1", "u1", "u2"],
                "timestamp": pa.array(
                    [
                        datetime(2026, 3, 28, 10, tzinfo=UTC),
                        datetime(2026, 3, 30, 10, tzinfo=UTC),
                        datetime(2026, 3, 30, 11, tzinfo=UTC),
                    ],
                    pa.timestamp("us", "UTC"),
                ),
                "revenue": pa.array([float("nan"), 19.99, None], pa.float64()),
                "currency": [None, "EUR", None],
                "quantity": pa.array([None, 2, 1], pa.int32()),
            }
        ),
        path,
    )
    report = workspace.import_file(path)
    assert (report.read, report.stored) == (3, 3)
    rows = events(workspace)
    assert [r["event_id"] for r in rows] == ["1", "2", "3"]
    assert [r["revenue"] for r in rows] == [None, Decimal("19.99"), None]  # NaN is empty
    assert rows[1]["ts"] == datetime(2026, 3, 30, 10)
    assert json.loads(str(rows[1]["properties"])) == {"quantity": 2}  # a number stays a number
    assert json.loads(str(rows[0]["properties"])) == {}
    assert {r["source"] for r in rows} == {"typed"}


def test_parquet_naive_and_date_columns_read_in_the_mapping_zone(
    workspace: Workspace, tmp_path: Path, write: Writer
) -> None:
    path = tmp_path / "visite.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["v1", "v2"],
                "giorno": pa.array([date(2026, 1, 15), date(2026, 7, 15)], pa.date32()),
                "cliente": ["c1", "c2"],
            }
        ),
        path,
    )
    mapping = write(
        "visite.yaml",
        "source: store\nevents:\n  event: store_visit\n  id: id\n"
        "  timestamp: {column: giorno, timezone: Europe/Rome}\n"
        "  user_id: cliente\n  channel: Store\n",
    )
    workspace.import_file(path, mapping)
    assert [r["ts"] for r in events(workspace)] == [
        datetime(2026, 1, 14, 23),
        datetime(2026, 7, 14, 22),
    ]
    assert {r["channel"] for r in events(workspace)} == {"Store"}


def test_parquet_bad_value_stops_with_its_row(
    workspace: Workspace, tmp_path: Path, write: Writer
) -> None:
    path = tmp_path / "o.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["a", "b", "c"],
                "quando": ["2026-01-01", "ieri", "2026-01-02"],
                "chi": ["x", "y", "z"],
            }
        ),
        path,
    )
    mapping = write(
        "o.yaml", "source: s\nevents: {event: e, id: id, timestamp: quando, user_id: chi}\n"
    )
    with pytest.raises(RecordError) as caught:
        workspace.import_file(path, mapping)
    assert caught.value.message == (
        "o.parquet row 2, quando: 'ieri' is not an ISO-8601 timestamp (e.g. 2026-11-22T10:15:00Z)"
    )
    assert events(workspace) == []


def test_csv_reading_options(workspace: Workspace, write: Writer) -> None:
    text = (
        "Esportazione ordini - marzo 2026\n"
        "\n"
        "n|data|cliente|importo|note\n"
        "1|2026-03-01 10:00|  c1  |1.234,50|n/d\n"
        "2|2026-03-01 11:00|c2|n/d|'con | pipe'\n"
    )
    data = write("ordini.txt", text)
    mapping = write(
        "o.yaml",
        """\
source: shop
file: {delimiter: "|", quote: "'", decimal: ",", thousands: ".", null_values: ["", "n/d"],
       skip_rows: 2}
events:
  event: purchase
  id: {template: "o-{n}"}
  timestamp: data
  user_id: cliente
  revenue: importo
  currency: EUR
  properties: {note: note}
""",
    )
    report = workspace.import_file(data, mapping)
    assert report.stored == 2
    rows = events(workspace)
    assert [(r["user_id"], r["revenue"]) for r in rows] == [("c1", Decimal("1234.5")), ("c2", None)]
    assert [json.loads(str(r["properties"])) for r in rows] == [{}, {"note": "con | pipe"}]


def test_without_an_id_the_row_content_is_the_id(workspace: Workspace, write: Writer) -> None:
    data = write(
        "e.csv",
        "event,user_id,ts\nx,u1,2026-03-01T10:00:00Z\ny,u1,2026-03-01T10:00:00Z\n"
        "x,u1,2026-03-01T10:00:00Z\n",
    )
    first = workspace.import_file(data)
    assert (first.stored, first.duplicates) == (2, 1)  # identical rows are one event
    again = workspace.import_file(data)
    assert (again.stored, again.duplicates) == (0, 3)
    ids = [r["event_id"] for r in events(workspace)]
    assert all(str(i).startswith("h-") and len(str(i)) == 34 for i in ids)


def test_rejected_row_with_too_many_fields_keeps_its_text(
    workspace: Workspace, write: Writer
) -> None:
    data = write("e.csv", "event,user_id,ts\nx,u1,2026-03-01T10:00:00Z\ny,u2,2026,03,01\n")
    report = workspace.import_file(data, on_error="rejects")
    assert report.stored == 1
    lines = Path(str(report.rejects_file)).read_text(encoding="utf-8").splitlines()
    assert lines == [
        "event,user_id,ts,error",
        'y,u2,"2026,03,01","e.csv row 2, (row): 5 fields where the header has 3 (check the '
        'delimiter and the quotes)"',
    ]
