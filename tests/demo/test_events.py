"""Every demo event is a valid canonical event, and the demo has what the issue asks for."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pyarrow as pa

from journeylens import Workspace
from journeylens.config import IdentityConfig
from journeylens.demo import DEMO_END, generate_events
from journeylens.demo.catalogue import BRANDS, EVENTS, SOURCES
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.schema import DATA_PARTIES, EVENT_TYPES
from tests.demo.conftest import PATTERN_CUSTOMERS, by, one

BRAND_NAMES = [b.name for b in BRANDS]


def test_types_ids_and_parties_are_valid(demo_ws: Workspace) -> None:
    row = one(
        demo_ws,
        """
        SELECT count(*) AS events,
               count(*) FILTER (WHERE type NOT IN ?) AS bad_type,
               count(*) FILTER (WHERE user_id IS NULL AND anonymous_id IS NULL) AS no_id,
               count(*) FILTER (WHERE type = 'group' AND group_id IS NULL) AS group_no_id,
               count(*) FILTER (WHERE type = 'alias' AND (previous_id IS NULL OR user_id IS NULL))
                   AS bad_alias,
               count(*) FILTER (WHERE data_party NOT IN ?) AS bad_party,
               count(*) FILTER (WHERE NOT json_valid(properties) OR NOT json_valid(
                   coalesce(context, '{}')) OR NOT json_valid(coalesce(traits, '{}'))) AS bad_json,
               count(*) FILTER (WHERE (properties->>'brand') NOT IN ?
                                OR (properties->>'brand') IS NULL) AS no_brand,
               count(DISTINCT event_id) AS ids,
               count(*) FILTER (WHERE received_at < ts) AS received_early
        FROM events""",
        [list(EVENT_TYPES), list(DATA_PARTIES), BRAND_NAMES],
    )
    assert row["events"] > 60 * PATTERN_CUSTOMERS * 0.5
    assert row["ids"] == row["events"]
    for key in (
        "bad_type",
        "no_id",
        "group_no_id",
        "bad_alias",
        "bad_party",
        "bad_json",
        "no_brand",
        "received_early",
    ):
        assert row[key] == 0, key


def test_event_names_types_and_sources_follow_the_vocabulary(demo_ws: Workspace) -> None:
    names = {e.name: e.type for e in EVENTS}
    rows = demo_ws.engine.rows("SELECT event, type, count(*) AS n FROM events GROUP BY ALL")
    assert {r["event"] for r in rows} == set(names), "every event of the vocabulary occurs"
    assert all(names[r["event"]] == r["type"] for r in rows)
    parties = by(
        demo_ws,
        "source",
        """
        SELECT e.source, any_value(e.data_party) AS party, count(DISTINCT e.data_party) AS n,
               any_value(s.data_party) AS registered, any_value(s.kind) AS kind
        FROM events e LEFT JOIN sources s USING (source) GROUP BY 1""",
    )
    declared = {s.name: s for s in SOURCES}
    assert set(parties) == set(declared)
    for name, row in parties.items():
        assert row["n"] == 1 and row["party"] == row["registered"] == declared[name].data_party
        assert row["kind"] == declared[name].kind
    assert {r["party"] for r in parties.values()} == set(DATA_PARTIES)


def test_timestamps_cover_the_window_in_utc(demo_ws: Workspace) -> None:
    row = one(
        demo_ws,
        """
        SELECT min(timezone('Europe/Rome', ts::TIMESTAMPTZ))::DATE AS first_day,
               max(timezone('Europe/Rome', ts::TIMESTAMPTZ))::DATE AS last_day,
               count(DISTINCT timezone('Europe/Rome', ts::TIMESTAMPTZ)::DATE) AS days
        FROM events""",
    )
    assert row["last_day"] == DEMO_END
    assert (DEMO_END - row["first_day"]).days == 364
    assert row["days"] == 365


def test_money_has_currency_and_matches_the_properties(demo_ws: Workspace) -> None:
    rows = by(
        demo_ws,
        "event",
        """
        SELECT event, count(*) AS n, count(revenue) AS with_revenue, count(cost) AS with_cost,
               count(*) FILTER (WHERE (revenue IS NOT NULL OR cost IS NOT NULL)
                                AND currency IS NULL) AS no_currency,
               count(*) FILTER (WHERE revenue IS NOT NULL AND revenue <> CAST(
                   properties->>'revenue' AS DECIMAL(18, 4))) AS mismatch,
               min(revenue) AS min_revenue, min(cost) AS min_cost,
               list(DISTINCT currency ORDER BY currency) AS currencies
        FROM events GROUP BY 1""",
    )
    for event in ("purchase", "booking_confirmed", "extra_purchased"):
        assert rows[event]["with_revenue"] == rows[event]["n"] and rows[event]["min_revenue"] > 0
    for event in ("ad_impression", "ad_click"):
        assert rows[event]["with_cost"] == rows[event]["n"] and rows[event]["min_cost"] > 0
    assert all(r["no_currency"] == 0 and r["mismatch"] == 0 for r in rows.values())
    assert rows["booking_confirmed"]["currencies"] == ["CHF", "EUR", "USD"]
    assert rows["purchase"]["currencies"] == ["EUR"]


def test_rows_read_back_as_segment_messages_normalise_to_themselves() -> None:
    """An independent check: each generated row, written as the Segment message it stands for,
    goes through the store's own normaliser and comes out with the same ids, type, event,
    revenue, cost and currency."""
    table = next(generate_events(120, seed=3))
    sample = table.take(pa.array(range(0, table.num_rows, 7))).to_pylist()
    for row in sample:
        message = {
            "type": row["type"],
            "event": row["event"],
            "messageId": row["event_id"],
            "userId": row["user_id"],
            "anonymousId": row["anonymous_id"],
            "groupId": row["group_id"],
            "previousId": row["previous_id"],
            "timestamp": row["ts"].isoformat() + "Z",
            "properties": json.loads(row["properties"]),
            "context": json.loads(row["context"]) if row["context"] else None,
            "traits": json.loads(row["traits"]) if row["traits"] else None,
            "channel": row["explicit_channel"],
        }
        if row["type"] in ("page", "screen"):
            del message["event"]
        out = normalise_message(message, MessageDefaults(row["source"], row["data_party"]))
        for key in (
            "event_id",
            "type",
            "event",
            "user_id",
            "anonymous_id",
            "group_id",
            "previous_id",
            "ts",
            "revenue",
            "cost",
            "currency",
            "explicit_channel",
        ):
            assert out[key] == row[key], (key, row)
        if row["traits"]:
            assert json.loads(out["traits"]) == json.loads(row["traits"])


def test_identity_material(demo_ws: Workspace) -> None:
    row = one(
        demo_ws,
        """
        WITH web AS (SELECT anonymous_id, min(ts) FILTER (WHERE user_id IS NULL) AS anon_from,
                            min(ts) FILTER (WHERE type = 'identify') AS identified
                     FROM events WHERE source IN ('hotel_website', 'shop_ecommerce')
                     GROUP BY 1)
        SELECT (SELECT count(*) FROM web WHERE anon_from < identified) AS later_identified,
               (SELECT count(*) FROM web WHERE identified IS NULL) AS never_identified,
               (SELECT count(*) FROM events WHERE source = 'shop_pos' AND user_id IS NULL
                  AND (traits->>'email' IS NOT NULL OR traits->>'phone' IS NOT NULL))
                  AS receipts_with_contact,
               (SELECT count(*) FROM events WHERE type = 'alias') AS aliases,
               (SELECT count(DISTINCT anonymous_id) FROM events
                WHERE lower(traits->>'email') = 'negozio@bottegaaurora.it') AS shared_email_ids,
               (SELECT count(*) FROM events WHERE source = 'booking_portal'
                AND traits->>'email' LIKE '%@guest.prenotalago.it') AS portal_proxies,
               (SELECT count(*) FROM events WHERE source = 'data_provider'
                AND traits->>'email' IS NOT NULL AND traits->>'age_band' IS NOT NULL)
                AS enrichments""",
    )
    assert row["later_identified"] > 300
    assert row["never_identified"] > 500
    assert row["receipts_with_contact"] > 300
    assert row["aliases"] > 20
    assert row["shared_email_ids"] > IdentityConfig().max_links
    assert row["portal_proxies"] > 20 and row["enrichments"] > 100
    # CRM and till write the same phone differently: +39 347 123 4567 vs 3471234567.
    linked = one(
        demo_ws,
        """
        SELECT count(DISTINCT p.anonymous_id) AS n FROM events p JOIN events c
          ON replace(replace(c.traits->>'phone', ' ', ''), '+39', '') = p.traits->>'phone'
        WHERE p.source = 'shop_pos' AND c.source = 'shop_crm' AND c.type = 'identify'""",
    )
    assert linked["n"] > 100


def test_b2b_accounts_have_several_contacts_with_roles(demo_ws: Workspace) -> None:
    accounts = demo_ws.engine.rows("""
        SELECT group_id, count(DISTINCT user_id) AS contacts,
               any_value(traits->>'name') AS name, any_value(traits->>'industry') AS industry,
               any_value(CAST(traits->>'employees' AS INTEGER)) AS employees,
               any_value(traits->>'account_type') AS kind
        FROM events WHERE type = 'group' GROUP BY 1""")
    assert len(accounts) > 20
    assert {a["kind"] for a in accounts} == {"travel_agency", "corporate", "retailer"}
    assert all(
        2 <= a["contacts"] <= 6 and a["name"] and a["industry"] and a["employees"] >= 2
        for a in accounts
    )
    roles = one(
        demo_ws,
        """
        SELECT count(*) AS contacts, count(traits->>'role') AS with_role
        FROM events WHERE type = 'identify' AND user_id IN (
            SELECT user_id FROM events WHERE type = 'group')
          AND source IN ('hotel_crm', 'shop_crm')""",
    )
    assert roles["contacts"] > 0 and roles["with_role"] == roles["contacts"]


def test_surveys_and_reviews(demo_ws: Workspace) -> None:
    rows = by(
        demo_ws,
        "event",
        """
        SELECT event, count(*) AS n,
               min(CAST(coalesce(properties->>'score', properties->>'rating') AS INTEGER)) AS lo,
               max(CAST(coalesce(properties->>'score', properties->>'rating') AS INTEGER)) AS hi,
               count(DISTINCT properties->>'language') AS languages,
               count(properties->>'comment') AS comments,
               list(DISTINCT properties->>'platform' ORDER BY properties->>'platform')
                   AS platforms
        FROM events WHERE event IN ('nps_response', 'csat_response', 'ces_response',
                                    'review_written') GROUP BY 1""",
    )
    assert (rows["nps_response"]["lo"], rows["nps_response"]["hi"]) == (0, 10)
    assert (rows["csat_response"]["lo"], rows["csat_response"]["hi"]) == (1, 5)
    assert (rows["ces_response"]["lo"], rows["ces_response"]["hi"]) == (1, 7)
    assert (rows["review_written"]["lo"], rows["review_written"]["hi"]) == (1, 5)
    assert rows["review_written"]["platforms"] == ["Google", "TripAdvisor", "Trustpilot"]
    assert all(r["languages"] == 2 for r in rows.values())
    assert all(r["comments"] > 0 for k, r in rows.items() if k != "review_written")
    texts = one(
        demo_ws,
        """
        SELECT count(*) FILTER (WHERE properties->>'language' = 'it'
                                AND properties->>'text' ILIKE '%camera%') AS italian,
               count(*) FILTER (WHERE properties->>'language' = 'en'
                                AND properties->>'text' ILIKE '% the %') AS english
        FROM events WHERE event = 'review_written'""",
    )
    assert texts["italian"] > 0 and texts["english"] > 0


def test_both_brands_share_the_workspace(demo_ws: Workspace) -> None:
    rows = by(
        demo_ws,
        "brand",
        """
        SELECT properties->>'brand' AS brand, count(*) AS events,
               count(DISTINCT source) AS sources FROM events GROUP BY 1""",
    )
    assert set(rows) == set(BRAND_NAMES)
    assert all(r["events"] > 30_000 and r["sources"] >= 10 for r in rows.values())


def test_seasonality_weekdays_and_hours(demo_ws: Workspace) -> None:
    local = "timezone('Europe/Rome', ts::TIMESTAMPTZ)"
    months = by(
        demo_ws,
        "m",
        f"""
        SELECT month({local}) AS m,
               count(*) FILTER (WHERE event = 'check_in') AS stays,
               count(*) FILTER (WHERE event = 'purchase') AS purchases
        FROM events GROUP BY 1""",
    )
    summer = (months[7]["stays"] + months[8]["stays"]) / 2
    winter = sum(months[m]["stays"] for m in (11, 12, 1, 2)) / 4
    assert summer > 2.5 * winter
    summer_to_may = sum(months[m]["purchases"] for m in (3, 4, 5, 6, 9, 10)) / 6
    assert months[12]["purchases"] > 2 * summer_to_may
    week = by(
        demo_ws,
        "black_friday",
        f"""
        SELECT {local}::DATE BETWEEN DATE '2025-11-25' AND DATE '2025-12-01' AS black_friday,
               count(*) / count(DISTINCT {local}::DATE) AS per_day
        FROM events WHERE event = 'purchase' AND source = 'shop_ecommerce'
          AND {local}::DATE BETWEEN DATE '2025-11-04' AND DATE '2025-12-01' GROUP BY 1""",
    )
    assert week[True]["per_day"] > 2 * week[False]["per_day"]
    days = by(
        demo_ws,
        "dow",
        f"""
        SELECT isodow({local}) AS dow, count(*) AS n FROM events
        WHERE source = 'shop_pos' AND event = 'purchase' GROUP BY 1""",
    )
    assert days[6]["n"] > 1.4 * sum(days[d]["n"] for d in range(1, 6)) / 5
    hours = by(
        demo_ws,
        "h",
        f"""
        SELECT hour({local}) AS h, count(*) AS n FROM events WHERE event = 'page_viewed'
        GROUP BY 1""",
    )
    assert hours[21]["n"] > 5 * hours[4]["n"]


def test_counts_per_customer_stay_in_range() -> None:
    tables = list(generate_events(400, seed=5))
    events = sum(t.num_rows for t in tables)
    assert 40 * 400 < events < 90 * 400
    first, last = tables[0]["ts"][0].as_py(), tables[0]["ts"][-1].as_py()
    assert isinstance(first, datetime) and isinstance(last, datetime)


def test_revenue_decimals_are_exact() -> None:
    table = next(generate_events(60, seed=2))
    paid = [r for r in table.to_pylist() if r["revenue"] is not None]
    assert paid
    for row in paid:
        assert row["revenue"] == Decimal(json.loads(row["properties"])["revenue"]).quantize(
            Decimal("0.0001")
        )
