"""The SQL funnel equals a short pure-Python reference on random logs, in all three order modes."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeylens
from journeylens.funnels import Exclusion, FunnelSpec, Step
from journeylens.funnels.compile import compile_funnel
from tests.funnels import reference
from tests.stages.conftest import event_codes, load

EVENTS = ["a", "b", "c", "d"]
START = datetime(2026, 1, 1)
AS_OF = datetime(2026, 1, 12)

steps = st.one_of(
    st.builds(Step, st.sampled_from(EVENTS)),
    st.builds(lambda v: Step("b", (f"n >= {v}",)), st.integers(1, 3)),
    st.just(Step(None)),
)


@st.composite
def specs(draw: Any) -> FunnelSpec:
    order = draw(st.sampled_from(["ordered", "strict", "unordered"]))
    chosen = draw(st.lists(steps, min_size=2, max_size=4))
    exclusions: tuple[Exclusion, ...] = ()
    if order != "unordered" and draw(st.booleans()):
        i = draw(st.integers(1, len(chosen) - 1))
        j = draw(st.integers(i + 1, len(chosen)))
        exclusions = (Exclusion(draw(st.sampled_from(EVENTS)), i, j),)
    window = draw(st.sampled_from([None, 3600, 86_400, 2 * 86_400]))
    return FunnelSpec(
        steps=tuple(chosen), window_seconds=window, order=order, exclusions=exclusions
    )


@st.composite
def logs(draw: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = []
    for _ in range(draw(st.integers(1, 30))):
        # coarse times: many same-second ties, and events exactly a window apart
        offset = timedelta(days=draw(st.integers(0, 11)), hours=draw(st.sampled_from([0, 1, 12])))
        event = draw(st.sampled_from(EVENTS))
        props = {"n": draw(st.integers(0, 3))} if event == "b" else {}
        rows.append(
            (
                draw(st.sampled_from(["u", "v", "w"])),
                (START + offset).isoformat(sep=" "),
                event,
                props,
            )
        )
    return rows


@settings(
    max_examples=int(os.environ.get("JL_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=specs(), rows=logs())
def test_sql_equals_reference(tmp_path_factory: Any, spec: FunnelSpec, rows: Any) -> None:
    folder: Path = tmp_path_factory.mktemp("ws")
    with journeylens.create_workspace(folder / "w") as ws:
        table = load(ws.engine, rows)
        got_rows = ws.engine.rows(compile_funnel(spec, event_codes(rows), AS_OF))
        result = ws.funnels.run(spec, as_of=AS_OF)
    events = [
        reference.Ev(r["customer_id"], r["seq"], r["ts"], r["event"], json.loads(r["properties"]))
        for r in table.to_pylist()
    ]
    expected = reference.funnel(spec, events, AS_OF)
    assert {r["unit_id"]: r["reached"] for r in got_rows} == {
        u: v["reached"] for u, v in expected.items()
    }
    us = {r["unit_id"]: r["start_us"] for r in got_rows}
    assert us == {u: _us(v["start"].ts) for u, v in expected.items()}
    for k in range(1, len(spec.steps) + 1):
        assert result.units_at(k) == sorted(u for u, v in expected.items() if v["reached"] >= k)
        assert result.units_at(k, "open") == sorted(
            u
            for u, v in expected.items()
            if v["reached"] == k and v["open"] and k < len(spec.steps)
        )
        times = sorted(
            (v["times"][k - 1] - v["times"][k - 2]).total_seconds()
            for v in expected.values()
            if v["reached"] >= k and k > 1
        )
        if times:
            median = result.steps[k - 1]["median_seconds_from_previous"]
            mid = len(times) // 2
            want = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
            assert median == want


def _us(ts: datetime) -> int:
    return int((ts - datetime(1970, 1, 1)).total_seconds()) * 1_000_000


@settings(
    max_examples=int(os.environ.get("JL_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=specs(), rows=logs(), breakdown_step=st.integers(1, 4))
def test_chains_equal_every_attempt(
    tmp_path_factory: Any, spec: FunnelSpec, rows: Any, breakdown_step: int
) -> None:
    """Ordered funnels without exclusions take the latest-start chains; the general compiler
    (every attempt from every step-1 event) must give the same best attempt, column by column,
    including the step the breakdown is read from."""
    spec = FunnelSpec(
        steps=spec.steps,
        window_seconds=spec.window_seconds,
        breakdown="property:n",
        breakdown_step=min(breakdown_step, len(spec.steps)),
    )
    folder: Path = tmp_path_factory.mktemp("ws")
    with journeylens.create_workspace(folder / "w") as ws:
        load(ws.engine, rows)
        codes = event_codes(rows)
        fast = ws.engine.rows(compile_funnel(spec, codes, AS_OF))
        general = ws.engine.rows(compile_funnel(spec, codes, AS_OF, chains=False))
    assert fast == general
