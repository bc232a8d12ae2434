"""The lazy `data` mapping behaves like the dict ml4t-backtest passes."""

from collections.abc import Mapping

import polars as pl
import pytest

import nautilus_like as nl
from tests.conftest import fixture_prices, ts


@pytest.fixture
def view():
    prices = fixture_prices()
    signals = pl.DataFrame({
        "timestamp": [ts(0), ts(0), ts(1)],
        "asset": ["AAA", "BBB", "AAA"],
        "score": [0.5, -1.0, None],
        "rank": [1, 2, 3],
        "flag": [True, False, True],
        "label": ["x", "y", "z"],
    })
    return nl.DataFeed(prices_df=prices, signals_df=signals)._market_view()


def test_bar_values_and_signals_keep_their_python_types(view):
    data = view.bar_data(0)
    bar = data["AAA"]
    assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["price"], bar["volume"]) == \
        (100.0, 102.0, 99.0, 101.0, 101.0, 1000.0)
    sig = bar["signals"]
    assert sig["score"] == 0.5 and type(sig["rank"]) is int and sig["flag"] is True and sig["label"] == "x"
    assert view.bar_data(1)["AAA"]["signals"]["score"] is None  # null stays None


def test_every_level_is_a_read_only_mapping_equal_to_the_plain_dict(view):
    data = view.bar_data(0)
    expected = {
        "AAA": {"price": 101.0, "open": 100.0, "high": 102.0, "low": 99.0, "close": 101.0, "volume": 1000.0,
                "signals": {"score": 0.5, "rank": 1, "flag": True, "label": "x"}},
        "BBB": {"price": 50.5, "open": 50.0, "high": 51.0, "low": 49.0, "close": 50.5, "volume": 1000.0,
                "signals": {"score": -1.0, "rank": 2, "flag": False, "label": "y"}},
    }
    assert data == expected and data.to_dict() == expected
    for level in (data, data["AAA"], data["AAA"]["signals"]):
        assert isinstance(level, Mapping)
        with pytest.raises(TypeError):
            level["new"] = 1
    assert list(data) == ["AAA", "BBB"] and len(data) == 2 and "AAA" in data and "ZZZ" not in data
    assert data.get("ZZZ") is None and data.get("ZZZ", 7) == 7
    assert [k for k, _ in data.items()] == data.keys()
    assert data["AAA"].keys() == ["price", "open", "high", "low", "close", "volume", "signals"]
    assert data["AAA"]["signals"].get("missing", 3) == 3
    with pytest.raises(KeyError):
        data["ZZZ"]
    with pytest.raises(KeyError):
        data["AAA"]["nope"]


def test_asset_without_a_signals_row_has_empty_signals(view):
    bbb = view.bar_data(1)["BBB"]["signals"]
    assert len(bbb) == 0 and bbb == {} and "score" not in bbb and bbb.get("score") is None
    with pytest.raises(KeyError):
        bbb["score"]


def test_only_assets_with_a_row_appear():
    prices = fixture_prices(skip={(2, "BBB")})
    data = nl.DataFeed(prices_df=prices)._market_view().bar_data(2)
    assert data.keys() == ["AAA"] and "BBB" not in data


def test_strategy_receives_views_timestamps_and_context():
    seen = []

    class Record(nl.Strategy):
        def on_data(self, timestamp, data, context, broker):
            seen.append((timestamp, data.to_dict(), context))

    prices = fixture_prices()
    ctx = pl.DataFrame({"timestamp": [ts(1)], "vix": [20.5]})
    nl.Engine(nl.DataFeed(prices_df=prices, context_df=ctx), Record()).run()
    assert [s[0] for s in seen] == [ts(i) for i in range(5)]
    assert seen[0][2] == {} and seen[1][2] == {"vix": 20.5}
    assert seen[4][1]["BBB"]["close"] == 50.0
