"""`calculate()` of every native cost model against ml4t-backtest 0.2.0's on
random inputs: the same fee or slippage, or the same exception type."""

from __future__ import annotations

import math
import random

import pytest

pytest.importorskip("ml4t.backtest")

import ml4t.backtest.models as ml4t_models  # noqa: E402

import nautilus_like.models as nl_models  # noqa: E402

pytestmark = pytest.mark.parity

TIERS = [(1000.0, 0.002), (10000.0, 0.001), (float("inf"), 0.0005)]
COMMISSIONS = [("NoCommission", ()), ("PercentageCommission", (0.001,)), ("PerShareCommission", (0.005, 1.0)),
               ("CombinedCommission", (0.001, 2.0)), ("PerOrderCommission", (0.01, 0.001, 1.0, 5.0)),
               ("TieredCommission", (TIERS,))]
SLIPPAGES = [("NoSlippage", ()), ("PercentageSlippage", (0.001,)), ("FixedSlippage", (0.05,)),
             ("SpreadSlippage", (0.1,)), ("VolumeShareSlippage", (0.1,)),
             ("CumulativeVolumeShareSlippage", (0.1,))]


def _outcome(call):
    try:
        return call()
    except Exception as exc:  # the same refusal counts as agreement
        return type(exc).__name__


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) or (math.isinf(a) and a == b)
    return a == b


@pytest.mark.parametrize("name, args", COMMISSIONS + SLIPPAGES, ids=[n for n, _ in COMMISSIONS + SLIPPAGES])
def test_calculate_matches_ml4t(name, args):
    ours, theirs = getattr(nl_models, name)(*args), getattr(ml4t_models, name)(*args)
    rng = random.Random(name)
    for _ in range(300):
        q, p = rng.choice([0, 1, 2.5, 10, -10, 100, 1000]), rng.uniform(0.5, 500.0)
        if name.endswith("Commission"):
            got, want = _outcome(lambda: ours.calculate("A", q, p)), _outcome(lambda: theirs.calculate("A", q, p))
        else:
            v = rng.choice([None, 0.0, 1000.0, 1e6])
            got = _outcome(lambda: ours.calculate("A", q, p, v))
            want = _outcome(lambda: theirs.calculate("A", q, p, v))
        assert _same(got, want), (name, q, p, got, want)
