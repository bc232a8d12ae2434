"""Regenerates the sample data bundled in nautilus_like/data/ (deterministic).

Synthetic, not market data: 8 assets x 3 years of business days, geometric
Brownian motion closes with per-asset drift and volatility, opens gapped from
the previous close, intrabar wicks, lognormal volumes; and a 20-day momentum
signal (trailing return over its trailing volatility) computed causally.

    python examples/make_sample_data.py
"""

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

ASSETS = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL"]
OUT = Path(__file__).resolve().parent.parent / "nautilus_like" / "data"


def main() -> None:
    rng = np.random.default_rng(7)
    days = pl.date_range(date(2021, 1, 4), date(2023, 12, 29), "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    n, m = len(days), len(ASSETS)
    drift = rng.uniform(-0.0002, 0.0008, m)
    vol = rng.uniform(0.010, 0.025, m)
    log_ret = drift + vol * rng.standard_normal((n, m))
    close = 50.0 * rng.uniform(0.5, 3.0, m) * np.exp(np.cumsum(log_ret, axis=0))
    prev = np.vstack([close[0] / np.exp(log_ret[0]), close[:-1]])
    open_ = prev * np.exp(0.3 * vol * rng.standard_normal((n, m)))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.5 * vol, (n, m))))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.5 * vol, (n, m))))
    volume = np.round(rng.lognormal(13, 0.4, (n, m)))
    prices = pl.DataFrame({
        "timestamp": np.repeat(days.cast(pl.Datetime("us")).to_numpy(), m),
        "asset": ASSETS * n,
        "open": open_.ravel().round(4), "high": high.ravel().round(4), "low": low.ravel().round(4),
        "close": close.ravel().round(4), "volume": volume.ravel(),
    })
    signals = (
        prices.sort("asset", "timestamp")
        .with_columns(ret=pl.col("close").pct_change().over("asset"))
        .with_columns(
            momentum=(pl.col("close") / pl.col("close").shift(20) - 1).over("asset")
            / (pl.col("ret").rolling_std(20).over("asset") * np.sqrt(20)),
        )
        .select("timestamp", "asset", pl.col("momentum").fill_nan(None))
        .drop_nulls()
        .sort("timestamp", "asset")
    )
    OUT.mkdir(exist_ok=True)
    prices.write_parquet(OUT / "sample_prices.parquet")
    signals.write_parquet(OUT / "sample_signals.parquet")
    print(f"wrote {prices.height} price rows and {signals.height} signal rows to {OUT}")


if __name__ == "__main__":
    main()
