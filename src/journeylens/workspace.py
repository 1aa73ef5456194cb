"""A workspace: a folder holding the settings (``journeylens.yaml``) and the event store
(``events.duckdb``) of one brand.

>>> import tempfile, journeylens
>>> with journeylens.create_workspace(tempfile.mkdtemp() + "/ws", timezone="Europe/Rome") as ws:
...     report = ws.append_messages(
...         [{"type": "track", "event": "product_viewed", "userId": "u1",
...           "timestamp": "2026-11-22T10:15:00Z", "messageId": "m-1"}],
...         source="website",
...     )
...     (report.stored, ws.summary().events)
(1, 1)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from journeylens import identity
from journeylens.attribution import Attribution
from journeylens.config import (
    Settings,
    WorkspaceConfig,
    load_workspace_config,
    save_workspace_config,
)
from journeylens.engines import DuckDBEngine, Engine
from journeylens.errors import ConfigError, NotFoundError, RecordError
from journeylens.events.fileimport import Progress, import_file
from journeylens.events.journal import WorkspaceLock, drain_journal, pending_bytes
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.report import OnError, WriteReport
from journeylens.events.store import append_events, migrate, register_source
from journeylens.funnels.api import Funnels
from journeylens.privacy import Privacy
from journeylens.schema import DATA_PARTIES
from journeylens.stages.api import Stages

__all__ = ["Summary", "Workspace", "WriteReport", "create_workspace", "open_workspace"]

STORE_FILE = "events.duckdb"


@dataclass(frozen=True)
class Summary:
    """Counts over the whole workspace."""

    events: int
    touchpoints: int
    anonymous_ids: int
    user_ids: int
    sources: int
    first_ts: datetime | None
    last_ts: datetime | None
    by_type: dict[str, int]
    by_channel: dict[str, int]
    by_source: dict[str, int]
    by_data_party: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        out = self.__dict__.copy()
        for key in ("first_ts", "last_ts"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


class Workspace:
    """An open workspace. Use :func:`open_workspace` or :func:`create_workspace`."""

    def __init__(self, path: Path, config: WorkspaceConfig, engine: Engine) -> None:
        self.path = path
        self.config = config
        self.engine = engine
        self.stages = Stages(engine, config)
        """Journey models: stage assignment and stage analytics (docs/stages.md)."""
        self.funnels = Funnels(engine, config)
        """Funnels (docs/funnels.md)."""
        self.paths = self.funnels.paths
        """Paths and the transition graph of what customers do (docs/paths.md)."""
        self.attribution = Attribution(engine, config)
        """Multi-touch attribution: what each touchpoint is worth (docs/attribution.md)."""
        self.privacy = Privacy(path, engine, config)
        """Privacy requests: delete, suppress, export, audit log (docs/privacy.md)."""
        self._lock: WorkspaceLock | None = None
        """Held while open: the store is this process's (docs/adr/0005-ingestion-durability.md)."""

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        try:
            self.engine.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------
    def append_messages(
        self,
        messages: Iterable[Any],
        *,
        source: str,
        data_party: str = "first",
        channel: str | None = None,
        on_error: OnError = "skip",
        received_at: datetime | None = None,
    ) -> WriteReport:
        """Store Segment-Spec messages (dicts) delivered by ``source``.

        Bad messages raise (``on_error="stop"``, nothing is stored) or are reported in
        ``errors`` while the good ones are stored (``"skip"``). A message whose
        ``messageId`` is already stored is counted in ``duplicates`` and not stored again.
        """
        import_id = new_import_id("batch")
        defaults = MessageDefaults(source, data_party, channel, import_id)
        rows, rejected, read = [], [], 0
        for number, message in enumerate(messages, start=1):
            read = number
            try:
                rows.append(
                    normalise_message(message, defaults, row=number, received_at=received_at)
                )
            except RecordError as error:
                if on_error == "stop":
                    raise
                rejected.append(error)
        batch = pa.Table.from_pylist(rows) if rows else None
        with self.engine.transaction():
            register_source(self.engine, source, data_party=data_party)
            result = append_events(self.engine, batch, self.config.channel_rules) if batch else None
        return WriteReport(
            import_id=import_id,
            read=read,
            stored=result.stored if result else 0,
            duplicates=result.duplicates if result else 0,
            rejected=len(rejected),
            errors=rejected[:1000],
            duplicate_ids=result.duplicate_ids if result else [],
        )

    def import_file(
        self,
        path: str | Path,
        mapping: str | Path | None = None,
        *,
        on_error: OnError = "stop",
        rejects_path: str | Path | None = None,
        progress: Progress | None = None,
    ) -> WriteReport:
        """Import a CSV, Parquet or JSON-lines file (see docs/import.md)."""
        return import_file(
            self.engine,
            self.config,
            path,
            mapping,
            on_error=on_error,
            rejects_path=rejects_path,
            progress=progress,
        )

    # -- identity --------------------------------------------------------------------------
    def resolve_identities(self, *, full: bool = False) -> Any:
        """Link identifiers into customers and (re)build profiles and accounts.

        Incremental by default (only events stored since the last run are read);
        ``full=True`` rebuilds everything from the events.
        """
        return identity.resolve(self.engine, self.config.identity, full=full)

    def profile(self, key: str) -> Any:
        """The profile of the customer that ``key`` (customer id or any identifier) belongs to."""
        return identity.get_profile(self.engine, key)

    def timeline(self, key: str, *, limit: int | None = None) -> Any:
        """Every touchpoint of that customer, in time order, with channel and source."""
        return identity.timeline(self.engine, key, limit=limit)

    # -- reading ---------------------------------------------------------------------------
    def sources(self) -> list[dict[str, Any]]:
        """Every source with its kind, data party, event count and time range."""
        return self.engine.rows(
            "SELECT s.source, s.kind, s.data_party, s.description, "
            "count(e.event_id) AS events, min(e.ts) AS first_ts, max(e.ts) AS last_ts "
            "FROM sources s LEFT JOIN events e ON e.source = s.source "
            "GROUP BY ALL ORDER BY events DESC, s.source"
        )

    def summary(self) -> Summary:
        """Counts of events, identifiers and sources, and events by type/channel/source/party."""
        totals = self.engine.rows(
            "SELECT count(*) AS events, "
            "count(*) FILTER (WHERE type IN ('track', 'page', 'screen')) AS touchpoints, "
            "count(DISTINCT anonymous_id) AS anonymous_ids, count(DISTINCT user_id) AS user_ids, "
            "min(ts) AS first_ts, max(ts) AS last_ts FROM events"
        )[0]

        def counts(column: str) -> dict[str, int]:
            rows = self.engine.rows(
                f'SELECT "{column}" AS k, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC, 1'
            )
            return {r["k"]: r["n"] for r in rows}

        return Summary(
            sources=self.engine.scalar("SELECT count(*) FROM sources"),
            by_type=counts("type"),
            by_channel=counts("channel"),
            by_source=counts("source"),
            by_data_party=counts("data_party"),
            **totals,
        )


def new_import_id(kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{stamp}-{uuid.uuid4().hex[:8]}"


def _engine_for(path: Path, settings: Settings, read_only: bool = False) -> Engine:
    return DuckDBEngine(
        path / STORE_FILE,
        threads=settings.threads,
        memory_limit=settings.memory_limit,
        read_only=read_only,
    )


def create_workspace(
    path: str | Path,
    *,
    name: str | None = None,
    timezone: str = "UTC",
    currency: str = "EUR",
    exist_ok: bool = False,
    settings: Settings | None = None,
    **config: Any,
) -> Workspace:
    """Create a workspace folder (settings file and empty event store) and open it."""
    folder = Path(path)
    if (folder / STORE_FILE).exists() and not exist_ok:
        raise ConfigError(f"{folder} already holds a workspace", file=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        ws_config = WorkspaceConfig(
            name=name or folder.name, timezone=timezone, currency=currency, **config
        )
    except ValueError as exc:
        raise ConfigError(f"invalid workspace settings: {exc}", file=str(folder)) from exc
    save_workspace_config(folder, ws_config)
    return open_workspace(folder, settings=settings)


def open_workspace(
    path: str | Path, *, settings: Settings | None = None, read_only: bool = False
) -> Workspace:
    """Open an existing workspace folder; its store is migrated to the current schema."""
    folder = Path(path)
    if not (folder / STORE_FILE).exists() and not (folder / "journeylens.yaml").exists():
        raise NotFoundError(
            f"no workspace at {folder}: create one with `journeylens init {folder}` "
            "or `journeylens demo`",
            kind="workspace",
            key=str(folder),
        )
    config = load_workspace_config(folder)
    settings = settings or Settings()
    # the store is held by one process at a time; events a running server acknowledged but has
    # not loaded yet are loaded first, so that every reader sees them (ADR 0005)
    lock = WorkspaceLock(folder).acquire()
    try:
        if read_only and (folder / STORE_FILE).exists() and pending_bytes(folder):
            writer = _engine_for(folder, settings)
            try:
                drain_journal(writer, folder, config.channel_rules)
            finally:
                writer.close()
        engine = _engine_for(folder, settings, read_only=read_only)
        if not read_only:
            migrate(engine)
            drain_journal(engine, folder, config.channel_rules)
    except BaseException:
        lock.release()
        raise
    workspace = Workspace(folder, config, engine)
    workspace._lock = lock
    return workspace


def check_data_party(value: str) -> str:
    if value not in DATA_PARTIES:
        raise ConfigError(
            f"data_party: {value!r} is not one of {', '.join(DATA_PARTIES)}",
            field="data_party",
            allowed=DATA_PARTIES,
        )
    return value
