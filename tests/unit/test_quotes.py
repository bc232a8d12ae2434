"""Quote columns: bar data keys, quote execution prices, VWAP checks, fill and trade quotes.

AAA bar 1: open 102, close 103; quotes on AAA bar 1 only: bid 102.8, ask 103.3, vwap 102.9,
bid size 40, ask size 70.
"""

import polars as pl
import pytest

import nautilus_like as nl
from tests.conftest import Scripted, fixture_prices, ts

FEED_KW = dict(bid_col="b", ask_col="a", vwap_col="v", bid_size_col="bs", ask_size_col="as")


def quoted():
    on = (pl.col("asset") == "AAA") & (pl.col("timestamp") == ts(1))
    return fixture_prices().with_columns(
        pl.when(on).then(102.8).alias("b"), pl.when(on).then(103.3).alias("a"),
        pl.when(on).then(102.9).alias("v"), pl.when(on).then(40.0).alias("bs"), pl.when(on).then(70.0).alias("as"))


def quoted_run(actions, config=None, observe=None):
    feed = nl.DataFeed(prices_df=quoted(), **FEED_KW)
    strategy = Scripted(actions, observe)
    return nl.Engine(feed, strategy, config or nl.BacktestConfig()).run(), strategy


def test_bar_data_shows_quote_keys_only_where_present():
    _, s = quoted_run({}, observe=lambda bar, t, data, c, b: (bar, data["AAA"].to_dict(), list(data["BBB"])))
    bar1 = s.seen[1][1]
    assert {k: bar1[k] for k in ("bid", "ask", "mid", "vwap", "bid_size", "ask_size")} == {
        "bid": 102.8, "ask": 103.3, "mid": (102.8 + 103.3) / 2, "vwap": 102.9, "bid_size": 40.0, "ask_size": 70.0}
    assert "bid" not in s.seen[0][1] and "bid" not in s.seen[1][2]


@pytest.mark.parametrize("source, price", [("bid", 102.8), ("ask", 103.3), ("quote_mid", (102.8 + 103.3) / 2),
                                           ("quote_side", 103.3), ("vwap", 102.9), ("close", 102.0)])
def test_next_bar_fills_at_the_quote(source, price):
    result, _ = quoted_run({0: [lambda b: b.submit_order("AAA", 10)]}, nl.BacktestConfig(execution_price=source))
    f = result.to_fills_dataframe()
    assert f["price"][0] == price
    assert f.select("bid_price", "ask_price", "spread", "available_size").row(0) == (
        102.8, 103.3, pytest.approx(0.5), 70.0)


def test_vwap_needs_a_vwap_column():
    feed = nl.DataFeed(prices_df=fixture_prices())
    with pytest.raises(ValueError, match="vwap_col"):
        nl.Engine(feed, Scripted(), nl.BacktestConfig(execution_price="vwap"))
    with pytest.raises(ValueError, match="bid_col='nope' not found"):
        nl.DataFeed(prices_df=fixture_prices(), bid_col="nope")


def test_invalid_quotes_are_refused():
    bad = quoted().with_columns(pl.when(pl.col("b").is_not_null()).then(-1.0).alias("b"))
    with pytest.raises(ValueError, match=r'column "bid" must be finite and > 0: got -1 for asset "AAA"'):
        nl.DataFeed(prices_df=bad, **FEED_KW)


def test_trades_carry_entry_and_exit_quotes():
    result, _ = quoted_run({0: [lambda b: b.submit_order("AAA", 10)]})
    row = result.to_trades_dataframe().row(0, named=True)   # still open at the end
    assert (row["entry_bid_price"], row["entry_ask_price"], row["status"]) == (102.8, 103.3, "open")
    assert row["exit_bid_price"] is None          # no quotes on the last bar
