"""Brackets, update_order, time in force and fill ordering through the Python API.

AAA bars (open/high/low/close): 0: 100/102/99/101, 1: 102/104/101/103,
2: 104/106/103/105, 3: 103/104/100/101, 4: 100/101/97/98.
BBB: 0: 50/51/49/50.5, 1: 51/52/50/51.5, 2: 49/50/48/48.5, 3: 48/49.5/47.5/49, 4: 50/51/49.5/50.
Timestamps are one calendar day apart (each bar is its own trading day).
"""

import warnings
from datetime import datetime, timedelta

import polars as pl
import pytest

import nautilus_like as nl
from tests.conftest import fixture_prices, run, ts

OT, TIF = nl.OrderType, nl.TimeInForce


def fills(result):
    return result.to_fills_dataframe().select("order_id", "timestamp", "price").rows()


def test_bracket_take_profit_cancels_the_stop_loss():
    seen = {}

    def enter(b):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # sensible prices: no warning
            seen["legs"] = b.submit_bracket("AAA", 10, take_profit=105.5, stop_loss=99.5)

    result, _ = run({0: [enter]})
    entry, tp, sl = seen["legs"]
    # Entry at bar 1's open 102; bar 2's high 106 reaches 105.5.
    assert fills(result) == [("ORD-1", ts(1), 102.0), ("ORD-2", ts(2), 105.5)]
    assert (tp.order_type, tp.side, tp.limit_price, tp.parent_id) == (OT.LIMIT, nl.OrderSide.SELL, 105.5, "ORD-1")
    assert (sl.order_type, sl.stop_price, sl.parent_id, entry.parent_id) == (OT.STOP, 99.5, "ORD-1", None)
    assert (sl.status, sl.cancellation_reason, sl.cancelled_at) == (nl.OrderStatus.CANCELLED, "oco", ts(2))
    assert result.metrics["final_value"] == 100_000 - 1020 + 1055


def test_short_bracket_and_inverted_price_warning():
    seen = {}

    def enter(b):
        with pytest.warns(UserWarning, match="take_profit"):
            seen["legs"] = b.submit_bracket("AAA", -10, take_profit=110.0, stop_loss=120.0)

    run({0: [enter]}, nl.BacktestConfig(allow_short_selling=True))
    entry, tp, sl = seen["legs"]
    assert (entry.side, tp.side, sl.side) == (nl.OrderSide.SELL, nl.OrderSide.BUY, nl.OrderSide.BUY)


def test_bracket_rejects_bad_legs_without_queueing_anything():
    seen = {}

    def enter(b):
        with pytest.raises(ValueError, match="take_profit"):
            b.submit_bracket("AAA", 10, take_profit=-1.0, stop_loss=95.0)
        with pytest.raises(ValueError, match="entry_type"):
            b.submit_bracket("AAA", 10, take_profit=110.0, stop_loss=95.0, entry_type=OT.STOP)
        seen["zero"] = b.submit_bracket("AAA", 0, take_profit=110.0, stop_loss=95.0)
        seen["n"] = len(b.get_orders())

    run({0: [enter]})
    assert seen == {"zero": None, "n": 0}


def test_update_order_moves_the_limit_and_the_quantity():
    seen = {}

    def place(b):
        seen["o"] = b.submit_order("AAA", 10, order_type=OT.LIMIT, limit_price=95.0)

    def move(b):
        assert b.update_order(seen["o"].order_id, quantity=4, limit_price=101.5) is True
        with pytest.raises(ValueError, match="quantity"):
            b.update_order(seen["o"], quantity=float("nan"))
        with pytest.raises(ValueError, match="Cannot update order fields"):
            b.update_order(seen["o"], side="sell")

    result, _ = run({0: [place], 1: [move]})
    # Bar 2's low 103 misses 101.5, bar 3's low 100 reaches it.
    assert result.to_fills_dataframe().select("timestamp", "quantity", "price").rows() == [(ts(3), 4.0, 101.5)]
    assert seen["o"].limit_price == 101.5


def test_update_of_a_filled_order_returns_false():
    seen = {}
    result, _ = run({0: [lambda b: seen.update(o=b.submit_order("AAA", 1))],
                     2: [lambda b: seen.update(ok=b.update_order(seen["o"].order_id, quantity=3))]})
    assert seen["ok"] is False


def test_ioc_gets_one_pass_and_fok_all_or_nothing():
    seen = {}

    def place(b):
        seen["hit"] = b.submit_order("AAA", 1, order_type=OT.LIMIT, limit_price=101.5, time_in_force=TIF.IOC)
        seen["miss"] = b.submit_order("AAA", 1, order_type=OT.LIMIT, limit_price=100.5, time_in_force="ioc")
        seen["fok"] = b.submit_order("AAA", 1, order_type=OT.LIMIT, limit_price=100.5, time_in_force=TIF.FOK)

    result, _ = run({0: [place]})
    assert fills(result) == [("ORD-1", ts(1), 101.5)]
    assert (seen["miss"].status, seen["miss"].cancellation_reason, seen["miss"].cancelled_at) == \
        (nl.OrderStatus.CANCELLED, "ioc", ts(1))
    assert (seen["fok"].cancellation_reason, seen["fok"].time_in_force) == ("fok", TIF.FOK)
    assert seen["hit"].time_in_force is TIF.IOC


def intraday_prices():
    """AAA on two days, three bars each: day 1 lows 99, 98, 97; day 2 lows 96, 95, 94."""
    rows = []
    for d in range(2):
        for h in range(3):
            low = 99.0 - 3 * d - h
            rows.append({"timestamp": datetime(2024, 1, 1 + d, 10 + h), "asset": "AAA", "open": low + 1,
                         "high": low + 2, "low": low, "close": low + 1, "volume": 100.0})
    return pl.DataFrame(rows)


def test_day_orders_expire_at_the_end_of_their_trading_day():
    seen = {}

    def place(b):
        # 96.5 is first reached on day 2: a DAY order dies with day 1, a GTC order fills.
        seen["day"] = b.submit_order("AAA", 1, order_type=OT.LIMIT, limit_price=96.5, time_in_force=TIF.DAY)
        seen["gtc"] = b.submit_order("AAA", 1, order_type=OT.LIMIT, limit_price=96.5)

    result, _ = run({0: [place]}, prices=intraday_prices())
    assert (seen["day"].cancellation_reason, seen["day"].cancelled_at) == ("day_expired", datetime(2024, 1, 1, 12))
    assert fills(result) == [("ORD-2", datetime(2024, 1, 2, 10), 96.5)]


def test_bad_time_in_force_is_refused():
    def place(b):
        with pytest.raises(ValueError, match="time_in_force"):
            b.submit_order("AAA", 1, time_in_force="week")

    run({0: [place]})


def test_fifo_does_not_let_a_later_sale_fund_an_earlier_buy():
    # 10 AAA (1020 at bar 1's open) leave 980 of 2000; on bar 2 a buy of 30 BBB
    # (1440 at bar 3's open 48) comes before the sale of the AAA (1030 at 103).
    def race(ordering):
        result, _ = run({0: [lambda b: b.submit_order("AAA", 10)],
                         2: [lambda b: b.submit_order("BBB", 30), lambda b: b.submit_order("AAA", -10)]},
                        nl.BacktestConfig(initial_cash=2000, fill_ordering=ordering))
        return [r[0] for r in fills(result)]

    assert race(nl.FillOrdering.EXIT_FIRST) == ["ORD-1", "ORD-3", "ORD-2"]
    assert race(nl.FillOrdering.FIFO) == ["ORD-1", "ORD-3"]


def test_entry_priority_notional_asc_funds_the_small_order_first():
    def race(priority):
        result, _ = run({0: [lambda b: b.submit_order("AAA", 10), lambda b: b.submit_order("BBB", 10)]},
                        nl.BacktestConfig(initial_cash=1100, entry_order_priority=priority))
        return [r[0] for r in fills(result)]

    assert race("submission") == ["ORD-1"]
    assert race("notional_asc") == ["ORD-2"]


def test_order_target_value_and_percent():
    seen = {}

    def size(b):
        # Bar 0: AAA close 101, account 100,000: 10% = 10,000 -> 99.0099 shares (floored when filled).
        seen["pct"] = b.order_target_percent("AAA", 0.10)
        seen["value"] = b.order_target_value("BBB", -1010.0)      # short 20 BBB at 50.5
        seen["none"] = b.order_target_value("BBB", 0.001)         # under a cent: no order

    result, _ = run({0: [size]}, nl.BacktestConfig(allow_short_selling=True))
    assert seen["pct"].requested_quantity == pytest.approx(10_000 / 101)
    assert (seen["value"].side, seen["value"].quantity) == (nl.OrderSide.SELL, 20.0)
    assert seen["none"] is None
    assert result.to_fills_dataframe().select("asset", "quantity").rows() == [("AAA", 99.0), ("BBB", 20.0)]
    with pytest.raises(ValueError, match="target"):
        run({0: [lambda b: b.order_target_value("AAA", float("nan"))]})


def test_buying_power_is_non_negative_cash():
    seen = []
    run({0: [lambda b: seen.append(b.get_buying_power()), lambda b: b.submit_order("AAA", 10)],
         2: [lambda b: seen.append(b.get_buying_power())]})
    assert seen == [100_000.0, 100_000.0 - 1020.0]   # 10 AAA bought at bar 1's open 102
