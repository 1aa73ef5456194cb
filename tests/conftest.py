"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import journeylens
from journeylens import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """An empty workspace in a temporary folder (a real DuckDB file), reporting in Europe/Rome."""
    with journeylens.create_workspace(tmp_path / "ws", timezone="Europe/Rome") as ws:
        yield ws
