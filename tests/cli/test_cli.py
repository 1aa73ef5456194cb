"""The CLI through Typer's runner: output formats, one-line errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import journeylens
from journeylens.cli.main import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_then_summary_json(tmp_path: Path) -> None:
    folder = str(tmp_path / "ws")
    code, out, _ = run("-w", folder, "init", "--timezone", "Europe/Rome")
    assert code == 0 and "created workspace" in out
    with journeylens.open_workspace(folder) as ws:
        ws.append_messages(
            [
                {
                    "type": "track",
                    "event": "purchase",
                    "userId": "u1",
                    "messageId": "m1",
                    "timestamp": "2026-11-22T10:00:00Z",
                }
            ],
            source="shop",
        )
    code, out, _ = run("-w", folder, "summary", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["events"] == 1 and data["by_source"] == {"shop": 1}


def test_sources_csv(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder) as ws:
        ws.append_messages(
            [
                {
                    "type": "page",
                    "anonymousId": "a",
                    "messageId": "p",
                    "timestamp": "2026-11-22T10:00:00Z",
                }
            ],
            source="website",
        )
    code, out, _ = run("-w", str(folder), "sources", "-f", "csv")
    assert code == 0
    header, row = out.strip().splitlines()
    assert header == "source,kind,data_party,description,events,first_ts,last_ts"
    assert row.startswith("website,,first,,1,2026-11-22 10:00:00")


def test_missing_workspace_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, out, err = run("-w", str(tmp_path / "none"), "summary")
    assert code == 2
    assert err.startswith("error: no workspace at")
    assert "Traceback" not in err + out


def test_bad_timezone_is_one_line(tmp_path: Path) -> None:
    code, _, err = run("-w", str(tmp_path / "ws"), "init", "--timezone", "Mars/Base")
    assert code == 2
    assert "unknown IANA time zone 'Mars/Base'" in err
