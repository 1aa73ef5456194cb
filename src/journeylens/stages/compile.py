"""Stage assignment compiled to one SQL query (pure: no connection, no dialect).

The query reads a customer's (or an account's) events in time order and returns the **stage
entry history**: one row per entry, ``(unit_id, stage, stage_rank, entered_at, event_id,
exited_at, entry_number)``. In words (docs/stages.md has the full definition):

1. every event is tested against every stage's entry rule; a stage's rule *fires* at an event
   when it holds over the history up to that event and the event is one of the touchpoints the
   rule names (events with the same timestamp are simultaneous);
2. the *candidate* at an event is the furthest stage (in model order) that fires there;
3. a **linear** model never moves back: the stage is the furthest candidate so far; a
   **circular** model moves to the candidate of the latest event that has one (it may go back,
   e.g. a loyal customer who starts evaluating again);
4. a **lapse** stage is entered ``after_days`` after an *activity* touchpoint that no other
   activity follows within that time; the journey then restarts from the lapse stage: the
   next candidate decides the stage, and a linear model climbs again from there;
5. an entry is recorded whenever the stage changes; ``exited_at`` is the next entry's time;
   the event of an entry is the first event at that instant that fires the entered stage
   (none for a lapse).

Times are compared at one-second resolution. Linear models compile to filters, aggregates
and joins over the events (:mod:`journeylens.stages.linear`: no window over all events);
circular models to a walk over every event (:mod:`journeylens.stages.walk`).
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from journeylens.stages.linear import compile_linear
from journeylens.stages.model import JourneyModel
from journeylens.stages.sqlparts import StageInput, epoch_us, uses_traits
from journeylens.stages.walk import compile_walk

__all__ = ["StageInput", "compile_history", "epoch_us", "uses_traits"]


def compile_history(model: JourneyModel, source: StageInput, as_of: datetime) -> exp.Select:
    """The stage entry history of every unit up to ``as_of`` (naive UTC or aware):
    ``unit_id, stage, stage_rank, entered_at, event_id, exited_at, entry_number``."""
    if model.circular:
        return compile_walk(model, source, as_of)
    return compile_linear(model, source, as_of)
