"""Running stage assignment on a workspace: the inputs per level, and the stored history.

``assign`` compiles the model (:func:`journeylens.stages.compile.compile_history`), runs it on
the engine over ``customer_events`` (customers) or over the events of each account's members
(accounts), and stores the entries in ``stage_entries`` (one set of rows per model, replaced on
every run), so that the stage analytics read a table instead of recomputing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlglot import exp

from journeylens.engines.base import Engine
from journeylens.errors import NotFoundError
from journeylens.schema import Column
from journeylens.sql import col, create_table, lit
from journeylens.stages.compile import StageInput, compile_history
from journeylens.stages.model import JourneyModel

__all__ = ["STAGE_ENTRY_COLUMNS", "StageHistory", "assign", "stage_input"]

STAGE_ENTRY_COLUMNS: tuple[Column, ...] = (
    Column("model_id", pa.string(), "VARCHAR", "journey model", nullable=False),
    Column("unit_id", pa.string(), "VARCHAR", "customer_id or account_id", nullable=False),
    Column("stage", pa.string(), "VARCHAR", "stage id", nullable=False),
    Column("stage_rank", pa.int32(), "INTEGER", "1-based position in the model", nullable=False),
    Column("entered_at", pa.timestamp("us"), "TIMESTAMP", "UTC", nullable=False),
    Column("event_id", pa.string(), "VARCHAR", "event that made it enter (null: a lapse)"),
    Column("exited_at", pa.timestamp("us"), "TIMESTAMP", "next entry's time (null: current)"),
    Column("entry_number", pa.int64(), "BIGINT", "1, 2, … per unit", nullable=False),
)
_RUN_COLUMNS: tuple[Column, ...] = (
    Column("model_id", pa.string(), "VARCHAR", "", nullable=False),
    Column("level", pa.string(), "VARCHAR", "customer or account", nullable=False),
    Column("model_source", pa.string(), "VARCHAR", "file the model came from"),
    Column("as_of", pa.timestamp("us"), "TIMESTAMP", "history computed up to", nullable=False),
    Column("computed_at", pa.timestamp("us"), "TIMESTAMP", "", nullable=False),
    Column("units", pa.int64(), "BIGINT", "customers or accounts with a stage"),
    Column("entries", pa.int64(), "BIGINT", "stage entries"),
)


def stage_input(model: JourneyModel, event_codes: dict[str, int] | None = None) -> StageInput:
    """The events of the model's units (customers or accounts) and their traits.

    Customers read ``customer_events`` as they are (``seq`` is per customer). Accounts read the
    events of their members, numbered again per account in (ts, event_id) order.
    """
    fields = [
        exp.alias_(col(n, "e"), n)
        for n in ("ts", "event_id", "type", "event", "event_code", "properties")
    ]
    if model.level == "customer":
        events: exp.Expression = exp.select(
            exp.alias_(col("customer_id", "e"), "unit_id"),
            exp.alias_(col("seq", "e"), "seq"),
            *fields,
        ).from_(exp.to_table("customer_events").as_("e"))
        traits = exp.select(exp.alias_(col("customer_id"), "unit_id"), col("traits")).from_(
            "customer_profiles"
        )
        return StageInput(events=events, traits=traits, event_codes=event_codes)
    seq = exp.Window(
        this=exp.RowNumber(),
        partition_by=[col("account_id", "m")],
        order=exp.Order(
            expressions=[
                exp.Ordered(this=col("ts", "e"), nulls_first=False),
                exp.Ordered(this=col("event_id", "e"), nulls_first=False),
            ]
        ),
    )
    events = (
        exp.select(exp.alias_(col("account_id", "m"), "unit_id"), exp.alias_(seq, "seq"), *fields)
        .from_(exp.to_table("customer_events").as_("e"))
        .join(
            exp.to_table("account_members").as_("m"),
            on=exp.EQ(this=col("customer_id", "m"), expression=col("customer_id", "e")),
        )
    )
    traits = exp.select(exp.alias_(col("account_id"), "unit_id"), col("traits")).from_("accounts")
    return StageInput(events=events, traits=traits, event_codes=event_codes)


class StageHistory:
    """Every stage entry of every unit: ``unit_id, stage, stage_rank, entered_at, event_id,
    exited_at, entry_number`` (``exited_at`` null: the unit is still there).

    When the history was stored, ``table`` reads it from ``stage_entries`` on first use, so
    that assigning stages to millions of customers does not pull them into Python."""

    def __init__(
        self,
        model: JourneyModel,
        as_of: datetime,
        *,
        units: int,
        entries: int,
        table: pa.Table | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.model = model
        self.as_of = as_of
        self.units = units
        self.entries = entries
        self._table = table
        self._engine = engine

    @property
    def table(self) -> pa.Table:
        if self._table is None:
            assert self._engine is not None
            self._table = self._engine.arrow(
                exp.select(*[c.name for c in STAGE_ENTRY_COLUMNS if c.name != "model_id"])
                .from_("stage_entries")
                .where(exp.EQ(this=col("model_id"), expression=lit(self.model.id)))
                .order_by("unit_id", "entry_number")
            )
        return self._table

    def to_pandas(self) -> Any:
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.id,
            "level": self.model.level,
            "as_of": self.as_of.isoformat(),
            "units": self.units,
            "entries": self.table.to_pylist(),
        }


def _naive_utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def assign(
    engine: Engine, model: JourneyModel, *, as_of: datetime | None = None, store: bool = True
) -> StageHistory:
    """Stage entry history of every unit up to ``as_of`` (default: now).

    Stored in ``stage_entries`` (replacing this model's earlier run) unless ``store=False``,
    which returns the entries as an Arrow table instead."""
    if not engine.table_exists("customer_events"):
        raise NotFoundError(
            "no customer_events yet: run `journeylens resolve` (identity "
            "resolution) before assigning stages",
            kind="table",
            key="customer_events",
        )
    moment = _naive_utc(as_of or datetime.now(UTC))
    codes = {
        r["event"]: r["event_code"]
        for r in engine.rows(exp.select("event", "event_code").from_("event_names"))
    }
    query = compile_history(model, stage_input(model, codes), moment)
    if not store:
        table = engine.arrow(query)
        units = len(set(table.column("unit_id").to_pylist()))
        return StageHistory(model, moment, units=units, entries=table.num_rows, table=table)
    units, entries = _store(engine, model, moment, query)
    return StageHistory(model, moment, units=units, entries=entries, engine=engine)


def _store(
    engine: Engine, model: JourneyModel, as_of: datetime, query: exp.Select
) -> tuple[int, int]:
    engine.execute(create_table("stage_entries", STAGE_ENTRY_COLUMNS))
    engine.execute(create_table("stage_runs", _RUN_COLUMNS))
    same_model = exp.EQ(this=col("model_id"), expression=lit(model.id))
    rows = query.copy()
    rows.set("order", None)
    names = [c.name for c in STAGE_ENTRY_COLUMNS if c.name != "model_id"]
    insert = exp.insert(
        exp.select(lit(model.id), *names).from_(exp.Subquery(this=rows, alias="h")),
        "stage_entries",
        columns=["model_id", *names],
    )
    with engine.transaction():
        engine.execute(exp.delete("stage_entries", where=same_model))
        engine.execute(exp.delete("stage_runs", where=same_model.copy()))
        engine.execute(insert)
        counts = engine.rows(
            exp.select(
                exp.alias_(exp.Count(this=exp.Distinct(expressions=[col("unit_id")])), "units"),
                exp.alias_(exp.Count(this=exp.Star()), "entries"),
            )
            .from_("stage_entries")
            .where(same_model.copy())
        )[0]
        engine.execute(
            exp.insert(
                exp.select(
                    lit(model.id),
                    lit(model.level),
                    lit(model.source),
                    exp.cast(lit(as_of.isoformat(sep=" ")), "TIMESTAMP"),
                    exp.cast(
                        lit(datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")), "TIMESTAMP"
                    ),
                    lit(counts["units"]),
                    lit(counts["entries"]),
                ),
                "stage_runs",
            )
        )
    return counts["units"], counts["entries"]
