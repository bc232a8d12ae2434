"""Performance analytics of a result (ml4t-backtest's `analytics` module):
`EquityCurve` and the metric functions."""

from nautilus_like.analytics.equity import EquityCurve
from nautilus_like.analytics.metrics import (
    cagr,
    calmar_ratio,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
    volatility,
)

__all__ = ["EquityCurve", "cagr", "calmar_ratio", "max_drawdown", "sharpe_ratio", "sortino_ratio", "volatility"]
