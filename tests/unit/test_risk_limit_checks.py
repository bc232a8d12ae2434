"""`limit.check(state)`: ml4t-backtest's portfolio limits judging a
`PortfolioState` on request, with the engine's code
(crates/engine/src/risk/limit_checks.rs). Expected values by hand."""

from __future__ import annotations

import pytest

from nautilus_like.portfolio_limits import limit_specs
from nautilus_like.risk.portfolio.limits import (
    BetaLimit,
    CVaRLimit,
    DailyLossLimit,
    FactorExposureLimit,
    GrossExposureLimit,
    LimitResult,
    MaxDrawdownLimit,
    MaxExposureLimit,
    MaxPositionsLimit,
    NetExposureLimit,
    PortfolioState,
    SectorExposureLimit,
    VaRLimit,
)


def state(positions=None, equity=100_000.0, drawdown=0.0, daily_pnl=0.0, context=None):
    positions = positions or {}
    return PortfolioState(
        equity=equity, initial_equity=100_000.0, high_water_mark=100_000.0, current_drawdown=drawdown,
        num_positions=len(positions), positions=positions, daily_pnl=daily_pnl,
        gross_exposure=sum(abs(v) for v in positions.values()), net_exposure=sum(positions.values()),
        context=context or {})


def test_limit_result_constructors():
    assert LimitResult.ok() == LimitResult(False, "none", "", 0.0)
    assert LimitResult.reduce("why", 0.5) == LimitResult(True, "reduce", "why", 0.5)
    assert LimitResult.liquidate("why").action == "liquidate"


def test_drawdown_breach_warning_and_reduction():
    # 21% down against 20%: the limit's action, ml4t's reason.
    assert MaxDrawdownLimit(0.20).check(state(drawdown=0.21)) == LimitResult(
        True, "liquidate", "drawdown 21.0% >= 20.0%")
    # 16% against a 15% warning threshold: a warning.
    assert MaxDrawdownLimit(0.20, warn_threshold=0.15).check(state(drawdown=0.16)) == LimitResult.warn(
        "drawdown 16.0% >= warn threshold 15.0%")
    # "reduce" carries its fraction.
    assert MaxDrawdownLimit(0.20, action="reduce", reduction_pct=0.5).check(state(drawdown=0.25)) == LimitResult.reduce(
        "drawdown 25.0% >= 20.0%", 0.5)
    assert not MaxDrawdownLimit(0.20).check(state(drawdown=0.19)).breached


def test_count_loss_and_exposure_limits():
    # 3 positions against at most 3: a fourth may not open.
    three = state({"A": 10_000.0, "B": 10_000.0, "C": 10_000.0})
    assert MaxPositionsLimit(3).check(three).reason == "positions 3 >= max 3"
    # Lost 3,000 of 100,000 equity (3%) against 2%.
    assert DailyLossLimit(0.02).check(state(daily_pnl=-3_000.0)).reason == "daily loss 3.0% > max 2.0%"
    # 70k + 50k on 100k: gross 120% > 100%; net 120% > 100%; AAPL 70% > 60%.
    book = state({"AAPL": 70_000.0, "MSFT": 50_000.0})
    assert GrossExposureLimit(1.0).check(book) == LimitResult(True, "halt", "gross exposure 120.0% > max 100.0%")
    assert NetExposureLimit(1.0).check(book).reason == "net exposure 120.0% > max 100.0%"
    assert MaxExposureLimit(0.60).check(book).reason == "AAPL exposure 70.0% > max 60.0%"
    # Zero equity: not judged.
    assert not GrossExposureLimit(1.0).check(state({"AAPL": 1.0}, equity=0.0)).breached


def test_var_and_cvar_from_the_context_returns():
    # Five returns; 20th percentile between -5% and -3% at 0.8 -> -3.4%: VaR 3.4% > 3%.
    returns = [0.01, -0.05, 0.03, -0.01, -0.03]
    s = state(context={"historical_returns": returns})
    assert VaRLimit(threshold=0.03, confidence_level=0.80, lookback_days=5).check(s).reason == (
        "VaR 3.40% > threshold 3.00% at 80% confidence")
    # CVaR: the returns at or below -3.4% (only -5%) -> 5% > 4.5%.
    assert CVaRLimit(threshold=0.045, confidence_level=0.80, lookback_days=5, action="halt").check(s) == LimitResult(
        True, "halt", "CVaR 5.00% > threshold 4.50% at 80% confidence")
    # No returns, or fewer than the lookback: not judged.
    assert not VaRLimit().check(state()).breached
    assert not VaRLimit(lookback_days=20).check(s).breached


def test_beta_sector_and_factor_limits_read_the_context():
    book = {"AAPL": 50_000.0, "JNJ": 30_000.0}
    # Betas 1.5 and (none) 1.0: 0.5 x 1.5 + 0.3 x 1.0 = 1.05 > 1.0.
    s = state(book, context={"asset_betas": {"AAPL": 1.5}, "asset_sectors": {"AAPL": "Tech", "JNJ": "Tech"},
                             "momentum": {"AAPL": 0.8}})
    assert BetaLimit(max_beta=1.0).check(s).reason == "portfolio beta 1.05 > max 1.00"
    # Both in Tech: 80% > 70%.
    assert SectorExposureLimit(0.70).check(s).reason == "Tech exposure 80.0% > max 70.0%"
    # Loadings 0.8 and (none) 0: 0.5 x 0.8 = 0.40 > 0.30.
    assert FactorExposureLimit("momentum", max_exposure=0.3, factor_key="momentum").check(s).reason == (
        "momentum exposure 0.40 > max 0.30")
    # Without their data they do not judge.
    assert not BetaLimit(max_beta=0.0).check(state(book)).breached


def test_analytic_limits_are_not_enforced_by_the_engine():
    with pytest.raises(TypeError, match="VaRLimit is judged on request with check"):
        limit_specs([VaRLimit()])
    with pytest.raises(ValueError, match="CVaRLimit does not support action='reduce'"):
        CVaRLimit(action="reduce")


def test_reduce_is_refused_by_limits_that_cannot_reduce():
    for limit in (DailyLossLimit, VaRLimit, BetaLimit, MaxPositionsLimit):
        with pytest.raises(ValueError, match=f"{limit.__name__} does not support action='reduce'"):
            limit(action="reduce")


def test_risk_manager_tracks_the_high_water_mark_and_halts():
    from datetime import datetime

    from nautilus_like.risk.portfolio.manager import RiskManager

    manager = RiskManager(limits=[MaxDrawdownLimit(0.20, action="halt", warn_threshold=0.10)])
    manager.initialize(initial_equity=100_000.0, timestamp=datetime(2024, 1, 1))
    # Up to 102,000: the high-water mark; nothing breached.
    assert manager.update(equity=102_000.0, positions={"AAPL": 50_000.0}) == []
    # 89,000 is 12.7% below 102,000: a warning, still open.
    results = manager.update(equity=89_000.0, positions={"AAPL": 45_000.0})
    assert [r.action for r in results] == ["warn"] and manager.can_open_position()
    assert manager.warnings == ["drawdown 12.7% >= warn threshold 10.0%"]
    # 80,000 is 21.6% down: halted until reset.
    manager.update(equity=80_000.0, positions={"AAPL": 40_000.0})
    assert manager.is_halted and manager.halt_reason == "drawdown 21.6% >= 20.0%"
    assert manager.current_drawdown == pytest.approx(22_000.0 / 102_000.0)
    manager.reset_halt()
    assert manager.can_open_position()
    # A reduction needs a broker that can reduce.
    reducing = RiskManager(limits=[MaxDrawdownLimit(0.10, action="reduce", reduction_pct=0.5)])
    reducing.initialize(initial_equity=100.0)
    with pytest.raises(ValueError, match="broker is required"):
        reducing.update(equity=80.0, positions={"A": 80.0})
    assert reducing.current_drawdown == 0.0
