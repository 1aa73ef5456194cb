"""The tables privacy requests keep in the store, and the workspace secret.

* ``suppressions`` — one row per suppressed identifier token (never the identifier itself):
  ``subject_id`` groups the tokens of one suppressed person (the id of the request that
  suppressed them), so unsuppressing any of their identifiers lifts all of them.
* ``privacy_requests`` — the audit log: one row per request, with the token of the identifier
  it named (not the identifier), what it covered and what it removed.
* ``_privacy_settings`` — the workspace secret of the tokens, and the identity settings
  (trait identifiers, phone region) that ingestion normalises identifiers with.

They are created on first use (a store without privacy requests has none of them).
"""

from __future__ import annotations

import json
from typing import Final

import pyarrow as pa

from journeylens.config import IdentityConfig
from journeylens.engines.base import Engine
from journeylens.privacy.tokens import new_secret
from journeylens.schema import Column
from journeylens.sql import create_table

__all__ = [
    "PRIVACY_TABLES",
    "REQUEST_COLUMNS",
    "SUPPRESSION_COLUMNS",
    "Settings",
    "create_tables",
    "read_settings",
    "write_settings",
]

_TS = pa.timestamp("us")

SUPPRESSION_COLUMNS: Final = (
    Column("subject_id", pa.string(), "VARCHAR", "request that suppressed them", nullable=False),
    Column("kind", pa.string(), "VARCHAR", "user_id, anonymous_id, email, phone…", nullable=False),
    Column("token", pa.string(), "VARCHAR", "keyed hash of the identifier", nullable=False),
    Column("created_at", _TS, "TIMESTAMP", "UTC", nullable=False),
)

REQUEST_COLUMNS: Final = (
    Column("request_id", pa.string(), "VARCHAR", "pr- + 16 hex", nullable=False),
    Column("action", pa.string(), "VARCHAR", "delete, suppress, suppress_delete, unsuppress"),
    Column("status", pa.string(), "VARCHAR", "done or not_found", nullable=False),
    Column("identifier_token", pa.string(), "VARCHAR", "keyed hash of the identifier named"),
    Column("requested_by", pa.string(), "VARCHAR", "cli, http, or who the caller says"),
    Column("requested_at", _TS, "TIMESTAMP", "UTC", nullable=False),
    Column("completed_at", _TS, "TIMESTAMP", "UTC"),
    Column("customers", pa.int64(), "BIGINT", "customers the identifier resolved to (0 or 1)"),
    Column("identifiers", pa.int64(), "BIGINT", "identifiers linked to the person"),
    Column("events_deleted", pa.int64(), "BIGINT", "events removed"),
    Column("rows_deleted", pa.string(), "JSON", "rows removed per derived table"),
    Column("suppressions", pa.int64(), "BIGINT", "tokens added (suppress) or lifted"),
)

_SETTING_COLUMNS: Final = (
    Column("key", pa.string(), "VARCHAR", "", nullable=False),
    Column("value", pa.string(), "VARCHAR", ""),
)

PRIVACY_TABLES: Final[dict[str, tuple[Column, ...]]] = {
    "suppressions": SUPPRESSION_COLUMNS,
    "privacy_requests": REQUEST_COLUMNS,
    "_privacy_settings": _SETTING_COLUMNS,
}


class Settings:
    """What tokens are computed with: the secret, the trait identifiers, the phone region."""

    def __init__(self, secret: str, identifiers: tuple[str, ...], phone_region: str) -> None:
        self.secret = secret
        self.identifiers = identifiers
        self.phone_region = phone_region


def create_tables(engine: Engine) -> None:
    """Create the privacy tables that do not exist yet, and the secret if there is none."""
    for name, columns in PRIVACY_TABLES.items():
        engine.execute(create_table(name, columns))
    engine.execute(
        "INSERT INTO _privacy_settings SELECT 'secret', ? "
        "WHERE NOT EXISTS (SELECT 1 FROM _privacy_settings WHERE key = 'secret')",
        [new_secret()],
    )


def read_settings(engine: Engine) -> Settings | None:
    """The stored settings, or ``None`` when the store has no privacy tables yet."""
    if not engine.table_exists("_privacy_settings"):
        return None
    values = {r["key"]: r["value"] for r in engine.rows("SELECT * FROM _privacy_settings")}
    if "secret" not in values:
        return None
    default = IdentityConfig()
    identifiers = json.loads(values.get("identifiers") or json.dumps(default.identifiers))
    return Settings(
        values["secret"], tuple(identifiers), values.get("phone_region") or default.phone_region
    )


def write_settings(engine: Engine, config: IdentityConfig) -> Settings:
    """Record the identity settings ingestion must normalise with; return all settings."""
    create_tables(engine)
    for key, value in (
        ("identifiers", json.dumps(list(config.identifiers))),
        ("phone_region", config.phone_region),
    ):
        engine.execute("DELETE FROM _privacy_settings WHERE key = ?", [key])
        engine.execute("INSERT INTO _privacy_settings VALUES (?, ?)", [key, value])
    settings = read_settings(engine)
    assert settings is not None
    return settings
