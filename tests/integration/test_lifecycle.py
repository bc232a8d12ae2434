"""One copy of Rust state per process; engines are independent, thread-safe to
run side by side, and create/run/drop leaves nothing behind."""

import gc
import threading

import pytest

import nautilus_like as nl
from nautilus_like import _model, _rust
from tests.conftest import fixture_prices


class Alternate(nl.Strategy):
    """Buys on even bars, sells on odd bars (deterministic)."""

    def __init__(self, qty):
        self.qty = qty
        self.bar = 0

    def on_data(self, timestamp, data, context, broker):
        for asset in data:
            broker.submit_order(asset, self.qty if self.bar % 2 == 0 else -self.qty)
        self.bar += 1


def run_once(feed, qty=3, cash=100_000.0):
    r = nl.Engine(feed, Alternate(qty), nl.BacktestConfig(initial_cash=cash, commission_rate=0.001)).run()
    return r.to_fills_dataframe().select("asset", "side", "quantity", "price", "commission"), r.metrics["final_value"]


def test_pyo3_module_and_cython_modules_share_one_rust_library():
    # A handle created by Cython (engine) is counted by the same static that
    # the PyO3 module reads: both see one library.
    feed = nl.DataFeed(prices_df=fixture_prices())
    before = _rust.live_handles()
    engine = nl.Engine(feed, Alternate(1))
    assert _rust.live_handles()[0] == before[0] + 1
    assert _model._live_handles() == _rust.live_handles()
    del engine
    gc.collect()
    assert _rust.live_handles() == before
    maps = open("/proc/self/maps").read()
    libs = {line.split()[-1] for line in maps.splitlines() if "nautilus_like/_rust" in line}
    assert len(libs) == 1, libs


def test_two_engines_in_one_process_are_independent():
    feed = nl.DataFeed(prices_df=fixture_prices())
    a = nl.Engine(feed, Alternate(2), nl.BacktestConfig(initial_cash=50_000))
    b = nl.Engine(feed, Alternate(5), nl.BacktestConfig(initial_cash=70_000))
    ra, rb = a.run(), b.run()
    assert ra.to_fills_dataframe()["quantity"].unique().to_list() == [2.0]
    assert rb.to_fills_dataframe()["quantity"].unique().to_list() == [5.0]
    assert ra.metrics["initial_cash"] == 50_000 and rb.metrics["initial_cash"] == 70_000
    # Re-running the same scenario gives the same answer: no shared state leaked.
    again = run_once(feed, qty=2, cash=50_000)
    assert again[1] == pytest.approx(nl.Engine(feed, Alternate(2), nl.BacktestConfig(
        initial_cash=50_000, commission_rate=0.001)).run().metrics["final_value"], rel=0)


def test_engines_run_in_threads_match_sequential_runs():
    feed = nl.DataFeed(prices_df=fixture_prices())
    expected = {q: run_once(feed, q) for q in (1, 2, 3, 4)}
    results, errors = {}, []

    def work(q):
        try:
            for _ in range(20):
                results[q] = run_once(feed, q)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(q,)) for q in expected]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for q, (fills, final) in expected.items():
        assert results[q][0].equals(fills) and results[q][1] == final


def _rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def test_a_thousand_create_run_drop_cycles_do_not_grow_memory():
    prices = fixture_prices()
    for _ in range(100):  # warm up allocator pools and caches
        run_once(nl.DataFeed(prices_df=prices))
    gc.collect()
    # Engines other tests keep (e.g. cached cross-check results) stay alive:
    # what counts is that these cycles leave none behind.
    handles_before = _rust.live_handles()
    start = _rss_kb()
    for _ in range(1000):
        run_once(nl.DataFeed(prices_df=prices))
    gc.collect()
    grown = _rss_kb() - start
    assert _rust.live_handles() == handles_before
    assert grown < 4096, f"RSS grew by {grown} KB over 1000 cycles"
