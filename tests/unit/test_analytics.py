"""Performance analytics, hand-computed: returns 100 -> 110 -> 99 -> 108.9."""

import math

import pytest

from nautilus_like.analytics import EquityCurve, cagr, calmar_ratio, max_drawdown, sharpe_ratio, sortino_ratio


def test_equity_curve_statistics():
    curve = EquityCurve(initial_capital=100.0, periods_per_year_override=252.0)
    for i, v in enumerate([110.0, 99.0, 108.9]):
        curve.append(i, v)
    # Returns from the initial capital: +10%, -10%, +10%.
    assert list(curve.returns) == pytest.approx([0.10, -0.10, 0.10])
    assert curve.total_return == pytest.approx(0.089)
    # Peak 110, trough 99: -10%; the peak is values[0], the trough values[1].
    assert curve.max_drawdown_info() == (pytest.approx(-0.10), 0, 1)
    mean, sd = 0.1 / 3, math.sqrt(((0.1 - 0.1 / 3) ** 2 * 2 + (-0.1 - 0.1 / 3) ** 2) / 2)
    assert curve.sharpe == pytest.approx(mean / sd * math.sqrt(252))
    # One losing period: no downside deviation, a gain -> infinite Sortino.
    assert curve.sortino == math.inf
    assert list(curve.drawdown_series()) == pytest.approx([0.0, -0.1, -0.01])


def test_metric_functions_edge_cases():
    assert sharpe_ratio([0.01]) == 0.0 and sharpe_ratio([0.01, 0.01]) == 0.0   # one return; no variation
    assert sortino_ratio([0.01, -0.02]) == 0.0   # one losing period and a net loss
    assert sortino_ratio([-0.01, -0.02]) == pytest.approx(-0.015 / math.sqrt(0.00005) * math.sqrt(252))
    assert max_drawdown([100.0]) == (0.0, 0, 0)
    assert cagr(100.0, 121.0, 2.0) == pytest.approx(0.10)
    assert cagr(100.0, -5.0, 1.0) == -1.0 and cagr(0.0, 5.0, 1.0) == 0.0
    assert calmar_ratio(0.2, -0.1) == pytest.approx(2.0) and calmar_ratio(0.1, 0.0) == math.inf


def test_equity_curve_takes_external_flows_out_of_returns_and_drawdowns():
    from datetime import datetime

    from nautilus_like.capital import CapitalChange

    # 10,000 -> 11,000 (+10%); a 1,000 deposit at day 2 lifts it to 12,000;
    # then 12,000 -> 10,800 (-10%). The deposit is no gain: total -1%.
    days = [datetime(2025, 1, d) for d in (2, 3, 6)]
    deposit = CapitalChange(days[1], "top-up", "delta", 1000.0, 1000.0, 11000.0, 12000.0)
    curve = EquityCurve(timestamps=days, values=[10000.0, 12000.0, 10800.0], initial_capital=10000.0,
                        periods_per_year_override=252.0, capital_changes=[deposit])
    assert curve.returns.tolist() == pytest.approx([0.0, 0.1, -0.1])
    assert curve.total_return == pytest.approx(-0.01)
    assert curve.performance_values.tolist() == pytest.approx([10000.0, 11000.0, 9900.0])
    assert curve.max_dd == pytest.approx(-0.1)   # from the 11,000 peak, not from 12,000
