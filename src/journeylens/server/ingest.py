"""Accepting a batch: validate, drop suppressed people, journal with group commit.

:meth:`Ingestor.accept` turns the messages of one request into canonical rows
(:func:`~journeylens.events.messages.normalise_message`, the same rules as file import), keeps
the rejected ones with their reasons, and returns once the good rows are written and fsynced to
the journal — together with those of every other request that arrived meanwhile (one fsync for
all of them). Only then does the route answer 200.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from journeylens.errors import RecordError
from journeylens.events.journal import JournalWriter, encode_frame
from journeylens.events.messages import MessageDefaults, normalise_message
from journeylens.events.store import STAGED_SCHEMA

__all__ = ["Accepted", "GroupCommitter", "Ingestor", "Rejection", "rows_table"]


@dataclass(frozen=True)
class Rejection:
    """One event of a batch that was not stored, and why."""

    index: int
    """0-based position in the request's batch."""
    message_id: str | None
    code: str
    field: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "messageId": self.message_id,
            "code": self.code,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class Accepted:
    """What happened to the events of one request."""

    received: int
    journaled: int = 0
    suppressed: int = 0
    rejected: list[Rejection] = field(default_factory=list)


class GroupCommitter:
    """One thread that writes the frames of every waiting request and fsyncs once for all."""

    def __init__(self, writer: JournalWriter) -> None:
        self.writer = writer
        self._cond = threading.Condition()
        self._queue: list[tuple[bytes | None, concurrent.futures.Future[None]]] = []
        self._closed = False
        self.commits = 0
        """fsyncs done (a measure of how well requests are grouped)."""
        self.written_frames = 0
        self.written_bytes = 0
        """Bytes made durable so far (only grows)."""
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    def submit(self, frame: bytes | None) -> concurrent.futures.Future[None]:
        """Queue a frame (``None``: seal the open segment); the future resolves once it is
        durable."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the journal is closed")
            self._queue.append((frame, future))
            self._cond.notify()
        return future

    async def commit(self, frame: bytes) -> None:
        await asyncio.wrap_future(self.submit(frame))

    def rotate(self) -> None:
        """Seal the open segment (waits for it)."""
        self.submit(None).result()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue and self._closed:
                    return
                work, self._queue = self._queue, []
            frames = [f for f, _ in work if f is not None]
            try:
                if frames:
                    self.writer.append(frames)
                    self.commits += 1
                    self.written_frames += len(frames)
                    self.written_bytes += sum(len(f) for f in frames)
                if any(f is None for f, _ in work):
                    self.writer.rotate()
            except BaseException as error:  # e.g. disk full: every waiter answers 5xx
                for _, future in work:
                    future.set_exception(error)
                continue
            for _, future in work:
                future.set_result(None)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self.writer.close()


class Ingestor:
    """Validates the messages of a request and journals the good ones.

    The messages are decoded from JSON text by orjson (:func:`~journeylens.server.wire.
    decode_body`), which refuses NaN and Infinity, so normalisation does not look for them.
    """

    def __init__(
        self, folder: Path, *, max_event_bytes: int, suppression: Any | None = None
    ) -> None:
        self.folder = folder
        self.max_event_bytes = max_event_bytes
        self.suppression = suppression
        self.committer = GroupCommitter(JournalWriter(folder))
        self.inflight = 0

    def prepare(
        self,
        messages: Sequence[Any],
        *,
        source: str,
        data_party: str,
        body_bytes: int | None = None,
    ) -> tuple[Accepted, bytes | None]:
        """Validate and normalise ``messages``; the journal frame of the good ones.

        ``body_bytes``: the size of the (inflated) body they came in, if known.
        """
        received_at = datetime.now(UTC).replace(tzinfo=None)
        defaults = MessageDefaults(source, data_party, None, None)
        outcome = Accepted(received=len(messages))
        suppression = self.suppression
        if suppression is not None:
            suppression.refresh()
            if not len(suppression):
                suppression = None
        # no event can be above the limit when the whole body is not
        measure = body_bytes is None or body_bytes > self.max_event_bytes
        rows: list[dict[str, Any]] = []
        for index, message in enumerate(messages):
            size = len(orjson.dumps(message)) if measure else 0
            if size > self.max_event_bytes:
                outcome.rejected.append(
                    Rejection(
                        index,
                        _message_id(message),
                        "event_too_large",
                        None,
                        f"event of {size} bytes is above the limit of "
                        f"{self.max_event_bytes} bytes; send less in properties or context",
                    )
                )
                continue
            try:
                row = normalise_message(
                    message, defaults, row=index, received_at=received_at, nan_free=True
                )
            except RecordError as error:
                outcome.rejected.append(
                    Rejection(index, _message_id(message), error.code, error.field, error.message)
                )
                continue
            except (OverflowError, ValueError) as error:  # e.g. year 1 minus a skew
                outcome.rejected.append(
                    Rejection(
                        index,
                        _message_id(message),
                        "record_invalid",
                        "timestamp",
                        f"timestamp/sentAt: out of the range of dates after clock-skew "
                        f"correction ({error}); send ISO-8601 times of this era",
                    )
                )
                continue
            if suppression is not None and suppression.is_suppressed(message):
                outcome.suppressed += 1
                continue
            rows.append(row)
        outcome.journaled = len(rows)
        if not rows:
            return outcome, None
        return outcome, encode_frame(rows_table(rows), source=source, data_party=data_party)

    async def accept(
        self,
        messages: Sequence[Any],
        *,
        source: str,
        data_party: str,
        body_bytes: int | None = None,
    ) -> Accepted:
        """Validate ``messages`` and return once the good ones are durable."""
        outcome, frame = self.prepare(
            messages, source=source, data_party=data_party, body_bytes=body_bytes
        )
        if frame is not None:
            await self.committer.commit(frame)
        return outcome

    def close(self) -> None:
        self.committer.close()


_FIELDS = [(f.name, f.type) for f in STAGED_SCHEMA]


def rows_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Canonical rows (dicts with the :data:`STAGED_SCHEMA` columns) as an Arrow table, built
    column by column; a column whose value is the same in every row (the receive time, often
    the source, the event name…) is made from that one value."""
    n = len(rows)
    arrays: list[pa.Array] = []
    for name, kind in _FIELDS:
        values = [r[name] for r in rows]
        first = values[0]
        if values.count(first) != n:
            arrays.append(pa.array(values, type=kind))
        elif first is None:
            arrays.append(pa.nulls(n, kind))
        else:
            arrays.append(pa.repeat(pa.scalar(first, kind), n))
    return pa.Table.from_arrays(arrays, schema=STAGED_SCHEMA)


def _message_id(message: Any) -> str | None:
    if isinstance(message, dict):
        value = message.get("messageId", message.get("uuid"))
        return value if isinstance(value, str) else None
    return None
