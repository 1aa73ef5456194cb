"""The planted patterns are in the data, with the documented direction and rough size.

Each test measures a pattern with SQL over the demo workspace (2,000 people, seed 7), the way an
analysis would, and compares it with the knob in :mod:`journeylens.demo.patterns`. Thresholds are
well inside the expected sizes (docs/demo.md), so they hold for other seeds too (checked with
seeds 1–5 when the thresholds were set).
"""

from __future__ import annotations

from typing import Any

from journeylens import Workspace
from journeylens.demo.patterns import CHECKOUT_ERROR_RATE, NURTURE_LIFT, SLOW_TICKET_HOURS
from tests.demo.conftest import by, one


# -- (1) the payment step fails on phones ----------------------------------------------------
def checkout_by_device(ws: Workspace) -> dict[Any, dict[str, Any]]:
    return by(
        ws,
        "device",
        """
        SELECT context->'$.device'->>'type' AS device,
               count(*) FILTER (WHERE event = 'checkout_payment') AS payments,
               count(*) FILTER (WHERE event = 'checkout_error') AS errors
        FROM events WHERE event IN ('checkout_payment', 'checkout_error')
          AND (context->'$.app') IS NULL
        GROUP BY 1""",
    )


def test_checkout_errors_are_frequent_on_mobile(demo_ws: Workspace) -> None:
    stats = checkout_by_device(demo_ws)
    mobile = stats["mobile"]["errors"] / stats["mobile"]["payments"]
    desktop = stats["desktop"]["errors"] / stats["desktop"]["payments"]
    assert stats["mobile"]["payments"] > 300 and stats["desktop"]["payments"] > 300
    assert abs(mobile - CHECKOUT_ERROR_RATE["mobile"]) < 0.06
    assert abs(desktop - CHECKOUT_ERROR_RATE["desktop"]) < 0.03
    assert mobile > 3 * desktop


def test_every_checkout_error_follows_a_payment_and_names_a_reason(demo_ws: Workspace) -> None:
    row = one(
        demo_ws,
        """
        WITH e AS (SELECT event, ts, properties->>'order_id' AS order_id,
                          properties->>'reason' AS reason FROM events
                   WHERE event IN ('checkout_payment', 'checkout_error'))
        SELECT count(*) AS errors,
               count(*) FILTER (WHERE reason IN ('3ds_timeout', 'card_declined',
                   'payment_page_not_loaded', 'session_expired')) AS with_reason,
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM e p WHERE p.event = 'checkout_payment'
                   AND p.order_id = x.order_id AND p.ts < x.ts)) AS after_payment
        FROM e x WHERE event = 'checkout_error'""",
    )
    assert row["errors"] > 100
    assert row["with_reason"] == row["errors"] == row["after_payment"]


def ces_after_checkout(ws: Workspace) -> dict[Any, dict[str, Any]]:
    """Average CES of each answer, by the checkout result that preceded it (same user)."""
    return by(
        ws,
        "result",
        """
        WITH ces AS (SELECT user_id, ts, CAST(properties->>'score' AS INTEGER) AS score
                     FROM events WHERE event = 'ces_response'
                       AND properties->>'touchpoint' = 'checkout'),
             res AS (SELECT user_id, ts, event = 'checkout_error' AS failed FROM events
                     WHERE event IN ('checkout_error', 'purchase', 'booking_confirmed')
                       AND user_id IS NOT NULL)
        SELECT CASE WHEN r.failed THEN 'error' ELSE 'success' END AS result,
               count(*) AS answers, avg(score) AS ces
        FROM ces c ASOF JOIN res r ON c.user_id = r.user_id AND c.ts >= r.ts GROUP BY 1""",
    )


def test_ces_is_low_after_a_checkout_error(demo_ws: Workspace) -> None:
    stats = ces_after_checkout(demo_ws)
    assert stats["error"]["answers"] > 50 and stats["success"]["answers"] > 200
    assert stats["error"]["ces"] < 3.0 < 5.0 < stats["success"]["ces"]


# -- (2) TikTok brings many visits and few purchases ------------------------------------------
def shop_campaigns(ws: Workspace) -> dict[Any, dict[str, Any]]:
    """Entrances (landing page views: no referrer from the shop itself) and purchases made in
    the same sessions, by UTM campaign."""
    return by(
        ws,
        "campaign",
        """
        WITH visits AS (
            SELECT coalesce(context->'$.campaign'->>'name', '(none)') AS campaign,
                   count(*) AS visits
            FROM events WHERE event = 'page_viewed' AND source = 'shop_ecommerce'
              AND coalesce(context->'$.page'->>'referrer', '')
                  NOT LIKE 'https://www.bottegaaurora.it/%'
            GROUP BY 1),
        buys AS (
            SELECT coalesce(context->'$.campaign'->>'name', '(none)') AS campaign,
                   count(*) AS purchases
            FROM events WHERE event = 'purchase' AND source = 'shop_ecommerce' GROUP BY 1)
        SELECT campaign, visits, coalesce(purchases, 0) AS purchases
        FROM visits LEFT JOIN buys USING (campaign)""",
    )


def test_tiktok_brings_visits_but_few_purchases(demo_ws: Workspace) -> None:
    stats = shop_campaigns(demo_ws)
    tiktok = stats.pop("aurora-tiktok-glow-challenge")
    total_visits = tiktok["visits"] + sum(s["visits"] for s in stats.values())
    other_rate = sum(s["purchases"] for s in stats.values()) / sum(
        s["visits"] for s in stats.values()
    )
    ranked = sorted((s["visits"] for s in stats.values()), reverse=True)
    assert tiktok["visits"] >= ranked[2], "TikTok is among the three largest sources of visits"
    assert tiktok["visits"] > 0.1 * total_visits
    assert tiktok["purchases"] / tiktok["visits"] < 0.25 * other_rate


def test_paid_social_has_the_lowest_conversion_of_the_big_channels(demo_ws: Workspace) -> None:
    rows = demo_ws.engine.rows("""
        SELECT channel,
               count(*) FILTER (WHERE event = 'page_viewed' AND coalesce(
                   context->'$.page'->>'referrer', '') NOT LIKE 'https://www.bottegaaurora.it/%'
               ) AS visits,
               count(*) FILTER (WHERE event = 'purchase') AS purchases
        FROM events WHERE source = 'shop_ecommerce' GROUP BY 1 HAVING visits > 500""")
    rates = {r["channel"]: r["purchases"] / r["visits"] for r in rows}
    assert min(rates, key=rates.__getitem__) == "Paid Social"
    assert rates["Paid Social"] < 0.3 * sorted(rates.values())[len(rates) // 2]


# -- (3) distinct customer groups ---------------------------------------------------------------
def test_families_book_long_summer_stays_and_companies_midweek_nights(demo_ws: Workspace) -> None:
    stats = by(
        demo_ws,
        "kind",
        """
        SELECT CASE WHEN properties->>'rate_plan' = 'corporate' THEN 'corporate'
                    WHEN CAST(properties->>'children' AS INTEGER) > 0
                         AND properties->>'booking_type' = 'individual' THEN 'family'
                    ELSE 'other' END AS kind,
               count(*) AS bookings,
               avg(CAST(properties->>'nights' AS INTEGER)) AS nights,
               avg(CASE WHEN month(CAST(properties->>'check_in' AS DATE)) IN (6, 7, 8)
                   THEN 1 ELSE 0 END) AS summer,
               avg(CASE WHEN isodow(CAST(properties->>'check_in' AS DATE)) <= 4
                   THEN 1 ELSE 0 END) AS midweek,
               avg(revenue) AS revenue
        FROM events WHERE event = 'booking_confirmed' GROUP BY 1""",
    )
    family, corporate = stats["family"], stats["corporate"]
    assert family["bookings"] > 80 and corporate["bookings"] > 40
    assert family["summer"] > 0.6 and family["nights"] > 5
    assert corporate["midweek"] > 0.85 and corporate["nights"] < 2
    assert family["revenue"] > 4 * corporate["revenue"]


def test_app_users_buy_more_often_and_are_happier(demo_ws: Workspace) -> None:
    """Loyal customers use the app (they alias its device id to their customer number).
    NPS is averaged per buyer, so frequent buyers do not weigh more."""
    stats = by(
        demo_ws,
        "app",
        """
        WITH app AS (SELECT DISTINCT user_id FROM events WHERE event = 'alias'),
             buyers AS (SELECT user_id, count(*) AS orders FROM events
                        WHERE event = 'purchase' AND user_id IS NOT NULL
                          AND properties->>'order_type' = 'online' GROUP BY 1),
             nps AS (SELECT user_id, avg(CAST(properties->>'score' AS INTEGER)) AS nps
                     FROM events WHERE event = 'nps_response'
                       AND properties->>'survey' = 'post_purchase' GROUP BY 1)
        SELECT a.user_id IS NOT NULL AS app, count(*) AS buyers, avg(orders) AS orders,
               avg(nps) AS nps
        FROM buyers b LEFT JOIN app a USING (user_id) LEFT JOIN nps USING (user_id)
        GROUP BY 1""",
    )
    app, web = stats[True], stats[False]
    assert app["buyers"] > 50 and web["buyers"] > 150
    assert app["orders"] > 1.4 * web["orders"]
    assert app["nps"] > web["nps"]


def test_bargain_buys_are_small_mobile_and_around_black_friday(demo_ws: Workspace) -> None:
    stats = by(
        demo_ws,
        "code",
        """
        SELECT coalesce(properties->>'discount_code' = 'BLACKAURORA30', false) AS code,
               count(*) AS orders,
               avg(revenue) AS revenue,
               avg(CASE WHEN context->'$.device'->>'type' = 'mobile' THEN 1 ELSE 0 END)
                   AS mobile
        FROM events WHERE event = 'purchase' AND source = 'shop_ecommerce'
          AND properties->>'order_type' = 'online'
        GROUP BY 1""",
    )
    black_friday, rest = stats[True], stats[False]
    assert black_friday["orders"] > 25
    assert black_friday["revenue"] < 0.8 * rest["revenue"]
    assert black_friday["mobile"] > rest["mobile"]


def test_wholesale_orders_are_large(demo_ws: Workspace) -> None:
    stats = by(
        demo_ws,
        "kind",
        """
        SELECT properties->>'order_type' AS kind, count(*) AS orders, avg(revenue) AS revenue
        FROM events WHERE event = 'purchase' GROUP BY 1""",
    )
    assert stats["wholesale"]["orders"] > 20
    assert stats["wholesale"]["revenue"] > 5 * stats["online"]["revenue"]


# -- (4) nurturing lifts conversion ---------------------------------------------------------------
def nurture(ws: Workspace) -> dict[Any, dict[str, Any]]:
    """Website leads (newsletter signups), split by whether they were sent nurture emails, and
    how many bought or booked afterwards."""
    return by(
        ws,
        "nurtured",
        """
        WITH leads AS (SELECT user_id, min(ts) AS ts FROM events
                       WHERE event = 'newsletter_signup' GROUP BY 1),
             treated AS (SELECT DISTINCT user_id FROM events WHERE event = 'email_sent'
                          AND properties->>'campaign_type' = 'nurture'),
             converted AS (SELECT DISTINCT l.user_id FROM leads l JOIN events e
                           ON e.user_id = l.user_id AND e.ts > l.ts
                           AND e.event IN ('purchase', 'booking_confirmed'))
        SELECT t.user_id IS NOT NULL AS nurtured, count(*) AS leads,
               count(c.user_id) AS converted
        FROM leads l LEFT JOIN treated t USING (user_id) LEFT JOIN converted c USING (user_id)
        GROUP BY 1""",
    )


def test_nurtured_leads_convert_more(demo_ws: Workspace) -> None:
    stats = nurture(demo_ws)
    treated, control = stats[True], stats[False]
    assert treated["leads"] > 100 and control["leads"] > 100
    assert 0.35 < treated["leads"] / (treated["leads"] + control["leads"]) < 0.65
    lift = (treated["converted"] / treated["leads"]) / (control["converted"] / control["leads"])
    assert 1.25 < lift < NURTURE_LIFT + 0.5


# -- (5) slow tickets make detractors --------------------------------------------------------------
def nps_after_tickets(ws: Workspace) -> dict[Any, dict[str, Any]]:
    return by(
        ws,
        "slow",
        """
        WITH t AS (SELECT user_id, ts, CAST(properties->>'resolution_hours' AS DOUBLE) > ?
                          AS slow FROM events WHERE event = 'support_ticket_resolved'),
             n AS (SELECT user_id, ts, CAST(properties->>'score' AS INTEGER) AS score
                   FROM events WHERE event = 'nps_response'
                     AND properties->>'survey' = 'post_ticket')
        SELECT slow, count(*) AS answers, avg(score) AS nps,
               avg(CASE WHEN score <= 6 THEN 1 ELSE 0 END) AS detractors
        FROM n ASOF JOIN t ON n.user_id = t.user_id AND n.ts >= t.ts GROUP BY 1""",
        [SLOW_TICKET_HOURS],
    )


def test_slow_tickets_make_detractors(demo_ws: Workspace) -> None:
    stats = nps_after_tickets(demo_ws)
    slow, fast = stats[True], stats[False]
    assert slow["answers"] > 20 and fast["answers"] > 50
    assert slow["detractors"] > 0.7 > 0.35 > fast["detractors"]
    assert fast["nps"] - slow["nps"] > 3


def test_slow_tickets_get_low_csat_and_service_comments(demo_ws: Workspace) -> None:
    row = one(
        demo_ws,
        """
        WITH t AS (SELECT user_id, ts, CAST(properties->>'resolution_hours' AS DOUBLE) > 48
                          AS slow FROM events WHERE event = 'support_ticket_resolved'),
             c AS (SELECT user_id, ts, CAST(properties->>'score' AS INTEGER) AS score,
                          properties->>'comment' AS comment FROM events
                   WHERE event = 'csat_response' AND properties->>'survey' = 'post_ticket')
        SELECT avg(score) FILTER (WHERE slow) AS slow_csat,
               avg(score) FILTER (WHERE NOT slow) AS fast_csat,
               count(*) FILTER (WHERE slow AND (comment ILIKE '%lent%'
                   OR comment ILIKE '%slow%' OR comment ILIKE '%giorni%'
                   OR comment ILIKE '%days%' OR comment ILIKE '%risolve%')) AS slow_comments,
               count(*) FILTER (WHERE slow AND comment IS NOT NULL) AS slow_with_comment
        FROM c ASOF JOIN t ON c.user_id = t.user_id AND c.ts >= t.ts""",
    )
    assert row["slow_csat"] < 2.8 < 3.8 < row["fast_csat"]
    assert row["fast_csat"] - row["slow_csat"] > 1.4
    assert row["slow_comments"] == row["slow_with_comment"] > 5
