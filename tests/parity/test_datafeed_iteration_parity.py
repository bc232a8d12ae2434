"""Iterating a DataFeed yields what ml4t-backtest 0.2.0's yields: the same
timestamps, per-asset bar dicts (prices, volume, quotes, signals) and context,
on random feeds with missing rows, signals and context."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import polars as pl
import pytest

pytest.importorskip("ml4t.backtest")

import ml4t.backtest as ml4t  # noqa: E402

import nautilus_like as nl  # noqa: E402

pytestmark = pytest.mark.parity


def _frames(rng: random.Random):
    rows, sig, ctx = [], [], []
    for b in range(rng.randint(1, 6)):
        t = datetime(2024, 1, 1) + timedelta(days=b)
        for asset in rng.sample(["AAA", "BBB", "CCC"], rng.randint(0, 3)):
            close = round(rng.uniform(10, 100), 2)
            rows.append({"timestamp": t, "asset": asset, "open": close + 1, "high": close + 2, "low": close - 1,
                         "close": close, "volume": rng.choice([None, 100.0])})
            if rng.random() < 0.5:
                sig.append({"timestamp": t, "asset": asset, "score": round(rng.random(), 3)})
        if rng.random() < 0.5:
            ctx.append({"timestamp": t, "vix": round(rng.uniform(10, 30), 1)})
    if not rows:
        rows.append({"timestamp": datetime(2024, 1, 1), "asset": "AAA", "open": 2.0, "high": 3.0, "low": 1.0,
                     "close": 2.0, "volume": 5.0})
    schema = {"timestamp": pl.Datetime("us"), "asset": pl.String, "open": pl.Float64, "high": pl.Float64,
              "low": pl.Float64, "close": pl.Float64, "volume": pl.Float64}
    prices = pl.DataFrame(rows, schema=schema)
    signals = pl.DataFrame(sig, schema={"timestamp": pl.Datetime("us"), "asset": pl.String, "score": pl.Float64}) \
        if sig else None
    context = pl.DataFrame(ctx, schema={"timestamp": pl.Datetime("us"), "vix": pl.Float64}) if ctx else None
    return prices, signals, context


def _plain(bars):
    out = []
    for ts, data, context in bars:
        clean = {a: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}
                 for a, d in data.items()}
        out.append((ts, clean, dict(context)))
    return out


@pytest.mark.parametrize("seed", range(60))
def test_iteration_matches_ml4t(seed):
    prices, signals, context = _frames(random.Random(seed))
    ours = nl.DataFeed(prices_df=prices, signals_df=signals, context_df=context)
    theirs = ml4t.DataFeed(prices_df=prices, signals_df=signals, context_df=context)
    assert _plain(ours) == _plain(theirs)
