"""Sustained HTTP ingestion: events/s and latency with batches of 100 from concurrent clients.

Starts ``journeylens serve`` (durability on: every 200 follows an fsync of the journal) on
127.0.0.1 over a fresh workspace, optionally pre-filled with events (dedupe then runs against a
big table), and runs ``--clients`` client threads that post pre-encoded Segment batches over
keep-alive connections for ``--seconds``. Then it waits until the loader has moved every
acknowledged event into ``events.duckdb`` and checks that exactly the acknowledged ids are there.

    .venv/bin/python benchmarks/bench_ingest.py --clients 8 --seconds 30
    .venv/bin/python benchmarks/bench_ingest.py --prefill 5000000 --workers 2
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

import journeylens
from journeylens.server import KeyStore

PAGES = ["/", "/products/a", "/products/b", "/cart", "/checkout"]


def batch_body(
    rng: random.Random, client: int, number: int, size: int, *, varied: bool = False
) -> bytes:
    """One Segment batch. ``varied``: what real traffic varies from event to event — the time
    (to the millisecond), the landing URL's campaign, the IP, a null property — so that no
    per-text cache of the server helps more than it would in production."""
    events = []
    for i in range(size):
        user = rng.randrange(100_000)
        timestamp = "2026-11-20T10:00:00.000Z"
        landing = "https://shop.example/?utm_source=google&utm_medium=cpc"
        ip = "10.1.2.3"
        if varied:
            timestamp = (
                f"2026-11-20T10:{i % 60:02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z"
            )
            landing = f"https://shop.example/?utm_source=news&utm_campaign=c{rng.randrange(5000)}"
            ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        event = {
            "type": "track" if i % 4 else "page",
            "event": "product_viewed",
            "userId": f"u{user}",
            "anonymousId": f"a-{user}",
            "messageId": f"c{client}-{number}-{i}",
            "timestamp": timestamp,
            "properties": {
                "sku": f"sku-{rng.randrange(500)}",
                "price": 19.9,
                "url": "https://shop.example" + rng.choice(PAGES),
            },
            "context": {
                "library": {"name": "analytics-python", "version": "2.4.0"},
                "ip": ip,
                "locale": "it-IT",
                "page": {"url": landing},
            },
        }
        if varied:
            event["properties"]["coupon"] = None  # type: ignore[index]
        events.append(event)
    return orjson.dumps({"batch": events, "sentAt": "2026-11-20T10:00:01.000Z"})


class Client(threading.Thread):
    def __init__(self, number: int, port: int, key: str, bodies: list[bytes], until: float) -> None:
        super().__init__(daemon=True)
        self.number, self.port, self.bodies, self.until = number, port, bodies, until
        self.auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        self.latencies: list[float] = []
        self.acked = 0
        self.other: dict[int, int] = {}

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": self.auth, "Content-Type": "application/json"}
        index = 0
        while time.monotonic() < self.until and index < len(self.bodies):
            body = self.bodies[index]
            started = time.perf_counter()
            connection.request("POST", "/v1/batch", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            self.latencies.append(time.perf_counter() - started)
            if response.status == 200:
                self.acked += 1
                index += 1
            else:
                self.other[response.status] = self.other.get(response.status, 0) + 1
                time.sleep(float(response.getheader("Retry-After") or 0.1))
        connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prefill(folder: Path, n: int) -> None:
    with journeylens.open_workspace(folder) as ws:
        ws.engine.execute(
            "INSERT INTO events (event_id, type, event, user_id, ts, received_at, channel, source, "
            "data_party, properties) SELECT uuid()::VARCHAR, 'track', 'product_viewed', "
            "'u' || (i % 100000)::VARCHAR, TIMESTAMP '2026-01-01' + to_seconds(i % 10000000), "
            "now()::TIMESTAMP, 'Direct', 'prefill', 'first', '{}' FROM range(?) t(i)",
            [n],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--prefill", type=int, default=0, help="events stored before the run")
    parser.add_argument("--rate", type=int, default=40_000, help="events/s to prepare bodies for")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--varied",
        action="store_true",
        help="vary times, campaign URLs and IPs per event (see batch_body)",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    folder = root / "ws"
    journeylens.create_workspace(folder).close()
    if args.prefill:
        t = time.perf_counter()
        prefill(folder, args.prefill)
        print(f"prefilled {args.prefill:,} events in {time.perf_counter() - t:.1f} s")
    key = KeyStore(folder).create("write", source="bench").secret
    rng = random.Random(args.seed)
    per_client = int(args.rate * args.seconds / args.batch / args.clients) + 1
    bodies = [
        [batch_body(rng, c, n, args.batch, varied=args.varied) for n in range(per_client)]
        for c in range(args.clients)
    ]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from journeylens.cli.main import main; main()", "-w", str(folder),
         "serve", "--port", str(port), "--workers", str(args.workers)],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        time.sleep(0.5)
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        clients = [
            Client(c, port, key, bodies[c], started + args.seconds) for c in range(args.clients)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.monotonic() - started
        own = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime
        latencies = sorted(x for c in clients for x in c.latencies)
        acked = sum(c.acked for c in clients) * args.batch
        others: dict[int, int] = {}
        for c in clients:
            for status, count in c.other.items():
                others[status] = others.get(status, 0) + count
        q = statistics.quantiles(latencies, n=100)
        print(
            f"clients={args.clients} workers={args.workers} batch={args.batch} "
            f"varied={args.varied} "
            f"prefill={args.prefill:,} seconds={elapsed:.1f}"
        )
        print(f"acknowledged: {acked:,} events = {acked / elapsed:,.0f} events/s "
              f"({len(latencies) / elapsed:,.0f} requests/s); other answers: {others}")  # fmt: skip
        print(f"latency ms: p50 {q[49] * 1e3:.1f}  p90 {q[89] * 1e3:.1f}  p99 {q[98] * 1e3:.1f}  "
              f"max {latencies[-1] * 1e3:.1f}")  # fmt: skip
        t = time.monotonic()
        server.send_signal(signal.SIGTERM)  # a clean stop loads what is left
        server.wait(timeout=120)
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = done.ru_utime + done.ru_stime
        print(
            f"CPU: server processes {server_cpu:.1f} s in all (start, run, final load: "
            f"{server_cpu / acked * 1e6:.0f} µs per acknowledged event); clients "
            f"{client_cpu:.1f} s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        with journeylens.open_workspace(folder) as ws:
            stored = ws.engine.scalar(
                "SELECT count(DISTINCT event_id) FROM events WHERE source = 'bench'"
            )
            total = ws.engine.scalar("SELECT count(*) FROM events WHERE source = 'bench'")
        print(f"after the run: loader finished in {time.monotonic() - t:.1f} s; stored "
              f"{stored:,} distinct ({total:,} rows) of {acked:,} acknowledged")  # fmt: skip
        assert stored == total and stored >= acked
    finally:
        if server.poll() is None:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
