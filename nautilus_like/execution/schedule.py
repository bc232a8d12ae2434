"""When to rebalance: every bar, every session close, every n-th session,
each week's or month's last exchange session, or explicit instants
(ml4t-backtest's `execution.schedule`).

Two ways to apply a `RebalanceSchedule`, which agree:

* `resolve_rebalance_timestamps(timestamps, schedule, ...)`: the whole feed at
  once, returning the timestamps to rebalance at;
* one event at a time, causally: `is_rebalance_timestamp(...)` (stateless,
  the caller counts sessions) or `TargetWeightExecutor(RebalanceConfig(
  schedule=...)).should_rebalance(ts)` (counts sessions itself and raises as
  soon as the feed skips a close the schedule needed).

>>> resolve_rebalance_timestamps(daily_timestamps, RebalanceSchedule.month_end(), calendar="NYSE",
...                              data_frequency="daily")
>>> executor = TargetWeightExecutor(RebalanceConfig(schedule=RebalanceSchedule.weekly(), data_frequency="daily"))
>>> executor.execute(weights, data, broker, timestamp=timestamp)   # [] except on the week's last session

Sessions come from the exchange calendar (`nautilus_like.calendar`; the
default calendar is NYSE, `calendar=None` means none). What a timestamp is
comes from `data_frequency` and `timestamp_semantics`: daily bars and session
labels are session closes; intraday bars are a close only at the calendar's
market_close instant. With neither declared, each event is taken as a daily
close (with a warning unless it is at midnight). Naive timestamps are read in
`timezone` (UTC if None). This is date arithmetic over the calendar; no fill
depends on it.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from nautilus_like import calendar as _cal
from nautilus_like.sessions import session_date_for_timestamp
from nautilus_like.time_semantics import (
    UNSET_CALENDAR,
    FeedTimeMetadata,
    TimestampSemantics,
    coerce_frequency,
    coerce_semantics,
    resolve_calendar,
)

__all__ = ["RebalanceCadence", "RebalanceSchedule", "is_rebalance_timestamp", "resolve_rebalance_timestamps",
           "session_date_for_timestamp"]

_UTC = ZoneInfo("UTC")
# Without declared metadata, two events closer than this cannot both be daily closes.
_MIN_DAILY_GAP = timedelta(hours=12)


class RebalanceCadence(str, Enum):
    """How often a schedule fires."""

    EVERY_BAR = "every_bar"
    EVERY_SESSION = "every_session"
    FIXED_N_SESSIONS = "fixed_n_sessions"
    WEEKLY = "weekly"
    MONTH_END = "month_end"
    EXPLICIT_TIMESTAMPS = "explicit_timestamps"


_PERIODIC = (RebalanceCadence.WEEKLY, RebalanceCadence.MONTH_END)


@dataclass(frozen=True)
class RebalanceSchedule:
    """A rebalance cadence. Build one with the class methods:

    >>> RebalanceSchedule.fixed_n_sessions(5)          # sessions 1, 6, 11, ...
    >>> RebalanceSchedule.explicit_timestamps([datetime(2024, 3, 28, 16)])

    `every_n` counts sessions for FIXED_N_SESSIONS (>= 1). `timestamps` (for
    EXPLICIT_TIMESTAMPS, at least one) are deduplicated and sorted; dates
    become midnights; naive ones are read in the feed's timezone when matched.
    """

    cadence: RebalanceCadence = RebalanceCadence.EVERY_BAR
    every_n: int = 1
    timestamps: tuple[datetime, ...] = ()

    def __post_init__(self) -> None:
        cadence = RebalanceCadence(self.cadence)
        object.__setattr__(self, "cadence", cadence)
        if cadence is RebalanceCadence.FIXED_N_SESSIONS and (
                isinstance(self.every_n, bool) or not isinstance(self.every_n, int) or self.every_n < 1):
            raise ValueError(f"RebalanceSchedule.every_n must be >= 1, got {self.every_n!r}")
        unique = {_as_datetime(ts) for ts in self.timestamps}
        ordered = tuple(sorted(unique, key=lambda ts: (_to_utc(ts, None), ts.tzinfo is not None)))
        if cadence is RebalanceCadence.EXPLICIT_TIMESTAMPS and not ordered:
            raise ValueError("Explicit timestamp schedules require at least one timestamp")
        object.__setattr__(self, "timestamps", ordered)

    @classmethod
    def every_bar(cls) -> RebalanceSchedule:
        """Every event."""
        return cls(cadence=RebalanceCadence.EVERY_BAR)

    @classmethod
    def every_session(cls) -> RebalanceSchedule:
        """Each session's close."""
        return cls(cadence=RebalanceCadence.EVERY_SESSION)

    @classmethod
    def fixed_n_sessions(cls, n: int) -> RebalanceSchedule:
        """The close of the 1st, (n+1)-th, (2n+1)-th, ... observed session."""
        return cls(cadence=RebalanceCadence.FIXED_N_SESSIONS, every_n=n)

    @classmethod
    def weekly(cls) -> RebalanceSchedule:
        """The close of each Monday-Sunday week's last exchange session."""
        return cls(cadence=RebalanceCadence.WEEKLY)

    @classmethod
    def month_end(cls) -> RebalanceSchedule:
        """The close of each month's last exchange session."""
        return cls(cadence=RebalanceCadence.MONTH_END)

    @classmethod
    def explicit_timestamps(cls, timestamps: Sequence[datetime]) -> RebalanceSchedule:
        """Exactly these instants."""
        return cls(cadence=RebalanceCadence.EXPLICIT_TIMESTAMPS, timestamps=tuple(timestamps))

    def _instants(self, timezone: str | None) -> frozenset[datetime]:
        """The explicit instants in UTC (naive ones read in `timezone`)."""
        return _utc_instants(self.timestamps, timezone)


@lru_cache(maxsize=64)
def _utc_instants(timestamps: tuple[datetime, ...], timezone: str | None) -> frozenset[datetime]:
    # Cached: a stateless check per event would otherwise convert the whole schedule each time.
    return frozenset(_to_utc(ts, timezone) for ts in timestamps)


# ----------------------------------------------------------------- helpers


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.min)
    raise TypeError(f"Unsupported timestamp type: {type(value).__name__}")


def _localize(timestamp: datetime, timezone: str | None) -> datetime:
    zone = ZoneInfo(timezone or "UTC")
    return timestamp.replace(tzinfo=zone) if timestamp.tzinfo is None else timestamp.astimezone(zone)


def _to_utc(timestamp: datetime, timezone: str | None) -> datetime:
    return _localize(timestamp, timezone).astimezone(_UTC)


def _naive_hint(timezone: str | None) -> str:
    return f"If timestamps are naive, they use timezone {timezone or 'UTC'!r}"


def _as_schedule(schedule: RebalanceSchedule | RebalanceCadence | str) -> RebalanceSchedule:
    if isinstance(schedule, RebalanceSchedule):
        return schedule
    return RebalanceSchedule(cadence=RebalanceCadence(schedule))


def _require_calendar(schedule: RebalanceSchedule, calendar: str | None) -> None:
    if schedule.cadence in _PERIODIC and calendar is None:
        raise ValueError("weekly and month_end schedules require calendar metadata")


def _session(calendar: str, day: date) -> _cal.CalendarSession | None:
    return _cal.get_calendar_sessions(calendar, day.year).get(day)


def _session_close(calendar: str, day: date) -> datetime | None:
    session = _session(calendar, day)
    return None if session is None else session.market_close


@lru_cache(maxsize=512)
def _last_session_between(calendar: str, first: date, last: date) -> date | None:
    """The calendar's last session labelled in [first, last], None if none."""
    found = None
    for year in range(first.year, last.year + 1):
        for day in _cal.get_calendar_sessions(calendar, year):
            if first <= day <= last and (found is None or day > found):
                found = day
    return found


def _period(cadence: RebalanceCadence, day: date) -> tuple[date, date]:
    """The Monday-Sunday week or the calendar month holding `day`."""
    if cadence is RebalanceCadence.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    return day.replace(day=1), day.replace(day=_stdlib_calendar.monthrange(day.year, day.month)[1])


def _period_end(calendar: str, cadence: RebalanceCadence, day: date) -> date | None:
    return _last_session_between(calendar, *_period(cadence, day))


def _period_ends_passed(cadence: RebalanceCadence, previous: date, current: date, calendar: str) -> list[date]:
    """Period-end sessions of the periods from `previous`'s up to (not
    including) `current`'s: the closes a feed moving from one to the other
    must have shown."""
    if cadence not in _PERIODIC:
        return []
    ends = []
    first, last = _period(cadence, previous)
    current_first = _period(cadence, current)[0]
    while first < current_first:
        end = _last_session_between(calendar, first, last)
        if end is not None:
            ends.append(end)
        first, last = _period(cadence, last + timedelta(days=1))
    return ends


def _needs_close(schedule: RebalanceSchedule, day: date, index: int, calendar: str | None) -> bool:
    """Whether the schedule fires at the close of session `day` (the `index`-th observed)."""
    cadence = schedule.cadence
    if cadence is RebalanceCadence.EVERY_SESSION:
        return True
    if cadence is RebalanceCadence.FIXED_N_SESSIONS:
        return (index - 1) % schedule.every_n == 0
    if cadence not in _PERIODIC:
        return False
    _require_calendar(schedule, calendar)
    return day == _period_end(calendar, cadence, day)


def _reached_close(calendar: str | None, day: date, last_event: datetime | None, timezone: str | None) -> bool:
    """Whether the feed got as far as session `day`'s close (a truncated last
    session is not an alignment error)."""
    if last_event is None or calendar is None:
        return True
    close = _session_close(calendar, day)
    return close is None or _to_utc(last_event, timezone) >= close


def _close_alignment_error(cadence: RebalanceCadence, calendar: str | None, day: date) -> ValueError:
    close = _session_close(calendar, day) if calendar is not None else None
    return ValueError(
        f"{cadence.value} resolved no session closes for required session {day} on calendar {calendar!r}; "
        f"expected market_close {close.isoformat() if close is not None else 'unavailable'}. Verify that intraday "
        "timestamps align with the exchange close and declared timestamp semantics")


def _missing_period_end_error(cadence: RebalanceCadence, calendar: str, end: date, seen: date) -> ValueError:
    return ValueError(f"{cadence.value} feed is missing calendar period-end session {end} on calendar {calendar!r} "
                      f"before observed session {seen}; verify feed completeness")


def _explicit_miss_error(scheduled: datetime, nearest: datetime, timezone: str | None) -> ValueError:
    return ValueError(
        f"explicit_timestamps schedule instant {_to_utc(scheduled, timezone).isoformat()} did not match an observed "
        f"feed event within the observed instant window; nearest observed instant is "
        f"{_to_utc(nearest, timezone).isoformat()}. {_naive_hint(timezone)}")


def _no_sessions_error(cadence: RebalanceCadence, calendar: str | None) -> ValueError:
    return ValueError(f"{cadence.value} observed no exchange sessions for calendar {calendar!r}; verify the "
                      "calendar and feed timestamps")


def _ambiguous_day_error(day: date) -> ValueError:
    return ValueError(f"multiple schedule events observed on {day} while data_frequency and timestamp_semantics "
                      "are omitted; configure both fields for intraday data")


def _short_gap_error(previous: datetime, current: datetime, timezone: str | None) -> ValueError:
    hours = int(_MIN_DAILY_GAP.total_seconds() // 3600)
    return ValueError(f"schedule events {previous.isoformat()} and {current.isoformat()} are less than {hours} hours "
                      f"apart while data_frequency and timestamp_semantics are omitted; configure both fields for "
                      f"intraday data. {_naive_hint(timezone)}")


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _warn_undeclared_boundaries() -> None:
    # Point the warning at the first caller outside nautilus_like (user code).
    level, frame = 1, sys._getframe(0)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn("session cadence has no data_frequency or timestamp_semantics; events are treated as daily "
                  "session closes", UserWarning, stacklevel=level)


def _is_daily(frequency: Any) -> bool:
    return frequency is not None and frequency.value == "daily"


def _is_session_close(timestamp: datetime, calendar: str | None, timezone: str | None, frequency: Any,
                      semantics: TimestampSemantics | None) -> bool:
    """Whether an event is a session close: daily bars and session labels
    always are; an intraday event only at a calendar session's market_close."""
    if semantics is TimestampSemantics.SESSION_LABEL or (semantics is None and _is_daily(frequency)):
        return True
    if semantics is None and frequency is None:
        if timestamp.time() != time.min:  # a midnight is a plain daily label
            _warn_undeclared_boundaries()
        return True
    if calendar is None:
        raise ValueError("intraday session schedules require calendar metadata or is_session_close")
    local = _localize(timestamp, timezone)
    instant = local.astimezone(_UTC)
    day = local.date()
    return any(_session_close(calendar, d) == instant for d in (day - timedelta(days=1), day, day + timedelta(days=1)))


@dataclass(frozen=True)
class _Metadata:
    calendar: str | None
    timezone: str | None
    session_start_time: str | None
    data_frequency: Any
    timestamp_semantics: TimestampSemantics | None

    def session_of(self, timestamp: datetime) -> date:
        return session_date_for_timestamp(timestamp, calendar=self.calendar, timezone=self.timezone,
                                          session_start_time=self.session_start_time,
                                          data_frequency=self.data_frequency,
                                          timestamp_semantics=self.timestamp_semantics)

    @property
    def declared(self) -> bool:
        return self.data_frequency is not None or self.timestamp_semantics is not None


def _fires(timestamp: datetime, schedule: RebalanceSchedule, index: int, meta: _Metadata,
           is_session_close: bool | None, day: date | None) -> bool:
    """Whether `schedule` fires at `timestamp`, the `index`-th observed
    session's event (`day`, its session date, computed when None)."""
    cadence = schedule.cadence
    if cadence is RebalanceCadence.EVERY_BAR:
        return True
    if cadence is RebalanceCadence.EXPLICIT_TIMESTAMPS:
        return _to_utc(timestamp, meta.timezone) in schedule._instants(meta.timezone)
    _require_calendar(schedule, meta.calendar)
    calendar = meta.calendar
    if is_session_close is not True and calendar is not None:
        day = day if day is not None else meta.session_of(timestamp)
        if _session(calendar, day) is None:
            return False  # not an exchange session (a holiday, a weekend)
    if is_session_close is None:
        is_session_close = _is_session_close(timestamp, calendar, meta.timezone, meta.data_frequency,
                                             meta.timestamp_semantics)
    if not is_session_close:
        return False
    if cadence is RebalanceCadence.EVERY_SESSION:
        return True
    if cadence is RebalanceCadence.FIXED_N_SESSIONS:
        return (index - 1) % schedule.every_n == 0
    day = day if day is not None else meta.session_of(timestamp)
    return day == _period_end(calendar, cadence, day)


def _metadata(calendar: Any, timezone: str | None, session_start_time: str | None, data_frequency: Any,
              timestamp_semantics: Any, feed_spec: Any = None, default_timezone: str | None = None) -> _Metadata:
    spec = FeedTimeMetadata(feed_spec) if feed_spec is not None else None
    resolved_calendar = spec.resolve_calendar(calendar) if spec is not None else resolve_calendar(calendar)

    def pick(value: Any, name: str) -> Any:
        return value if value is not None else (getattr(spec, name) if spec is not None else None)

    return _Metadata(
        calendar=resolved_calendar,
        timezone=pick(timezone, "timezone") or default_timezone,
        session_start_time=pick(session_start_time, "session_start_time"),
        data_frequency=coerce_frequency(pick(data_frequency, "data_frequency")),
        timestamp_semantics=coerce_semantics(pick(timestamp_semantics, "timestamp_semantics")),
    )


# ---------------------------------------------------------------- stateless


def is_rebalance_timestamp(timestamp: datetime, schedule: RebalanceSchedule | RebalanceCadence | str, *,
                           session_index: int, calendar: Any = UNSET_CALENDAR, timezone: str | None = None,
                           session_start_time: str | None = None, data_frequency: Any | None = None,
                           timestamp_semantics: TimestampSemantics | str | None = None,
                           is_session_close: bool | None = None) -> bool:
    """Whether `schedule` fires at `timestamp`, from this event alone:
    `session_index` is the 1-based count of sessions observed so far (for
    FIXED_N_SESSIONS), `is_session_close` overrides the calendar's verdict on
    whether the event is a session close.

    >>> is_rebalance_timestamp(datetime(2024, 3, 28), RebalanceSchedule.weekly(), session_index=4,
    ...                        calendar="NYSE", data_frequency="daily")   # Good Friday: Thursday ends the week
    True
    """
    meta = _metadata(calendar, timezone, session_start_time, data_frequency, timestamp_semantics)
    return _fires(timestamp, _as_schedule(schedule), session_index, meta, is_session_close, None)


# -------------------------------------------------------------------- batch


def resolve_rebalance_timestamps(available_timestamps: Sequence[datetime] | pl.Series,
                                 schedule: RebalanceSchedule | RebalanceCadence | str, *,
                                 feed_spec: Any | None = None, calendar: Any = UNSET_CALENDAR,
                                 timezone: str | None = None, session_start_time: str | None = None,
                                 data_frequency: Any | None = None,
                                 timestamp_semantics: TimestampSemantics | str | None = None) -> pl.Series:
    """The timestamps of a feed (deduplicated, sorted) at which `schedule`
    fires. Metadata not passed comes from `feed_spec` (ml4t's `FeedSpec` or
    any object or mapping with its fields); the calendar defaults to NYSE.

    Raises ValueError when the feed cannot honour the schedule: an explicit
    instant inside the feed's span that no event hits, a period-end session
    missing between two observed sessions, an intraday session whose close
    no event hits, or (with a calendar) no exchange session at all.

    >>> resolve_rebalance_timestamps([datetime(2024, 1, d) for d in (2, 3, 4, 5, 8)], "weekly",
    ...                              calendar="NYSE", data_frequency="daily").to_list()
    [datetime.datetime(2024, 1, 5, 0, 0)]
    """
    values = available_timestamps.to_list() if isinstance(available_timestamps, pl.Series) else available_timestamps
    stamps = sorted({_as_datetime(ts) for ts in values})
    if not stamps:
        return pl.Series("timestamp", [], dtype=pl.Datetime("us"))
    schedule = _as_schedule(schedule)
    cadence = schedule.cadence
    if cadence is RebalanceCadence.EVERY_BAR:
        return pl.Series("timestamp", stamps)
    meta = _metadata(calendar, timezone, session_start_time, data_frequency, timestamp_semantics, feed_spec,
                     default_timezone="UTC")
    if cadence is RebalanceCadence.EXPLICIT_TIMESTAMPS:
        return pl.Series("timestamp", _resolve_explicit(stamps, schedule, meta.timezone))

    _require_calendar(schedule, meta.calendar)
    if not meta.declared:
        _check_implicit_daily(stamps, meta.timezone)
    calendar = meta.calendar
    index_of: dict[date, int] = {}
    last_event: dict[date, datetime] = {}
    matched: set[date] = set()
    resolved = []
    for ts in stamps:
        day = meta.session_of(ts)
        if calendar is not None and _session(calendar, day) is None:
            continue
        index = index_of.setdefault(day, len(index_of) + 1)
        last_event[day] = ts
        if _fires(ts, schedule, index, meta, None, day):
            resolved.append(ts)
            matched.add(day)
    if not index_of:
        raise _no_sessions_error(cadence, calendar)
    sessions = list(index_of)
    if calendar is not None:
        for previous, current in zip(sessions, sessions[1:]):
            for end in _period_ends_passed(cadence, previous, current, calendar):
                if end not in index_of:
                    raise _missing_period_end_error(cadence, calendar, end, current)
    intraday = meta.timestamp_semantics is not TimestampSemantics.SESSION_LABEL and not _is_daily(meta.data_frequency)
    if intraday:
        final = sessions[-1]
        for day, index in index_of.items():
            if day in matched or not _needs_close(schedule, day, index, calendar):
                continue
            if day != final or _reached_close(calendar, day, last_event[day], meta.timezone):
                raise _close_alignment_error(cadence, calendar, day)
    return pl.Series("timestamp", resolved)


def _resolve_explicit(stamps: list[datetime], schedule: RebalanceSchedule, timezone: str | None) -> list[datetime]:
    instants = [_to_utc(ts, timezone) for ts in stamps]
    observed = set(instants)
    first, last = instants[0], instants[-1]
    misses = sorted(((_to_utc(s, timezone), s) for s in schedule.timestamps
                     if first <= _to_utc(s, timezone) <= last and _to_utc(s, timezone) not in observed),
                    key=lambda pair: pair[0])
    if misses:
        instant, scheduled = misses[0]
        nearest = min(zip(instants, stamps), key=lambda pair: abs((pair[0] - instant).total_seconds()))[1]
        raise _explicit_miss_error(scheduled, nearest, timezone)
    wanted = schedule._instants(timezone)
    return [ts for ts, instant in zip(stamps, instants) if instant in wanted]


def _check_implicit_daily(stamps: list[datetime], timezone: str | None) -> None:
    """Without declared metadata each event must look like a daily bar: one per
    date, at least 12 hours apart."""
    days: set[date] = set()
    previous = None
    for ts in stamps:
        if ts.date() in days:
            raise _ambiguous_day_error(ts.date())
        instant = _to_utc(ts, timezone)
        if previous is not None and timedelta(0) < instant - previous < _MIN_DAILY_GAP:
            raise _short_gap_error(previous, instant, timezone)
        days.add(ts.date())
        previous = instant


# ------------------------------------------------------------------- online


class RebalanceScheduleEvaluator:
    """Applies a schedule one event at a time, in order, keeping the session
    count and raising as soon as the feed shows it missed a close the schedule
    needed (`TargetWeightExecutor.should_rebalance` runs one). Call
    `evaluate` for every event, then `validate_completed_run` after the last.

    >>> evaluator = RebalanceScheduleEvaluator(RebalanceSchedule.weekly(), calendar="NYSE", data_frequency="daily")
    >>> [evaluator.evaluate(ts) for ts in timestamps]
    """

    def __init__(self, schedule: RebalanceSchedule, *, calendar: str | None, timezone: str | None = None,
                 session_start_time: str | None = None, data_frequency: Any | None = None,
                 timestamp_semantics: TimestampSemantics | str | None = None) -> None:
        _require_calendar(schedule, calendar)
        self.schedule = schedule
        self.meta = _Metadata(calendar, timezone, session_start_time, coerce_frequency(data_frequency),
                              coerce_semantics(timestamp_semantics))
        self.events = 0
        # The previous event (a repeat of the same instant returns its answer).
        self._previous: tuple[datetime, bool | None, bool] | None = None
        # Session-based cadences.
        self._day: date | None = None
        self._index = 0
        self._day_fired = False
        self._last_event: datetime | None = None
        self._saw_exchange_session = False
        self._fired_period_ends: set[date] = set()
        # Undeclared metadata: per date, whether is_session_close was given; the last inferred event.
        self._boundary_given: dict[date, bool] = {}
        self._last_inferred: datetime | None = None
        # Explicit instants: the sorted schedule, how far events have reached
        # it, and per passed instant the nearest event (for the error).
        self._by_instant = {_to_utc(ts, timezone): ts for ts in schedule.timestamps}
        self._pending = sorted(self._by_instant)
        self._cursor = 0
        self._hit: set[datetime] = set()
        self._nearest: dict[datetime, datetime] = {}
        self._first_instant: datetime | None = None
        self._last_explicit: tuple[datetime, datetime] | None = None

    @property
    def has_observations(self) -> bool:
        """Whether any event has been evaluated."""
        return self.events > 0

    def evaluate(self, timestamp: datetime, *, is_session_close: bool | None = None) -> bool:
        """Whether the schedule fires at this event (the next in time order)."""
        instant = _to_utc(timestamp, self.meta.timezone)
        if self._previous is not None and self._previous[0] == instant:
            _, given, answer = self._previous
            if is_session_close is not None and is_session_close != given:
                raise ValueError(f"timestamp {timestamp.isoformat()} was evaluated with conflicting is_session_close "
                                 "values")
            return answer
        self._check_undeclared(timestamp, instant, is_session_close)
        answer = self._evaluate(timestamp, instant, is_session_close)
        self.events += 1
        self._previous = (instant, is_session_close, answer)
        return answer

    def _check_undeclared(self, timestamp: datetime, instant: datetime, is_session_close: bool | None) -> None:
        if self.schedule.cadence in (RebalanceCadence.EVERY_BAR, RebalanceCadence.EXPLICIT_TIMESTAMPS) \
                or self.meta.declared:
            return
        day = timestamp.date()
        given = is_session_close is not None
        before = self._boundary_given.get(day)
        if before is not None:
            if before != given:
                raise ValueError(f"schedule events on {day} mix explicit is_session_close values with inferred "
                                 "boundaries; pass is_session_close on every event for that date or configure "
                                 "data_frequency and timestamp_semantics")
            if not given:
                raise _ambiguous_day_error(day)
        if not given:
            previous = self._last_inferred
            if previous is not None and timedelta(0) < instant - previous < _MIN_DAILY_GAP:
                raise _short_gap_error(previous, instant, self.meta.timezone)
            self._last_inferred = instant
        self._boundary_given[day] = given

    def _evaluate(self, timestamp: datetime, instant: datetime, is_session_close: bool | None) -> bool:
        cadence = self.schedule.cadence
        if cadence is RebalanceCadence.EVERY_BAR:
            return True
        if cadence is RebalanceCadence.EXPLICIT_TIMESTAMPS:
            return self._evaluate_explicit(timestamp, instant)
        meta, calendar = self.meta, self.meta.calendar
        day = meta.session_of(timestamp)
        if is_session_close is not True and calendar is not None and _session(calendar, day) is None:
            return False  # not an exchange session: not counted
        self._saw_exchange_session = True
        if self._day is not None and day < self._day:
            raise ValueError(f"session date moved backward from {self._day} to {day}; start a new evaluator or call "
                             "TargetWeightExecutor.reset() before another run")
        if day != self._day:
            self._enter_session(day)
        self._last_event = timestamp
        fired = _fires(timestamp, self.schedule, self._index, meta, is_session_close, day)
        if fired:
            self._day_fired = True
            if cadence in _PERIODIC:
                self._fired_period_ends.add(day)
        return fired

    def _enter_session(self, day: date) -> None:
        previous, calendar = self._day, self.meta.calendar
        if previous is not None:
            if _needs_close(self.schedule, previous, self._index, calendar) and not self._day_fired:
                raise _close_alignment_error(self.schedule.cadence, calendar, previous)
            if calendar is not None:
                for end in _period_ends_passed(self.schedule.cadence, previous, day, calendar):
                    if end not in self._fired_period_ends:
                        raise _missing_period_end_error(self.schedule.cadence, calendar, end, day)
        self._day = day
        self._index += 1
        self._day_fired = False

    def _evaluate_explicit(self, timestamp: datetime, instant: datetime) -> bool:
        last = self._last_explicit
        if last is not None and instant < last[0]:
            raise ValueError(f"event timestamp moved backward from {last[0].isoformat()} to {instant.isoformat()}; "
                             "start a new evaluator or call TargetWeightExecutor.reset() before another run. "
                             f"{_naive_hint(self.meta.timezone)}")
        if self._first_instant is None:
            self._first_instant = instant
        # Each scheduled instant now passed: remember the nearer of the events either side of it.
        while self._cursor < len(self._pending) and self._pending[self._cursor] <= instant:
            scheduled = self._pending[self._cursor]
            if scheduled >= self._first_instant:
                nearest = timestamp
                if last is not None and abs((scheduled - last[0]).total_seconds()) \
                        <= abs((instant - scheduled).total_seconds()):
                    nearest = last[1]
                self._nearest[scheduled] = nearest
            self._cursor += 1
        self._last_explicit = (instant, timestamp)
        if instant in self._by_instant:
            self._hit.add(instant)
            return True
        return False

    def validate_completed_run(self) -> None:
        """Raises when the run, now complete, missed what the schedule needed:
        an explicit instant inside the run's span, the final session's close
        (if the feed reached it), or (with a calendar) any exchange session."""
        cadence = self.schedule.cadence
        if cadence is RebalanceCadence.EVERY_BAR:
            return
        if cadence is RebalanceCadence.EXPLICIT_TIMESTAMPS:
            if self._first_instant is None or self._last_explicit is None:
                return
            for instant in self._pending:
                if instant not in self._hit and self._first_instant <= instant <= self._last_explicit[0]:
                    raise _explicit_miss_error(self._by_instant[instant], self._nearest[instant], self.meta.timezone)
            return
        calendar = self.meta.calendar
        if self.events and calendar is not None and not self._saw_exchange_session:
            raise _no_sessions_error(cadence, calendar)
        day = self._day
        if day is not None and not self._day_fired and _needs_close(self.schedule, day, self._index, calendar) \
                and _reached_close(calendar, day, self._last_event, self.meta.timezone):
            raise _close_alignment_error(cadence, calendar, day)

    def validate_engine_run(self, market_event_count: int) -> None:
        """`validate_completed_run` after checking that every one of the run's
        `market_event_count` events was evaluated."""
        if self.schedule.cadence is RebalanceCadence.EVERY_BAR:
            return
        if self.events != market_event_count:
            raise ValueError(f"scheduled TargetWeightExecutor.execute() was called for {self.events} of "
                             f"{market_event_count} market events; call should_rebalance() (or execute()) for every "
                             "event in chronological order, including warm-up periods")
        self.validate_completed_run()
