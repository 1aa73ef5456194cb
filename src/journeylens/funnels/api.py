"""``workspace.funnels``: funnels over a workspace's ``customer_events``.

>>> ws.funnels.run(["product_viewed", "cart_added", "purchase"]).steps   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.errors import NotFoundError
from journeylens.funnels.compile import compile_funnel
from journeylens.funnels.results import FunnelResult
from journeylens.funnels.spec import FunnelSpec, Step

__all__ = ["Funnels", "event_codes", "keyed_profiles", "naive_utc"]


def event_codes(engine: Engine) -> dict[str, int]:
    """The ``event_names`` dictionary (name → ``event_code``)."""
    if not engine.table_exists("customer_events"):
        raise NotFoundError(
            "no customer events yet: import events and run `journeylens resolve` first",
            kind="table",
            key="customer_events",
        )
    return {
        r["event"]: int(r["event_code"])
        for r in engine.rows("SELECT event_code, event FROM event_names")
    }


def naive_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def keyed_profiles(engine: Engine) -> bool:
    """Whether ``customer_profiles`` has each customer's ``customer_key`` (identity resolution
    writes it; stores written before it, or by hand, lack it): funnels then name customers
    through it."""
    if not engine.table_exists("customer_profiles"):
        return False
    return "customer_key" in engine.arrow("SELECT * FROM customer_profiles LIMIT 0").column_names


class Funnels:
    """Funnels of one workspace (docs/funnels.md)."""

    def __init__(self, engine: Engine, config: WorkspaceConfig) -> None:
        self._engine = engine
        self._config = config
        from journeylens.paths.api import Paths

        self.paths = Paths(engine)
        """Paths: transitions, top paths, step matrix, sessions (docs/paths.md)."""

    def run(
        self,
        spec: FunnelSpec | Sequence[Step | str | None],
        *,
        as_of: datetime | None = None,
        **options: Any,
    ) -> FunnelResult:
        """Run a funnel: a :class:`FunnelSpec`, or its steps with the spec's other fields as
        keyword arguments (``window_seconds``, ``order``, ``exclusions``, ``breakdown`` …).
        Events after ``as_of`` (default: now) are not read; windows still open at ``as_of``
        are reported apart from drop-offs."""
        if not isinstance(spec, FunnelSpec):
            spec = FunnelSpec(steps=tuple(Step.of(s) for s in spec), **options)
        moment = naive_utc(as_of)
        codes = event_codes(self._engine)
        if spec.breakdown is not None and spec.breakdown.startswith("stage:"):
            self._check_stage_history(spec.breakdown.partition(":")[2])
        query = compile_funnel(spec, codes, moment, profiles=keyed_profiles(self._engine))
        return FunnelResult(spec, self._engine.arrow(query), moment)

    def _check_stage_history(self, model_id: str) -> None:
        stored = self._engine.table_exists("stage_runs") and self._engine.scalar(
            "SELECT count(*) FROM stage_runs WHERE model_id = ?", [model_id]
        )
        if not stored:
            raise NotFoundError(
                f"no stored stage history for model {model_id!r}: run "
                f"`journeylens stages assign {model_id}` first",
                kind="stage history",
                key=model_id,
            )
