"""`journeylens keys …` through the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from journeylens.cli.main import app
from journeylens.server import KeyStore


def test_keys_create_list_revoke(ws_folder: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(
        app, ["-w", str(ws_folder), "keys", "create", "--source", "pos", "--format", "json"]
    )
    assert created.exit_code == 0, created.output
    record = json.loads(created.output)
    assert record["secret"].startswith("jlw_") and "sha256" not in record
    assert KeyStore(ws_folder).verify(record["secret"], "write") is not None
    listed = runner.invoke(app, ["-w", str(ws_folder), "keys", "list", "--format", "json"])
    assert [k["source"] for k in json.loads(listed.output)] == ["pos"]
    assert record["secret"] not in listed.output
    revoked = runner.invoke(app, ["-w", str(ws_folder), "keys", "revoke", record["id"]])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert KeyStore(ws_folder).verify(record["secret"], "write") is None
    bad = runner.invoke(app, ["-w", str(ws_folder), "keys", "create"])  # no --source
    assert bad.exit_code == 2 and "source" in bad.output
