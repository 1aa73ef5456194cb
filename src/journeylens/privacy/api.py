"""``Workspace.privacy``: delete, suppress, suppress-and-delete, unsuppress, export, audit log.

Every request first brings identities up to date (an incremental resolve), then resolves the
identifier it names — a customer id, user id, anonymous id, email or phone — to the person and
every identifier linked to them. docs/privacy.md describes what each request does.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from journeylens import identity
from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.errors import NotFoundError
from journeylens.privacy.erase import erase
from journeylens.privacy.export import export_person, jsonable
from journeylens.privacy.person import Person, find_person
from journeylens.privacy.suppression import CACHE_FILE, write_cache
from journeylens.privacy.tables import REQUEST_COLUMNS, Settings, read_settings, write_settings
from journeylens.privacy.tokens import given_identifiers, request_token, token

__all__ = ["ACTIONS", "Privacy", "PrivacyRequest"]

ACTIONS: Final = ("delete", "suppress", "suppress_delete", "unsuppress")


@dataclass(frozen=True)
class PrivacyRequest:
    """One request of the audit log. It never holds the identifier it named, only its token
    (a keyed hash: :func:`journeylens.privacy.tokens.request_token`)."""

    request_id: str
    action: str
    status: str
    """``done``, ``not_found`` (nobody had that identifier; nothing changed) or ``pending``
    (interrupted: run the request again)."""
    identifier_token: str
    requested_by: str
    requested_at: datetime
    completed_at: datetime | None = None
    customers: int = 0
    identifiers: int = 0
    events_deleted: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)
    suppressions: int = 0
    """Identifier tokens added (suppress) or lifted (unsuppress)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(self.__dict__.copy())
        return out

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PrivacyRequest:
        row = dict(row)
        row["rows_deleted"] = json.loads(row["rows_deleted"] or "{}")
        for key in ("customers", "identifiers", "events_deleted", "suppressions"):
            row[key] = row[key] or 0
        return cls(**row)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Privacy:
    """Privacy requests on one workspace (``ws.privacy``)."""

    def __init__(self, path: Path, engine: Engine, config: WorkspaceConfig) -> None:
        self.path = path
        self.engine = engine
        self.config = config
        if not (path / CACHE_FILE).exists() and engine.table_exists("suppressions"):
            write_cache(engine, path)  # the cache was lost: rebuild it from the store

    # -- requests --------------------------------------------------------------------------
    def delete(self, identifier: str, requested_by: str = "cli") -> PrivacyRequest:
        """Delete everything about the person ``identifier`` belongs to: their events, profile,
        identity links, memberships and derived rows (stage entries…). New events of theirs are
        stored again later unless they are also suppressed (:meth:`suppress_and_delete`).

        Raises :class:`~journeylens.errors.NotFoundError` when nobody has that identifier.
        """
        request, person = self._start("delete", identifier, requested_by)
        if person is None:
            raise self._not_found(request, self._nobody(identifier, "nothing was deleted"))
        return self._finish(request, person, *self._erase(person))

    def suppress(self, identifier: str, requested_by: str = "cli") -> PrivacyRequest:
        """Stop storing events of the person ``identifier`` belongs to (every identifier linked
        to them); what is stored stays. Someone not seen yet can be suppressed: then the
        identifier itself is suppressed as a user id, an anonymous id and each trait identifier
        it is a valid value of."""
        request, person = self._start("suppress", identifier, requested_by)
        added = self._suppress(request, person, identifier)
        return self._finish(request, person, suppressions=added)

    def suppress_and_delete(self, identifier: str, requested_by: str = "cli") -> PrivacyRequest:
        """:meth:`suppress`, then :meth:`delete` (when anything is stored about them)."""
        request, person = self._start("suppress_delete", identifier, requested_by)
        added = self._suppress(request, person, identifier)
        if person is None:
            return self._finish(request, None, suppressions=added)
        events, rows = self._erase(person)
        return self._finish(request, person, events, rows, suppressions=added)

    def unsuppress(self, identifier: str, requested_by: str = "cli") -> PrivacyRequest:
        """Lift the suppressions ``identifier`` is part of (all identifiers suppressed together
        with it). Raises :class:`~journeylens.errors.NotFoundError` when it is not suppressed."""
        request, person = self._start("unsuppress", identifier, requested_by)
        settings = self._settings()
        forms = given_identifiers(identifier, settings.identifiers, settings.phone_region)
        if person is not None:
            forms += person.token_forms()
        tokens = sorted({token(settings.secret, k, f) for k, f in forms})
        subjects = [
            r["subject_id"]
            for r in self.engine.rows(
                "SELECT DISTINCT subject_id FROM suppressions "
                "WHERE list_contains(?::VARCHAR[], token)",
                [tokens],
            )
        ]
        if not subjects:
            raise self._not_found(
                request,
                f"{identifier!r} is not suppressed, nor is anyone it is linked to: nothing to lift",
            )
        lifted = int(
            self.engine.scalar(
                "SELECT count(*) FROM suppressions WHERE list_contains(?::VARCHAR[], subject_id)",
                [subjects],
            )
        )
        self.engine.execute(
            "DELETE FROM suppressions WHERE list_contains(?::VARCHAR[], subject_id)", [subjects]
        )
        write_cache(self.engine, self.path)
        return self._finish(request, person, suppressions=lifted)

    def export(self, identifier: str) -> dict[str, Any]:
        """Everything held about the person ``identifier`` belongs to (right of access): see
        :mod:`journeylens.privacy.export`. Identities are brought up to date first unless the
        workspace is open read-only. Raises :class:`~journeylens.errors.NotFoundError` when
        nobody has that identifier."""
        if not self._read_only():
            identity.resolve(self.engine, self.config.identity)
        person = self._find(identifier)
        if person is None:
            raise NotFoundError(
                self._nobody(identifier, "nothing is held about them"), kind="person"
            )
        return export_person(self.engine, person, identifier, self.config.identity.identifiers)

    def requests(self) -> list[PrivacyRequest]:
        """The audit log: every request, oldest first."""
        if not self.engine.table_exists("privacy_requests"):
            return []
        names = ", ".join(c.name for c in REQUEST_COLUMNS)
        return [
            PrivacyRequest.from_row(r)
            for r in self.engine.rows(
                f"SELECT {names} FROM privacy_requests ORDER BY requested_at, request_id"
            )
        ]

    # -- steps -----------------------------------------------------------------------------
    def _read_only(self) -> bool:
        return str(self.engine.scalar("SELECT current_setting('access_mode')")) == "read_only"

    def _settings(self) -> Settings:
        settings = read_settings(self.engine)
        return (
            settings if settings is not None else write_settings(self.engine, self.config.identity)
        )

    def _find(self, identifier: str) -> Person | None:
        try:
            return find_person(self.engine, identifier)
        except NotFoundError:
            return None

    def _start(
        self, action: str, identifier: str, requested_by: str
    ) -> tuple[PrivacyRequest, Person | None]:
        """Log the request as pending, bring identities up to date, find the person."""
        settings = write_settings(self.engine, self.config.identity)
        request = PrivacyRequest(
            request_id=f"pr-{uuid.uuid4().hex[:16]}",
            action=action,
            status="pending",
            identifier_token=request_token(settings.secret, identifier),
            requested_by=requested_by,
            requested_at=_now(),
        )
        self.engine.execute(
            "INSERT INTO privacy_requests (request_id, action, status, identifier_token, "
            "requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                request.request_id,
                action,
                request.status,
                request.identifier_token,
                requested_by,
                request.requested_at,
            ],
        )
        identity.resolve(self.engine, self.config.identity)
        return request, self._find(identifier)

    def _suppress(self, request: PrivacyRequest, person: Person | None, identifier: str) -> int:
        settings = self._settings()
        if person is not None:
            forms = person.token_forms()
        else:
            forms = given_identifiers(identifier, settings.identifiers, settings.phone_region)
        rows = sorted({(k, token(settings.secret, k, f)) for k, f in forms})
        self.engine.execute(
            "INSERT INTO suppressions SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?",
            [request.request_id, [k for k, _ in rows], [t for _, t in rows], _now()],
        )
        write_cache(self.engine, self.path)
        return len(rows)

    def _erase(self, person: Person) -> tuple[int, dict[str, int]]:
        rows = erase(self.engine, person, self.config.identity.identifiers)
        identity.resolve(self.engine, self.config.identity, full=True)
        self.engine.execute("CHECKPOINT")
        return rows.pop("events", 0), rows

    def _finish(
        self,
        request: PrivacyRequest,
        person: Person | None,
        events: int = 0,
        rows: dict[str, int] | None = None,
        *,
        suppressions: int = 0,
        status: str = "done",
    ) -> PrivacyRequest:
        done = PrivacyRequest(
            request_id=request.request_id,
            action=request.action,
            status=status,
            identifier_token=request.identifier_token,
            requested_by=request.requested_by,
            requested_at=request.requested_at,
            completed_at=_now(),
            customers=0 if person is None else 1,
            identifiers=0 if person is None else len(person.identifiers),
            events_deleted=events,
            rows_deleted=rows or {},
            suppressions=suppressions,
        )
        self.engine.execute(
            "UPDATE privacy_requests SET status = ?, completed_at = ?, customers = ?, "
            "identifiers = ?, events_deleted = ?, rows_deleted = ?, suppressions = ? "
            "WHERE request_id = ?",
            [
                done.status,
                done.completed_at,
                done.customers,
                done.identifiers,
                done.events_deleted,
                json.dumps(done.rows_deleted, sort_keys=True),
                done.suppressions,
                done.request_id,
            ],
        )
        return done

    def _nobody(self, identifier: str, what: str) -> str:
        return (
            f"no one with id or identifier {identifier!r} (tried customer id, user id, "
            f"{', '.join(self.config.identity.identifiers)}, anonymous id): {what}"
        )

    def _not_found(self, request: PrivacyRequest, message: str) -> NotFoundError:
        """Close the request as ``not_found``; the error to raise (it names no identifier in
        the audit log, only in the message returned to the caller)."""
        self._finish(request, None, status="not_found")
        return NotFoundError(message, kind="person")
