"""The public Cython API (`from nautilus_like cimport ...`) and the Strategy event hooks.

tests/integration/cython/api_strategy.pyx is compiled with the example's build
helper (a plain cythonize + `nautilus_like.get_include()`), then a scripted
scenario runs through every order type of the C API; a Python twin of the same
script through the Python API must log the same hook calls. Bars (open, high,
low, close), NEXT_BAR fills at the next open, no commission, 10,000 cash:

    bar   A                     B                     C
    0     100 101  99 100       150 151 149 150       50 50.5 49.5 50
    1     100 102  99 101       100 100  98  99       (C the same on every bar)
    2     101 103  95  96       150 151 149 150
    3      96  98  95  97       ...
    4      98  99  97  98
    5      99 100  98  99

By hand: bar 1 opens: the bracket entry buys 10 A at 100 (cash 9,000); B's
LIMIT buy of 1,000 at 99 triggers (low 98) but needs 99,000: rejected. Bar 2
opens at 101 and trades down to 95: the stop-loss sells 10 A at its stop, 97
(a -30 round trip, cash 9,970) and the take-profit is cancelled
(one-cancels-other); the strategy then cancels C's STOP_LIMIT and
TRAILING_STOP orders. Bar 3 buys 5 A, filled at bar 4's open 98 (cash 9,480);
bar 4 sells them, filled at bar 5's open 99: +5 (cash 9,975).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import nautilus_like as nl

pytest.importorskip("Cython")
pytest.importorskip("setuptools")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cython_strategy"
SOURCE = Path(__file__).resolve().parent / "cython" / "api_strategy.pyx"

A = [(100, 101, 99, 100), (100, 102, 99, 101), (101, 103, 95, 96), (96, 98, 95, 97), (98, 99, 97, 98),
     (99, 100, 98, 99)]
B = [(150, 151, 149, 150), (100, 100, 98, 99)] + [(150, 151, 149, 150)] * 4
C = [(50, 50.5, 49.5, 50)] * 6

EXPECTED_LOG = [
    ("fill", "ORD-1", "A", "buy", 10.0, 100.0),
    ("rejected", "ORD-4", "B"),
    ("fill", "ORD-3", "A", "sell", 10.0, 97.0),
    ("closed", "A", 10.0, 100.0, 97.0, -30.0, "closed"),
    ("cancelled", "ORD-2", "A"),
    ("cancelled", "ORD-5", "C"),
    ("cancelled", "ORD-6", "C"),
    ("fill", "ORD-7", "A", "buy", 5.0, 98.0),
    ("fill", "ORD-8", "A", "sell", 5.0, 99.0),
    ("closed", "A", 5.0, 98.0, 99.0, 5.0, "closed"),
]
# (bar, cash, equity, position in A) as on_data sees them; equity marks at the bar's close.
EXPECTED_ACCOUNT = [(0, 10_000.0, 10_000.0, 0.0), (1, 9_000.0, 10_010.0, 10.0), (2, 9_970.0, 9_970.0, 0.0),
                    (3, 9_970.0, 9_970.0, 0.0), (4, 9_480.0, 9_970.0, 5.0), (5, 9_975.0, 9_975.0, 0.0)]


def _load_build_helper():
    spec = importlib.util.spec_from_file_location("nl_cython_example_build_api", EXAMPLE / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    so = _load_build_helper().build(tmp_path_factory.mktemp("cython_api"), source=SOURCE, force=True)
    spec = importlib.util.spec_from_file_location("api_strategy", so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def feed(signals=None, quotes=False):
    start = datetime(2024, 1, 1)
    rows = []
    for b in range(6):
        for name, bars in (("A", A), ("B", B), ("C", C)):
            o, h, l, c = bars[b]
            rows.append((start + timedelta(days=b), name, float(o), float(h), float(l), float(c), 1e6))
    prices = pl.DataFrame(rows, schema=["timestamp", "asset", "open", "high", "low", "close", "volume"],
                          orient="row")
    if quotes:
        prices = prices.with_columns(bid=pl.col("close") - 0.5, ask=pl.col("close") + 0.5)
        return nl.DataFeed(prices_df=prices, signals_df=signals, bid_col="bid", ask_col="ask")
    return nl.DataFeed(prices_df=prices, signals_df=signals)


CONFIG = dict(initial_cash=10_000.0, execution_mode=nl.ExecutionMode.NEXT_BAR)


class PythonScripted(nl.Strategy):
    """The same script through the Python API, with the hooks in Python."""

    def __init__(self):
        self.log, self.account = [], []
        self.bar = -1

    def on_data(self, timestamp, data, context, broker):
        self.bar += 1
        pos = broker.get_position("A")
        self.account.append((self.bar, broker.get_cash(), broker.get_account_value(),
                             0.0 if pos is None else pos.quantity))
        if self.bar == 0:
            broker.submit_bracket("A", 10, take_profit=110.0, stop_loss=97.0)
            broker.submit_order("B", 1000, order_type=nl.OrderType.LIMIT, limit_price=99.0)
            self.stop_limit = broker.submit_order("C", 5, order_type=nl.OrderType.STOP_LIMIT,
                                                  limit_price=201.0, stop_price=200.0)
            self.trailing = broker.submit_order("C", -1, order_type=nl.OrderType.TRAILING_STOP, trail_amount=3.0)
        elif self.bar == 2:
            assert broker.cancel_order(self.stop_limit.order_id)
            assert broker.cancel_order(self.trailing.order_id)
        elif self.bar == 3:
            broker.submit_order("A", 5)
        elif self.bar == 4:
            broker.close_position("A")

    def on_fill(self, fill):
        self.log.append(("fill", fill.order_id, fill.asset, fill.side.value, fill.quantity, fill.price))

    def on_order_rejected(self, order):
        self.log.append(("rejected", order.order_id, order.asset))

    def on_order_cancelled(self, order):
        self.log.append(("cancelled", order.order_id, order.asset))

    def on_position_closed(self, trade):
        self.log.append(("closed", trade.symbol, trade.quantity, trade.entry_price, trade.exit_price,
                         trade.pnl, trade.status))


def test_every_order_type_through_the_c_api_and_the_hooks(api):
    strategy = api.ScriptedStrategy()
    engine = nl.Engine(feed(), strategy, nl.BacktestConfig(**CONFIG))
    result = engine.run()
    assert strategy.log == EXPECTED_LOG
    assert strategy.account == EXPECTED_ACCOUNT
    assert strategy.ids == [1, 2, 3, 4, 5, 6, 7, 8]
    orders = {o.order_id: o for o in engine.broker.get_orders()}
    assert orders["ORD-4"].rejection_reason and "cash" in orders["ORD-4"].rejection_reason.lower()
    assert orders["ORD-5"].order_type == nl.OrderType.STOP_LIMIT
    assert (orders["ORD-5"].limit_price, orders["ORD-5"].stop_price) == (201.0, 200.0)
    assert orders["ORD-6"].order_type == nl.OrderType.TRAILING_STOP and orders["ORD-6"].trail_amount == 3.0
    assert orders["ORD-2"].parent_id == orders["ORD-3"].parent_id == "ORD-1"
    assert result.metrics["final_value"] == pytest.approx(9_975.0)


def test_python_hooks_see_the_same_events(api):
    py = PythonScripted()
    nl.Engine(feed(), py, nl.BacktestConfig(**CONFIG)).run()
    assert py.log == EXPECTED_LOG
    assert py.account == EXPECTED_ACCOUNT


def test_a_python_subclass_of_the_cython_strategy_overrides_a_hook(api):
    class Counting(api.ScriptedStrategy):
        def on_fill(self, fill):
            self.log.append(("py-fill", fill.price))

    s = Counting()
    nl.Engine(feed(), s, nl.BacktestConfig(**CONFIG)).run()
    assert [e for e in s.log if e[0] == "py-fill"] == [("py-fill", p) for p in (100.0, 97.0, 98.0, 99.0)]
    assert [e for e in s.log if e[0] == "fill"] == []
    assert [e[0] for e in s.log if e[0] != "py-fill"] == ["rejected", "closed", "cancelled", "cancelled",
                                                         "cancelled", "closed"]


def test_hooks_can_trade_and_their_events_follow():
    """A fill hook that closes right away: the close's own fill is reported in
    the same step, after the hook returned. Bar 0 buys 1 A (filled at bar 1's
    open 100); on that fill the hook sells it (filled at bar 2's open 101)."""

    class Flip(nl.Strategy):
        def __init__(self):
            self.log = []
            self.broker = None

        def on_start(self, broker):
            self.broker = broker

        def on_data(self, timestamp, data, context, broker):
            if not self.log and broker.get_position("A") is None and not broker.get_pending_orders():
                broker.submit_order("A", 1)

        def on_fill(self, fill):
            self.log.append((fill.side.value, fill.price))
            if fill.side == nl.OrderSide.BUY:
                self.broker.close_position("A")

        def on_position_closed(self, trade):
            self.log.append(("closed", trade.pnl))

    s = Flip()
    nl.Engine(feed(), s, nl.BacktestConfig(**CONFIG)).run()
    assert s.log == [("buy", 100.0), ("sell", 101.0), ("closed", 1.0)]


def test_partial_reduction_reports_a_partial_trade():
    """Buy 10 A (bar 1 open 100), sell 4 (bar 2 open 101): one `partial` trade of
    4 (+4); sell the other 6 (bar 3 open 96): a `closed` trade of 6 (-24)."""

    class Reduce(nl.Strategy):
        def __init__(self):
            self.bar, self.closed = -1, []

        def on_data(self, timestamp, data, context, broker):
            self.bar += 1
            if self.bar == 0:
                broker.submit_order("A", 10)
            elif self.bar in (1, 2):
                broker.submit_order("A", -4 if self.bar == 1 else -6)

        def on_position_closed(self, trade):
            self.closed.append((trade.status, trade.quantity, trade.exit_price, trade.pnl))

    s = Reduce()
    nl.Engine(feed(), s, nl.BacktestConfig(**CONFIG)).run()
    assert s.closed == [("partial", 4.0, 101.0, 4.0), ("closed", 6.0, 96.0, -24.0)]


def test_no_hooks_no_tracking():
    from nautilus_like._strategy import overridden_hooks

    class Plain(nl.Strategy):
        def on_data(self, timestamp, data, context, broker):
            pass

    class One(Plain):
        def on_order_cancelled(self, order):
            pass

    assert overridden_hooks(Plain()) == frozenset()
    assert overridden_hooks(One()) == {"on_order_cancelled"}


@pytest.mark.parametrize("call, exc, text", [
    ("unknown asset", ValueError, "'ZZZ'"),
    ("row out of range", IndexError, "row 3 out of range"),
    ("negative row", IndexError, "row -1"),
    ("limit without price", ValueError, "limit"),
    ("nan quantity", ValueError, "nan"),
    ("asset id out of range", Exception, "999"),
    ("unknown order", Exception, "12345"),
    ("bad side", Exception, "7"),
    ("zero quantity", LookupError, "order id 0"),
])
def test_c_api_errors_raise_python_exceptions(api, call, exc, text):
    with pytest.raises(exc, match=text):
        nl.Engine(feed(), api.Probe(call), nl.BacktestConfig(**CONFIG)).run()


def test_row_accessors_signals_and_quotes(api):
    signals = pl.DataFrame({"timestamp": [datetime(2024, 1, 1)] * 2, "asset": ["A", "C"], "score": [0.25, None]})
    with pytest.raises(LookupError) as info:
        nl.Engine(feed(signals, quotes=True), api.Probe("rows"), nl.BacktestConfig(**CONFIG)).run()
    rows = info.value.args[0]
    assert [r[:6] for r in rows] == [(0, 100.0, 101.0, 99.0, 100.0, 1e6), (1, 150.0, 151.0, 149.0, 150.0, 1e6),
                                     (2, 50.0, 50.5, 49.5, 50.0, 1e6)]
    assert rows[0][6] == 0.25
    assert all(r[6] != r[6] for r in rows[1:])          # B: no signals row; C: null -> NaN
    assert all(r[7] != r[7] for r in rows)              # no such column -> NaN
    assert [r[8:] for r in rows] == [(True, 99.5, 100.5), (True, 149.5, 150.5), (True, 49.5, 50.5)]
    with pytest.raises(LookupError) as info:
        nl.Engine(feed(signals), api.Probe("rows"), nl.BacktestConfig(**CONFIG)).run()
    assert all(r[8] is False and r[9] != r[9] and r[10] != r[10] for r in info.value.args[0])


def test_plain_cythonize_with_get_include(tmp_path):
    """What a user's setup.py does, in a fresh interpreter where nautilus_like is
    importable from its install root (as from site-packages): cythonize + the
    header directory, nothing else."""
    (tmp_path / "mine.pyx").write_text(textwrap.dedent("""
        # cython: language_level=3
        from nautilus_like cimport Strategy, Broker, BarData, ORDER_SIDE_BUY

        cdef class FirstRow(Strategy):
            cdef public list seen
            def __init__(self):
                self.seen = []
            cpdef on_data(self, object timestamp, object data, object context, Broker broker):
                cdef BarData bars = <BarData>data
                self.seen.append((bars.c_asset(0), bars.c_close(0), broker.c_equity()))
    """))
    (tmp_path / "setup.py").write_text(textwrap.dedent("""
        from Cython.Build import cythonize
        from setuptools import Extension, setup
        import nautilus_like
        setup(ext_modules=cythonize([Extension("mine", ["mine.pyx"], include_dirs=[nautilus_like.get_include()])]))
    """))
    env_path = str(Path(nl.__file__).resolve().parent.parent)
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tmp_path,
                          capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys; sys.path.insert(0, '.')
        from datetime import datetime
        import polars as pl, nautilus_like as nl, mine
        prices = pl.DataFrame({"timestamp": [datetime(2024, 1, 1), datetime(2024, 1, 2)], "asset": ["X", "X"],
                               "open": [1.0, 2.0], "high": [1.0, 2.0], "low": [1.0, 2.0], "close": [1.5, 2.5],
                               "volume": [1.0, 1.0]})
        s = mine.FirstRow()
        nl.Engine(nl.DataFeed(prices_df=prices), s, nl.BacktestConfig(initial_cash=100.0)).run()
        print(s.seen)
    """)], cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[(0, 1.5, 100.0), (0, 2.5, 100.0)]"
