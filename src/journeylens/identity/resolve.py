"""One resolve: read new events (or all), relink, rewrite the affected customers.

Incremental unless asked otherwise. A run is made full automatically when there is no identity
state yet, when the settings that decide how identifiers are read (``identifiers``,
``hash_identifiers``, ``phone_region``) changed, when the state was written by another layout
version, or when events were deleted since the last run. The blocklist and the caps are applied
on every run, so changing them needs no full run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import phonenumbers

from journeylens.config import IdentityConfig
from journeylens.engines.base import Engine
from journeylens.errors import ConfigError, StorageError
from journeylens.identity import extract, graph, materialise
from journeylens.identity.identifiers import ID_KINDS, USER_ID
from journeylens.identity.results import ResolveResult
from journeylens.identity.tables import create_tables, drop_tables

__all__ = ["STATE_VERSION", "resolve", "stored_config"]

logger = logging.getLogger("journeylens.identity")

STATE_VERSION: Final = "5"
_MAX_SALTS: Final = 3
MAX_WARNINGS: Final = 10
_TEMP: Final = (
    "_idb_counts",
    "_idb_events",
    "_idb_sig",
    "_idb_prev",
    "_idb_pair",
    "_idb_group",
    "_idb_kv",
    "_idb_occ",
    "_idb_tid",
    "_idb_tagg",
    "_idb_traits",
    "_idb_account_traits",
    "_idb_mention",
    "_idb_link",
    "_g_affected",
    "_m_scope",
    "_ce_redo",
)


def _read_fingerprint(config: IdentityConfig) -> str:
    return json.dumps([list(config.identifiers), config.hash_identifiers, config.phone_region])


def _meta(engine: Engine) -> dict[str, str]:
    if not engine.table_exists("_identity_meta"):
        return {}
    return {r["key"]: r["value"] for r in engine.rows("SELECT key, value FROM _identity_meta")}


def stored_config(engine: Engine) -> IdentityConfig | None:
    """The settings of the last resolve (lookups normalise keys with them)."""
    raw = _meta(engine).get("config")
    return IdentityConfig.model_validate_json(raw) if raw else None


def _full_reason(
    meta: dict[str, str], config: IdentityConfig, full: bool, version: str
) -> str | None:
    if full:
        return "requested"
    if not meta:
        return "first run"
    if meta.get("state_version") != STATE_VERSION:
        return "identity tables written by another journeylens version"
    if meta.get("engine_version") != version:
        return "engine version changed (identity keys are its hashes)"
    if meta.get("read") != _read_fingerprint(config):
        return "identifier settings changed"
    return None


def check_config(config: IdentityConfig) -> None:
    """Refuse settings that cannot work, naming the field."""
    kinds = list(config.identifiers)
    bad = [k for k in kinds if not k or k in ID_KINDS]
    if bad or len(set(kinds)) != len(kinds):
        raise ConfigError(
            "identity.identifiers: trait keys must be distinct, non-empty and not "
            f"user_id/anonymous_id (got {kinds})",
            field="identity.identifiers",
        )
    if config.phone_region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"identity.phone_region: {config.phone_region!r} is not a region code "
            "(two letters, e.g. IT, DE, US)",
            field="identity.phone_region",
        )


def resolve(engine: Engine, config: IdentityConfig, *, full: bool = False) -> ResolveResult:
    """Link identifiers into customers and (re)build profiles, accounts and customer_events.

    See :mod:`journeylens.identity` for the rules. Runs in one transaction: a failure leaves the
    previous state untouched.
    """
    check_config(config)
    started = time.perf_counter()
    salt = int(_meta(engine).get("salt", "0") or 0)
    result: ResolveResult | None = None
    for _ in range(_MAX_SALTS):
        try:
            with engine.transaction():
                extract.define_keys(engine, salt)
                result = _run(engine, config, full=full, salt=salt, started=started)
            break
        except extract.KeyCollision:
            logger.info("identity key collision with salt %s: rebuilding with another", salt)
            salt, full = salt + 1, True
        finally:
            for name in _TEMP:
                engine.execute(f"DROP TABLE IF EXISTS {name}")
            engine.execute("DROP VIEW IF EXISTS _idb_src")
    if result is None:
        raise StorageError("identity keys kept colliding; please report this as a bug")
    for message in result.warnings:
        logger.warning(message)
    return result


def _run(
    engine: Engine, config: IdentityConfig, *, full: bool, salt: int, started: float
) -> ResolveResult:
    meta = _meta(engine)
    version = str(engine.scalar("SELECT version()"))
    reason = _full_reason(meta, config, full, version)
    read = 0
    if reason is None:
        read = extract.select_batch(engine, full=False)
        if extract.deleted_imports(engine):
            reason = "events were deleted since the last run"
    is_full = reason is not None
    if is_full:
        drop_tables(engine)
        create_tables(engine)
        read = extract.select_batch(engine, full=True)
    guard = config.model_dump_json(include={"blocklist", "max_links", "max_user_links"})
    if not is_full and read == 0 and meta.get("guard") == guard:
        return _summary(engine, config, "incremental", False, 0, 0, started)
    clock = _Clock()
    with _unordered(engine):
        extract.extract_batch(engine, config, full=is_full)
        clock.lap("read")
        graph.link(engine, config, full=is_full)
        clock.lap("link")
    materialise.scope(engine, full=is_full)
    unsorted = materialise.customer_events(
        engine, full=is_full, unsorted=int(meta.get("unsorted", "0") or 0)
    )
    clock.lap("customer_events")
    materialise.members(engine, full=is_full)
    materialise.profiles(engine, full=is_full)
    materialise.accounts(engine)
    clock.lap("profiles")
    affected = int(engine.scalar("SELECT count(*) FROM _m_scope"))
    _write_meta(
        engine,
        {
            "state_version": STATE_VERSION,
            "engine_version": version,
            "salt": str(salt),
            "read": _read_fingerprint(config),
            "guard": guard,
            "config": config.model_dump_json(),
            "unsorted": str(unsorted),
        },
    )
    return _summary(
        engine, config, reason or "incremental", is_full, read, affected, started, clock.laps
    )


@contextmanager
def _unordered(engine: Engine) -> Iterator[None]:
    """The identity state is keyed, never read in stored order: let DuckDB write it in any
    order (cheaper in memory and time). ``customer_events`` is written after, in order."""
    before = engine.scalar("SELECT current_setting('preserve_insertion_order')")
    engine.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        engine.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")


class _Clock:
    """Seconds per phase of a run (reported in the result)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


def _write_meta(engine: Engine, values: dict[str, str]) -> None:
    engine.execute("DELETE FROM _identity_meta")
    for key, value in values.items():
        engine.execute("INSERT INTO _identity_meta VALUES (?, ?)", [key, value])
    engine.execute(
        "INSERT INTO _identity_meta VALUES ('resolved_at', strftime(now(), '%Y-%m-%dT%H:%M:%SZ'))"
    )


def _warnings(engine: Engine, config: IdentityConfig) -> tuple[str, ...]:
    rows = engine.rows(
        "SELECT n.kind, n.value, s.degree, count(*) OVER () AS total FROM _identity_nodes n "
        "JOIN _identity_node_state s USING (node) WHERE s.quarantine = 2 "
        "ORDER BY s.degree DESC, n.kind, n.value LIMIT ?",
        [MAX_WARNINGS],
    )
    messages = []
    for r in rows:
        cap = config.max_user_links if r["kind"] == USER_ID else config.max_links
        messages.append(
            f"{r['kind']} {r['value']!r} appears with {r['degree']} distinct user/anonymous "
            f"ids, more than the cap of {cap}: it links none of them (see identity_quarantine)"
        )
    if rows and rows[0]["total"] > len(rows):
        messages.append(f"… and {rows[0]['total'] - len(rows)} more quarantined identifiers")
    return tuple(messages)


def _summary(
    engine: Engine,
    config: IdentityConfig,
    reason: str,
    full: bool,
    read: int,
    affected: int,
    started: float,
    phases: dict[str, float] | None = None,
) -> ResolveResult:
    counts = engine.rows(
        "SELECT (SELECT count(*) FROM customer_events) AS events, "
        "(SELECT count(*) FROM customer_profiles) AS customers, "
        "(SELECT count(*) FROM customer_profiles WHERE is_identified) AS identified, "
        "(SELECT count(*) FROM _identity_node_state WHERE rep <> 0) AS identifiers, "
        "(SELECT count(*) FROM _identity_link_state WHERE used) AS links, "
        "(SELECT count(*) FROM accounts) AS accounts, "
        "(SELECT count(*) FROM _identity_node_state WHERE quarantine > 0) AS quarantined"
    )[0]
    return ResolveResult(
        full=full,
        reason=reason,
        events_read=read,
        events=counts["events"],
        customers=counts["customers"],
        identified_customers=counts["identified"],
        identifiers=counts["identifiers"],
        links=counts["links"],
        accounts=counts["accounts"],
        quarantined=counts["quarantined"],
        affected_customers=affected,
        seconds=round(time.perf_counter() - started, 3),
        phases=phases or {},
        warnings=_warnings(engine, config),
    )
