"""Fixtures for the file-import tests: example files, mapping writers, a workspace in Rome."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from journeylens.events.mapping import shipped_mappings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

Writer = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """``write("name.csv", text, encoding="utf-8")`` → the path of a new file in tmp_path."""

    def _write(name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        return path

    return _write


@pytest.fixture
def shipped() -> dict[str, Path]:
    return shipped_mappings()
