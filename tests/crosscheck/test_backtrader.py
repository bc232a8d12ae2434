"""nautilus_like's "backtrader" preset against backtrader itself.

The SMA-crossover strategy of `examples/backtrader_crosscheck.py` runs through
backtrader's Cerebro (default broker: next-bar-open market fills, percentage
commission) and through nautilus_like with `BacktestConfig.from_preset("backtrader")`.
Every fill (date, asset, signed size, price, commission), every closed round
trip (dates, size, prices, gross and net P&L), the open positions and the final
value must agree, floats within 1e-9 relative, on:

* a seeded 12-year GBM series (4 assets, 3,130 business days), and
* the bundled `sample_prices` (8 assets, 2021-2023),

for fixed and percent-of-equity sizing, with and without commission, long-only
and long/short, with stop orders, and with our StopLoss rule against a
backtrader stop order at the same level. A ten-bar scenario computed by hand
pins what both engines must produce, so the comparison cannot agree vacuously.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("backtrader", reason="backtrader is not installed (pip install backtrader, or the [test] extra)")
pytest.importorskip("pandas", reason="backtrader's PandasData feed needs pandas")

ROOT = Path(__file__).resolve().parents[2]


def _load_example():
    spec = importlib.util.spec_from_file_location("nl_backtrader_crosscheck", ROOT / "examples" / "backtrader_crosscheck.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


xc = _load_example()
SETUPS = {s.name: s for s in xc.SETUPS}


@functools.cache
def dataset(name: str) -> pl.DataFrame:
    if name == "gbm":
        return xc.gbm_prices()
    from nautilus_like.data import sample_prices
    return sample_prices()


@functools.cache
def both_runs(data_name: str, setup_name: str) -> tuple[dict, dict]:
    prices, setup = dataset(data_name), SETUPS[setup_name]
    return xc.run_nautilus(prices, setup), xc.run_backtrader(prices, setup)


# ----------------------------------------------------------- hand computed

# | bar | date       | open | high | low  | close | SMA(2) | SMA(3) | cross |
# |-----|------------|------|------|------|-------|--------|--------|-------|
# | 0   | 2024-01-01 | 12.0 | 12.5 | 11.5 | 12.0  |        |        |       |
# | 1   | 2024-01-02 | 12.0 | 12.5 | 10.5 | 11.0  | 11.5   |        |       |
# | 2   | 2024-01-03 | 11.0 | 11.5 |  9.5 | 10.0  | 10.5   | 11.000 |       |
# | 3   | 2024-01-04 | 10.0 | 11.5 |  9.5 | 11.0  | 10.5   | 10.667 | 0     |
# | 4   | 2024-01-05 | 11.0 | 13.5 | 10.5 | 13.0  | 12.0   | 11.333 | +1    |
# | 5   | 2024-01-08 | 13.5 | 14.5 | 13.0 | 14.0  | 13.5   | 12.667 | 0     |
# | 6   | 2024-01-09 | 14.0 | 14.5 | 12.5 | 13.0  | 13.5   | 13.333 | 0     |
# | 7   | 2024-01-10 | 13.0 | 13.5 | 10.5 | 11.0  | 12.0   | 12.667 | -1    |
# | 8   | 2024-01-11 | 10.5 | 11.0 |  9.5 | 10.0  | 10.5   | 11.333 | 0     |
# | 9   | 2024-01-12 | 10.0 | 10.5 |  9.5 | 10.0  | 10.0   | 10.333 | 0     |
HAND_BARS = [(12.0, 12.5, 11.5, 12.0), (12.0, 12.5, 10.5, 11.0), (11.0, 11.5, 9.5, 10.0), (10.0, 11.5, 9.5, 11.0),
             (11.0, 13.5, 10.5, 13.0), (13.5, 14.5, 13.0, 14.0), (14.0, 14.5, 12.5, 13.0), (13.0, 13.5, 10.5, 11.0),
             (10.5, 11.0, 9.5, 10.0), (10.0, 10.5, 9.5, 10.0)]
HAND_DAYS = [date(2024, 1, 1) + timedelta(days=d) for d in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)]


def hand_prices() -> pl.DataFrame:
    return pl.DataFrame([{"timestamp": datetime.combine(d, datetime.min.time()), "asset": "XYZ", "open": o,
                          "high": h, "low": l, "close": c, "volume": 1_000.0}
                         for d, (o, h, l, c) in zip(HAND_DAYS, HAND_BARS)])


def test_hand_computed_crossover_on_both_engines():
    """Up-cross at bar 4's close: buy 100 at bar 5's open (13.5). Down-cross at
    bar 7: sell the 100 and 100 more short at bar 8's open (10.5). Commission
    0.1% of notional: 1.35 on the entry, 1.05 on each bar-8 fill.
    Long round trip: gross (10.5 - 13.5) * 100 = -300, net -302.40.
    Final value: 100,000 - 302.40 - 1.05 + (10.5 - 10.0) * 100 (the short at
    bar 9's close) = 99,746.55."""
    setup = xc.CrossoverSetup("hand", fast=2, slow=3, allow_short=True, shares=100, commission=0.001)
    signals = xc.crossover_signals(hand_prices(), setup.fast, setup.slow)["cross"].to_list()
    assert signals == [0, 0, 0, 0, 1, 0, 0, -1, 0, 0]
    expected_trade = xc.RoundTrip("XYZ", date(2024, 1, 8), date(2024, 1, 11), 100, 13.5, 10.5, -300.0, -302.40)
    for run in (xc.run_nautilus, xc.run_backtrader):
        got = run(hand_prices(), setup)
        assert len(got["trades"]) == 1 and xc.same_row(got["trades"][0], expected_trade), (run.__name__, got["trades"])
        assert [(name, float(qty), px) for name, qty, px in got["open"]] == [("XYZ", -100.0, 10.5)], run.__name__
        assert got["final_value"] == pytest.approx(99_746.55, rel=1e-12), run.__name__


# ------------------------------------------------------------- multi-year

# Closed round trips each run must at least produce (the counts printed by the
# example are higher); guards against both engines agreeing on doing nothing.
MIN_TRADES = {"gbm": 200, "sample": 100}


@pytest.mark.parametrize("setup_name", list(SETUPS))
@pytest.mark.parametrize("data_name", ["gbm", "sample"])
def test_same_fills_trades_and_final_value(data_name, setup_name):
    ours, theirs = both_runs(data_name, setup_name)
    assert xc.differences(ours, theirs, SETUPS[setup_name]) == []
    assert len(ours["trades"]) >= MIN_TRADES[data_name]
    assert ours["final_value"] != pytest.approx(SETUPS[setup_name].initial_cash)


def test_stop_orders_fill_at_the_level_and_at_gapped_opens():
    """The stop-order runs exercise both of backtrader's stop prices: the stop
    level (bar traded through it) and the open (bar opened beyond it)."""
    setup = next(s for s in xc.SETUPS if s.stop_pct is not None and s.stop == "order")
    ours, _ = both_runs("gbm", setup.name)
    fills = ours["result"].to_fills_dataframe().filter(pl.col("order_type") == "stop")
    opens = dataset("gbm").select("timestamp", "asset", "open")
    at_open = fills.join(opens, on=["timestamp", "asset"]).filter(pl.col("price") == pl.col("open")).height
    assert at_open >= 5
    assert fills.height - at_open >= 100


def test_stop_loss_rule_exits_happen():
    setup = next(s for s in xc.SETUPS if s.stop == "rule")
    ours, _ = both_runs("gbm", setup.name)
    exits = ours["result"].to_trades_dataframe()["exit_reason"].to_list()
    assert exits.count("stop_loss") >= 50


def test_target_orders_scale_positions_in_and_out():
    """The monthly target run compares position lifetimes; make sure positions
    really were reduced part-way (our `partial` rows) and not only opened and closed."""
    setup = next(s for s in xc.SETUPS if s.monthly_target)
    ours, theirs = both_runs("gbm", setup.name)
    statuses = ours["result"].to_trades_dataframe()["status"].to_list()
    assert statuses.count("partial") >= 50
    assert len(theirs["trades"]) < statuses.count("closed") + statuses.count("partial")
