"""Perpetual-futures funding: scheduled rates or per-unit amounts, and the cash
each one moved.

A funding table is a Polars frame with `timestamp` (one of the feed's),
`asset` (one of the feed's) and exactly one of `rate` or `amount_per_unit`
per row (either column may be absent). The engine pays or charges each event
as its bar opens, after the marks and before any fill, on the position held
then (ml4t-backtest 0.2.0's rules):

- `rate`: `-quantity * last price * multiplier * rate` (a long pays a
  positive rate, a short receives it);
- `amount_per_unit`: `-quantity * multiplier * amount_per_unit`;
- no position: a payment of 0 is still recorded.

>>> funding = pl.DataFrame({"timestamp": eight_hourly, "asset": "BTC-PERP", "rate": 0.0001})
>>> result = Engine(feed, strategy, config, funding_df=funding).run()
>>> result.to_funding_dataframe()                  # one row per event
>>> result.metrics["total_funding"]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from nautilus_like.capital import bars_of

__all__ = ["FundingEvent", "FundingPayment", "FundingSchedule", "funding_schedule", "index_funding_events"]

# Terms codes of the engine (NL_FUNDING_RATE, NL_FUNDING_AMOUNT_PER_UNIT).
_RATE, _AMOUNT = 0, 1


@dataclass(frozen=True)
class FundingEvent:
    """One asset's scheduled rate or cash amount at a feed timestamp."""

    timestamp: datetime
    asset: str
    rate: float | None = None
    amount_per_unit: float | None = None


@dataclass(frozen=True)
class FundingPayment:
    """One applied funding event (a zero `cash_delta` when nothing was held)."""

    timestamp: datetime
    asset: str
    quantity: float
    mark_price: float | None
    multiplier: float
    rate: float | None
    amount_per_unit: float | None
    cash_delta: float


@dataclass(frozen=True)
class FundingSchedule:
    """A validated funding table in engine order (by bar, then asset name):
    the engine's columns and each event's rate or amount as given."""

    bars: np.ndarray
    assets: np.ndarray
    terms: np.ndarray
    values: np.ndarray
    rates: list[float | None]
    amounts: list[float | None]

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.bars, self.assets, self.terms, self.values


def funding_schedule(frame: Any, timeline: pl.Series, asset_index: dict[str, int]) -> FundingSchedule | None:
    """Validates a funding table against the feed (None: no events). Raises
    ValueError naming the first bad row before anything runs."""
    if frame is None:
        return None
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"funding_df must be a Polars DataFrame, got {type(frame).__name__}")
    absent = [c for c in ("timestamp", "asset") if c not in frame.columns]
    if absent:
        raise ValueError(f"funding_df requires timestamp and asset columns; missing {absent}")
    if "rate" not in frame.columns and "amount_per_unit" not in frame.columns:
        raise ValueError("funding_df requires a rate or an amount_per_unit column")
    if not frame.height:
        if not isinstance(frame.schema["timestamp"], pl.Datetime):
            raise ValueError(f"funding timestamp must be a datetime column, got {frame.schema['timestamp']}")
        return None
    bars = bars_of(frame, timeline, "funding")
    n = frame.height
    assets = frame["asset"].to_list()
    rates = frame["rate"].to_list() if "rate" in frame.columns else [None] * n
    amounts = frame["amount_per_unit"].to_list() if "amount_per_unit" in frame.columns else [None] * n
    seen: set[tuple[int, str]] = set()
    rows = []
    for bar, asset, rate, amount, stamp in zip(bars.tolist(), assets, rates, amounts, frame["timestamp"].to_list()):
        if not isinstance(asset, str) or asset not in asset_index:
            raise ValueError(f"funding asset {asset!r} is absent from the feed")
        if (bar, asset) in seen:
            raise ValueError(f"duplicate funding event for {asset} at {stamp}")
        seen.add((bar, asset))
        if (rate is None) == (amount is None):
            raise ValueError(f"funding event for {asset} at {stamp} requires exactly one of rate or amount_per_unit")
        value = rate if rate is not None else amount
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"funding rate or amount_per_unit must be finite, got {value!r} ({asset} at {stamp})")
        rows.append((bar, asset, rate, amount))
    # A timestamp's events apply in asset-name order (as ml4t-backtest).
    rows.sort(key=lambda r: (r[0], r[1]))
    return FundingSchedule(
        bars=np.array([r[0] for r in rows], dtype=np.uint32),
        assets=np.array([asset_index[r[1]] for r in rows], dtype=np.uint32),
        terms=np.array([_RATE if r[2] is not None else _AMOUNT for r in rows], dtype=np.uint32),
        values=np.array([float(r[2] if r[2] is not None else r[3]) for r in rows], dtype=np.float64),
        rates=[None if r[2] is None else float(r[2]) for r in rows],
        amounts=[None if r[3] is None else float(r[3]) for r in rows])


def index_funding_events(frame: pl.DataFrame | None, feed_timestamps: list[datetime],
                         feed_assets: set[str]) -> dict[datetime, list[FundingEvent]]:
    """ml4t's helper: the validated events of `frame` by feed timestamp,
    each timestamp's in asset-name order."""
    if frame is None:
        return {}
    names = sorted(feed_assets)
    schedule = funding_schedule(frame, pl.Series("timestamp", list(feed_timestamps)),
                                {a: i for i, a in enumerate(names)})
    out: dict[datetime, list[FundingEvent]] = {}
    if schedule is None:
        return out
    for bar, asset, rate, amount in zip(schedule.bars.tolist(), schedule.assets.tolist(), schedule.rates,
                                        schedule.amounts):
        timestamp = feed_timestamps[bar]
        out.setdefault(timestamp, []).append(FundingEvent(timestamp, names[asset], rate=rate, amount_per_unit=amount))
    return out
