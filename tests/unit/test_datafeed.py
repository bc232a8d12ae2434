"""DataFeed input handling and the errors bad input gets."""

import math
from datetime import datetime

import polars as pl
import pytest

import nautilus_like as nl
from tests.conftest import fixture_prices, ts


def frame(**cols):
    n = len(next(iter(cols.values())))
    base = {"timestamp": [ts(i) for i in range(n)], "asset": ["A"] * n}
    base.update(cols)
    return pl.DataFrame(base)


def test_missing_ohlc_falls_back_to_close_and_volume_to_zero():
    feed = nl.DataFeed(prices_df=frame(close=[10.0, 11.0]))
    bar = feed._market_view().bar_data(0)["A"]
    assert bar.to_dict() == {"price": 10.0, "open": 10.0, "high": 10.0, "low": 10.0, "close": 10.0,
                             "volume": 0.0, "signals": {}}


def test_null_open_falls_back_to_close_and_null_volume_to_zero():
    feed = nl.DataFeed(prices_df=frame(open=[None, 9.0], close=[10.0, 11.0], volume=[None, 5.0]))
    view = feed._market_view()
    assert view.bar_data(0)["A"]["open"] == 10.0
    assert view.bar_data(0)["A"]["volume"] == 0.0
    assert view.bar_data(1)["A"]["open"] == 9.0


@pytest.mark.parametrize("entity", ["symbol", "asset", "product", "ticker"])
def test_asset_column_is_detected(entity):
    df = frame(close=[1.0]).rename({"asset": entity})
    assert nl.DataFeed(prices_df=df).assets == ["A"]


def test_price_column_is_accepted_when_close_is_missing():
    feed = nl.DataFeed(prices_df=frame(price=[5.0]))
    assert feed._market_view().bar_data(0)["A"]["close"] == 5.0


@pytest.mark.parametrize("bad, text", [
    (math.nan, "nan"), (-1.0, "-1"), (0.0, "0"), (math.inf, "inf"),
])
def test_bad_prices_name_column_asset_and_timestamp(bad, text):
    df = pl.DataFrame({"timestamp": [ts(0), ts(1)], "asset": ["A", "B"], "close": [10.0, 10.0],
                       "high": [10.0, bad]})
    with pytest.raises(ValueError) as err:
        nl.DataFeed(prices_df=df)
    msg = str(err.value)
    assert "'high'" in msg or '"high"' in msg
    assert "B" in msg and "2024-01-02" in msg and text in msg.lower()


def test_negative_volume_is_refused():
    with pytest.raises(ValueError, match="volume"):
        nl.DataFeed(prices_df=frame(close=[1.0], volume=[-5.0]))


def test_null_close_is_refused_with_asset_and_time():
    with pytest.raises(ValueError, match=r"'close' is null for asset 'A' at 2024-01-02"):
        nl.DataFeed(prices_df=frame(close=[1.0, None]))


def test_duplicate_rows_are_refused():
    df = pl.concat([fixture_prices(), fixture_prices().head(1)])
    with pytest.raises(ValueError, match=r'duplicate \(timestamp, asset\) row: asset "AAA" at 2024-01-01'):
        nl.DataFeed(prices_df=df)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="'close'"):
        nl.DataFeed(prices_df=frame(open=[1.0]))
    with pytest.raises(ValueError, match="Cannot detect entity column"):
        nl.DataFeed(prices_df=pl.DataFrame({"timestamp": [ts(0)], "close": [1.0]}))
    with pytest.raises(ValueError, match="timestamp_col='timestamp' not found"):
        nl.DataFeed(prices_df=pl.DataFrame({"asset": ["A"], "close": [1.0]}))
    with pytest.raises(ValueError, match="prices_path or prices_df required"):
        nl.DataFeed()
    with pytest.raises(ValueError, match="'close' must be numeric"):
        nl.DataFeed(prices_df=frame(close=["x"]))
    with pytest.raises(ValueError, match="null"):
        nl.DataFeed(prices_df=pl.DataFrame({"timestamp": [None, ts(0)], "asset": ["A", "A"], "close": [1.0, 2.0]}))


def test_unsorted_input_is_sorted_by_time_keeping_row_order_within_a_timestamp():
    df = pl.DataFrame({"timestamp": [ts(1), ts(0), ts(0)], "asset": ["ZZ", "ZZ", "AA"],
                       "close": [3.0, 1.0, 2.0]})
    view = nl.DataFeed(prices_df=df)._market_view()
    assert view.bar_data(0).keys() == ["ZZ", "AA"]
    assert view.bar_data(1).keys() == ["ZZ"]


def test_lazy_pandas_and_parquet_inputs(tmp_path):
    prices = fixture_prices()
    path = tmp_path / "prices.parquet"
    prices.write_parquet(path)
    pytest.importorskip("pandas")
    feeds = [nl.DataFeed(prices_df=prices.lazy()), nl.DataFeed(prices_path=path),
             nl.DataFeed(prices_df=prices.to_pandas())]
    for feed in feeds:
        assert feed.assets == ["AAA", "BBB"] and len(feed) == 5


def test_signals_and_context_only_timestamps_become_empty_bars():
    prices = pl.DataFrame({"timestamp": [ts(0), ts(2)], "asset": ["A", "A"], "close": [1.0, 3.0]})
    signals = pl.DataFrame({"timestamp": [ts(1)], "asset": ["A"], "x": [0.5]})
    context = pl.DataFrame({"timestamp": [ts(3)], "vix": [20.0]})
    feed = nl.DataFeed(prices_df=prices, signals_df=signals, context_df=context)
    assert feed.timestamps == [ts(0), ts(1), ts(2), ts(3)]
    view = feed._market_view()
    assert len(view.bar_data(1)) == 0 and view.bar_data(3) == {}
    assert feed._contexts() == [{}, {}, {}, {"vix": 20.0}]


def test_duplicate_signal_and_context_keys_are_refused():
    prices = fixture_prices()
    sig = pl.DataFrame({"timestamp": [ts(0), ts(0)], "asset": ["AAA", "AAA"], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="duplicate signals row"):
        nl.DataFeed(prices_df=prices, signals_df=sig)
    ctx = pl.DataFrame({"timestamp": [ts(0), ts(0)], "vix": [1.0, 2.0]})
    with pytest.raises(ValueError, match="duplicate context row"):
        nl.DataFeed(prices_df=prices, context_df=ctx)


def test_timezone_aware_timestamps_are_kept():
    df = frame(close=[1.0, 2.0]).with_columns(pl.col("timestamp").dt.replace_time_zone("America/New_York"))
    feed = nl.DataFeed(prices_df=df)
    assert feed.timestamps[0].tzinfo is not None
    assert feed.timeline.dtype == pl.Datetime("us", "America/New_York")


def test_signals_of_unknown_assets_or_missing_rows_are_not_shown():
    prices = fixture_prices(skip={(1, "BBB")})
    signals = pl.DataFrame({"timestamp": [ts(0), ts(1), ts(1)], "asset": ["ZZZ", "BBB", "AAA"], "x": [1, 2, 3]})
    view = nl.DataFeed(prices_df=prices, signals_df=signals)._market_view()
    assert view.bar_data(0)["AAA"]["signals"] == {}
    assert view.bar_data(1).to_dict().keys() == {"AAA"}
    assert view.bar_data(1)["AAA"]["signals"] == {"x": 3}


def test_rust_keeps_bar_times_in_utc_nanoseconds():
    # 2024-01-02 09:30 in New York is 14:30 UTC: 1704205800 s since the epoch.
    ny = pl.Series([datetime(2024, 1, 2, 9, 30), datetime(2024, 1, 3, 9, 30)]).dt.replace_time_zone("America/New_York")
    feed = nl.DataFeed(prices_df=pl.DataFrame({"timestamp": ny, "asset": ["A", "A"], "close": [1.0, 2.0]}))
    assert feed._market.timestamp_ns(0) == 1_704_205_800 * 10**9
    assert feed._market.timestamp_ns(1) == (1_704_205_800 + 86_400) * 10**9
    # Dates are midnight UTC; integer timestamps are no clock: bars are numbered.
    days = pl.DataFrame({"timestamp": [datetime(1970, 1, 2).date()], "asset": ["A"], "close": [1.0]})
    assert nl.DataFeed(prices_df=days)._market.timestamp_ns(0) == 86_400 * 10**9
    steps = pl.DataFrame({"timestamp": [1, 2], "asset": ["A", "A"], "close": [1.0, 2.0]})
    assert [nl.DataFeed(prices_df=steps)._market.timestamp_ns(b) for b in (0, 1)] == [0, 1]
    with pytest.raises(IndexError, match="bar 2 out of range"):
        nl.DataFeed(prices_df=steps)._market.timestamp_ns(2)


def test_a_feed_without_rows_runs_to_an_empty_result():
    empty = pl.DataFrame(schema={"timestamp": pl.Datetime, "asset": pl.Utf8, "open": pl.Float64,
                                 "high": pl.Float64, "low": pl.Float64, "close": pl.Float64, "volume": pl.Float64})

    class Buy(nl.Strategy):
        def on_data(self, timestamp, data, context, broker):
            raise AssertionError("no bar, no call")

    result = nl.Engine(nl.DataFeed(prices_df=empty), Buy()).run()
    assert result.trades == [] and result.fills == [] and result.equity_curve == []
    assert result.metrics["num_trades"] == 0 and result.metrics["final_value"] == 100_000.0


def test_iterating_a_feed_yields_ml4ts_bar_dicts():
    t0, t1 = datetime(2024, 1, 1), datetime(2024, 1, 2)
    prices = pl.DataFrame({"timestamp": [t0, t0, t1], "asset": ["A", "B", "A"], "close": [1.0, 2.0, 3.0]})
    signals = pl.DataFrame({"timestamp": [t0], "asset": ["B"], "score": [0.5]})
    context = pl.DataFrame({"timestamp": [t1], "vix": [20.0]})
    feed = nl.DataFeed(prices_df=prices, signals_df=signals, context_df=context)
    bars = list(feed)
    assert feed.n_bars == 2 and [b[0] for b in bars] == [t0, t1]
    assert bars[0][1]["B"] == {"price": 2.0, "open": 2.0, "high": 2.0, "low": 2.0, "close": 2.0, "volume": 0.0,
                               "signals": {"score": 0.5}}
    assert bars[0][1]["A"]["signals"] == {} and bars[0][2] == {}
    assert list(bars[1][1]) == ["A"] and bars[1][2] == {"vix": 20.0}
