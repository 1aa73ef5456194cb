"""Stage assignment on hand-checked logs, one rule kind at a time."""

from __future__ import annotations

from datetime import datetime

from journeylens import Workspace
from journeylens.stages.assign import assign
from tests.stages.conftest import entries, load, model

AS_OF = datetime(2026, 12, 31)

LINEAR = """
id: toy
labels: {en: Toy, it: Giocattolo}
stages:
  - id: aware
    labels: {en: Aware, it: Consapevole}
    entry: {any_touchpoint: true}
  - id: consider
    labels: {en: Consider, it: Considera}
    entry: {event: product_viewed, count: 2, within_days: 7}
  - id: buy
    labels: {en: Buy, it: Compra}
    entry: {event: purchase, where: "total >= 10"}
  - id: advocate
    labels: {en: Advocate, it: Sostenitore}
    entry: {event: review_written, where: "rating >= 4", after: buy}
  - id: lapsed
    labels: {en: Lapsed, it: Perso}
    lapse: {after_days: 30, activity: {event: purchase}}
"""


def test_counts_within_days_property_conditions_ordering_and_lapse(workspace: Workspace) -> None:
    load(
        workspace.engine,
        [
            ("c1", "2026-01-01 10:00", "page_viewed", {}),
            ("c1", "2026-01-02 10:00", "product_viewed", {}),
            ("c1", "2026-01-05 10:00", "product_viewed", {}),  # 2nd view within 7 days
            ("c1", "2026-01-06 10:00", "purchase", {"total": 5}),  # below 10: not buy
            ("c1", "2026-01-07 10:00", "purchase", {"total": 50}),
            ("c1", "2026-01-08 10:00", "review_written", {"rating": 5}),
            ("c1", "2026-03-01 10:00", "product_viewed", {}),  # after the lapse
            ("c2", "2026-01-01 10:00", "product_viewed", {}),
            ("c2", "2026-01-09 10:00", "product_viewed", {}),  # 8 days later: no consider
            ("c2", "2026-01-10 10:00", "review_written", {"rating": 5}),  # before buying: no
        ],
    )
    history = assign(workspace.engine, model(LINEAR), as_of=AS_OF)
    assert entries(history) == [
        ("c1", "aware", "2026-01-01 10:00", "c1-0000"),
        ("c1", "consider", "2026-01-05 10:00", "c1-0002"),
        ("c1", "buy", "2026-01-07 10:00", "c1-0004"),
        ("c1", "advocate", "2026-01-08 10:00", "c1-0005"),
        # last purchase 7 Jan + 30 days, no purchase since
        ("c1", "lapsed", "2026-02-06 10:00", None),
        # the journey restarts after a lapse: one product view is only awareness
        ("c1", "aware", "2026-03-01 10:00", "c1-0006"),
        ("c2", "aware", "2026-01-01 10:00", "c2-0007"),
    ]
    rows = history.table.to_pylist()
    assert rows[0]["exited_at"] == datetime(2026, 1, 5, 10) and rows[5]["exited_at"] is None
    assert [r["entry_number"] for r in rows] == [1, 2, 3, 4, 5, 6, 1]


def test_lapse_edges(workspace: Workspace) -> None:
    """Another purchase exactly after_days later keeps the customer; one second more lapses."""
    load(
        workspace.engine,
        [
            ("a", "2026-01-01 00:00:00", "purchase", {"total": 20}),
            ("a", "2026-01-31 00:00:00", "purchase", {"total": 20}),  # exactly 30 days: no lapse
            ("b", "2026-01-01 00:00:00", "purchase", {"total": 20}),
            ("b", "2026-01-31 00:00:01", "purchase", {"total": 20}),  # 30 days + 1 s: lapse first
            ("c", "2026-12-01 00:00:01", "purchase", {"total": 20}),  # lapses 1 s after as_of
        ],
    )
    history = assign(workspace.engine, model(LINEAR), as_of=datetime(2026, 12, 31))
    assert entries(history) == [
        ("a", "buy", "2026-01-01 00:00", "a-0000"),
        ("a", "lapsed", "2026-03-02 00:00", None),
        ("b", "buy", "2026-01-01 00:00", "b-0002"),
        ("b", "lapsed", "2026-01-31 00:00", None),
        ("b", "buy", "2026-01-31 00:00", "b-0003"),
        ("b", "lapsed", "2026-03-02 00:00", None),
        ("c", "buy", "2026-12-01 00:00", "c-0004"),
    ]
    # at as_of exactly 30 days later, the lapse is there
    later = assign(workspace.engine, model(LINEAR), as_of=datetime(2026, 12, 31, 0, 0, 1))
    assert entries(later)[-1] == ("c", "lapsed", "2026-12-31 00:00", None)


def test_same_timestamp_events_are_simultaneous(workspace: Workspace) -> None:
    """A review in the same second as the purchase counts as after it; one entry per instant,
    the furthest stage."""
    load(
        workspace.engine,
        [
            ("c", "2026-05-01 12:00:00", "review_written", {"rating": 5}),
            ("c", "2026-05-01 12:00:00", "purchase", {"total": 99}),
        ],
    )
    assert entries(assign(workspace.engine, model(LINEAR), as_of=AS_OF)) == [
        ("c", "advocate", "2026-05-01 12:00", "c-0000"),
        ("c", "lapsed", "2026-05-31 12:00", None),
    ]


def test_any_all_not_and_in_and_contains(workspace: Workspace) -> None:
    rules = """
id: r
labels: {en: R, it: R}
stages:
  - id: s1
    labels: {en: S1, it: S1}
    entry:
      any:
        - {event: chatbot_message, where: "text contains PREZZO"}
        - {event: review_read, where: "platform in [google, tripadvisor]"}
  - id: s2
    labels: {en: S2, it: S2}
    entry:
      event: add_to_cart
      not: {event: checkout_error}
  - id: s3
    labels: {en: S3, it: S3}
    entry:
      all:
        - {event: nps_response, where: ["score >= 9", "channel != phone"]}
        - {event: purchase}
"""
    load(
        workspace.engine,
        [
            ("x", "2026-02-01 10:00", "chatbot_message", {"text": "qual è il prezzo?"}),
            ("x", "2026-02-02 10:00", "checkout_error", {}),
            ("x", "2026-02-03 10:00", "add_to_cart", {}),  # after an error: not s2
            ("y", "2026-02-01 10:00", "review_read", {"platform": "trustpilot"}),  # not in list
            ("y", "2026-02-02 10:00", "add_to_cart", {}),
            ("y", "2026-02-03 10:00", "purchase", {}),
            ("y", "2026-02-04 10:00", "nps_response", {"score": 10, "channel": "email"}),
            ("z", "2026-02-01 10:00", "review_read", {"platform": "google"}),
            ("z", "2026-02-02 10:00", "nps_response", {"score": "9"}),  # no purchase yet
        ],
    )
    assert entries(assign(workspace.engine, model(rules), as_of=AS_OF)) == [
        ("x", "s1", "2026-02-01 10:00", "x-0000"),
        ("y", "s2", "2026-02-02 10:00", "y-0004"),
        ("y", "s3", "2026-02-04 10:00", "y-0006"),
        ("z", "s1", "2026-02-01 10:00", "z-0007"),
    ]


CIRCULAR = """
id: loop
labels: {en: Loop, it: Ciclo}
circular: true
stages:
  - id: initial
    labels: {en: Initial consideration, it: Considerazione iniziale}
    entry: {event: ad_click}
  - id: evaluation
    labels: {en: Active evaluation, it: Valutazione attiva}
    entry: {event: [product_viewed, review_read]}
  - id: purchase
    labels: {en: Moment of purchase, it: Momento dell'acquisto}
    entry: {event: purchase}
  - id: loyalty
    labels: {en: Loyalty loop, it: Ciclo di fedeltà}
    entry: {event: purchase, count: 2}
"""


def test_circular_model_re_enters_earlier_stages(workspace: Workspace) -> None:
    load(
        workspace.engine,
        [
            ("c", "2026-01-01 09:00", "ad_click", {}),
            ("c", "2026-01-02 09:00", "product_viewed", {}),
            ("c", "2026-01-03 09:00", "purchase", {}),
            ("c", "2026-02-01 09:00", "newsletter_opened", {}),  # fires nothing: stays
            ("c", "2026-02-02 09:00", "review_read", {}),  # back to evaluation
            ("c", "2026-02-03 09:00", "purchase", {}),  # 2nd purchase: loyalty loop
            ("c", "2026-03-01 09:00", "purchase", {}),  # still loyalty: no new entry
            ("c", "2026-04-01 09:00", "ad_click", {}),  # back to initial
        ],
    )
    assert [
        (s, t) for _, s, t, _ in entries(assign(workspace.engine, model(CIRCULAR), as_of=AS_OF))
    ] == [
        ("initial", "2026-01-01 09:00"),
        ("evaluation", "2026-01-02 09:00"),
        ("purchase", "2026-01-03 09:00"),
        ("evaluation", "2026-02-02 09:00"),
        ("loyalty", "2026-02-03 09:00"),
        ("initial", "2026-04-01 09:00"),
    ]


def test_the_same_log_in_a_linear_model_never_moves_back(workspace: Workspace) -> None:
    load(
        workspace.engine,
        [
            ("c", "2026-01-01 09:00", "ad_click", {}),
            ("c", "2026-01-03 09:00", "purchase", {}),
            ("c", "2026-02-02 09:00", "review_read", {}),
            ("c", "2026-02-03 09:00", "purchase", {}),
        ],
    )
    linear = model(CIRCULAR.replace("circular: true", "circular: false"))
    assert [s for _, s, _, _ in entries(assign(workspace.engine, linear, as_of=AS_OF))] == [
        "initial",
        "purchase",
        "loyalty",
    ]


def test_traits(workspace: Workspace) -> None:
    rules = """
id: t
labels: {en: T, it: T}
stages:
  - id: visitor
    labels: {en: Visitor, it: Visitatore}
    entry: {any_touchpoint: true}
  - id: decision_maker
    labels: {en: Decision maker, it: Decisore}
    entry: {trait: "role in [ceo, buyer]"}
"""
    load(
        workspace.engine,
        [
            ("boss", "2026-01-01 10:00", "page_viewed", {}),
            ("intern", "2026-01-01 10:00", "page_viewed", {}),
        ],
        profiles={"boss": {"role": "ceo"}, "intern": {"role": "intern"}},
    )
    assert [
        (u, s) for u, s, _, _ in entries(assign(workspace.engine, model(rules), as_of=AS_OF))
    ] == [("boss", "decision_maker"), ("intern", "visitor")]


def test_account_level_b2b_stages(workspace: Workspace) -> None:
    """Account stages count the touchpoints of all its contacts."""
    pipeline = """
id: b2b
labels: {en: B2B, it: B2B}
level: account
stages:
  - id: lead
    labels: {en: Lead, it: Lead}
    entry: {any_touchpoint: true}
  - id: mql
    labels: {en: MQL, it: MQL}
    entry: {event: [page_viewed, whitepaper_downloaded], count: 3, within_days: 30}
  - id: sql
    labels: {en: SQL, it: SQL}
    entry: {event: demo_requested, trait: "employees >= 50"}
  - id: customer
    labels: {en: Customer, it: Cliente}
    entry: {event: contract_signed}
"""
    load(
        workspace.engine,
        [
            ("anna", "2026-03-01 10:00", "page_viewed", {}),
            ("bruno", "2026-03-02 10:00", "whitepaper_downloaded", {}),
            ("anna", "2026-03-05 10:00", "page_viewed", {}),  # 3rd touch of the account: MQL
            ("bruno", "2026-03-10 10:00", "demo_requested", {}),
            ("carla", "2026-03-01 10:00", "demo_requested", {}),  # small company: not SQL
            ("bruno", "2026-04-01 10:00", "contract_signed", {}),
            ("solo", "2026-03-01 10:00", "contract_signed", {}),  # no account: not in the model
        ],
        members=[("acme", "anna"), ("acme", "bruno"), ("tiny", "carla")],
        accounts={"acme": {"employees": 120}, "tiny": {"employees": 4}},
    )
    assert entries(assign(workspace.engine, model(pipeline), as_of=AS_OF)) == [
        ("acme", "lead", "2026-03-01 10:00", "anna-0000"),
        ("acme", "mql", "2026-03-05 10:00", "anna-0002"),
        ("acme", "sql", "2026-03-10 10:00", "bruno-0003"),
        ("acme", "customer", "2026-04-01 10:00", "bruno-0005"),
        ("tiny", "lead", "2026-03-01 10:00", "carla-0004"),
    ]


def test_history_is_stored_per_model(workspace: Workspace) -> None:
    load(workspace.engine, [("c", "2026-01-01 10:00", "purchase", {"total": 20})])
    assign(workspace.engine, model(LINEAR), as_of=AS_OF)
    assign(workspace.engine, model(LINEAR), as_of=AS_OF)
    assign(workspace.engine, model(CIRCULAR), as_of=AS_OF)
    counts = workspace.engine.rows(
        "SELECT model_id, count(*) AS n FROM stage_entries GROUP BY 1 ORDER BY 1"
    )
    assert counts == [{"model_id": "loop", "n": 1}, {"model_id": "toy", "n": 2}]
