"""CSV and Parquet files into events: the mapping's SELECT over the file's rows, checked, then
stored straight from SQL (:func:`journeylens.events.store.append_select`).

* Parquet without a bad row is read by DuckDB's own reader, in parts of whole row groups.
* Otherwise (CSV; Parquet with a bad row or with column types DuckDB might read differently
  from pyarrow) pyarrow reads the file in batches, a thread ahead; each batch is registered,
  surveyed (bad rows, channel inputs), its bad rows reported (and written to the rejects
  file), its good rows stored.
* While someone is suppressed, the rows go through Arrow and
  :func:`~journeylens.events.store.append_events` (which drops them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.errors import InputError, RecordError
from journeylens.events.filereaders import (
    ParquetReader,
    RejectsWriter,
    TableReader,
    open_table,
    read_ahead,
    trim_text,
)
from journeylens.events.mapping import Mapping, canonical_mapping, ensure_columns
from journeylens.events.mapsql import INPUT, Compiled, compile_mapping
from journeylens.events.outcome import MAX_ERRORS, Outcome, Progress, stage
from journeylens.events.report import OnError
from journeylens.events.store import ImportIds, append_select, suppression_active, survey
from journeylens.sql import render

__all__ = ["BATCH_ROWS", "PART_ROWS", "direct_parquet_ok", "import_table", "read_parquet_sql"]

BATCH_ROWS: Final = 1_000_000
"""CSV batches are joined into tables of at least this many rows before they are checked and
stored (each table costs a look-up of its ids among the stored events)."""
PART_ROWS: Final = 2_000_000
"""A Parquet file without bad rows goes into ``events`` in parts of whole row groups of at
least this many rows (the progress bar moves after each)."""


def import_table(
    engine: Engine,
    config: WorkspaceConfig,
    file: Path,
    fmt: str,
    mapping: Mapping | None,
    import_id: str,
    on_error: OnError,
    rejects: RejectsWriter | None,
    progress: Progress | None,
    outcome: Outcome,
) -> Mapping:
    reader: TableReader = open_table(file, fmt, mapping.file if mapping else None)
    with contextlib.ExitStack() as stack:
        stack.enter_context(reader)
        names = reader.schema.names
        used = (
            mapping
            if mapping is not None
            else canonical_mapping(names, file_name=file.name, source=file.stem)
        )
        if not used.has_events:
            raise InputError(
                f"{used.name}: this mapping is for JSON lines; {file.name} is {fmt}", file=str(file)
            )
        ensure_columns(used, names, file.name)
        # CSV cells are trimmed by the read-ahead thread, unless the event id is a hash of the
        # row (the hash reads the cells as they are in the file)
        pretrim = fmt == "csv" and used.id is not None
        compiled = compile_mapping(
            used,
            reader.schema.append(pa.field("_row", pa.int64())),
            import_id=import_id,
            received_at=datetime.now(UTC).replace(tzinfo=None),
            file_name=file.name,
            trim=fmt == "csv" and not pretrim,
        )
        direct = not suppression_active(engine)
        if (
            direct
            and isinstance(reader, ParquetReader)
            and _parquet_direct(engine, config, reader, compiled, used, outcome, progress)
        ):
            return used
        select_sql, errors_sql = (
            render(compiled.select, "duckdb"),
            render(compiled.errors, "duckdb"),
        )
        done = 0
        batches = stack.enter_context(
            contextlib.closing(read_ahead(_prepared(reader.batches(), pretrim), depth=1))
        )
        ids = ImportIds(engine)  # dropped with the transaction if the import fails
        for batch, cells, rows in batches:
            table = cells.append_column("_row", rows)
            errors: list[RecordError] = []
            bad = 0
            with engine.registered(INPUT, table):
                if direct:
                    found = survey(engine, select_sql, config.channel_rules, check="_err")
                    bad = found.bad
                    out = None
                else:
                    out = engine.arrow(select_sql)
                    bad = out.num_rows - out["_err"].null_count
                if bad:
                    wrong = engine.arrow(errors_sql)
                    errors = _record_errors(wrong.slice(0, MAX_ERRORS), file)
                    if rejects is not None:
                        positions = pc.index_in(wrong["_row"], value_set=rows)
                        rejects.write_table(
                            batch.take(positions),
                            wrong["error"],
                            reader.rejects_options,
                        )
                    if out is not None:
                        out = out.filter(pc.is_null(out["_err"]))
                last = rows[-1].as_py() if len(rows) else None
                invalid = _invalid_rows(reader, file, rejects, upto=last)
                outcome.read += batch.num_rows + len(invalid)
                outcome.record(
                    sorted(errors + invalid, key=lambda e: e.row or 0), bad + len(invalid), on_error
                )
                if out is not None:
                    good_rows = out.drop_columns(["_row", "_err"])
                    stage(engine, config, outcome, good_rows, used.data_party)
                else:
                    good = f"SELECT * FROM ({select_sql}) AS g WHERE _err IS NULL"
                    _note_sources(outcome, found.used, used.data_party)
                    outcome.add(
                        append_select(
                            engine,
                            good if bad else select_sql,
                            config.channel_rules,
                            surveyed=found,
                            ids=ids,
                        )
                    )
            done += batch.num_rows
            if progress is not None:
                progress(done, reader.total_rows)
            del batch, cells, table  # freed before the next batch is fetched
        invalid = _invalid_rows(reader, file, rejects)
        outcome.read += len(invalid)
        outcome.record(invalid, len(invalid), on_error)
        ids.close()
    if not outcome.sources:
        outcome.sources[used.source] = used.data_party
    return used


def _prepared(
    batches: Iterator[tuple[pa.RecordBatch, pa.Array]], trim: bool
) -> Iterator[tuple[pa.Table, pa.Table, pa.Array]]:
    """Tables of :data:`BATCH_ROWS` rows or more: as read, as the mapping reads them (trimmed
    when ``trim``), and their data-row numbers."""
    for table, rows in _coalesce(batches, BATCH_ROWS):
        yield table, trim_text(table) if trim else table, rows


def _coalesce(
    batches: Iterator[tuple[pa.RecordBatch, pa.Array]], rows: int
) -> Iterator[tuple[pa.Table, pa.Array]]:
    """Batches joined into tables of at least ``rows`` rows (the last may be smaller): each
    table costs a few statements and a look-up of its ids among the stored ones."""
    held: list[pa.RecordBatch] = []
    numbers: list[pa.Array] = []
    count = 0
    for batch, row_numbers in batches:
        held.append(batch)
        numbers.append(row_numbers)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(held), pa.concat_arrays(numbers)
            held, numbers, count = [], [], 0
    if held:
        yield pa.Table.from_batches(held), pa.concat_arrays(numbers)


def _note_sources(outcome: Outcome, combos: pa.Table, default_party: str) -> None:
    if "source" in combos.column_names:
        for source in pc.unique(combos["source"]).to_pylist():
            outcome.sources.setdefault(source, default_party)


def _parquet_direct(
    engine: Engine,
    config: WorkspaceConfig,
    reader: ParquetReader,
    compiled: Compiled,
    used: Mapping,
    outcome: Outcome,
    progress: Progress | None,
) -> bool:
    """Import a Parquet file without a bad row straight from DuckDB's reader: one pass checks
    the whole file (and counts the channel's input combinations), then the rows go from the
    file into ``events`` in parts of whole row groups. False, having stored nothing, when the
    file has a bad row or a column DuckDB might read differently from pyarrow (the batch path
    then imports it, with the errors and rejects of each bad row)."""
    if engine.dialect != "duckdb" or not direct_parquet_ok(reader.schema):
        return False
    whole = _on_parquet(compiled.select, reader.path)
    found = survey(engine, whole, config.channel_rules, check="_err")
    if found.bad:
        return False
    bounds = reader.parts(PART_ROWS)
    parts = [_on_parquet(compiled.select, reader.path, lo, hi) for lo, hi in bounds]
    total = reader.total_rows

    def step(index: int) -> None:
        if progress is not None:
            progress(bounds[index][1], total)

    _note_sources(outcome, found.used, used.data_party)
    outcome.read += found.good
    outcome.add(
        append_select(
            engine, whole, config.channel_rules, surveyed=found, parts=parts, after_part=step
        )
    )
    return True


def _on_parquet(
    select: exp.Select, path: Path, lo: int | None = None, hi: int | None = None
) -> str:
    """The mapped SELECT over DuckDB's reader of ``path`` (data rows ``lo < _row <= hi``)
    instead of a registered batch: the reader is a CTE named like the batch."""
    return render(select.with_(INPUT, as_=read_parquet_sql(path, lo, hi).this), "duckdb")


def _record_errors(found: pa.Table, file: Path) -> list[RecordError]:
    return [
        RecordError(r["error"], row=r["_row"], field=r["field"], value=r["value"], file=str(file))
        for r in found.to_pylist()
    ]


def _invalid_rows(
    reader: TableReader, file: Path, rejects: RejectsWriter | None, upto: int | None = None
) -> list[RecordError]:
    """Errors for the CSV rows set aside for a wrong number of fields (and their rejects)."""
    errors = []
    for bad in reader.take_invalid(upto):
        message = (
            f"{file.name} row {bad.row}, (row): {bad.actual} fields where the header "
            f"has {bad.expected} (check the delimiter and the quotes)"
        )
        errors.append(
            RecordError(message, row=bad.row, field="(row)", value=bad.text, file=str(file))
        )
        if rejects is not None:
            rejects.write_invalid(reader.schema.names, bad, message, reader.rejects_options)
    return errors


def _plain(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_decimal(t)
        or pa.types.is_date(t)
        or (pa.types.is_timestamp(t) and t.unit == "us")
        or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type))
    )


def direct_parquet_ok(schema: pa.Schema) -> bool:
    """Whether DuckDB's own Parquet reader gives these columns the same values and types as
    pyarrow's (text, numbers, booleans, dates, microsecond timestamps), so that a mapping
    compiled for pyarrow's schema can run on it. Other types (nested, binary, milli- or
    nanosecond timestamps, times) go through pyarrow."""
    names = schema.names
    return (
        "file_row_number" not in names
        and "_row" not in names
        and len(set(names)) == len(names)
        and all(_plain(f.type) for f in schema)
    )


def read_parquet_sql(path: Path, lo: int | None = None, hi: int | None = None) -> exp.Subquery:
    """``(SELECT <file columns>, <data row number> AS _row FROM read_parquet(path)) AS _jl_in``,
    for the rows ``lo < _row <= hi`` when given (DuckDB then reads only their row groups)."""
    number = exp.column("file_row_number")
    query = exp.select(
        exp.Star(except_=[exp.column("file_row_number")]),
        exp.Add(this=number, expression=exp.Literal.number(1)).as_("_row"),
    ).from_(
        exp.Table(
            this=exp.Anonymous(
                this="read_parquet",
                expressions=[
                    exp.Literal.string(str(path)),
                    exp.EQ(this=exp.column("file_row_number"), expression=exp.true()),
                ],
            )
        )
    )
    if lo is not None and hi is not None:
        query = query.where(
            exp.and_(
                exp.GTE(this=number.copy(), expression=exp.Literal.number(lo)),
                exp.LT(this=number.copy(), expression=exp.Literal.number(hi)),
            )
        )
    return query.subquery("_jl_in")
