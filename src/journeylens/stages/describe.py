"""Rules in plain words, for the CLI (``journeylens stages show``) and the user docs.

>>> from journeylens.stages.rules import parse_rule
>>> describe_rule(parse_rule({"event": "purchase", "count": 2, "within_days": 30}, "entry", {}))
'at least 2 × purchase within the last 30 days'
"""

from __future__ import annotations

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
)

__all__ = ["describe_model", "describe_rule"]


def _value(value: float | str | tuple[float | str, ...]) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, float):
        return str(int(value)) if value == int(value) else str(value)
    return value


def _condition(c: Condition) -> str:
    op = {"not_in": "not in"}.get(c.op, c.op)
    return f"{c.name} {op} {_value(c.value)}"


def describe_rule(rule: Rule) -> str:
    if isinstance(rule, TouchpointAtom):
        if rule.events is None:
            what = "any touchpoint"
        elif len(rule.events) == 1:
            what = rule.events[0]
        else:
            what = "one of {" + ", ".join(rule.events) + "}"
        text = what if rule.count == 1 else f"at least {rule.count} × {what}"
        if rule.where:
            text += " where " + " and ".join(_condition(c) for c in rule.where)
        if rule.within_days is not None:
            text += f" within the last {_value(rule.within_days)} days"
        return text
    if isinstance(rule, TraitAtom):
        return "profile trait " + " and ".join(_condition(c) for c in rule.conditions)
    if isinstance(rule, AfterStage):
        return f"after entering {rule.stage}"
    if isinstance(rule, AllOf):
        return " and ".join(_wrap(r) for r in rule.rules)
    if isinstance(rule, AnyOf):
        return " or ".join(_wrap(r) for r in rule.rules)
    assert isinstance(rule, Not)
    return f"not ({describe_rule(rule.rule)})"


def _wrap(rule: Rule) -> str:
    text = describe_rule(rule)
    return f"({text})" if isinstance(rule, AllOf | AnyOf) else text


def describe_model(model: JourneyModel, language: str = "en") -> list[dict[str, str]]:
    """One row per stage: id, label, the entry rule in words, description."""
    rows = []
    for stage in model.stages:
        if stage.entry is not None:
            rule = describe_rule(stage.entry)
        else:
            assert stage.lapse is not None
            rule = (
                f"lapse: {_value(stage.lapse.after_days)} days after the last "
                f"{describe_rule(stage.lapse.activity)}, if none follows"
            )
        rows.append(
            {
                "stage": stage.id,
                "label": stage.label(language),
                "rule": rule,
                "description": stage.description.get(language) or stage.description.get("en", ""),
            }
        )
    return rows
