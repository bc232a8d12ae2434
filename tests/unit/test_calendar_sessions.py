"""Exchange calendars and session assignment (nautilus_like.calendar, .sessions).

Expected values are read off the published exchange schedules: NYSE trades
09:30-16:00 New York (14:30-21:00 UTC in winter, 13:30-20:00 in summer),
closes at 13:00 on 2024-07-03, is shut on 2024-07-04 and on Good Friday
2024-03-29; CME equity futures open at 17:00 Chicago the evening before
their session date; Tokyo breaks for lunch 11:30-12:30 (02:30-03:30 UTC).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from nautilus_like import calendar as cal
from nautilus_like.sessions import (
    SessionConfig,
    align_to_sessions,
    assign_session_date,
    compute_session_pnl,
    session_date_for_timestamp,
)
from nautilus_like.time_semantics import UNSET_CALENDAR, FeedTimeMetadata, TimestampSemantics, resolve_calendar

try:
    import pandas_market_calendars  # noqa: F401
    HAVE_CALENDARS = True
except ImportError:
    HAVE_CALENDARS = False

needs_calendars = pytest.mark.skipif(not HAVE_CALENDARS, reason="pandas-market-calendars (the calendars extra)")
CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")


# ------------------------------------------------------------- without the library


def test_missing_library_names_the_extra(monkeypatch):
    cal.get_calendar.cache_clear()
    monkeypatch.setitem(sys.modules, "pandas_market_calendars", None)  # import now fails
    with pytest.raises(ImportError, match=r"pip install 'nautilus_like\[calendars\]'"):
        cal.get_calendar("NYSE")
    with pytest.raises(ImportError, match="calendars"):
        cal.list_calendars()
    cal.get_calendar.cache_clear()


def test_calendar_resolution_unset_none_and_declared():
    assert resolve_calendar(UNSET_CALENDAR) == "NYSE"
    assert resolve_calendar(None) is None
    assert resolve_calendar("CME_Equity") == "CME_Equity"
    assert resolve_calendar(UNSET_CALENDAR, declared="crypto") == "crypto"
    assert resolve_calendar(UNSET_CALENDAR, declared=None, version=2) is None
    assert resolve_calendar(UNSET_CALENDAR, declared=None, version=1) == "NYSE"   # v1 None = not declared
    with pytest.raises(ValueError, match="calendar must be a non-empty calendar name or None, got ''"):
        resolve_calendar("")
    # A feed description as a mapping: version 1's None is "not declared".
    assert FeedTimeMetadata({"calendar": None}).resolve_calendar() == "NYSE"
    assert FeedTimeMetadata({"calendar": None, "time_contract_version": 2}).resolve_calendar() is None
    assert FeedTimeMetadata({"timestamp_semantics": "bar_close"}).timestamp_semantics is TimestampSemantics.BAR_CLOSE


def test_assign_session_date_evening_and_morning_boundaries():
    # CME: 17:00 Chicago opens the next day's session; 16:59 is still today's.
    assert assign_session_date(datetime(2024, 1, 8, 16, 59), CHICAGO, 17, 0) == datetime(2024, 1, 8)
    assert assign_session_date(datetime(2024, 1, 8, 17, 0), CHICAGO, 17, 0) == datetime(2024, 1, 9)
    # Sunday evening trades in Monday's session.
    assert assign_session_date(datetime(2024, 1, 7, 18, 0), CHICAGO, 17, 0) == datetime(2024, 1, 8)
    # 23:30 UTC = 17:30 Chicago (aware input is converted first).
    assert assign_session_date(datetime(2024, 1, 8, 23, 30, tzinfo=UTC), CHICAGO, 17, 0) == datetime(2024, 1, 9)
    # A morning boundary never moves the date: pre-market 08:00 stays on its day.
    assert assign_session_date(datetime(2024, 1, 8, 8, 0), NEW_YORK, 9, 30) == datetime(2024, 1, 8)


def test_calendar_free_session_dates():
    # No calendar, evening boundary 17:00 UTC: 18:00 belongs to the next day.
    assert session_date_for_timestamp(datetime(2024, 1, 8, 18, 0), calendar=None, timezone="UTC",
                                      session_start_time="17:00", data_frequency="1m",
                                      timestamp_semantics="bar_close") == date(2024, 1, 9)
    # Session labels and undeclared timestamps are their own date.
    assert session_date_for_timestamp(datetime(2024, 1, 8, 18, 0), calendar=None, timezone="UTC",
                                      session_start_time=None, data_frequency=None,
                                      timestamp_semantics=None) == date(2024, 1, 8)
    with pytest.raises(ValueError, match="morning session_start_time requires exchange calendar metadata"):
        session_date_for_timestamp(datetime(2024, 1, 8, 18, 0), calendar=None, timezone="UTC",
                                   session_start_time="09:30", data_frequency="1m", timestamp_semantics="bar_close")
    with pytest.raises(ValueError, match=r"session_start_time must be 'HH:MM', got '25:00'"):
        session_date_for_timestamp(datetime(2024, 1, 8, 18, 0), calendar=None, timezone="UTC",
                                   session_start_time="25:00", data_frequency="1m", timestamp_semantics="bar_close")


@needs_calendars  # SessionConfig looks the calendar name up in the library
def test_session_pnl_by_hand():
    # CME sessions with an explicit 17:00 boundary and an unknown calendar
    # name (no library needed): Monday evening and Tuesday morning are
    # Tuesday's session, Tuesday evening is Wednesday's.
    config = SessionConfig(calendar="NO_SUCH_EXCHANGE", timezone="America/Chicago", session_start_time="17:00")
    curve = [
        (datetime(2024, 1, 8, 18, 0), 100_000.0),
        (datetime(2024, 1, 8, 20, 0), 101_000.0),   # Tuesday's high
        (datetime(2024, 1, 9, 8, 0), 99_990.0),     # down 1% from 101,000
        (datetime(2024, 1, 9, 18, 0), 99_990.0),
        (datetime(2024, 1, 9, 20, 0), 102_990.0),   # +3,000 on Wednesday
    ]
    out = compute_session_pnl(curve, config)
    assert out["session_date"].to_list() == [datetime(2024, 1, 9), datetime(2024, 1, 10)]
    assert out["open_equity"].to_list() == [100_000.0, 99_990.0]
    assert out["close_equity"].to_list() == [99_990.0, 102_990.0]
    assert out["pnl"].to_list() == [-10.0, 3_000.0]
    assert out["num_bars"].to_list() == [3, 2]
    assert out["high_equity"].to_list() == [101_000.0, 102_990.0]
    assert out["intra_session_dd"][0] == pytest.approx(99_990.0 / 101_000.0 - 1.0)   # -1%
    assert out["return_pct"].to_list() == pytest.approx([0.0, 3_000.0 / 99_990.0])
    assert out["cumulative_return"].to_list() == pytest.approx([-0.0001, 0.0299])
    # With the capital before the first bar: Tuesday opens at 100,500.
    with_capital = compute_session_pnl(curve, config, initial_capital=100_500.0)
    assert with_capital["open_equity"].to_list() == [100_500.0, 99_990.0]
    assert with_capital["pnl"].to_list() == [-510.0, 3_000.0]
    # Tuesday's peak starts at the capital (100,000 is 0.5% under 100,500, the
    # 1% fall from 101,000 is deeper); Wednesday's at Tuesday's last value
    # 99,990, which it never falls below.
    assert with_capital["intra_session_dd"].to_list() == pytest.approx([99_990.0 / 101_000.0 - 1.0, 0.0])
    assert compute_session_pnl([], config).columns[:2] == ["session_date", "session_start"]


# ------------------------------------------------------------------ with the library


@needs_calendars
def test_nyse_trading_days_holidays_and_early_close():
    assert len(cal.get_trading_days("NYSE", date(2024, 1, 1), date(2024, 1, 31))) == 21
    assert not cal.is_trading_day("NYSE", date(2024, 7, 4))
    assert cal.is_trading_day("NYSE", "2024-07-05")
    assert cal.next_trading_day("NYSE", date(2024, 7, 3)) == date(2024, 7, 5)
    assert cal.previous_trading_day("NYSE", date(2024, 7, 5)) == date(2024, 7, 3)
    assert cal.next_trading_day("NYSE", date(2024, 6, 3), n=5) == date(2024, 6, 10)
    schedule = cal.get_schedule("NYSE", date(2024, 7, 3), date(2024, 7, 5))
    assert schedule["session_date"].to_list() == [date(2024, 7, 3), date(2024, 7, 5)]
    assert schedule["market_close"].to_list() == [datetime(2024, 7, 3, 17, 0, tzinfo=UTC),
                                                  datetime(2024, 7, 5, 20, 0, tzinfo=UTC)]
    assert schedule["timezone"].to_list() == ["America/New_York"] * 2
    early = cal.get_early_closes("NYSE", date(2024, 1, 1), date(2024, 12, 31))
    assert early["date"].to_list() == [date(2024, 7, 3), date(2024, 11, 29), date(2024, 12, 24)]
    assert early["close_time"].to_list() == [time(13, 0)] * 3
    holidays = cal.get_holidays("NYSE", date(2024, 3, 25), date(2024, 3, 31))["date"].to_list()
    assert holidays == [date(2024, 3, 29)]   # Good Friday
    assert cal.get_calendar("NYSE") is cal.get_calendar("NYSE")   # cached
    assert cal.get_calendar("nyse").name == cal.get_calendar("XNYS").name   # aliases ignore case
    with pytest.raises(RuntimeError):
        cal.get_calendar("NO_SUCH_EXCHANGE")
    assert cal.get_standard_market_open_time("CME_Equity") == time(17, 0)
    with pytest.raises(ValueError, match="does not define a standard market open"):
        cal.get_standard_market_open_time("NO_SUCH_EXCHANGE")


@needs_calendars
def test_market_open_instants_and_session_filters():
    # 2024-06-03 (summer): open 13:30 UTC inclusive, close 20:00 UTC exclusive.
    assert not cal.is_market_open("NYSE", datetime(2024, 6, 3, 13, 29, tzinfo=UTC))
    assert cal.is_market_open("NYSE", datetime(2024, 6, 3, 13, 30, tzinfo=UTC))
    assert not cal.is_market_open("NYSE", datetime(2024, 6, 3, 20, 0, tzinfo=UTC))
    assert not cal.is_market_open("XTKS", datetime(2025, 1, 6, 3, 0, tzinfo=UTC))   # lunch break
    stamps = [datetime(2024, 6, 3, h, m, tzinfo=UTC) for h, m in ((13, 30), (17, 0), (20, 0), (21, 0))]
    frame = pl.DataFrame({"timestamp": stamps, "x": [1, 2, 3, 4]})
    # Event instants: [open, close). Bars labelled by their close: (open, close].
    assert cal.filter_to_trading_sessions(frame, "NYSE")["x"].to_list() == [1, 2]
    assert cal.filter_to_trading_sessions(frame, "NYSE", timestamp_semantics="bar_close")["x"].to_list() == [2, 3]
    # CME's Monday session opens Sunday 17:00 Chicago = 22:00 UTC.
    sunday = pl.DataFrame({"timestamp": [datetime(2024, 6, 9, 21, 0, tzinfo=UTC),
                                         datetime(2024, 6, 9, 23, 0, tzinfo=UTC)], "x": [1, 2]})
    assert cal.filter_to_trading_sessions(sunday, "CME_Equity")["x"].to_list() == [2]
    daily = pl.DataFrame({"timestamp": [datetime(2024, 7, d) for d in (3, 4, 5, 6)], "x": [1, 2, 3, 4]})
    assert cal.filter_to_trading_days(daily, "NYSE")["x"].to_list() == [1, 3]
    minutes = cal.generate_trading_minutes("XTKS", date(2025, 1, 6), date(2025, 1, 6), freq="30m",
                                           include_close=False).to_list()
    assert datetime(2025, 1, 6, 2, 0, tzinfo=UTC) in minutes
    assert datetime(2025, 1, 6, 3, 0, tzinfo=UTC) not in minutes   # inside the break
    assert len(cal.generate_trading_minutes("NYSE", date(2024, 1, 2), date(2024, 1, 2))) == 391
    with pytest.raises(ValueError, match="Unsupported frequency: 2m"):
        cal.generate_trading_minutes("NYSE", date(2024, 1, 2), date(2024, 1, 2), freq="2m")


@needs_calendars
def test_calendar_sessions_assign_dates():
    # Calendar sessions (no explicit boundary): CME 18:00 Chicago Monday is Tuesday's session.
    assert session_date_for_timestamp(datetime(2024, 1, 8, 18, 0), calendar="CME_Equity", timezone="America/Chicago",
                                      session_start_time=None, data_frequency="1m",
                                      timestamp_semantics="bar_close") == date(2024, 1, 9)
    # Naive timestamps are read in `timezone`: 18:00 UTC is 12:00 Chicago, Monday's session.
    assert session_date_for_timestamp(datetime(2024, 1, 8, 18, 0), calendar="CME_Equity", timezone="UTC",
                                      session_start_time=None, data_frequency="1m",
                                      timestamp_semantics="bar_close") == date(2024, 1, 8)
    assert SessionConfig(calendar="NYSE").get_session_start_hour() == 9
    assert SessionConfig(calendar="CME_Equity").get_session_start_hour() == 17
    assert SessionConfig(calendar="NYMEX", timezone="UTC").get_session_timezone() == CHICAGO
    with pytest.raises(ValueError, match=r"custom morning session_start_time '06:00' is unsupported for calendar "
                                         r"'CRYPTO'; its standard market open is 00:00"):
        SessionConfig(calendar="CRYPTO", session_start_time="06:00")
    with pytest.raises(ValueError, match=r"custom evening .* 'NYSE'; its standard market open is 09:30"):
        SessionConfig(calendar="NYSE", session_start_time="23:00")
    frame = pl.DataFrame({"timestamp": [datetime(2024, 1, 8, 18, 0, tzinfo=CHICAGO),
                                        datetime(2024, 1, 9, 8, 0, tzinfo=CHICAGO)]})
    aligned = align_to_sessions(frame, SessionConfig(calendar="CME_Equity", timezone="America/Chicago"))
    assert aligned["session_date"].to_list() == [datetime(2024, 1, 9)] * 2


@needs_calendars
def test_trading_bar_mask_keeps_what_enforce_sessions_keeps():
    # Fri 2025-07-11 (NYSE 13:30-20:00 UTC in summer), Sat 12th, Mon 14th.
    hours = [datetime(2025, 7, 11, h, tzinfo=UTC) for h in (12, 15, 20, 22)]
    assert cal.trading_bar_mask(hours, "NYSE", data_frequency="1h",
                                timestamp_semantics="event_time").to_list() == [False, True, False, False]
    # Labelled by their close, 20:00 closes the session's last bar.
    assert cal.trading_bar_mask(hours, "NYSE", data_frequency="1h",
                                timestamp_semantics="bar_close").to_list() == [False, True, True, False]
    days = [datetime(2025, 7, d, tzinfo=UTC) for d in (11, 12, 14)]
    assert cal.trading_bar_mask(days, "NYSE", data_frequency="daily").to_list() == [True, False, True]
    assert cal.trading_bar_mask(days, "NYSE", timestamp_semantics="session_label").to_list() == [True, False, True]
    assert cal.trading_bar_mask(days, "CRYPTO", data_frequency="daily").to_list() == [True, True, True]


@needs_calendars
def test_session_dates_per_bar():
    # CME opens 17:00 Chicago = 23:00 UTC in January: the Sunday 23:00 event
    # is in Monday's session, Monday 21:00 still is, Monday 23:00 is Tuesday's.
    from nautilus_like.sessions import session_dates

    stamps = [datetime(2024, 1, 7, 23), datetime(2024, 1, 8, 21), datetime(2024, 1, 8, 23)]
    assert session_dates(stamps, calendar="CME_Equity", data_frequency="1h",
                         timestamp_semantics="event_time").to_list() == [date(2024, 1, 8), date(2024, 1, 8),
                                                                         date(2024, 1, 9)]
    # Without a calendar (and nothing declared) each timestamp is its own date.
    assert session_dates(pl.Series(stamps), calendar=None).to_list() == [date(2024, 1, 7), date(2024, 1, 8),
                                                                        date(2024, 1, 8)]
