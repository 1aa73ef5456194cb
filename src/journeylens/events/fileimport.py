"""File import: CSV, Parquet and JSON lines, with an optional column-mapping file.

* CSV and Parquet rows become events through a mapping (:mod:`journeylens.events.mapping`)
  compiled to one DuckDB SELECT (:mod:`journeylens.events.mapsql`) that runs over Arrow record
  batches: conversions and checks happen in SQL, never in a Python loop over rows. A file
  without a mapping must have canonical column names (docs/import.md lists them).
* JSON lines are Segment/RudderStack messages, one per line, normalised by
  :func:`journeylens.events.messages.normalise_message`; a mapping may set their source, data
  party and channel.
* Bad rows: ``on_error="stop"`` raises the first :class:`RecordError` and stores nothing;
  ``"skip"`` stores the good rows and reports the bad ones; ``"rejects"`` also writes the bad
  rows, with an ``error`` column, to ``rejects_path`` (default ``<file>.rejects.csv``).
* The whole file lands in one transaction, with a row in the ``imports`` ledger.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.errors import InputError, NotFoundError, RecordError
from journeylens.events.filereaders import (
    ParquetReader,
    RejectsWriter,
    Sha256,
    TableReader,
    direct_parquet_ok,
    open_table,
    read_ahead,
    read_parquet_sql,
    trim_text,
)
from journeylens.events.mapping import (
    Mapping,
    canonical_mapping,
    ensure_columns,
    load_mapping,
)
from journeylens.events.mapsql import INPUT, Compiled, compile_mapping
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.report import OnError, WriteReport
from journeylens.events.store import (
    IMPORT_COLUMNS,
    STAGED_SCHEMA,
    AppendResult,
    ImportIds,
    append_events,
    append_select,
    register_source,
    suppression_active,
    survey,
)
from journeylens.sql import render

__all__ = ["MAX_ERRORS", "Progress", "detect_format", "import_file"]

Progress = Callable[[int, int | None], None]
"""Called as ``progress(rows_done, rows_total_or_None)`` while a file is read."""

MAX_ERRORS: Final = 1000
FLUSH_ROWS: Final = 4_000_000
"""Rows that go through Arrow (JSON lines; files while someone is suppressed) are handed to
the store in chunks of about this many (bounded memory)."""
BATCH_ROWS: Final = 1_000_000
"""CSV batches are joined into tables of at least this many rows before they are checked and
stored (each table costs a look-up of its ids among the stored events)."""
PART_ROWS: Final = 2_000_000
"""A Parquet file without bad rows goes into ``events`` in parts of whole row groups of at
least this many rows (the progress bar moves after each)."""
JSONL_CHUNK: Final = 20_000
_SUFFIXES: Final = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def detect_format(path: Path, mapping: Mapping | None) -> str:
    """``csv``, ``parquet`` or ``jsonl``: the mapping's ``file.format``, else the extension."""
    fmt = _SUFFIXES.get(path.suffix.lower())
    if mapping is not None and mapping.file.format:
        if fmt is not None and fmt != mapping.file.format:
            raise InputError(
                f"{mapping.name}: file.format is {mapping.file.format}, but {path.name} is a "
                f"{path.suffix} file ({fmt}); use a mapping made for {fmt} files",
                file=str(path),
            )
        return mapping.file.format
    if fmt is None:
        raise InputError(
            f"{path.name}: cannot tell the format from the extension {path.suffix!r}; name it "
            ".csv, .parquet or .jsonl, or set format under file: in the mapping",
            file=str(path),
        )
    return fmt


@dataclass
class _Outcome:
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


def import_file(
    engine: Engine,
    config: WorkspaceConfig,
    path: str | Path,
    mapping: str | Path | Mapping | None = None,
    *,
    on_error: OnError = "stop",
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> WriteReport:
    """Import one CSV, Parquet or JSON-lines file; see the module docstring and docs/import.md.

    ``mapping`` is a mapping file, the name of a shipped example, an already loaded
    :class:`Mapping`, or None for a file with canonical columns (or Segment JSON lines).
    """
    file = Path(path)
    if on_error not in ("stop", "skip", "rejects"):
        raise InputError(f"on_error: {on_error!r} is not one of stop, skip, rejects")
    if not file.is_file():
        raise NotFoundError(f"no such file: {file}", kind="file", key=str(file))
    loaded = mapping if isinstance(mapping, Mapping) or mapping is None else load_mapping(mapping)
    fmt = detect_format(file, loaded)
    if file.stat().st_size == 0:
        raise InputError(f"{file.name} is empty: no header and no rows to import", file=str(file))
    import_id = f"file-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    started = datetime.now(UTC).replace(tzinfo=None)
    hasher = Sha256(file)
    hasher.start()
    rejects: RejectsWriter | None = None
    if on_error == "rejects":
        target = Path(rejects_path) if rejects_path else file.with_name(file.name + ".rejects.csv")
        rejects = RejectsWriter(target)
    outcome = _Outcome()
    try:
        with engine.transaction():
            if fmt == "jsonl":
                used = _import_jsonl(
                    engine, config, file, loaded, import_id, on_error, rejects, progress, outcome
                )
            else:
                used = _import_table(
                    engine,
                    config,
                    file,
                    fmt,
                    loaded,
                    import_id,
                    on_error,
                    rejects,
                    progress,
                    outcome,
                )
            _flush(engine, config, outcome)
            for source, party in outcome.sources.items():
                own = source == used.source
                register_source(
                    engine,
                    source,
                    kind=used.kind if own else None,
                    data_party=party,
                    description=used.description if own else None,
                )
            hasher.join()
            _ledger(engine, import_id, file, loaded, used, started, outcome, hasher.digest)
    except BaseException:
        if rejects is not None:
            rejects.discard()
        raise
    finally:
        if rejects is not None:
            rejects.close()
    return WriteReport(
        import_id=import_id,
        read=outcome.read,
        stored=outcome.stored,
        duplicates=outcome.duplicates,
        rejected=outcome.rejected,
        errors=outcome.errors,
        duplicate_ids=outcome.duplicate_ids,
        rejects_file=str(rejects.path) if rejects is not None and rejects.written else None,
    )


def _flush(engine: Engine, config: WorkspaceConfig, outcome: _Outcome) -> None:
    if outcome.pending:
        batch = pa.concat_tables(outcome.pending)
        outcome.pending, outcome.pending_rows = [], 0
        outcome.add(append_events(engine, batch, config.channel_rules))


def _stage(
    engine: Engine, config: WorkspaceConfig, outcome: _Outcome, good: pa.Table, default_party: str
) -> None:
    if good.num_rows == 0:
        return
    for source in pc.unique(good["source"]).to_pylist():
        outcome.sources.setdefault(source, default_party)
    _hold(engine, config, outcome, good)


def _hold(engine: Engine, config: WorkspaceConfig, outcome: _Outcome, table: pa.Table) -> None:
    """Keep good rows until FLUSH_ROWS of them are waiting, then store them."""
    outcome.pending.append(table)
    outcome.pending_rows += table.num_rows
    if outcome.pending_rows >= FLUSH_ROWS:
        _flush(engine, config, outcome)


def _import_table(
    engine: Engine,
    config: WorkspaceConfig,
    file: Path,
    fmt: str,
    mapping: Mapping | None,
    import_id: str,
    on_error: OnError,
    rejects: RejectsWriter | None,
    progress: Progress | None,
    outcome: _Outcome,
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
            contextlib.closing(read_ahead(_prepared(reader.batches(), pretrim), depth=2))
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
                    _stage(engine, config, outcome, good_rows, used.data_party)
                else:
                    good = f"SELECT * FROM ({select_sql}) AS g WHERE _err IS NULL"
                    _note_sources(outcome, found.combos, used.data_party)
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


def _note_sources(outcome: _Outcome, combos: pa.Table, default_party: str) -> None:
    if "source" in combos.column_names:
        good = combos.filter(pc.greater(combos["_n"], 0))
        for source in pc.unique(good["source"]).to_pylist():
            outcome.sources.setdefault(source, default_party)


def _parquet_direct(
    engine: Engine,
    config: WorkspaceConfig,
    reader: ParquetReader,
    compiled: Compiled,
    used: Mapping,
    outcome: _Outcome,
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

    _note_sources(outcome, found.combos, used.data_party)
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


def _import_jsonl(
    engine: Engine,
    config: WorkspaceConfig,
    file: Path,
    mapping: Mapping | None,
    import_id: str,
    on_error: OnError,
    rejects: RejectsWriter | None,
    progress: Progress | None,
    outcome: _Outcome,
) -> Mapping:
    if mapping is not None and mapping.has_events:
        raise InputError(
            f"{mapping.name}: an events: section maps tabular files; JSON lines are Segment "
            "messages and take only source, kind, data_party, description and "
            "events.channel",
            file=mapping.path,
        )
    used = mapping or Mapping(source=file.stem, name=file.name, has_events=False)
    channel = used.channel.value if used.channel is not None else None
    defaults = MessageDefaults(
        source=used.source, data_party=used.data_party, channel=channel, import_id=import_id
    )
    encoding = used.file.encoding
    rows: list[dict[str, Any]] = []
    with file.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            outcome.read += 1
            try:
                rows.append(_message_row(line, number, file, encoding, defaults))
            except RecordError as error:
                if rejects is not None:
                    rejects.write_line(
                        number, line.decode(encoding, "replace").rstrip("\r\n"), error.message
                    )
                outcome.record([error], 1, on_error)
            if len(rows) >= JSONL_CHUNK:
                _stage_messages(engine, config, outcome, rows, used.data_party)
                rows = []
                if progress is not None:
                    progress(outcome.read, None)
    _stage_messages(engine, config, outcome, rows, used.data_party)
    if progress is not None:
        progress(outcome.read, None)
    if outcome.read == 0:
        raise InputError(f"{file.name} is empty: no JSON lines to import", file=str(file))
    if not outcome.sources:
        outcome.sources[used.source] = used.data_party
    return used


def _message_row(
    line: bytes, number: int, file: Path, encoding: str, defaults: MessageDefaults
) -> dict[str, Any]:
    prefix = f"{file.name} row {number}"
    try:
        text = line.decode(encoding)
    except UnicodeDecodeError as exc:
        raise RecordError(
            f"{prefix}, (line): not valid {encoding} (byte 0x{line[exc.start]:02x} at "
            f"position {exc.start + 1} of the line); JSON lines should be UTF-8",
            row=number,
            field="(line)",
            file=str(file),
        ) from None
    try:
        message = json.loads(text.lstrip("\ufeff") if number == 1 else text)
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"{prefix}, (line): not valid JSON: {exc.msg} (column {exc.colno})",
            row=number,
            field="(line)",
            file=str(file),
        ) from None
    try:
        return normalise_message(message, defaults, row=number)
    except RecordError as exc:
        raise RecordError(
            f"{prefix}, {exc.message}", row=number, field=exc.field, value=exc.value, file=str(file)
        ) from None


def _stage_messages(
    engine: Engine,
    config: WorkspaceConfig,
    outcome: _Outcome,
    rows: list[dict[str, Any]],
    party: str,
) -> None:
    if rows:
        table = pa.Table.from_pylist(rows, schema=STAGED_SCHEMA)
        for source, data_party in set(
            zip(table["source"].to_pylist(), table["data_party"].to_pylist(), strict=True)
        ):
            outcome.sources.setdefault(source, data_party or party)
        _hold(engine, config, outcome, table)


def _ledger(
    engine: Engine,
    import_id: str,
    file: Path,
    mapping: Mapping | None,
    used: Mapping,
    started: datetime,
    outcome: _Outcome,
    digest: str | None,
) -> None:
    values: dict[str, Any] = {
        "import_id": import_id,
        "kind": "file",
        "file": str(file.resolve()),
        "file_sha256": digest,
        "mapping": (mapping.path or mapping.name) if mapping is not None else None,
        "source": used.source,
        "started_at": started,
        "finished_at": datetime.now(UTC).replace(tzinfo=None),
        "rows_read": outcome.read,
        "stored": outcome.stored,
        "duplicates": outcome.duplicates,
        "rejected": outcome.rejected,
    }
    names = [c.name for c in IMPORT_COLUMNS]
    engine.execute(
        f"INSERT INTO imports ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [values[n] for n in names],
    )
