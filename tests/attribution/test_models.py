"""Every model on small hand-checked paths, Shapley against its definition, Markov on a textbook
example, and invariants on random path tables (Hypothesis)."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylens.attribution.api import attribute
from journeylens.attribution.markov import markov
from journeylens.attribution.paths import PathTable
from journeylens.errors import ConfigError

# one-touch, two-touch and longer paths; a path ending in Direct; a non-converting path
PATHS = PathTable.from_lists(
    [["A"], ["A", "B"], ["A", "B", "C", "D"], ["B", "Direct"], ["Direct"], ["C"]],
    conversions=[1, 1, 2, 1, 1, 0],
    value=[10, 20, 40, 5, 1, 0],
    non_conversions=[0, 0, 0, 0, 0, 3],
    same=["Direct", "Store", "Store", "Direct", "Direct", None],
)

EXPECTED = {
    "first_touch": {"A": 4, "B": 1, "Direct": 1},
    "last_touch": {"A": 1, "B": 1, "D": 2, "Direct": 2},
    "last_non_direct": {"A": 1, "B": 2, "D": 2, "Direct": 1},
    "linear": {"A": 2, "B": 1.5, "C": 0.5, "D": 0.5, "Direct": 1.5},
    "position_based": {"A": 2.3, "B": 1.2, "C": 0.2, "D": 0.8, "Direct": 1.5},
    "j_shaped": {"A": 1.65, "B": 1.2, "C": 0.2, "D": 1.2, "Direct": 1.75},
    "inverse_j": {"A": 2.95, "B": 1.2, "C": 0.2, "D": 0.4, "Direct": 1.25},
    "participation": {"A": 4, "B": 4, "C": 2, "D": 2, "Direct": 2},
    "same_touch": {"Direct": 3, "Store": 3},
    # each conversion split evenly among the path's distinct values
    "shapley": {"A": 2, "B": 1.5, "C": 0.5, "D": 0.5, "Direct": 1.5},
}
SHARING = [m for m in EXPECTED if m != "participation"]


def credit(paths: PathTable, model: str, **kw: object) -> tuple[dict[str, float], dict[str, float]]:
    result, _ = attribute(paths, [model], **kw)  # type: ignore[arg-type]
    conv, value = result[model]
    return (
        {paths.labels[i]: float(c) for i, c in enumerate(conv) if c},
        {paths.labels[i]: float(v) for i, v in enumerate(value) if v},
    )


@pytest.mark.parametrize("model", list(EXPECTED))
def test_rule_models_by_hand(model: str) -> None:
    conversions, _ = credit(PATHS, model)
    assert conversions == pytest.approx(EXPECTED[model])


def test_linear_value_by_hand() -> None:
    _, value = credit(PATHS, "linear")
    # P1 A 10; P2 A 10 B 10; P3 10 each; P4 B 2.5 Direct 2.5; P5 Direct 1
    assert value == pytest.approx({"A": 30, "B": 22.5, "C": 10, "D": 10, "Direct": 3.5})


def test_custom_weights_renormalised() -> None:
    conversions, _ = credit(PATHS, "custom", weights=(30, 40, 30))
    # P1 A 1; P2 A .5 B .5; P3 (2 conversions) A .6 B .4 C .4 D .6; P4 B .5 Direct .5; P5 1
    assert conversions == pytest.approx({"A": 2.1, "B": 1.4, "C": 0.4, "D": 0.6, "Direct": 1.5})
    with pytest.raises(ConfigError):
        credit(PATHS, "custom", weights=(0, 1, 0))


def test_two_touch_positional_models_split_first_and_last() -> None:
    two = PathTable.from_lists([["A", "B"]], [1], [1], [0])
    assert credit(two, "position_based")[0] == pytest.approx({"A": 0.5, "B": 0.5})
    assert credit(two, "j_shaped")[0] == pytest.approx({"A": 0.25, "B": 0.75})
    assert credit(two, "inverse_j")[0] == pytest.approx({"A": 0.75, "B": 0.25})
    one = PathTable.from_lists([["A"]], [3], [3], [0])
    for model in SHARING:
        if model != "same_touch":
            assert credit(one, model)[0] == pytest.approx({"A": 3})


def test_shapley_small_example_by_hand() -> None:
    # {A,B}: 2 conversions; {A}: 1; {B,C}: 3 (B touched twice)
    paths = PathTable.from_lists(
        [["A", "B"], ["A"], ["B", "C", "B"]], [2, 1, 3], [2, 1, 3], [0] * 3
    )
    # v(S) = conversions of journeys whose channel set is inside S
    # phi_A = 2/2 + 1 = 2; phi_B = 2/2 + 3/2 = 2.5; phi_C = 3/2 = 1.5
    assert credit(paths, "shapley")[0] == pytest.approx({"A": 2, "B": 2.5, "C": 1.5})
    assert credit(paths, "shapley")[0] == pytest.approx(brute_force_shapley(paths))


def brute_force_shapley(paths: PathTable) -> dict[str, float]:
    """The Shapley value from its definition: average marginal contribution over orderings."""
    sets = [frozenset(paths.path(i)) for i in range(paths.rows)]
    players = sorted(set().union(*sets))

    def v(coalition: frozenset[str]) -> float:
        return sum(c for s, c in zip(sets, paths.conversions, strict=True) if s <= coalition)

    totals: dict[str, float] = defaultdict(float)
    orders = list(itertools.permutations(players))
    for order in orders:
        seen: frozenset[str] = frozenset()
        for player in order:
            totals[player] += v(seen | {player}) - v(seen)
            seen = seen | {player}
    return {p: t / len(orders) for p, t in totals.items() if t}


def test_markov_textbook_example() -> None:
    # C1 > C2 > C3 converts; C1 ends without; C2 > C3 ends without (Anderl et al.'s example as
    # popularised by S. Bryl): P(conversion) = 1/3; removal effects C1 0.5, C2 1, C3 1;
    # one conversion credited 0.2 / 0.4 / 0.4
    paths = PathTable.from_lists(
        [["C1", "C2", "C3"], ["C1"], ["C2", "C3"]], [1, 0, 0], [1, 0, 0], [0, 1, 1]
    )
    model = markov(paths, 1)
    labels = paths.labels
    assert model.conversion_probability == pytest.approx(1 / 3)
    assert dict(zip(labels, model.removal_effects, strict=True)) == pytest.approx(
        {"C1": 0.5, "C2": 1.0, "C3": 1.0}
    )
    assert dict(zip(labels, model.conversions, strict=True)) == pytest.approx(
        {"C1": 0.2, "C2": 0.4, "C3": 0.4}
    )


def test_markov_repeats_collapsed_or_kept() -> None:
    # A > A > B converts, B ends without. Collapsed: A > B. The self-loop of "keep" changes
    # nothing in absorption probabilities from A, so credit is the same here; but the
    # second-order chain sees (A, A) as its own state.
    kept = PathTable.from_lists([["A", "A", "B"], ["B"]], [1, 0], [1, 0], [0, 1])
    collapsed = PathTable.from_lists([["A", "B"], ["B"]], [1, 0], [1, 0], [0, 1])
    first = markov(kept, 1), markov(collapsed, 1)
    assert first[0].conversions == pytest.approx(first[1].conversions)
    assert markov(kept, 2).states == 4 and markov(collapsed, 2).states == 3
    # P(conv) = 1/2 (start → A or B; A → B; B → conv 1/2), without A: 1/2 · 1/2 = 1/4
    assert first[1].conversion_probability == pytest.approx(0.5)
    assert dict(zip(collapsed.labels, first[1].removal_effects, strict=True)) == pytest.approx(
        {"A": 0.5, "B": 1.0}
    )


def test_markov_orders_validated() -> None:
    with pytest.raises(ConfigError):
        markov(PATHS, 4)


# -- invariants on random path tables ------------------------------------------------------

LABELS = ["a", "b", "c", "Direct", "e"]
path_rows = st.lists(
    st.tuples(
        st.lists(st.sampled_from(LABELS), min_size=1, max_size=6),
        st.integers(0, 4),
        st.integers(0, 4),
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=12,
).filter(lambda rows: sum(r[1] for r in rows) > 0)


def table_of(rows: list[tuple[list[str], int, int, int]], rename: dict[str, str] | None = None):
    rename = rename or {}
    return PathTable.from_lists(
        [[rename.get(x, x) for x in r[0]] for r in rows],
        [float(r[1]) for r in rows],
        [float(r[3] * r[1]) for r in rows],
        [float(r[2]) for r in rows],
        same=[rename.get(r[0][-1], r[0][-1]) if r[1] else None for r in rows],
    )


MODELS = [*SHARING, "markov_1", "markov_2", "markov_3"]


@settings(max_examples=60, deadline=None)
@given(path_rows)
def test_credit_sums_to_conversions_and_value(rows: list[tuple[list[str], int, int, int]]) -> None:
    paths = table_of(rows)
    result, removal = attribute(paths, [*MODELS, "participation"])
    total_c, total_v = paths.conversions.sum(), paths.value.sum()
    for model in MODELS:
        conv, value = result[model]
        assert conv.sum() == pytest.approx(total_c), model
        if total_v > 0 or not model.startswith("markov"):
            assert value.sum() == pytest.approx(total_v), model
        assert (conv >= -1e-9).all()
    for effects in removal.values():
        assert all(0.0 <= e <= 1.0 for e in effects.values())
    # participation: every distinct value of a converting path gets its conversions
    expected = sum(len(set(r[0])) * r[1] for r in rows)
    assert result["participation"][0].sum() == pytest.approx(expected)


@settings(max_examples=40, deadline=None)
@given(path_rows, st.permutations(["v", "w", "x", "y", "z"]))
def test_models_invariant_to_renaming(
    rows: list[tuple[list[str], int, int, int]], names: list[str]
) -> None:
    # "Direct" keeps its name: last non-direct depends on it by definition
    rename = dict(zip(["a", "b", "c", "e"], names, strict=False))
    before, after = table_of(rows), table_of(rows, rename)
    models = [*MODELS, "participation"]
    first, _ = attribute(before, models)
    second, _ = attribute(after, models)
    for model in models:
        for i, label in enumerate(before.labels):
            j = after.labels.index(rename.get(label, label))
            assert first[model][0][i] == pytest.approx(second[model][0][j]), model
            assert first[model][1][i] == pytest.approx(second[model][1][j]), model


def reference_linear(rows: list[tuple[list[str], int, int, int]]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for path, conv, _, _ in rows:
        for x in path:
            out[x] += conv / len(path)
    return {k: v for k, v in out.items() if v}


@settings(max_examples=40, deadline=None)
@given(path_rows)
def test_linear_and_shapley_match_short_references(rows: list[tuple[list[str], int, int, int]]):
    paths = table_of(rows)
    assert credit(paths, "linear")[0] == pytest.approx(reference_linear(rows))
    small = [r for r in rows if len(set(r[0])) <= 4]
    if small and sum(r[1] for r in small):
        paths = table_of(small)
        assert credit(paths, "shapley")[0] == pytest.approx(brute_force_shapley(paths))


def test_no_conversions_give_no_credit() -> None:
    paths = PathTable.from_lists([["a"]], [0], [0], [5])
    result, _ = attribute(paths, ["linear", "markov"])
    assert not result["linear"][0].any() and not result["markov"][0].any()
    assert math.isclose(float(np.sum(result["markov"][1])), 0.0)


def test_iterative_solve_agrees_with_sparse_lu(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    paths = PathTable.from_lists(
        [[str(x) for x in rng.integers(0, 6, rng.integers(1, 6))] for _ in range(300)],
        rng.integers(0, 3, 300).tolist(),
        rng.integers(0, 100, 300).tolist(),
        rng.integers(0, 5, 300).tolist(),
    )
    exact = markov(paths, 2)
    import journeylens.attribution.markov as module

    monkeypatch.setattr(module, "DIRECT_SOLVE_STATES", 1)
    iterated = markov(paths, 2)
    assert iterated.conversion_probability == pytest.approx(exact.conversion_probability, rel=1e-12)
    assert iterated.removal_effects == pytest.approx(exact.removal_effects, abs=1e-12)
    assert iterated.value == pytest.approx(exact.value, rel=1e-9)
