"""Typed results of identity resolution: what ``resolve``, ``get_profile``, ``timeline``,
``quarantined`` and ``accounts`` return. Each converts to plain data with ``to_dict()``;
tabular ones also to pandas with ``to_pandas()``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Link", "Listing", "Profile", "ResolveResult", "Timeline"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class ResolveResult:
    """What one resolve did.

    ``full`` says whether everything was rebuilt and ``reason`` why (``requested``,
    ``first run``, ``identifier settings changed``, ``events were deleted``…) or
    ``incremental``. Counts are of the whole workspace after the run, except ``events_read``
    (events read by this run) and ``affected_customers`` (customers written again).
    ``warnings`` lists identifiers over the cap (see ``identity_quarantine``).
    """

    full: bool
    reason: str
    events_read: int
    events: int
    customers: int
    identified_customers: int
    identifiers: int
    links: int
    accounts: int
    quarantined: int
    affected_customers: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent reading events (``read``), linking (``link``), writing
    ``customer_events`` and writing profiles/accounts (``profiles``)."""
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["warnings"] = list(self.warnings)
        return out


@dataclass(frozen=True)
class Link:
    """One row of the audit: why ``identifier`` belongs with ``linked_to``."""

    identifier_kind: str
    identifier: str
    linked_kind: str
    linked_to: str
    reason: str
    """``identify``, ``same_event``, ``alias`` or ``trait:<key>`` (e.g. ``trait:email``)."""
    first_event_id: str
    first_ts: datetime
    source: str
    events: int

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["first_ts"] = _iso(self.first_ts)
        return out


@dataclass(frozen=True)
class Profile:
    """One customer: identifiers by kind, merged traits, activity and accounts.

    ``traits`` holds, per trait, the latest non-empty value over the customer's events (ties
    of ts broken by the larger event id). ``links`` is the audit of the customer's
    identifiers: every link used, with its reason and first event.
    """

    customer_id: str
    is_identified: bool
    identifiers: dict[str, tuple[str, ...]]
    traits: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    events: int
    touchpoints: int
    sources: tuple[str, ...]
    channels: tuple[str, ...]
    accounts: tuple[str, ...]
    links: tuple[Link, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "is_identified": self.is_identified,
            "identifiers": {k: list(v) for k, v in self.identifiers.items()},
            "traits": self.traits,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "events": self.events,
            "touchpoints": self.touchpoints,
            "sources": list(self.sources),
            "channels": list(self.channels),
            "accounts": list(self.accounts),
            "links": [link.to_dict() for link in self.links],
        }

    @classmethod
    def from_row(cls, row: dict[str, Any], links: tuple[Link, ...]) -> Profile:
        identifiers = json.loads(row["identifiers"] or "{}")
        return cls(
            customer_id=row["customer_id"],
            is_identified=bool(row["is_identified"]),
            identifiers={k: tuple(v) for k, v in identifiers.items()},
            traits=json.loads(row["traits"] or "{}"),
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            events=row["events"],
            touchpoints=row["touchpoints"],
            sources=tuple(row["sources"]),
            channels=tuple(row["channels"]),
            accounts=tuple(row["accounts"]),
            links=links,
        )


def _records(table: pa.Table, json_columns: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for name in json_columns:
            if row.get(name) is not None:
                row[name] = json.loads(row[name])
    return rows


@dataclass(frozen=True)
class Timeline:
    """Every event of one customer in time order (``seq`` 1, 2, …; equal ts by event id).

    Columns: ``seq, ts, type, event, channel, source, data_party, revenue, cost, currency,
    account_id, details`` (the key properties as ``key=value, …``) and ``properties`` (JSON).
    """

    customer_id: str
    table: pa.Table
    total: int
    """Events of the customer (the table may hold only the latest ``limit`` of them)."""

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "total": self.total,
            "events": _records(self.table, ("properties",)),
        }

    def to_pandas(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.table.to_pandas()
        return frame


@dataclass(frozen=True)
class Listing:
    """A table of results (quarantined identifiers, accounts…), read by column name."""

    name: str
    table: pa.Table
    json_columns: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": _records(self.table, self.json_columns)}

    def to_pandas(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.table.to_pandas()
        return frame
