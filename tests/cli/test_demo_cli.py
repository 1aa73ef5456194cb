"""`journeylens demo` leaves a workspace to look at, and tells the user how."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from journeylens.cli.main import app

runner = CliRunner()


def test_demo_then_look_at_a_customer(tmp_path: Path) -> None:
    folder = str(tmp_path / "demo")
    result = runner.invoke(app, ["-w", folder, "demo", "--customers", "200", "--seed", "2"])
    assert result.exit_code == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "demo workspace ready" in out
    assert "where customers stand on 31/10/2026" in out
    email = out.split(" profile ")[1].split()[0].rstrip(",")
    assert "@" in email
    profile = runner.invoke(app, ["-w", folder, "profile", email, "-f", "json"])
    assert profile.exit_code == 0, profile.stderr
    data = json.loads(profile.stdout)
    assert email in data["identifiers"]["email"]
    timeline = runner.invoke(app, ["-w", folder, "timeline", email, "-f", "json"])
    assert json.loads(timeline.stdout)["total"] == data["events"]


def test_demo_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    folder = str(tmp_path / "demo")
    assert runner.invoke(app, ["-w", folder, "demo", "--customers", "50"]).exit_code == 0
    again = runner.invoke(app, ["-w", folder, "demo", "--customers", "50"])
    assert again.exit_code == 2
    assert "pass --force to replace it" in again.stderr
    assert runner.invoke(app, ["-w", folder, "demo", "--customers", "50", "--force"]).exit_code == 0
