"""Portfolio-level limits (ml4t-backtest's `risk.portfolio`). The engine
enforces the drawdown, daily-loss, position-count and exposure limits every
bar (`Engine(..., portfolio_limits=[...])`); every limit also judges a
`PortfolioState` on request with `check(state)`, which `RiskManager` drives
from the strategy."""

from nautilus_like.risk.portfolio.limits import (
    BetaLimit,
    CVaRLimit,
    DailyLossLimit,
    FactorExposureLimit,
    GrossExposureLimit,
    LimitResult,
    MaxDrawdownLimit,
    MaxExposureLimit,
    MaxPositionsLimit,
    NetExposureLimit,
    PortfolioLimit,
    PortfolioState,
    SectorExposureLimit,
    VaRLimit,
)
from nautilus_like.risk.portfolio.manager import RiskManager

__all__ = ["BetaLimit", "CVaRLimit", "DailyLossLimit", "FactorExposureLimit", "GrossExposureLimit", "LimitResult",
           "MaxDrawdownLimit", "MaxExposureLimit", "MaxPositionsLimit", "NetExposureLimit", "PortfolioLimit",
           "PortfolioState", "RiskManager", "SectorExposureLimit", "VaRLimit"]
