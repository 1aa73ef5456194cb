"""Benchmark: attribution path aggregation and every model on the scaled demo stores of
bench_stages.py (``stages-10m.duckdb``, ``stages-100m.duckdb``; read, never rebuilt).

Path aggregation is what ``ws.attribution`` runs: the events query streamed from DuckDB and
folded into journeys (attribution/journeys.py), then grouped by path. ``--sql`` also times the
set-based SQL form (``compile_paths``); ``--chdb`` runs that SQL on chDB side by side.

    python benchmarks/bench_attribution.py --sizes 10 100 [--sql] [--chdb] [--repeat 3]

Wall and CPU seconds (``time.process_time``: all threads of this process) are reported; the
chDB table is loaded (untimed) from the DuckDB store in record batches. Output: a Markdown
table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from journeylens.attribution import AttributionSpec, PathTable
from journeylens.attribution.api import MODELS, attribute
from journeylens.attribution.compile import compile_paths, compile_time_decay
from journeylens.attribution.journeys import Journeys
from journeylens.engines.duckdb import DuckDBEngine

DATA = Path(__file__).parent / "data"
AS_OF = datetime(2026, 11, 30)
SPEC = AttributionSpec()  # purchase, revenue, 30 days, channel, repeats collapsed
COLUMNS = (
    "customer_id, ts, seq, event_id, type, event, event_code, channel, source, data_party, "
    "revenue, cost, currency, group_id, CAST(NULL AS VARCHAR) AS properties, "
    "customer_key"
)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` runs after one warm-up run."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def codes_of(engine: Any) -> dict[str, int]:
    return {r["event"]: int(r["event_code"]) for r in engine.rows("SELECT * FROM event_names")}


def show(engine: str, events: int, step: str, wall: float, cpu: float | None, check: Any) -> None:
    cpu_text = f"{cpu:.2f}" if cpu is not None else ""
    print(f"| {engine} | {events:,} | {step} | {wall:.2f} | {cpu_text} | {check} |", flush=True)


def bench(millions: int, repeat: int, chdb: bool, sql: bool) -> None:
    engine = DuckDBEngine(DATA / f"stages-{millions}m.duckdb", read_only=True)
    events = engine.scalar("SELECT count(*) FROM customer_events")
    codes = codes_of(engine)

    def aggregate() -> tuple[Journeys, Any]:
        journeys = Journeys.read(engine, SPEC, codes, AS_OF)
        return journeys, journeys.paths()

    wall, cpu, (journeys, table) = timed(aggregate, repeat)
    paths = PathTable.from_arrow(table, count=False)
    check = f"{paths.rows:,} paths, {paths.conversions.sum():,.0f} conv"
    show("DuckDB + fold", events, "path aggregation", wall, cpu, check)
    wall, cpu, _ = timed(lambda: journeys.time_decay(7.0), repeat)
    show("NumPy", events, "time decay (on the folded journeys)", wall, cpu, "")
    query = compile_paths(SPEC, codes, AS_OF)
    if sql:
        wall, cpu, sql_table = timed(lambda: engine.arrow(query), max(1, repeat // 2))
        same = sql_table.num_rows == table.num_rows
        show(
            "DuckDB",
            events,
            "path aggregation (set-based SQL)",
            wall,
            cpu,
            f"{sql_table.num_rows:,} paths ({'same count' if same else 'DIFFERENT'})",
        )
        decay_q = compile_time_decay(SPEC, codes, AS_OF, 7.0)
        wall, cpu, _ = timed(lambda: engine.arrow(decay_q), max(1, repeat // 2))
        show("DuckDB", events, "time decay (set-based SQL)", wall, cpu, "")
    for model in [m for m in MODELS if m not in ("time_decay", "custom", "markov")]:
        wall, cpu, _ = timed(lambda m=model: attribute(paths, [m]), repeat)
        show("NumPy", events, model, wall, cpu, "")
    engine_rows = table.num_rows
    if chdb:
        from journeylens.engines.chdb import ChDBEngine

        ch = ChDBEngine()
        reader = engine.connection.sql(f"SELECT {COLUMNS} FROM customer_events").to_arrow_reader(
            5_000_000
        )
        import pyarrow as pa

        first = True
        for batch in reader:
            frame = pa.Table.from_batches([batch])
            if first:
                ch.load("customer_events", frame, order_by=("customer_id", "ts"))
                first = False
            else:
                ch._session.query("INSERT INTO customer_events SELECT * FROM Python(frame)")
        ch.execute("CREATE TABLE event_names (event_code Int32, event String) ENGINE = Memory")
        wall, cpu, ch_table = timed(lambda: ch.arrow(query), repeat)
        same = ch_table.num_rows == engine_rows
        show(
            "chDB (same SQL)",
            events,
            "path aggregation (SQL)",
            wall,
            cpu,
            f"{ch_table.num_rows:,} paths ({'same count' if same else 'DIFFERENT'})",
        )
        ch.close()
    engine.close()


def synthetic_paths(rows: int, seed: int = 7) -> PathTable:
    """``rows`` random distinct-ish paths of 1-8 touchpoints over 20 channels (seeded)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, rows)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype("int32")
    labels = pa.array([f"channel {i:02d}" for i in range(20)])
    values = labels.take(pa.array(rng.integers(0, 20, int(offsets[-1]))))
    conversions = rng.poisson(0.3, rows)
    table = pa.table(
        {
            "path": pa.ListArray.from_arrays(pa.array(offsets), values),
            "same_touch": pa.nulls(rows, pa.string()),
            "conversions": conversions,
            "revenue": conversions * rng.gamma(2.0, 40.0, rows),
            "non_conversions": rng.poisson(2.0, rows),
        }
    )
    return PathTable.from_arrow(table, count=False)


def bench_models(rows: int, repeat: int) -> None:
    paths = synthetic_paths(rows)
    for model in [m for m in MODELS if m not in ("time_decay", "custom", "markov", "same_touch")]:
        wall, cpu, _ = timed(lambda m=model: attribute(paths, [m]), repeat)
        show("NumPy", len(paths.codes), f"{model} on {rows:,} synthetic paths", wall, cpu, "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chdb", action="store_true", help="the set-based SQL on chDB too")
    parser.add_argument("--sql", action="store_true", help="time the set-based SQL on DuckDB")
    parser.add_argument("--synthetic", type=int, default=0, help="models on N random paths")
    args = parser.parse_args()
    print("| engine | events | step | wall s | CPU s | check |")
    print("|---|---:|---|---:|---:|---|")
    for millions in args.sizes:
        bench(millions, args.repeat, args.chdb, args.sql)
    if args.synthetic:
        bench_models(args.synthetic, args.repeat)


if __name__ == "__main__":
    main()
