"""Build the demo workspace, or write the demo's events to Parquet files for benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from journeylens.config import Settings
from journeylens.demo.catalogue import SOURCES
from journeylens.demo.generator import CUSTOMERS_PER_BATCH, generate_events
from journeylens.demo.seasons import DEMO_END, TIMEZONE
from journeylens.errors import ConfigError
from journeylens.events.store import append_events, register_source
from journeylens.workspace import Workspace, create_workspace, new_import_id

__all__ = ["DEFAULT_CUSTOMERS", "Progress", "build_demo", "example_customer", "write_parquet"]

DEFAULT_CUSTOMERS = 3_000
_DICTIONARY = ["type", "event", "source", "data_party", "currency", "channel",
               "explicit_channel", "import_id"]  # fmt: skip
Progress = Callable[[int, int | None], None]
"""Called as ``progress(done, total)``: people done for :func:`build_demo`, events written for
:func:`write_parquet`."""


def build_demo(
    path: str | Path,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = 7,
    end: date = DEMO_END,
    progress: Progress | None = None,
    exist_ok: bool = False,
    derive_channels: bool = True,
    settings: Settings | None = None,
) -> Workspace:
    """Create the demo workspace at ``path`` and fill it; return it open.

    The workspace is named ``demo``, reports in Europe/Rome and EUR, and has every source of the
    demo registered with its kind, data party and description. Each batch of people is stored in
    its own transaction (channels derived by the store's rules). Identity resolution is not run:
    call ``ws.resolve_identities()`` next. ``exist_ok`` appends to an existing workspace (events
    already stored are counted as duplicates, so building twice with one seed stores nothing
    new). The import is recorded in the ``imports`` ledger with kind ``demo``.

    ``derive_channels=False`` stores the channel each touchpoint was designed to land in instead
    of deriving it with the workspace's rules: the same values with the default rules (the tests
    check it), several times faster for large runs.
    """
    ws = create_workspace(
        path, name="demo", timezone=TIMEZONE, currency="EUR", exist_ok=exist_ok, settings=settings
    )
    try:
        _fill(ws, customers, seed, end, progress, derive_channels)
    except BaseException:
        ws.close()
        raise
    return ws


def _fill(
    ws: Workspace,
    customers: int,
    seed: int,
    end: date,
    progress: Progress | None,
    derive_channels: bool,
) -> None:
    engine = ws.engine
    import_id = new_import_id("demo")
    started = datetime.now(UTC).replace(tzinfo=None)
    with engine.transaction():
        for source in SOURCES:
            register_source(
                engine,
                source.name,
                kind=source.kind,
                data_party=source.data_party,
                description=source.description,
            )
    read = stored = duplicates = done = 0
    if progress:
        progress(0, customers)
    for table in generate_events(
        customers, seed=seed, end=end, designed_channel=not derive_channels
    ):
        # The events name this run, so that the ledger row below describes them.
        run = pc.fill_null(pa.nulls(table.num_rows, pa.string()), import_id)
        table = table.set_column(table.schema.get_field_index("import_id"), "import_id", run)
        with engine.transaction():
            result = append_events(engine, table, ws.config.channel_rules)
        read += table.num_rows
        stored += result.stored
        duplicates += result.duplicates
        done = min(customers, done + CUSTOMERS_PER_BATCH)
        if progress:
            progress(done, customers)
    with engine.transaction():
        engine.execute(
            "INSERT INTO imports (import_id, kind, source, started_at, finished_at, rows_read, "
            "stored, duplicates, rejected) VALUES (?, 'demo', NULL, ?, ?, ?, ?, ?, 0)",
            [
                import_id,
                started,
                datetime.now(UTC).replace(tzinfo=None),
                read,
                stored,
                duplicates,
            ],
        )


def write_parquet(
    folder: str | Path,
    *,
    events: int,
    seed: int = 7,
    end: date = DEMO_END,
    channel: str = "explicit",
    rows_per_file: int = 10_000_000,
    compression: str = "zstd",
    workers: int = 1,
    progress: Progress | None = None,
) -> list[Path]:
    """Write exactly ``events`` demo events to Parquet files in ``folder``; return their paths.

    Files are ``demo-00000.parquet``, … of about ``rows_per_file`` rows, one row group per batch
    of people. ``channel="explicit"`` writes the ``explicit_channel`` column (offline channels
    only, the rest left to the importer's rules); ``channel="designed"`` writes ``channel`` as
    :data:`journeylens.schema.EVENT_SCHEMA` has it. The last batch is cut to the exact count (its
    last people lose their latest events). ``workers`` > 1 generates batches in that many
    processes (same files). Only the low-cardinality columns are dictionary-encoded.
    """
    if events < 1:
        raise ConfigError("events: must be at least 1", field="events")
    if channel not in ("explicit", "designed"):
        raise ConfigError(
            "channel: must be 'explicit' or 'designed'",
            field="channel",
            allowed=("explicit", "designed"),
        )
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    writer: pq.ParquetWriter | None = None
    in_file = written = 0
    # People are generated until the count is reached. A person makes about 60 events, so
    # events / 20 people are plenty; batches are only generated as they are written.
    upper = events // 20 + 100
    try:
        for table in generate_events(
            upper, seed=seed, end=end, designed_channel=channel == "designed", workers=workers
        ):
            table = table.slice(0, min(table.num_rows, events - written))
            if writer is None or in_file >= rows_per_file:
                if writer is not None:
                    writer.close()
                paths.append(out / f"demo-{len(paths):05d}.parquet")
                writer = pq.ParquetWriter(
                    paths[-1], table.schema, compression=compression, use_dictionary=_DICTIONARY
                )
                in_file = 0
            writer.write_table(table)
            in_file += table.num_rows
            written += table.num_rows
            if progress:
                progress(written, events)
            if written >= events:
                break
    finally:
        if writer is not None:
            writer.close()
    if written < events:
        raise ConfigError(
            f"events: the demo made only {written} events for {upper} people; ask for fewer",
            field="events",
        )
    return paths


def example_customer(ws: Workspace) -> str | None:
    """The email of a customer worth looking at: the identified one with the most touchpoints
    (after identity resolution; None before it)."""
    if not ws.engine.table_exists("customer_profiles"):
        return None
    email = ws.engine.scalar(
        "SELECT json_extract_string(identifiers, '$.email[0]') FROM customer_profiles "
        "WHERE is_identified AND json_extract_string(identifiers, '$.email[0]') IS NOT NULL "
        "ORDER BY touchpoints DESC, customer_id LIMIT 1"
    )
    return str(email) if email else None
