"""Each shipped example file imported with its shipped mapping; values checked by hand."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from journeylens import Workspace
from journeylens.events.mapping import load_mapping, shipped_mappings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

PAIRS = {
    "crm_contacts": "crm_contacts.csv",
    "shop_orders": "shop_orders.csv",
    "pos_receipts": "pos_receipts.parquet",
    "survey_answers": "survey_answers.csv",
    "reviews": "reviews.csv",
    "ad_interactions": "ad_interactions.csv",
    "website": "web_events.jsonl",
}


def load(ws: Workspace, name: str) -> list[dict[str, Any]]:
    report = ws.import_file(EXAMPLES / PAIRS[name], name)
    assert report.rejected == 0 and report.errors == []
    return ws.engine.rows("SELECT * FROM events ORDER BY event_id")


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["event_id"]: r for r in rows}


def test_every_shipped_mapping_has_an_example_and_loads() -> None:
    assert sorted(shipped_mappings()) == sorted(PAIRS)
    for name, data in PAIRS.items():
        assert (EXAMPLES / data).exists()
        assert load_mapping(name).source


def test_crm_contacts_cp1252_local_times_across_dst(workspace: Workspace) -> None:
    events = by_id(load(workspace, "crm_contacts"))
    assert len(events) == 8
    assert {e["type"] for e in events.values()} == {"identify"}
    # 28 March 2026 is CET (UTC+1), 30 March CEST (UTC+2): the clocks went forward on the 29th
    assert events["crm-C0003-28/03/2026 10:00"]["ts"] == datetime(2026, 3, 28, 9, 0)
    assert events["crm-C0004-30/03/2026 10:00"]["ts"] == datetime(2026, 3, 30, 8, 0)
    niccolo = json.loads(events["crm-C0003-28/03/2026 10:00"]["traits"])
    assert niccolo == {
        "email": "niccolo.esposito@example.it",
        "phone": "+39 320 555 0101",
        "first_name": "Niccolò",
        "last_name": "Esposito",
        "city": "Napoli",
        "loyalty_card": "FID-100871",
        "marketing_consent": True,
    }
    chiara = events["crm-C0004-30/03/2026 10:00"]
    assert chiara["group_id"] == "IT01234567890"
    assert json.loads(chiara["traits"])["last_name"] == "D'Angelo"
    luca = json.loads(events["crm-C0005-02/04/2026 08:30"]["traits"])
    assert "phone" not in luca and luca["city"] == "Forlì" and luca["marketing_consent"] is False
    assert workspace.sources()[0] | {"first_ts": None, "last_ts": None} == {
        "source": "crm",
        "kind": "crm",
        "data_party": "first",
        "description": "Contatti del CRM (export Excel)",
        "events": 8,
        "first_ts": None,
        "last_ts": None,
    }


def test_shop_orders_revenue_channels_and_duplicate(workspace: Workspace) -> None:
    report = workspace.import_file(EXAMPLES / "shop_orders.csv", "shop_orders")
    assert (report.read, report.stored, report.duplicates) == (7, 6, 1)
    assert report.duplicate_ids == ["ord-100234"]
    events = by_id(workspace.engine.rows("SELECT * FROM events"))
    totals = workspace.engine.rows(
        "SELECT currency, sum(revenue) AS revenue FROM events GROUP BY 1 ORDER BY 1"
    )
    # 89.90 + 145.50 + 39.00 + 212.00 + 64.40 = 550.80 EUR; one order in CHF
    assert totals == [
        {"currency": "CHF", "revenue": Decimal("120.0000")},
        {"currency": "EUR", "revenue": Decimal("550.8000")},
    ]
    assert {k: v["channel"] for k, v in events.items()} == {
        "ord-100231": "Paid Search",
        "ord-100232": "Email",
        "ord-100233": "Paid Social",
        "ord-100234": "Direct",
        "ord-100235": "Organic Search",
        "ord-100236": "Paid Search",
    }
    assert events["ord-100233"]["ts"] == datetime(2026, 3, 29, 9, 30)  # 11:30 +0200
    assert events["ord-100231"]["ts"] == datetime(2026, 3, 27, 20, 14, 9)  # 21:14:09 +0100
    assert json.loads(events["ord-100232"]["properties"]) == {
        "order_id": "100232",
        "items": 3,
        "discount_code": "BENVENUTO10",
        "payment_method": "paypal",
        "shipping_city": "Milano",
    }
    # a second import stores nothing new
    again = workspace.import_file(EXAMPLES / "shop_orders.csv", "shop_orders")
    assert (again.stored, again.duplicates) == (0, 7)


def test_pos_receipts_parquet_store_channel(workspace: Workspace) -> None:
    events = by_id(load(workspace, "pos_receipts"))
    assert len(events) == 6
    assert {e["channel"] for e in events.values()} == {"Store"}
    assert sum(e["revenue"] for e in events.values()) == Decimal("291.90")
    first = events["pos-RM01-0001-000451"]
    assert first["ts"] == datetime(2026, 3, 28, 9, 5, 12)  # 10:05:12 in Rome, CET
    assert events["pos-NA03-0003-000078"]["ts"] == datetime(2026, 3, 30, 9, 45, 3)  # CEST
    assert first["user_id"] == "FID-100234"
    assert events["pos-RM01-0001-000452"]["user_id"] is None
    assert events["pos-RM01-0001-000452"]["anonymous_id"] == "pos-RM01-0001-000452"
    assert json.loads(first["properties"])["items"] == 3


def test_survey_answers_scores(workspace: Workspace) -> None:
    rows = load(workspace, "survey_answers")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["event"]] = counts.get(r["event"], 0) + 1
    assert counts == {"nps_response": 4, "csat_response": 2, "ces_response": 2}
    nps = [json.loads(r["properties"])["score"] for r in rows if r["event"] == "nps_response"]
    assert sorted(nps) == [3, 7, 9, 10]
    # NPS = % promoters (9–10) − % detractors (0–6) = 2/4 − 1/4 = 25
    score = workspace.engine.scalar(
        "SELECT 100.0 * (count(*) FILTER (WHERE s >= 9) - count(*) FILTER (WHERE s <= 6)) "
        "/ count(*) FROM (SELECT CAST(properties->>'score' AS DOUBLE) AS s FROM events "
        "WHERE event = 'nps_response')"
    )
    assert score == pytest.approx(25.0)
    assert by_id(rows)["survey-R-5001"]["ts"] == datetime(2026, 3, 29, 8, 15)  # 10:15 CEST


def test_reviews_multiline_text_and_dates(workspace: Workspace) -> None:
    events = by_id(load(workspace, "reviews"))
    assert len(events) == 5
    ratings = [json.loads(e["properties"])["rating"] for e in events.values()]
    assert sum(ratings) / len(ratings) == pytest.approx(3.8)
    noisy = json.loads(events["review-B-77310"]["properties"])
    assert noisy["text"].splitlines() == [
        "La stanza dava sulla strada:",
        "impossibile dormire con le finestre aperte.",
        "Il personale però è stato disponibile.",
    ]
    assert (
        json.loads(events["review-G-88190"]["properties"])["text"]
        == 'We loved the rooftop bar and the "aperitivo" hour.'
    )
    # a date alone is midnight in Rome
    assert events["review-G-88121"]["ts"] == datetime(2026, 3, 14, 23, 0)
    assert events["review-B-77310"]["ts"] == datetime(2026, 3, 29, 22, 0)
    assert {e["data_party"] for e in events.values()} == {"second"}


def test_ad_interactions_cost_and_paid_channels(workspace: Workspace) -> None:
    events = by_id(load(workspace, "ad_interactions"))
    kinds = [e["event"] for e in events.values()]
    assert (kinds.count("ad_impression"), kinds.count("ad_click")) == (4, 3)
    # 0,0125 + 0,42 + 0,0080 + 0,31 + 0,0210 + 0,0210 + 1,05 (decimal commas)
    assert sum(e["cost"] for e in events.values()) == Decimal("1.8425")
    assert {k: v["channel"] for k, v in events.items()} == {
        "ad-I-0001": "Paid Search",
        "ad-I-0002": "Paid Search",
        "ad-I-0003": "Paid Social",
        "ad-I-0004": "Paid Social",
        "ad-I-0005": "Display",
        "ad-I-0006": "Display",
        "ad-I-0007": "Paid Search",
    }
    assert events["ad-I-0002"]["ts"] == datetime(2026, 3, 27, 19, 58, 40)


def test_web_events_json_lines(workspace: Workspace) -> None:
    events = by_id(load(workspace, "website"))
    assert len(events) == 8
    assert {e["source"] for e in events.values()} == {"website"}
    assert events["web-0001"]["channel"] == "Paid Search"
    assert events["web-0005"]["channel"] == "Paid Social"
    assert events["web-0006"]["channel"] == "Organic Search"
    assert events["web-0007"]["channel"] == "Direct"
    assert events["web-0004"]["revenue"] == Decimal("89.9")
    assert events["web-0004"]["ts"] == datetime(2026, 3, 27, 20, 14, 9)
    assert workspace.sources()[0]["kind"] == "website"


def test_json_lines_without_mapping_take_the_file_name_as_source(workspace: Workspace) -> None:
    report = workspace.import_file(EXAMPLES / "web_events.jsonl")
    assert report.stored == 8
    assert workspace.engine.scalar("SELECT DISTINCT source FROM events") == "web_events"
