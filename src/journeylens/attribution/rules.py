"""Rule-based models and Shapley values on a :class:`PathTable`, vectorised with NumPy.

Every model gives each touchpoint of a path a share of the path's conversions (the shares of
a path sum to 1, except participation), then adds the shares up per value with
``np.bincount``: no Python loop over paths.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from journeylens.attribution.paths import PathTable
from journeylens.errors import ConfigError

__all__ = [
    "DIRECT_LABELS",
    "RULE_MODELS",
    "Credit",
    "credit_of_shares",
    "first_occurrence",
    "positional_shares",
    "rule_shares",
    "same_touch",
]

Credit = tuple[np.ndarray, np.ndarray]
"""(credited conversions, credited value), one entry per label."""

DIRECT_LABELS = frozenset({"Direct", "(Direct)"})
"""Touchpoint values that count as direct: the Direct channel, and ``(Direct)`` at the
campaign level (a direct touchpoint without a campaign)."""

POSITIONAL = {
    "position_based": (40.0, 20.0, 40.0),
    "j_shaped": (20.0, 20.0, 60.0),
    "inverse_j": (60.0, 20.0, 20.0),
}


def credit_of_shares(paths: PathTable, shares: np.ndarray) -> Credit:
    """Credited conversions and value per label, from one share per touchpoint."""
    row = paths.path_index
    size = len(paths.labels)
    conversions = np.bincount(paths.codes, weights=shares * paths.conversions[row], minlength=size)
    value = np.bincount(paths.codes, weights=shares * paths.value[row], minlength=size)
    return conversions, value


def positional_shares(paths: PathTable, first: float, middle: float, last: float) -> np.ndarray:
    """Shares from weights of the first, middle and last touchpoints, renormalised over the
    positions a path has: one touchpoint takes everything; two split ``first : last``; from
    three on the middle weight is split evenly among the middle touchpoints."""
    if min(first, middle, last) < 0 or first + last <= 0:
        raise ConfigError(
            "custom weights are (first, middle, last), none negative, first + last > 0",
            field="weights",
        )
    n = np.repeat(paths.lengths, paths.lengths).astype("float64")
    pos = paths.position
    is_first, is_last = pos == 0, pos == n - 1
    total = np.where(n == 2, first + last, first + middle + last)
    weight = np.where(
        n == 1,
        1.0,
        np.where(is_first, first, np.where(is_last, last, middle / np.maximum(n - 2, 1))),
    )
    return np.where(n == 1, 1.0, weight / total)


def first_occurrence(paths: PathTable) -> np.ndarray:
    """True for the first touchpoint of each distinct value within its path."""
    row = paths.path_index
    order = np.lexsort((paths.position, paths.codes, row))
    keys_row, keys_code = row[order], paths.codes[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (keys_row[1:] != keys_row[:-1]) | (keys_code[1:] != keys_code[:-1])
    out = np.zeros(len(order), dtype=bool)
    out[order] = new
    return out


def _last_non_direct(paths: PathTable) -> np.ndarray:
    direct = np.array([label in DIRECT_LABELS for label in paths.labels], dtype=bool)
    pos = paths.position
    candidate = np.where(direct[paths.codes], -1, pos)
    target = np.maximum.reduceat(candidate, paths.offsets[:-1]) if len(pos) else candidate
    last = paths.lengths - 1
    target = np.where(target < 0, last, target)
    shares: np.ndarray = (pos == np.repeat(target, paths.lengths)).astype("float64")
    return shares


def _shapley(paths: PathTable) -> np.ndarray:
    first = first_occurrence(paths)
    distinct = np.bincount(paths.path_index, weights=first, minlength=paths.rows)
    return first / np.repeat(distinct, paths.lengths)


def _linear(paths: PathTable) -> np.ndarray:
    shares: np.ndarray = 1.0 / np.repeat(paths.lengths, paths.lengths)
    return shares


def _first(paths: PathTable) -> np.ndarray:
    shares: np.ndarray = (paths.position == 0).astype("float64")
    return shares


def _last(paths: PathTable) -> np.ndarray:
    shares: np.ndarray = (paths.position == np.repeat(paths.lengths - 1, paths.lengths)).astype(
        "float64"
    )
    return shares


def _participation(paths: PathTable) -> np.ndarray:
    return first_occurrence(paths).astype("float64")


def _positional(paths: PathTable, weights: tuple[float, float, float]) -> np.ndarray:
    return positional_shares(paths, *weights)


RULE_MODELS: dict[str, Callable[[PathTable], np.ndarray]] = {
    "first_touch": _first,
    "last_touch": _last,
    "last_non_direct": _last_non_direct,
    "linear": _linear,
    "participation": _participation,
    "shapley": _shapley,
    **{name: functools.partial(_positional, weights=w) for name, w in POSITIONAL.items()},
}
"""Models that are one share per touchpoint (same touch, time decay, custom and Markov are
apart)."""


def rule_shares(paths: PathTable, model: str) -> np.ndarray:
    return RULE_MODELS[model](paths)


def same_touch(paths: PathTable) -> Credit:
    """All the credit to the conversion event's own value (its channel, source, campaign or
    event name)."""
    size = len(paths.labels)
    has = paths.same >= 0
    conversions = np.bincount(
        paths.same[has], weights=paths.conversions[has], minlength=size
    ).astype("float64")
    value = np.bincount(paths.same[has], weights=paths.value[has], minlength=size)
    return conversions, value
