"""Entry rules of journey stages: a small, validated language over touchpoints and traits.

A rule is a YAML mapping. Keys in one mapping must all hold (AND)::

    event: purchase | [purchase, booking_confirmed]   # touchpoints by name
    category: review                                  # …or by the model's categories
    any_touchpoint: true                              # …or any track/page/screen event
    where: "rating >= 4" | ["score >= 9", "platform = google"]   # property conditions
    count: 2              # at least 2 such touchpoints so far (default 1)
    within_days: 30       # …counted over the last 30 days
    after: conversion     # the rule of stage `conversion` has fired before (or at the same time)
    trait: "role in [buyer, ceo]"                     # profile trait conditions
    any: [rule, rule]     # at least one holds
    all: [rule, rule]     # every one holds
    not: rule             # does not hold

A rule *holds* at a customer's event ``e`` when its conditions are true over the customer's
history up to and including ``e`` (events at the same timestamp are simultaneous). It *fires* at
``e`` when it holds and ``e`` itself is one of the touchpoints the rule names outside a ``not``
(a rule naming no touchpoint fires at every event where it holds).

Conditions (``where``, ``trait``) are ``NAME OP VALUE`` with OP one of ``= != > >= < <= in
not_in contains``; numbers compare as numbers, anything else as text; lists as ``[a, b]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AfterStage",
    "AllOf",
    "AnyOf",
    "Condition",
    "Not",
    "Rule",
    "RuleError",
    "TouchpointAtom",
    "TraitAtom",
    "parse_condition",
    "parse_rule",
]

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains")
_CONDITION = re.compile(
    r"^\s*(?P<name>[A-Za-z_$][\w.$-]*)\s*(?P<op>>=|<=|!=|==|=|>|<|\bnot_in\b|\bnot in\b|\bin\b"
    r"|\bcontains\b)\s*(?P<value>.+?)\s*$"
)
_RULE_KEYS = (
    "event",
    "category",
    "any_touchpoint",
    "where",
    "count",
    "within_days",
    "after",
    "trait",
    "any",
    "all",
    "not",
)


class RuleError(ValueError):
    """A rule is malformed; ``path`` names the key (``entry.any[1].where``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


@dataclass(frozen=True)
class Condition:
    """``name op value``; value is a number, a text, or a tuple of them (for in/not_in)."""

    name: str
    op: str
    value: float | str | tuple[float | str, ...]


@dataclass(frozen=True)
class TouchpointAtom:
    """At least ``count`` touchpoints matching ``events`` (None = any) and ``where``, so far or
    within the last ``within_days`` days."""

    events: tuple[str, ...] | None
    where: tuple[Condition, ...] = ()
    count: int = 1
    within_days: float | None = None


@dataclass(frozen=True)
class TraitAtom:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AfterStage:
    stage: str


@dataclass(frozen=True)
class AllOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    rule: Rule


Rule = TouchpointAtom | TraitAtom | AfterStage | AllOf | AnyOf | Not


def _scalar(text: str) -> float | str:
    text = text.strip().strip("'\"")
    try:
        return float(text)
    except ValueError:
        return text


def parse_condition(text: Any, path: str) -> Condition:
    if not isinstance(text, str):
        raise RuleError(path, f"expected a condition such as 'rating >= 4', got {text!r}")
    match = _CONDITION.match(text)
    if not match or match["value"][:1] in "<>=!":
        raise RuleError(
            path,
            f"cannot read condition {text!r}; write NAME OP VALUE with OP one "
            f"of {', '.join(OPERATORS)} (e.g. 'score >= 9')",
        )
    op = {"==": "=", "not in": "not_in"}.get(match["op"], match["op"])
    raw = match["value"]
    if op in ("in", "not_in"):
        if not (raw.startswith("[") and raw.endswith("]")):
            raise RuleError(path, f"{op} needs a list such as [a, b], got {raw!r}")
        items = tuple(_scalar(v) for v in raw[1:-1].split(",") if v.strip())
        if not items:
            raise RuleError(path, f"{op} needs at least one value")
        return Condition(match["name"], op, items)
    value = _scalar(raw)
    if op in (">", ">=", "<", "<=") and not isinstance(value, float):
        raise RuleError(path, f"{op} needs a number, got {raw!r}")
    return Condition(match["name"], op, value)


def _conditions(value: Any, path: str) -> tuple[Condition, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(
        parse_condition(item, f"{path}[{i}]" if isinstance(value, list) else path)
        for i, item in enumerate(items)
    )


def _names(value: Any, path: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, str) and i for i in items):
        raise RuleError(path, f"expected a name or a list of names, got {value!r}")
    return tuple(items)


def parse_rule(raw: Any, path: str, categories: dict[str, tuple[str, ...]]) -> Rule:
    """Parse and validate a rule mapping; errors name the path of the offending key."""
    if not isinstance(raw, dict) or not raw:
        raise RuleError(
            path,
            f"expected a rule (a mapping with keys such as event, where, "
            f"count, any, all, not), got {raw!r}",
        )
    unknown = [k for k in raw if k not in _RULE_KEYS]
    if unknown:
        raise RuleError(
            f"{path}.{unknown[0]}", f"unknown rule key; allowed: {', '.join(_RULE_KEYS)}"
        )
    parts: list[Rule] = []
    kinds = [k for k in ("event", "category", "any_touchpoint") if k in raw]
    if len(kinds) > 1:
        raise RuleError(
            f"{path}.{kinds[1]}",
            "use one of event, category, any_touchpoint per rule (combine several with any:)",
        )
    touch_keys = ("where", "count", "within_days")
    if kinds or any(k in raw for k in touch_keys):
        if not kinds:
            key = next(k for k in touch_keys if k in raw)
            raise RuleError(f"{path}.{key}", "needs event, category or any_touchpoint beside it")
        events: tuple[str, ...] | None
        if kinds[0] == "event":
            events = _names(raw["event"], f"{path}.event")
        elif kinds[0] == "category":
            names = _names(raw["category"], f"{path}.category")
            missing = [n for n in names if n not in categories]
            if missing:
                raise RuleError(
                    f"{path}.category",
                    f"unknown category {missing[0]!r}; the "
                    f"model defines: {', '.join(sorted(categories)) or 'none'}",
                )
            events = tuple(e for n in names for e in categories[n])
        else:
            if raw["any_touchpoint"] is not True:
                raise RuleError(f"{path}.any_touchpoint", "must be true")
            events = None
        count = raw.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise RuleError(f"{path}.count", f"must be a whole number ≥ 1, got {count!r}")
        within = raw.get("within_days")
        if within is not None and (
            isinstance(within, bool) or not isinstance(within, int | float) or within <= 0
        ):
            raise RuleError(f"{path}.within_days", f"must be a number of days > 0, got {within!r}")
        where = _conditions(raw["where"], f"{path}.where") if "where" in raw else ()
        parts.append(
            TouchpointAtom(events, where, count, float(within) if within is not None else None)
        )
    if "trait" in raw:
        parts.append(TraitAtom(_conditions(raw["trait"], f"{path}.trait")))
    if "after" in raw:
        if not isinstance(raw["after"], str):
            raise RuleError(f"{path}.after", f"expected a stage id, got {raw['after']!r}")
        parts.append(AfterStage(raw["after"]))
    for key, kind in (("any", AnyOf), ("all", AllOf)):
        if key in raw:
            items = raw[key]
            if not isinstance(items, list) or not items:
                raise RuleError(f"{path}.{key}", "expected a non-empty list of rules")
            parts.append(
                kind(
                    tuple(
                        parse_rule(r, f"{path}.{key}[{i}]", categories) for i, r in enumerate(items)
                    )
                )
            )
    if "not" in raw:
        parts.append(Not(parse_rule(raw["not"], f"{path}.not", categories)))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def touchpoint_atoms(rule: Rule, *, negated: bool = False) -> list[tuple[TouchpointAtom, bool]]:
    """Every touchpoint atom of ``rule`` with whether it sits under a ``not``."""
    if isinstance(rule, TouchpointAtom):
        return [(rule, negated)]
    if isinstance(rule, AllOf | AnyOf):
        return [a for r in rule.rules for a in touchpoint_atoms(r, negated=negated)]
    if isinstance(rule, Not):
        return touchpoint_atoms(rule.rule, negated=not negated)
    return []


def stage_references(rule: Rule) -> set[str]:
    """Stage ids named by ``after`` anywhere in ``rule``."""
    if isinstance(rule, AfterStage):
        return {rule.stage}
    if isinstance(rule, AllOf | AnyOf):
        return set().union(*(stage_references(r) for r in rule.rules))
    if isinstance(rule, Not):
        return stage_references(rule.rule)
    return set()
