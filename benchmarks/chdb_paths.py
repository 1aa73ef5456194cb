"""Benchmark peer: the attribution path table hand-written in ClickHouse SQL, run on chDB.

The same path table as :func:`journeylens.attribution.compile.compile_paths` for the default
:class:`~journeylens.attribution.AttributionSpec` (conversion ``purchase``, value revenue,
30-day lookback, channel level, repeats collapsed), written the way a ClickHouse user would:
one ordered array of events per customer, journeys, lookback and collapse done with array
functions, one ``ARRAY JOIN`` and one hash aggregate. It is the fastest chDB query we know for
this table, so journeylens' own timings (benchmarks/bench_attribution.py) are compared with
the best chDB can do, not with chDB running our portable SQL.

    python benchmarks/chdb_paths.py --sizes 10 100 [--repeat 3] [--self-check]

The chDB table is loaded (untimed) from the scaled demo stores of bench_stages.py
(``stages-10m.duckdb`` / ``stages-100m.duckdb``, opened read-only) in record batches, ordered
by ``(customer_key, seq)``. The native query is timed (median of ``--repeat`` runs after a
warm-up; wall and ``time.process_time``, which counts chDB's threads as it runs in-process),
and its result is checked row by row against ``compile_paths`` run on DuckDB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from journeylens.attribution import AttributionSpec
from journeylens.attribution.compile import compile_paths
from journeylens.engines.chdb import ChDBEngine
from journeylens.engines.duckdb import DuckDBEngine

sys.path.insert(0, str(Path(__file__).parent))
from bench_attribution import AS_OF, COLUMNS, DATA, codes_of, timed

SPEC = AttributionSpec()
PathRow = tuple[tuple[str, ...], str | None, int, Decimal | None, int]

# Per customer (the inner SELECT), arrays in seq order:
#   c  1 for a conversion, t its time (µs), v its channel, r its revenue (0 for touchpoints);
#   e  each event's journey end: the time of the next conversion at or after it (itself for a
#      conversion); for the touchpoints after the last conversion, the last touchpoint's time;
#   w  touchpoints inside the lookback window of their journey (a suffix of the journey, as t
#      grows with seq);
#   k  kept touchpoints: in the window, and not a repeat of the event just before it (which,
#      when it is in the window, is a touchpoint of the same journey);
#   m  what the journeys are made of: kept touchpoints and conversions. Every journey keeps its
#      end (the conversion, or for an open journey the first touchpoint of its window), so the
#      journeys are the pieces of m split after each conversion, and their ends are the
#      conversions plus m's last element when it is not one.
_NATIVE = """
WITH (SELECT groupUniqArray(assumeNotNull(channel)) FROM customer_events) AS names
SELECT
    arrayMap(i -> names[i], path) AS path,
    if(st = 0, NULL, names[st]) AS same_touch,
    toInt64(sum(conv)) AS conversions,
    if(conversions = 0, NULL, sum(rev)) AS revenue,
    toInt64(sum(1 - conv)) AS non_conversions
FROM (
    SELECT
        arraySort(x -> x.1, groupArray((seq, us, code, is_conv, amount))) AS ev,
        ev.2 AS t,
        ev.3 AS v,
        ev.4 AS c,
        ev.5 AS r,
        arrayReverseFill((x, ci) -> ci, t, c) AS e,
        arrayMap((ci, ti, ei) -> ci = 0 AND ti >= ei - {lookback}, c, t, e) AS w,
        arrayMap(
            (wi, vi, pw, pv) -> wi AND NOT (pw AND vi = pv),
            w, v, arrayPushFront(arrayPopBack(w), 0), arrayPushFront(arrayPopBack(v), 0)
        ) AS k,
        arrayMap((ki, ci) -> ki OR ci = 1, k, c) AS m,
        arrayFilter((x, mi) -> mi, v, m) AS mv,
        arrayFilter((x, mi) -> mi, c, m) AS mc,
        arrayFilter((x, mi) -> mi, r, m) AS mr,
        length(mc) AS n,
        arrayMap((ci, i) -> ci = 1 OR i = n, mc, arrayEnumerate(mc)) AS ends,
        arrayFilter((x, f) -> f, mc, ends) AS jc,
        arraySplit((x, p) -> p, mv, arrayPushFront(arrayPopBack(mc), 0)) AS pieces,
        arrayMap((piece, ci) -> if(ci = 1, arrayPopBack(piece), piece), pieces, jc) AS paths,
        arrayMap((x, ci) -> if(ci = 1, x, 0), arrayFilter((x, f) -> f, mv, ends), jc) AS same,
        arrayFilter((x, f) -> f, mr, ends) AS jr
    FROM (
        SELECT
            customer_key,
            toUInt32(seq) AS seq,
            toUnixTimestamp64Micro(ts) AS us,
            toUInt8(indexOf(names, channel)) AS code,
            toUInt8({conversion}) AS is_conv,
            if(is_conv = 1, ifNull(revenue, 0), 0) AS amount
        FROM customer_events
        WHERE ts <= fromUnixTimestamp64Micro({as_of}, 'UTC')
          AND ({conversion}
               OR (type IN ({touch_types}) AND channel IS NOT NULL
                   AND channel NOT IN ({excluded})))
    )
    GROUP BY customer_key
)
ARRAY JOIN paths AS path, same AS st, jc AS conv, jr AS rev
GROUP BY path, st
"""


def _literals(values: Iterable[str]) -> str:
    return ", ".join(exp.Literal.string(v).sql("clickhouse") for v in values)


def native_query(
    codes: dict[str, int] | None = None, as_of: datetime = AS_OF, spec: AttributionSpec = SPEC
) -> str:
    """The hand-written ClickHouse path aggregation for ``spec`` (only the default spec's
    options: an event-name conversion, channel level, a lookback, repeats collapsed, touchpoint
    types and excluded channels). Output columns as ``compile_paths``."""
    supported = AttributionSpec(
        lookback_days=spec.lookback_days,
        conversion=spec.step.event or "",
        exclude_channels=spec.exclude_channels,
        touch_types=spec.touch_types,
    )
    if spec != supported or spec.lookback_us is None:
        raise ValueError("native_query covers only the default attribution options")
    epoch = datetime(1970, 1, 1)
    return _NATIVE.format(
        lookback=int(spec.lookback_us),
        conversion=(
            f"event_code = {int(codes.get(spec.step.event or '', -1))}"
            if codes is not None
            else f"event = {exp.Literal.string(spec.step.event or '').sql('clickhouse')}"
        ),
        as_of=int((as_of - epoch).total_seconds()) * 1_000_000 + as_of.microsecond,
        touch_types=_literals(spec.touch_types),
        excluded=_literals(spec.exclude_channels) or "''",
    )


TYPED_TABLE = """
CREATE TABLE customer_events (
    customer_id String,
    ts DateTime64(6, 'UTC'),
    seq Int64,
    event_id String,
    type LowCardinality(String),
    event LowCardinality(String),
    event_code Int32,
    channel LowCardinality(Nullable(String)),
    source LowCardinality(Nullable(String)),
    data_party LowCardinality(Nullable(String)),
    revenue Nullable(Decimal(18, 4)),
    cost Nullable(Decimal(18, 4)),
    currency LowCardinality(Nullable(String)),
    group_id Nullable(String),
    properties Nullable(String),
    customer_key Int64
) ENGINE = MergeTree ORDER BY (customer_key, seq)
"""
"""The table a ClickHouse user would define: keys not Nullable, names LowCardinality."""


def load(
    ch: ChDBEngine, duck_store_path: Path, batch_rows: int = 5_000_000, typed: bool = False
) -> int:
    """Copy ``customer_events`` (and ``event_names``) of a DuckDB store into chDB, in record
    batches, ordered by ``(customer_key, seq)``: every column Nullable as
    :meth:`ChDBEngine.load` makes them (the table bench_attribution.py runs the compiled SQL
    on), or with ``typed`` the columns of :data:`TYPED_TABLE`. Returns the number of events."""
    duck = DuckDBEngine(duck_store_path, read_only=True)
    try:
        reader = duck.connection.sql(f"SELECT {COLUMNS} FROM customer_events").to_arrow_reader(
            batch_rows
        )
        events = 0
        if typed:
            ch.execute("DROP TABLE IF EXISTS customer_events")
            ch.execute(TYPED_TABLE)
        for i, batch in enumerate(reader):
            frame = pa.Table.from_batches([batch])
            if i == 0 and not typed:
                ch.load("customer_events", frame, order_by=("customer_key", "seq"))
            else:
                ch.execute("INSERT INTO customer_events SELECT * FROM Python(frame)")
            events += frame.num_rows
        names = duck.arrow("SELECT event_code, event FROM event_names")
        ch.load("event_names", names)
    finally:
        duck.close()
    return events


def rows_of(table: pa.Table) -> set[PathRow]:
    """The path table as a set of plain rows (paths as tuples, revenue as Decimal)."""
    return {
        (
            tuple(r["path"]),
            r["same_touch"],
            int(r["conversions"]),
            None if r["revenue"] is None else Decimal(r["revenue"]),
            int(r["non_conversions"]),
        )
        for r in table.to_pylist()
    }


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def bench(millions: int, repeat: int, typed: bool) -> None:
    store = DATA / f"stages-{millions}m.duckdb"
    # the reference first: chDB keeps much of its memory after its session closes, and at 100M
    # both at once did not fit beside the machine's other work (OOM kill)
    duck = DuckDBEngine(store, read_only=True)
    try:
        expected = rows_of(duck.arrow(compile_paths(SPEC, codes_of(duck), AS_OF)))
    finally:
        duck.close()
    ch = ChDBEngine()
    started = time.perf_counter()
    events = load(ch, store, typed=typed)
    print(
        f"loaded {events:,} events into chDB in {time.perf_counter() - started:.1f} s, "
        f"peak RSS {peak_rss_gib():.1f} GiB",
        flush=True,
    )
    codes = {r["event"]: int(r["event_code"]) for r in ch.rows("SELECT * FROM event_names")}
    query = native_query(codes)
    wall, cpu, table = timed(lambda: ch.arrow(query), repeat)
    print(
        f"| chDB native{' (typed table)' if typed else ''} | {events:,} | {wall:.2f} | "
        f"{cpu:.2f} | {table.num_rows:,} paths, "
        f"{pa.compute.sum(table['conversions']).as_py():,} conv | peak RSS "
        f"{peak_rss_gib():.1f} GiB |",
        flush=True,
    )
    native = rows_of(table)
    ch.close()
    same = native == expected
    print(
        f"check at {millions}M: {'IDENTICAL' if same else 'DIFFERENT'} to compile_paths on "
        f"DuckDB ({len(expected):,} rows; {len(native - expected)} only in chDB, "
        f"{len(expected - native)} only in DuckDB)",
        flush=True,
    )


CODES = {"ad_click": 1, "page_viewed": 2, "identify": 3, "purchase": 4}
_TINY = [  # customer, day of November 2026 (32+: December), seq, type, event, channel, revenue
    (1, -30, 1, "track", "ad_click", "Email", None),  # before the lookback of the purchase
    (1, 1, 2, "track", "ad_click", "Email", None),  # kept: the Email before it is too old
    (1, 2, 3, "page", "page_viewed", "Direct", None),
    (1, 2.5, 4, "page", "page_viewed", "Direct", None),  # a repeat: collapsed
    (1, 3, 5, "track", "purchase", "Direct", "10.5"),  # [Email, Direct] -> Direct, 10.5
    (1, 4, 6, "identify", "identify", "Email", None),  # not a touchpoint type
    (1, 5, 7, "track", "purchase", None, None),  # [] -> NULL, revenue 0
    (1, 10, 8, "track", "ad_click", "Unassigned", None),  # an excluded channel
    (1, 11, 9, "track", "ad_click", "Paid Search", None),
    (1, 12, 10, "track", "ad_click", "Paid Search", None),  # open journey [Paid Search]
    (1, 35, 11, "track", "ad_click", "Email", None),  # after AS_OF
    (2, 20, 1, "screen", "ad_click", "Email", None),
    (2, 21, 2, "track", "purchase", "Email", "5"),  # [Email] -> Email, 5
    (2, 22, 3, "page", "page_viewed", "Direct", None),  # open [Direct]
    (3, 1, 1, "track", "ad_click", "Paid Search", None),  # open [Paid Search]
]
_TINY_EXPECTED: set[PathRow] = {
    (("Email", "Direct"), "Direct", 1, Decimal("10.5"), 0),
    ((), None, 1, Decimal(0), 0),
    (("Paid Search",), None, 0, None, 2),
    (("Email",), "Email", 1, Decimal(5), 0),
    (("Direct",), None, 0, None, 1),
}


def tiny_log() -> pa.Table:
    """The hand-made log above, with the columns (and types) the benchmark loads."""
    text = pa.string()
    n = len(_TINY)
    start = datetime(2026, 11, 1)
    strings = ("customer_id", "event_id", "source", "data_party", "currency", "group_id")
    columns: dict[str, pa.Array] = {name: pa.nulls(n, text) for name in strings}
    columns["customer_id"] = pa.array([f"c{r[0]}" for r in _TINY])
    columns["ts"] = pa.array([start + timedelta(days=r[1]) for r in _TINY], pa.timestamp("us"))
    columns["seq"] = pa.array([r[2] for r in _TINY], pa.int64())
    columns["type"] = pa.array([r[3] for r in _TINY])
    columns["event"] = pa.array([r[4] for r in _TINY])
    columns["event_code"] = pa.array([CODES[r[4]] for r in _TINY], pa.int32())
    columns["channel"] = pa.array([r[5] for r in _TINY], text)
    money = pa.decimal128(18, 4)
    columns["revenue"] = pa.array([None if r[6] is None else Decimal(r[6]) for r in _TINY], money)
    columns["cost"] = pa.nulls(n, money)
    columns["properties"] = pa.nulls(n, text)
    columns["customer_key"] = pa.array([r[0] for r in _TINY], pa.int64())
    order = [c.strip().split(" AS ")[-1] for c in COLUMNS.split(", ")]
    return pa.table({name: columns[name] for name in order})


def self_check() -> None:
    """The native query and ``compile_paths`` on DuckDB against the hand-computed paths."""
    log = tiny_log()
    ch = ChDBEngine()
    ch.load("customer_events", log, order_by=("customer_key", "seq"))
    native = rows_of(ch.arrow(native_query(CODES)))
    by_name = rows_of(ch.arrow(native_query()))
    ch.close()
    duck = DuckDBEngine(None)
    duck.connection.register("log", log)
    duck.execute("CREATE TABLE customer_events AS SELECT * FROM log")
    compiled = rows_of(duck.arrow(compile_paths(SPEC, CODES, AS_OF)))
    duck.close()
    for name, rows in (("native", native), ("native by name", by_name), ("DuckDB", compiled)):
        verdict = "as computed by hand" if rows == _TINY_EXPECTED else f"WRONG: {sorted(rows)}"
        print(f"self-check, {name}: {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--self-check", action="store_true", help="tiny hand-made log first")
    parser.add_argument("--typed", action="store_true", help="load into TYPED_TABLE")
    args = parser.parse_args()
    if args.self_check:
        self_check()
    for millions in args.sizes:
        bench(millions, args.repeat, args.typed)


if __name__ == "__main__":
    main()
