"""Volume limits beyond per-order participation: a shared bar capacity, the
positive-volume rule, adaptive participation, and user limits (ml4t's
`calculate` / `bar_capacity` protocol) called back from the engine.

Fixture (tests/conftest.py): orders submitted on bar 0 fill at bar 1's open;
AAA opens 100, 102, 104, 103, 100 and BBB 50, 51, 49, 48, 50; bar volumes are
1000, 2000, 3000, 4000, 5000 for both.
"""

import math

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like.execution import PositiveVolumeLimit, SharedVolumeParticipationLimit
from nautilus_like.execution.fill_executor import FillExecutor, _calculate_position_pnl
from nautilus_like.execution.limits import AdaptiveParticipationLimit, ExecutionLimits
from nautilus_like.execution.result import ExecutionResult
from tests.conftest import fixture_prices, run, ts


def fills(result):
    return result.to_fills_dataframe().select("order_id", "asset", "timestamp", "quantity", "price").rows()


# ------------------------------------------------------------- calculate()


def test_positive_volume_fills_whole_orders_only_when_the_bar_traded():
    limit = PositiveVolumeLimit()
    assert limit.calculate(500.0, 1.0, 75.0) == ExecutionResult(500.0, 0.0, 75.0, 0.0, 500.0)
    for volume in (0.0, None):
        r = limit.calculate(500.0, volume, 75.0)
        assert (r.fillable_quantity, r.remaining_quantity, r.participation_rate) == (0.0, 500.0, 0.0)


def test_shared_limit_judges_one_order_as_the_per_order_limit_and_reports_the_bar_capacity():
    limit = SharedVolumeParticipationLimit(0.5)
    # One order of 10 on a bar of 10: half of it.
    assert limit.calculate(10.0, 10.0, 100.0).fillable_quantity == 5.0
    assert limit.bar_capacity(10.0, 100.0) == 5.0
    # A separate shared rate: 20% of 10 for all orders together.
    assert SharedVolumeParticipationLimit(0.5, shared_participation=0.2).bar_capacity(10.0, 100.0) == 2.0
    # No traded volume, infinite volume, or below min_volume: no capacity.
    assert limit.bar_capacity(None, 100.0) == 0.0
    assert limit.bar_capacity(math.inf, 100.0) == 0.0
    assert SharedVolumeParticipationLimit(0.5, 20.0).bar_capacity(10.0, 100.0) == 0.0


@pytest.mark.parametrize("kwargs, field", [({"max_participation": 1.5}, "max_participation"),
                                           ({"min_volume": -1.0}, "min_volume"),
                                           ({"shared_participation": 2.0}, "shared_participation"),
                                           ({"shared_participation": math.nan}, "shared_participation")])
def test_shared_limit_refuses_rates_outside_zero_to_one(kwargs, field):
    with pytest.raises(ValueError, match=field):
        SharedVolumeParticipationLimit(**kwargs)


@pytest.mark.parametrize("volatility, fillable", [
    (None, 1000.0),    # base 10% of 10,000
    (0.04, 500.0),     # twice the average: 0.10 * (1 - 0.5 * 1) = 5%
    (0.01, 1250.0),    # half: 0.10 * (1 + 0.25) = 12.5%
    (0.10, 200.0),     # five times: 0.10 * (1 - 2) < 0, floored at 2%
])
def test_adaptive_rate_moves_against_volatility_within_its_bounds(volatility, fillable):
    r = AdaptiveParticipationLimit().calculate(5000.0, 10_000.0, 100.0, volatility=volatility)
    assert r.fillable_quantity == pytest.approx(fillable, rel=1e-15)
    assert r.remaining_quantity == pytest.approx(5000.0 - fillable, rel=1e-15)


def test_adaptive_limit_without_volume_fills_all_and_with_zero_volume_nothing():
    limit = AdaptiveParticipationLimit()
    assert limit.calculate(100.0, None, 100.0).fillable_quantity == 100.0
    assert limit.calculate(100.0, 0.0, 100.0).fillable_quantity == 0.0
    with pytest.raises(ValueError, match="volatility_factor"):
        AdaptiveParticipationLimit(volatility_factor=math.inf)


def test_the_base_class_is_abstract_and_routes_need_execution_limits():
    with pytest.raises(TypeError):
        ExecutionLimits()
    with pytest.raises(TypeError, match="'ES'"):
        nl.AssetExecutionLimits({"ES": 0.5}, default=nl.NoLimits())
    with pytest.raises(TypeError, match="nested"):
        nl.AssetExecutionLimits({}, default=nl.AssetExecutionLimits({}, default=nl.NoLimits()))


# ------------------------------------------------------------- in a backtest


def test_competing_orders_share_one_bar_capacity():
    # Shared 10%: bar 1 (volume 2000) holds 200 for AAA. Order 1 takes 150,
    # order 2 the other 50; bar 2 (3000, 300) fills order 2's last 100 at 104.
    buys = {0: [lambda b: b.submit_order("AAA", 150), lambda b: b.submit_order("AAA", 150)]}
    result, _ = run(buys, execution_limits=SharedVolumeParticipationLimit(0.1))
    assert fills(result) == [("ORD-1", "AAA", ts(1), 150.0, 102.0), ("ORD-2", "AAA", ts(1), 50.0, 102.0),
                             ("ORD-2", "AAA", ts(2), 100.0, 104.0)]
    # Per order (no sharing), each takes its own 10% of 2000: both fill on bar 1.
    result, _ = run(buys, execution_limits=nl.VolumeParticipationLimit(0.1))
    assert fills(result) == [("ORD-1", "AAA", ts(1), 150.0, 102.0), ("ORD-2", "AAA", ts(1), 150.0, 102.0)]


def test_the_capacity_is_per_asset_and_both_sides_consume_it():
    # Shared 5%: bar 1 holds 100 of AAA (the buy of 100 fills), bar 2 holds
    # 150: the sale of 80 (exits first) and the buy of 100 compete, 80 + 70;
    # BBB's 100 has its own 150. The buy's last 30 fill on bar 3 at 103.
    actions = {0: [lambda b: b.submit_order("AAA", 100)],
               1: [lambda b: b.submit_order("AAA", -80), lambda b: b.submit_order("AAA", 100),
                   lambda b: b.submit_order("BBB", 100)]}
    limits = nl.AssetExecutionLimits({}, default=SharedVolumeParticipationLimit(0.05))
    result, _ = run(actions, execution_limits=limits)
    assert sorted(fills(result)) == [("ORD-1", "AAA", ts(1), 100.0, 102.0), ("ORD-2", "AAA", ts(2), 80.0, 104.0),
                                     ("ORD-3", "AAA", ts(2), 70.0, 104.0), ("ORD-3", "AAA", ts(3), 30.0, 103.0),
                                     ("ORD-4", "BBB", ts(2), 100.0, 49.0)]


def test_positive_volume_limit_waits_for_a_bar_that_traded():
    # AAA reports no volume on bars 1 and 2: the order of 5000 (more than any
    # bar's volume) fills whole at bar 3's open 103.
    silent = (pl.col("asset") == "AAA") & pl.col("timestamp").is_in([ts(1), ts(2)])
    prices = fixture_prices().with_columns(pl.when(silent).then(0.0).otherwise(pl.col("volume")).alias("volume"))
    result, _ = run({0: [lambda b: b.submit_order("AAA", 5000)]}, nl.BacktestConfig(initial_cash=1e6),
                    prices=prices, execution_limits=PositiveVolumeLimit())
    assert fills(result) == [("ORD-1", "AAA", ts(3), 5000.0, 103.0)]


def test_adaptive_limit_in_a_backtest_uses_its_clamped_base_rate():
    # Base 30%, capped at 25%: 500 of 2000 on bar 1, the other 100 on bar 2.
    limit = AdaptiveParticipationLimit(base_participation=0.30)
    result, _ = run({0: [lambda b: b.submit_order("AAA", 600)]}, execution_limits=limit)
    assert fills(result) == [("ORD-1", "AAA", ts(1), 500.0, 102.0), ("ORD-1", "AAA", ts(2), 100.0, 104.0)]


class AtMost:
    """A user limit (no base class): at most `cap` per order and bar."""

    def __init__(self, cap):
        self.cap = cap
        self.calls = []

    def calculate(self, order_quantity, bar_volume, price):
        self.calls.append((order_quantity, bar_volume, price))
        fill = min(order_quantity, self.cap)
        return ExecutionResult(fill, order_quantity - fill, price)


def test_a_user_limit_is_called_per_order_and_bar():
    limit = AtMost(100.0)
    result, _ = run({0: [lambda b: b.submit_order("AAA", 250)]}, execution_limits=limit)
    # 100 at 102, 100 at 104, 50 at 103; each call sees what is left, the
    # bar's volume and the execution price.
    assert fills(result) == [("ORD-1", "AAA", ts(1), 100.0, 102.0), ("ORD-1", "AAA", ts(2), 100.0, 104.0),
                             ("ORD-1", "AAA", ts(3), 50.0, 103.0)]
    assert limit.calls == [(250.0, 2000.0, 102.0), (150.0, 3000.0, 104.0), (50.0, 4000.0, 103.0)]


class Budget(ExecutionLimits):
    """A user limit with a shared budget: any order, 120 per asset and bar."""

    def calculate(self, order_quantity, bar_volume, price):
        return ExecutionResult(order_quantity, 0.0, price)

    def bar_capacity(self, bar_volume, price):
        return 120.0


def test_a_user_limit_with_a_bar_capacity_shares_it():
    buys = {0: [lambda b: b.submit_order("AAA", 100), lambda b: b.submit_order("AAA", 100)]}
    result, _ = run(buys, execution_limits=Budget())
    assert fills(result) == [("ORD-1", "AAA", ts(1), 100.0, 102.0), ("ORD-2", "AAA", ts(1), 20.0, 102.0),
                             ("ORD-2", "AAA", ts(2), 80.0, 104.0)]


def test_a_subclass_of_a_built_in_limit_that_overrides_calculate_is_called():
    class Quarter(nl.VolumeParticipationLimit):
        def calculate(self, order_quantity, bar_volume, price):
            fill = min(order_quantity, bar_volume / 4)
            return ExecutionResult(fill, order_quantity - fill, price)

    # A quarter of 2000 on bar 1: 500 of 600; 100 on bar 2.
    result, _ = run({0: [lambda b: b.submit_order("AAA", 600)]}, execution_limits=Quarter())
    assert fills(result) == [("ORD-1", "AAA", ts(1), 500.0, 102.0), ("ORD-1", "AAA", ts(2), 100.0, 104.0)]


@pytest.mark.parametrize("answer", [-0.5, math.nan, math.inf, 11.0, "ten"])
def test_a_user_limit_outside_the_order_stops_the_run_naming_it(answer):
    class Broken:
        def calculate(self, order_quantity, bar_volume, price):
            return ExecutionResult(answer, order_quantity, price)

    with pytest.raises(ValueError, match=r"Invalid execution quantity from Broken: got .*requested 10\.0"):
        run({0: [lambda b: b.submit_order("AAA", 10)]}, execution_limits=Broken())


def test_a_user_limit_that_raises_propagates_its_exception():
    class Raising:
        def calculate(self, order_quantity, bar_volume, price):
            raise LookupError("no liquidity table")

    with pytest.raises(LookupError, match="no liquidity table"):
        run({0: [lambda b: b.submit_order("AAA", 10)]}, execution_limits=Raising())


def test_an_object_without_calculate_is_refused_before_the_run():
    with pytest.raises(TypeError, match="execution_limits must be .* got object"):
        run({}, execution_limits=object())


# ------------------------------------------------------------- fill_executor


def test_position_pnl_is_exit_notional_minus_entry_notional():
    assert _calculate_position_pnl(100.0, 103.0, 10.0, 1.0) == 30.0
    assert _calculate_position_pnl(100.0, 103.0, -10.0, 1.0) == -30.0
    assert _calculate_position_pnl(4000.0, 4010.0, 2.0, 50.0) == 1000.0
    entry, exit_ = 100.90226400205, 103.1011026849
    assert _calculate_position_pnl(entry, exit_, 100.0, 1.0) == exit_ * 100.0 - entry * 100.0


def test_fill_executor_is_not_constructed():
    with pytest.raises(TypeError, match="Rust engine"):
        FillExecutor(None)
