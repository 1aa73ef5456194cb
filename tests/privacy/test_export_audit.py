"""Right of access (export) and the audit log of requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import journeylens
from journeylens import NotFoundError, Workspace
from journeylens.privacy.tokens import request_token
from tests.privacy.conftest import MARIO_EMAIL, MARIO_EVENTS, MARIO_PHONE, build
from tests.privacy.walk import find


def test_export_holds_everything_about_the_person(shop: Workspace) -> None:
    data = shop.privacy.export(" mario.rossi@EXAMPLE.it")
    json.dumps(data)  # JSON-able as it is
    assert data["customer_id"] == shop.profile("u-mario").customer_id
    assert [e["event_id"] for e in data["events"]] == [m["messageId"] for m in MARIO_EVENTS]
    identify = data["events"][1]
    assert identify["traits"]["name"] == "Zebedeo Rossi"  # JSON columns parsed
    assert {(i["kind"], i["value"]) for i in data["identifiers"]} == {
        ("anonymous_id", "a-mario-1"),
        ("anonymous_id", "a-mario-2"),
        ("anonymous_id", "old-mario"),
        ("user_id", "u-mario"),
        ("user_id", "crm-mario"),
        ("email", MARIO_EMAIL),
        ("phone", MARIO_PHONE),
    }
    assert len(data["identifiers"]) == 7
    assert data["profile"]["events"] == 9
    assert data["profile"]["traits"]["name"] == "Zebedeo Rossi"
    tables = data["tables"]
    assert len(tables["customer_events"]) == 9
    assert [r["account_id"] for r in tables["account_members"]] == ["acme"]
    entries = {(r["model_id"], r["unit_id"], r["stage"]) for r in tables["stage_entries"]}
    five = {"awareness", "consideration", "conversion", "retention", "advocacy"}
    # his own history, and the account entries his events triggered
    assert entries == {("five_phases", data["customer_id"], s) for s in five} | {
        ("b2b_pipeline", "acme", s) for s in ("lead", "customer", "advocate")
    }
    assert data["suppressed"] is False
    assert not any("luigi" in json.dumps(v).lower() for v in data.values())


def test_export_says_suppressed_and_lists_requests(shop: Workspace) -> None:
    shop.privacy.suppress("u-mario", requested_by="dpo@brand.it")
    data = shop.privacy.export("u-mario")
    assert data["suppressed"] is True
    assert [(r["action"], r["requested_by"]) for r in data["requests"]] == [
        ("suppress", "dpo@brand.it")
    ]


def test_export_unknown_is_not_found(shop: Workspace) -> None:
    with pytest.raises(NotFoundError, match="nothing is held"):
        shop.privacy.export("nobody@example.it")


def test_export_on_a_read_only_workspace(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    with journeylens.create_workspace(folder) as ws:
        build(ws, stages=False)
    with journeylens.open_workspace(folder, read_only=True) as ws:
        assert len(ws.privacy.export("a-mario-2")["events"]) == 9


def test_audit_log_holds_no_plain_identifier(shop: Workspace) -> None:
    shop.privacy.suppress("Mario.Rossi@Example.IT", requested_by="http")
    shop.privacy.export("u-mario")  # exports are not requests that change anything: not logged
    shop.privacy.delete("u-mario", requested_by="cli")
    with pytest.raises(NotFoundError):
        shop.privacy.delete("u-mario")
    requests = shop.privacy.requests()
    assert [(r.action, r.status, r.requested_by) for r in requests] == [
        ("suppress", "done", "http"),
        ("delete", "done", "cli"),
        ("delete", "not_found", "cli"),
    ]
    assert all(r.completed_at is not None and r.completed_at >= r.requested_at for r in requests)
    secret = shop.engine.scalar("SELECT value FROM _privacy_settings WHERE key = 'secret'")
    # the token matches the identifier as given (trimmed, emails lower-cased) …
    assert requests[0].identifier_token == request_token(secret, " mario.rossi@example.it")
    assert requests[1].identifier_token == requests[2].identifier_token
    # … and nothing in the privacy tables reads as one of Mario's identifiers
    assert find(shop, ["mario", "zebedeo", "+39333"]) == {}
    assert requests[1].to_dict()["rows_deleted"]["customer_profiles"] == 1
    assert json.loads(json.dumps(requests[1].to_dict()))["events_deleted"] == 9
