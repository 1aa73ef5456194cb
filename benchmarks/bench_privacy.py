"""Privacy requests: cost of the suppression check on ingestion, and of a delete.

    python benchmarks/bench_privacy.py [--persons 10000] [--seed 7] [--batches 200]

* ingestion: ``append_events`` of batches of 100 events (as the server writes them) into a
  workspace with no suppression, then with 1,000 suppressed people; the same rows each time
  (new message ids);
* ``SuppressionFilter.is_suppressed`` per message;
* a delete request on a workspace of ``--persons`` people (~10 events each, resolved), against
  a full resolve of the same workspace.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import journeylens
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.store import append_events
from journeylens.privacy import SuppressionFilter


def person_messages(rng: np.random.Generator, persons: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in range(persons):
        anon = f"a-{p}"
        for i in range(int(rng.integers(5, 15))):
            message: dict[str, Any] = {
                "type": "track" if i else "identify",
                "messageId": f"m-{p}-{i}",
                "anonymousId": anon,
                "timestamp": f"2026-11-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
            }
            if i == 0:
                message["userId"] = f"u-{p}"
                message["traits"] = {"email": f"person{p}@example.it", "phone": f"333{p:07d}"}
            else:
                message["event"] = str(rng.choice(["page_viewed", "product_viewed", "purchase"]))
            out.append(message)
    return out


def rows_of(messages: list[dict[str, Any]], tag: str) -> pa.Table:
    defaults = MessageDefaults("web", "first", None, tag)
    rows = []
    for n, m in enumerate(messages, 1):
        rows.append(
            normalise_message({**m, "messageId": f"{tag}-{m['messageId']}"}, defaults, row=n)
        )
    return pa.Table.from_pylist(rows)


def time_batches(ws: journeylens.Workspace, batches: list[pa.Table]) -> list[float]:
    times = []
    for batch in batches:
        start = time.perf_counter()
        with ws.engine.transaction():
            append_events(ws.engine, batch)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        ws = journeylens.create_workspace(Path(tmp) / "ws")
        messages = person_messages(rng, args.persons)
        start = time.perf_counter()
        ws.append_messages(messages, source="web")
        print(f"stored {len(messages):,} events in {time.perf_counter() - start:.1f} s")

        # ingestion: batches of 100 from 50 people unrelated to the suppressed ones
        sample = person_messages(np.random.default_rng(args.seed + 1), 400)
        for label, suppressed in (("no suppressions", 0), ("1,000 people suppressed", 1000)):
            for p in range(suppressed):
                ws.privacy.suppress(f"suppressed{p}@example.it")
            batches = [
                rows_of(sample[i * 100 % (len(sample) - 100) :][:100], f"{label[:2]}{i}")
                for i in range(args.batches)
            ]
            times = np.array(time_batches(ws, batches)) * 1000
            print(
                f"append_events, 100 events, {label}: p50 {np.percentile(times, 50):.1f} ms, "
                f"p99 {np.percentile(times, 99):.1f} ms"
            )
        f = SuppressionFilter.for_workspace(ws.path)
        start = time.perf_counter()
        for m in sample:
            f.is_suppressed(m)
        per = (time.perf_counter() - start) / len(sample) * 1e6
        print(f"SuppressionFilter.is_suppressed: {per:.1f} µs per message ({len(f)} tokens)")

        start = time.perf_counter()
        resolved = ws.resolve_identities(full=True)
        full = time.perf_counter() - start
        print(
            f"full resolve: {resolved.events:,} events, {resolved.customers:,} customers, "
            f"{full:.1f} s"
        )
        start = time.perf_counter()
        request = ws.privacy.delete(f"person{args.persons // 2}@example.it")
        print(f"delete: {request.events_deleted} events, {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        ws.privacy.export(f"u-{args.persons // 3}")
        print(f"export: {time.perf_counter() - start:.2f} s")
        ws.close()
        start = time.perf_counter()
        from journeylens.privacy.compact import compact_store

        result = compact_store(Path(tmp) / "ws")
        print(
            f"compact: {result.bytes_before / 1e6:.0f} MB -> {result.bytes_after / 1e6:.0f} MB, "
            f"{time.perf_counter() - start:.1f} s"
        )


if __name__ == "__main__":
    main()
