"""docs/demo.md keeps up with the generator: every event, source, group and pattern knob."""

from __future__ import annotations

from pathlib import Path

from journeylens.demo.catalogue import EVENTS, SOURCES
from journeylens.demo.patterns import SEGMENTS

DOC = (Path(__file__).parents[2] / "docs" / "demo.md").read_text(encoding="utf-8")


def test_every_event_and_source_is_documented() -> None:
    for event in EVENTS:
        assert f"`{event.name}`" in DOC, event.name
    for source in SOURCES:
        assert f"`{source.name}`" in DOC, source.name


def test_every_group_and_knob_is_documented() -> None:
    lowered = DOC.lower()
    for segment in SEGMENTS:
        assert segment.key.replace("_", " ") in lowered, segment.key
    for knob in (
        "CHECKOUT_ERROR_RATE",
        "STICKY_TIKTOK",
        "NURTURE_SHARE",
        "NURTURE_LIFT",
        "SLOW_TICKET_SHARE",
    ):
        assert f"`{knob}`" in DOC, knob
