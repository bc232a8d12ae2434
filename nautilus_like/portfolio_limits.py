"""Former home of the portfolio limits, kept so old imports work: they live in
`nautilus_like.risk.portfolio.limits` (ml4t-backtest's path)."""

from nautilus_like.risk.portfolio.limits import (  # noqa: F401
    ACTION_NAMES,
    KIND_NAMES,
    DailyLossLimit,
    GrossExposureLimit,
    MaxDrawdownLimit,
    MaxPositionsLimit,
    NetExposureLimit,
    PortfolioLimit,
    limit_specs,
)

__all__ = ["DailyLossLimit", "GrossExposureLimit", "MaxDrawdownLimit", "MaxPositionsLimit", "NetExposureLimit",
           "PortfolioLimit"]
