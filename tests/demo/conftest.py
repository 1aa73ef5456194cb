"""Demo workspaces shared by the demo tests (built once per test session).

* ``demo_ws``: 2,000 people, seed 7, the channels as designed (fast to store): the planted
  patterns are measured on it.
* ``derived_ws``: 300 people, seed 11, built exactly as the CLI builds it (channels derived by
  the store's SQL rules).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journeylens import Workspace
from journeylens.demo import build_demo

PATTERN_CUSTOMERS = 2_000
PATTERN_SEED = 7
DERIVED_CUSTOMERS = 300
DERIVED_SEED = 11


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    path: Path = tmp_path_factory.mktemp("demo") / "ws"
    ws = build_demo(path, customers=PATTERN_CUSTOMERS, seed=PATTERN_SEED, derive_channels=False)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def derived_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    path: Path = tmp_path_factory.mktemp("demo-derived") / "ws"
    ws = build_demo(path, customers=DERIVED_CUSTOMERS, seed=DERIVED_SEED)
    yield ws
    ws.close()


def one(ws: Workspace, sql: str, params: list[Any] | None = None) -> dict[str, Any]:
    rows = ws.engine.rows(sql, params)
    assert len(rows) == 1, rows
    return rows[0]


def by(
    ws: Workspace, key: str, sql: str, params: list[Any] | None = None
) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in ws.engine.rows(sql, params)}
