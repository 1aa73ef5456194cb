"""Benchmark: a 5-step ordered funnel (7-day window) and the transition graph on the scaled demo
stores of bench_stages.py (read, never rebuilt), with chDB's own windowFunnel at 10M.

    python benchmarks/bench_funnels.py --sizes 1 10 100     # millions of events
    python benchmarks/bench_funnels.py --sizes 10 --chdb

1M is a deterministic sample of the 10M store's customers (about 1M events, in memory). Each
query runs once to warm up and then ``--repeat`` times; the median is reported.
``--interleaved N`` also runs journeylens' and retentioneering's funnels alternately N times
(both see the same load on a shared machine). Results go to
stdout as a Markdown table (paste into benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from journeylens.engines.duckdb import DuckDBEngine
from journeylens.funnels import FunnelSpec
from journeylens.funnels.api import keyed_profiles
from journeylens.funnels.compile import compile_funnel
from journeylens.paths.compile import compile_transitions

DATA = Path(__file__).parent / "data"
AS_OF = datetime(2026, 11, 30)
STEPS = ("product_viewed", "add_to_cart", "checkout_started", "checkout_payment", "purchase")
WINDOW = 7 * 86_400
SPEC = FunnelSpec(steps=STEPS, window_seconds=WINDOW)


CPU: list[float] = []
"""CPU seconds (all threads of this process, chDB included) of the last ``timed`` call."""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall seconds of ``repeat`` runs after a warm-up; the median CPU seconds go to
    ``CPU`` (the machine is shared: CPU seconds are the steadier figure)."""
    result = fn()
    times, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    CPU.append(statistics.median(cpus))
    return statistics.median(times), result


def engine_for(millions: int) -> DuckDBEngine:
    if millions == 1:
        engine = DuckDBEngine(None)
        con = engine.connection
        con.execute(f"ATTACH '{DATA / 'stages-10m.duckdb'}' AS src (READ_ONLY)")
        con.execute(
            "CREATE TABLE customer_events AS SELECT * FROM src.customer_events "
            "WHERE customer_id LIKE '%-0' AND hash(customer_id) % 10 < 6"
        )
        con.execute("CREATE TABLE event_names AS SELECT * FROM src.event_names")
        # as identity resolution writes them: one profile per customer, with its key
        con.execute(
            "CREATE TABLE customer_profiles AS SELECT customer_id, customer_key "
            "FROM customer_events WHERE seq = 1"
        )
        con.execute("DETACH src")
        return engine
    return DuckDBEngine(DATA / f"stages-{millions}m.duckdb", read_only=True)


def codes_of(engine: Any) -> dict[str, int]:
    return {r["event"]: int(r["event_code"]) for r in engine.rows("SELECT * FROM event_names")}


def funnel_counts(rows: list[dict[str, Any]]) -> list[int]:
    return [sum(1 for r in rows if r["reached"] >= k) for k in range(1, len(STEPS) + 1)]


def bench_duckdb(millions: int, repeat: int) -> tuple[list[dict[str, Any]], DuckDBEngine]:
    engine = engine_for(millions)
    events = engine.scalar("SELECT count(*) FROM customer_events")
    codes = codes_of(engine)
    query = compile_funnel(SPEC, codes, AS_OF, profiles=keyed_profiles(engine))
    seconds, table = timed(lambda: engine.arrow(query), repeat)
    c_funnel = CPU[-1]
    counts = funnel_counts(table.to_pylist())
    t_seconds, graph = timed(lambda: engine.arrow(compile_transitions(AS_OF, None)), repeat)
    c_trans = CPU[-1]
    rows = [
        {
            "engine": "journeylens on DuckDB",
            "events": events,
            "query": "5-step funnel, 7 days",
            "seconds": seconds,
            "cpu": c_funnel,
            "check": counts,
        },
        {
            "engine": "journeylens on DuckDB",
            "events": events,
            "query": "transitions",
            "seconds": t_seconds,
            "cpu": c_trans,
            "check": f"{graph.num_rows} pairs",
        },
    ]
    return rows, engine


def bench_chdb(engine: DuckDBEngine, repeat: int) -> list[dict[str, Any]]:
    from journeylens.engines.chdb import ChDBEngine

    events = engine.arrow(
        "SELECT customer_id, customer_key, ts, seq, event_code, event, "
        "CAST(NULL AS VARCHAR) AS properties FROM customer_events"
    )
    codes = codes_of(engine)
    ch = ChDBEngine()
    ch.load("customer_events", events, order_by=("customer_key", "ts"))
    del events
    ch.execute(
        "CREATE TABLE ev_nn (customer_id Int64, seq Int64, us UInt64, event_code Int32) "
        "ENGINE = MergeTree ORDER BY (customer_id, us)"
    )
    ch.execute(
        "INSERT INTO ev_nn SELECT assumeNotNull(customer_key), assumeNotNull(seq), "
        "toUInt64(toUnixTimestamp64Micro(assumeNotNull(ts))), "
        "assumeNotNull(event_code) FROM customer_events"
    )
    conditions = ", ".join(f"event_code = {codes[s]}" for s in STEPS)
    native = (
        f"SELECT level, count() AS n FROM (SELECT customer_id, windowFunnel({WINDOW * 1_000_000})"
        f"(us, {conditions}) AS level FROM ev_nn GROUP BY customer_id) GROUP BY level"
    )
    seconds, levels = timed(lambda: ch.rows(native), repeat)
    c_native = CPU[-1]
    # ClickHouse's own way to the directly-follows graph: each customer's events as one sorted
    # array, then consecutive pairs
    native_pairs = (
        "SELECT p.1 AS from_code, p.2 AS to_code, count() AS transitions, "
        "uniqExact(customer_id) AS units, quantileExact(0.5)(p.3) AS median_us FROM ("
        "SELECT customer_id, arraySort(x -> x.1, groupArray((seq, event_code, us))) AS e "
        "FROM ev_nn GROUP BY customer_id) ARRAY JOIN arrayMap(i -> (e[i].2, e[i + 1].2, "
        "e[i + 1].3 - e[i].3), arraySlice(arrayEnumerate(e), 1, length(e) - 1)) AS p "
        "GROUP BY from_code, to_code"
    )
    t_native, pairs = timed(lambda: ch.rows(native_pairs), repeat)
    c_pairs = CPU[-1]
    by_level = {r["level"]: r["n"] for r in levels}
    native_counts = [sum(n for lv, n in by_level.items() if lv >= k) for k in range(1, 6)]
    ours, table = timed(lambda: ch.arrow(compile_funnel(SPEC, codes, AS_OF)), repeat)
    c_ours = CPU[-1]
    t_ours, _ = timed(lambda: ch.arrow(compile_transitions(AS_OF, None)), repeat)
    c_tours = CPU[-1]
    count = ch.scalar("SELECT count() FROM ev_nn")
    ch.close()
    return [
        {
            "engine": "chDB windowFunnel",
            "events": count,
            "query": "5-step funnel, 7 days",
            "seconds": seconds,
            "cpu": c_native,
            "check": native_counts,
        },
        {
            "engine": "chDB arrays (groupArray + pairs)",
            "events": count,
            "query": "transitions",
            "seconds": t_native,
            "cpu": c_pairs,
            "check": f"{len(pairs)} pairs",
        },
        {
            "engine": "journeylens SQL on chDB",
            "events": count,
            "query": "5-step funnel, 7 days",
            "seconds": ours,
            "cpu": c_ours,
            "check": funnel_counts(table.to_pylist()),
        },
        {
            "engine": "journeylens SQL on chDB",
            "events": count,
            "query": "transitions",
            "seconds": t_ours,
            "cpu": c_tours,
            "check": "",
        },
    ]


def retentioneering_stream(engine: DuckDBEngine) -> tuple[Any, int, float]:
    """retentioneering 5's Eventstream of the store (telemetry off), its events, load seconds."""
    import os

    os.environ["RETENTIONEERING_NO_TRACK"] = "1"
    import retentioneering

    frame = engine.arrow(
        "SELECT customer_id AS user_id, event, ts AS timestamp FROM customer_events "
        "ORDER BY customer_id, seq"
    ).to_pandas()
    start = time.perf_counter()
    stream = retentioneering.Eventstream(frame)
    return stream, len(frame), time.perf_counter() - start


def bench_interleaved(engine: DuckDBEngine, rounds: int) -> list[dict[str, Any]]:
    """The funnel of journeylens and of retentioneering run alternately ``rounds`` times after a
    warm-up, so that both see the same load (this machine is shared): median and minimum."""
    stream, events, _ = retentioneering_stream(engine)
    query = compile_funnel(SPEC, codes_of(engine), AS_OF, profiles=keyed_profiles(engine))
    runs: dict[str, Callable[[], Any]] = {
        "journeylens on DuckDB": lambda: engine.arrow(query),
        "retentioneering 5": lambda: stream.funnel_data(steps=list(STEPS)),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return [
        {
            "engine": name,
            "events": events,
            "query": f"5-step funnel, {rounds} interleaved runs: median (min {min(t):.3f})",
            "seconds": statistics.median(t),
            "check": "",
        }
        for name, t in times.items()
    ]


def bench_retentioneering(engine: DuckDBEngine, repeat: int) -> list[dict[str, Any]]:
    """retentioneering 5 (its engine is DuckDB too): load, its funnel (ordered, no window: it
    has none) and its transition graph."""
    stream, events, load = retentioneering_stream(engine)
    seconds, funnel = timed(lambda: stream.funnel_data(steps=list(STEPS)), repeat)
    c_rfun = CPU[-1]
    t_seconds, _ = timed(lambda: stream.transition_graph_data(edge_weight="count"), repeat)
    c_rtr = CPU[-1]
    return [
        {
            "engine": "retentioneering 5 (load)",
            "events": events,
            "query": "Eventstream(df)",
            "seconds": load,
            "check": "",
        },
        {
            "engine": "retentioneering 5",
            "events": events,
            "query": "5-step funnel, no window",
            "seconds": seconds,
            "cpu": c_rfun,
            "check": [s["unique_paths"] for s in funnel["steps"]],
        },
        {
            "engine": "retentioneering 5",
            "events": events,
            "query": "transitions",
            "seconds": t_seconds,
            "cpu": c_rtr,
            "check": "",
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chdb", action="store_true", help="also chDB at 10M")
    parser.add_argument("--retentioneering", action="store_true", help="also retentioneering")
    parser.add_argument("--skip-duckdb", action="store_true", help="only the other tools")
    parser.add_argument(
        "--interleaved", type=int, default=0, help="N alternating funnel runs vs retentioneering"
    )
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {sys.platform}", file=sys.stderr)
    print("| engine | events | query | seconds | steps reached (1…5) / check |")
    print("|---|---:|---|---:|---|")
    for millions in args.sizes:
        if args.skip_duckdb:
            engine = engine_for(millions)
        else:
            rows, engine = bench_duckdb(millions, args.repeat)
            show(rows)
        if args.retentioneering and millions <= 10:
            show(bench_retentioneering(engine, args.repeat))
        if args.interleaved and millions <= 10:
            show(bench_interleaved(engine, args.interleaved))
        if args.chdb and millions == 10:
            show(bench_chdb(engine, args.repeat))
        engine.close()


def show(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        print(
            f"| {r['engine']} | {r['events']:,} | {r['query']} | {r['seconds']:.3f} | "
            f"{r.get('cpu', float('nan')):.3f} | {r['check']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
