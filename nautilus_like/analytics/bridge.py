"""Conversions from results to the shapes ml4t's diagnostic library reads
(ml4t-backtest's `analytics.bridge`): trade records as plain dicts, equity as
a returns series or frame. Plain dicts keep the diagnostic library optional.

>>> from nautilus_like.analytics.bridge import to_returns_series, to_trade_records
>>> records = to_trade_records(result.trades)      # TradeRecord(**r) for each
>>> returns = to_returns_series([100.0, 110.0, 99.0])   # [0.1, -0.1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from nautilus_like.types import Trade

__all__ = ["to_equity_dataframe", "to_returns_series", "to_trade_record", "to_trade_records"]

# Fields copied from the trade as they are (the diagnostic TradeRecord's names).
_FIELDS = ("symbol", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl", "pnl_percent",
           "bars_held", "fees", "exit_slippage", "exit_reason", "status", "mfe", "mae", "entry_slippage",
           "multiplier", "metadata", "gross_pnl", "net_return", "total_slippage_cost", "cost_drag")


def to_trade_record(trade: Trade) -> dict[str, Any]:
    """One trade as a diagnostic TradeRecord dict: the trade's fields and cost
    decomposition, its `duration`, `direction`, and the legacy aliases
    `timestamp` (exit time) and `entry_timestamp`. `quantity` stays signed."""
    record = {name: getattr(trade, name) for name in _FIELDS}
    record["duration"] = trade.exit_time - trade.entry_time
    record["timestamp"] = trade.exit_time
    record["entry_timestamp"] = trade.entry_time
    record["direction"] = trade.direction
    return record


def to_trade_records(trades: Sequence[Trade]) -> list[dict[str, Any]]:
    """`to_trade_record` of every trade, in order."""
    return [to_trade_record(t) for t in trades]


def _simple_returns(values: np.ndarray) -> np.ndarray:
    return np.diff(values) / values[:-1]


def to_returns_series(equity_curve: Sequence[float] | np.ndarray) -> pl.Series:
    """Period returns of an equity curve (one fewer than the values; empty below two)."""
    values = np.asarray(equity_curve, dtype=np.float64)
    if len(values) < 2:
        return pl.Series("returns", [], dtype=pl.Float64)
    return pl.Series("returns", _simple_returns(values))


def to_equity_dataframe(equity_history: Sequence[float], timestamps: Sequence[Any] | None = None) -> pl.DataFrame:
    """Equity with its period returns (0 on the first row), keyed by `timestamps`
    when given, else by a `bar` index."""
    n = len(equity_history)
    if n == 0:
        return pl.DataFrame(schema={"timestamp": pl.Datetime, "equity": pl.Float64, "returns": pl.Float64})
    values = np.asarray(equity_history, dtype=np.float64)
    returns = np.zeros(n)
    returns[1:] = _simple_returns(values)
    data: dict[str, Any] = {"equity": values, "returns": returns}
    if timestamps is not None:
        data["timestamp"] = list(timestamps)
    else:
        data["bar"] = list(range(n))
    return pl.DataFrame(data)
