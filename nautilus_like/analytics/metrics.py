"""Return and risk statistics of an equity curve, with ml4t-backtest's
definitions and signatures: sample standard deviations (ddof=1), 252 periods
a year, drawdowns as negative fractions. Every metric of a result is computed
here (`nautilus_like.result.compute_metrics` goes through `EquityCurve`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ReturnsLike = Sequence[float] | np.ndarray

TRADING_DAYS_PER_YEAR = 252

__all__ = ["TRADING_DAYS_PER_YEAR", "cagr", "calmar_ratio", "max_drawdown", "returns_from_values", "sharpe_ratio",
           "sortino_ratio", "volatility"]


def returns_from_values(values: Sequence[float]) -> np.ndarray:
    """Simple returns between consecutive values."""
    v = np.asarray(values, dtype=np.float64)
    return v[1:] / v[:-1] - 1.0 if len(v) > 1 else np.empty(0)


def _per_period_rf(risk_free_rate: float, annualize: bool) -> float:
    """An annual risk-free rate as a per-period one (when annualizing), else as given."""
    return (1.0 + risk_free_rate) ** (1.0 / TRADING_DAYS_PER_YEAR) - 1.0 if annualize else risk_free_rate


def volatility(returns: ReturnsLike, annualize: bool = True) -> float:
    """Standard deviation of period returns (x sqrt(252) when annualized); 0 below two returns."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return 0.0
    sigma = float(np.std(r, ddof=1))
    return sigma * math.sqrt(TRADING_DAYS_PER_YEAR) if annualize else sigma


def sharpe_ratio(returns: ReturnsLike, risk_free_rate: float = 0.0, annualize: bool = True) -> float:
    """Mean excess return over the standard deviation of returns; 0 below two
    returns or without variation."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return 0.0
    sigma = np.std(r, ddof=1)
    if sigma == 0:
        return 0.0
    ratio = np.mean(r - _per_period_rf(risk_free_rate, annualize)) / sigma
    return float(ratio * math.sqrt(TRADING_DAYS_PER_YEAR) if annualize else ratio)


def sortino_ratio(returns: ReturnsLike, risk_free_rate: float = 0.0, annualize: bool = True) -> float:
    """Mean excess return over the standard deviation of the negative returns;
    infinite for a gain without two losing periods (or without their variation)."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return 0.0
    mean_excess = np.mean(r - _per_period_rf(risk_free_rate, annualize))
    down = r[r < 0]
    down_sigma = np.std(down, ddof=1) if len(down) >= 2 else 0.0
    if down_sigma == 0:
        return math.inf if mean_excess > 0 else 0.0
    ratio = mean_excess / down_sigma
    return float(ratio * math.sqrt(TRADING_DAYS_PER_YEAR) if annualize else ratio)


def max_drawdown(values: Sequence[float]) -> tuple[float, int, int]:
    """(deepest drawdown as a negative fraction, index of its peak, index of its trough)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return 0.0, 0, 0
    peaks = np.maximum.accumulate(v)
    drawdowns = (v - peaks) / peaks
    trough = int(np.argmin(drawdowns))
    peak = int(np.argmax(v[: trough + 1])) if trough > 0 else 0
    return float(drawdowns[trough]), peak, trough


def cagr(initial_value: float, final_value: float, years: float) -> float:
    """Compound annual growth rate; -1 for a total loss, 0 without a span or a start."""
    if initial_value <= 0 or years <= 0:
        return 0.0
    if final_value <= 0:
        return -1.0
    try:
        return (final_value / initial_value) ** (1.0 / years) - 1.0
    except OverflowError:  # a span of minutes annualizes beyond float range
        return math.inf


def calmar_ratio(cagr_value: float, max_dd: float) -> float:
    """CAGR over the size of the deepest drawdown (`max_dd` negative)."""
    if max_dd >= 0:
        return math.inf if cagr_value > 0 else 0.0
    return cagr_value / abs(max_dd)
