"""Shared fixtures: the two-asset, five-bar price table used by the scenario tests.

| bar | AAA open/high/low/close | BBB open/high/low/close |
|-----|-------------------------|-------------------------|
| 0   | 100 / 102 / 99 / 101    | 50 / 51 / 49 / 50.5     |
| 1   | 102 / 104 / 101 / 103   | 51 / 52 / 50 / 51.5     |
| 2   | 104 / 106 / 103 / 105   | 49 / 50 / 48 / 48.5     |
| 3   | 103 / 104 / 100 / 101   | 48 / 49.5 / 47.5 / 49   |
| 4   | 100 / 101 / 97 / 98     | 50 / 51 / 49.5 / 50     |

Volume is 1000 * (bar + 1); timestamps are 2024-01-01 + bar days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

import nautilus_like as nl

T0 = datetime(2024, 1, 1)
BARS = {
    "AAA": [(100.0, 102.0, 99.0, 101.0), (102.0, 104.0, 101.0, 103.0), (104.0, 106.0, 103.0, 105.0),
            (103.0, 104.0, 100.0, 101.0), (100.0, 101.0, 97.0, 98.0)],
    "BBB": [(50.0, 51.0, 49.0, 50.5), (51.0, 52.0, 50.0, 51.5), (49.0, 50.0, 48.0, 48.5),
            (48.0, 49.5, 47.5, 49.0), (50.0, 51.0, 49.5, 50.0)],
}


def ts(i: int) -> datetime:
    return T0 + timedelta(days=i)


def fixture_prices(skip: set[tuple[int, str]] = frozenset()) -> pl.DataFrame:
    rows = [
        {"timestamp": ts(i), "asset": a, "open": o, "high": h, "low": l, "close": c, "volume": 1000.0 * (i + 1)}
        for a, seq in BARS.items() for i, (o, h, l, c) in enumerate(seq) if (i, a) not in skip
    ]
    return pl.DataFrame(rows).sort(["timestamp", "asset"])


class Scripted(nl.Strategy):
    """Runs `actions[bar]` (callables taking the broker) inside on_data and
    records `observe(bar, timestamp, data, context, broker)` results."""

    def __init__(self, actions=None, observe=None):
        self.actions = actions or {}
        self.observe = observe
        self.bar = -1
        self.seen = []

    def on_data(self, timestamp, data, context, broker):
        self.bar += 1
        for action in self.actions.get(self.bar, []):
            action(broker)
        if self.observe is not None:
            self.seen.append(self.observe(self.bar, timestamp, data, context, broker))


FLAT_T0 = datetime(2024, 3, 1)


def flat_prices(closes: dict[str, list[float | None]], times: list[datetime] | None = None) -> pl.DataFrame:
    """Flat bars (open = high = low = close = the listed price, volume 1e6) per
    asset, on `times` (default: consecutive days from 2024-03-01), so a market
    order fills at the next bar's listed price. None: no row on that bar."""
    n = len(next(iter(closes.values())))
    times = times or [FLAT_T0 + timedelta(days=i) for i in range(n)]
    rows = [{"timestamp": times[i], "asset": a, "open": c, "high": c, "low": c, "close": c, "volume": 1e6}
            for a, seq in closes.items() for i, c in enumerate(seq) if c is not None]
    return pl.DataFrame(rows).sort(["timestamp", "asset"])


def run(actions=None, config=None, prices=None, observe=None, **engine_kw):
    strategy = Scripted(actions, observe)
    feed = nl.DataFeed(prices_df=fixture_prices() if prices is None else prices)
    result = nl.Engine(feed, strategy, config or nl.BacktestConfig(), **engine_kw).run()
    return result, strategy


@pytest.fixture
def prices() -> pl.DataFrame:
    return fixture_prices()
