"""Volume participation limits and market impact through the Python API.

AAA opens 100, 102, 104, 103, 100; bar volumes 1000, 2000, 3000, 4000, 5000.
"""

import pytest

import nautilus_like as nl
from tests.conftest import fixture_prices, run, ts


def test_partial_fills_carry_over_to_later_bars():
    seen = {}

    def look(bar, timestamp, data, context, broker):
        o = seen.get("o")
        return None if o is None else (o.status, o.quantity, o.filled_quantity)

    result, strat = run({0: [lambda b: seen.update(o=b.submit_order("AAA", 500))]},
                        observe=look, execution_limits=nl.VolumeParticipationLimit(0.1))
    # 10% of 2000 at bar 1's open 102, then the other 300 (10% of 3000) at 104.
    assert result.to_fills_dataframe().select("timestamp", "quantity", "price").rows() == [
        (ts(1), 200.0, 102.0), (ts(2), 300.0, 104.0)]
    assert strat.seen[1] == (nl.OrderStatus.PENDING, 300.0, 200.0)
    assert strat.seen[2] == (nl.OrderStatus.FILLED, 300.0, 500.0)
    assert seen["o"].filled_price == pytest.approx(103.2)


def test_asset_limits_and_min_volume():
    limits = nl.AssetExecutionLimits({"AAA": nl.VolumeParticipationLimit(0.1, min_volume=2500)},
                                     default=nl.NoLimits())
    result, _ = run({0: [lambda b: b.submit_order("AAA", 500), lambda b: b.submit_order("BBB", 500)]},
                    execution_limits=limits)
    rows = result.to_fills_dataframe().select("asset", "timestamp", "quantity").rows()
    assert rows == [("BBB", ts(1), 500.0), ("AAA", ts(2), 300.0), ("AAA", ts(3), 200.0)]


class Idle(nl.Strategy):
    def on_data(self, timestamp, data, context, broker):
        pass


def test_limits_need_a_volume_column():
    feed = nl.DataFeed(prices_df=fixture_prices().drop("volume"))
    with pytest.raises(ValueError, match="'volume' column"):
        nl.Engine(feed, Idle(), execution_limits=nl.VolumeParticipationLimit(0.1))


@pytest.mark.parametrize("model, price", [
    (nl.LinearImpact(0.1), 102 + 0.1 * (100 / 2000) * 102),
    (nl.SquareRootImpact(0.5, 0.02), 102 + 0.5 * 0.02 * (100 / 2000) ** 0.5 * 102),
    (nl.PowerLawImpact(0.1, 0.6, min_impact=2.0), 104.0),
])
def test_market_impact(model, price):
    result, _ = run({0: [lambda b: b.submit_order("AAA", 100)]}, market_impact_model=model)
    assert result.to_fills_dataframe()["price"][0] == pytest.approx(price, rel=1e-15)


def test_bad_liquidity_arguments():
    with pytest.raises(ValueError, match="max_participation"):
        nl.VolumeParticipationLimit(-0.1)
    with pytest.raises(TypeError, match="execution_limits"):
        run({}, execution_limits=0.1)
    with pytest.raises(TypeError, match="market_impact_model"):
        run({}, market_impact_model="linear")


def test_partial_fills_allowed_fills_what_cash_affords():
    # 1000 cash: 9 of 20 AAA at bar 1's open 102 (10 would cost 1020).
    seen = {}
    result, _ = run({0: [lambda b: seen.update(o=b.submit_order("AAA", 20))]},
                    nl.BacktestConfig(initial_cash=1000, partial_fills_allowed=True))
    assert (seen["o"].status, seen["o"].filled_quantity, seen["o"].requested_quantity) == (
        nl.OrderStatus.FILLED, 9.0, 20.0)
    assert result.metrics["final_value"] == pytest.approx(1000 - 9 * 102 + 9 * 98)
