"""Prediction-market venue fees: hand-computed figures from the venues' schedules,
the vectorised functions against exact decimal arithmetic, and the engine charging
them on fills."""

from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nautilus_like import BacktestConfig, DataFeed, Engine, OrderSide, Strategy
from nautilus_like.models import CommissionModel, estimate_commission
from nautilus_like.prediction_market_fees import (
    ForecastExCommission,
    KalshiCommission,
    PolymarketUSCommission,
    forecastex_fee,
    kalshi_fee,
    kalshi_order_fees,
    polymarket_us_fee,
)


def test_kalshi_taker_fee_at_the_peak_and_for_one_contract():
    # 0.07 * 100 * 0.5 * 0.5 = 1.75; one contract 0.0175 exactly (a micro-dollar grid value).
    assert kalshi_fee(0.50, 100) == 1.75
    assert kalshi_fee(0.50, 1) == 0.0175
    # 0.07 * 1 * 0.01 * 0.99 = 0.000693 exactly.
    assert kalshi_fee(0.01, 1) == 0.000693


def test_kalshi_cent_member_pays_the_balance_alignment():
    # Buy 1 at 0.50: the balance moves -0.50 - 0.0175 = -0.5175, aligned down to -0.52:
    # the member pays 0.02. A direct member aligns to 0.0001: -0.5175 stays, fee 0.0175.
    assert kalshi_fee(0.50, 1, rounding="cent") == 0.02
    assert kalshi_fee(0.50, 1, rounding="direct") == 0.0175
    # Sell 1 at 0.055: fee ceil(0.07 * 0.055 * 0.945 * 1e6) = 3639 micro; the balance
    # +0.055 - 0.003639 = 0.051361 aligns down to 0.05, so the fee is 0.005.
    assert kalshi_fee(0.055, 1, side="sell", rounding="cent") == 0.005


def test_kalshi_maker_fee_by_series_type_and_multiplier():
    assert kalshi_fee(0.50, 100, liquidity="maker") == 0.0
    assert kalshi_fee(0.50, 100, liquidity="maker", fee_type="quadratic_with_maker_fees") == 0.4375
    assert kalshi_fee(0.50, 100, liquidity="maker", fee_type="quadratic_with_combo_maker_fees") == 0.875
    assert kalshi_fee(0.50, 100, fee_multiplier=2.0) == 3.5


def test_vectorised_inputs_broadcast_and_keep_their_shape():
    fees = kalshi_fee(pl.Series([0.5, 0.1]), [[100], [1]], liquidity=["taker", "maker"],
                      fee_type="quadratic_with_maker_fees")
    # rows: contracts 100 / 1; columns: taker at 0.5 / maker (x0.25) at 0.1.
    np.testing.assert_array_equal(fees, [[1.75, 0.1575], [0.0175, 0.001575]])
    assert np.ndim(kalshi_fee(0.5, 1)) == 0


def test_kalshi_order_rebates_whole_cents_of_accumulated_overpayment():
    # Buy 1 at 0.05 three times: fee ceil(0.07*0.05*0.95e6) = 3325 micro; the balance
    # -0.05 - 0.003325 aligns to -0.06, so each fill overpays 0.006675 and is charged
    # 0.01. The accumulator reaches 0.013350 on the second fill: one cent back there
    # (0.01 - 0.01 = 0), 0.003350 carried; the third fill accumulates 0.010025: one
    # cent back again.
    np.testing.assert_allclose(kalshi_order_fees([0.05] * 3, [1] * 3), [0.01, 0.0, 0.0], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(kalshi_order_fees([0.05] * 3, [1] * 3, rounding="exact"), [0.003325] * 3)
    with pytest.raises(ValueError, match="1-D"):
        kalshi_order_fees([[0.5, 0.5]], [[1, 1]])


def _kalshi_decimal(cents: int, contracts: int, side: str, precision: str | None) -> Decimal:
    price = Decimal(cents) / 100
    fee = (Decimal("0.07") * contracts * price * (1 - price)).quantize(Decimal("0.000001"), ROUND_CEILING)
    if precision is None:
        return fee
    revenue = price * contracts * (-1 if side == "buy" else 1)
    return revenue - (revenue - fee).quantize(Decimal(precision), ROUND_FLOOR)


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(1, 99), contracts=st.integers(0, 5000), side=st.sampled_from(["buy", "sell"]),
       rounding=st.sampled_from([("exact", None), ("cent", "0.01"), ("direct", "0.0001")]))
def test_kalshi_fee_equals_exact_decimal_arithmetic(cents, contracts, side, rounding):
    name, precision = rounding
    got = float(kalshi_fee(cents / 100, contracts, side=side, rounding=name))
    assert got == pytest.approx(float(_kalshi_decimal(cents, contracts, side, precision)), abs=1e-12)


def test_forecastex_and_polymarket_schedules():
    np.testing.assert_array_equal(forecastex_fee([0.1, 0.9], 25), [0.25, 0.25])
    assert forecastex_fee(0.4, 25, exchange_fee=0.0, broker_commission=0.002) == 0.05
    # 0.0695 * 1000 * 0.25 = 17.375 -> 17.38 to the cent (half-to-even on 1737.5 cents);
    # a maker rebate -0.0125 * 1000 * 0.09 = -1.125 -> -1.12.
    assert polymarket_us_fee(0.5, 1000, rounding="cent") == 17.38
    assert polymarket_us_fee(0.1, 1000, liquidity="maker", rounding="cent") == -1.12
    np.testing.assert_allclose(polymarket_us_fee([0.5, 0.5], [100, 100], fee_coefficient=[0.0695, 0.10]),
                               [1.7375, 2.5], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: kalshi_fee(1.2, 1), r"price must be in \[0, 1\]"),
    (lambda: kalshi_fee(float("nan"), 1), "price must be finite"),
    (lambda: kalshi_fee(0.5, -1), "contracts must be non-negative"),
    (lambda: kalshi_fee(0.5, 1, fee_type="flat"), "flat"),
    (lambda: kalshi_fee(0.5, 1, liquidity="taker!"), r"liquidity must be one of .*taker!"),
    (lambda: kalshi_fee(0.5, 1, rounding="up"), "rounding"),
    (lambda: forecastex_fee(0.5, 1, exchange_fee=-0.01), "non-negative"),
    (lambda: polymarket_us_fee(0.5, 1, maker_rebate_coefficient=-0.0125), "non-negative"),
    (lambda: PolymarketUSCommission(rounding="direct"), "rounding"),
    (lambda: KalshiCommission(fee_multiplier=-1.0), "fee_multiplier must be non-negative"),
])
def test_bad_inputs_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(("model", "quantity", "price", "expected"), [
    (KalshiCommission(), 100, 0.50, 1.75),
    (KalshiCommission(rounding="cent"), -1, 0.055, 0.005),  # a negative quantity is a sell
    (ForecastExCommission(), -25, 0.40, 0.25),
    (PolymarketUSCommission(rounding="cent"), 1000, 0.50, 17.38),
    (PolymarketUSCommission(liquidity="maker"), 1000, 0.10, 0.0),  # the rebate is not charged
])
def test_models_quote_the_venue_fee(model, quantity, price, expected):
    assert isinstance(model, CommissionModel)
    assert model.calculate("EVT", quantity, price) == expected
    assert estimate_commission(model, "EVT", quantity, price) == expected


def _run(model, orders, prices):
    class Trader(Strategy):
        def on_data(self, timestamp, data, context, broker):
            for qty, side in orders.get(timestamp, []):
                broker.submit_order("EVT", qty, side)

    dates = [datetime(2024, 1, 1) + timedelta(days=i) for i in range(len(prices))]
    df = pl.DataFrame({"timestamp": dates, "asset": ["EVT"] * len(dates), "open": prices, "high": prices,
                       "low": prices, "close": prices, "volume": [100_000.0] * len(dates)})
    engine = Engine(feed=DataFeed(prices_df=df), strategy=Trader(), config=BacktestConfig(initial_cash=1000))
    engine.broker.commission_model = model
    return engine.run()


def test_engine_charges_the_kalshi_cent_fee_on_each_fill():
    # Day 1: buy 1 at 0.50 -> 0.02; day 3: buy 100 at 0.50 -> 1.75 (on the cent grid, no alignment).
    day = datetime(2024, 1, 1)
    result = _run(KalshiCommission(rounding="cent"),
                  {day: [(1, OrderSide.BUY)], day + timedelta(days=2): [(100, OrderSide.BUY)]}, [0.5] * 5)
    assert [f.commission for f in result.fills] == [0.02, 1.75]
    # Cash: 1000 - 101 * 0.50 - 1.77 = 947.73.
    assert result.to_dict()["final_value"] == pytest.approx(947.73 + 101 * 0.5, abs=1e-9)


def test_engine_refuses_a_fill_priced_outside_the_contract_range():
    day = datetime(2024, 1, 1)
    with pytest.raises(ValueError, match=r"price must be in \[0, 1\]"):
        _run(KalshiCommission(), {day: [(1, OrderSide.BUY)]}, [1.5] * 3)
