"""Markov attribution against the ``channelattribution`` package (GPL: a test dependency only)
on its bundled example data set. Its Markov model is Monte Carlo and collapses consecutive
repeated channels, so paths are collapsed here too and the comparison allows its simulation
error."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from journeylens.attribution.markov import markov
from journeylens.attribution.paths import PathTable

ca = pytest.importorskip("ChannelAttribution")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    import cypack

    path = Path(os.path.dirname(cypack.__file__)) / "data" / "Data.csv"
    return pd.read_csv(path, sep=";")


def _collapsed(frame: pd.DataFrame) -> PathTable:
    paths = []
    for text in frame["path"]:
        steps = [s.strip() for s in text.split(">")]
        paths.append([s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s])
    return PathTable.from_lists(
        paths,
        frame["total_conversions"].astype(float).tolist(),
        frame["total_conversion_value"].astype(float).tolist(),
        frame["total_null"].astype(float).tolist(),
    )


@pytest.mark.parametrize("order", [1, 2])
def test_markov_agrees_with_channelattribution(data: pd.DataFrame, order: int) -> None:
    theirs = ca.markov_model(
        data,
        "path",
        "total_conversions",
        var_value="total_conversion_value",
        var_null="total_null",
        order=order,
        out_more=True,
        verbose=False,
        flg_pro=False,
        seed=1,
    )
    result = theirs["result"].set_index("channel_name")
    effects = theirs["removal_effects"].set_index("channel_name")["removal_effects_conversion"]
    table = _collapsed(data)
    ours = markov(table, order)
    total = float(table.conversions.sum())
    assert float(ours.conversions.sum()) == pytest.approx(total)
    for i, label in enumerate(table.labels):
        their_conv = float(result.loc[label, "total_conversions"])
        # channels that carry at least 5 % of the credit: within 5 % of theirs (their
        # simulation's relative error on small channels is much larger)
        if their_conv > 0.05 * total:
            assert ours.conversions[i] == pytest.approx(their_conv, rel=0.05), label
        if order == 1:
            assert ours.removal_effects[i] == pytest.approx(float(effects[label]), abs=0.02)
    big = np.array(
        [float(result.loc[lab, "total_conversions"]) > 0.05 * total for lab in table.labels]
    )
    assert big.sum() >= 5
