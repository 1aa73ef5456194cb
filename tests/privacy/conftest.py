"""A small hand-checkable log of three people and one company, for the privacy tests.

Mario (the person requests are about) has two anonymous ids (``a-mario-1``, ``a-mario-2``),
a user id ``u-mario``, a CRM user id ``crm-mario`` linked by his email, an email written in
two cases, a phone written in two ways, an alias from ``old-mario``, and a group call that
makes him a member of ``acme``: 9 events. Luigi (4 events) is also a member of ``acme``;
Anna (2 events) is anonymous only. Every marker below is unique to its person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import journeylens
from journeylens import Workspace


def msg(mid: str, minute: int, kind: str = "track", **fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": kind,
        "messageId": mid,
        "timestamp": f"2026-11-02T10:{minute:02d}:00Z",
    }
    if kind == "track":
        message["event"] = fields.pop("event", "product_viewed")
    message.update(fields)
    return message


MARIO_EVENTS = [
    msg("ev-mario-01", 0, "page", anonymousId="a-mario-1", properties={"path": "/zebedeo-page"}),
    msg(
        "ev-mario-02",
        1,
        "identify",
        anonymousId="a-mario-1",
        userId="u-mario",
        traits={
            "email": " Mario.Rossi@Example.IT ",
            "name": "Zebedeo Rossi",
            "phone": "333 123 4567",
        },
    ),
    msg("ev-mario-03", 2, event="add_to_cart", userId="u-mario", properties={"sku": "SKU-Z"}),
    msg("ev-mario-04", 3, event="purchase", userId="u-mario", properties={"revenue": 120}),
    msg(
        "ev-mario-05",
        4,
        event="purchase",
        userId="crm-mario",
        traits={"email": "mario.rossi@example.it", "phone": "+39 333 1234567"},
    ),
    msg("ev-mario-06", 5, "page", anonymousId="a-mario-2", userId="u-mario"),
    msg("ev-mario-07", 6, "alias", userId="u-mario", previousId="old-mario"),
    msg(
        "ev-mario-08",
        7,
        "group",
        userId="u-mario",
        groupId="acme",
        traits={"name": "Acme srl"},
        context={"traits": {"email": "mario.rossi@example.it"}},
    ),
    msg("ev-mario-09", 8, event="review_written", userId="u-mario", properties={"rating": 5}),
]
LUIGI_EVENTS = [
    msg("ev-luigi-01", 10, "page", anonymousId="a-luigi"),
    msg(
        "ev-luigi-02",
        11,
        "identify",
        anonymousId="a-luigi",
        userId="u-luigi",
        traits={"email": "luigi.verdi@example.it", "name": "Luigi Verdi"},
    ),
    msg("ev-luigi-03", 12, "group", userId="u-luigi", groupId="acme", traits={"name": "Acme srl"}),
    msg("ev-luigi-04", 13, event="purchase", userId="u-luigi"),
]
ANNA_EVENTS = [
    msg("ev-anna-01", 20, "page", anonymousId="a-anna"),
    msg("ev-anna-02", 21, event="product_viewed", anonymousId="a-anna"),
]
ALL_EVENTS = MARIO_EVENTS + LUIGI_EVENTS + ANNA_EVENTS

MARIO_EMAIL = "mario.rossi@example.it"
MARIO_PHONE = "+393331234567"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


MARIO_MARKERS = (
    "a-mario-1",
    "a-mario-2",
    "u-mario",
    "crm-mario",
    "old-mario",
    MARIO_EMAIL,
    MARIO_PHONE,
    "333 123 4567",
    "+39 333 1234567",
    "zebedeo",
    "SKU-Z",
    sha(MARIO_EMAIL),
    sha(MARIO_PHONE),
    *(e["messageId"] for e in MARIO_EVENTS),
)
LUIGI_MARKERS = ("a-luigi", "u-luigi", "luigi.verdi@example.it", "Luigi Verdi", "ev-luigi-01")


def build(ws: Workspace, *, stages: bool = True) -> None:
    """Store the log, resolve identities, assign a customer-level and an account-level model."""
    report = ws.append_messages(ALL_EVENTS, source="web", on_error="stop")
    assert report.stored == len(ALL_EVENTS)
    ws.resolve_identities()
    if stages:
        ws.stages.assign("five_phases")
        ws.stages.assign("b2b_pipeline")


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    """The three people, resolved, with stage histories (customer and account level)."""
    with journeylens.create_workspace(tmp_path / "ws", timezone="Europe/Rome") as ws:
        build(ws)
        yield ws


@pytest.fixture
def hashed_shop(tmp_path: Path) -> Iterator[Workspace]:
    """The same, with ``hash_identifiers`` on."""
    with journeylens.create_workspace(
        tmp_path / "ws", timezone="Europe/Rome", identity={"hash_identifiers": True}
    ) as ws:
        build(ws)
        yield ws
