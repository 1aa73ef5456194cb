"""The demo's contexts land in the channels they were designed for, by the store's own rules."""

from __future__ import annotations

import pyarrow as pa

from journeylens import Workspace
from journeylens.demo import generate_events
from journeylens.demo.catalogue import TRAFFIC
from journeylens.events.channels import OFFLINE_CHANNELS
from tests.demo.conftest import DERIVED_CUSTOMERS, DERIVED_SEED, by, one


def test_every_event_lands_in_its_designed_channel(derived_ws: Workspace) -> None:
    designed = pa.concat_tables(
        generate_events(DERIVED_CUSTOMERS, seed=DERIVED_SEED, designed_channel=True)
    ).select(["event_id", "channel"])
    with derived_ws.engine.registered("designed", designed):
        row = one(
            derived_ws,
            """
            SELECT count(*) AS events, count(d.event_id) AS matched,
                   count(*) FILTER (WHERE d.channel = e.channel) AS same,
                   list(DISTINCT e.event || ': ' || d.channel || ' → ' || e.channel)
                       FILTER (WHERE d.channel <> e.channel) AS differences
            FROM events e LEFT JOIN designed d USING (event_id)""",
        )
    assert row["events"] == designed.num_rows == row["matched"]
    assert row["same"] == row["events"], row["differences"]


def test_every_traffic_source_reaches_its_channel(derived_ws: Workspace) -> None:
    """Each landing page's UTM or referrer gives the channel the catalogue says."""
    stats = by(
        derived_ws,
        "campaign",
        """
        SELECT coalesce(context->'$.campaign'->>'name', context->'$.page'->>'referrer') AS campaign,
               list(DISTINCT channel) AS channels
        FROM events WHERE event = 'page_viewed' AND coalesce(context->'$.page'->>'referrer', '')
            NOT IN ('https://www.hotellagoblu.it/', 'https://www.bottegaaurora.it/')
        GROUP BY 1""",
    )
    checked = 0
    for t in TRAFFIC:
        key = t.utm[2] if t.utm else t.referrer
        if key is not None and key in stats:
            assert stats[key]["channels"] == [t.channel], (t.key, stats[key])
            checked += 1
    assert checked > 20


def test_channel_mix(demo_ws: Workspace) -> None:
    shares = {
        r["channel"]: r["share"]
        for r in demo_ws.engine.rows(
            "SELECT channel, count(*) / sum(count(*)) OVER () AS share FROM events GROUP BY 1"
        )
    }
    expected = {
        "Direct",
        "Organic Search",
        "Paid Search",
        "Organic Social",
        "Paid Social",
        "Email",
        "Display",
        "Referral",
        "Affiliates",
        "Organic Video",
        "Paid Shopping",
        "Store",
        "Phone",
        "Event",
        "Mail",
        "Chat",
        "Unassigned",
    }
    assert set(shares) == expected
    for channel in ("Direct", "Email", "Paid Search", "Paid Social", "Organic Search"):
        assert 0.05 < shares[channel] < 0.35, channel
    assert shares["Unassigned"] < 0.05
    offline = sum(shares[c] for c in OFFLINE_CHANNELS if c in shares)
    assert 0.02 < offline < 0.15


def test_offline_channels_are_explicit_and_online_ones_derived(demo_ws: Workspace) -> None:
    rows = by(
        demo_ws,
        "channel",
        """
        SELECT channel, list(DISTINCT source ORDER BY source) AS sources FROM events
        WHERE channel IN ('Store', 'Phone', 'Event', 'Mail', 'Chat') GROUP BY 1""",
    )
    assert rows["Store"]["sources"] == ["hotel_frontdesk", "shop_pos"]
    assert set(rows["Phone"]["sources"]) == {"hotel_frontdesk", "hotel_service", "shop_service"}
    assert set(rows["Event"]["sources"]) == {"hotel_crm", "shop_crm"}
    assert set(rows["Mail"]["sources"]) == {"hotel_crm", "shop_crm"}
    assert set(rows["Chat"]["sources"]) == {"hotel_service", "shop_service"}
    web = one(
        demo_ws,
        """
        SELECT count(*) FILTER (WHERE channel IN ('Store', 'Phone', 'Event', 'Mail', 'Chat'))
               AS offline FROM events
        WHERE source IN ('hotel_website', 'shop_ecommerce', 'shop_app', 'ad_server')""",
    )
    assert web["offline"] == 0


def test_ad_events_carry_their_campaign_channel_and_cost(demo_ws: Workspace) -> None:
    rows = by(
        demo_ws,
        "platform",
        """
        SELECT properties->>'platform' AS platform, list(DISTINCT channel) AS channels,
               sum(cost) AS spend, count(*) FILTER (WHERE event = 'ad_click') AS clicks,
               count(*) FILTER (WHERE event = 'ad_impression') AS impressions
        FROM events WHERE source = 'ad_server' GROUP BY 1""",
    )
    assert rows["TikTok Ads"]["channels"] == ["Paid Social"]
    assert set(rows["Google Ads"]["channels"]) == {"Paid Search", "Paid Shopping"}
    assert rows["Display & Video 360"]["channels"] == ["Display"]
    assert rows["ScontiWeb"]["channels"] == ["Affiliates"]
    assert rows["ScontiWeb"]["impressions"] == 0, "the coupon site is paid per click only"
    assert all(r["spend"] > 0 and r["clicks"] > 0 for r in rows.values())
    assert all(r["impressions"] > r["clicks"] for k, r in rows.items() if k != "ScontiWeb")
