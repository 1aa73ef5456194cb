"""Readers of tabular files as Arrow record batches with their data-row numbers, and the
rejects file.

* CSV: pyarrow's streaming reader, every column read as text (conversions happen in SQL), in
  the mapping's encoding, delimiter and quote. Rows with the wrong number of fields are set
  aside with their row number; text that is not valid in the encoding stops the import with
  the row, column and byte at fault.
* Parquet: ``iter_batches`` over the typed columns.

Row numbers are 1-based data rows (the header is not counted), as a spreadsheet user counts
them below the header.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Full, Queue
from types import TracebackType
from typing import Any, Final, Protocol, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from journeylens.errors import InputError, RecordError
from journeylens.events.mapping import FileOptions

__all__ = [
    "CsvDialect",
    "ParquetReader",
    "RejectsWriter",
    "Sha256",
    "TableReader",
    "open_table",
    "read_ahead",
    "trim_text",
]

SPACES: Final = " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
"""The characters DuckDB's ``trim`` removes (Unicode category Zs), no more: not tabs or line
breaks."""
CSV_BLOCK: Final = 8 << 20
"""pyarrow's CSV reader reads several blocks ahead: its memory grows with the block (peak
allocations 307 MB with 8 MB blocks, 878 MB with 32 MB, for the same CPU time)."""
PARQUET_BATCH: Final = 1 << 20
T = TypeVar("T")


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    quote: str = '"'
    encoding: str = "utf-8"


@dataclass(frozen=True)
class InvalidRow:
    row: int
    text: str
    expected: int
    actual: int


class TableReader(Protocol):
    schema: pa.Schema
    total_rows: int | None
    rejects_options: CsvDialect

    def batches(self) -> Iterator[tuple[pa.RecordBatch, pa.Array]]: ...

    def take_invalid(self, upto: int | None = None) -> list[InvalidRow]: ...

    def __enter__(self) -> TableReader: ...

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def open_table(path: Path, fmt: str, options: FileOptions | None) -> TableReader:
    if fmt == "parquet":
        return ParquetReader(path)
    return CsvReader(path, options or FileOptions())


class ParquetReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(
                f"{path.name} is not a readable Parquet file: {exc}", file=str(path)
            ) from exc
        self.schema = self._file.schema_arrow
        self.total_rows: int | None = self._file.metadata.num_rows
        self.rejects_options = CsvDialect()

    def batches(self) -> Iterator[tuple[pa.RecordBatch, pa.Array]]:
        done = 0
        for batch in self._file.iter_batches(batch_size=PARQUET_BATCH):
            n = batch.num_rows
            yield batch, pa.array(np.arange(done + 1, done + n + 1, dtype=np.int64))
            done += n

    def take_invalid(self, upto: int | None = None) -> list[InvalidRow]:
        return []

    def parts(self, rows: int) -> list[tuple[int, int]]:
        """Data rows ``(lo, hi]`` of consecutive whole row groups, each part at least ``rows``
        rows (but the last): a reader of one part skips the other row groups."""
        bounds: list[tuple[int, int]] = []
        lo = hi = 0
        for index in range(self._file.metadata.num_row_groups):
            hi += self._file.metadata.row_group(index).num_rows
            if hi - lo >= rows:
                bounds.append((lo, hi))
                lo = hi
        if hi > lo or not bounds:
            bounds.append((lo, hi))
        return bounds

    def __enter__(self) -> ParquetReader:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file.close()


def trim_text(table: pa.Table) -> pa.Table:
    """``table`` with :data:`SPACES` removed around its text cells, as DuckDB's ``trim`` would
    do in the mapping's SQL; done here, in the read-ahead thread, it costs the import no time
    (twice as fast as in SQL, and the SQL reads each cell twice). A column with nothing to
    trim is kept as it is (no second copy of it waits in the read-ahead queue)."""
    return pa.Table.from_arrays([_trimmed(c) for c in table.columns], schema=table.schema)


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    trimmed = pc.utf8_trim(column, characters=SPACES)
    before = pc.sum(pc.binary_length(column)).as_py()
    return column if pc.sum(pc.binary_length(trimmed)).as_py() == before else trimmed


class CsvReader:
    def __init__(self, path: Path, options: FileOptions) -> None:
        self.path = path
        self.options = options
        self.total_rows: int | None = None
        self.rejects_options = CsvDialect(options.delimiter, options.quote, options.encoding)
        names = self._header()
        self.schema = pa.schema([pa.field(n, pa.string()) for n in names])
        self._invalid: list[InvalidRow] = []
        self._skipped: list[int] = []
        self._lock = threading.Lock()
        self._reader: Any = None

    def _header(self) -> list[str]:
        """The column names: the first record after ``skip_rows`` lines, decoded line by line
        (so that a bad byte further down is reported on its own row, not on the header)."""
        opts = self.options
        header: list[str] | None = None
        with self.path.open("rb") as raw:
            for _ in range(opts.skip_rows):
                raw.readline()
            text = ""
            while line := raw.readline():
                try:
                    text += line.decode(opts.encoding)
                except UnicodeDecodeError:
                    raise self._encoding_error() from None
                if text.count(opts.quote) % 2 == 0:
                    break
        try:
            header = next(
                csv.reader(
                    io.StringIO(text, newline=""), delimiter=opts.delimiter, quotechar=opts.quote
                ),
                None,
            )
        except csv.Error as exc:
            raise InputError(
                f"{self.path.name}: cannot read the header: {exc}", file=str(self.path)
            ) from None
        if not header or not any(name.strip() for name in header):
            raise InputError(
                f"{self.path.name} is empty: no header and no rows to import", file=str(self.path)
            )
        header[0] = header[0].lstrip("\ufeff")
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise InputError(
                    f"{self.path.name}: the header names the column {name!r} twice; "
                    "rename one of them",
                    file=str(self.path),
                )
            seen.add(name)
        return header

    def _open(self) -> Any:
        opts = self.options
        names = self.schema.names
        try:
            return pcsv.open_csv(
                self.path,
                read_options=pcsv.ReadOptions(
                    use_threads=False,
                    block_size=CSV_BLOCK,
                    column_names=names,
                    skip_rows=opts.skip_rows + 1,
                    encoding=opts.encoding,
                ),
                parse_options=pcsv.ParseOptions(
                    delimiter=opts.delimiter,
                    quote_char=opts.quote,
                    newlines_in_values=True,
                    invalid_row_handler=self._on_invalid,
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    null_values=list(opts.null_values),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise self._read_error(exc) from None

    def _on_invalid(self, row: Any) -> str:
        number = (row.number or 0) - self.options.skip_rows - 1
        with self._lock:
            self._invalid.append(
                InvalidRow(number, row.text, row.expected_columns, row.actual_columns)
            )
            self._skipped.append(number)
        return "skip"

    def take_invalid(self, upto: int | None = None) -> list[InvalidRow]:
        """The rows set aside so far, up to data row ``upto`` (the reader may be ahead, in
        another thread); later ones are kept for a later call."""
        with self._lock:
            out = [r for r in self._invalid if upto is None or r.row <= upto]
            self._invalid = [r for r in self._invalid if upto is not None and r.row > upto]
        return out

    def batches(self) -> Iterator[tuple[pa.RecordBatch, pa.Array]]:
        if self._reader is None:
            self._reader = self._open()
        valid = 0
        while True:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                raise self._read_error(exc) from None
            n = batch.num_rows
            positions = np.arange(valid + 1, valid + n + 1, dtype=np.int64)
            valid += n
            with self._lock:
                skipped = np.sort(np.asarray(self._skipped, dtype=np.int64))
            if len(skipped):
                # the j-th good row is data row j + (number of set-aside rows before it)
                before = skipped - np.arange(len(skipped))
                positions = positions + np.searchsorted(before, positions, side="right")
            yield batch, pa.array(positions)

    def _read_error(self, exc: BaseException) -> InputError:
        text = str(exc)
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "decode" in text.lower():
            return self._encoding_error()
        if "Empty CSV file" in text:
            return InputError(
                f"{self.path.name} is empty: no header and no rows to import", file=str(self.path)
            )
        return InputError(f"{self.path.name}: cannot read the CSV: {text}", file=str(self.path))

    def _encoding_error(self) -> RecordError:
        """Find the first byte that is not valid in the encoding; name its row and column."""
        opts = self.options
        offset, byte = _first_bad_byte(self.path, opts.encoding)
        with self.path.open("rb") as fh:
            prefix = fh.read(offset).decode(opts.encoding)
        start = 0
        for _ in range(opts.skip_rows):
            start = prefix.find("\n", start) + 1 or len(prefix)
        body = prefix[start:]
        count, last = 0, []  # records before the bad byte (header included), streamed
        for record in csv.reader(
            io.StringIO(body, newline=""), delimiter=opts.delimiter, quotechar=opts.quote
        ):
            count, last = count + 1, record
        header = self.schema.names if getattr(self, "schema", None) is not None else []
        at_start = body == "" or body.endswith(("\n", "\r"))
        if at_start:
            row, column_index = count, 0
        else:
            row, column_index = count - 1, max(len(last) - 1, 0)
        if row > 0 and column_index < len(header):
            column = header[column_index]
            where = f"row {row}, {column}"
        else:
            column, where = "(header)", "header"
        hint = (
            "the file is probably in Windows-1252 (as Excel saves CSV in Italy): add "
            "encoding: cp1252 under file: in the mapping"
            if opts.encoding.replace("_", "-") in ("utf-8", "utf8")
            else "check encoding under file: in the mapping"
        )
        return RecordError(
            f"{self.path.name} {where}: not valid {opts.encoding} (byte "
            f"0x{byte:02x} at byte {offset + 1} of the file); {hint}",
            row=row if row > 0 else None,
            field=column,
            value=f"0x{byte:02x}",
            file=str(self.path),
        )

    def __enter__(self) -> CsvReader:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.close()


def _first_bad_byte(path: Path, encoding: str) -> tuple[int, int]:
    """Offset (0-based) and value of the first byte that does not decode."""
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # the decoder may hold back a partial sequence from the previous chunk
                pending = len(decoder.getstate()[0]) if exc.start == 0 else 0
                offset = done + exc.start - pending
                fh.seek(offset)
                return offset, fh.read(1)[0]
            done += len(chunk)
    return done, 0


class RejectsWriter:
    """The rejects file: the bad rows as read, with an ``error`` column, written on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self._fh: Any = None
        self._writer: Any = None

    def _start(self, header: list[str], dialect: CsvDialect) -> None:
        if self._fh is None:
            self._fh = self.path.open("w", encoding=dialect.encoding, errors="replace", newline="")
            self._writer = csv.writer(
                self._fh, delimiter=dialect.delimiter, quotechar=dialect.quote
            )
            self._writer.writerow(header)
            self._width = len(header)

    @staticmethod
    def _error_column(names: list[str]) -> str:
        return "error" if "error" not in names else "import_error"

    def write_table(
        self, rows: pa.Table, errors: pa.ChunkedArray | pa.Array, dialect: CsvDialect
    ) -> None:
        names = rows.column_names
        self._start([*names, self._error_column(names)], dialect)
        for values, error in zip(rows.to_pylist(), errors.to_pylist(), strict=True):
            self._writer.writerow([_cell(values[n]) for n in names] + [error])
            self.written += 1

    def write_invalid(
        self, names: list[str], row: InvalidRow, error: str, dialect: CsvDialect
    ) -> None:
        self._start([*names, self._error_column(names)], dialect)
        fields = row.text.split(dialect.delimiter)
        width = len(names)
        if len(fields) > width:
            fields = [*fields[: width - 1], dialect.delimiter.join(fields[width - 1 :])]
        fields += [""] * (width - len(fields))
        self._writer.writerow([*fields, error])
        self.written += 1

    def write_line(self, number: int, line: str, error: str) -> None:
        self._start(["row", "line", "error"], CsvDialect())
        self._writer.writerow([number, line, error])
        self.written += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()

    def discard(self) -> None:
        """Remove a rejects file of an import that failed."""
        if self._fh is not None:
            self._fh.close()
            self.path.unlink(missing_ok=True)
            self._fh = None
            self.written = 0


def _cell(value: Any) -> Any:
    return "" if value is None else value


class Sha256(threading.Thread):
    """Hashes the file in the background (hashlib releases the GIL) while it is imported."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.digest: str | None = None

    def run(self) -> None:
        h = hashlib.sha256()
        with self.path.open("rb") as fh:
            while chunk := fh.read(8 << 20):
                h.update(chunk)
        self.digest = h.hexdigest()


def read_ahead(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Yield ``items``, read ahead by a thread: the next batch is parsed (pyarrow releases
    the GIL) while DuckDB converts and stores the current one."""
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put(("item", item), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(("end", None))
        except BaseException as exc:  # handed to the consumer
            queue.put(("error", exc))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        thread.join()
