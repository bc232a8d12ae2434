"""Property tests (hypothesis) through the whole stack: feed -> Cython -> Rust -> results."""

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nautilus_like as nl

T0 = datetime(2024, 1, 1)


@st.composite
def scenarios(draw):
    n_bars = draw(st.integers(3, 25))
    assets = ["A", "B", "C"][: draw(st.integers(1, 3))]
    rows = []
    for a in assets:
        price = draw(st.floats(5, 500))
        for b in range(n_bars):
            if b and draw(st.integers(0, 9)) == 0:
                continue  # asset missing on this bar
            ret = draw(st.floats(-0.1, 0.1))
            open_ = price * (1 + draw(st.floats(-0.03, 0.03)))
            close = open_ * (1 + ret)
            rows.append({"timestamp": T0 + timedelta(days=b), "asset": a, "open": open_,
                         "high": max(open_, close) * 1.01, "low": min(open_, close) * 0.99, "close": close})
            price = close
    orders = draw(st.lists(st.tuples(st.integers(0, n_bars - 1), st.sampled_from(assets),
                                     st.floats(-60, 60).filter(lambda q: abs(q) > 1e-6)), max_size=40))
    config = nl.BacktestConfig(
        initial_cash=draw(st.sampled_from([2_000.0, 20_000.0])),
        execution_mode=draw(st.sampled_from(list(nl.ExecutionMode))),
        execution_price=draw(st.sampled_from([nl.ExecutionPrice.OPEN, nl.ExecutionPrice.CLOSE])),
        share_type=draw(st.sampled_from(list(nl.ShareType))),
        allow_short_selling=draw(st.booleans()),
        commission_rate=draw(st.sampled_from([0.0, 0.001])),
        slippage_fixed=draw(st.sampled_from([0.0, 0.01])),
    )
    return pl.DataFrame(rows), orders, config


class Orders(nl.Strategy):
    def __init__(self, orders):
        self.by_bar = {}
        for bar, asset, qty in orders:
            self.by_bar.setdefault(bar, []).append((asset, qty))
        self.bar = -1

    def on_data(self, timestamp, data, context, broker):
        self.bar += 1
        for asset, qty in self.by_bar.get(self.bar, []):
            broker.submit_order(asset, qty)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_equity_equals_cash_plus_trade_pnl_and_results_are_consistent(scenario):
    prices, orders, config = scenario
    result = nl.Engine(nl.DataFeed(prices_df=prices), Orders(orders), config).run()
    trades = result.to_trades_dataframe()
    fills = result.to_fills_dataframe()
    equity = result.to_equity_dataframe()
    m = result.metrics
    # Every dollar is accounted for: equity = initial cash + net P&L of all
    # trades (closed, partial and open rows).
    assert m["final_value"] == pytest.approx(config.initial_cash + trades["pnl"].sum(), rel=1e-9, abs=1e-6)
    # Commission charged on fills equals fees attributed to trades.
    assert fills["commission"].sum() == pytest.approx(trades["fees"].sum(), rel=1e-9, abs=1e-9)
    assert m["num_fills"] == fills.height and m["num_trades"] == trades.filter(pl.col("status") != "open").height
    assert equity.height == prices["timestamp"].n_unique()
    assert (equity["drawdown"] <= 0).all() and (equity["high_water_mark"] >= equity["equity"]).all()
    if not config.allow_short_selling:
        assert (trades["quantity"] > 0).all()
        assert (pl.Series(result._raw["cash"]) >= -0.01 - 1e-9).all()
    if config.share_type is nl.ShareType.INTEGER:
        assert (fills["quantity"] == fills["quantity"].floor()).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["X", "Y", "Z"]), st.integers(-5, 5), st.booleans(),
                          st.one_of(st.none(), st.floats(-1e6, 1e6))), min_size=1, max_size=12, unique_by=lambda r: r[0]))
def test_data_view_equals_the_plain_dict(rows):
    prices = pl.DataFrame({"timestamp": [T0] * len(rows), "asset": [r[0] for r in rows],
                           "close": [float(abs(r[1]) + 1) for r in rows]})
    signals = pl.DataFrame({"timestamp": [T0] * len(rows), "asset": [r[0] for r in rows],
                            "i": [r[1] for r in rows], "b": [r[2] for r in rows],
                            "f": pl.Series([r[3] for r in rows], dtype=pl.Float64)})
    data = nl.DataFeed(prices_df=prices, signals_df=signals)._market_view().bar_data(0)
    expected = {r[0]: {"price": abs(r[1]) + 1.0, "open": abs(r[1]) + 1.0, "high": abs(r[1]) + 1.0,
                       "low": abs(r[1]) + 1.0, "close": abs(r[1]) + 1.0, "volume": 0.0,
                       "signals": {"i": r[1], "b": r[2], "f": r[3]}} for r in rows}
    assert data == expected
    assert data.keys() == [r[0] for r in rows]  # input order
