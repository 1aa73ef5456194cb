"""A short pure-Python funnel, written from docs/funnels.md, to check the SQL against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journeylens.funnels.spec import FunnelSpec, Step
from journeylens.stages.rules import Condition


@dataclass(frozen=True)
class Ev:
    unit: str
    seq: int
    ts: datetime
    event: str
    props: dict[str, Any]


def _holds(cond: Condition, props: dict[str, Any]) -> bool:
    if cond.name not in props or props[cond.name] is None:
        return False
    raw = props[cond.name]
    text = str(raw)
    try:
        number: float | None = float(raw)
    except (TypeError, ValueError):
        number = None
    value = cond.value
    if cond.op in ("in", "not_in"):
        values = value if isinstance(value, tuple) else (value,)
        if all(isinstance(v, float) for v in values):
            inside = number is not None and number in values
        else:
            inside = text in [
                str(int(v)) if isinstance(v, float) and v == int(v) else str(v) for v in values
            ]
        return inside if cond.op == "in" else not inside
    if isinstance(value, float):
        if number is None:
            return False
        left: Any = number
    else:
        left = text
    return (
        {
            "=": left == value,
            "!=": left != value,
            ">": left > value,
            ">=": left >= value,
            "<": left < value,
            "<=": left <= value,
        }[cond.op]
        if cond.op != "contains"
        else str(value).lower() in text.lower()
    )


def matches(step: Step, ev: Ev) -> bool:
    return (step.event is None or step.event == ev.event) and all(
        _holds(c, ev.props) for c in step.where
    )


def _inside(spec: FunnelSpec, start: Ev, ev: Ev) -> bool:
    return spec.window_seconds is None or (ev.ts - start.ts).total_seconds() <= spec.window_seconds


def _attempt(spec: FunnelSpec, evs: list[Ev], i: int) -> list[Ev] | None:
    """The events matched by the attempt starting at evs[i], or None if excluded."""
    n = len(spec.steps)
    start = evs[i]
    if spec.order == "unordered":
        found: list[Ev | None] = []
        for step in spec.steps:
            hit = next((e for e in evs[i:] if matches(step, e) and _inside(spec, start, e)), None)
            found.append(hit)
        return found  # type: ignore[return-value]
    chain = [start]
    pos = i
    while len(chain) < n:
        step = spec.steps[len(chain)]
        if spec.order == "strict":
            nxt = pos + 1 if pos + 1 < len(evs) and matches(step, evs[pos + 1]) else None
        else:
            nxt = next((p for p in range(pos + 1, len(evs)) if matches(step, evs[p])), None)
        if nxt is None or not _inside(spec, start, evs[nxt]):
            break
        chain.append(evs[nxt])
        pos = nxt
    for x in spec.exclusions:
        if len(chain) < x.from_step:
            continue
        a = chain[x.from_step - 1]
        b = chain[x.to_step - 1] if len(chain) >= x.to_step else None
        for e in evs:
            if (
                e.seq > a.seq
                and matches(x.step, e)
                and ((b is not None and e.seq < b.seq) or (b is None and _inside(spec, start, e)))
            ):
                return None
    return chain


def funnel(spec: FunnelSpec, events: list[Ev], as_of: datetime) -> dict[str, dict[str, Any]]:
    """unit → {reached, times (per completed step, ordered), open}."""
    out: dict[str, dict[str, Any]] = {}
    units = sorted({e.unit for e in events})
    n = len(spec.steps)
    for unit in units:
        evs = sorted((e for e in events if e.unit == unit and e.ts <= as_of), key=lambda e: e.seq)
        best: tuple[Any, ...] | None = None
        last_start = None
        for i, ev in enumerate(evs):
            if spec.order == "unordered":
                if not any(matches(s, ev) for s in spec.steps):
                    continue
                found = _attempt(spec, evs, i)
                assert found is not None
                hits = [f for f in found if f is not None]
                reached = len(hits)
                done = max(h.seq for h in hits)
                times = sorted(h.ts for h in hits)
            else:
                if not matches(spec.steps[0], ev):
                    continue
                chain = _attempt(spec, evs, i)
                if chain is None:
                    continue
                reached, done, times = len(chain), chain[-1].seq, [c.ts for c in chain]
            last_start = ev.ts if last_start is None else max(last_start, ev.ts)
            key = (reached, -done, ev.seq)
            if best is None or key > best[0]:
                best = (key, reached, times, ev)
        if best is None:
            continue
        _, reached, times, start = best
        assert last_start is not None
        still = reached < n and (
            spec.window_seconds is None
            or (as_of - last_start).total_seconds() < spec.window_seconds
        )
        out[unit] = {"reached": reached, "times": times, "open": still, "start": start}
    return out
