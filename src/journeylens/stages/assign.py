"""Running stage assignment on a workspace: the inputs per level, and the stored history.

``assign`` compiles the model (:func:`journeylens.stages.compile.compile_history`), runs it on
the engine over ``customer_events`` (customers) or over the events of each account's members
(accounts), and stores the entries in ``stage_entries`` (one set of rows per model, replaced on
every run), so that the stage analytics read a table instead of recomputing.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    fields = [exp.alias_(col(n, "e"), n) for n in ("ts", "event_id", "type", "event",
                                                   "event_code", "properties")]
    if model.level == "customer":
        events: exp.Expression = exp.select(
            exp.alias_(col("customer_id", "e"), "unit_id"), exp.alias_(col("seq", "e"), "seq"),
            *fields).from_(
            exp.to_table("customer_events").as_("e"))
        traits = exp.select(exp.alias_(col("customer_id"), "unit_id"), col("traits")).from_(
            "customer_profiles")
        return StageInput(events=events, traits=traits, event_codes=event_codes)
    seq = exp.Window(
        this=exp.RowNumber(), partition_by=[col("account_id", "m")],
        order=exp.Order(expressions=[exp.Ordered(this=col("ts", "e"), nulls_first=False),
                                     exp.Ordered(this=col("event_id", "e"), nulls_first=False)]))
    events = exp.select(exp.alias_(col("account_id", "m"), "unit_id"), exp.alias_(seq, "seq"),
                        *fields).from_(exp.to_table("customer_events").as_("e")).join(
        exp.to_table("account_members").as_("m"),
        on=exp.EQ(this=col("customer_id", "m"), expression=col("customer_id", "e")))
    traits = exp.select(exp.alias_(col("account_id"), "unit_id"), col("traits")).from_(
        "accounts")
    return StageInput(events=events, traits=traits, event_codes=event_codes)


@dataclass(frozen=True)
class StageHistory:
    """Every stage entry of every unit: ``unit_id, stage, stage_rank, entered_at, event_id,
    exited_at, entry_number`` (``exited_at`` null: the unit is still there)."""

    model: JourneyModel
    as_of: datetime
    table: pa.Table

    def to_pandas(self) -> Any:
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.id, "level": self.model.level,
                "as_of": self.as_of.isoformat(), "entries": self.table.to_pylist()}

    @property
    def units(self) -> int:
        return len(set(self.table.column("unit_id").to_pylist()))


def _naive_utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def assign(engine: Engine, model: JourneyModel, *, as_of: datetime | None = None,
           store: bool = True) -> StageHistory:
    """Stage entry history of every unit up to ``as_of`` (default: now), stored unless told."""
    if not engine.table_exists("customer_events"):
        raise NotFoundError("no customer_events yet: run `journeylens resolve` (identity "
                            "resolution) before assigning stages", kind="table",
                            key="customer_events")
    moment = _naive_utc(as_of or datetime.now(UTC))
    codes = {r["event"]: r["event_code"] for r in engine.rows(
        exp.select("event", "event_code").from_("event_names"))}
    query = compile_history(model, stage_input(model, codes), moment)
    table = engine.arrow(query)
    if store:
        _store(engine, model, moment, table)
    return StageHistory(model, moment, table)


def _store(engine: Engine, model: JourneyModel, as_of: datetime, table: pa.Table) -> None:
    stored = table.append_column("model_id", pa.array([model.id] * table.num_rows, pa.string()))
    stored = stored.select([c.name for c in STAGE_ENTRY_COLUMNS]).cast(
        pa.schema([pa.field(c.name, c.arrow) for c in STAGE_ENTRY_COLUMNS]))
    engine.execute(create_table("stage_entries", STAGE_ENTRY_COLUMNS))
    engine.execute(create_table("stage_runs", _RUN_COLUMNS))
    same_model = exp.EQ(this=col("model_id"), expression=lit(model.id))
    units = len(set(table.column("unit_id").to_pylist()))
    with engine.transaction(), engine.registered("_jl_entries", stored):
        engine.execute(exp.delete("stage_entries", where=same_model))
        engine.execute(exp.delete("stage_runs", where=same_model.copy()))
        engine.execute(exp.insert(exp.select("*").from_("_jl_entries"), "stage_entries"))
        engine.execute(exp.insert(exp.select(
            lit(model.id), lit(model.level), lit(model.source),
            exp.cast(lit(as_of.isoformat(sep=" ")), "TIMESTAMP"),
            exp.cast(lit(datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")),
                     "TIMESTAMP"),
            lit(units), lit(table.num_rows)), "stage_runs"))
