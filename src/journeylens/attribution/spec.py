"""The attribution spec: what a conversion is, which touchpoints count, and how paths are built.

>>> spec = AttributionSpec(conversion="purchase", lookback_days=30, level="channel")
>>> spec.value, spec.repeats, spec.conversion.event
('revenue', 'collapse', 'purchase')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from journeylens.errors import ConfigError
from journeylens.funnels.spec import Step

__all__ = [
    "DEFAULT_TOUCH_TYPES",
    "LEVELS",
    "NO_TOUCHPOINT",
    "AttributionSpec",
    "Level",
    "Repeats",
    "ValueKind",
]

Level = Literal["channel", "source", "campaign", "touchpoint"]
Repeats = Literal["collapse", "keep"]
ValueKind = Literal["revenue", "count"]
LEVELS: tuple[str, ...] = get_args(Level)
DEFAULT_TOUCH_TYPES = ("track", "page", "screen")
"""Segment message types that can be touchpoints (identify, group, alias never are)."""
NO_TOUCHPOINT = "(no touchpoint)"
"""Where a conversion with no touchpoint in its lookback window is credited, by every model."""
DEFAULT_EXCLUDED_CHANNELS = ("Unassigned",)


def _names(value: Sequence[str] | str | None, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items or any(not isinstance(v, str) or not v for v in items):
        raise ConfigError(f"{name} must be a non-empty list of names", field=name)
    return items


@dataclass(frozen=True)
class AttributionSpec:
    """Conversion, touchpoints, level, lookback and path conventions (docs/attribution.md).

    * ``conversion``: an event name or a :class:`~journeylens.funnels.Step` (name plus property
      conditions, e.g. ``Step("purchase", ("revenue >= 50",))``);
    * ``value``: ``revenue`` (the conversion event's ``revenue``, 0 when missing) or ``count``
      (every conversion is worth 1);
    * ``lookback_days``: touchpoints at most this long before the end of the journey (the
      conversion; for a journey without conversion, its last touchpoint); ``None``: the whole
      history since the previous conversion;
    * touchpoints: events of ``touch_types`` whose channel is not in ``exclude_channels``
      (default: every channel except ``Unassigned``), optionally only ``channels`` /
      ``events``, never ``exclude_events`` and never a conversion event;
    * ``level``: what a touchpoint is credited as: its ``channel``, ``source``, ``campaign``
      (the ``campaign`` property; ``(Channel)`` when missing) or ``touchpoint`` (event name);
    * ``repeats``: ``collapse`` consecutive touchpoints with the same value into one, or
      ``keep`` them all;
    * ``since``: only conversions (and journeys ending) at or after this moment (naive UTC).
    """

    conversion: Step | str = "purchase"
    value: ValueKind = "revenue"
    lookback_days: float | None = 30
    level: Level = "channel"
    repeats: Repeats = "collapse"
    channels: tuple[str, ...] | None = None
    events: tuple[str, ...] | None = None
    exclude_channels: tuple[str, ...] = DEFAULT_EXCLUDED_CHANNELS
    exclude_events: tuple[str, ...] = ()
    touch_types: tuple[str, ...] = DEFAULT_TOUCH_TYPES
    since: datetime | None = None

    def __post_init__(self) -> None:
        conversion = Step.of(self.conversion)
        if conversion.event is None:
            raise ConfigError("the conversion must be an event name", field="conversion")
        object.__setattr__(self, "conversion", conversion)
        for name, allowed in (("value", ValueKind), ("level", Level), ("repeats", Repeats)):
            if getattr(self, name) not in get_args(allowed):
                raise ConfigError(
                    f"unknown {name} {getattr(self, name)!r}",
                    field=name,
                    allowed=get_args(allowed),
                )
        lookback = self.lookback_days
        if lookback is not None and (
            isinstance(lookback, bool) or not isinstance(lookback, int | float) or lookback <= 0
        ):
            raise ConfigError(
                f"lookback_days must be a number of days > 0 (or None for the whole history), "
                f"got {lookback!r}",
                field="lookback_days",
            )
        object.__setattr__(self, "channels", _names(self.channels, "channels"))
        object.__setattr__(self, "events", _names(self.events, "events"))
        for name in ("exclude_channels", "exclude_events", "touch_types"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if not self.touch_types:
            raise ConfigError("touch_types must name at least one type", field="touch_types")

    @property
    def step(self) -> Step:
        assert isinstance(self.conversion, Step)
        return self.conversion

    @property
    def lookback_us(self) -> int | None:
        return None if self.lookback_days is None else round(self.lookback_days * 86_400e6)
