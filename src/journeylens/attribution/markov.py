"""Markov-chain attribution with the removal effect, solved exactly.

States are the last ``order`` touchpoint values (fewer at the start of a path), plus
``(start)``, ``(conversion)`` and ``(null)``; transition probabilities are the observed
transition counts over all journeys (converting and not) divided by the counts out of each
state. The conversion probability from ``(start)`` is the absorption probability in
``(conversion)``: the solution of ``(I − Q) x = b`` (``Q`` the transitions among transient
states, ``b`` the probabilities of converting next), solved with a sparse LU factorisation
(or, for large chains, by iterating to machine precision; no simulation).

Removing a value *c* sends every state that contains *c* to ``(null)``; its **removal effect**
is ``1 − P(conversion without c) / P(conversion)``, in [0, 1]. Conversions are credited in
proportion to the removal effects. Value is credited the same way with value removal effects,
from the chain whose conversion transitions carry each state's mean conversion value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from journeylens.attribution.paths import PathTable
from journeylens.errors import ConfigError

__all__ = ["MarkovModel", "markov"]

MAX_ORDER = 3
DIRECT_SOLVE_STATES = 2_000
"""Up to this many states the system is solved with a sparse LU factorisation; above, by
iterating x ← b + Qx until the largest change is below ``TOLERANCE`` (relative): the same
solution to machine precision, much faster on the large, dense-ish chains of orders 2-3."""
TOLERANCE = 1e-13
MAX_ITERATIONS = 1_000_000


@dataclass
class MarkovModel:
    order: int
    conversion_probability: float
    removal_effects: np.ndarray
    """per label: share of conversions lost without it."""
    value_removal_effects: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    states: int


def _state_keys(paths: PathTable, order: int) -> np.ndarray:
    """An integer key per touchpoint: its value and the ``order − 1`` values before it in the
    path (0 where the path has none)."""
    base = len(paths.labels) + 1
    if base**order >= 2**62:
        raise ConfigError(
            f"too many values ({len(paths.labels)}) for a Markov chain of order {order}",
            field="order",
        )
    codes = paths.codes + 1
    pos = paths.position
    key = codes.copy()
    for back in range(1, order):
        shifted = np.zeros_like(codes)
        shifted[back:] = codes[:-back]
        key = key * base + np.where(pos >= back, shifted, 0)
    return key


def _absorption(
    matrix: sp.csr_matrix, exit_weights: np.ndarray, keep: np.ndarray, start: int
) -> float:
    """Probability mass from ``start`` that leaves through ``exit_weights``, with the states
    outside ``keep`` sent to null."""
    if not keep[start]:
        return 0.0
    index = np.flatnonzero(keep)
    sub = matrix[index][:, index].tocsr()
    b = exit_weights[index]
    if len(index) <= DIRECT_SOLVE_STATES:
        system = sp.identity(len(index), format="csc") - sub.tocsc()
        solution = np.atleast_1d(spsolve(system, b))
    else:  # x = b + Q x, the Neumann series, to machine precision (ρ(Q) < 1: absorbing chain)
        solution = b.copy()
        for _ in range(MAX_ITERATIONS):
            following = b + sub @ solution
            change = float(np.abs(following - solution).max())
            solution = following
            if change <= TOLERANCE * max(float(np.abs(solution).max()), 1e-300):
                break
        else:  # pragma: no cover - needs a chain that almost never ends
            raise ConfigError("the Markov chain did not converge", field="order")
    return float(solution[int(np.searchsorted(index, start))])


def markov(paths: PathTable, order: int = 1) -> MarkovModel:
    """Removal-effect attribution from a Markov chain of ``order`` 1 to 3 (see module)."""
    if not 1 <= order <= MAX_ORDER:
        raise ConfigError(f"the Markov order must be 1 to {MAX_ORDER}, got {order}", field="order")
    size = len(paths.labels)
    journeys = paths.conversions + paths.non_conversions
    total_conversions = float(paths.conversions.sum())
    total_value = float(paths.value.sum())
    if total_conversions <= 0 or len(paths.codes) == 0:
        zero = np.zeros(size)
        return MarkovModel(order, 0.0, zero, zero.copy(), zero.copy(), zero.copy(), 0)
    keys = _state_keys(paths, order)
    unique, state = np.unique(keys, return_inverse=True)
    n_states = len(unique)
    start = n_states
    row = paths.path_index
    weight = journeys[row]
    pos = paths.position
    first = pos == 0
    last = np.zeros(len(pos), dtype=bool)
    last[paths.offsets[1:] - 1] = True
    sources = np.concatenate([np.full(int(first.sum()), start), state[:-1][~first[1:]]])
    targets = np.concatenate([state[first], state[1:][~first[1:]]])
    weights = np.concatenate([weight[first], weight[1:][~first[1:]]])
    transient = n_states + 1
    counts = sp.coo_matrix((weights, (sources, targets)), shape=(transient, transient)).tocsr()
    ends = state[last]
    converted = np.bincount(ends, weights=paths.conversions, minlength=transient)
    valued = np.bincount(ends, weights=paths.value, minlength=transient)
    nulls = np.bincount(ends, weights=paths.non_conversions, minlength=transient)
    out = np.asarray(counts.sum(axis=1)).ravel() + converted + nulls
    out[out == 0] = 1.0
    matrix = sp.diags(1.0 / out) @ counts
    p_conv = converted / out
    mean_value = np.divide(valued, converted, out=np.zeros(transient), where=converted > 0)
    everything = np.ones(transient, dtype=bool)
    base = _absorption(matrix, p_conv, everything, start)
    base_value = _absorption(matrix, p_conv * mean_value, everything, start)
    # which labels each state contains
    digits = unique.copy()
    contains = np.zeros((size, transient), dtype=bool)
    for _ in range(order):
        code = digits % (size + 1)
        has = code > 0
        contains[code[has] - 1, np.flatnonzero(has)] = True
        digits //= size + 1
    removal = np.zeros(size)
    removal_value = np.zeros(size)
    for label in range(size):
        if not contains[label].any():
            continue
        keep = ~contains[label]
        without = _absorption(matrix, p_conv, keep, start)
        removal[label] = 1.0 - without / base if base > 0 else 0.0
        if base_value > 0:
            without_value = _absorption(matrix, p_conv * mean_value, keep, start)
            removal_value[label] = 1.0 - without_value / base_value
    removal = np.clip(removal, 0.0, 1.0)
    removal_value = np.clip(removal_value, 0.0, 1.0)
    conversions = removal / removal.sum() * total_conversions if removal.sum() > 0 else removal
    value = (
        removal_value / removal_value.sum() * total_value
        if removal_value.sum() > 0
        else removal_value
    )
    return MarkovModel(order, base, removal, removal_value, conversions, value, n_states)
