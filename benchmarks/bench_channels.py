"""How long the channel derivation takes, per million events, on DuckDB.

Builds a batch of canonical rows (explicit_channel, source, event, type, context) whose contexts
mix UTM-tagged landings, referrers, click ids and server events, registers it, and times
``SELECT <channel_expression> ... GROUP BY channel`` — the same SQL the event store runs on
every append. Also times ``normalise_message`` per message, the Python half of ingestion.

    .venv/bin/python benchmarks/bench_channels.py [--rows 1000000] [--seed 7] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pyarrow as pa

from journeylens.config import ChannelRule
from journeylens.engines import DuckDBEngine
from journeylens.events.channels import channel_expression
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.sql import render

CONTEXTS = [
    {"page": {"url": "https://www.shop.it/?utm_source=x"}, "campaign": {"source": "google",
                                                                      "medium": "cpc"}},
    {"page": {"url": "https://www.shop.it/"}, "campaign": {"source": "newsletter",
                                                          "medium": "email", "name": "natale"}},
    {"page": {"url": "https://www.shop.it/", "referrer": "https://www.google.it/"}},
    {"page": {"url": "https://www.shop.it/", "referrer": "https://l.instagram.com/"}},
    {"page": {"url": "https://www.shop.it/", "referrer": "https://blog.example.org/p"}},
    {"page": {"url": "https://www.shop.it/?gclid=abc"}},
    {"page": {"url": "https://www.shop.it/", "referrer": "https://www.shop.it/home"}},
    None,
]  # fmt: skip
WEIGHTS = [0.15, 0.1, 0.2, 0.1, 0.1, 0.05, 0.2, 0.1]


def batch(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(CONTEXTS), size=rows, p=WEIGHTS)
    texts = [json.dumps(c) if c else None for c in CONTEXTS]
    return pa.table(
        {
            "event_id": pa.array([f"e{i}" for i in range(rows)]),
            "explicit_channel": pa.nulls(rows, pa.string()),
            "source": pa.array(["website"] * rows),
            "event": pa.array(np.where(picks == 7, "purchase", "page_viewed")),
            "type": pa.array(np.where(picks == 7, "track", "page")),
            "context": pa.array([texts[p] for p in picks], pa.string()),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    table = batch(args.rows, args.seed)
    rules = [ChannelRule(channel="Partner", utm_source="booking.*")]
    started = time.perf_counter()
    expression = channel_expression(rules)
    sql = render(expression, "duckdb")
    build = time.perf_counter() - started

    engine = DuckDBEngine(None, threads=args.threads)
    query = f"SELECT {sql} AS channel, count(*) AS n FROM batch GROUP BY 1 ORDER BY 2 DESC"
    plain = "SELECT type, count(*) AS n FROM batch GROUP BY 1"
    with engine.registered("batch", table):
        engine.rows(plain)  # warm up
        timings, cpu = [], []
        for _ in range(3):
            started, cpu_started = time.perf_counter(), time.process_time()
            counts = engine.rows(query)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        started = time.perf_counter()
        engine.rows(plain)
        baseline = time.perf_counter() - started
    engine.close()

    defaults = MessageDefaults("website")
    message = {
        "type": "page", "anonymousId": "a-1", "timestamp": "2026-11-22T10:15:00+01:00",
        "sentAt": "2026-11-22T10:15:02+01:00", "messageId": "m-1",
        "context": {"page": {"url": "https://www.shop.it/?utm_source=nl&utm_medium=email",
                             "referrer": "https://www.google.it/"}},
        "properties": {"path": "/", "title": "Home"},
    }  # fmt: skip
    n = 50_000
    started = time.perf_counter()
    for i in range(n):
        normalise_message({**message, "messageId": f"m-{i}"}, defaults, row=i)
    per_message = (time.perf_counter() - started) / n

    best = min(timings)
    print(f"rows: {args.rows:,}  seed: {args.seed}  threads: {args.threads or 'all'}")
    print(f"build + render the expression: {build * 1000:.1f} ms ({len(sql):,} characters)")
    print(f"channel derivation: best {best:.3f} s of {[round(t, 3) for t in timings]} (wall)")
    print(f"  = {best / args.rows * 1e6:.2f} µs per event; a plain GROUP BY takes {baseline:.3f} s")
    print(
        f"  CPU time (all threads): best {min(cpu):.3f} s = {min(cpu) / args.rows * 1e6:.2f} µs "
        "per event"
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"normalise_message: {per_message * 1e6:.1f} µs per message")
    for row in counts:
        print(f"  {row['channel']:<16} {row['n']:>9,}")


if __name__ == "__main__":
    main()
