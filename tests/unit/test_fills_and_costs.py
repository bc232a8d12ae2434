"""Fills, costs, cash and trades through the Python API, on the fixture (tests/conftest.py)."""

import pytest

import nautilus_like as nl
from nautilus_like.config import ExecutionPrice
from tests.conftest import fixture_prices, run, ts


def buy(asset, qty):
    return lambda b: b.submit_order(asset, qty)


def sell(asset, qty):
    return lambda b: b.submit_order(asset, -qty)


def test_next_bar_fills_at_next_open_and_last_bar_order_stays_pending():
    result, _ = run({0: [buy("AAA", 10)], 2: [sell("AAA", 10)], 4: [buy("BBB", 5)]})
    fills = result.to_fills_dataframe()
    assert fills["price"].to_list() == [102.0, 103.0]
    assert fills["timestamp"].to_list() == [ts(1), ts(3)]
    assert fills["price_source"].to_list() == ["open", "open"]
    assert fills["exit_reason"].to_list() == ["", "signal"]
    assert result.to_equity_dataframe()["equity"].to_list() == [100000.0, 100010.0, 100030.0, 100010.0, 100010.0]
    m = result.metrics
    assert (m["num_orders"], m["num_fills"], m["num_trades"]) == (3, 2, 1)
    assert [o.status for o in result.broker.get_pending_orders()] == [nl.OrderStatus.PENDING]


@pytest.mark.parametrize("price, expected", [
    (ExecutionPrice.OPEN, [100.0, 104.0]),
    (ExecutionPrice.CLOSE, [101.0, 105.0]),
    (ExecutionPrice.MID, [100.5, 104.5]),  # (high + low) / 2
])
def test_same_bar_fills_at_the_configured_price(price, expected):
    cfg = nl.BacktestConfig(execution_mode=nl.ExecutionMode.SAME_BAR, execution_price=price)
    result, _ = run({0: [buy("AAA", 10)], 2: [sell("AAA", 10)]}, cfg)
    assert result.to_fills_dataframe()["price"].to_list() == expected


def test_percentage_commission_and_slippage_apply_per_fill():
    # Buy 10 AAA and 500 BBB at bar 1 opens (102, 51); sell 10 and 200 at bar 3 opens (103, 48).
    cfg = nl.BacktestConfig(commission_rate=0.001, slippage_rate=0.01)
    result, _ = run({0: [buy("AAA", 10), buy("BBB", 500)], 2: [sell("AAA", 10), sell("BBB", 200)]}, cfg)
    f = result.to_fills_dataframe()
    assert f["price"].to_list() == [103.02, 51.51, 101.97, 47.52]  # 102+1.02, 51+0.51, 103-1.03, 48-0.48
    assert f["slippage"].to_list() == [1.02, 0.51, 1.03, 0.48]     # per share
    assert f["commission"].to_list() == pytest.approx([1.0302, 25.755, 1.0197, 9.504], rel=1e-12)
    assert result.broker.get_cash() == pytest.approx(83701.1911, rel=1e-12)
    assert result.metrics["total_commission"] == pytest.approx(37.3089, rel=1e-12)


def test_per_share_commission_minimum_and_model_objects():
    result, _ = run({0: [buy("AAA", 10), buy("BBB", 500)]},
                    commission_model=nl.PerShareCommission(per_share=0.01, minimum=1.0))
    assert result.to_fills_dataframe()["commission"].to_list() == [1.0, 5.0]


def test_cash_account_rejections_carry_reasons():
    cfg = nl.BacktestConfig(initial_cash=10_000)
    result, _ = run({0: [buy("AAA", 100), sell("BBB", 5)]}, cfg)
    orders = result.broker.get_orders()
    assert [o.status for o in orders] == [nl.OrderStatus.REJECTED] * 2
    assert orders[0].rejection_reason == "Insufficient cash: need $10200.00, have $10000.00"
    assert orders[1].rejection_reason == "Short selling not allowed in cash account"
    assert result.metrics["num_rejected_orders"] == 2
    assert result.to_fills_dataframe().height == 0
    assert [o.order_id for o in result.broker.get_rejected_orders()] == ["ORD-1", "ORD-2"]
    assert [o.order_id for o in result.broker.get_rejected_orders("BBB")] == ["ORD-2"]
    assert result.broker.last_rejection_reason == "Short selling not allowed in cash account"


def test_integer_shares_floor_and_tiny_quantities_return_none():
    seen = {}
    result, _ = run({0: [lambda b: seen.update(a=b.submit_order("AAA", 10.7), b=b.submit_order("BBB", 0.4),
                                               c=b.submit_order("BBB", 0))]})
    assert seen["c"] is None
    assert (seen["a"].quantity, seen["a"].requested_quantity, seen["a"].status) == (10.0, 10.7, nl.OrderStatus.FILLED)
    assert seen["b"].status is nl.OrderStatus.REJECTED
    assert seen["b"].rejection_reason == "Quantity rounds to zero (share_type=INTEGER)"
    frac, _ = run({0: [buy("BBB", 0.4)]}, nl.BacktestConfig(share_type="fractional"))
    assert frac.to_fills_dataframe()["quantity"].to_list() == [0.4]


def test_reversal_in_a_short_enabled_account_gives_one_fill_and_two_trades():
    cfg = nl.BacktestConfig(allow_short_selling=True, commission_rate=0.001)
    result, _ = run({0: [buy("AAA", 10)], 1: [sell("AAA", 25)]}, cfg)
    trades = result.to_trades_dataframe()
    assert trades["status"].to_list() == ["closed", "open"]
    assert trades["quantity"].to_list() == [10.0, -15.0]
    assert trades["fees"].to_list() == pytest.approx([2.06, 1.56])    # 1.02 + 2.6*10/25; 2.6*15/25
    assert trades["pnl"][0] == pytest.approx(17.94)                    # (104-102)*10 - 2.06
    # Open short marked at the last close 98: (98 - 104) * -15 - 1.56.
    assert trades["pnl"][1] == pytest.approx(88.44)
    assert trades["exit_reason"].to_list() == ["signal", "end_of_backtest"]


def test_open_positions_are_reported_not_liquidated():
    result, _ = run({0: [buy("AAA", 10), buy("BBB", 20)]}, nl.BacktestConfig(commission_rate=0.001))
    trades = result.to_trades_dataframe()
    assert trades["status"].to_list() == ["open", "open"]
    assert trades["exit_time"].to_list() == [ts(4), ts(4)]
    assert trades["exit_price"].to_list() == [98.0, 50.0]
    assert result.metrics["num_trades"] == 0
    assert result.broker.get_position("AAA").quantity == 10


def test_exit_first_frees_cash_for_entries():
    cfg = nl.BacktestConfig(initial_cash=10_000)
    result, _ = run({0: [buy("AAA", 90)], 1: [buy("BBB", 150), sell("AAA", 90)]}, cfg)
    f = result.to_fills_dataframe()
    assert f["order_id"].to_list() == ["ORD-1", "ORD-3", "ORD-2"]
    assert f["fill_sequence"].to_list() == [0, 1, 2]
    assert result.broker.get_cash() == 2830.0


def test_cancel_order_and_close_position():
    seen = {}

    def submit_and_cancel(b):
        order = b.submit_order("AAA", 10)
        seen["cancelled"] = b.cancel_order(order.order_id)
        seen["again"] = b.cancel_order(order)

    result, _ = run({0: [submit_and_cancel, buy("BBB", 4)],
                     2: [lambda b: seen.update(close=b.close_position("BBB"), flat=b.close_position("AAA"))]})
    assert (seen["cancelled"], seen["again"], seen["flat"]) == (True, False, None)
    assert seen["close"].side is nl.OrderSide.SELL and seen["close"].quantity == 4
    assert result.broker.get_orders()[0].status is nl.OrderStatus.CANCELLED
    assert result.broker.get_position("BBB") is None


def test_account_queries_inside_on_data():
    def observe(bar, timestamp, data, context, broker):
        pos = broker.get_position("AAA")
        return (broker.get_cash(), broker.get_account_value(), pos.quantity if pos else 0.0,
                pos.current_price if pos else None, broker.get_last_price("AAA"))

    _, strategy = run({0: [buy("AAA", 10)]}, observe=observe)
    # Bar 1: filled 10 @102 at the open -> cash 98980; marked at the open during
    # on_data (as ml4t does), valued at the close 103 for the account value.
    # get_last_price is the bar's close whether or not a position exists.
    assert strategy.seen[1] == (98980.0, 98980.0 + 1030.0, 10.0, 102.0, 103.0)
    assert strategy.seen[0] == (100000.0, 100000.0, 0.0, None, 101.0)


def test_buy_and_sell_helpers():
    seen = {}
    run({1: [lambda b: seen.update(d=b.buy("AAA", dollars=1000), s=b.buy("BBB", shares=3),
                                   n=b.sell("AAA", shares=-2))]})
    assert seen["d"].requested_quantity == pytest.approx(1000 / 103.0)
    assert seen["s"].quantity == 3
    with pytest.raises(ValueError, match="Must provide only one of"):
        run({1: [lambda b: b.buy("AAA", shares=1, dollars=5)]})
