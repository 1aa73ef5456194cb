"""A short pure-Python stage assignment, written from the definition in docs/stages.md,
to check the SQL against. Slow and obvious on purpose."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from journeylens.stages.model import JourneyModel
from journeylens.stages.rules import (
    AfterStage,
    AllOf,
    AnyOf,
    Condition,
    Not,
    Rule,
    TouchpointAtom,
    TraitAtom,
    touchpoint_atoms,
)


@dataclass(frozen=True)
class Ev:
    unit_id: str
    ts: datetime
    seq: int
    event_id: str
    type: str
    event: str
    properties: dict[str, Any]
    traits: dict[str, Any] | None = None


def _second(ts: datetime) -> int:
    return int((ts - datetime(1970, 1, 1)).total_seconds() // 1)


def _value(data: dict[str, Any] | None, name: str) -> Any:
    current: Any = data or {}
    for part in name.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if isinstance(current, dict | list):
        return json.dumps(current)
    return current


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _cond(data: dict[str, Any] | None, c: Condition) -> bool:
    raw = _value(data, c.name)
    text, number = _as_text(raw), _as_number(raw)
    if c.op in ("in", "not_in"):
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        if all(isinstance(v, float) for v in values):
            hit = None if number is None else number in values
        else:
            wanted = [
                str(int(v)) if isinstance(v, float) and v == int(v) else str(v) for v in values
            ]
            hit = None if text is None else text in wanted
        if hit is None:
            return False
        return hit if c.op == "in" else not hit
    if c.op == "contains":
        return text is not None and str(c.value).lower() in text.lower()
    if isinstance(c.value, float):
        left: Any = number
    else:
        left = text
    if left is None:
        return False
    return {
        "=": left == c.value,
        "!=": left != c.value,
        ">": left > c.value,
        ">=": left >= c.value,
        "<": left < c.value,
        "<=": left <= c.value,
    }[c.op]


def _matches(e: Ev, atom: TouchpointAtom) -> bool:
    ok = e.type in ("track", "page", "screen") if atom.events is None else e.event in atom.events
    return ok and all(_cond(e.properties, c) for c in atom.where)


def assign(model: JourneyModel, events: list[Ev], as_of: datetime) -> list[tuple[Any, ...]]:
    """(unit_id, stage, entered_at, event_id) per entry, ordered by unit and time."""
    out: list[tuple[Any, ...]] = []
    by_unit: dict[str, list[Ev]] = {}
    for e in events:
        if _second(e.ts) <= _second(as_of):
            by_unit.setdefault(e.unit_id, []).append(e)
    ranks = {s.id: i + 1 for i, s in enumerate(model.stages)}
    for unit in sorted(by_unit):
        evs = sorted(by_unit[unit], key=lambda e: (_second(e.ts), e.seq, e.event_id))
        out.extend(_assign_unit(model, ranks, unit, evs, as_of))
    return out


def _assign_unit(
    model: JourneyModel, ranks: dict[str, int], unit: str, evs: list[Ev], as_of: datetime
) -> list[tuple[Any, ...]]:
    secs = [_second(e.ts) for e in evs]

    def history(i: int) -> list[int]:
        """indices of events up to and including e_i (simultaneous ones included)."""
        return [j for j in range(len(evs)) if secs[j] <= secs[i]]

    fires: dict[str, list[bool]] = {}

    def holds(rule: Rule, i: int) -> bool:
        if isinstance(rule, TouchpointAtom):
            hist = history(i)
            if rule.within_days is not None:
                hist = [j for j in hist if secs[i] - secs[j] <= round(rule.within_days * 86400)]
            return sum(1 for j in hist if _matches(evs[j], rule)) >= rule.count
        if isinstance(rule, TraitAtom):
            return all(_cond(evs[i].traits, c) for c in rule.conditions)
        if isinstance(rule, AfterStage):
            return any(fire_of(rule.stage)[j] for j in history(i))
        if isinstance(rule, AllOf):
            return all(holds(r, i) for r in rule.rules)
        if isinstance(rule, AnyOf):
            return any(holds(r, i) for r in rule.rules)
        assert isinstance(rule, Not)
        return not holds(rule.rule, i)

    def fire_of(stage_id: str) -> list[bool]:
        if stage_id not in fires:
            rule = model.stage(stage_id).entry
            assert rule is not None
            positive = [a for a, neg in touchpoint_atoms(rule) if not neg]
            fires[stage_id] = [
                holds(rule, i) and (not positive or any(_matches(evs[i], a) for a in positive))
                for i in range(len(evs))
            ]
        return fires[stage_id]

    candidates: list[int | None] = []
    for i in range(len(evs)):
        best = None
        for stage in model.entry_stages:
            if fire_of(stage.id)[i]:
                best = max(best or 0, ranks[stage.id])
        candidates.append(best)

    # lapse points: (second, rank), from gaps after activity touchpoints
    lapse_points: list[tuple[int, int]] = []
    lapse_stages = model.lapse_stages
    if lapse_stages:
        activity = lapse_stages[0].lapse.activity  # type: ignore[union-attr]
        act = sorted({secs[i] for i in range(len(evs)) if _matches(evs[i], activity)})
        limit = _second(as_of)
        for k, t in enumerate(act):
            nxt = act[k + 1] if k + 1 < len(act) else None
            for stage in lapse_stages:
                point = t + round(stage.lapse.after_days * 86400)  # type: ignore[union-attr]
                if (nxt is None and point <= limit) or (nxt is not None and nxt > point):
                    lapse_points.append((point, ranks[stage.id]))
    # the walk: lapse rows sort before events of the same second
    rows: list[tuple[int, int, int, str, Any]] = []
    for point, rank in lapse_points:
        rows.append((point, 0, 0, "", ("lapse", rank)))
    for i, e in enumerate(evs):
        rows.append((secs[i], 1, e.seq, e.event_id, ("event", i)))
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    entries: list[tuple[Any, ...]] = []
    current: int | None = None
    segment_lapse: int | None = None
    segment_best: int | None = None
    latest: tuple[int, int] | None = None
    # stage per row, with simultaneity: candidates of all events at the same second in the
    # same segment count together
    for sec, _, _, event_id, (kind, val) in rows:
        if kind == "lapse":
            segment_lapse, segment_best, latest = val, None, None
            stage = val
            ts = datetime(1970, 1, 1) + timedelta(seconds=sec)
            eid = None
        else:
            # events of the same second are simultaneous (lapse rows sort before them, so
            # they share a segment)
            peers = [r for r in rows if r[0] == sec and r[4][0] == "event"]
            peer_cands = [candidates[r[4][1]] for r in peers if candidates[r[4][1]] is not None]
            if model.circular:
                if peer_cands:
                    latest = (sec, max(peer_cands))
                stage_now = latest[1] if latest else None
            else:
                if peer_cands:
                    segment_best = max([segment_best or 0, *peer_cands])
                stage_now = segment_best
            stage = stage_now if stage_now is not None else segment_lapse
            ts = evs[val].ts
            eid = event_id
        if stage is not None and stage != current:
            stage_id = model.stages[stage - 1].id
            if kind == "event":
                # the first event at that instant that fires the entered stage
                first = min(
                    (
                        r
                        for r in rows
                        if r[0] == sec and r[4][0] == "event" and fire_of(stage_id)[r[4][1]]
                    ),
                    key=lambda r: r[2],
                )
                ts, eid = evs[first[4][1]].ts, first[3]
            entries.append((unit, stage_id, ts, eid))
        current = stage
    return entries
