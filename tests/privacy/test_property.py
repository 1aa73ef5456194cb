"""Property test: on random event logs, deleting a person removes exactly the events the
pure-Python identity reference gives that person (and any other event that names one of their
ids), and what stays is what the reference makes of the remaining events."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeylens
from journeylens.identity.identifiers import candidates, stored_value
from tests.identity.reference import resolve as reference
from tests.identity.reference import stored_events
from tests.identity.test_identity_properties import CONFIGS, messages


def _text(value: Any) -> Any:
    """What ``json_extract_string`` gives for a trait value (None for objects, lists, null)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=messages(), identity=CONFIGS, pick=st.integers(0, 10_000))
def test_delete_removes_exactly_the_reference_person(
    log: list[dict[str, Any]], identity: dict[str, Any], pick: int
) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        journeylens.create_workspace(Path(folder) / "ws", identity=identity) as ws,
    ):
        ws.append_messages(log, source="web", on_error="stop")
        config = ws.config.identity
        before = reference(stored_events(ws.engine), config)
        owner = {node: c for c, nodes in before.identifiers.items() for node in nodes}
        nodes = sorted(owner)
        if not nodes:
            return
        key = nodes[pick % len(nodes)][1]
        # the documented lookup order decides whose key it is when several kinds share a text
        customer = next(owner[c] for c in candidates(key, config) if c in owner)
        owned = {e for e, c in before.event_customer.items() if c == customer}
        # an event that names one of the person's ids goes too, even when identity gave it to
        # someone else (e.g. an alias whose user id the guard quarantined, naming the person
        # as previousId): nothing that carries the person's identifiers may stay
        nodes_of = before.identifiers[customer]
        users = {v for k, v in nodes_of if k == "user_id"}
        anons = {v for k, v in nodes_of if k == "anonymous_id"}
        # and so does an event whose person traits carry one of the person's trait
        # identifiers (e.g. on a user id the guard quarantined): the identifier is theirs
        traits = {(k, v) for k, v in nodes_of if k not in ("user_id", "anonymous_id")}

        def carries(event: dict[str, Any]) -> bool:
            values = event["person_traits"] or {}
            return any(
                (kind, stored_value(kind, _text(values.get(kind)), config)) in traits
                for kind in config.identifiers
                if _text(values.get(kind)) is not None
            )

        naming = {
            e["event_id"]
            for e in stored_events(ws.engine)
            if e["user_id"] in users
            or e["anonymous_id"] in anons
            or e["previous_id"] in users | anons
            or carries(e)
        }
        gone = owned | naming

        request = ws.privacy.delete(key)

        assert request.events_deleted == len(gone)
        left = {r["event_id"] for r in ws.engine.rows("SELECT event_id FROM events")}
        assert left == set(before.event_customer) - gone
        after = reference(stored_events(ws.engine), config)
        stored = ws.engine.rows("SELECT event_id, customer_id FROM customer_events")
        assert {r["event_id"]: r["customer_id"] for r in stored} == after.event_customer
        kept = set().union(*after.identifiers.values()) if after.identifiers else set()
        # an identifier the guard left with several customers (e.g. a quarantined shared email)
        # also belongs to the others, whose events keep it
        others = {n for c, nodes in before.identifiers.items() if c != customer for n in nodes}
        assert not kept & (before.identifiers[customer] - others)
