"""A reference price apart from the close (ml4t's `price_col`, a standalone
broker's `prices` beside its `closes`): positions are marked, PRICE fills are
priced and position rules look at the reference price; CLOSE fills (and
BAR_CLOSE water marks) take the close.

One asset A, buying 10 on bar 0:

| bar | open | high | low | close | mid_price (the reference) |
|-----|------|------|-----|-------|---------------------------|
| 0   | 100  | 104  | 98  | 102   | 101                       |
| 1   | 103  | 106  | 102 | 105   | 104                       |
| 2   | 104  | 105  | 100 | 101   | 102                       |
"""

from datetime import datetime, timedelta

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like import Broker, ExecutionMode, ExecutionPrice, NoCommission, OrderSide
from nautilus_like.config import InitialHwmSource
from nautilus_like.config import ExecutionPrice as EP

T0 = datetime(2024, 1, 2)
BARS = [(100.0, 104.0, 98.0, 102.0, 101.0), (103.0, 106.0, 102.0, 105.0, 104.0), (104.0, 105.0, 100.0, 101.0, 102.0)]


def prices() -> pl.DataFrame:
    return pl.DataFrame([{"timestamp": T0 + timedelta(days=i), "asset": "A", "open": o, "high": h, "low": l,
                          "close": c, "mid_price": m, "volume": 1e6} for i, (o, h, l, c, m) in enumerate(BARS)])


class BuyOnce(nl.Strategy):
    def __init__(self):
        self.seen = []

    def on_data(self, timestamp, data, context, broker):
        self.seen.append((data["A"]["price"], data["A"]["close"]))
        if len(self.seen) == 1:
            broker.submit_order("A", 10)


def run(**config):
    strategy = BuyOnce()
    feed = nl.DataFeed(prices_df=prices(), price_col="mid_price")
    result = nl.Engine(feed, strategy, nl.BacktestConfig(**config)).run()
    return result, strategy


@pytest.mark.parametrize("config, fill, equity", [
    # NEXT_BAR at the open: 103 on bar 1; cash 98,970, marked at the reference 104, 102.
    ({}, (103.0, "open"), [100_000.0, 98_970.0 + 1_040.0, 98_970.0 + 1_020.0]),
    # SAME_BAR at PRICE: the reference 101; cash 98,990.
    (dict(execution_mode=ExecutionMode.SAME_BAR, execution_price=EP.PRICE), (101.0, "price"),
     [98_990.0 + 1_010.0, 98_990.0 + 1_040.0, 98_990.0 + 1_020.0]),
    # SAME_BAR at CLOSE: the close 102; cash 98,980, still marked at the reference.
    (dict(execution_mode=ExecutionMode.SAME_BAR, execution_price=EP.CLOSE), (102.0, "close"),
     [98_980.0 + 1_010.0, 98_980.0 + 1_040.0, 98_980.0 + 1_020.0]),
    # mark_price=CLOSE marks at the close (102, 105, 101) instead.
    (dict(execution_mode=ExecutionMode.SAME_BAR, execution_price=EP.PRICE, mark_price=EP.CLOSE), (101.0, "price"),
     [98_990.0 + 1_020.0, 98_990.0 + 1_050.0, 98_990.0 + 1_010.0]),
])
def test_fills_take_their_source_and_marks_the_reference_price(config, fill, equity):
    result, strategy = run(**config)
    assert strategy.seen == [(101.0, 102.0), (104.0, 105.0), (102.0, 101.0)]
    f = result.to_fills_dataframe()
    assert (f["price"][0], f["price_source"][0]) == fill
    assert f["reference_price"][0] == (101.0 if config else 104.0)  # the fill bar's reference price
    assert result.to_portfolio_state_dataframe()["equity"].to_list() == pytest.approx(equity, abs=1e-9)


def test_a_trailing_stop_follows_the_reference_price_not_the_close():
    # Entry at PRICE 101 on bar 0. The high water mark follows the reference:
    # 104 after bar 1 (the close 105 would give 105), so a 3% trail stands at
    # 104 * 0.97 = 100.88 on bar 2, whose low 100 crosses it: exit at 100.88
    # (from the close it would be 101.85).
    class Trailed(BuyOnce):
        def on_start(self, broker):
            broker.set_position_rules(nl.TrailingStop(pct=0.03))

    feed = nl.DataFeed(prices_df=prices(), price_col="mid_price")
    config = nl.BacktestConfig(execution_mode=ExecutionMode.SAME_BAR, execution_price=EP.PRICE)
    result = nl.Engine(feed, Trailed(), config).run()
    f = result.to_fills_dataframe()
    assert f["price"].to_list() == pytest.approx([101.0, 104.0 * 0.97], abs=1e-9)
    assert f["exit_reason"].to_list() == ["", "trailing_stop"]


def test_a_reference_price_column_is_validated():
    bad = prices().with_columns(pl.when(pl.col("close") == 105.0).then(-1.0).otherwise(pl.col("mid_price"))
                                .alias("mid_price"))
    with pytest.raises(ValueError, match=r'column "price" must be finite and > 0: got -1 for asset "A"'):
        nl.DataFeed(prices_df=bad, price_col="mid_price")


def standalone(**kwargs):
    broker = Broker(initial_cash=100_000.0, commission_model=NoCommission(), **kwargs)
    broker._update_time(timestamp=datetime(2024, 1, 2, 9, 30), prices={"A": 100.0}, opens={"A": 99.0},
                        highs={"A": 105.0}, lows={"A": 95.0}, closes={"A": 102.0},
                        volumes={"A": 1e6}, signals={})
    broker.submit_order("A", 10.0, OrderSide.BUY)
    broker._process_orders()
    return broker


def test_a_standalone_brokers_closes_price_close_fills_and_prices_mark():
    # CLOSE fills at the close 102 (cash 98,980); the account values the
    # position at the price 100 (the position's own mark moves with the
    # engine's marking steps, not with `_update_time`, as in ml4t).
    broker = standalone(execution_price=ExecutionPrice.CLOSE)
    position = broker.get_position("A")
    assert (position.entry_price, position.current_price) == (102.0, 102.0)
    assert broker.get_cash() == 98_980.0
    assert broker.get_account_value() == 98_980.0 + 1_000.0
    # PRICE fills at 100; BAR_CLOSE water marks start at the close.
    broker = standalone(execution_price=ExecutionPrice.PRICE, initial_hwm_source=InitialHwmSource.BAR_CLOSE)
    position = broker.get_position("A")
    assert (position.entry_price, position.high_water_mark, position.low_water_mark) == (100.0, 102.0, 102.0)
