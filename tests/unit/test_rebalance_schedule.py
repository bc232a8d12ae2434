"""Rebalance schedules (nautilus_like.execution.schedule) and a scheduled
TargetWeightExecutor. Calendar facts used: NYSE closes 16:00 New York
(21:00 UTC in January), is shut on Good Friday 2024-03-29 and on MLK day
2024-01-15; Feb 2024 ends on Thursday the 29th, a trading day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like.execution import (
    RebalanceCadence,
    RebalanceConfig,
    RebalanceSchedule,
    TargetWeightExecutor,
    is_rebalance_timestamp,
    resolve_rebalance_timestamps,
)

try:
    import pandas_market_calendars  # noqa: F401
    HAVE_CALENDARS = True
except ImportError:
    HAVE_CALENDARS = False

needs_calendars = pytest.mark.skipif(not HAVE_CALENDARS, reason="pandas-market-calendars (the calendars extra)")


def weekdays(first: datetime, last: datetime) -> list[datetime]:
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5]


# ------------------------------------------------------- no calendar needed


def test_schedule_values_are_checked_and_normalized():
    with pytest.raises(ValueError, match="every_n must be >= 1, got 0"):
        RebalanceSchedule.fixed_n_sessions(0)
    with pytest.raises(ValueError, match="require at least one timestamp"):
        RebalanceSchedule.explicit_timestamps([])
    schedule = RebalanceSchedule.explicit_timestamps([datetime(2024, 1, 3), datetime(2024, 1, 2).date(),
                                                      datetime(2024, 1, 3)])
    assert schedule.timestamps == (datetime(2024, 1, 2), datetime(2024, 1, 3))
    assert RebalanceSchedule(cadence="weekly").cadence is RebalanceCadence.WEEKLY


def test_fixed_n_sessions_without_calendar_takes_every_second_day():
    days = weekdays(datetime(2024, 1, 1), datetime(2024, 1, 10))   # 8 weekdays
    got = resolve_rebalance_timestamps(days, RebalanceSchedule.fixed_n_sessions(2), calendar=None).to_list()
    assert got == days[::2]
    assert resolve_rebalance_timestamps(pl.Series(days), "every_bar").to_list() == days


def test_explicit_instants_match_across_timezones_and_report_misses():
    # 16:00 New York (naive, read in the feed's timezone) = 21:00 UTC.
    schedule = RebalanceSchedule.explicit_timestamps([datetime(2024, 1, 2, 16, 0)])
    hit = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
    assert resolve_rebalance_timestamps([hit], schedule, timezone="America/New_York").to_list() == [hit]
    assert not is_rebalance_timestamp(hit, schedule, session_index=1, timezone="UTC")
    near = [datetime(2024, 1, 2, 20, 59, tzinfo=UTC), datetime(2024, 1, 2, 21, 1, tzinfo=UTC)]
    with pytest.raises(ValueError, match=r"instant 2024-01-02T21:00:00\+00:00 did not match.*nearest observed "
                                         r"instant is 2024-01-02T20:59:00\+00:00"):
        resolve_rebalance_timestamps(near, schedule, timezone="America/New_York")
    # The online evaluator finds the same miss once the run is complete.
    executor = TargetWeightExecutor(RebalanceConfig(schedule=schedule, timezone="America/New_York"))
    assert [executor.should_rebalance(ts) for ts in near] == [False, False]
    with pytest.raises(ValueError, match="nearest observed instant is 2024-01-02T20:59:00"):
        executor.validate_completed_run()


def test_explicit_session_close_signals_need_no_calendar():
    executor = TargetWeightExecutor(RebalanceConfig(schedule=RebalanceSchedule.every_session(), calendar=None,
                                                    data_frequency="1m"))
    assert not executor.should_rebalance(datetime(2024, 1, 5, 15, 59), is_session_close=False)
    assert executor.should_rebalance(datetime(2024, 1, 5, 16, 0), is_session_close=True)
    with pytest.raises(ValueError, match="conflicting is_session_close"):
        executor.should_rebalance(datetime(2024, 1, 5, 16, 0), is_session_close=False)
    with pytest.raises(ValueError, match="intraday session schedules require calendar metadata"):
        executor.should_rebalance(datetime(2024, 1, 8, 10, 0))


def test_undeclared_intraday_events_are_refused():
    schedule = RebalanceSchedule.every_session()
    with pytest.raises(ValueError, match="multiple schedule events observed on 2024-01-31"):
        resolve_rebalance_timestamps([datetime(2024, 1, 31, 10), datetime(2024, 1, 31, 16)], schedule, calendar=None)
    with pytest.raises(ValueError, match="less than 12 hours apart"):
        resolve_rebalance_timestamps([datetime(2024, 1, 2, 23), datetime(2024, 1, 3, 2)], schedule, calendar=None)
    executor = TargetWeightExecutor(RebalanceConfig(schedule=schedule, calendar=None))
    assert executor.should_rebalance(datetime(2024, 1, 3))     # a midnight label: no warning
    with pytest.raises(ValueError, match=r"session date moved backward from 2024-01-03 to 2024-01-02.*reset"):
        executor.should_rebalance(datetime(2024, 1, 2))
    executor.reset()
    assert executor.should_rebalance(datetime(2024, 1, 2))


def test_changing_schedule_fields_mid_run_needs_reset():
    config = RebalanceConfig(schedule=RebalanceSchedule.every_session(), calendar=None, data_frequency="daily")
    executor = TargetWeightExecutor(config)
    assert executor.should_rebalance(datetime(2024, 1, 2))
    config.data_frequency = "1h"
    with pytest.raises(ValueError, match=r"RebalanceConfig changed during evaluation \(data_frequency: 'daily' -> "
                                         r"'1h'\); call reset\(\) first"):
        executor.should_rebalance(datetime(2024, 1, 3))


def test_config_checks():
    with pytest.raises(ValueError, match="weekly and month_end schedules require calendar metadata"):
        TargetWeightExecutor(RebalanceConfig(schedule=RebalanceSchedule.weekly(), calendar=None))
    with pytest.raises(ValueError, match="schedule must be a RebalanceSchedule or None, got 'weekly'"):
        RebalanceConfig(schedule="weekly")
    with pytest.raises(ValueError, match="timestamp is required when RebalanceConfig.schedule is set"):
        TargetWeightExecutor(RebalanceConfig(schedule=RebalanceSchedule.every_bar())).execute({}, {}, object())
    assert RebalanceConfig().resolved_calendar == "NYSE"
    assert RebalanceConfig(calendar=None).resolved_calendar is None


# --------------------------------------------------------- NYSE calendar


@needs_calendars
def test_weekly_and_month_end_fire_on_the_last_exchange_session():
    march = weekdays(datetime(2024, 3, 18), datetime(2024, 3, 28))   # stops before Good Friday
    weekly = resolve_rebalance_timestamps(march, RebalanceSchedule.weekly(), calendar="NYSE", data_frequency="daily")
    assert weekly.to_list() == [datetime(2024, 3, 22), datetime(2024, 3, 28)]
    quarter = weekdays(datetime(2024, 1, 1), datetime(2024, 3, 31))
    month_ends = resolve_rebalance_timestamps(quarter, RebalanceSchedule.month_end(), calendar="NYSE",
                                              data_frequency="daily")
    assert month_ends.to_list() == [datetime(2024, 1, 31), datetime(2024, 2, 29), datetime(2024, 3, 28)]
    # A feed that stops on Jan 30 has not reached January's end: nothing.
    assert resolve_rebalance_timestamps(quarter[:22], RebalanceSchedule.month_end(), calendar="NYSE",
                                        data_frequency="daily").to_list() == []
    with pytest.raises(ValueError, match="missing calendar period-end session 2024-01-31 on calendar 'NYSE' before "
                                         "observed session 2024-02-01"):
        resolve_rebalance_timestamps([datetime(2024, 1, 30), datetime(2024, 2, 1)], RebalanceSchedule.month_end(),
                                     calendar="NYSE", data_frequency="daily")


@needs_calendars
def test_intraday_sessions_fire_at_the_calendar_close_only():
    # NYSE closes 21:00 UTC in January. 20:59 is not the close.
    bars = [datetime(2024, 1, 5, 20, 58, tzinfo=UTC), datetime(2024, 1, 5, 20, 59, tzinfo=UTC),
            datetime(2024, 1, 5, 21, 0, tzinfo=UTC)]
    executor = TargetWeightExecutor(RebalanceConfig(schedule=RebalanceSchedule.weekly(), calendar="NYSE",
                                                    timezone="UTC", data_frequency="1m"))
    assert [executor.should_rebalance(ts) for ts in bars] == [False, False, True]
    executor.validate_completed_run()
    # MLK day (2024-01-15) is no session: not counted by fixed_n_sessions(2).
    closes = [datetime(2024, 1, d, 16, 0) for d in (12, 15, 16, 17)]
    got = resolve_rebalance_timestamps(closes, RebalanceSchedule.fixed_n_sessions(2), calendar="NYSE",
                                       timezone="America/New_York", data_frequency="1m",
                                       timestamp_semantics="bar_close").to_list()
    assert got == [closes[0], closes[3]]
    # A session whose close never appears is an error once the feed moved on.
    with pytest.raises(ValueError, match=r"every_session resolved no session closes for required session "
                                         r"2024-01-03 on calendar 'NYSE'; expected market_close "
                                         r"2024-01-03T21:00:00\+00:00"):
        resolve_rebalance_timestamps([datetime(2024, 1, 2, 16), datetime(2024, 1, 3, 15, 45),
                                      datetime(2024, 1, 4, 16)], RebalanceSchedule.every_session(), calendar="NYSE",
                                     timezone="America/New_York", data_frequency="15m",
                                     timestamp_semantics="bar_close")


@needs_calendars
def test_batch_and_online_agree_on_cme_sessions():
    # CME sessions start 17:00 Chicago (23:00 UTC in January): each 23:00 UTC
    # bar opens a session that the next day's 22:00 UTC bar closes.
    stamps = [datetime(2024, 1, 7, 23), datetime(2024, 1, 8, 22), datetime(2024, 1, 8, 23),
              datetime(2024, 1, 9, 22), datetime(2024, 1, 9, 23), datetime(2024, 1, 10, 22)]
    fields = dict(calendar="CME_Equity", timezone="UTC", session_start_time="17:00", data_frequency="1m",
                  timestamp_semantics="bar_close")
    schedule = RebalanceSchedule.fixed_n_sessions(2)
    batch = resolve_rebalance_timestamps(stamps, schedule, **fields).to_list()
    executor = TargetWeightExecutor(RebalanceConfig(schedule=schedule, **fields))
    online = [ts for ts in stamps if executor.should_rebalance(ts)]
    assert batch == online == [datetime(2024, 1, 8, 22), datetime(2024, 1, 10, 22)]


@needs_calendars
def test_scheduled_executor_in_an_engine_run_trades_on_week_ends_only():
    # Two weeks of daily bars at 10.00; target 50% of 10,000 = 500 shares on
    # Friday Jan 5 (week end), then 80% of the account (10,000, flat prices)
    # = 800 shares on Friday Jan 12: a 300-share buy. Nothing on other days.
    days = weekdays(datetime(2024, 1, 1), datetime(2024, 1, 12))[1:]   # Jan 1 is a holiday
    prices = pl.DataFrame({"timestamp": days, "asset": ["A"] * len(days), "open": 10.0, "high": 10.0, "low": 10.0,
                           "close": 10.0, "volume": 1e6})

    class Weekly(nl.Strategy):
        def __init__(self, skip_day=None):
            self.executor = TargetWeightExecutor(RebalanceConfig(schedule=RebalanceSchedule.weekly(),
                                                                 data_frequency="daily"))
            self.skip_day, self.orders = skip_day, []

        def on_data(self, timestamp, data, context, broker):
            if timestamp.day == self.skip_day:
                return
            weight = 0.5 if timestamp.day <= 5 else 0.8
            for order in self.executor.execute({"A": weight}, data, broker, timestamp=timestamp):
                self.orders.append((timestamp.day, order.side.value, order.quantity))

    strategy = Weekly()
    nl.Engine(nl.DataFeed(prices_df=prices), strategy, nl.BacktestConfig(initial_cash=10_000.0)).run()
    assert strategy.orders == [(5, "buy", 500.0), (12, "buy", 300.0)]
    # Skipping an event breaks the schedule's contract: the run says so.
    with pytest.raises(ValueError, match="called for 8 of 9 market events"):
        nl.Engine(nl.DataFeed(prices_df=prices), Weekly(skip_day=3)).run()
