"""What one write (a batch of messages, a file) did with its records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from journeylens.errors import RecordError

__all__ = ["OnError", "WriteReport"]

OnError = Literal["stop", "skip", "rejects"]
"""What to do with bad records: ``stop`` (raise the first error, store nothing), ``skip`` (store
the good records, report the bad ones), ``rejects`` (as skip, and write the bad records with
their errors to a rejects file)."""


@dataclass(frozen=True)
class WriteReport:
    """What happened to the records of one write."""

    import_id: str
    read: int
    stored: int
    duplicates: int
    rejected: int = 0
    errors: list[RecordError] = field(default_factory=list)
    """The errors of rejected records (the first 1,000)."""
    duplicate_ids: list[str] = field(default_factory=list)
    """Up to 100 ids that were already stored or repeated within the input."""
    rejects_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [e.to_dict() for e in self.errors],
            "duplicate_ids": self.duplicate_ids,
            "rejects_file": self.rejects_file,
        }
