"""Trading sessions: which session a timestamp belongs to, and P&L per session
(ml4t-backtest's `sessions` module).

A session is labelled by a date. For a morning-open exchange (NYSE 09:30) it
is the local calendar date; for an evening-open one (CME 17:00 Chicago) a bar
after the open belongs to the next day's session, so Sunday 18:00 is Monday's.
With a named calendar and no explicit `session_start_time`, the session is the
calendar's own (pandas-market-calendars, see `nautilus_like.calendar`).

>>> config = SessionConfig(calendar="CME_Equity", timezone="America/Chicago", session_start_time="17:00")
>>> config.date_for_timestamp(datetime(2024, 1, 7, 18, 0))
datetime.datetime(2024, 1, 8, 0, 0)
>>> compute_session_pnl(equity_curve, config)      # one row per session
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from nautilus_like import calendar as _cal
from nautilus_like.time_semantics import (
    BarLabel,
    TimestampSemantics,
    coerce_bar_label,
    coerce_frequency,
    coerce_semantics,
)

__all__ = ["SessionConfig", "align_to_sessions", "assign_session_date", "compute_session_pnl",
           "session_date_for_timestamp", "session_dates"]

_UTC = ZoneInfo("UTC")


def _is_right_labeled_bar(timestamp_semantics: Any, bar_label: Any) -> bool:
    """Whether timestamps name a bar's closing end (so a bar at the close is
    inside the session and one at the open is not)."""
    semantics = coerce_semantics(timestamp_semantics)
    label = coerce_bar_label(bar_label)
    if semantics is TimestampSemantics.SESSION_LABEL:
        return False
    if semantics is TimestampSemantics.BAR_CLOSE and label is BarLabel.LEFT:
        raise ValueError("bar_close timestamp_semantics requires bar_label='right'")
    return semantics is TimestampSemantics.BAR_CLOSE or label is BarLabel.RIGHT


def _parse_start(session_start_time: str) -> tuple[int, int]:
    """"HH:MM" (or "HH") -> (hour, minute), range-checked."""
    if not isinstance(session_start_time, str):
        raise ValueError(f"session_start_time must be 'HH:MM', got {session_start_time!r}")
    parts = session_start_time.split(":")
    try:
        hour, minute = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
        time(hour, minute)
    except ValueError:
        raise ValueError(f"session_start_time must be 'HH:MM', got {session_start_time!r}") from None
    return hour, minute


def _validate_session_start_time(calendar: str | None, session_start_time: str) -> None:
    """An explicit session boundary may restate the calendar's regular open or,
    for an evening-open calendar (or none), move the evening boundary. A custom
    morning boundary would not change any session date, so it is refused."""
    hour, minute = _parse_start(session_start_time)
    evening = hour >= 12
    if calendar is None:
        if evening:
            return
        raise ValueError("morning session_start_time requires exchange calendar metadata")
    try:
        opens = _cal.get_standard_market_open_time(calendar)
    except ValueError:
        if evening:
            return
        raise
    if (hour, minute) == (opens.hour, opens.minute) or (evening and opens.hour >= 12):
        return
    raise ValueError(f"custom {'evening' if evening else 'morning'} session_start_time {session_start_time!r} is "
                     f"unsupported for calendar {calendar!r}; its standard market open is {opens:%H:%M}")


def _default_session_start(calendar: str) -> time:
    try:
        return _cal.get_standard_market_open_time(calendar)
    except ValueError:
        return time.min  # no exchange open known: sessions are calendar days


@dataclass(frozen=True)
class SessionConfig:
    """How timestamps map to trading sessions.

    * `calendar`: exchange calendar name ("NYSE", "CME_Equity", ...); an
      unknown name means calendar days (midnight boundary).
    * `timezone`: the zone of naive timestamps; the session zone too when the
      calendar is unknown (a known calendar uses its exchange's zone).
    * `session_start_time`: "HH:MM" evening boundary (CME "17:00"), or the
      calendar's own open restated; None uses the calendar's regular open.
    * `timestamp_semantics` / `bar_label` / `data_frequency`: what the
      timestamps mark; bars labelled by their close are matched to the
      calendar's (open, close] intervals.

    >>> SessionConfig(calendar="NYSE").get_session_start_hour()
    9
    """

    calendar: str
    timezone: str = "UTC"
    session_start_time: str | None = None
    timestamp_semantics: TimestampSemantics | str | None = None
    bar_label: BarLabel | str | None = None
    data_frequency: Any | None = None

    def __post_init__(self) -> None:
        if self.session_start_time is not None:
            _validate_session_start_time(self.calendar, self.session_start_time)

    def date_for_timestamp(self, timestamp: datetime) -> datetime:
        """The session label (a midnight datetime) of one timestamp."""
        if _is_right_labeled_bar(self.timestamp_semantics, self.bar_label):
            label = session_date_for_timestamp(
                timestamp, calendar=self.calendar, timezone=self.timezone,
                session_start_time=self.session_start_time, data_frequency=self.data_frequency,
                timestamp_semantics=self.timestamp_semantics, bar_label=self.bar_label)
            return datetime.combine(label, time.min)
        zone = self.get_session_timezone()
        local = _in_zone(timestamp, ZoneInfo(self.timezone), zone)
        return assign_session_date(local, zone, self.get_session_start_hour(), self.get_session_start_minute())

    def _start(self) -> tuple[int, int]:
        if self.session_start_time:
            return _parse_start(self.session_start_time)
        opens = _default_session_start(self.calendar)
        return opens.hour, opens.minute

    def get_session_start_hour(self) -> int:
        """Hour (0-23) of the session boundary."""
        return self._start()[0]

    def get_session_start_minute(self) -> int:
        """Minute (0-59) of the session boundary."""
        return self._start()[1]

    def get_session_timezone(self) -> ZoneInfo:
        """The calendar's exchange zone, else `timezone`."""
        try:
            return ZoneInfo(str(_cal.get_calendar(self.calendar).tz))
        except RuntimeError:  # not a calendar the library knows
            return ZoneInfo(self.timezone)


def _in_zone(timestamp: datetime, data_zone: ZoneInfo, zone: ZoneInfo) -> datetime:
    """`timestamp` in `zone`; a naive one is read in `data_zone` first."""
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=data_zone)
    return timestamp.astimezone(zone)


def session_date_for_timestamp(timestamp: datetime, *, calendar: str | None, timezone: str | None,
                               session_start_time: str | None, data_frequency: Any | None,
                               timestamp_semantics: TimestampSemantics | str | None,
                               bar_label: BarLabel | str | None = None) -> date:
    """The session date of one feed timestamp.

    Session labels and daily bars (and timestamps nothing is declared about)
    are their own date. Otherwise a named calendar without `session_start_time`
    gives the calendar session that has opened by then (for bars labelled by
    their close: whose (open, close] holds the timestamp); an explicit
    `session_start_time` or no calendar gives the boundary rule of
    `assign_session_date`. Naive timestamps are read in `timezone` (UTC if None).

    >>> session_date_for_timestamp(datetime(2024, 1, 8, 18, 0), calendar="CME_Equity", timezone="America/Chicago",
    ...                            session_start_time=None, data_frequency="1m", timestamp_semantics="bar_close")
    datetime.date(2024, 1, 9)
    """
    frequency = coerce_frequency(data_frequency)
    semantics = coerce_semantics(timestamp_semantics)
    if semantics is TimestampSemantics.SESSION_LABEL or (semantics is None and (
            (frequency is not None and frequency.value == "daily") or (frequency is None and bar_label is None))):
        return timestamp.date()

    data_zone = ZoneInfo(timezone or "UTC")
    exchange_zone = ZoneInfo(str(_cal.get_calendar(calendar).tz)) if calendar is not None else data_zone
    local = _in_zone(timestamp, data_zone, exchange_zone)
    if calendar is not None and session_start_time is None:
        return _calendar_session_date(calendar, local, _is_right_labeled_bar(semantics, bar_label))
    if session_start_time is not None:
        _validate_session_start_time(calendar, session_start_time)
        hour, minute = _parse_start(session_start_time)
    else:  # no calendar: calendar days
        hour, minute = 0, 0
    return assign_session_date(local, exchange_zone, hour, minute).date()


def session_dates(timestamps: pl.Series | list[datetime], *, calendar: str | None, timezone: str | None = None,
                  session_start_time: str | None = None, data_frequency: Any | None = None,
                  timestamp_semantics: TimestampSemantics | str | None = None,
                  bar_label: BarLabel | str | None = None) -> pl.Series:
    """`session_date_for_timestamp` for every timestamp of a feed, a Date
    series: the per-bar session a run needs for DAY orders and session-end
    cancels when an exchange calendar is in force.

    >>> session_dates([datetime(2024, 1, 7, 23), datetime(2024, 1, 8, 21), datetime(2024, 1, 8, 23)],
    ...               calendar="CME_Equity", data_frequency="1h", timestamp_semantics="event_time").to_list()
    [datetime.date(2024, 1, 8), datetime.date(2024, 1, 8), datetime.date(2024, 1, 9)]
    """
    values = timestamps.to_list() if isinstance(timestamps, pl.Series) else list(timestamps)
    labels = [session_date_for_timestamp(ts, calendar=calendar, timezone=timezone,
                                         session_start_time=session_start_time, data_frequency=data_frequency,
                                         timestamp_semantics=timestamp_semantics, bar_label=bar_label)
              for ts in values]
    return pl.Series("session_date", labels, dtype=pl.Date)


def _calendar_session_date(calendar: str, local: datetime, right: bool) -> date:
    """The label of the latest calendar session opened by `local` (for
    right-labelled bars: whose (open, close] holds it); else its local date."""
    instant = local.astimezone(_UTC)
    day = local.date()
    # Sessions are indexed by label year; one opening on Dec 31 may carry the
    # next year's label, and a right-labelled Jan 1 bar may close last year's.
    years = [day.year]
    if (day.month, day.day) == (12, 31):
        years.append(day.year + 1)
    if right and (day.month, day.day) == (1, 1):
        years.insert(0, day.year - 1)
    open_days = (day - timedelta(days=1), day) if right else (day,)
    best = None
    for year in years:
        by_open = _cal.get_calendar_sessions_by_open_date(calendar, year)
        for open_day in open_days:
            for session in by_open.get(open_day, ()):
                inside = session.market_open < instant <= session.market_close if right \
                    else session.market_open <= instant
                if inside and (best is None or session.market_open > best.market_open):
                    best = session
    return best.session_date if best is not None else day


def assign_session_date(timestamp: datetime, timezone: ZoneInfo, session_start_hour: int,
                        session_start_minute: int = 0) -> datetime:
    """The session (a midnight datetime) of `timestamp` for a boundary at
    `session_start_hour:session_start_minute` in `timezone`. An evening
    boundary (hour >= 12) moves bars at or after it to the next day's session;
    a morning one keeps every bar on its local date (pre-market included).
    Naive timestamps are read in `timezone`.

    >>> assign_session_date(datetime(2024, 1, 8, 17, 0), ZoneInfo("America/Chicago"), 17)
    datetime.datetime(2024, 1, 9, 0, 0)
    """
    local = timestamp.replace(tzinfo=timezone) if timestamp.tzinfo is None else timestamp.astimezone(timezone)
    day = local.date()
    if session_start_hour >= 12 and local.time() >= time(session_start_hour, session_start_minute):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day)


_PNL_SCHEMA = {
    "session_date": pl.Datetime, "session_start": pl.Datetime, "session_end": pl.Datetime,
    "open_equity": pl.Float64, "close_equity": pl.Float64, "high_equity": pl.Float64, "low_equity": pl.Float64,
    "pnl": pl.Float64, "return_pct": pl.Float64, "intra_session_dd": pl.Float64, "cumulative_return": pl.Float64,
    "num_bars": pl.UInt32,
}


def compute_session_pnl(equity_curve: list[tuple[datetime, float]], session_config: SessionConfig, *,
                        initial_capital: float | None = None,
                        drawdown_values: list[float] | None = None) -> pl.DataFrame:
    """One row per session of an equity curve ((timestamp, value) pairs):
    session_date, session_start/end (first and last timestamp), open/close/
    high/low equity, pnl (close - open), return_pct (against the previous
    session's close; 0 for the first), cumulative_return (against the first
    open), intra_session_dd (deepest drawdown from the session's running
    peak, <= 0) and num_bars.

    With `initial_capital` (the value before the first observation) each
    session opens at the previous close (the first at `initial_capital`), and
    the drawdown peak starts from the value before the session.
    `drawdown_values` replaces the equity for the drawdown (e.g. wealth
    adjusted for deposits), aligned with `equity_curve`.

    >>> compute_session_pnl([(datetime(2024, 1, 8, 18), 100.0), (datetime(2024, 1, 8, 20), 102.0)], config)["pnl"]
    [2.0]
    """
    if drawdown_values is not None and len(drawdown_values) != len(equity_curve):
        raise ValueError("drawdown_values must align with equity_curve observations")
    if not equity_curve:
        return pl.DataFrame(schema=_PNL_SCHEMA)
    stamps = [ts for ts, _ in equity_curve]
    values = [float(v) for _, v in equity_curve]
    frame = pl.DataFrame({
        "timestamp": stamps,
        "equity": values,
        "session_date": [session_config.date_for_timestamp(ts) for ts in stamps],
        "_wealth": values if drawdown_values is None else [float(v) for v in drawdown_values],
    }).sort("timestamp", maintain_order=True)
    peak = pl.col("_wealth").cum_max().over("session_date")
    if initial_capital is not None:
        # The value just before each session (the previous session's last) bounds its peak from below.
        frame = frame.with_columns(pl.col("_wealth").shift(1).fill_null(float(initial_capital)).alias("_before"))
        peak = pl.max_horizontal(peak, pl.col("_before").first().over("session_date"))
    drawdown = pl.when(peak != 0).then(pl.col("_wealth") / peak - 1.0).otherwise(0.0)
    sessions = (frame.with_columns(drawdown.alias("_dd"))
                .group_by("session_date", maintain_order=True)
                .agg(pl.col("timestamp").first().alias("session_start"),
                     pl.col("timestamp").last().alias("session_end"),
                     pl.col("equity").first().alias("open_equity"),
                     pl.col("equity").last().alias("close_equity"),
                     pl.col("equity").max().alias("high_equity"),
                     pl.col("equity").min().alias("low_equity"),
                     pl.len().alias("num_bars"),
                     pl.col("_dd").min().alias("intra_session_dd"))
                .sort("session_date"))
    previous_close = pl.col("close_equity").shift(1)
    if initial_capital is not None:
        previous_close = previous_close.fill_null(float(initial_capital))
        sessions = sessions.with_columns(previous_close.alias("open_equity"))
    return sessions.with_columns(
        (pl.col("close_equity") - pl.col("open_equity")).alias("pnl"),
        ((pl.col("close_equity") - previous_close) / previous_close).fill_null(0.0).alias("return_pct"),
        (pl.col("close_equity") / pl.col("open_equity").first() - 1.0).alias("cumulative_return"),
    )


def align_to_sessions(df: pl.DataFrame, session_config: SessionConfig, timestamp_col: str = "timestamp") -> pl.DataFrame:
    """`df` with a `session_date` column (midnight datetimes) for `timestamp_col`.

    >>> align_to_sessions(bars, SessionConfig(calendar="CME_Equity", session_start_time="17:00"))
    """
    zone = session_config.get_session_timezone()
    data_zone = ZoneInfo(session_config.timezone)
    hour, minute = session_config.get_session_start_hour(), session_config.get_session_start_minute()
    labels = [assign_session_date(_in_zone(ts, data_zone, zone), zone, hour, minute) for ts in df[timestamp_col]]
    return df.with_columns(pl.Series("session_date", labels, dtype=pl.Datetime))
