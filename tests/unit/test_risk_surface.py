"""ml4t-backtest's module paths for rules, limits and execution models, and
the direct calls its users make on them (`rule.evaluate(state)`,
`model.calculate(...)`), answered by the engine's own code. Every expected
value is worked out by hand in the comment beside it."""

from __future__ import annotations


import pytest

from nautilus_like.config import TrailStopTiming
from nautilus_like.execution.impact import LinearImpact, NoImpact, PowerLawImpact, SquareRootImpact
from nautilus_like.execution.limits import AssetExecutionLimits, NoLimits, VolumeParticipationLimit
from nautilus_like.risk.position import protocol
from nautilus_like.risk.position.composite import AllOf, RuleChain
from nautilus_like.risk.position.dynamic import ScaledExit, TrailingStop, VolatilityStop
from nautilus_like.risk.position.signal import SignalExit
from nautilus_like.risk.position.static import StopLoss, TakeProfit, TimeExit
from nautilus_like.risk.types import ActionType, PositionAction, PositionState
from nautilus_like.types import StopFillMode, StopLevelBasis


def state(side="long", entry=100.0, close=100.0, o=None, h=None, lo=None, bars=0, hwm=None, lwm=None, context=None):
    sign = 1 if side == "long" else -1
    return PositionState(
        asset="AAPL", side=side, entry_price=entry, current_price=close, quantity=10, initial_quantity=10,
        unrealized_pnl=sign * (close - entry) * 10, unrealized_return=sign * (close - entry) / entry,
        bars_held=bars, high_water_mark=hwm if hwm is not None else max(entry, close),
        low_water_mark=lwm if lwm is not None else min(entry, close), bar_open=o, bar_high=h, bar_low=lo,
        context=context or {})


def test_old_import_paths_still_work():
    import nautilus_like.execution as execution
    import nautilus_like.portfolio_limits as portfolio_limits
    import nautilus_like.rebalance as rebalance
    import nautilus_like.risk as risk
    from nautilus_like.execution.rebalancer import TargetWeightExecutor
    from nautilus_like.risk.portfolio.limits import MaxDrawdownLimit

    assert risk.StopLoss is StopLoss and risk.RuleChain is RuleChain
    assert execution.VolumeParticipationLimit is VolumeParticipationLimit
    assert portfolio_limits.MaxDrawdownLimit is MaxDrawdownLimit
    assert rebalance.TargetWeightExecutor is TargetWeightExecutor


def test_stop_loss_fills_at_its_level_inside_the_range_and_at_the_open_through_a_gap():
    # Entry 100, 5% stop = 95. Bar 97/98/94/96: the low crossed 95 -> fill at 95.
    a = StopLoss(0.05).evaluate(state(close=96.0, o=97.0, h=98.0, lo=94.0))
    assert (a.action, a.fill_price, a.reason) == (ActionType.EXIT_FULL, 95.0, "stop_loss_5.0%")
    # The bar opened at 93, below 95 -> fill at the open.
    assert StopLoss(0.05).evaluate(state(close=96.0, o=93.0, h=97.0, lo=92.0)).fill_price == 93.0
    # Low 95.5 stays above 95 -> hold.
    assert StopLoss(0.05).evaluate(state(close=96.0, o=97.0, h=98.0, lo=95.5)).action is ActionType.HOLD


def test_stop_fill_mode_and_level_basis_come_from_the_state_context():
    bar = dict(close=96.0, o=97.0, h=98.0, lo=94.0)
    # BAR_EXTREME: the low, 94.
    assert StopLoss(0.05).evaluate(state(**bar, context={"stop_fill_mode": StopFillMode.BAR_EXTREME})).fill_price == 94.0
    # NEXT_BAR_OPEN: deferred, no price.
    a = StopLoss(0.05).evaluate(state(**bar, context={"stop_fill_mode": StopFillMode.NEXT_BAR_OPEN}))
    assert (a.action, a.fill_price, a.defer_fill) == (ActionType.EXIT_FULL, None, True)
    # Levels from a signal price of 102: stop at 96.9, the low 94 crossed it.
    a = StopLoss(0.05).evaluate(state(**bar, context={"stop_level_basis": StopLevelBasis.SIGNAL_PRICE,
                                                       "signal_price": 102.0}))
    assert a.fill_price == pytest.approx(96.9)


def test_take_profit_and_time_exit_of_a_short():
    # Short entered at 100, 10% target = 90; the low touched 89 -> fill at 90.
    a = TakeProfit(0.10).evaluate(state(side="short", close=91.0, o=92.0, h=93.0, lo=89.0))
    assert (a.action, a.fill_price, a.reason) == (ActionType.EXIT_FULL, 90.0, "take_profit_10.0%")
    # Held 5 bars against a 5-bar limit: exit at the pass's price (no fill price).
    a = TimeExit(5).evaluate(state(bars=5))
    assert (a.action, a.fill_price) == (ActionType.EXIT_FULL, None)
    assert TimeExit(5).evaluate(state(bars=4)).action is ActionType.HOLD


def test_trailing_stop_lagged_and_intrabar():
    # Water mark 110, 5% trail = 104.5; this bar 106/112/104/108.
    bar = dict(close=108.0, o=106.0, h=112.0, lo=104.0, hwm=110.0)
    a = TrailingStop(0.05).evaluate(state(**bar))
    assert (a.action, a.fill_price) == (ActionType.EXIT_FULL, pytest.approx(104.5))
    # INTRABAR: the mark becomes 112, trail 106.4; the low 104 crossed it; open 106 < 106.4 -> the open.
    a = TrailingStop(0.05).evaluate(state(**bar, context={"trail_stop_timing": TrailStopTiming.INTRABAR}))
    assert a.fill_price == 106.0


def test_rule_chain_takes_the_first_exit_and_all_of_needs_every_rule():
    bar = dict(close=96.0, o=97.0, h=98.0, lo=94.0, bars=3)
    # StopLoss 5% exits (95); TimeExit(3) would too, but comes second.
    assert RuleChain([StopLoss(0.05), TimeExit(3)]).evaluate(state(**bar)).reason == "stop_loss_5.0%"
    assert RuleChain([TimeExit(3), StopLoss(0.05)]).evaluate(state(**bar)).reason == "time_exit_3bars"
    # AllOf: both exit -> one exit at the pass's price with the reasons joined.
    a = AllOf([StopLoss(0.05), TimeExit(3)]).evaluate(state(**bar))
    assert (a.action, a.fill_price, a.reason) == (ActionType.EXIT_FULL, None, "stop_loss_5.0% AND time_exit_3bars")
    assert AllOf([StopLoss(0.05), TimeExit(4)]).evaluate(state(**bar)).action is ActionType.HOLD


def test_a_python_rule_inside_a_chain_sees_the_callers_state():
    seen = []

    class Above(protocol.PositionRule):
        def evaluate(self, s):
            seen.append(s)
            return PositionAction.exit_partial(0.5, "above_105") if s.current_price > 105 else PositionAction.hold()

    s = state(close=106.0)
    a = RuleChain([StopLoss(0.05), Above()]).evaluate(s)
    assert (a.action, a.pct, a.reason) == (ActionType.EXIT_PARTIAL, 0.5, "above_105")
    assert seen == [s] and seen[0] is s
    assert isinstance(Above(), protocol.PositionRule)


def test_a_python_rule_that_raises_raises_to_the_caller():
    class Broken:
        def evaluate(self, s):
            raise KeyError("no such signal")

    with pytest.raises(KeyError, match="no such signal"):
        RuleChain([Broken()]).evaluate(state())


def test_scaled_exit_remembers_its_targets_until_reset():
    rule = ScaledExit([(0.05, 0.25), (0.10, 0.5)])
    # Return 6%: the 5% target takes 25%.
    a = rule.evaluate(state(close=106.0))
    assert (a.action, a.pct, a.reason) == (ActionType.EXIT_PARTIAL, 0.25, "scale_out_5%_25%")
    # Same bar again: 5% was taken, 10% not reached -> hold.
    assert rule.evaluate(state(close=106.0)).action is ActionType.HOLD
    rule.reset()
    assert rule.evaluate(state(close=106.0)).pct == 0.25


def test_context_values_drive_the_volatility_stop_and_signal_exit():
    # Entry 100, ATR 5, 2x -> stop 90; close 89 -> exit at 90.
    a = VolatilityStop(2.0).evaluate(state(close=89.0, context={"atr": 5.0}))
    assert (a.fill_price, a.reason) == (90.0, "volatility_stop_2.0x_atr")
    # No ATR -> hold.
    assert VolatilityStop(2.0).evaluate(state(close=89.0)).action is ActionType.HOLD
    # A long exits when the signal falls below -0.3.
    assert SignalExit(threshold=0.3).evaluate(state(context={"exit_signal": -0.5})).reason == "signal_exit_-0.50"
    assert SignalExit(threshold=0.3).evaluate(state(context={"exit_signal": -0.2})).action is ActionType.HOLD


def test_impact_models_calculate_the_engines_price_move():
    # Linear: 0.1 x (1000 / 10000) x 100 = 1.0, against the order.
    assert LinearImpact().calculate(1000.0, 100.0, 10_000.0, is_buy=True) == pytest.approx(1.0)
    assert LinearImpact().calculate(1000.0, 100.0, 10_000.0, is_buy=False) == pytest.approx(-1.0)
    # Square root: 0.5 x 0.02 x sqrt(2500 / 10000) x 100 = 0.5.
    assert SquareRootImpact().calculate(2500.0, 100.0, 10_000.0, True) == pytest.approx(0.5)
    # Power law without volume: the minimum, signed.
    assert PowerLawImpact(min_impact=0.02).calculate(100.0, 50.0, None, False) == -0.02
    assert NoImpact().calculate(1e6, 100.0, 1.0, True) == 0.0
    assert LinearImpact().calculate(1000.0, 100.0, None, True) == 0.0


def test_volume_limits_calculate_what_one_bar_fills():
    # 10% of 10,000 = 1,000 of an order for 2,500; 1,500 wait.
    r = VolumeParticipationLimit(0.10).calculate(2500.0, 10_000.0, 50.0)
    assert (r.fillable_quantity, r.remaining_quantity, r.participation_rate, r.is_partial) == (1000.0, 1500.0, 0.1, True)
    # Below min_volume: nothing.
    assert VolumeParticipationLimit(0.10, min_volume=500.0).calculate(10.0, 400.0, 50.0).fillable_quantity == 0.0
    # No volume reported: everything.
    assert VolumeParticipationLimit(0.10).calculate(2500.0, None, 50.0).fillable_quantity == 2500.0
    # NoLimits: everything, participation 1000 / 10000.
    r = NoLimits().calculate(1000.0, 10_000.0, 100.0)
    assert (r.fillable_quantity, r.participation_rate, r.is_full) == (1000.0, 0.1, True)
    routed = AssetExecutionLimits({"AAPL": VolumeParticipationLimit(0.05)}, default=NoLimits())
    assert routed.for_asset("AAPL").max_participation == 0.05 and isinstance(routed.for_asset("MSFT"), NoLimits)
    with pytest.raises(TypeError, match="for_asset"):
        routed.calculate(1.0, 1.0, 1.0)


def test_scaled_exit_reads_the_states_return_not_its_prices():
    # ml4t's return-driven rules read state.unrealized_return: close at the entry, stated return 6%.
    rule = ScaledExit([(0.05, 0.25), (0.10, 0.5)])
    s = state(close=100.0)
    s.unrealized_return = 0.06
    assert rule.evaluate(s).pct == 0.25
    s.unrealized_return = 0.12
    assert rule.evaluate(s).pct == 0.5
