"""``journeylens privacy …`` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import journeylens
from journeylens.cli.main import app
from tests.privacy.conftest import ALL_EVENTS, MARIO_EMAIL, MARIO_EVENTS

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def make(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder) as ws:
        ws.append_messages(ALL_EVENTS, source="web", on_error="stop")
    return folder


def test_export_delete_and_the_audit_log(tmp_path: Path) -> None:
    folder = make(tmp_path)
    w = ["--workspace", str(folder)]
    out_file = tmp_path / "mario.json"
    code, _, err = run(*w, "privacy", "export", MARIO_EMAIL.upper(), "--output", str(out_file))
    assert code == 0, err
    exported = json.loads(out_file.read_text())
    assert len(exported["events"]) == len(MARIO_EVENTS)
    assert "9 events" in err

    code, out, err = run(*w, "privacy", "delete", "u-mario", "--by", "dpo", "--format", "json")
    assert code == 0, err
    request = json.loads(out)
    assert (request["action"], request["events_deleted"], request["requested_by"]) == (
        "delete",
        9,
        "dpo",
    )
    code, _, err = run(*w, "privacy", "delete", "u-mario")
    assert code == 2 and "error: no one with id or identifier 'u-mario'" in err
    assert "Traceback" not in err

    code, out, _ = run(*w, "privacy", "requests", "--format", "json")
    log = json.loads(out)
    assert [(r["action"], r["status"]) for r in log] == [
        ("delete", "done"),
        ("delete", "not_found"),
    ]
    assert "mario" not in out.lower()
    code, out, _ = run(*w, "privacy", "requests", "--format", "csv")
    assert out.splitlines()[0].startswith("request_id,action,status,identifier_token")


def test_suppress_unsuppress_and_compact(tmp_path: Path) -> None:
    folder = make(tmp_path)
    w = ["--workspace", str(folder)]
    code, out, err = run(*w, "privacy", "suppress-delete", "a-mario-1", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["suppressions"] == 12
    code, out, _ = run(*w, "privacy", "unsuppress", "u-mario", "--format", "json")
    assert code == 0 and json.loads(out)["suppressions"] == 12
    code, _, err = run(*w, "privacy", "unsuppress", "u-mario")
    assert code == 2 and "not suppressed" in err
    code, out, _ = run(*w, "privacy", "suppress", "someone@example.it", "--format", "json")
    assert code == 0 and json.loads(out)["suppressions"] == 3
    code, out, err = run(*w, "privacy", "compact", "--format", "json")
    assert code == 0, err
    assert set(json.loads(out)) == {"bytes_before", "bytes_after"}
    assert b"zebedeo" not in (folder / "events.duckdb").read_bytes().lower()
