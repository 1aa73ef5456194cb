"""Benchmark of the demo generator: generation, Parquet files, and storing in a workspace.

    .venv/bin/python benchmarks/bench_demo.py generate --events 1000000 10000000
    .venv/bin/python benchmarks/bench_demo.py parquet --events 1000000 --out benchmarks/data/demo
    .venv/bin/python benchmarks/bench_demo.py build --customers 3000 16000
    .venv/bin/python benchmarks/bench_demo.py store --events 1000000 --designed

Seeded (seed 7 unless ``--seed``); prints one JSON line per run with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from journeylens import create_workspace
from journeylens.demo import build_demo, generate_events, write_parquet
from journeylens.events.store import append_events


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(memory, 1),
        "load_1min": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
        "date": datetime.now(UTC).date().isoformat(),
    }


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(kind: str, **values: Any) -> None:
    print(
        json.dumps(
            {"benchmark": kind, **values, "peak_rss_mib": round(peak_rss_mib()), **machine()}
        ),
        flush=True,
    )


def bench_generate(events: int, seed: int, designed: bool, workers: int) -> None:
    """Generate until ``events`` rows (no storing): the generator's own speed."""
    started, cpu = time.perf_counter(), time.process_time()
    done = people = 0
    tables = generate_events(events // 20 + 100, seed=seed, designed_channel=designed,
                             workers=workers)  # fmt: skip
    for table in tables:
        done += table.num_rows
        people += 5_000
        if done >= events:
            break
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    report("generate", events=done, people=people, workers=workers, seconds=round(seconds, 2),
           cpu_seconds=round(cpu, 2), events_per_second=round(done / seconds),
           cpu_us_per_event=round(cpu / done * 1e6, 2))  # fmt: skip


def bench_parquet(events: int, seed: int, out: Path, designed: bool, workers: int) -> None:
    folder = out / f"demo-{events}"
    shutil.rmtree(folder, ignore_errors=True)
    started, cpu = time.perf_counter(), time.process_time()
    paths = write_parquet(folder, events=events, seed=seed, workers=workers,
                          channel="designed" if designed else "explicit")  # fmt: skip
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    size = sum(p.stat().st_size for p in paths)
    report(
        "parquet",
        events=events,
        files=len(paths),
        mib=round(size / 2**20),
        workers=workers,
        seconds=round(seconds, 2),
        cpu_seconds_main_process=round(cpu, 2),
        events_per_second=round(events / seconds),
    )


def bench_build(customers: int, seed: int) -> None:
    """build_demo as the CLI runs it: generation plus storing with the store's channel rules."""
    folder = Path(tempfile.mkdtemp(prefix="jl-demo-bench-"))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        with build_demo(folder / "ws", customers=customers, seed=seed) as ws:
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            events = ws.summary().events
        report(
            "build_demo",
            customers=customers,
            events=events,
            seconds=round(seconds, 2),
            cpu_seconds=round(cpu, 2),
            events_per_second=round(events / seconds),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_store(events: int, seed: int, designed: bool) -> None:
    """Generation and append_events, timed apart, batch by batch (one transaction each)."""
    folder = Path(tempfile.mkdtemp(prefix="jl-demo-store-"))
    try:
        ws = create_workspace(folder / "ws", timezone="Europe/Rome")
        generate_s = store_s = store_cpu = 0.0
        done = 0
        tables = iter(generate_events(events // 20 + 100, seed=seed, designed_channel=designed))
        while done < events:
            t0 = time.perf_counter()
            table = next(tables)
            table = table.slice(0, min(table.num_rows, events - done))
            t1, c1 = time.perf_counter(), time.process_time()
            with ws.engine.transaction():
                append_events(ws.engine, table, ws.config.channel_rules)
            t2 = time.perf_counter()
            generate_s += t1 - t0
            store_s += t2 - t1
            store_cpu += time.process_time() - c1
            done += table.num_rows
        ws.close()
        report(
            "store",
            events=done,
            channels="designed" if designed else "derived",
            generate_seconds=round(generate_s, 2),
            append_seconds=round(store_s, 2),
            append_cpu_seconds=round(store_cpu, 2),
            append_events_per_second=round(done / store_s),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["generate", "parquet", "build", "store"])
    parser.add_argument("--events", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--customers", type=int, nargs="*", default=[3_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--designed",
        action="store_true",
        help="designed channels instead of explicit_channel + derivation",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--workers", type=int, default=1, help="generator processes")
    args = parser.parse_args()
    if args.what == "build":
        for customers in args.customers:
            bench_build(customers, args.seed)
        return
    for events in args.events:
        if args.what == "generate":
            bench_generate(events, args.seed, args.designed, args.workers)
        elif args.what == "parquet":
            bench_parquet(events, args.seed, args.out, args.designed, args.workers)
        else:
            bench_store(events, args.seed, args.designed)


if __name__ == "__main__":
    main()
