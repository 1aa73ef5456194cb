"""Key collisions: two values sharing a 64-bit key are detected, and the run is redone with
other keys, giving the same customers as a run without collisions."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import journeylens
from journeylens.engines.base import Engine
from journeylens.identity import extract

# Weak keys for the first attempt only: every value falls in one of four keys.
WEAK = {
    "node": "CREATE OR REPLACE TEMP MACRO _jl_node(k, v) AS "
    "CASE WHEN v IS NULL THEN 0::UBIGINT ELSE hash(k, v) % 4 + 1 END",
    "sig": "CREATE OR REPLACE TEMP MACRO _jl_sig(u, a) AS "
    "hash('sig', coalesce(u, ''), coalesce(a, '')) % 4 + 1",
}


def _messages() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(12):
        out.append(
            {
                "type": "page",
                "name": "home",
                "messageId": f"p{i}",
                "anonymousId": f"a{i}",
                "timestamp": f"2026-11-02T10:{i:02d}:00Z",
            }
        )
        if i % 2 == 0:
            out.append(
                {
                    "type": "identify",
                    "messageId": f"i{i}",
                    "anonymousId": f"a{i}",
                    "userId": f"u{i // 4}",
                    "traits": {"email": f"P{i // 4}@Example.it ", "name": f"n{i}"},
                    "timestamp": f"2026-11-02T11:{i:02d}:00Z",
                }
            )
    return out


def _outputs(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "profiles": "SELECT customer_id, identifiers, traits, events FROM customer_profiles "
        "ORDER BY 1",
        "events": "SELECT customer_id, event_id, seq FROM customer_events ORDER BY 1, 3",
        "links": "SELECT * FROM identity_links ORDER BY ALL",
    }
    return {
        name: [tuple(r.values()) for r in engine.rows(query)] for name, query in queries.items()
    }


@pytest.mark.parametrize("weak", sorted(WEAK))
def test_a_shared_key_is_detected_and_the_run_redone_with_other_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, weak: str
) -> None:
    with journeylens.create_workspace(tmp_path / "clean") as ws:
        ws.append_messages(_messages(), source="web")
        clean = ws.resolve_identities()
        expected = _outputs(ws.engine)
    # u0 (a0, a2), u1 (a4, a6), u2 (a8, a10), and the six odd anonymous ids on their own
    assert (clean.customers, clean.identified_customers) == (9, 3)
    define = extract.define_keys

    def weak_first(engine: Engine, salt: int) -> None:
        define(engine, salt)
        if salt == 0:
            engine.execute(WEAK[weak])

    monkeypatch.setattr(extract, "define_keys", weak_first)
    with journeylens.create_workspace(tmp_path / "weak") as ws:
        ws.append_messages(_messages(), source="web")
        with caplog.at_level(logging.INFO, logger="journeylens.identity"):
            result = ws.resolve_identities()
        assert "identity key collision with salt 0" in caplog.text
        assert ws.engine.scalar("SELECT value FROM _identity_meta WHERE key = 'salt'") == "1"
        assert result.customers == clean.customers
        assert _outputs(ws.engine) == expected
        # later runs keep the new keys: an increment resolves without another collision
        ws.append_messages(
            [
                {
                    "type": "track",
                    "event": "x",
                    "messageId": "t1",
                    "userId": "u1",
                    "timestamp": "2026-11-03T10:00:00Z",
                }
            ],
            source="web",
        )
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="journeylens.identity"):
            again = ws.resolve_identities()
        assert not again.full
        assert "collision" not in caplog.text
