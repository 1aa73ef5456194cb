"""Benchmark: identity resolution on a synthetic shop with 1M customers and ~10M identifiers.

    .venv/bin/python benchmarks/bench_identity.py [--customers 1000000] [--seed 42] [--keep DIR]
        [--outputs DIR]
    .venv/bin/python benchmarks/bench_identity.py --diff BEFORE AFTER

The events are generated from a seeded NumPy generator (the same seed gives the same events)
straight into a workspace's ``events`` table; then, each in a fresh process so that the peak
memory (max RSS) is that of the step alone:

1. a full resolve (the first run);
2. an incremental resolve after 10,000 new events (new visitors, returning customers, a few
   merges);
3. a second full resolve (``full=True``).

Per customer: 1 + Poisson(7) anonymous ids (one page view each); 70% log in (user id; an
``identify`` with email on the first anonymous id and on each other one with probability ½),
85% of those give an email and 35% a phone (half written ``+39 3xx…``, half ``3xx…``); 30% of
those with an email also come from the CRM under another user id with the same email. A kiosk
anonymous id shared by 200 users and a shop email on 1,000 CRM rows exercise the guard.

``--outputs DIR`` writes what each resolve produced (every public table and view, sorted, as
Parquet; the result's counts as JSON) to ``DIR/<step>/``; ``--diff BEFORE AFTER`` compares two
such folders table by table (run it with the code before and after a change: same seed, same
events, so the outputs must be identical).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import journeylens

PAGE, IDENTIFY, CRM = 0, 1, 2

# What a resolve produces, in a stable order (customer_events also in its stored order: the
# rows whose (customer_key, ts, event_id) is below the previous row's, 0 when clustered).
OUTPUTS = {
    "customer_events": "SELECT * FROM customer_events ORDER BY customer_key, ts, event_id",
    "customer_events_unclustered": (
        "SELECT count(*) AS rows FROM (SELECT customer_key, ts, event_id, "
        "lag(customer_key) OVER w AS pk, lag(ts) OVER w AS pt, lag(event_id) OVER w AS pe "
        "FROM (SELECT rowid AS r, * FROM customer_events) WINDOW w AS (ORDER BY r)) "
        "WHERE pk IS NOT NULL AND (pk, pt, pe) > (customer_key, ts, event_id)"
    ),
    "event_names": "SELECT * FROM event_names ORDER BY event_code",
    "customer_profiles": "SELECT * FROM customer_profiles ORDER BY customer_id",
    "accounts": "SELECT * FROM accounts ORDER BY account_id",
    "account_members": "SELECT * FROM account_members ORDER BY account_id, customer_id",
    "identity_identifiers": "SELECT * FROM identity_identifiers ORDER BY ALL",
    "identity_links": "SELECT * FROM identity_links ORDER BY ALL",
    "identity_quarantine": "SELECT * FROM identity_quarantine ORDER BY ALL",
}
_VARYING = ("seconds", "phases", "cpu_seconds", "peak_rss_gib")

_INSERT = (
    "INSERT INTO events SELECT 'e' || lpad(i::VARCHAR, 9, '0'), "
    "CASE kind WHEN 0 THEN 'page' ELSE 'identify' END, "
    "CASE kind WHEN 0 THEN 'page_viewed' ELSE 'identify' END, "
    "CASE WHEN anon >= 0 THEN 'a' || anon END, "
    "CASE WHEN kind = 2 THEN 'crm-' || usr WHEN usr >= 0 THEN 'u' || usr END, "
    "NULL, NULL, TIMESTAMP '2026-01-01' + to_seconds(secs), NULL, NULL, "
    "TIMESTAMP '2026-01-01' + to_seconds(secs), 'Direct', "
    "CASE kind WHEN 2 THEN 'crm' ELSE 'web' END, 'first', NULL, NULL, NULL, "
    "CASE kind WHEN 0 THEN '{\"path\": \"/p\"}' ELSE '{}' END, "
    "CASE WHEN kind > 0 THEN json_object("
    " 'email', CASE WHEN shop THEN 'info@shop.example' WHEN email "
    "  THEN 'Customer.' || usr || '@Example.com' END,"
    " 'phone', CASE WHEN phone AND usr % 2 = 0 THEN '+39 3' || lpad(usr::VARCHAR, 9, '0')"
    "  WHEN phone THEN '3' || lpad(usr::VARCHAR, 9, '0') END,"
    " 'name', 'Customer ' || usr) END, NULL, ? FROM _bench"
)


def generate(customers: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    n_anon = 1 + rng.poisson(7, customers)
    identified = rng.random(customers) < 0.7
    email = identified & (rng.random(customers) < 0.85)
    phone = identified & (rng.random(customers) < 0.35)
    crm = email & (rng.random(customers) < 0.3)
    owner = np.repeat(np.arange(customers), n_anon)
    anons = len(owner)
    first_anon = np.cumsum(n_anon) - n_anon
    start = rng.integers(0, 300 * 86400, customers)
    page_secs = start[owner] + rng.integers(0, 60 * 86400, anons)
    logs_in = identified[owner] & (
        (np.arange(anons) == first_anon[owner]) | (rng.random(anons) < 0.5)
    )
    ident_anon = np.flatnonzero(logs_in)
    crm_users = np.flatnonzero(crm)
    kiosk_users = rng.choice(np.flatnonzero(identified), 200, replace=False)
    shop_rows = 1000
    kind = np.concatenate(
        [
            np.full(anons, PAGE),
            np.full(len(ident_anon), IDENTIFY),
            np.full(len(crm_users), CRM),
            np.full(200, IDENTIFY),
            np.full(shop_rows, CRM),
        ]
    )
    shop_ids = customers + np.arange(shop_rows)  # CRM rows of other people, all with the shop email
    table = pa.table(
        {
            "kind": kind,
            "anon": np.concatenate(
                [
                    np.arange(anons),
                    ident_anon,
                    np.full(len(crm_users), -1),
                    np.full(200, anons),
                    np.full(shop_rows, -1),  # anons = the kiosk's anonymous id
                ]
            ),
            "usr": np.concatenate(
                [
                    np.full(anons, -1),
                    owner[ident_anon],
                    crm_users,
                    kiosk_users,
                    shop_ids,
                ]
            ),
            "secs": np.concatenate(
                [
                    page_secs,
                    page_secs[ident_anon] + 30,
                    start[crm_users] - 86400,
                    start[kiosk_users] + 99,
                    np.arange(shop_rows),
                ]
            ),
            "email": np.concatenate(
                [
                    np.zeros(anons, bool),
                    email[owner[ident_anon]],
                    np.ones(len(crm_users), bool),
                    email[kiosk_users],
                    np.zeros(shop_rows, bool),
                ]
            ),
            "phone": np.concatenate(
                [
                    np.zeros(anons, bool),
                    phone[owner[ident_anon]],
                    np.zeros(len(crm_users), bool),
                    np.zeros(200, bool),
                    np.zeros(shop_rows, bool),
                ]
            ),
            "shop": np.concatenate(
                [np.zeros(len(kind) - shop_rows, bool), np.ones(shop_rows, bool)]
            ),
        }
    )
    order = rng.permutation(table.num_rows)  # arrival order unrelated to customers
    return table.take(pa.array(order)).append_column("i", pa.array(np.arange(table.num_rows)))


def load(folder: Path, customers: int, seed: int) -> dict[str, int]:
    table = generate(customers, seed)
    with journeylens.create_workspace(folder) as ws:
        with ws.engine.registered("_bench", table):
            ws.engine.execute(_INSERT, ["bench-1"])
        return {"events": int(ws.engine.scalar("SELECT count(*) FROM events"))}


def append_increment(folder: Path, customers: int, seed: int) -> None:
    """10,000 new events: 5,000 page views of new visitors, 4,000 of existing anonymous ids,
    1,000 logins of new anonymous ids into existing user ids."""
    rng = np.random.default_rng(seed + 1)
    with journeylens.open_workspace(folder) as ws:
        top = ws.engine.scalar("SELECT count(*) FROM events")
        known = int(ws.engine.scalar("SELECT count(DISTINCT anonymous_id) FROM events"))
        table = pa.table(
            {
                "kind": np.r_[np.full(9000, PAGE), np.full(1000, IDENTIFY)],
                "anon": np.r_[
                    known + 10 + np.arange(5000),
                    rng.integers(0, known, 4000),
                    known + 10_000 + np.arange(1000),
                ],
                "usr": np.r_[np.full(9000, -1), rng.integers(0, customers, 1000)],
                "secs": np.full(10000, 330 * 86400),
                "email": np.zeros(10000, bool),
                "phone": np.zeros(10000, bool),
                "shop": np.zeros(10000, bool),
                "i": top + np.arange(10000),
            }
        )
        with ws.engine.registered("_bench", table):
            ws.engine.execute(_INSERT, ["bench-2"])


def step(folder: Path, full: bool, outputs: Path | None = None) -> dict[str, object]:
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu = before.ru_utime + before.ru_stime
    start = time.perf_counter()
    with journeylens.open_workspace(folder) as ws:
        result = ws.resolve_identities(full=full)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        seconds = time.perf_counter() - start
        identifiers = ws.engine.scalar("SELECT count(*) FROM _identity_nodes")
        if outputs:
            outputs.mkdir(parents=True, exist_ok=True)
            for name, query in OUTPUTS.items():
                pq.write_table(ws.engine.arrow(query), outputs / f"{name}.parquet")
            counts = {k: v for k, v in result.to_dict().items() if k not in _VARYING}
            (outputs / "result.json").write_text(json.dumps(counts, indent=1, sort_keys=True))
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu, 1),
        "peak_rss_gib": round(usage.ru_maxrss / 2**20, 2),
        "identifiers_total": identifiers,
        **{k: v for k, v in result.to_dict().items() if k != "warnings"},
        "warnings": len(result.warnings),
    }


def diff(before: Path, after: Path) -> bool:
    """Print the outputs that differ between two ``--outputs`` folders; True when none do."""
    same = True
    for folder in sorted(p.relative_to(before) for p in before.iterdir() if p.is_dir()):
        old, new = before / folder, after / folder
        if json.loads((old / "result.json").read_text()) != json.loads(
            (new / "result.json").read_text()
        ):
            print(f"{folder}: result counts differ")
            same = False
        for name in OUTPUTS:
            a, b = pq.read_table(old / f"{name}.parquet"), pq.read_table(new / f"{name}.parquet")
            status = "same" if a.equals(b) else "DIFFERENT"
            same &= status == "same"
            print(f"{folder}: {name}: {status} ({a.num_rows} / {b.num_rows} rows)")
    return same


def _child(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="folder for the workspace (kept)")
    parser.add_argument("--step", choices=["load", "full", "incremental", "append"])
    parser.add_argument("--label", default="run", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--outputs", type=Path, help="write each resolve's outputs here")
    parser.add_argument("--diff", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.diff:
        sys.exit(0 if diff(*args.diff) else 1)
    if args.step:
        if args.step == "load":
            print(json.dumps(load(args.folder, args.customers, args.seed)))
        elif args.step == "append":
            append_increment(args.folder, args.customers, args.seed)
            print("{}")
        else:
            outputs = args.outputs / args.label if args.outputs else None
            print(json.dumps(step(args.folder, full=args.step == "full", outputs=outputs)))
        return
    if args.keep:
        run(args, args.keep / "ws")
        return
    with tempfile.TemporaryDirectory(prefix="jl-bench-identity-") as base:
        run(args, Path(base) / "ws")


def run(args: argparse.Namespace, folder: Path) -> None:
    common = ["--customers", str(args.customers), "--seed", str(args.seed), "--folder", str(folder)]
    if args.outputs:
        common += ["--outputs", str(args.outputs)]
    started = time.perf_counter()
    print("load", _child("--step", "load", *common), f"{time.perf_counter() - started:.0f} s")
    print("full resolve (first run)", _child("--step", "full", "--label", "1-full", *common))
    _child("--step", "append", *common)
    print(
        "incremental resolve (+10,000 events)",
        _child("--step", "incremental", "--label", "2-incremental", *common),
    )
    print("full resolve (full=True)", _child("--step", "full", "--label", "3-full-again", *common))


if __name__ == "__main__":
    main()
