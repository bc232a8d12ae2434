"""`nautilus_like.analytics` against ml4t-backtest 0.2.0's on random equity
series: every metric function and every `EquityCurve` statistic agree."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest

pytest.importorskip("ml4t.backtest")

from ml4t.backtest import analytics as theirs  # noqa: E402

from nautilus_like import analytics as ours  # noqa: E402

pytestmark = pytest.mark.parity


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def _series(rng: random.Random) -> list[float]:
    n = rng.choice([0, 1, 2, 3, 10, 60])
    v, out = rng.uniform(50, 200), []
    for _ in range(n):
        v *= 1 + rng.choice([0.0, rng.gauss(0, 0.02), abs(rng.gauss(0, 0.01))])
        out.append(round(v, 4))
    return out


@pytest.mark.parametrize("seed", range(200))
def test_metrics_and_equity_curve_match_ml4t(seed):
    rng = random.Random(seed)
    values = _series(rng)
    returns = [values[i + 1] / values[i] - 1 for i in range(len(values) - 1)]
    rf = rng.choice([0.0, 0.03])
    for name in ("sharpe_ratio", "sortino_ratio"):
        for annualize in (True, False):
            assert _same(getattr(ours, name)(returns, rf, annualize), getattr(theirs, name)(returns, rf, annualize))
    assert _same(ours.volatility(returns), theirs.volatility(returns))
    assert _same(ours.max_drawdown(values), theirs.max_drawdown(values))
    years = rng.choice([0.0, 0.5, 3.0])
    start, end = rng.uniform(-10, 100), rng.uniform(-10, 200)
    assert _same(ours.cagr(start, end, years), theirs.cagr(start, end, years))
    assert _same(ours.calmar_ratio(0.1, -0.2), theirs.calmar_ratio(0.1, -0.2))

    t0 = datetime(2024, 1, 1)
    step = rng.choice([timedelta(days=1), timedelta(hours=1), timedelta(0)])
    kwargs = {"initial_capital": rng.choice([None, 100.0]),
              "periods_per_year_override": rng.choice([None, 252.0, 365.0]),
              "observation_based": rng.random() < 0.3}
    a, b = ours.EquityCurve(**kwargs), theirs.EquityCurve(**kwargs)
    for i, v in enumerate(values):
        a.append(t0 + i * step, v)
        b.append(t0 + i * step, v)
    for stat in ("initial_value", "final_value", "total_return", "periods_per_year", "years", "max_dd", "cagr",
                 "volatility", "sharpe", "sortino"):
        assert _same(getattr(a, stat), getattr(b, stat)), stat
    assert _same(a.max_drawdown_info(), b.max_drawdown_info())
    assert list(a.returns) == pytest.approx(list(b.returns), rel=1e-12)
    assert list(a.drawdown_series()) == pytest.approx(list(b.drawdown_series()), rel=1e-12)
    assert a.to_dict().keys() == b.to_dict().keys()
