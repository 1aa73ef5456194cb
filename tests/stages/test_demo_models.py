"""Every built-in model applied to the demo data, through the CLI as a user would: plausible
results, every command and output format, charts that work offline."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import journeylens
from journeylens.cli.main import app
from journeylens.demo import build_demo
from journeylens.stages.model import builtin_models

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("stages") / "demo"
    with build_demo(folder, customers=400, seed=3) as ws:
        ws.resolve_identities(full=True)
    yield folder


def cli(folder: Path, *args: str) -> str:
    result = runner.invoke(app, ["-w", str(folder), *args])
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.stdout


@pytest.mark.parametrize("model", [m.id for m in builtin_models()])
def test_builtin_model_on_the_demo_is_plausible(demo: Path, model: str) -> None:
    cli(demo, "stages", "assign", "--model", model, "--as-of", "2026-10-31")
    funnel = json.loads(cli(demo, "stages", "funnel", "--model", model, "-f", "json"))
    occupancy = json.loads(cli(demo, "stages", "occupancy", "--model", model, "-f", "json"))
    with journeylens.open_workspace(demo, read_only=True) as ws:
        journey = ws.stages.model(model)
        level_units = ws.engine.scalar(
            "SELECT count(DISTINCT customer_id) FROM customer_events "
            "WHERE type IN ('track', 'page', 'screen')"
            if journey.level == "customer"
            else "SELECT count(DISTINCT account_id) FROM account_members"
        )
    reached = [r["reached"] for r in funnel]
    # every unit with a touchpoint is somewhere; reaching a stage never grows down the funnel
    assert reached[0] == level_units > 0
    assert reached == sorted(reached, reverse=True)
    assert all(r["entered"] <= r["reached"] for r in funnel)
    assert sum(r["units"] for r in occupancy) == level_units
    assert reached[-1] > 0, "someone reaches the last stage"


def test_five_phases_moves_and_lapses(demo: Path) -> None:
    cli(demo, "stages", "assign", "--as-of", "2026-10-31")
    flows = json.loads(
        cli(demo, "stages", "flows", "--start", "2025-11-01", "--end", "2026-10-31", "-f", "json")
    )
    kinds = {r["kind"] for r in flows}
    assert {"new", "forward", "lapse"} <= kinds
    series = json.loads(
        cli(demo, "stages", "series", "--start", "2026-01-01", "--end", "2026-10-01", "-f", "json")
    )
    periods = sorted({r["period"] for r in series})
    assert len(periods) == 10 and periods[0] == "2026-01-01"
    totals = [sum(r["units"] for r in series if r["period"] == p) for p in periods]
    assert totals == sorted(totals), "customers only accumulate: nobody leaves every stage"


def test_breakdowns_and_one_customer(demo: Path) -> None:
    cli(demo, "stages", "assign", "--as-of", "2026-10-31")
    by_segment = json.loads(cli(demo, "stages", "occupancy", "--by", "segment", "-f", "json"))
    assert {r["segment_value"] for r in by_segment} == {"B2B", "B2C"}
    by_channel = json.loads(cli(demo, "stages", "occupancy", "--by", "channel", "-f", "json"))
    assert len({r["segment_value"] for r in by_channel}) > 3
    with journeylens.open_workspace(demo, read_only=True) as ws:
        buyer = ws.engine.scalar(
            "SELECT unit_id FROM stage_entries WHERE model_id = 'five_phases' "
            "AND stage = 'advocacy' ORDER BY unit_id LIMIT 1"
        )
    history = json.loads(cli(demo, "stages", "customer", buyer, "-f", "json"))
    stages = [h["stage"] for h in history]
    assert stages[-1] in ("advocacy", "at_risk") or "advocacy" in stages
    assert [h["entry_number"] for h in history] == list(range(1, len(history) + 1))


def test_charts_are_written_for_offline_use(demo: Path, tmp_path: Path) -> None:
    cli(demo, "stages", "assign", "--as-of", "2026-10-31")
    for command, extra in (
        ("funnel", []),
        ("occupancy", []),
        ("series", ["--start", "2026-01-01", "--end", "2026-10-01"]),
        ("flows", ["--start", "2026-01-01", "--end", "2026-10-31"]),
    ):
        chart = tmp_path / f"{command}.html"
        cli(demo, "stages", command, *extra, "--figure", str(chart))
        html = chart.read_text(encoding="utf-8")
        # plotly.js is inside the file; no script comes from the network
        assert "Plotly.newPlot" in html and len(html) > 1_000_000
        assert not re.search(r"<script[^>]+src=", html), "no CDN: the chart must work offline"
