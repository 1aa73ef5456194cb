"""``workspace.attribution``: what each channel, source, campaign and touchpoint is worth.

>>> ws.attribution.run(models=["last_touch", "linear", "markov"]).table()   # doctest: +SKIP
>>> ws.attribution.paths(lookback_days=14).table()[:10]                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from journeylens.attribution.compile import compile_costs
from journeylens.attribution.journeys import Journeys
from journeylens.attribution.markov import markov
from journeylens.attribution.paths import PathTable
from journeylens.attribution.results import AttributionResult, ConversionPaths, RoiResult
from journeylens.attribution.rules import (
    RULE_MODELS,
    Credit,
    credit_of_shares,
    positional_shares,
    rule_shares,
    same_touch,
)
from journeylens.attribution.spec import NO_TOUCHPOINT, AttributionSpec
from journeylens.config import WorkspaceConfig
from journeylens.engines.base import Engine
from journeylens.errors import ConfigError
from journeylens.funnels.api import event_codes, naive_utc

__all__ = ["DEFAULT_MODELS", "MODELS", "Attribution", "attribute"]

MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "participation",
    "same_touch",
    "position_based",
    "j_shaped",
    "inverse_j",
    "time_decay",
    "custom",
    "markov",
    "markov_1",
    "markov_2",
    "markov_3",
    "shapley",
)
DEFAULT_MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
    "markov",
    "shapley",
)
DEFAULT_HALF_LIFE_DAYS = 7.0


def _check_models(models: Sequence[str], spec: AttributionSpec, weights: Any) -> list[str]:
    chosen = list(dict.fromkeys(models))
    for model in chosen:
        if model not in MODELS:
            raise ConfigError(f"unknown model {model!r}", field="models", allowed=MODELS)
    if "last_non_direct" in chosen and spec.level not in ("channel", "campaign"):
        raise ConfigError(
            "last_non_direct needs the channel or campaign level (direct is a channel)",
            field="models",
        )
    if "custom" in chosen and weights is None:
        raise ConfigError("the custom model needs weights=(first, middle, last)", field="weights")
    return chosen


def attribute(
    paths: PathTable,
    models: Sequence[str],
    *,
    markov_order: int = 1,
    weights: tuple[float, float, float] | None = None,
    time_decay: Credit | None = None,
) -> tuple[dict[str, Credit], dict[str, dict[str, float]]]:
    """Credit per model on a path table (time decay needs touchpoint times, which a path table
    does not keep: it comes from :meth:`Journeys.time_decay`).
    Returns the credit per model and the removal effects per Markov model."""
    credit: dict[str, Credit] = {}
    removal: dict[str, dict[str, float]] = {}
    for model in models:
        if model in RULE_MODELS:
            credit[model] = credit_of_shares(paths, rule_shares(paths, model))
        elif model == "same_touch":
            credit[model] = same_touch(paths)
        elif model == "custom":
            assert weights is not None
            credit[model] = credit_of_shares(paths, positional_shares(paths, *weights))
        elif model.startswith("markov"):
            order = int(model[-1]) if model != "markov" else markov_order
            result = markov(paths, order)
            credit[model] = (result.conversions, result.value)
            removal[model] = {
                label: float(result.removal_effects[i]) for i, label in enumerate(paths.labels)
            }
        elif model == "time_decay":
            assert time_decay is not None
            credit[model] = time_decay
    return credit, removal


class Attribution:
    """Multi-touch attribution over ``customer_events`` (docs/attribution.md)."""

    def __init__(self, engine: Engine, config: WorkspaceConfig) -> None:
        self._engine = engine
        self._config = config

    @staticmethod
    def _spec(spec: AttributionSpec | None, options: dict[str, Any]) -> AttributionSpec:
        if spec is not None and options:
            raise ConfigError("give a spec or options, not both", field="spec")
        return spec if spec is not None else AttributionSpec(**options)

    def journeys(self, spec: AttributionSpec, as_of: datetime | None = None) -> Journeys:
        """Every journey and its kept touchpoints (the path table's and time decay's input)."""
        return Journeys.read(self._engine, spec, event_codes(self._engine), naive_utc(as_of))

    def path_table(
        self, spec: AttributionSpec, as_of: datetime | None = None
    ) -> tuple[PathTable, datetime]:
        """The aggregated paths as NumPy arrays (the models' input)."""
        moment = naive_utc(as_of)
        journeys = self.journeys(spec, moment)
        return PathTable.from_arrow(journeys.paths(), count=spec.value == "count"), moment

    def paths(
        self,
        spec: AttributionSpec | None = None,
        *,
        as_of: datetime | None = None,
        **options: Any,
    ) -> ConversionPaths:
        """Conversion paths: each distinct path with its conversions, value and journeys that
        did not convert."""
        spec = self._spec(spec, options)
        table, _ = self.path_table(spec, as_of)
        return ConversionPaths(spec, table.grouped())

    @staticmethod
    def _time_decay(
        spec: AttributionSpec, journeys: Journeys, paths: PathTable, half_life_days: float
    ) -> Credit:
        if half_life_days <= 0:
            raise ConfigError("half_life_days must be > 0", field="half_life_days")
        credited, revenue = journeys.time_decay(half_life_days)
        index = {label: i for i, label in enumerate(paths.labels)}
        conversions = np.zeros(len(paths.labels))
        value = np.zeros(len(paths.labels))
        for code, label in enumerate(journeys.labels):
            if credited[code] or revenue[code]:
                conversions[index[label]] += credited[code]
                value[index[label]] += revenue[code]
        if spec.value == "count":
            value = conversions.copy()
        if NO_TOUCHPOINT in index:  # conversions without touchpoints: no touchpoint to credit
            alone = paths.labels.index(NO_TOUCHPOINT)
            empty = (paths.lengths == 1) & (paths.codes[paths.offsets[:-1]] == alone)
            conversions[alone] += paths.conversions[empty].sum()
            value[alone] += paths.value[empty].sum()
        return conversions, value

    def run(
        self,
        spec: AttributionSpec | None = None,
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        markov_order: int = 1,
        half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
        weights: tuple[float, float, float] | None = None,
        as_of: datetime | None = None,
        **options: Any,
    ) -> AttributionResult:
        """Credited conversions and value per touchpoint value for each of ``models``
        (names in :data:`MODELS`), side by side. ``options`` are the spec's fields
        (``conversion``, ``value``, ``lookback_days``, ``level``, ``repeats`` …)."""
        spec = self._spec(spec, options)
        chosen = _check_models(models, spec, weights)
        journeys = self.journeys(spec, as_of)
        paths = PathTable.from_arrow(journeys.paths(), count=spec.value == "count")
        decay = (
            self._time_decay(spec, journeys, paths, half_life_days)
            if "time_decay" in chosen
            else None
        )
        credit, removal = attribute(
            paths, chosen, markov_order=markov_order, weights=weights, time_decay=decay
        )
        total_conversions = float(paths.conversions.sum())
        total_value = float(paths.value.sum())
        rows = []
        for model in chosen:
            conversions, value = credit[model]
            for i, label in enumerate(paths.labels):
                if conversions[i] == 0 and value[i] == 0:
                    continue
                rows.append(
                    {
                        "model": model,
                        "touchpoint": label,
                        "conversions": float(conversions[i]),
                        "value": float(value[i]),
                        "share": float(conversions[i]) / total_conversions
                        if total_conversions
                        else 0.0,
                    }
                )
        return AttributionResult(spec, rows, total_conversions, total_value, removal)

    def roi(
        self,
        spec: AttributionSpec | None = None,
        *,
        models: Sequence[str] = ("last_touch", "linear", "markov"),
        as_of: datetime | None = None,
        **options: Any,
    ) -> RoiResult:
        """Cost per acquisition and ROI per touchpoint value with imported costs (the ``cost``
        of ad events from ``since`` to ``as_of``), for each model."""
        spec = self._spec(spec, options)
        result = self.run(spec, models=models, as_of=as_of)
        costs = {
            r["v"]: float(r["cost"])
            for r in self._engine.rows(compile_costs(spec.level, spec.since, naive_utc(as_of)))
        }
        rows = []
        for model in result.models:
            conversions = result.credit(model)
            value = result.credit(model, "value")
            for label, cost in sorted(costs.items()):
                credited = conversions.get(label, 0.0)
                earned = value.get(label, 0.0)
                rows.append(
                    {
                        "model": model,
                        "touchpoint": label,
                        "cost": cost,
                        "conversions": credited,
                        "value": earned,
                        "cpa": cost / credited if credited else None,
                        "roi": (earned - cost) / cost if cost else None,
                    }
                )
        return RoiResult(spec, rows)
