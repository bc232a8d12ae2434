"""`EquityCurve`: an equity series with its return and risk statistics
(ml4t-backtest's class and fields)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from nautilus_like.analytics.metrics import (
    TRADING_DAYS_PER_YEAR,
    cagr,
    calmar_ratio,
    max_drawdown,
    returns_from_values,
    sharpe_ratio,
    sortino_ratio,
    volatility,
)

__all__ = ["EquityCurve"]

_SECONDS_PER_YEAR = 365.25 * 24 * 60 * 60


def _seconds(span: Any) -> float:
    return span.total_seconds() if hasattr(span, "total_seconds") else float(span)


@dataclass
class EquityCurve:
    """Portfolio values over time. With `initial_capital`, returns and
    drawdowns count from it (the first value is already a result of trading);
    `years` is the elapsed calendar time (or observations / periods per year
    when `observation_based`). With `capital_changes` (`nautilus_like.capital`),
    returns chain the valuations between external flows, so deposits and
    withdrawals are no gain or loss, and drawdowns follow that performance."""

    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    periods_per_year_override: float | None = None
    observation_based: bool = False
    initial_capital: float | None = None
    capital_changes: list[Any] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: Any) -> EquityCurve:
        """An empty curve with the config's initial cash and annualization
        (`periods_per_year`, else from its calendar and data frequency; see
        `analytics.annualization.equity_annualization`)."""
        from nautilus_like.analytics.annualization import equity_annualization

        periods, observation_based = equity_annualization(config)
        return cls(periods_per_year_override=periods, observation_based=observation_based,
                   initial_capital=config.initial_cash)

    def append(self, timestamp: datetime, value: float) -> None:
        self.timestamps.append(timestamp)
        self.values.append(value)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def returns(self) -> np.ndarray:
        if self.capital_changes:
            from nautilus_like.capital import flow_adjusted_returns

            return np.array(flow_adjusted_returns(list(zip(self.timestamps, self.values)), self.initial_value,
                                                  self.capital_changes))
        if self.initial_capital is not None and self.values:
            return returns_from_values([self.initial_capital, *self.values])
        return returns_from_values(self.values)

    @property
    def initial_value(self) -> float:
        if self.initial_capital is not None:
            return self.initial_capital
        return self.values[0] if self.values else 0.0

    @property
    def final_value(self) -> float:
        return self.values[-1] if self.values else 0.0

    @property
    def cumulative_returns(self) -> np.ndarray:
        if not self.values:
            return np.array([])
        if self.capital_changes:
            return np.cumprod(1.0 + self.returns) - 1.0
        return np.asarray(self.values, dtype=np.float64) / self.initial_value - 1.0

    @property
    def performance_values(self) -> np.ndarray:
        """The investment's value at the initial capital's scale (external
        flows taken out); the values themselves without flows."""
        if self.capital_changes:
            return self.initial_value * np.cumprod(1.0 + self.returns)
        return np.asarray(self.values, dtype=np.float64)

    @property
    def total_return(self) -> float:
        if not self.values or self.initial_value == 0:
            return 0.0
        if self.capital_changes:
            return float(self.cumulative_returns[-1])
        return self.values[-1] / self.initial_value - 1.0

    @property
    def periods_per_year(self) -> float:
        """The configured annualization, else inferred from the spacing of the
        timestamps (252 when that cannot be told)."""
        if self.periods_per_year_override is not None:
            return float(self.periods_per_year_override)
        if self.observation_based or len(self.values) < 2 or len(self.timestamps) < 2:
            return float(TRADING_DAYS_PER_YEAR)
        seconds = _seconds(self.timestamps[-1] - self.timestamps[0])
        inferred = (len(self.values) - 1) * _SECONDS_PER_YEAR / seconds if seconds > 0 else math.nan
        return float(inferred) if math.isfinite(inferred) and inferred > 0 else float(TRADING_DAYS_PER_YEAR)

    @property
    def years(self) -> float:
        if self.observation_based:
            return max(len(self.values) - 1, 0) / self.periods_per_year
        if len(self.timestamps) >= 2:
            seconds = _seconds(self.timestamps[-1] - self.timestamps[0])
            if seconds > 0:
                return seconds / _SECONDS_PER_YEAR
        return len(self.values) / TRADING_DAYS_PER_YEAR if self.values else 0.0

    def max_drawdown_info(self) -> tuple[float, int, int]:
        """(max drawdown, peak index, trough index); indices of `values` (-1:
        the initial capital was the peak)."""
        if self.initial_capital is not None:
            dd, peak, trough = max_drawdown([self.initial_capital, *self.performance_values])
            return dd, peak - 1, trough - 1
        return max_drawdown(self.values)

    @property
    def max_dd(self) -> float:
        return self.max_drawdown_info()[0]

    @property
    def cagr(self) -> float:
        return cagr(self.initial_value, self.initial_value * (1 + self.total_return), self.years)

    def _annualized(self, per_period: float) -> float:
        return float(per_period * math.sqrt(self.periods_per_year))

    @property
    def volatility(self) -> float:
        r = self.returns
        return self._annualized(volatility(r, annualize=False)) if len(r) >= 2 else 0.0

    @property
    def sharpe(self) -> float:
        r = self.returns
        return self._annualized(sharpe_ratio(r, annualize=False)) if len(r) >= 2 else 0.0

    @property
    def sortino(self) -> float:
        r = self.returns
        if len(r) < 2:
            return 0.0
        ratio = sortino_ratio(r, annualize=False)
        return math.inf if math.isinf(ratio) else self._annualized(ratio)

    @property
    def calmar(self) -> float:
        return calmar_ratio(self.cagr, self.max_dd)

    def drawdown_series(self) -> np.ndarray:
        """Drawdown (negative fraction) at every value, from the running peak."""
        if not self.values:
            return np.array([])
        v = self.performance_values
        peaks = np.maximum.accumulate(v)
        if self.initial_capital is not None:
            peaks = np.maximum(peaks, self.initial_capital)
        return (v - peaks) / peaks

    def to_dict(self) -> dict[str, Any]:
        return {"initial_value": self.initial_value, "final_value": self.final_value,
                "total_return": self.total_return, "cagr": self.cagr, "sharpe": self.sharpe,
                "sortino": self.sortino, "max_drawdown": self.max_dd, "calmar": self.calmar,
                "volatility": self.volatility, "trading_days": len(self.values), "years": self.years}
