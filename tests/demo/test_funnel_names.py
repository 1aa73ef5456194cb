"""Funnels on a resolved demo workspace name customers from ``customer_profiles`` (one row per
customer, with the ``customer_key`` identity resolution writes), with the same result as
naming them from their first events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from journeylens import Workspace
from journeylens.demo import build_demo
from journeylens.funnels import FunnelSpec
from journeylens.funnels.api import event_codes, keyed_profiles
from journeylens.funnels.compile import compile_funnel

AS_OF = datetime(2026, 12, 1)


@pytest.fixture(scope="module")
def resolved_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    path: Path = tmp_path_factory.mktemp("demo-resolved") / "ws"
    ws = build_demo(path, customers=400, seed=5, derive_channels=False)
    ws.resolve_identities()
    yield ws
    ws.close()


def test_profiles_carry_the_customer_key_of_customer_events(resolved_ws: Workspace) -> None:
    mismatched = resolved_ws.engine.scalar(
        "SELECT count(*) FROM customer_events e JOIN customer_profiles p USING (customer_id) "
        "WHERE e.customer_key <> p.customer_key"
    )
    missing = resolved_ws.engine.scalar(
        "SELECT count(DISTINCT customer_key) FROM customer_events "
        "WHERE customer_key NOT IN (SELECT customer_key FROM customer_profiles)"
    )
    assert (mismatched, missing) == (0, 0)


def test_funnel_names_from_profiles_equal_names_from_events(resolved_ws: Workspace) -> None:
    assert keyed_profiles(resolved_ws.engine)
    spec = FunnelSpec(
        steps=("product_viewed", "add_to_cart", "purchase"), window_seconds=7 * 86_400
    )
    codes = event_codes(resolved_ws.engine)
    from_profiles = resolved_ws.engine.rows(compile_funnel(spec, codes, AS_OF, profiles=True))
    from_events = resolved_ws.engine.rows(compile_funnel(spec, codes, AS_OF, profiles=False))
    assert len(from_profiles) > 50
    assert from_profiles == from_events
    result = resolved_ws.funnels.run(spec, as_of=AS_OF)
    assert result.units_at(1) == sorted(r["unit_id"] for r in from_events)
