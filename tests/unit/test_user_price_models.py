"""User price models with ml4t's protocols, called back from the engine: a
market impact model (`calculate(quantity, price, volume, is_buy)`) and a
slippage model that declares `requires_traded_volume`.

Fixture (tests/conftest.py): orders submitted on bar 0 fill at bar 1's open;
AAA opens 100, 102, 104, 103, 100; bar volumes are 1000 * (bar + 1).
"""

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like.models import NoSlippage
from tests.conftest import fixture_prices, run, ts

NO_COSTS = nl.BacktestConfig(commission_type=nl.CommissionType.NONE, slippage_type=nl.SlippageType.NONE)


def fills(result):
    return result.to_fills_dataframe().select("timestamp", "quantity", "price").rows()


class FlatImpact:
    """Half a point against every order; records its calls."""

    def __init__(self, points=0.5):
        self.points = points
        self.calls = []

    def calculate(self, quantity, price, volume, is_buy):
        self.calls.append((quantity, price, volume, is_buy))
        return self.points if is_buy else -self.points


def test_a_user_impact_model_moves_the_fill_price_against_the_order():
    impact = FlatImpact()
    result, _ = run({0: [lambda b: b.submit_order("AAA", 10)], 1: [lambda b: b.submit_order("AAA", -10)]},
                    NO_COSTS, market_impact_model=impact)
    # Buy at 102 + 0.5, sell at 104 - 0.5: cash 100000 - 1025 + 1035.
    assert fills(result) == [(ts(1), 10.0, 102.5), (ts(2), 10.0, 103.5)]
    assert result.metrics["final_value"] == pytest.approx(100_000.0 + 10.0)
    assert (10.0, 102.0, 2000.0, True) in impact.calls and (10.0, 104.0, 3000.0, False) in impact.calls


@pytest.mark.parametrize("answer, message", [
    (-1.0, r"Invalid market impact from Bad: expected >= 0 for buys, got -1\.0"),
    (float("nan"), r"Invalid market impact from Bad: expected a finite adverse value, got NaN"),
    ("x", r"Invalid market impact from Bad: expected a finite adverse value, got 'x'"),
])
def test_a_user_impact_model_with_a_bad_answer_stops_the_run_naming_it(answer, message):
    class Bad:
        def calculate(self, quantity, price, volume, is_buy):
            return answer

    with pytest.raises(ValueError, match=message):
        run({0: [lambda b: b.submit_order("AAA", 10)]}, NO_COSTS, market_impact_model=Bad())


def test_an_impact_that_pushes_the_price_below_zero_is_refused():
    # A sale at 104 moved by -200: -96 is no price.
    impact = FlatImpact(200.0)
    with pytest.raises(ValueError, match="Invalid market-impact execution price"):
        run({0: [lambda b: b.submit_order("AAA", 10)], 1: [lambda b: b.submit_order("AAA", -10)]},
            NO_COSTS, market_impact_model=impact)


def test_an_object_without_calculate_is_refused_as_impact_model():
    with pytest.raises(TypeError, match="market_impact_model .* got str"):
        run({}, market_impact_model="linear")


class NeedsVolume(NoSlippage):
    requires_traded_volume = True


def test_a_slippage_model_requiring_traded_volume_waits_for_a_bar_that_traded():
    # AAA reports no volume on bar 1: the order fills at bar 2's open 104
    # instead of bar 1's 102.
    silent = (pl.col("asset") == "AAA") & (pl.col("timestamp") == ts(1))
    prices = fixture_prices().with_columns(pl.when(silent).then(0.0).otherwise(pl.col("volume")).alias("volume"))
    order = {0: [lambda b: b.submit_order("AAA", 10)]}
    result, _ = run(order, NO_COSTS, prices=prices, slippage_model=NeedsVolume())
    assert fills(result) == [(ts(2), 10.0, 104.0)]
    result, _ = run(order, NO_COSTS, prices=prices, slippage_model=NoSlippage())
    assert fills(result) == [(ts(1), 10.0, 102.0)]


def test_a_slippage_model_that_is_not_one_is_refused_naming_the_protocol():
    with pytest.raises(TypeError, match="SlippageModel"):
        run({}, slippage_model=object())
