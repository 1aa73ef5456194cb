"""``journeylens attribution …`` through the CLI runner, on a real workspace."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from journeylens.cli.main import app
from tests.attribution.test_attribution import LOG

runner = CliRunner()


def _run(ws: Any, *args: str) -> Any:
    ws.close()  # the CLI opens the workspace itself
    return runner.invoke(app, ["-w", str(ws.path), "attribution", *args])


def test_run_paths_and_roi_as_json(loaded: Any, tmp_path: Any) -> None:
    ws = loaded(LOG)
    result = _run(
        ws, "run", "-m", "first_touch", "-m", "linear", "--as-of", "2026-05-31", "-f", "json"
    )
    assert result.exit_code == 0, result.output
    rows = {r["channel"]: r for r in json.loads(result.output)}
    assert rows["Paid Search"]["first_touch"] == 1 and rows["Email"]["linear"] == 1.5
    paths = runner.invoke(
        app, ["-w", str(ws.path), "attribution", "paths", "--as-of", "2026-05-31", "-f", "csv"]
    )
    assert paths.exit_code == 0 and "Paid Search > Email,1.0,100.0,0.0,1.0" in paths.output
    figure = tmp_path / "roi.html"
    roi = runner.invoke(
        app,
        [
            "-w",
            str(ws.path),
            "attribution",
            "roi",
            "--as-of",
            "2026-05-31",
            "-f",
            "json",
            "--figure",
            str(figure),
        ],
    )
    assert roi.exit_code == 0 and figure.exists()
    assert {r["touchpoint"] for r in json.loads(roi.stdout)} == {"Paid Search", "Display"}


def test_errors_are_one_line(loaded: Any) -> None:
    ws = loaded(LOG)
    result = _run(ws, "run", "--level", "country")
    assert result.exit_code == 2
    assert (
        result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1
    )
    bad = runner.invoke(app, ["-w", str(ws.path), "attribution", "run", "--lookback", "soon"])
    assert bad.exit_code == 2 and "lookback" in bad.output
