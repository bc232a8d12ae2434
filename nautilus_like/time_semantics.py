"""What a feed's timestamps mean, and which exchange calendar applies: the
time-contract values ml4t-backtest takes from its `ml4t.specs` package
(`TimestampSemantics`, `BarLabel`, `UNSET_CALENDAR`), here without that
package (it needs Python 3.12). Values of `ml4t.specs` are accepted wherever
these are (matched by value), so code written for ml4t runs unchanged.

>>> resolve_calendar(UNSET_CALENDAR)            # nothing chosen: NYSE
'NYSE'
>>> resolve_calendar(None)                      # explicitly no calendar
>>> resolve_calendar(UNSET_CALENDAR, declared="CME_Equity", version=2)
'CME_Equity'
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

__all__ = ["UNSET_CALENDAR", "BarLabel", "CalendarUnset", "TimestampSemantics", "FeedTimeMetadata",
           "coerce_bar_label", "coerce_semantics", "is_unset_calendar", "resolve_calendar"]

DEFAULT_CALENDAR = "NYSE"


class TimestampSemantics(str, Enum):
    """What a bar's timestamp marks: an instant (EVENT_TIME), the end of the
    bar (BAR_CLOSE), or the trading session it belongs to (SESSION_LABEL, a date)."""

    EVENT_TIME = "event_time"
    BAR_CLOSE = "bar_close"
    SESSION_LABEL = "session_label"


class BarLabel(str, Enum):
    """Which end of a fixed bar its timestamp names."""

    LEFT = "left"
    RIGHT = "right"


class CalendarUnset(Enum):
    """The marker for "no calendar chosen" (inherit, else NYSE), distinct from
    None ("explicitly no calendar")."""

    UNSET = "unset"


UNSET_CALENDAR = CalendarUnset.UNSET


def is_unset_calendar(value: Any) -> bool:
    """True for our `UNSET_CALENDAR` and for ml4t.specs' (same class name and value)."""
    return value is UNSET_CALENDAR or (isinstance(value, Enum) and type(value).__name__ == "CalendarUnset"
                                       and value.value == "unset")


def _checked_calendar(value: Any, name: str = "calendar") -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise ValueError(f"{name} must be a non-empty calendar name or None, got {value!r}")


def resolve_calendar(calendar: Any = UNSET_CALENDAR, *, declared: Any = UNSET_CALENDAR, version: int = 2) -> str | None:
    """The calendar in force: an explicit `calendar` (a name, or None for
    none), else the feed's `declared` one, else NYSE. Under the version-1 time
    contract a declared None means "not declared" (NYSE)."""
    if not is_unset_calendar(calendar):
        return _checked_calendar(calendar)
    if is_unset_calendar(declared) or (version == 1 and declared is None):
        return DEFAULT_CALENDAR
    return _checked_calendar(declared)


def coerce_semantics(value: Any) -> TimestampSemantics | None:
    """None, a `TimestampSemantics` (ours or ml4t.specs') or its string value."""
    if value is None or isinstance(value, TimestampSemantics):
        return value
    raw = value.value if isinstance(value, Enum) else value
    try:
        return TimestampSemantics(str(raw))
    except ValueError:
        raise ValueError(f"timestamp_semantics must be one of {[s.value for s in TimestampSemantics]}, "
                         f"got {value!r}") from None


def coerce_bar_label(value: Any) -> BarLabel | None:
    """None, a `BarLabel` (ours or ml4t.specs') or "left"/"right"."""
    if value is None or isinstance(value, BarLabel):
        return value
    raw = value.value if isinstance(value, Enum) else value
    try:
        return BarLabel(str(raw))
    except ValueError:
        raise ValueError(f"bar_label must be 'left' or 'right', got {value!r}") from None


class FeedTimeMetadata:
    """The time fields of a feed description (ml4t's `FeedSpec`, a mapping, or
    any object with those attributes): calendar, timezone, session_start_time,
    data_frequency, timestamp_semantics, time_contract_version."""

    __slots__ = ("calendar", "data_frequency", "session_start_time", "time_contract_version", "timestamp_semantics",
                 "timezone")

    def __init__(self, source: Any = None) -> None:
        def field(name: str, default: Any = None) -> Any:
            if source is None:
                return default
            if isinstance(source, Mapping):
                return source.get(name, default)
            return getattr(source, name, default)

        self.time_contract_version = field("time_contract_version", 1)
        calendar = field("calendar", UNSET_CALENDAR)
        # Version 1 cannot say "no calendar": its None means "not declared".
        self.calendar = UNSET_CALENDAR if (self.time_contract_version == 1 and calendar is None) else calendar
        self.timezone = field("timezone")
        self.session_start_time = field("session_start_time")
        self.data_frequency = field("data_frequency")
        self.timestamp_semantics = coerce_semantics(field("timestamp_semantics"))

    def resolve_calendar(self, calendar: Any = UNSET_CALENDAR) -> str | None:
        return resolve_calendar(calendar, declared=self.calendar, version=2)


# Frequency spellings a feed description may use -> DataFrequency values
# (anything else is irregular), as ml4t-backtest reads them.
_FREQUENCY_SPELLINGS = {
    "daily": "daily", "1d": "daily", "d": "daily",
    "weekly": "irregular", "monthly": "irregular", "tick": "irregular", "second": "irregular",
    "minute": "1m", "1m": "1m", "1min": "1m",
    "5m": "5m", "5min": "5m", "5minute": "5m",
    "15m": "15m", "15min": "15m", "15minute": "15m",
    "30m": "30m", "30min": "30m", "30minute": "30m",
    "hour": "1h", "hourly": "1h", "1h": "1h",
}


def coerce_frequency(value: Any) -> Any:
    """None, or the `DataFrequency` a value names ("daily", "1m", "1h",
    DataFrequency.HOURLY, ...); unknown spellings are IRREGULAR."""
    from nautilus_like.config import DataFrequency

    if value is None or isinstance(value, DataFrequency):
        return value
    raw = value.value if isinstance(value, Enum) else value
    return DataFrequency(_FREQUENCY_SPELLINGS.get(str(raw).strip().lower(), "irregular"))
