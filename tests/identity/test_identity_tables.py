"""customer_events layout across incremental runs, and the tabular results."""

from __future__ import annotations

from pathlib import Path

import journeylens
from journeylens import Workspace
from journeylens.identity import Listing, accounts, quarantined


def _message(i: int, user: str, minute: int) -> dict[str, object]:
    return {
        "type": "track",
        "event": "view",
        "messageId": f"m{i:03d}",
        "userId": user,
        "timestamp": f"2026-11-02T10:{minute:02d}:00Z",
    }


def _physical(ws: Workspace) -> list[tuple[str, int]]:
    return [
        (r["customer_id"], r["seq"])
        for r in ws.engine.rows("SELECT customer_id, seq FROM customer_events ORDER BY rowid")
    ]


def test_rewritten_customers_stay_contiguous_and_the_table_is_resorted(tmp_path: Path) -> None:
    with journeylens.create_workspace(tmp_path / "ws") as ws:
        ws.append_messages([_message(i, f"u{i % 10}", i % 50) for i in range(100)], source="web")
        ws.resolve_identities()
        assert _physical(ws) == sorted(_physical(ws))
        # a small increment: two customers rewritten at the end, each still in one run
        ws.append_messages([_message(100, "u3", 59), _message(101, "u7", 0)], source="web")
        result = ws.resolve_identities()
        assert result.affected_customers == 2
        rows = _physical(ws)
        assert rows != sorted(rows)
        customers = [c for c, _ in rows]
        runs = [c for i, c in enumerate(customers) if i == 0 or customers[i - 1] != c]
        assert len(runs) == len(set(runs)) == 10
        assert all(
            [s for c, s in rows if c == customer] == list(range(1, customers.count(customer) + 1))
            for customer in set(customers)
        )
        # past a quarter of the table rewritten, it is sorted again
        ws.append_messages([_message(200 + i, f"u{i}", 1) for i in range(4)], source="web")
        ws.resolve_identities()
        assert _physical(ws) == sorted(_physical(ws))
        assert len(_physical(ws)) == 106


def test_listings_convert_to_dicts_and_pandas(tmp_path: Path) -> None:
    with journeylens.create_workspace(
        tmp_path / "ws", identity={"blocklist": ["shared@x.it"]}
    ) as ws:
        ws.append_messages(
            [
                {
                    "type": "group",
                    "userId": "u1",
                    "groupId": "acme",
                    "messageId": "g1",
                    "traits": {"name": "Acme"},
                    "timestamp": "2026-11-02T10:00:00Z",
                },
                {
                    "type": "identify",
                    "userId": "u1",
                    "messageId": "i1",
                    "traits": {"email": "shared@x.it"},
                    "timestamp": "2026-11-02T10:00:00Z",
                },
            ],
            source="crm",
        )
        result = ws.resolve_identities()
        assert result.to_dict()["warnings"] == []
        listing = accounts(ws.engine)
        assert isinstance(listing, Listing) and len(listing) == 1
        assert listing.to_dict()["rows"][0]["traits"] == {"name": "Acme"}
        assert list(listing.to_pandas()["account_id"]) == ["acme"]
        (row,) = quarantined(ws.engine).to_dict()["rows"]
        assert (row["kind"], row["value"], row["reason"]) == ("email", "shared@x.it", "blocklist")
        frame = ws.timeline("u1").to_pandas()
        assert list(frame["seq"]) == [1, 2] and list(frame["event"]) == ["group", "identify"]
        assert frame["account_id"].iloc[0] == "acme" and frame["account_id"].isna().iloc[1]


def test_customer_key_orders_like_customer_id(tmp_path: Path) -> None:
    with journeylens.create_workspace(tmp_path / "ws") as ws:
        ws.append_messages([_message(i, f"u{i}", 1) for i in range(40)], source="web")
        ws.resolve_identities()
        rows = ws.engine.rows("SELECT DISTINCT customer_id, customer_key FROM customer_events")
        for row in rows:
            assert row["customer_key"] == int(row["customer_id"][2:], 16) - 2**63
        assert sorted(rows, key=lambda r: r["customer_id"]) == sorted(
            rows, key=lambda r: r["customer_key"]
        )
