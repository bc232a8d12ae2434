"""Performance analytics of a result (ml4t-backtest's `analytics` module):
`EquityCurve`, the metric functions, trade statistics and the diagnostic bridge."""

from nautilus_like.analytics.bridge import (
    to_equity_dataframe,
    to_returns_series,
    to_trade_record,
    to_trade_records,
)
from nautilus_like.analytics.equity import EquityCurve
from nautilus_like.analytics.metrics import (
    cagr,
    calmar_ratio,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
    volatility,
)
from nautilus_like.analytics.trades import MAEMFEAnalyzer, TradeAnalyzer

__all__ = ["EquityCurve", "MAEMFEAnalyzer", "TradeAnalyzer", "cagr", "calmar_ratio", "max_drawdown", "sharpe_ratio",
           "sortino_ratio", "to_equity_dataframe", "to_returns_series", "to_trade_record", "to_trade_records",
           "volatility"]
