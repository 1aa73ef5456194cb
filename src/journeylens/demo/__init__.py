"""Demo data: a seeded, realistic workspace with a hotel on Lake Garda and a cosmetics shop.

>>> import tempfile
>>> from journeylens.demo import build_demo
>>> with build_demo(tempfile.mkdtemp() + "/demo", customers=40, seed=1) as ws:
...     ws.config.timezone, ws.summary().events > 1000
('Europe/Rome', True)

See docs/demo.md for what it contains and the patterns planted in it.
"""

from __future__ import annotations

from journeylens.demo.generator import CUSTOMERS_PER_BATCH, generate_events
from journeylens.demo.seasons import DEMO_END
from journeylens.demo.workspace import (
    DEFAULT_CUSTOMERS,
    build_demo,
    example_customer,
    write_parquet,
)

__all__ = [
    "CUSTOMERS_PER_BATCH",
    "DEFAULT_CUSTOMERS",
    "DEMO_END",
    "build_demo",
    "example_customer",
    "generate_events",
    "write_parquet",
]
