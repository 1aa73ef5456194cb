"""The direct import path (rows from the file straight into ``events``) against the Arrow batch
path it replaced and against short pure-Python references: dedupe across parts and batches,
first row wins, trimming, suppressed people, rejects, progress."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from journeylens import Workspace
from journeylens.events import filereaders, tableimport
from journeylens.events.filereaders import SPACES, trim_text
from journeylens.events.mapsql import _Builder
from journeylens.events.tableimport import direct_parquet_ok
from journeylens.sql import render

Writer = Callable[..., Path]
COMPARED = "event_id, type, event, anonymous_id, user_id, ts, channel, source, revenue, properties"


def stored(ws: Workspace) -> list[dict[str, Any]]:
    return ws.engine.rows(f"SELECT {COMPARED} FROM events ORDER BY event_id")


def first_wins(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Reference dedupe: the first row of each id, in file order."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        out.setdefault(str(row["event_id"]), row)
    return out


def typed_table() -> pa.Table:
    """Every column type the direct path reads with DuckDB's reader, no id column (ids are a
    hash of the row's cells), a NaN, empty text and a repeated row."""
    ts = [datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC)]
    return pa.table(
        {
            "event": ["product_viewed", "purchase", "purchase", "purchase"],
            "userId": ["u1", "u2", "u2", ""],
            "anonymousId": pa.array(["a1", None, None, "a9"], pa.large_string()),
            "timestamp": pa.array([ts[0], ts[1], ts[1], ts[1]], pa.timestamp("us", "UTC")),
            "revenue": pa.array([float("nan"), 19.99, 19.99, 1.5], pa.float64()),
            "price": pa.array([Decimal("1.10"), None, None, Decimal("2.00")], pa.decimal128(9, 2)),
            "quantity": pa.array([1, 2, 2, None], pa.int16()),
            "gift": pa.array([True, False, False, None]),
            "day": pa.array([date(2026, 3, 1)] * 4, pa.date32()),
            "kind": pa.array(["a", "b", "b", "a"]).dictionary_encode(),
        }
    )


def test_direct_parquet_stores_what_the_batch_path_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "typed.parquet"
    pq.write_table(typed_table(), path)
    assert direct_parquet_ok(pq.ParquetFile(path).schema_arrow)
    results = {}
    for label, direct in (("direct", True), ("batches", False)):
        if not direct:
            monkeypatch.setattr(tableimport, "direct_parquet_ok", lambda schema: False)
        with _ws(tmp_path / label) as ws:
            report = ws.import_file(path)
            results[label] = (report.read, report.stored, report.duplicates, stored(ws))
    assert results["direct"] == results["batches"]
    read, kept, duplicates, rows = results["direct"]
    assert (read, kept, duplicates) == (4, 3, 1)  # rows 2 and 3 are the same event
    u2 = next(r for r in rows if r["user_id"] == "u2")
    assert json.loads(u2["properties"]) == {
        "quantity": 2,
        "gift": False,
        "day": "2026-03-01",
        "kind": "b",
    }
    assert (u2["revenue"], u2["ts"]) == (Decimal("19.99"), datetime(2026, 3, 2, 10))
    first = next(r for r in rows if r["user_id"] == "u1")
    assert first["ts"] == datetime(2026, 3, 1, 9, 30, 15, 123456)  # microseconds kept
    assert json.loads(first["properties"])["price"] == 1.1


def _ws(path: Path) -> Workspace:
    import journeylens

    return journeylens.create_workspace(path)


def _events_table(ids: list[str], names: list[str]) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "event_id": ids,
            "type": ["track"] * n,
            "event": names,
            "anonymous_id": [f"a{i % 3}" for i in range(n)],
            "ts": pa.array([datetime(2026, 1, 1, 0, i % 60) for i in range(n)], pa.timestamp("us")),
        }
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ids=st.lists(st.sampled_from(["e1", "e2", "e3", "e4", "e5", "e6"]), min_size=1, max_size=30))
def test_parquet_parts_keep_the_first_row_of_each_id(
    tmp_path_factory: pytest.TempPathFactory, ids: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("parts")
    names = [f"n{i}" for i in range(len(ids))]  # the row's position: which copy was kept
    path = folder / "events.parquet"
    pq.write_table(_events_table(ids, names), path, row_group_size=4)
    old = tableimport.PART_ROWS
    tableimport.PART_ROWS = 5  # parts of two row groups (8 rows)
    try:
        with _ws(folder / "ws") as ws:
            calls: list[tuple[int, int | None]] = []
            report = ws.import_file(path, progress=lambda d, t: calls.append((d, t)))
            rows = ws.engine.rows("SELECT event_id, event FROM events ORDER BY event_id")
            again = ws.import_file(path)
    finally:
        tableimport.PART_ROWS = old
    expected = first_wins([{"event_id": i, "event": n} for i, n in zip(ids, names, strict=True)])
    assert rows == [expected[k] for k in sorted(expected)]
    assert (report.read, report.stored, report.duplicates) == (
        len(ids),
        len(expected),
        len(ids) - len(expected),
    )
    repeated = {i for i in ids if ids.count(i) > 1}
    assert set(report.duplicate_ids) == repeated
    assert calls[-1] == (len(ids), len(ids))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert (again.stored, again.duplicates) == (0, len(ids))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ids=st.lists(st.sampled_from(["e1", "e2", "e3", "e4", "e5"]), min_size=1, max_size=25),
    bad=st.sets(st.integers(0, 24), max_size=4),
)
def test_csv_batches_keep_the_first_good_row_of_each_id(
    tmp_path_factory: pytest.TempPathFactory, ids: list[str], bad: set[int]
) -> None:
    """CSV read in many small batches; rows with a bad timestamp are rejected, and an id whose
    first row is bad is stored from its first good row."""
    folder = tmp_path_factory.mktemp("csv")
    lines = ["event_id,type,event,anonymous_id,ts"]
    good_rows = []
    for i, event_id in enumerate(ids):
        ts = "not a time" if i in bad else f"2026-01-01T00:{i:02d}:00Z"
        lines.append(f"  {event_id} ,track,n{i},a{i % 2},{ts}")
        if i not in bad:
            good_rows.append({"event_id": event_id, "event": f"n{i}"})
    path = folder / "events.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    old = tableimport.BATCH_ROWS, filereaders.CSV_BLOCK
    tableimport.BATCH_ROWS, filereaders.CSV_BLOCK = 3, 64  # tables of ~3 rows
    try:
        with _ws(folder / "ws") as ws:
            report = ws.import_file(path, on_error="skip")
            rows = ws.engine.rows("SELECT event_id, event FROM events ORDER BY event_id")
            again = ws.import_file(path, on_error="skip")
    finally:
        tableimport.BATCH_ROWS, filereaders.CSV_BLOCK = old
    expected = first_wins(good_rows)
    assert rows == [expected[k] for k in sorted(expected)]  # ids trimmed: "  e1 " is e1
    rejected = len([i for i in bad if i < len(ids)])
    assert (report.read, report.rejected) == (len(ids), rejected)
    assert (report.stored, report.duplicates) == (len(expected), len(good_rows) - len(expected))
    assert [e.row for e in report.errors] == sorted(i + 1 for i in bad if i < len(ids))
    assert (again.stored, again.duplicates) == (0, len(good_rows))


@given(st.lists(st.text(alphabet=SPACES + "\t\n\r\u2028\u200bab é", max_size=8), max_size=20))
def test_trim_text_removes_what_duckdb_trim_removes(values: list[str]) -> None:
    table = pa.table({"x": pa.array(values, pa.string()), "n": pa.array(range(len(values)))})
    ours = trim_text(table)["x"].to_pylist()
    theirs = [
        duckdb.execute("SELECT trim(?)", [v]).fetchone()[0]  # type: ignore[index]
        for v in values
    ]
    assert ours == theirs
    assert trim_text(table)["n"].to_pylist() == list(range(len(values)))


def test_direct_parquet_is_not_used_for_types_duckdb_reads_differently() -> None:
    assert not direct_parquet_ok(pa.schema([("t", pa.timestamp("ns"))]))
    assert not direct_parquet_ok(pa.schema([("b", pa.binary())]))
    assert not direct_parquet_ok(pa.schema([("l", pa.list_(pa.int32()))]))
    assert not direct_parquet_ok(pa.schema([("file_row_number", pa.int64())]))
    assert direct_parquet_ok(pa.schema([("s", pa.string()), ("t", pa.timestamp("us", "UTC"))]))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_suppressed_people_are_not_stored_from_a_file(tmp_path: Path, suffix: str) -> None:
    table = _events_table(["e1", "e2", "e3"], ["x", "y", "z"])
    table = table.set_column(3, "anonymous_id", pa.array(["a-keep", "a-gone", "a-keep"]))
    path = tmp_path / f"events{suffix}"
    if suffix == ".csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    with _ws(tmp_path / "ws") as ws:
        ws.privacy.suppress("a-gone")
        report = ws.import_file(path)
        ids = [r["event_id"] for r in ws.engine.rows("SELECT event_id FROM events ORDER BY 1")]
    assert ids == ["e1", "e3"]
    assert (report.read, report.stored) == (3, 2)


def test_rejects_after_a_row_with_too_many_fields_are_the_right_rows(
    workspace: Workspace, write: Writer
) -> None:
    data = write(
        "events.csv",
        "event_id,type,event,anonymous_id,ts\n"
        "e1,track,x,a1,2026-01-01T00:00:00Z\n"
        "e2,track,x,a1,2026-01-01T00:00:00Z,extra\n"
        "e3,track,x,a1,2026-01-01T00:00:00Z\n"
        "e4,track,x,a1,yesterday\n"
        "e5,track,x,a1,2026-01-01T00:00:00Z\n",
    )
    report = workspace.import_file(data, on_error="rejects")
    assert (report.read, report.stored, report.rejected) == (5, 3, 2)
    with open(str(report.rejects_file), encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "event_id"
    cells = sorted(r[:5] for r in rows[1:])  # the rows as read: the bad time is e4's, not e5's
    assert cells == [
        ["e2", "track", "x", "a1", "2026-01-01T00:00:00Z,extra"],
        ["e4", "track", "x", "a1", "yesterday"],
    ]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.none() | st.text(max_size=6),
            st.none() | st.integers(-(2**63), 2**63 - 1),
            st.none() | st.floats(allow_nan=True, allow_infinity=True),
            st.none() | st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    names=st.lists(st.text(min_size=1, max_size=4), min_size=4, max_size=4, unique=True),
)
def test_flat_json_object_is_the_text_json_object_gives(
    rows: list[tuple[Any, ...]], names: list[str]
) -> None:
    """The properties object written out with concat_ws is the text DuckDB's
    json_strip_nulls(json_object(...)) gives, for text (quotes, control characters), integers,
    floats (NaN, infinities), booleans and NULLs, with any key."""
    table = pa.table(
        {
            "s": pa.array([r[0] for r in rows], pa.string()),
            "i": pa.array([r[1] for r in rows], pa.int64()),
            "f": pa.array([r[2] for r in rows], pa.float64()),
            "b": pa.array([r[3] for r in rows], pa.bool_()),
        }
    )
    columns = ["s", "i", "f", "b"]
    ours = _Builder.flat_object(
        {name: exp.column(c) for name, c in zip(names, columns, strict=True)}
    )
    pairs = ", ".join(f"?, {c}" for c in columns)
    con = duckdb.connect()
    con.register("t", table)
    theirs = con.execute(
        f"SELECT CAST(json_strip_nulls(json_object({pairs})) AS VARCHAR) AS j FROM t", names
    ).fetchall()
    got = con.execute(f"SELECT {render(ours, 'duckdb')} AS j FROM t").fetchall()
    assert got == theirs
