"""``journeylens funnel …`` and ``journeylens paths …`` through the CLI runner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import journeylens
import journeylens.cli.main  # registers the commands before cli.funnels loads
from journeylens.cli.funnels import parse_step, parse_window
from journeylens.cli.main import app
from journeylens.errors import ConfigError
from tests.paths.test_paths import LOG
from tests.stages.conftest import load

runner = CliRunner()
AS_OF = ["--as-of", "2026-06-01"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("cli") / "ws"
    with journeylens.create_workspace(path) as ws:
        load(ws.engine, [*LOG, ("c3", "2026-01-01 10:00", "buy", {"total": 80})])
    return str(path)


def invoke(folder: str, *args: str) -> str:
    result = runner.invoke(app, ["-w", folder, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_funnel_run_json_csv_and_figure(folder: str, tmp_path: Path) -> None:
    figure = tmp_path / "funnel.html"
    out = invoke(
        folder,
        "funnel",
        "run",
        "home",
        "view",
        "buy",
        "--window",
        "1h",
        *AS_OF,
        "-f",
        "json",
        "--figure",
        str(figure),
    )
    rows = json.loads(out)
    assert [r["units"] for r in rows] == [2, 2, 1]
    assert rows[2]["median_seconds_from_previous"] == 540
    assert "plotly" in figure.read_text(encoding="utf-8")[:20_000].lower()
    table = list(
        csv.DictReader(
            io.StringIO(
                invoke(
                    folder, "funnel", "run", "view", "buy where total >= 50", *AS_OF, "-f", "csv"
                )
            )
        )
    )
    assert [r["units"] for r in table] == ["3", "1"]


def test_funnel_units_and_trend(folder: str) -> None:
    out = invoke(
        folder,
        "funnel",
        "units",
        "home",
        "view",
        "buy",
        "--step",
        "2",
        "--status",
        "dropped",
        "--window",
        "1h",
        *AS_OF,
        "-f",
        "json",
    )
    assert json.loads(out) == [{"unit_id": "c2"}]
    trend = json.loads(invoke(folder, "funnel", "trend", "home", "buy", *AS_OF, "-f", "json"))
    assert trend == [{"period": "2025-12-29", "units": 2, "converted": 2, "conversion": 1.0}]


def test_paths_commands(folder: str, tmp_path: Path) -> None:
    graph = json.loads(
        invoke(
            folder,
            "paths",
            "transitions",
            *AS_OF,
            "-f",
            "json",
            "--figure",
            str(tmp_path / "g.html"),
        )
    )
    assert {(r["from_event"], r["to_event"]): r["transitions"] for r in graph}[
        ("home", "view")
    ] == 2
    top = json.loads(
        invoke(
            folder,
            "paths",
            "top",
            "--start",
            "home",
            "--steps",
            "2",
            *AS_OF,
            "-f",
            "json",
            "--figure",
            str(tmp_path / "s.html"),
        )
    )
    assert top[0] == {"path": "home > view", "occurrences": 2, "units": 2}
    matrix = json.loads(
        invoke(folder, "paths", "matrix", "--steps", "2", "--sessions", *AS_OF, "-f", "json")
    )
    assert sum(c["share"] for c in matrix if c["step"] == 1) == pytest.approx(1.0)
    between = json.loads(invoke(folder, "paths", "between", "home", "buy", *AS_OF, "-f", "json"))
    assert between["units"] == 2


def test_bad_input_is_one_line(folder: str) -> None:
    result = runner.invoke(app, ["-w", folder, "funnel", "run", "home", "--window", "1d"])
    assert result.exit_code == 2
    assert "2 to 20 steps" in result.stderr


def test_parsers() -> None:
    assert parse_window("7d") == 604_800
    assert parse_window("90") == 90
    assert parse_window("none") is None
    with pytest.raises(ConfigError):
        parse_window("soon")
    step = parse_step("buy where total >= 50 and currency = EUR")
    assert step.event == "buy" and len(step.where) == 2
    assert parse_step("any").event is None
