"""The event store: the canonical ``events`` table, its ledger of imports, and its migrations.

* ``events`` is append-only; ``event_id`` (Segment ``messageId``) is the dedupe key: an event
  whose id is already stored, or that repeats an id earlier in the same batch, is not stored
  again (the first occurrence wins) and is counted as a duplicate.
* Every append runs inside the caller's transaction, so a file or an HTTP batch lands whole or
  not at all.
* ``meta.schema_version`` says which migrations have run; opening a store runs the missing ones
  and refuses a store written by a newer journeylens.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from journeylens.config import ChannelRule
from journeylens.engines.base import Engine
from journeylens.errors import StorageError
from journeylens.events.channels import channel_expression
from journeylens.privacy.suppression import drop_suppressed
from journeylens.schema import EVENT_COLUMNS, EVENT_SCHEMA, SCHEMA_VERSION, Column
from journeylens.sql import create_table, render

__all__ = [
    "IMPORT_COLUMNS",
    "SOURCE_COLUMNS",
    "STAGED_SCHEMA",
    "AppendResult",
    "ImportIds",
    "Survey",
    "append_events",
    "append_select",
    "channel_keys",
    "migrate",
    "register_source",
    "suppression_active",
    "survey",
]

IMPORT_COLUMNS: tuple[Column, ...] = (
    Column("import_id", pa.string(), "VARCHAR", "id of the import", nullable=False),
    Column("kind", pa.string(), "VARCHAR", "file, http, demo", nullable=False),
    Column("file", pa.string(), "VARCHAR", "path of the imported file"),
    Column("file_sha256", pa.string(), "VARCHAR", "content hash of the file"),
    Column("mapping", pa.string(), "VARCHAR", "mapping file used"),
    Column("source", pa.string(), "VARCHAR", "source name"),
    Column("started_at", pa.timestamp("us"), "TIMESTAMP", "UTC", nullable=False),
    Column("finished_at", pa.timestamp("us"), "TIMESTAMP", "UTC"),
    Column("rows_read", pa.int64(), "BIGINT", "data rows read"),
    Column("stored", pa.int64(), "BIGINT", "events stored"),
    Column("duplicates", pa.int64(), "BIGINT", "events already stored or repeated"),
    Column("rejected", pa.int64(), "BIGINT", "rows rejected"),
)

SOURCE_COLUMNS: tuple[Column, ...] = (
    Column("source", pa.string(), "VARCHAR", "source name", nullable=False),
    Column("kind", pa.string(), "VARCHAR", "website, crm, pos, ecommerce, ads, survey…"),
    Column("data_party", pa.string(), "VARCHAR", "first, second or third", nullable=False),
    Column("description", pa.string(), "VARCHAR", "free text"),
    Column("created_at", pa.timestamp("us"), "TIMESTAMP", "UTC", nullable=False),
)

_META_COLUMNS = (Column("schema_version", pa.int32(), "INTEGER", "", nullable=False),)


def _v1(engine: Engine) -> None:
    engine.execute(create_table("events", EVENT_COLUMNS))
    engine.execute(create_table("imports", IMPORT_COLUMNS))
    engine.execute(create_table("sources", SOURCE_COLUMNS))


MIGRATIONS: dict[int, Callable[[Engine], None]] = {1: _v1}
"""Version → the step that brings a store from the previous version to it."""


def migrate(engine: Engine) -> int:
    """Run the migrations a store lacks; return its schema version."""
    engine.execute(create_table("meta", _META_COLUMNS))
    current = engine.scalar("SELECT max(schema_version) FROM meta") or 0
    if current > SCHEMA_VERSION:
        raise StorageError(
            f"this event store has schema version {current}, newer than this journeylens "
            f"understands ({SCHEMA_VERSION}); upgrade journeylens",
            schema_version=current,
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with engine.transaction():
            MIGRATIONS[version](engine)
            engine.execute("INSERT INTO meta VALUES (?)", [version])
    return SCHEMA_VERSION


@dataclass(frozen=True)
class AppendResult:
    stored: int
    duplicates: int
    duplicate_ids: list[str] = field(default_factory=list)
    """Up to 100 of the duplicate ids, for the report."""
    suppressed: int = 0
    """Events of suppressed people, dropped (not stored, not counted as duplicates)."""


_NAMES = ", ".join(f'"{c.name}"' for c in EVENT_COLUMNS)
STAGED_SCHEMA: pa.Schema = pa.schema(
    [pa.field("explicit_channel", pa.string()) if f.name == "channel" else f for f in EVENT_SCHEMA]
)
"""A batch whose channel is still to be derived: ``explicit_channel`` in place of ``channel``."""


def append_events(
    engine: Engine, batch: pa.Table, channel_rules: Sequence[ChannelRule] = ()
) -> AppendResult:
    """Store the events of ``batch`` that are not stored yet. Run it inside a transaction.

    ``batch`` has the columns of :data:`~journeylens.schema.EVENT_SCHEMA` (extra columns are
    ignored, types are cast); when it has ``explicit_channel`` instead of ``channel``, the
    channel is derived by :func:`journeylens.events.channels.channel_expression`. Ids repeated
    inside the batch are stored once (first row wins).

    Cost: ids repeated in the batch are found with one hash aggregate, the ids already stored
    with one semi join of the batch against ``events`` (skipped while the store is empty); the
    insert then filters on those (usually empty) sets instead of joining ``events`` again.
    """
    join = ""
    if "channel" in batch.column_names:
        batch = batch.select([c.name for c in EVENT_COLUMNS]).cast(EVENT_SCHEMA)
        select_list = ", ".join(f's."{c.name}"' for c in EVENT_COLUMNS)
    else:
        batch = batch.select(STAGED_SCHEMA.names).cast(STAGED_SCHEMA)
        join = _channel_join(tuple(channel_rules))
        select_list = ", ".join(
            'c."channel"' if c.name == "channel" else f's."{c.name}"' for c in EVENT_COLUMNS
        )
    batch, suppressed = drop_suppressed(engine, batch)  # docs/privacy.md
    n = batch.num_rows
    if n == 0:
        return AppendResult(0, 0, suppressed=suppressed)
    batch = batch.append_column("_row", pa.array(np.arange(n, dtype=np.int64)))
    with engine.registered("_jl_batch", batch):
        # ids repeated inside the batch (usually none): one parallel hash aggregate in DuckDB
        firsts = engine.arrow(
            "SELECT event_id, min(_row) AS first_row, count(*) AS n FROM _jl_batch "
            "GROUP BY event_id HAVING count(*) > 1"
        )
        seen = ImportIds(engine).stored("SELECT event_id FROM _jl_batch")
        with ExitStack() as stack:
            where = _new_rows(engine, stack, seen, firsts)
            engine.execute(
                f"INSERT INTO events ({_NAMES}) SELECT {select_list} FROM _jl_batch s{join}{where}"
            )
    return _result(n, seen, firsts, suppressed)


def _new_rows(engine: Engine, stack: ExitStack, seen: pa.Table, firsts: pa.Table) -> str:
    """The WHERE clause that keeps, of rows ``s``, those whose id is not stored (``seen``) and
    the first row of each id repeated among them (``firsts``: ``event_id``, ``first_row``);
    the two tables are registered for as long as ``stack`` lasts."""
    conditions = []
    if seen.num_rows:
        stack.enter_context(engine.registered("_jl_seen", seen))
        conditions.append("s.event_id NOT IN (SELECT event_id FROM _jl_seen)")
    if firsts.num_rows:
        stack.enter_context(engine.registered("_jl_firsts", firsts))
        conditions.append(
            "NOT EXISTS (SELECT 1 FROM _jl_firsts f "
            "WHERE f.event_id = s.event_id AND f.first_row <> s._row)"
        )
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _result(rows: int, seen: pa.Table, firsts: pa.Table, suppressed: int = 0) -> AppendResult:
    """What an append of ``rows`` good rows stored, given the ids already stored (``seen``) and
    the ids repeated among the rows (``firsts``, with ``n``: their rows)."""
    unique_ids = rows - (pc.sum(firsts["n"]).as_py() or 0) + firsts.num_rows
    stored = unique_ids - seen.num_rows
    duplicate_ids = seen["event_id"].to_pylist()[:100] + firsts["event_id"].to_pylist()[:100]
    return AppendResult(
        stored=stored,
        duplicates=rows - stored,
        duplicate_ids=list(dict.fromkeys(duplicate_ids))[:100],
        suppressed=suppressed,
    )


@functools.lru_cache(maxsize=32)  # rendering costs ~50 ms; a server appends many small batches
def _channel_parts(channel_rules: tuple[ChannelRule, ...]) -> tuple[tuple[str, ...], str]:
    """The staged columns the channel expression reads, and the expression as DuckDB SQL."""
    expression = channel_expression(channel_rules)
    staged = set(STAGED_SCHEMA.names)
    keys = tuple(sorted({c.name for c in expression.find_all(exp.Column)} & staged))
    return keys, render(expression, "duckdb")


def channel_keys(channel_rules: Sequence[ChannelRule] = ()) -> tuple[str, ...]:
    """The staged columns the channel of a row depends on (``explicit_channel``, ``source``,
    ``event``, ``type``, ``context``): the channel is derived once per distinct combination."""
    return _channel_parts(tuple(channel_rules))[0]


def _key_match(keys: Iterable[str]) -> str:
    return " AND ".join(f's."{k}" IS NOT DISTINCT FROM c."{k}"' for k in keys) or "TRUE"


@functools.lru_cache(maxsize=32)
def _channel_join(channel_rules: tuple[ChannelRule, ...]) -> str:
    """A join that gives each row of ``_jl_batch`` (alias ``s``) its derived channel.

    The channel expression is costly per row and depends only on a few columns (explicit
    channel, source, event, type, context) whose combinations repeat a lot (a CRM or POS file
    has a handful), so it is computed once per distinct combination and joined back.
    """
    keys, derived = _channel_parts(channel_rules)
    key_list = ", ".join(f'"{k}"' for k in keys)
    return (
        f' JOIN (SELECT {key_list}{", " if keys else ""}{derived} AS "channel" '
        f"FROM (SELECT DISTINCT {key_list or '1 AS _one'} FROM _jl_batch) AS k) AS c "
        f"ON {_key_match(keys)}"
    )


def suppression_active(engine: Engine) -> bool:
    """Whether anyone is suppressed (then appends go through
    :func:`~journeylens.privacy.suppression.drop_suppressed`, on Arrow batches)."""
    return engine.table_exists("suppressions") and bool(
        engine.scalar("SELECT EXISTS (SELECT 1 FROM suppressions)")
    )


@dataclass(frozen=True)
class Survey:
    """What one pass over a query of staged rows found (see :func:`survey`)."""

    combos: pa.Table
    """Each distinct combination of the :func:`channel_keys` columns, with ``_n`` (its good
    rows) and ``_bad`` (its rows that fail a check)."""
    repeated: pa.Table
    """``_h``: the 64-bit hash of each id found on two rows or more (good or bad); an id
    repeated among the good rows has one of these hashes (usually there is none)."""

    @property
    def used(self) -> pa.Table:
        """The combinations that have good rows (those the append stores)."""
        return self.combos.filter(pc.greater(self.combos["_n"], 0))

    @property
    def good(self) -> int:
        return int(pc.sum(self.combos["_n"]).as_py() or 0)

    @property
    def bad(self) -> int:
        return int(pc.sum(self.combos["_bad"]).as_py() or 0)


def survey(
    engine: Engine,
    query: str,
    channel_rules: Sequence[ChannelRule] = (),
    *,
    check: str | None = None,
) -> Survey:
    """One pass over ``query`` (staged columns and ``_row``) for what an append needs to know
    before it inserts: the channel's input combinations with how many rows have each, and the
    hashes of the ids that occur more than once (one ``GROUPING SETS`` aggregate). ``check``:
    a column that is NULL for a good row; the rows where it is not are counted as bad.

    Grouping by the ids' hashes rather than the ids costs ~25% less, and the pass is shared
    with the combinations: 1.9–2.2 CPU s for 10M Parquet rows, against 3.2–3.9 for the
    combinations and an aggregate of the ids (with each id's first row) apart."""
    keys = channel_keys(channel_rules)
    key_list = ", ".join(f'"{k}"' for k in keys)
    bad = f"count({check})" if check else "0"
    found = engine.arrow(
        f"SELECT {key_list}{', ' if keys else ''}hash(event_id) AS _h, GROUPING(_h) AS _set, "
        f"count(*) AS _rows, {bad} AS _bad FROM ({query}) AS q "
        f"GROUP BY GROUPING SETS (({key_list}), (_h)) HAVING GROUPING(_h) = 1 OR count(*) > 1"
    )
    sets = found.filter(pc.equal(found["_set"], 1))
    combos = (
        sets.select(list(keys))
        .append_column("_n", pc.subtract(sets["_rows"], sets["_bad"]))
        .append_column("_bad", sets["_bad"])
    )
    return Survey(combos=combos, repeated=found.filter(pc.equal(found["_set"], 0)).select(["_h"]))


def append_select(
    engine: Engine,
    query: str,
    channel_rules: Sequence[ChannelRule] = (),
    *,
    surveyed: Survey | None = None,
    parts: Sequence[str] = (),
    after_part: Callable[[int], None] | None = None,
    ids: ImportIds | None = None,
) -> AppendResult:
    """Store the rows of ``query`` that are not stored yet, straight from SQL into ``events``
    (no Arrow round trip). Run it inside a transaction; same contract as
    :func:`append_events` (dedupe on ``event_id``, first row wins; channel derived).

    ``query`` is a DuckDB SELECT with the columns of :data:`STAGED_SCHEMA` and ``_row``, a
    number unique to each row that orders them (the row of a repeated id with the smallest
    ``_row`` is stored). It is read two to four times (:func:`survey`, the insert; the ids
    already stored and the ids repeated in it, when there may be any), so it should be cheap
    to recompute (a file or a registered batch).

    ``surveyed``: :func:`survey` of ``query``, when the caller has it already (with a check
    column, ``query`` must then keep only the good rows).
    ``parts``: SELECTs whose rows together are those of ``query``, inserted one after the
    other (each followed by ``after_part(its index)``, for a progress bar); by default
    ``query`` is inserted at once.

    ``ids``: the ids stored by the earlier appends of the same import (:class:`ImportIds`),
    when there are several; this append's are added to them.

    When people are suppressed (:func:`suppression_active`), each part goes through
    :func:`append_events` as an Arrow table instead.
    """
    pieces = list(parts) or [query]
    if suppression_active(engine):
        total = AppendResult(0, 0)
        for index, piece in enumerate(pieces):
            result = append_events(engine, engine.arrow(piece), channel_rules)
            total = AppendResult(
                total.stored + result.stored,
                total.duplicates + result.duplicates,
                list(dict.fromkeys(total.duplicate_ids + result.duplicate_ids))[:100],
                total.suppressed + result.suppressed,
            )
            if after_part is not None:
                after_part(index)
        return total
    found = surveyed if surveyed is not None else survey(engine, query, channel_rules)
    n = found.good
    if n == 0:
        return AppendResult(0, 0)
    firsts = pa.table(
        {"event_id": pa.array([], pa.string()), "first_row": pa.array([], pa.int64()), "n": []}
    )
    if found.repeated.num_rows:
        with engine.registered("_jl_repeated", found.repeated):
            firsts = engine.arrow(
                f"SELECT event_id, min(_row) AS first_row, count(*) AS n FROM ({query}) AS q "
                "WHERE hash(event_id) IN (SELECT _h FROM _jl_repeated) "
                "GROUP BY event_id HAVING count(*) > 1"
            )
    with ExitStack() as stack:
        channel, params = _channel_source(engine, found.used, channel_rules, stack)
        seen = (ids or ImportIds(engine)).stored(query)
        where = _new_rows(engine, stack, seen, firsts)
        select_list = ", ".join(
            channel if c.name == "channel" else f's."{c.name}"' for c in EVENT_COLUMNS
        )
        join = (
            "" if params else f" JOIN _jl_channels AS c ON {_channel_on(found.used, channel_rules)}"
        )
        for index, piece in enumerate(pieces):
            engine.execute(
                f"INSERT INTO events ({_NAMES}) SELECT {select_list} FROM ({piece}) AS s"
                f"{join}{where}",
                params or None,
            )
            if after_part is not None:
                after_part(index)
        if ids is not None:
            ids.add(query)
    return _result(n, seen, firsts)


class ImportIds:
    """The ids an import has stored so far, for an import stored in several appends (a CSV file
    in batches): each append must skip the ids stored before it.

    A semi join of each batch against ``events`` does that, but it scans every stored id once
    per batch: the cost grows with the square of the file's length (a 10M-row CSV in 9 batches
    scanned 45M ids). When the store held no events before the import, the only ids to look
    for are the import's own: their 64-bit hashes are kept in a temporary table, a batch is
    matched against it (integers, not text), and only the ids whose hash matches (a real
    repeat, or a collision) are then looked up in ``events``. A store with events before the
    import is still joined against ``events`` (every id there may be repeated)."""

    TABLE: Final = "_jl_import_ids"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.prior = bool(engine.scalar("SELECT EXISTS (SELECT 1 FROM events)"))
        self.created = False

    def stored(self, query: str) -> pa.Table:
        """The distinct ``event_id`` of ``query`` already in ``events``."""
        if self.prior:
            return self.engine.arrow(
                f"SELECT DISTINCT q.event_id FROM ({query}) AS q "
                "SEMI JOIN events e ON e.event_id = q.event_id"
            )
        if not self.created:
            return pa.table({"event_id": pa.array([], pa.string())})
        candidates = self.engine.arrow(
            f"SELECT DISTINCT q.event_id FROM ({query}) AS q "
            f"SEMI JOIN {self.TABLE} i ON i.h = hash(q.event_id)"
        )
        if candidates.num_rows == 0:
            return candidates
        with self.engine.registered("_jl_candidates", candidates):
            return self.engine.arrow(
                "SELECT c.event_id FROM _jl_candidates c "
                "SEMI JOIN events e ON e.event_id = c.event_id"
            )

    def add(self, query: str) -> None:
        """Note the ids of ``query`` (just stored, or already stored) as stored."""
        if self.prior:
            return
        if not self.created:
            self.engine.execute(f"CREATE OR REPLACE TEMP TABLE {self.TABLE} (h UBIGINT)")
            self.created = True
        self.engine.execute(f"INSERT INTO {self.TABLE} SELECT hash(event_id) FROM ({query}) AS q")

    def close(self) -> None:
        if self.created:
            self.engine.execute(f"DROP TABLE IF EXISTS {self.TABLE}")
            self.created = False


def _varying(combos: pa.Table, keys: Sequence[str]) -> list[str]:
    """The keys that take more than one value (NULL counts as one) among ``combos``: the
    others are the same on every row and need no join condition."""
    return [k for k in keys if pc.count_distinct(combos[k], mode="all").as_py() > 1]


def _channel_source(
    engine: Engine, combos: pa.Table, channel_rules: Sequence[ChannelRule], stack: ExitStack
) -> tuple[str, list[Any]]:
    """The channel of each combination (``combos``: :attr:`Survey.used`): ``('?', [channel])``
    when the rows have one combination
    (no join), else ``('c."channel"', [])`` with ``_jl_channels`` registered for the join."""
    keys, derived = _channel_parts(tuple(channel_rules))
    key_list = ", ".join(f'"{k}"' for k in keys)
    stack.enter_context(engine.registered("_jl_keys", combos.select(list(keys))))
    channels = engine.arrow(
        f'SELECT {key_list}{", " if keys else ""}{derived} AS "channel" FROM _jl_keys'
    )
    if channels.num_rows == 1:
        return "?", [channels["channel"][0].as_py()]
    stack.enter_context(engine.registered("_jl_channels", channels))
    return 'c."channel"', []


def _channel_on(combos: pa.Table, channel_rules: Sequence[ChannelRule] = ()) -> str:
    """The join condition of rows ``s`` with their channel ``c``, on the keys that vary."""
    return _key_match(_varying(combos, channel_keys(channel_rules)))


def register_source(
    engine: Engine,
    source: str,
    *,
    kind: str | None = None,
    data_party: str = "first",
    description: str | None = None,
) -> None:
    """Record a source the first time it delivers events; later calls fill in what was unknown."""
    engine.execute(
        "INSERT INTO sources SELECT ?, ?, ?, ?, now()::TIMESTAMP "
        "WHERE NOT EXISTS (SELECT 1 FROM sources WHERE source = ?)",
        [source, kind, data_party, description, source],
    )
    if kind or description:
        engine.execute(
            "UPDATE sources SET kind = coalesce(kind, ?), description = coalesce(description, ?) "
            "WHERE source = ?",
            [kind, description, source],
        )
