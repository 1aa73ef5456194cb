"""Import throughput: N synthetic canonical-ish events as Parquet and as CSV, each imported
without a mapping into a fresh workspace, in a child process (so that its peak memory is its
own). Reproducible: the data come from a seeded generator.

    .venv/bin/python benchmarks/bench_import.py              # 10M rows
    .venv/bin/python benchmarks/bench_import.py --rows 1000000 --formats parquet
    .venv/bin/python benchmarks/bench_import.py --peer --repeat 3   # with DuckDB's bare INSERT

Data files go to benchmarks/data/ (git-ignored) and are reused when present with the same
row count. Results are printed as a Markdown table (see benchmarks/RESULTS.md, "Import").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
EVENTS = ["page_viewed", "product_viewed", "add_to_cart", "purchase", "newsletter_opened"]
WEIGHTS = [0.45, 0.3, 0.12, 0.05, 0.08]


def generate(rows: int, seed: int = 20261130) -> pa.Table:
    """Canonical columns of a web shop's events: ids, type, event, users, time, revenue."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(len(EVENTS), size=rows, p=WEIGHTS)
    users = rng.integers(0, max(rows // 20, 1), size=rows)
    start = np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64)
    seconds = start + rng.integers(0, 365 * 86400, size=rows)
    purchase = kind == EVENTS.index("purchase")
    cents = rng.integers(500, 50_000, size=rows)

    def prefixed(prefix: str, numbers: np.ndarray) -> pa.Array:
        return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")

    product = rng.integers(0, 5000, size=rows)
    has_product = (kind == 1) | (kind == 2) | purchase
    return pa.table(
        {
            "event_id": prefixed("ev-", np.arange(rows)),
            "type": pc.take(pa.array(["page", "track", "track", "track", "track"]), pa.array(kind)),
            "event": pc.take(pa.array(EVENTS), pa.array(kind)),
            "user_id": pc.if_else(
                pa.array(users % 3 == 0), prefixed("u", users), pa.scalar(None, pa.string())
            ),
            "anonymous_id": prefixed("a", users * 7 + 1),
            "ts": pa.array(seconds.astype("datetime64[s]")).cast(pa.timestamp("us")),
            "revenue": pa.array(cents / 100.0, mask=~purchase),
            "currency": pc.if_else(pa.array(purchase), "EUR", pa.scalar(None, pa.string())),
            "product_id": pc.if_else(
                pa.array(has_product), prefixed("SKU-", product), pa.scalar(None, pa.string())
            ),
        }
    )


def write_data(rows: int) -> dict[str, Path]:
    DATA.mkdir(exist_ok=True)
    paths = {"parquet": DATA / f"events_{rows}.parquet", "csv": DATA / f"events_{rows}.csv"}
    if all(p.exists() for p in paths.values()):
        return paths
    table = generate(rows)
    pq.write_table(table, paths["parquet"], row_group_size=1 << 20)
    text = table.set_column(5, "ts", pc.strftime(table["ts"], "%Y-%m-%dT%H:%M:%SZ"))
    pcsv.write_csv(text, paths["csv"], pcsv.WriteOptions(quoting_style="needed"))
    return paths


def child(path: str) -> None:
    """Runs in the child process: one import into a fresh workspace; prints JSON."""
    import journeylens

    folder = tempfile.mkdtemp(prefix="jl-bench-")
    try:
        with journeylens.create_workspace(Path(folder) / "ws") as ws:
            started = time.perf_counter()
            report = ws.import_file(path)
            seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(
            json.dumps(
                {
                    "seconds": seconds,
                    "stored": report.stored,
                    "read": report.read,
                    "cpu": usage.ru_utime + usage.ru_stime,
                    "peak_rss_mb": usage.ru_maxrss / 1024,
                }
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The peer: DuckDB storing the same file into the same ``events`` table by itself, with no
# mapping, checks, channel rules or dedupe (the ceiling of any import into the DuckDB store).
_BARE = (
    "INSERT INTO events (event_id, type, event, anonymous_id, user_id, ts, received_at, "
    "channel, source, data_party, revenue, currency, properties, import_id) "
    "SELECT event_id, type, event, anonymous_id, user_id, ts, ts, 'Direct', 'file', 'first', "
    "revenue, currency, CASE WHEN product_id IS NOT NULL "
    "THEN json_object('product_id', product_id) END, 'bare' FROM {reader}"
)


def bare_child(path: str) -> None:
    """Runs in the child process: the peer's insert into a fresh workspace; prints JSON."""
    import journeylens

    reader = "read_parquet(?)" if path.endswith(".parquet") else "read_csv(?, header = true)"
    folder = tempfile.mkdtemp(prefix="jl-bench-")
    try:
        with journeylens.create_workspace(Path(folder) / "ws") as ws:
            engine = ws.engine
            started = time.perf_counter()
            engine.execute(_BARE.format(reader=reader), [path])
            seconds = time.perf_counter() - started
            stored = engine.scalar("SELECT count(*) FROM events")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(
            json.dumps(
                {
                    "seconds": seconds,
                    "stored": stored,
                    "cpu": usage.ru_utime + usage.ru_stime,
                    "peak_rss_mb": usage.ru_maxrss / 1024,
                }
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument(
        "--peer", action="store_true", help="also time DuckDB's bare INSERT of each file"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each import this many times, journeylens and the peer alternately, and add "
        "a line with the median of each",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--bare-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.bare_child:
        bare_child(args.bare_child)
        return
    paths = write_data(args.rows)
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}"
    )
    print("| format | who | rows | file MB | seconds | events/s | CPU s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    runs = [("journeylens", "--child")] + ([("DuckDB INSERT", "--bare-child")] if args.peer else [])
    for fmt in args.formats.split(","):
        path = paths[fmt]
        results: dict[str, list[dict[str, float]]] = {who: [] for who, _ in runs}
        for _ in range(args.repeat):
            for who, flag in runs:
                result = _run(flag, path)
                assert result["stored"] == args.rows, result
                results[who].append(result)
                _row(fmt, who, args.rows, path, result)
        if args.repeat > 1:
            for who, _ in runs:
                median = {
                    key: statistics.median(r[key] for r in results[who])
                    for key in ("seconds", "cpu", "peak_rss_mb")
                }
                _row(fmt, f"{who}, median of {args.repeat}", args.rows, path, median)


def _run(flag: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, flag, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _row(fmt: str, who: str, rows: int, path: Path, result: dict[str, float]) -> None:
    rate = rows / result["seconds"]
    print(
        f"| {fmt} | {who} | {rows:,} | {path.stat().st_size / 1e6:,.0f} | "
        f"{result['seconds']:.1f} | {rate:,.0f} | {result['cpu']:.1f} | "
        f"{result['peak_rss_mb']:,.0f} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
