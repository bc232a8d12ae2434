"""The Cython example strategy (examples/cython_strategy) against its plain-Python twin.

The example is compiled once into a pytest temp dir with its build helper, then
both strategies run through `nautilus_like.Engine` on the same small
deterministic data; fills (asset, side, quantity, price, commission) must be
identical and final equity equal.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import nautilus_like as nl

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cython_strategy"
FILL_COLUMNS = ["asset", "side", "quantity", "price", "commission"]

pytest.importorskip("Cython")
pytest.importorskip("setuptools")


def _build_helper():
    # A unique module name: the repository root has its own `build.py` (the build backend).
    spec = importlib.util.spec_from_file_location("nl_cython_example_build", EXAMPLE / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The compiled `signal_strategy` extension module."""
    helper = _build_helper()
    target = tmp_path_factory.mktemp("cython_strategy")
    so_path = helper.build(target, force=True)
    assert so_path.exists() and so_path.parent == Path(target).resolve()
    spec = importlib.util.spec_from_file_location("signal_strategy", so_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.__file__ == str(so_path)
    return mod


def _python_rule():
    spec = importlib.util.spec_from_file_location("nl_cython_example_rule", EXAMPLE / "python_rule.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.python_strategy


# The same rule in plain Python (the example's reference implementation).
PySignalStrategy = _python_rule()(nl.Strategy)


def make_data(n_bars=120, n_assets=7, seed=7, *, drop_rows=True, drop_signals=True,
              signal_kind="float"):
    """Random-walk OHLCV + a signal. Some (bar, asset) rows are missing, and
    some rows have no signal row, to exercise both paths of the strategy."""
    rng = np.random.default_rng(seed)
    start = datetime(2021, 1, 4)
    rows, sig_rows = [], []
    close = np.full(n_assets, 50.0)
    for b in range(n_bars):
        ts = start + timedelta(days=b)
        # Assets in a shuffled (but seeded) order per bar: submission order follows it.
        for a in rng.permutation(n_assets):
            ret = rng.normal(0.0, 0.01)
            open_ = close[a] * np.exp(rng.normal(0.0, 0.002))
            close[a] = close[a] * np.exp(ret)
            high = max(open_, close[a]) * (1 + abs(rng.normal(0, 0.003)))
            low = min(open_, close[a]) * (1 - abs(rng.normal(0, 0.003)))
            u = rng.uniform(-1.0, 1.0)
            if drop_rows and rng.uniform() < 0.05:
                continue
            name = f"S{a:02d}"
            rows.append((ts, name, open_, high, low, close[a], float(rng.integers(1000, 10000))))
            if drop_signals and rng.uniform() < 0.05:
                continue
            sig_rows.append((ts, name, u))
    prices = pl.DataFrame(rows, schema=["timestamp", "asset", "open", "high", "low", "close", "volume"],
                          orient="row")
    signals = pl.DataFrame(sig_rows, schema=["timestamp", "asset", "signal"], orient="row")
    if signal_kind == "int":
        signals = signals.with_columns((pl.col("signal") * 1.9).round().cast(pl.Int64))
    elif signal_kind == "nulls":
        signals = signals.with_columns(
            pl.when(pl.int_range(pl.len()) % 11 == 3).then(None).otherwise(pl.col("signal")).alias("signal"))
    return prices, signals


def run(strategy, prices, signals):
    cfg = nl.BacktestConfig(commission_type=nl.CommissionType.PERCENTAGE, commission_rate=0.001,
                            initial_cash=1_000_000.0, execution_mode=nl.ExecutionMode.NEXT_BAR)
    result = nl.Engine(nl.DataFeed(prices_df=prices, signals_df=signals), strategy, cfg).run()
    return result.to_fills_dataframe().select(FILL_COLUMNS), result.metrics["final_value"]


def assert_same(fills_py, eq_py, fills_cy, eq_cy):
    assert fills_py.height > 0
    assert fills_cy.height == fills_py.height
    # Exact equality, column by column (prices and commissions included).
    assert fills_cy.equals(fills_py), fills_cy.join(fills_py, how="anti", on=FILL_COLUMNS)
    assert eq_cy == pytest.approx(eq_py, rel=1e-12, abs=0)


def test_compiled_strategy_is_a_cdef_subclass(compiled):
    strat = compiled.SignalStrategy()
    assert isinstance(strat, nl.Strategy)
    assert type(strat).__module__ == "signal_strategy"
    assert not hasattr(strat, "__dict__")  # an extension type, not a Python class
    assert (strat.signal, strat.quantity, strat.entry, strat.exit) == ("signal", 10.0, 0.5, -0.5)


@pytest.mark.parametrize("signal_kind", ["float", "int", "nulls"])
def test_same_fills_and_equity_as_python(compiled, signal_kind):
    prices, signals = make_data(signal_kind=signal_kind)
    if signal_kind == "nulls":
        # Python compares None > 0.5 and raises; a null signal means "no action"
        # in the Cython strategy. Compare against the Python rule with nulls as 0.
        signals_py = signals.with_columns(pl.col("signal").fill_null(0.0))
    else:
        signals_py = signals
    fills_py, eq_py = run(PySignalStrategy(), prices, signals_py)
    fills_cy, eq_cy = run(compiled.SignalStrategy(), prices, signals)
    assert set(fills_py["side"].to_list()) == {"buy", "sell"}
    assert_same(fills_py, eq_py, fills_cy, eq_cy)


def test_dense_float_signals(compiled):
    """Every row present, every row with a signal: the engine's zero-copy fast path."""
    prices, signals = make_data(n_bars=250, n_assets=12, seed=20240521, drop_rows=False, drop_signals=False)
    assert_same(*run(PySignalStrategy(), prices, signals), *run(compiled.SignalStrategy(), prices, signals))


def test_generic_mapping_path(compiled):
    """A Python subclass that hands the Cython `on_data` a plain dict (the mapping path)."""

    class ViaDict(compiled.SignalStrategy):
        def on_data(self, timestamp, data, context, broker):
            return super().on_data(timestamp, data.to_dict(), context, broker)

    prices, signals = make_data(n_bars=60, n_assets=5, seed=3)
    assert_same(*run(PySignalStrategy(), prices, signals), *run(ViaDict(), prices, signals))


def test_no_signal_column_means_no_orders(compiled):
    prices, signals = make_data(n_bars=30, n_assets=3)
    fills, equity = run(compiled.SignalStrategy(signal="missing"), prices, signals)
    assert fills.height == 0
    assert equity == pytest.approx(1_000_000.0)


def test_hand_checked_round_trip(compiled):
    """One asset, signals 0.9, 0.0, -0.9, 0.9, 0.0 on bars 0-4 (opens 10, 11, 12, 13, 14):
    bar 0 buys 10, filled at bar 1's open 11 (commission 0.1% = 0.11); bar 2
    closes, filled at bar 3's open 13 (0.13); bar 3 buys again, filled at bar
    4's open 14 (0.14). Both strategies give exactly these fills."""
    ts = [datetime(2024, 1, 1) + timedelta(days=i) for i in range(5)]
    opens = [10.0, 11.0, 12.0, 13.0, 14.0]
    prices = pl.DataFrame({"timestamp": ts, "asset": ["X"] * 5, "open": opens, "high": opens, "low": opens,
                           "close": opens, "volume": [1e6] * 5})
    signals = pl.DataFrame({"timestamp": ts, "asset": ["X"] * 5, "signal": [0.9, 0.0, -0.9, 0.9, 0.0]})
    for strategy in (PySignalStrategy(), compiled.SignalStrategy()):
        fills, equity = run(strategy, prices, signals)
        rows = fills.to_dicts()
        assert [(r["asset"], r["side"], r["quantity"], r["price"]) for r in rows] == [
            ("X", "buy", 10.0, 11.0), ("X", "sell", 10.0, 13.0), ("X", "buy", 10.0, 14.0)]
        assert [r["commission"] for r in rows] == pytest.approx([0.11, 0.13, 0.14], rel=1e-12)
        # 1,000,000 - 110.11 + 129.87 - 140.14, plus 10 shares marked at the last close 14.
        assert equity == pytest.approx(1_000_000 - 110.11 + 129.87 - 140.14 + 140.0)
