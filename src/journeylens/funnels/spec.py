"""The funnel spec: a frozen dataclass validated when it is built.

>>> spec = FunnelSpec(steps=("product_viewed", "cart_added", "purchase"), window_seconds=7 * 86400)
>>> spec.order, len(spec.steps)
('ordered', 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from journeylens.errors import ConfigError
from journeylens.stages.rules import Condition, RuleError, parse_condition

__all__ = [
    "BREAKDOWN_COLUMNS",
    "DEFAULT_SESSION_GAP",
    "CountBy",
    "Exclusion",
    "FunnelSpec",
    "Order",
    "Step",
]

Order = Literal["ordered", "strict", "unordered"]
CountBy = Literal["customer", "account", "session"]
DEFAULT_SESSION_GAP = 30 * 60
"""Seconds of inactivity that end a session (paths use the same default)."""
BREAKDOWN_COLUMNS = ("channel", "source")
"""Event columns a breakdown can name directly; else ``property:NAME`` or ``trait:NAME``."""
MIN_STEPS, MAX_STEPS = 2, 20


@dataclass(frozen=True)
class Step:
    """An event name (``None``: any event) with optional property conditions, all of which must
    hold (``"total >= 50"``; the condition language of docs/stages.md)."""

    event: str | None
    where: tuple[Condition, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        if self.event is not None and (not isinstance(self.event, str) or not self.event):
            raise ConfigError(
                f"a step's event must be a name or None (any event), got {self.event!r}",
                field="event",
            )
        raw = (self.where,) if isinstance(self.where, str | Condition) else tuple(self.where)
        parsed = []
        for i, item in enumerate(raw):
            if isinstance(item, Condition):
                parsed.append(item)
                continue
            try:
                parsed.append(parse_condition(item, f"where[{i}]"))
            except RuleError as error:
                raise ConfigError(str(error), field=f"where[{i}]") from None
        object.__setattr__(self, "where", tuple(parsed))
        if not self.label:
            object.__setattr__(self, "label", self.describe())

    @classmethod
    def of(cls, value: Step | str | None) -> Step:
        return value if isinstance(value, Step) else cls(value)

    def describe(self) -> str:
        name = self.event or "(any event)"
        if not self.where:
            return name
        return f"{name} where " + " and ".join(_condition_text(c) for c in self.where)


def _condition_text(cond: Condition) -> str:
    value = cond.value
    if isinstance(value, tuple):
        text = "[" + ", ".join(_scalar_text(v) for v in value) + "]"
    else:
        text = _scalar_text(value)
    return f"{cond.name} {cond.op} {text}"


def _scalar_text(value: float | str) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Exclusion:
    """An attempt does not count when an event matching ``step`` happens after its
    ``from_step`` event and before its ``to_step`` event (steps numbered from 1)."""

    step: Step
    from_step: int
    to_step: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "step", Step.of(self.step))
        if not (1 <= self.from_step < self.to_step):
            raise ConfigError(
                f"an exclusion needs 1 <= from_step < to_step, got {self.from_step} and "
                f"{self.to_step}",
                field="exclusions",
            )


@dataclass(frozen=True)
class FunnelSpec:
    """Steps, window, order mode, exclusions, breakdown and counting unit of a funnel.

    ``window_seconds`` ``None`` means no limit. ``breakdown`` is ``channel``, ``source``,
    ``property:NAME`` (of the event of step ``breakdown_step``), ``trait:NAME`` (of the
    customer's profile, or the account's traits when counting by account) or ``stage:MODEL``
    (the journey stage the unit was in at that event, from ``stages assign MODEL``).
    ``count_by`` ``session`` counts sessions: a customer's events with no gap longer than
    ``session_gap_seconds`` between consecutive ones.
    """

    steps: tuple[Step, ...]
    window_seconds: float | None = 14 * 86_400
    order: Order = "ordered"
    exclusions: tuple[Exclusion, ...] = ()
    breakdown: str | None = None
    breakdown_step: int = 1
    count_by: CountBy = "customer"
    session_gap_seconds: float = DEFAULT_SESSION_GAP
    name: str = field(default="funnel", compare=False)

    def __post_init__(self) -> None:
        steps = self.steps
        if isinstance(steps, str) or not isinstance(steps, Sequence):
            raise ConfigError("steps must be a list of events or Step objects", field="steps")
        object.__setattr__(self, "steps", tuple(Step.of(s) for s in steps))
        if not MIN_STEPS <= len(self.steps) <= MAX_STEPS:
            raise ConfigError(
                f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, got {len(self.steps)}",
                field="steps",
            )
        if self.window_seconds is not None and (
            isinstance(self.window_seconds, bool)
            or not isinstance(self.window_seconds, int | float)
            or self.window_seconds <= 0
        ):
            raise ConfigError(
                f"window_seconds must be a number of seconds > 0 (or None for no limit), "
                f"got {self.window_seconds!r}",
                field="window_seconds",
            )
        if self.order not in get_args(Order):
            raise ConfigError(
                f"unknown order mode {self.order!r}", field="order", allowed=get_args(Order)
            )
        if self.count_by not in get_args(CountBy):
            raise ConfigError(
                f"cannot count by {self.count_by!r}", field="count_by", allowed=get_args(CountBy)
            )
        exclusions = tuple(self.exclusions)
        for exclusion in exclusions:
            if not isinstance(exclusion, Exclusion):
                raise ConfigError("exclusions must be Exclusion objects", field="exclusions")
            if exclusion.to_step > len(self.steps):
                raise ConfigError(
                    f"exclusion to_step {exclusion.to_step} is past the last step "
                    f"({len(self.steps)})",
                    field="exclusions",
                )
        if exclusions and self.order == "unordered":
            raise ConfigError(
                "exclusions between steps need an order: use order 'ordered' or 'strict'",
                field="exclusions",
            )
        object.__setattr__(self, "exclusions", exclusions)
        if self.breakdown is not None:
            kind, _, name = self.breakdown.partition(":")
            valid = (self.breakdown in BREAKDOWN_COLUMNS) or (
                kind in ("property", "trait", "stage") and bool(name)
            )
            if not valid:
                raise ConfigError(
                    f"cannot break down by {self.breakdown!r}",
                    field="breakdown",
                    allowed=[*BREAKDOWN_COLUMNS, "property:NAME", "trait:NAME", "stage:MODEL"],
                )
            if kind in ("trait", "stage") and self.count_by == "session":
                raise ConfigError(
                    f"a {kind} breakdown describes customers or accounts, not sessions: count "
                    "by customer, or break down by channel, source or property",
                    field="breakdown",
                )
        if (
            isinstance(self.session_gap_seconds, bool)
            or not isinstance(self.session_gap_seconds, int | float)
            or self.session_gap_seconds <= 0
        ):
            raise ConfigError(
                f"session_gap_seconds must be a number of seconds > 0, "
                f"got {self.session_gap_seconds!r}",
                field="session_gap_seconds",
            )
        if not 1 <= self.breakdown_step <= len(self.steps):
            raise ConfigError(
                f"breakdown_step must be a step number from 1 to {len(self.steps)}",
                field="breakdown_step",
            )
        if self.order == "unordered" and self.breakdown_step != 1:
            raise ConfigError(
                "an unordered funnel takes its breakdown from the attempt's first event "
                "(breakdown_step 1)",
                field="breakdown_step",
            )
