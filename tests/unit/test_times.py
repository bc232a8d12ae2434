"""Times on orders, fills, positions and trades come back as the feed's own
timestamp objects, whatever the feed's clock (the engine keeps every time in
nanoseconds; a feed whose timestamps are not dates numbers its bars).

AAA bars (open/high/low/close) as in tests/conftest.py: 0: 100/102/99/101,
1: 102/104/101/103, 2: 104/106/103/105, 3: 103/104/100/101.
A buy of 10 on bar 0 fills at bar 1's open (102); a sell of 10 on bar 2
fills at bar 3's open (103).
"""

from datetime import datetime

import polars as pl
import pytest

import nautilus_like as nl
from tests.conftest import fixture_prices, run


def _round_trip(prices):
    seen = {}

    def buy(b):
        seen["buy"] = b.submit_order("AAA", 10)

    def look(b):
        seen["position_entry"] = b.get_position("AAA").entry_time
        seen["sell"] = b.submit_order("AAA", -10)

    result, _ = run({0: [buy], 2: [look]}, prices=prices)
    return result, seen


@pytest.mark.parametrize("clock", ["integers", "new_york"])
def test_times_are_the_feeds_own(clock):
    prices = fixture_prices().filter(pl.col("asset") == "AAA").head(4)
    if clock == "integers":
        times = [10, 20, 30, 40]
        prices = prices.with_columns(timestamp=pl.Series(times))
    else:
        local = [datetime(2024, 3, d, 9, 30) for d in (4, 5, 6, 7)]
        prices = prices.with_columns(timestamp=pl.Series(local).dt.replace_time_zone("America/New_York"))
        times = prices["timestamp"].to_list()
    result, seen = _round_trip(prices)
    buy, sell = seen["buy"], seen["sell"]
    assert (buy.created_at, buy.filled_at, buy.filled_price) == (times[0], times[1], 102.0)
    assert (sell.created_at, sell.filled_at, sell.filled_price) == (times[2], times[3], 103.0)
    assert seen["position_entry"] == times[1]
    fills = result.to_fills_dataframe()
    assert fills["timestamp"].to_list() == [times[1], times[3]]
    trades = result.to_trades_dataframe()
    assert trades.select("entry_time", "exit_time", "pnl").rows() == [(times[1], times[3], 10.0)]


def test_a_cancel_is_stamped_with_its_bar():
    prices = fixture_prices().filter(pl.col("asset") == "AAA").head(4).with_columns(
        timestamp=pl.Series([10, 20, 30, 40]))
    seen = {}

    def rest(b):
        seen["order"] = b.submit_order("AAA", 10, order_type=nl.OrderType.LIMIT, limit_price=50.0)

    def cancel(b):
        b.cancel_order(seen["order"].order_id)

    run({0: [rest], 2: [cancel]}, prices=prices)
    order = seen["order"]
    assert (order.status, order.cancelled_at, order.filled_at) == (nl.OrderStatus.CANCELLED, 30, None)
