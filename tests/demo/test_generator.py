"""Determinism, batches, the library API (build_demo, write_parquet) and its errors."""

from __future__ import annotations

import doctest
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import journeylens.demo
from journeylens import ConfigError, open_workspace
from journeylens.demo import build_demo, generate_events, write_parquet
from journeylens.demo import columns as demo_columns
from journeylens.demo import generator as demo_generator
from journeylens.demo.catalogue import SOURCES
from journeylens.demo.patterns import SEGMENTS
from journeylens.schema import EVENT_SCHEMA


def _all(customers: int, seed: int, **kw: object) -> pa.Table:
    return pa.concat_tables(generate_events(customers, seed=seed, **kw))  # type: ignore[arg-type]


def test_same_seed_same_events_other_seed_other_events() -> None:
    first, again, other = _all(150, 3), _all(150, 3), _all(150, 4)
    assert first.equals(again)
    assert first.num_rows != other.num_rows or not first.equals(other)
    shared = set(first["properties"].to_pylist()) & set(other["properties"].to_pylist())
    assert len(shared) < 0.5 * first.num_rows


def test_staged_and_designed_tables_have_the_store_schemas() -> None:
    staged = next(generate_events(40, seed=1))
    designed = next(generate_events(40, seed=1, designed_channel=True))
    assert designed.schema.equals(EVENT_SCHEMA)
    assert staged.column_names == [
        "explicit_channel" if n == "channel" else n for n in EVENT_SCHEMA.names
    ]
    assert staged.drop_columns(["explicit_channel"]).equals(designed.drop_columns(["channel"]))
    explicit = staged["explicit_channel"].drop_null().to_pylist()
    assert set(explicit) <= {"Store", "Phone", "Event", "Mail", "Chat", "Email"}


def test_batches_are_independent_and_ids_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_generator, "CUSTOMERS_PER_BATCH", 60)
    tables = list(generate_events(150, seed=2))
    assert len(tables) == 3
    ids = pa.concat_tables(tables)["event_id"]
    assert len(ids.unique()) == len(ids)
    assert [t["event_id"][0].as_py().split("-")[2] for t in tables] == ["0", "1", "2"]
    # A later batch does not depend on the total nor on the batches before it.
    skipped = list(generate_events(300, seed=2, first_batch=1))
    assert skipped[0].equals(tables[1])


@pytest.mark.slow
def test_worker_processes_give_the_same_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slow: starting two processes costs a few seconds on a busy machine."""
    monkeypatch.setattr(demo_generator, "CUSTOMERS_PER_BATCH", 60)
    sequential = list(generate_events(150, seed=2))
    parallel = list(generate_events(150, seed=2, workers=2))
    assert len(parallel) == 3
    assert all(a.equals(b) for a, b in zip(parallel, sequential, strict=True))
    with pytest.raises(ConfigError):
        next(generate_events(10, workers=0))


def test_rows_are_ordered_by_person_then_time() -> None:
    table = next(generate_events(80, seed=9))
    ts = table["ts"].to_pylist()
    ids = table["event_id"].to_pylist()
    assert ids == sorted(ids, key=lambda i: int(i.rsplit("-", 1)[1]))
    assert sum(1 for a, b in itertools.pairwise(ts) if b < a) < 80


def test_build_demo_creates_a_documented_workspace(tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    ws = build_demo(
        tmp_path / "demo", customers=120, seed=5, progress=lambda d, t: calls.append((d, t))
    )
    with ws:
        assert (ws.config.name, ws.config.timezone, ws.config.currency) == (
            "demo",
            "Europe/Rome",
            "EUR",
        )
        sources = {s["source"]: s for s in ws.sources()}
        assert set(sources) == {s.name for s in SOURCES}
        assert all(
            sources[s.name]["kind"] == s.kind and sources[s.name]["description"] for s in SOURCES
        )
        stored = ws.summary().events
        ledger = ws.engine.rows(
            "SELECT import_id, kind, rows_read, stored, duplicates FROM imports"
        )
        run = ledger[0]["import_id"]
        assert run.startswith("demo-")
        assert ledger == [
            {"import_id": run, "kind": "demo", "rows_read": stored, "stored": stored,
             "duplicates": 0}
        ]  # fmt: skip
        assert ws.engine.rows("SELECT DISTINCT import_id FROM events") == [{"import_id": run}]
        assert (
            not ws.engine.table_exists("profiles")
            or ws.engine.scalar("SELECT count(*) FROM profiles") == 0
        ), "identity resolution is left to the caller"
    assert calls[0] == (0, 120) and calls[-1] == (120, 120)
    with pytest.raises(ConfigError):
        build_demo(tmp_path / "demo", customers=10)
    again = build_demo(tmp_path / "demo", customers=120, seed=5, exist_ok=True)
    with again:
        assert again.summary().events == stored
        assert (
            again.engine.scalar("SELECT duplicates FROM imports ORDER BY finished_at DESC LIMIT 1")
            == stored
        )
    with open_workspace(tmp_path / "demo") as reopened:
        assert reopened.summary().events == stored


def test_write_parquet_writes_exactly_the_events(tmp_path: Path) -> None:
    paths = write_parquet(
        tmp_path / "pq", events=5_000, seed=4, rows_per_file=2_000, channel="designed"
    )
    tables = [pq.read_table(p) for p in paths]
    assert [t.num_rows for t in tables] == [2_000, 2_000, 1_000] or sum(
        t.num_rows for t in tables
    ) == 5_000
    assert all(t.schema.equals(EVENT_SCHEMA) for t in tables)
    explicit = write_parquet(tmp_path / "pq2", events=5_000, seed=4)
    table = pq.read_table(explicit[0])
    assert len(explicit) == 1 and table.num_rows == 5_000
    assert "explicit_channel" in table.column_names
    designed = pa.concat_tables(tables)
    assert table.drop_columns(["explicit_channel"]).equals(designed.drop_columns(["channel"]))
    assert pq.read_metadata(explicit[0]).num_rows == 5_000
    small = write_parquet(tmp_path / "pq3", events=777, seed=4)
    assert pq.read_table(small[0]).num_rows == 777


@pytest.mark.parametrize("kwargs", [{"events": 0}, {"events": 10, "channel": "both"}])
def test_write_parquet_rejects_bad_arguments(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        write_parquet(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_generate_rejects_no_customers() -> None:
    with pytest.raises(ConfigError) as info:
        next(generate_events(0))
    assert info.value.field == "customers"


@pytest.mark.parametrize("module", [journeylens.demo, demo_columns, demo_generator])
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


def test_truth_columns_name_each_rows_person_and_group() -> None:
    plain = pa.concat_tables(generate_events(400, seed=6))
    table = pa.concat_tables(generate_events(400, seed=6, truth=True))
    assert table.drop_columns(["demo_person", "demo_group"]).equals(plain)
    assert set(table["demo_group"].unique().to_pylist()) == {s.key for s in SEGMENTS}
    persons = table["demo_person"].unique().to_pylist()
    assert 300 < len(persons) <= 400 and min(persons) >= 0 and max(persons) < 400
    for column in ("user_id", "anonymous_id"):
        owners = (
            table.filter(pc.is_valid(table[column]))
            .group_by(column)
            .aggregate([("demo_person", "count_distinct")])
        )
        assert pc.max(owners["demo_person_count_distinct"]).as_py() == 1, column
    # The shop's own address on receipts is shared by many people (the trap).
    shared = table.filter(pc.match_substring(table["traits"].fill_null(""), "negozio@"))
    assert len(shared["demo_person"].unique()) > 3
