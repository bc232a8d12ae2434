"""How many return periods make a year: the annualization of Sharpe, Sortino
and volatility, from a calendar and a bar frequency (ml4t-backtest's
`analytics.annualization` rules).

Daily bars: the calendar's trading days per year (252 without one). Intraday
bars: trading days x session minutes / bar minutes (NYSE 1-minute bars:
252 x 390). Irregular bars: None (an `EquityCurve` then infers it from the
spacing of its timestamps).

>>> resolve_periods_per_year("1m", calendar="NYSE")
98280.0
>>> resolve_periods_per_year("daily", calendar="crypto")
365.0
>>> resolve_periods_per_year("irregular", calendar="NYSE")
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["get_annualization_factor", "resolve_periods_per_year"]

DEFAULT_TRADING_DAYS = 252
# Minutes of a session without a calendar that says otherwise (NYSE's 09:30-16:00).
DEFAULT_SESSION_MINUTES = 390.0

# Trading days per year of the calendars ml4t-backtest lists (upper-case
# names); other calendars count their 2024 sessions.
_TRADING_DAYS = {"CRYPTO": 365, "NYSE": 252, "NASDAQ": 252, "CME_EQUITY": 252, "CME_AGRICULTURE": 252,
                 "CME_GLOBEX_ENERGY_AND_METALS": 252, "LSE": 253, "XETRA": 252, "TSX": 252, "HKEX": 252,
                 "JPX": 245}

_BAR_MINUTES = {"1h": 60.0, "30m": 30.0, "15m": 15.0, "5m": 5.0, "1m": 1.0}


def _frequency_value(data_frequency: Any) -> str | None:
    """The `DataFrequency` value a frequency names (None: not a known one)."""
    from nautilus_like.config import DataFrequency

    if data_frequency is None:
        return None
    try:
        return DataFrequency(getattr(data_frequency, "value", data_frequency)).value
    except ValueError:
        return None


@lru_cache(maxsize=64)
def get_annualization_factor(calendar: str | None) -> int:
    """Trading days per year of `calendar` (252 without one, or when the
    calendar library is not installed or does not know the name)."""
    if calendar is None:
        return DEFAULT_TRADING_DAYS
    known = _TRADING_DAYS.get(calendar.upper())
    if known is not None:
        return known
    try:
        from nautilus_like.calendar import get_schedule

        return get_schedule(calendar, "2024-01-01", "2024-12-31").height or DEFAULT_TRADING_DAYS
    except (ImportError, ValueError, KeyError, RuntimeError):
        return DEFAULT_TRADING_DAYS


@lru_cache(maxsize=64)
def _session_minutes(calendar: str | None) -> float | None:
    """Minutes of a regular session (breaks excluded), from the calendar's
    first session of January 2024; None when that cannot be told."""
    if calendar is None:
        return None
    if calendar.upper() == "CRYPTO":
        return 24.0 * 60.0
    try:
        from nautilus_like.calendar import get_schedule

        schedule = get_schedule(calendar, "2024-01-02", "2024-01-12", include_breaks=True)
    except (ImportError, ValueError, KeyError, RuntimeError):
        return None
    if schedule.is_empty():
        return None
    row = schedule.row(0, named=True)
    minutes = (row["market_close"] - row["market_open"]).total_seconds() / 60.0
    if row.get("break_start") is not None and row.get("break_end") is not None:
        minutes -= (row["break_end"] - row["break_start"]).total_seconds() / 60.0
    return minutes if minutes > 0 else None


def resolve_periods_per_year(data_frequency: Any, *, calendar: str | None) -> float | None:
    """Return periods per year of bars of `data_frequency` ("daily", "1m", a
    `DataFrequency`, ...) traded on `calendar` (None: no calendar); None for
    irregular or unknown frequencies."""
    frequency = _frequency_value(data_frequency)
    if frequency is None:
        return None
    days = float(get_annualization_factor(calendar))
    if frequency == "daily":
        return days
    bar_minutes = _BAR_MINUTES.get(frequency)
    if bar_minutes is None:
        return None
    return days * (_session_minutes(calendar) or DEFAULT_SESSION_MINUTES) / bar_minutes


def equity_annualization(config: Any) -> tuple[float | None, bool]:
    """(periods per year, observation based) of a run under `config`.

    `config.periods_per_year` when set. Without a calendar (time contract 2,
    calendar None) returns are observations: 252 a year, and a year is 252 of
    them rather than elapsed time. Otherwise from the resolved calendar and
    data frequency."""
    if config is None or not hasattr(config, "resolved_calendar"):
        return float(DEFAULT_TRADING_DAYS), False
    calendar = config.resolved_calendar
    observation_based = config.time_contract_version == 2 and calendar is None
    periods = config.periods_per_year
    if periods is None and observation_based:
        periods = float(DEFAULT_TRADING_DAYS)
    if periods is None:
        periods = resolve_periods_per_year(config.resolved_data_frequency, calendar=calendar)
    return periods, observation_based
