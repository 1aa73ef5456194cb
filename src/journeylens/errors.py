"""Errors raised by journeylens.

Every error has a stable ``code`` (for the HTTP API, the CLI and for callers that branch on it),
a message that says what went wrong and what to do, and context fields where they apply.

::

    JourneyLensError                      code
    ├── ConfigError (ValueError)          config_invalid      bad workspace or settings file
    ├── InputError (ValueError)           input_invalid       bad input data
    │   ├── MappingError                  mapping_invalid     bad column-mapping file
    │   └── RecordError                   record_invalid      one bad record: ``row``, ``field``
    ├── NotFoundError (LookupError)       not_found           no such workspace, customer, source
    ├── StorageError (RuntimeError)       storage_error       schema too new, file locked
    └── UnsupportedError (NotImplementedError)
                                          unsupported         an engine cannot do this

Callers catch :class:`JourneyLensError` for "anything journeylens refused", or the built-in
base (``ValueError``, ``LookupError``…) when they do not want to import journeylens names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ConfigError",
    "InputError",
    "JourneyLensError",
    "MappingError",
    "NotFoundError",
    "RecordError",
    "StorageError",
    "UnsupportedError",
]


class JourneyLensError(Exception):
    """Base of every error journeylens raises on purpose."""

    code = "error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape every error takes: ``{"code", "message", ...context}``."""
        return {"code": self.code, "message": self.message, **_jsonable(self.context)}


class ConfigError(JourneyLensError, ValueError):
    """A workspace file, settings value or model file is invalid."""

    code = "config_invalid"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        allowed: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            message, file=file, field=field, allowed=list(allowed) if allowed else None
        )
        self.file = file
        self.field = field
        self.allowed = list(allowed) if allowed else None


class InputError(JourneyLensError, ValueError):
    """Input data (a file, a request) cannot be used as given."""

    code = "input_invalid"

    def __init__(self, message: str, *, file: str | None = None, **context: Any) -> None:
        super().__init__(message, file=file, **context)
        self.file = file


class MappingError(InputError):
    """A column-mapping file is invalid or does not fit the file it is applied to."""

    code = "mapping_invalid"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        allowed: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            message, file=file, field=field, allowed=list(allowed) if allowed else None
        )
        self.field = field
        self.allowed = list(allowed) if allowed else None


class RecordError(InputError):
    """One record of the input is invalid; ``row`` is 1-based (the data row, header excluded)."""

    code = "record_invalid"

    def __init__(
        self,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
        value: Any = None,
        file: str | None = None,
    ) -> None:
        super().__init__(message, file=file, row=row, field=field, value=value)
        self.row = row
        self.field = field
        self.value = value


class NotFoundError(JourneyLensError, LookupError):
    """The workspace, customer, source or file asked for does not exist."""

    code = "not_found"

    def __init__(self, message: str, *, kind: str | None = None, key: str | None = None) -> None:
        super().__init__(message, kind=kind, key=key)
        self.kind = kind
        self.key = key


class StorageError(JourneyLensError, RuntimeError):
    """The event store cannot be used: newer schema, file held by another process."""

    code = "storage_error"


class UnsupportedError(JourneyLensError, NotImplementedError):
    """The engine (or this version) cannot do what was asked."""

    code = "unsupported"

    def __init__(self, message: str, *, engine: str | None = None, feature: str | None = None):
        super().__init__(message, engine=engine, feature=feature)
        self.engine = engine
        self.feature = feature


def _jsonable(context: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in context.items():
        out[key] = value if isinstance(value, str | int | float | bool | list) else str(value)
    return out
