"""Sample data bundled with nautilus_like (synthetic; see examples/make_sample_data.py).

>>> from nautilus_like.data import sample_prices, sample_signals
>>> sample_prices().head()
"""

from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent


def sample_prices() -> pl.DataFrame:
    """Daily OHLCV of 8 synthetic assets, 2021-01-04 .. 2023-12-29 (long format)."""
    return pl.read_parquet(HERE / "sample_prices.parquet")


def sample_signals() -> pl.DataFrame:
    """A 20-day volatility-scaled momentum signal per asset and day (`momentum`)."""
    return pl.read_parquet(HERE / "sample_signals.parquet")
