"""The SQL stage assignment equals a short pure-Python reference on random logs and models."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeylens
from journeylens.stages.assign import assign
from journeylens.stages.model import parse_model
from tests.stages import reference
from tests.stages.conftest import load

EVENTS = ["view", "cart", "buy", "review", "nps"]
START = datetime(2026, 1, 1)
AS_OF = datetime(2026, 4, 1)

atoms = st.one_of(
    st.builds(lambda e: {"event": e}, st.sampled_from(EVENTS)),
    st.builds(lambda e, n: {"event": e, "count": n}, st.sampled_from(EVENTS), st.integers(1, 3)),
    st.builds(
        lambda e, n, d: {"event": e, "count": n, "within_days": d},
        st.sampled_from(EVENTS),
        st.integers(1, 3),
        st.integers(1, 20),
    ),
    st.builds(lambda v: {"event": "review", "where": f"rating >= {v}"}, st.integers(1, 5)),
    st.builds(
        lambda v: {"event": ["nps", "review"], "where": f"rating in [{v}, 5]"}, st.integers(1, 4)
    ),
    st.just({"any_touchpoint": True}),
    st.builds(lambda r: {"trait": f"tier = {r}"}, st.sampled_from(["gold", "silver"])),
)


@st.composite
def rules(draw: Any, depth: int = 0) -> dict[str, Any]:
    if depth >= 2 or draw(st.booleans()):
        return dict(draw(atoms))
    kind = draw(st.sampled_from(["any", "all", "not"]))
    if kind == "not":
        return {"all": [draw(rules(depth + 1)), {"not": draw(rules(depth + 1))}]}
    return {kind: draw(st.lists(rules(depth + 1), min_size=1, max_size=3))}


@st.composite
def models(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(2, 4))
    stages: list[dict[str, Any]] = []
    for i in range(n):
        rule = draw(rules())
        if i and draw(st.integers(0, 3)) == 0:
            rule = {"all": [rule, {"after": f"s{draw(st.integers(0, i - 1))}"}]}
        stages.append({"id": f"s{i}", "labels": {"en": f"S{i}", "it": f"S{i}"}, "entry": rule})
    if draw(st.booleans()):
        stages.append(
            {
                "id": "gone",
                "labels": {"en": "Gone", "it": "Perso"},
                "lapse": {
                    "after_days": draw(st.integers(3, 30)),
                    "activity": {"event": draw(st.sampled_from(["buy", "cart"]))},
                },
            }
        )
    return {
        "id": "random",
        "labels": {"en": "R", "it": "R"},
        "circular": draw(st.booleans()),
        "stages": stages,
    }


@st.composite
def logs(draw: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        customer = draw(st.sampled_from(["a", "b", "c"]))
        # coarse times: many ties, and gaps long enough to lapse
        offset = timedelta(days=draw(st.integers(0, 80)), hours=draw(st.sampled_from([0, 12])))
        event = draw(st.sampled_from(EVENTS))
        props: dict[str, Any] = {}
        if event in ("review", "nps"):
            props["rating"] = draw(st.integers(1, 5))
        rows.append((customer, (START + offset).isoformat(sep=" "), event, props))
    return rows


@settings(
    max_examples=int(__import__("os").environ.get("JL_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw_model=models(), rows=logs())
def test_sql_equals_reference(
    tmp_path_factory: Any,
    raw_model: dict[str, Any],
    rows: list[tuple[str, str, str, dict[str, Any]]],
) -> None:
    model = parse_model(raw_model, "random.yaml")
    folder: Path = tmp_path_factory.mktemp("ws")
    traits = {"a": {"tier": "gold"}, "b": {"tier": "silver"}}
    with journeylens.create_workspace(folder / "w") as ws:
        table = load(ws.engine, rows, profiles=traits)
        got = [
            (r["unit_id"], r["stage"], r["entered_at"], r["event_id"])
            for r in assign(ws.engine, model, as_of=AS_OF, store=False).table.to_pylist()
        ]
    events = [
        reference.Ev(
            r["customer_id"],
            r["ts"],
            r["seq"],
            r["event_id"],
            r["type"],
            r["event"],
            json.loads(r["properties"]),
            traits.get(r["customer_id"]),
        )
        for r in table.to_pylist()
    ]
    assert got == reference.assign(model, events, AS_OF)
