"""Exchange calendars: trading days, session open/close instants, holidays and
early closes as Polars frames (ml4t-backtest's `calendar` module).

The calendars are pandas-market-calendars' (the library ml4t-backtest uses, so
session boundaries agree with it). It is an optional dependency:
``pip install 'nautilus_like[calendars]'``; without it these functions raise
ImportError naming the extra, and the rest of nautilus_like works.

>>> get_trading_days("NYSE", date(2024, 7, 1), date(2024, 7, 5)).to_list()
[datetime.date(2024, 7, 1), datetime.date(2024, 7, 2), datetime.date(2024, 7, 3), datetime.date(2024, 7, 5)]
>>> get_schedule("NYSE", date(2024, 7, 3), date(2024, 7, 3))["market_close"][0]   # an early close
datetime.datetime(2024, 7, 3, 17, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))

Calendar names are the library's (``XNYS``, ``CME_Equity``, ``XTKS``, ...) or
an alias from `CALENDAR_ALIASES` (``NYSE``, ``CME``, ``LSE``, ``CRYPTO``, ...),
looked up case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

__all__ = [
    "CALENDAR_ALIASES",
    "CalendarSession",
    "filter_to_trading_days",
    "filter_to_trading_sessions",
    "generate_trading_minutes",
    "get_calendar",
    "get_calendar_sessions",
    "get_calendar_sessions_by_open_date",
    "get_early_closes",
    "get_holidays",
    "get_schedule",
    "get_standard_market_open_time",
    "get_trading_days",
    "is_market_open",
    "is_trading_day",
    "list_calendars",
    "next_trading_day",
    "previous_trading_day",
    "trading_bar_mask",
]

# Short names -> pandas-market-calendars names (ml4t-backtest's table, so a
# config written for ml4t resolves to the same exchange).
CALENDAR_ALIASES: dict[str, str] = {
    "NYSE": "XNYS",
    "NASDAQ": "NASDAQ",
    "AMEX": "NYSE",
    "FX": "CMEGlobex_FX",
    "CME": "CME_Equity",
    "CME_EQUITY": "CME_Equity",
    "CME_BOND": "CME_Bond",
    "CME_AGRICULTURE": "CME_Agriculture",
    "CBOT": "CME_Bond",
    "NYMEX": "CME_Equity",
    "COMEX": "CME_Equity",
    "ICE": "IEPA",
    "LSE": "XLON",
    "EUREX": "EUREX",
    "XETRA": "XFRA",
    "TSE": "JPX",
    "HKEX": "XHKG",
    "SSE": "XSHG",
    "SZSE": "XSHE",
    "ASX": "XASX",
    "NSE": "XNSE",
    "TSX": "XTSE",
    "BMV": "XMEX",
    "B3": "BVMF",
    "CRYPTO": "24/7",
}

_EXTRA_HINT = ("exchange calendars need pandas-market-calendars (the calendar library ml4t-backtest uses); "
               "install it with: pip install 'nautilus_like[calendars]'")


@dataclass(frozen=True, slots=True)
class CalendarSession:
    """One exchange session: its label date and its open and close instants (UTC)."""

    session_date: date
    market_open: datetime
    market_close: datetime


def _library() -> Any:
    """pandas_market_calendars, imported on first use (it loads pandas)."""
    try:
        import pandas_market_calendars
    except ImportError as exc:
        raise ImportError(_EXTRA_HINT) from exc
    return pandas_market_calendars


def _resolve_name(calendar_id: str) -> str:
    if not isinstance(calendar_id, str) or not calendar_id.strip():
        raise ValueError(f"calendar_id must be a calendar name such as 'NYSE' or 'XNYS', got {calendar_id!r}")
    return CALENDAR_ALIASES.get(calendar_id.upper(), calendar_id)


@lru_cache(maxsize=32)
def get_calendar(calendar_id: str) -> Any:
    """The pandas-market-calendars calendar for a name or alias (cached: the
    same object per name). An unknown name raises the library's RuntimeError.

    >>> get_calendar("NYSE").tz
    zoneinfo.ZoneInfo(key='America/New_York')
    """
    return _library().get_calendar(_resolve_name(calendar_id))


@lru_cache(maxsize=32)
def get_standard_market_open_time(calendar_id: str) -> time:
    """The calendar's regular open (exchange-local wall time, e.g. 09:30 for
    NYSE, 17:00 for CME_Equity). ValueError when the name is no calendar or the
    calendar declares no regular open."""
    if _resolve_name(calendar_id) not in _library().get_calendar_names():
        raise ValueError(f"calendar {calendar_id!r} does not define a standard market open")
    try:
        opens = get_calendar(calendar_id).open_time
    except NotImplementedError as exc:
        raise ValueError(f"calendar {calendar_id!r} does not define a standard market open") from exc
    return time(opens.hour, opens.minute, opens.second)


def _utc_column(values: Any) -> pl.Series:
    """A pandas UTC datetime column as a Polars Datetime(UTC) series."""
    naive = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return pl.Series(values.name, naive).dt.replace_time_zone("UTC")


def _empty_schedule() -> pl.DataFrame:
    return pl.DataFrame(schema={"session_date": pl.Date, "market_open": pl.Datetime("us", "UTC"),
                                "market_close": pl.Datetime("us", "UTC"), "timezone": pl.Utf8})


def get_schedule(calendar_id: str, start_date: date | datetime | str, end_date: date | datetime | str, *,
                 include_breaks: bool = False, include_extended_hours: bool = False) -> pl.DataFrame:
    """The sessions from `start_date` to `end_date` (inclusive): columns
    session_date, market_open, market_close (UTC instants) and timezone (the
    exchange's), plus break_start/break_end with `include_breaks` (exchanges
    with a lunch or maintenance break) and pre_market/post_market with
    `include_extended_hours` where the calendar has them.

    >>> get_schedule("NYSE", date(2024, 1, 2), date(2024, 1, 2)).row(0)[:3]
    (date(2024, 1, 2), datetime(2024, 1, 2, 14, 30, tzinfo=UTC), datetime(2024, 1, 2, 21, 0, tzinfo=UTC))
    """
    calendar = get_calendar(calendar_id)
    frame = calendar.schedule(start_date=start_date, end_date=end_date)
    if frame.empty:
        return _empty_schedule()
    wanted = [("market_open", "market_open"), ("market_close", "market_close")]
    if include_breaks and "break_start" in frame.columns:
        wanted += [("break_start", "break_start"), ("break_end", "break_end")]
    if include_extended_hours:
        wanted += [(src, dst) for src, dst in (("pre", "pre_market"), ("post", "post_market")) if src in frame.columns]
    columns = [pl.Series("session_date", frame.index.to_numpy()).cast(pl.Date)]
    columns += [_utc_column(frame[src]).alias(dst) for src, dst in wanted]
    return pl.DataFrame(columns).with_columns(pl.lit(str(getattr(calendar, "tz", "UTC"))).alias("timezone"))


@lru_cache(maxsize=128)
def get_calendar_sessions(calendar_id: str, year: int) -> Mapping[date, CalendarSession]:
    """Every session labelled in `year`, by label date (read-only, cached per
    calendar and year: schedules look sessions up one event at a time)."""
    schedule = get_schedule(calendar_id, date(year, 1, 1), date(year, 12, 31))
    sessions = {label: CalendarSession(label, opens, closes)
                for label, opens, closes in schedule.select("session_date", "market_open", "market_close").iter_rows()}
    return MappingProxyType(sessions)


@lru_cache(maxsize=128)
def get_calendar_sessions_by_open_date(calendar_id: str, year: int) -> Mapping[date, tuple[CalendarSession, ...]]:
    """The sessions labelled in `year`, grouped by the exchange-local date of
    their open (a CME Monday session opens on Sunday), earliest open first."""
    zone = ZoneInfo(str(get_calendar(calendar_id).tz))
    by_open: dict[date, list[CalendarSession]] = {}
    for session in get_calendar_sessions(calendar_id, year).values():
        by_open.setdefault(session.market_open.astimezone(zone).date(), []).append(session)
    return MappingProxyType({day: tuple(sorted(group, key=lambda s: s.market_open))
                             for day, group in by_open.items()})


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value).date()
    raise TypeError(f"expected a date, datetime or ISO date string, got {value!r}")


def _valid_days(calendar_id: str, start: date, end: date) -> list[date]:
    days = get_calendar(calendar_id).valid_days(start_date=start, end_date=end)
    return [stamp.date() for stamp in days]


def get_trading_days(calendar_id: str, start_date: date | datetime | str,
                     end_date: date | datetime | str) -> pl.Series:
    """The trading days from `start_date` to `end_date` (inclusive), a Date series.

    >>> len(get_trading_days("NYSE", date(2024, 1, 1), date(2024, 1, 31)))
    21
    """
    return pl.Series("trading_day", _valid_days(calendar_id, _as_date(start_date), _as_date(end_date)), dtype=pl.Date)


def is_trading_day(calendar_id: str, check_date: date | datetime | str) -> bool:
    """Whether the exchange has a session on `check_date` (False on weekends and holidays).

    >>> is_trading_day("NYSE", date(2024, 7, 4))
    False
    """
    day = _as_date(check_date)
    return bool(_valid_days(calendar_id, day, day))


def is_market_open(calendar_id: str, check_datetime: datetime) -> bool:
    """Whether the exchange is open at an instant: inside a session's
    [open, close), outside any break. A session that opened the day before
    (overnight futures) counts. Naive datetimes are read as UTC.

    >>> is_market_open("NYSE", datetime(2024, 7, 5, 15, 30, tzinfo=UTC))   # 11:30 New York
    True
    """
    instant = check_datetime if check_datetime.tzinfo is not None else check_datetime.replace(tzinfo=ZoneInfo("UTC"))
    day = instant.astimezone(ZoneInfo("UTC")).date()
    schedule = get_schedule(calendar_id, day - timedelta(days=1), day + timedelta(days=1), include_breaks=True)
    has_breaks = "break_start" in schedule.columns
    for row in schedule.iter_rows(named=True):
        if not row["market_open"] <= instant < row["market_close"]:
            continue
        if has_breaks and row["break_start"] is not None and row["break_end"] is not None \
                and row["break_start"] <= instant < row["break_end"]:
            continue
        return True
    return False


def next_trading_day(calendar_id: str, from_date: date | datetime | str, n: int = 1) -> date:
    """The `n`-th trading day after `from_date`.

    >>> next_trading_day("NYSE", date(2024, 7, 3))   # Independence Day skipped
    datetime.date(2024, 7, 5)
    """
    start = _as_date(from_date)
    days = [d for d in _valid_days(calendar_id, start, start + timedelta(days=max(30, 5 * n))) if d > start]
    if len(days) < n:
        raise ValueError(f"Could not find {n} trading days after {start}")
    return days[n - 1]


def previous_trading_day(calendar_id: str, from_date: date | datetime | str, n: int = 1) -> date:
    """The `n`-th trading day before `from_date`.

    >>> previous_trading_day("NYSE", date(2024, 7, 5))
    datetime.date(2024, 7, 3)
    """
    end = _as_date(from_date)
    days = [d for d in _valid_days(calendar_id, end - timedelta(days=max(30, 5 * n)), end) if d < end]
    if len(days) < n:
        raise ValueError(f"Could not find {n} trading days before {end}")
    return days[-n]


def list_calendars() -> list[str]:
    """Every calendar name the library knows (``XNYS``, ``CME_Equity``, ...)."""
    return list(_library().get_calendar_names())


def get_holidays(calendar_id: str, start_date: date | datetime | str,
                 end_date: date | datetime | str) -> pl.DataFrame:
    """Weekdays without a session from `start_date` to `end_date`: columns
    date and name (None: the library does not name them).

    >>> date(2024, 7, 4) in get_holidays("NYSE", date(2024, 1, 1), date(2024, 12, 31))["date"].to_list()
    True
    """
    start, end = _as_date(start_date), _as_date(end_date)
    trading = set(_valid_days(calendar_id, start, end))
    days = [start + timedelta(days=k) for k in range((end - start).days + 1)]
    holidays = [d for d in days if d.weekday() < 5 and d not in trading]
    return pl.DataFrame({"date": pl.Series(holidays, dtype=pl.Date),
                         "name": pl.Series([None] * len(holidays), dtype=pl.Utf8)})


def _utc_timestamps(df: pl.DataFrame, column: str, naive_tz: str) -> pl.Expr:
    dtype = df.schema[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return expr.dt.replace_time_zone(naive_tz).dt.convert_time_zone("UTC")
        return expr.dt.convert_time_zone("UTC")
    return expr


def filter_to_trading_days(df: pl.DataFrame, calendar_id: str, timestamp_col: str = "timestamp") -> pl.DataFrame:
    """The rows of `df` whose date (of `timestamp_col`) is a trading day; for
    daily bars (intraday data: `filter_to_trading_sessions`).

    >>> filter_to_trading_days(daily_prices, "NYSE")
    """
    if df.is_empty():
        return df
    days = df.get_column(timestamp_col).cast(pl.Date)
    trading = pl.Series("trading_day", _valid_days(calendar_id, days.min(), days.max()), dtype=pl.Date)
    return df.filter(pl.col(timestamp_col).cast(pl.Date).is_in(trading.implode()))


def filter_to_trading_sessions(df: pl.DataFrame, calendar_id: str, timestamp_col: str = "timestamp", *,
                               naive_tz: str = "UTC", include_breaks: bool = False,
                               timestamp_semantics: str | None = None, bar_label: str | None = None) -> pl.DataFrame:
    """The rows of `df` inside a session: [open, close) for event instants,
    (open, close] for bars labelled by their close (`timestamp_semantics=
    "bar_close"` or `bar_label="right"`). Breaks are excluded unless
    `include_breaks`. Naive timestamps are read in `naive_tz`; the result's
    timestamps are UTC, sorted.

    >>> filter_to_trading_sessions(minute_bars, "NYSE", naive_tz="America/New_York")
    """
    from nautilus_like.sessions import _is_right_labeled_bar

    right = _is_right_labeled_bar(timestamp_semantics, bar_label)
    if df.is_empty():
        return df
    df = df.with_columns(_utc_timestamps(df, timestamp_col, naive_tz).alias(timestamp_col))
    stamps = df.get_column(timestamp_col)
    first, last = stamps.min().date(), stamps.max().date()
    # An overnight session (CME: 17:00 Chicago) opens the calendar day before
    # its label date: look one day further on both sides.
    schedule = get_schedule(calendar_id, first - timedelta(days=1), last + timedelta(days=1), include_breaks=True)
    if schedule.is_empty():
        return df.clear()
    intervals: list[tuple[datetime, datetime]] = []
    has_breaks = "break_start" in schedule.columns
    for row in schedule.iter_rows(named=True):
        if not include_breaks and has_breaks and row["break_start"] is not None and row["break_end"] is not None:
            intervals += [(row["market_open"], row["break_start"]), (row["break_end"], row["market_close"])]
        else:
            intervals.append((row["market_open"], row["market_close"]))
    dtype = df.schema[timestamp_col]
    sessions = pl.DataFrame({"__open": [o for o, _ in intervals], "__close": [c for _, c in intervals]}).with_columns(
        pl.col("__open").cast(dtype), pl.col("__close").cast(dtype)).sort("__open")
    inside = pl.col(timestamp_col) <= pl.col("__close") if right else pl.col(timestamp_col) < pl.col("__close")
    return (df.sort(timestamp_col)
            .join_asof(sessions, left_on=timestamp_col, right_on="__open", strategy="backward",
                       allow_exact_matches=not right)
            .filter(inside)
            .drop("__open", "__close"))


def trading_bar_mask(timestamps: pl.Series | Sequence[datetime], calendar_id: str, *, timezone: str = "UTC",
                     data_frequency: Any = None, timestamp_semantics: Any = None,
                     bar_label: Any = None) -> pl.Series:
    """Per timestamp, whether it is inside an exchange session (what
    `enforce_sessions` keeps, as ml4t-backtest's engine): session labels and
    daily bars whose date is a trading day; instants inside [open, close);
    bars labelled by their close inside (open, close]. Naive timestamps are
    read in `timezone`.

    >>> trading_bar_mask([datetime(2025, 7, 11), datetime(2025, 7, 12)], "NYSE", data_frequency="daily").to_list()
    [True, False]
    """
    from nautilus_like.time_semantics import TimestampSemantics, coerce_frequency, coerce_semantics

    stamps = timestamps if isinstance(timestamps, pl.Series) else pl.Series("timestamp", list(timestamps))
    if stamps.is_empty():
        return pl.Series("in_session", [], dtype=pl.Boolean)
    semantics = coerce_semantics(timestamp_semantics)
    frequency = coerce_frequency(data_frequency)
    daily = frequency is not None and frequency.value == "daily"
    if semantics is TimestampSemantics.SESSION_LABEL or (semantics is None and daily) or stamps.dtype == pl.Date:
        days = stamps.cast(pl.Date)
        trading = pl.Series(_valid_days(calendar_id, days.min(), days.max()), dtype=pl.Date)
        return days.is_in(trading.implode()).alias("in_session")
    frame = pl.DataFrame({"timestamp": stamps, "__row": pl.int_range(len(stamps), eager=True)})
    kept = filter_to_trading_sessions(frame, calendar_id, naive_tz=timezone, timestamp_semantics=semantics,
                                      bar_label=bar_label)["__row"]
    return frame["__row"].is_in(kept.implode()).alias("in_session")


_MINUTE_STEPS = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60}


def generate_trading_minutes(calendar_id: str, start_date: date | datetime | str, end_date: date | datetime | str, *,
                             freq: str = "1m", include_close: bool = True) -> pl.Series:
    """Bar timestamps (UTC) every `freq` ("1m", "5m", "15m", "30m", "1h") from
    each session's open, skipping breaks; with `include_close` each session's
    close is appended.

    >>> len(generate_trading_minutes("NYSE", date(2024, 1, 2), date(2024, 1, 2)))   # 09:30..15:59 and 16:00
    391
    """
    if freq not in _MINUTE_STEPS:
        raise ValueError(f"Unsupported frequency: {freq}. Use one of {list(_MINUTE_STEPS)}")
    step = timedelta(minutes=_MINUTE_STEPS[freq])
    schedule = get_schedule(calendar_id, start_date, end_date, include_breaks=True)
    out: list[datetime] = []
    has_breaks = "break_start" in schedule.columns
    for row in schedule.iter_rows(named=True):
        opens, closes = row["market_open"], row["market_close"]
        pieces = [(opens, closes)]
        if has_breaks and row["break_start"] is not None and row["break_end"] is not None \
                and opens < row["break_start"] < row["break_end"]:
            pieces = [(opens, row["break_start"]), (row["break_end"], closes)]
        for begin, end in pieces:
            stamp = begin
            while stamp < end:
                out.append(stamp)
                stamp += step
        if include_close and (not out or out[-1] != closes):
            out.append(closes)
    return pl.Series("timestamp", out, dtype=pl.Datetime("us", "UTC"))


def get_early_closes(calendar_id: str, start_date: date | datetime | str,
                     end_date: date | datetime | str) -> pl.DataFrame:
    """Sessions closing before the calendar's regular close: columns date and
    close_time (exchange-local).

    >>> get_early_closes("NYSE", date(2024, 1, 1), date(2024, 12, 31))["date"].to_list()
    [datetime.date(2024, 7, 3), datetime.date(2024, 11, 29), datetime.date(2024, 12, 24)]
    """
    schedule = get_schedule(calendar_id, start_date, end_date)
    if schedule.is_empty():
        return pl.DataFrame(schema={"date": pl.Date, "close_time": pl.Time})
    calendar = get_calendar(calendar_id)
    regular = calendar.close_time
    regular = time(regular.hour, regular.minute, regular.second)
    local = pl.col("market_close").dt.convert_time_zone(str(calendar.tz)).dt.time()
    return (schedule.with_columns(local.alias("close_time"))
            .filter(pl.col("close_time") < pl.lit(regular))
            .select(pl.col("session_date").alias("date"), "close_time"))
