"""How many bars make a year: the annualization of a run's equity curve from
its exchange calendar and bar frequency (ml4t-backtest's
`analytics.annualization`).

Daily bars count the calendar's trading days a year (NYSE 252, crypto 365,
...); intraday bars count the bars in those days' sessions (NYSE minute bars:
252 * 390). Calendars outside the table are counted from their 2024 schedule.

>>> resolve_periods_per_year("daily", calendar="NYSE")
252.0
>>> resolve_periods_per_year("1m", calendar="NYSE")
98280.0
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_annualization_factor", "resolve_periods_per_year"]

_TRADING_DAYS = {"CRYPTO": 365, "NYSE": 252, "NASDAQ": 252, "CME_EQUITY": 252, "CME_AGRICULTURE": 252,
                 "CME_GLOBEX_ENERGY_AND_METALS": 252, "LSE": 253, "XETRA": 252, "TSX": 252, "HKEX": 252, "JPX": 245}
_BAR_MINUTES = {"1h": 60.0, "30m": 30.0, "15m": 15.0, "5m": 5.0, "1m": 1.0}
_DEFAULT_DAYS = 252
_DEFAULT_SESSION_MINUTES = 390.0


def get_annualization_factor(calendar: str | None) -> int:
    """Trading days a year of `calendar` (252 without one, or when the
    calendar cannot be read)."""
    if calendar is None:
        return _DEFAULT_DAYS
    known = _TRADING_DAYS.get(calendar.upper())
    if known is not None:
        return known
    try:
        from nautilus_like.calendar import get_schedule

        return get_schedule(calendar, "2024-01-01", "2024-12-31").height or _DEFAULT_DAYS
    except Exception:  # an unknown name or no calendar library: the default year
        return _DEFAULT_DAYS


def _session_minutes(calendar: str | None) -> float:
    """Minutes of trading in one regular session (lunch breaks excluded)."""
    if calendar is None:
        return _DEFAULT_SESSION_MINUTES
    if calendar.upper() == "CRYPTO":
        return 24.0 * 60.0
    from nautilus_like.calendar import get_schedule

    schedule = get_schedule(calendar, "2024-01-02", "2024-01-12", include_breaks=True)
    if schedule.is_empty():
        return _DEFAULT_SESSION_MINUTES
    row = schedule.row(0, named=True)
    minutes = (row["market_close"] - row["market_open"]).total_seconds() / 60.0
    if row.get("break_start") is not None and row.get("break_end") is not None:
        minutes -= (row["break_end"] - row["break_start"]).total_seconds() / 60.0
    return minutes if minutes > 0 else _DEFAULT_SESSION_MINUTES


def resolve_periods_per_year(data_frequency: Any, *, calendar: str | None) -> float | None:
    """Bars a year at `data_frequency` ("daily", "1m", "5m", "15m", "30m",
    "1h" or a `DataFrequency`) on `calendar`; None for an irregular or
    unknown frequency (the curve then infers it from its timestamps)."""
    if data_frequency is None:
        return None
    value = str(getattr(data_frequency, "value", data_frequency))
    if value == "daily":
        return float(get_annualization_factor(calendar))
    bar_minutes = _BAR_MINUTES.get(value)
    if bar_minutes is None:
        return None
    return float(get_annualization_factor(calendar) * _session_minutes(calendar) / bar_minutes)
