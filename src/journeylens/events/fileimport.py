"""File import: CSV, Parquet and JSON lines, with an optional column-mapping file.

* CSV and Parquet rows become events through a mapping (:mod:`journeylens.events.mapping`)
  compiled to one DuckDB SELECT (:mod:`journeylens.events.mapsql`) that runs over the file's
  rows and goes straight into the store (:mod:`journeylens.events.tableimport`): conversions
  and checks happen in SQL, never in a Python loop over rows. A file without a mapping must
  have canonical column names (docs/import.md lists them).
* JSON lines are Segment/RudderStack messages, one per line, normalised by
  :func:`journeylens.events.messages.normalise_message`; a mapping may set their source, data
  party and channel.
* Bad rows: ``on_error="stop"`` raises the first :class:`RecordError` and stores nothing;
  ``"skip"`` stores the good rows and reports the bad ones; ``"rejects"`` also writes the bad
  rows, with an ``error`` column, to ``rejects_path`` (default ``<file>.rejects.csv``).
* The whole file lands in one transaction, with a row in the ``imports`` ledger.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.errors import InputError, NotFoundError, RecordError
from journeylens.events.filereaders import RejectsWriter, Sha256
from journeylens.events.mapping import Mapping, load_mapping
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.outcome import MAX_ERRORS, Outcome, Progress, flush, hold
from journeylens.events.report import OnError, WriteReport
from journeylens.events.store import IMPORT_COLUMNS, STAGED_SCHEMA, register_source
from journeylens.events.tableimport import import_table

__all__ = ["MAX_ERRORS", "Progress", "detect_format", "import_file"]

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
    outcome = Outcome()
    try:
        with engine.transaction():
            if fmt == "jsonl":
                used = _import_jsonl(
                    engine, config, file, loaded, import_id, on_error, rejects, progress, outcome
                )
            else:
                used = import_table(
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
            flush(engine, config, outcome)
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


def _import_jsonl(
    engine: Engine,
    config: WorkspaceConfig,
    file: Path,
    mapping: Mapping | None,
    import_id: str,
    on_error: OnError,
    rejects: RejectsWriter | None,
    progress: Progress | None,
    outcome: Outcome,
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
    outcome: Outcome,
    rows: list[dict[str, Any]],
    party: str,
) -> None:
    if rows:
        table = pa.Table.from_pylist(rows, schema=STAGED_SCHEMA)
        for source, data_party in set(
            zip(table["source"].to_pylist(), table["data_party"].to_pylist(), strict=True)
        ):
            outcome.sources.setdefault(source, data_party or party)
        hold(engine, config, outcome, table)


def _ledger(
    engine: Engine,
    import_id: str,
    file: Path,
    mapping: Mapping | None,
    used: Mapping,
    started: datetime,
    outcome: Outcome,
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
