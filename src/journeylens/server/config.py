"""Limits and timings of the ingestion server (docs/server.md)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """What one server process accepts, and how often it loads the journal into the store."""

    max_body_bytes: int = 20 << 20
    """A request body, after gunzip, above this many bytes is answered 413 (20 MiB: several
    times the largest default batch of the Segment, RudderStack and PostHog SDKs)."""
    max_event_bytes: int = 1 << 20
    """One event above this many bytes (as JSON) is rejected in the 400 answer, the rest of the
    batch being stored (Segment's own limit is 32 KB)."""
    max_inflight: int = 512
    """Requests being validated or waiting for the journal at once; one more gets 429."""
    max_backlog_bytes: int = 512 << 20
    """Journaled bytes not yet loaded into the store (another process keeps the store, or the
    loader cannot keep up) above which new batches get 429 until the loader catches up."""
    retry_after_seconds: int = 2
    """``Retry-After`` of a 429 answer."""
    load_interval_seconds: float = 1.0
    """How often the loader moves journaled events into the store. Each pass opens and closes
    the store (about 0.1 s of fixed cost), so a longer interval leaves more CPU to ingestion;
    readers never wait for it, since opening the workspace loads the journal first."""
    loader_process: bool = True
    """Load in a helper process (``python -m journeylens.server.loader``), so that DuckDB's work
    never takes the GIL from request handling; ``False`` loads in a thread of the server."""
    read_timeout_seconds: float = 10.0
    """How long a query or privacy request waits for the store before answering 503."""
