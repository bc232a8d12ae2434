"""BacktestConfig's feed spec and time contract: calendar/timezone/frequency
resolution (config beats feed spec beats defaults), merging a feed's spec at
run time, the nested form's "feed" section, and annualization from the
calendar and bar frequency."""

import copy
import math
from datetime import datetime, timedelta

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like.analytics.annualization import resolve_periods_per_year
from nautilus_like.config import BacktestConfig, DataFrequency
from nautilus_like.feed_spec import FeedSpec
from nautilus_like.time_semantics import UNSET_CALENDAR, TimestampSemantics


def test_feed_spec_reads_aliases_and_keeps_the_time_contract():
    spec = FeedSpec.from_any({"time_col": "ts", "ticker_col": "sym", "price_col": "last", "frequency": "minute"})
    assert (spec.timestamp_col, spec.entity_col, spec.price_col, spec.close_col, spec.data_frequency) == \
        ("ts", "sym", "last", "last", "minute")
    # Version 1 cannot say "no calendar": None means not declared, and NYSE applies.
    assert FeedSpec().calendar is None and FeedSpec().resolve_calendar() == "NYSE"
    v2 = FeedSpec(time_contract_version=2)
    assert v2.calendar is UNSET_CALENDAR and v2.resolve_calendar() == "NYSE"
    assert FeedSpec(time_contract_version=2, calendar=None).resolve_calendar() is None
    assert v2.with_overrides(calendar=None).calendar is None          # version 2 applies None
    assert FeedSpec().with_overrides(calendar=None, timezone="UTC").calendar is None
    # to_dict leaves out what version 1 cannot hold and an unset calendar.
    assert "time_contract_version" not in FeedSpec().to_dict() and "bar_label" not in FeedSpec().to_dict()
    assert "calendar" not in v2.to_dict() and v2.to_dict()["time_contract_version"] == 2
    assert FeedSpec(timestamp_semantics="event_time").timestamp_semantics is TimestampSemantics.EVENT_TIME
    with pytest.raises(ValueError, match="time_contract_version must be 1 or 2, got 3"):
        FeedSpec(time_contract_version=3)
    with pytest.raises(ValueError, match=r"bar grid declarations \(bar_label\) require time_contract_version=2"):
        FeedSpec(bar_label="right")
    with pytest.raises(ValueError, match="bar_close timestamp_semantics requires bar_label='right'"):
        FeedSpec(time_contract_version=2, timestamp_semantics="bar_close", bar_label="left")


def test_config_resolves_calendar_timezone_and_frequency_from_its_feed_spec():
    default = BacktestConfig()
    assert default.calendar is UNSET_CALENDAR and default.resolved_calendar == "NYSE"
    assert (default.timezone, default.data_frequency) == ("UTC", DataFrequency.DAILY)
    assert BacktestConfig(calendar=None).resolved_calendar is None
    # A mapping becomes a FeedSpec; its timezone and frequency fill what the config leaves unset.
    config = BacktestConfig(feed_spec={"calendar": "CME_Equity", "timezone": "America/Chicago",
                                       "data_frequency": "5min", "session_start_time": "17:00"})
    assert isinstance(config.feed_spec, FeedSpec)
    assert (config.resolved_calendar, config.timezone, config.data_frequency) == \
        ("CME_Equity", "America/Chicago", DataFrequency.MINUTE_5)
    assert config.resolved_session_start_time == "17:00"
    # Given values win over the spec's; the spec itself is kept as declared.
    explicit = BacktestConfig(timezone="UTC", data_frequency="daily", feed_spec=config.feed_spec)
    assert (explicit.timezone, explicit.resolved_timezone, explicit.resolved_data_frequency) == \
        ("UTC", "UTC", DataFrequency.DAILY)
    assert explicit.feed_spec.timezone == "America/Chicago"
    # The config's own choice of no calendar beats the spec's calendar.
    assert BacktestConfig(calendar=None, feed_spec={"calendar": "CME_Equity"}).resolved_calendar is None
    # Weekly and monthly bars have no fixed cadence.
    assert BacktestConfig(feed_spec={"data_frequency": "weekly"}).resolved_data_frequency is DataFrequency.IRREGULAR


def test_config_refuses_bad_time_settings_by_name():
    with pytest.raises(ValueError, match="timezone must be an IANA time zone name .* got 'Mars/Olympus'"):
        BacktestConfig(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="feed_spec.timezone must be an IANA time zone name"):
        BacktestConfig(feed_spec={"timezone": "nowhere"})
    for bad in (0, -1.0, math.inf, True, "252"):
        with pytest.raises(ValueError, match="periods_per_year must be a positive finite number"):
            BacktestConfig(periods_per_year=bad)
    with pytest.raises(ValueError, match="time_contract_version must be 1 or 2, got 0"):
        BacktestConfig(time_contract_version=0)
    # A morning session boundary without a calendar cannot be checked.
    with pytest.raises(ValueError, match="requires exchange calendar metadata"):
        BacktestConfig(calendar=None, feed_spec={"session_start_time": "09:30"})


def test_merge_feed_spec_fills_only_what_the_config_leaves_unset():
    feed = {"calendar": "NYSE", "timezone": "America/New_York", "data_frequency": "1h"}
    merged = BacktestConfig().merge_feed_spec(feed)
    assert (merged.timezone, merged.data_frequency, merged.resolved_calendar) == \
        ("America/New_York", DataFrequency.HOURLY, "NYSE")
    # Still unset after the merge: a second feed's spec could fill them again.
    assert merged._explicit_timezone is False
    kept = BacktestConfig(timezone="UTC", data_frequency="daily").merge_feed_spec(feed)
    assert (kept.timezone, kept.data_frequency) == ("UTC", DataFrequency.DAILY)
    # A config with its own spec ignores the feed's (nothing changes: the same object).
    own = BacktestConfig(feed_spec=feed)
    assert own.merge_feed_spec({"timezone": "Asia/Tokyo"}) is own and own.merge_feed_spec(None) is own
    # ... except, under time contract 2, fields its spec leaves unset.
    partial = BacktestConfig(feed_spec=FeedSpec(time_contract_version=2, timezone="America/New_York"))
    filled = partial.merge_feed_spec({"calendar": "CME_Equity", "timestamp_semantics": "event_time"})
    assert filled.resolved_calendar == "CME_Equity"
    assert filled.resolved_timestamp_semantics is TimestampSemantics.EVENT_TIME
    assert filled.timezone == "America/New_York"


def test_copies_keep_whether_timezone_was_given():
    config = BacktestConfig()
    for clone in (copy.copy(config), copy.deepcopy(config)):
        assert clone == config and clone.merge_feed_spec({"timezone": "Asia/Tokyo"}).timezone == "Asia/Tokyo"
    given = BacktestConfig(timezone="UTC")
    assert copy.deepcopy(given).merge_feed_spec({"timezone": "Asia/Tokyo"}).timezone == "UTC"


def test_nested_form_carries_the_feed_and_the_time_contract():
    config = BacktestConfig(feed_spec=FeedSpec(timestamp_col="time", entity_col="ticker", price_col="mid",
                                               calendar="NYSE", timezone="America/New_York",
                                               data_frequency="minute"),
                            metadata={"strategy_id": "s-1"})
    data = config.to_dict()
    assert data["feed"]["timestamp_col"] == "time" and data["feed"]["data_frequency"] == "1m"
    assert data["calendar"] == {"time_contract_version": 2, "periods_per_year": None,
                                "timezone": "America/New_York", "data_frequency": "1m", "enforce_sessions": False}
    for restored in (BacktestConfig.from_dict(data), BacktestConfig.from_yaml(config.to_yaml()),
                     BacktestConfig.from_json(config.to_json()), BacktestConfig.from_toml(config.to_toml())):
        assert restored == config
        spec = restored.resolved_feed_spec
        assert (spec.timestamp_col, spec.entity_col, spec.price_col) == ("time", "ticker", "mid")
        assert (restored.resolved_calendar, restored.resolved_timezone) == ("NYSE", "America/New_York")
    # ml4t's nested form defaults to time contract 1; presets are read as it.
    assert BacktestConfig.from_dict({}) == BacktestConfig(time_contract_version=1)
    assert BacktestConfig.from_dict({}).resolved_calendar is None
    assert BacktestConfig.from_preset("backtrader").time_contract_version == 1
    # The feed spec is not compared (as ml4t): declared or not, equal settings are equal.
    assert BacktestConfig(feed_spec={"timestamp_col": "t"}) == BacktestConfig()


class _Hold(nl.Strategy):
    seen = None

    def on_prepare(self, broker, config=None):
        type(self).seen = config

    def on_data(self, timestamp, data, context, broker):
        pass


class _BuyTen(nl.Strategy):
    def on_data(self, timestamp, data, context, broker):
        if broker.get_position("A") is None:
            broker.submit_order("A", 10)


def _minute_prices(closes):
    start = datetime(2025, 1, 2, 9, 30)
    return pl.DataFrame({"timestamp": [start + timedelta(minutes=i) for i in range(len(closes))],
                         "asset": ["A"] * len(closes), "open": closes, "high": closes, "low": closes,
                         "close": closes})


def test_engine_merges_its_feeds_spec_into_the_run_config():
    prices = _minute_prices([100.0, 101.0])
    feed = nl.DataFeed(prices_df=prices, feed_spec={"timezone": "America/New_York", "data_frequency": "minute"})
    config = BacktestConfig()
    result = nl.Engine(feed, _Hold(), config).run()
    assert _Hold.seen.timezone == "America/New_York" and _Hold.seen.data_frequency is DataFrequency.MINUTE_1
    assert result.config.timezone == "America/New_York"
    assert config.timezone == "UTC" and config.feed_spec is None        # the caller's config is untouched
    explicit = nl.Engine(nl.DataFeed(prices_df=prices, feed_spec={"timezone": "America/New_York"}), _Hold(),
                         BacktestConfig(timezone="UTC")).run()
    assert explicit.config.timezone == "UTC"


def test_annualization_follows_calendar_and_bar_frequency():
    assert resolve_periods_per_year("daily", calendar="NYSE") == 252.0
    assert resolve_periods_per_year(DataFrequency.MINUTE_1, calendar=None) == 252.0 * 390.0
    assert resolve_periods_per_year("1h", calendar="crypto") == 365.0 * 24.0
    assert resolve_periods_per_year("irregular", calendar="NYSE") is None
    # Equity 10,000 -> buy 10 at 100 -> 10,010 / 9,990 / 10,020: the same returns annualized
    # by 252 (daily) and 252 x 390 (1-minute bars: NYSE's 390-minute session).
    prices = _minute_prices([100.0, 101.0, 99.0, 102.0])
    base = dict(initial_cash=10_000.0, execution_mode="same_bar", execution_price="close")
    daily = nl.Engine(nl.DataFeed(prices_df=prices), _BuyTen(), BacktestConfig(**base)).run()
    minute = nl.Engine(nl.DataFeed(prices_df=prices), _BuyTen(),
                       BacktestConfig(**base, data_frequency=DataFrequency.MINUTE_1)).run()
    assert [v for _, v in minute.equity_curve] == [10_000.0, 10_010.0, 9_990.0, 10_020.0]
    assert (daily.equity.periods_per_year, minute.equity.periods_per_year) == (252.0, 98_280.0)
    assert minute.metrics["sharpe"] == pytest.approx(daily.metrics["sharpe"] * math.sqrt(390.0))
    fixed = nl.Engine(nl.DataFeed(prices_df=prices), _BuyTen(), BacktestConfig(**base, periods_per_year=1000)).run()
    assert fixed.equity.periods_per_year == 1000.0
    # No calendar (time contract 2): returns are observations, 252 to a year (3 returns = 3/252 years).
    bare = nl.Engine(nl.DataFeed(prices_df=prices), _BuyTen(), BacktestConfig(**base, calendar=None)).run()
    assert bare.equity.observation_based and bare.equity.years == pytest.approx(3 / 252)
    # ... and daily returns are per bar.
    assert bare.to_daily_returns().len() == 4
    assert daily.to_daily_returns().len() == 1


def test_daily_returns_follow_the_feed_specs_evening_session():
    from nautilus_like.result import BacktestResult

    # CME's session opens 17:00 Chicago: 16:00 closes Monday's session, 18:00 opens Tuesday's.
    config = BacktestConfig(timezone="America/Chicago",
                            feed_spec={"calendar": "CME_Equity", "session_start_time": "17:00",
                                       "timestamp_semantics": "event_time"})
    result = BacktestResult(trades=[], fills=[], metrics={}, config=config,
                            equity_curve=[(datetime(2024, 1, 1, 16, 0), 100_000.0),
                                          (datetime(2024, 1, 1, 18, 0), 101_000.0)])
    assert len(result.to_daily_pnl()) == 1                       # one calendar day
    assert result.to_daily_returns().to_list() == [0.0, 0.01]     # two sessions: +1,000 on 100,000
