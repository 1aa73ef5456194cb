"""Benchmark: stage assignment (five-phase model) on 10M and 100M demo events.

The events are the demo's (``journeylens demo``: seeded, resolved into customers), copied k times
with the customer ids made distinct (``<customer>-<k>``), so that every size has the demo's
behaviour and about 150k customers per 10M events. Each run is a fresh process; peak memory is
its maximum resident set.

    python benchmarks/bench_stages.py --sizes 10 100          # millions of events
    python benchmarks/bench_stages.py --sizes 10 --model aida

Results go to stdout as a Markdown table (paste into benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb

DATA = Path(__file__).parent / "data"
DEMO_CUSTOMERS = 30_000
SEED = 7
AS_OF = datetime(2026, 11, 30)


def demo_source() -> Path:
    """The demo workspace the copies are made of (built once)."""
    folder = DATA / f"demo-{DEMO_CUSTOMERS}-{SEED}"
    if not (folder / "events.duckdb").exists():
        from journeylens.demo import build_demo

        with build_demo(folder, customers=DEMO_CUSTOMERS, seed=SEED) as ws:
            ws.resolve_identities(full=True)
    return folder / "events.duckdb"


def scaled(millions: int) -> Path:
    """A store whose customer_events holds about ``millions`` million events."""
    target = DATA / f"stages-{millions}m.duckdb"
    if target.exists():
        add_customer_key(target)
        return target
    source = demo_source()
    con = duckdb.connect(str(target))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    per_copy = con.execute("SELECT count(*) FROM src.customer_events").fetchone()[0]  # type: ignore[index]
    copies = max(1, round(millions * 1_000_000 / per_copy))
    suffix = "|| '-' || r.range"
    columns = (
        "e.ts, e.seq, e.event_id || '-' || {k} AS event_id, e.type, e.event, "
        "e.event_code, e.channel, e.source, e.data_party, e.revenue, e.cost, e.currency, "
        "e.group_id, e.properties, e.user_id, e.anonymous_id"
    )
    # copy by copy, each in the source's (customer, time) order: the store stays clustered by
    # customer without sorting 100M rows
    for k in range(copies):
        head = "CREATE TABLE customer_events AS" if k == 0 else "INSERT INTO customer_events"
        con.execute(
            f"{head} SELECT e.customer_id || '-{k}' AS customer_id, "
            f"{columns.format(k=k)} FROM src.customer_events e"
        )
    con.execute(
        f"CREATE TABLE customer_profiles AS SELECT p.* REPLACE (p.customer_id {suffix} "
        f"AS customer_id) FROM src.customer_profiles p, range({copies}) r"
    )
    con.execute(
        f"CREATE TABLE accounts AS SELECT a.* REPLACE (a.account_id {suffix} AS "
        f"account_id) FROM src.accounts a, range({copies}) r"
    )
    con.execute(
        f"CREATE TABLE account_members AS SELECT m.* REPLACE (m.account_id {suffix} AS "
        f"account_id, m.customer_id {suffix} AS customer_id) "
        f"FROM src.account_members m, range({copies}) r"
    )
    con.execute("CREATE TABLE event_names AS SELECT * FROM src.event_names")
    con.close()
    add_customer_key(target)
    return target


def add_customer_key(target: Path) -> None:
    """``customer_events.customer_key`` (as identity resolution writes it): an integer in the
    stored (copy, customer) order, so the store stays clustered by it. Adds it to stores built
    before the column existed."""
    con = duckdb.connect(str(target))
    columns = {r[0] for r in con.execute("DESCRIBE customer_events").fetchall()}
    if "customer_key" not in columns:
        con.execute(
            "CREATE TEMP TABLE keys AS SELECT customer_id, row_number() OVER (ORDER BY "
            "split_part(customer_id, '-', 3)::INTEGER, customer_id) AS customer_key "
            "FROM (SELECT DISTINCT customer_id FROM customer_events)"
        )
        con.execute("ALTER TABLE customer_events ADD COLUMN customer_key BIGINT")
        con.execute(
            "UPDATE customer_events SET customer_key = k.customer_key FROM keys k "
            "WHERE k.customer_id = customer_events.customer_id"
        )
    con.close()


def run_one(store: str, model: str) -> None:
    """In a child process: assign stages once, print JSON with time and peak memory."""
    from journeylens.engines import DuckDBEngine
    from journeylens.stages.assign import assign
    from journeylens.stages.model import load_model

    engine = DuckDBEngine(Path(store))
    events = engine.scalar("SELECT count(*) FROM customer_events")
    started = time.perf_counter()
    # the whole job: compute every customer's history and store it in stage_entries
    history = assign(engine, load_model(model), as_of=AS_OF)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        json.dumps(
            {
                "events": events,
                "seconds": seconds,
                "peak_gib": peak,
                "units": history.units,
                "entries": history.entries,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--model", default="five_phases")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(*args.child)
        return
    DATA.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, duckdb {duckdb.__version__}; "
        f"{datetime.now():%Y-%m-%d %H:%M}"
    )
    print("| events | customers | entries | seconds (best of runs) | all runs | peak memory |")
    print("|---:|---:|---:|---:|---|---:|")
    for size in args.sizes:
        store = scaled(size)
        runs = []
        for _ in range(args.repeat):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(store), args.model],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        best = min(runs, key=lambda r: r["seconds"])
        all_runs = ", ".join(f"{r['seconds']:.1f}" for r in runs)
        print(
            f"| {best['events']:,} | {best['units']:,} | {best['entries']:,} | "
            f"{best['seconds']:.1f} | {all_runs} | "
            f"{max(r['peak_gib'] for r in runs):.2f} GiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
