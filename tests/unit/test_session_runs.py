"""Exchange calendars at run time: `enforce_sessions` (bars outside the
sessions are passed over by the engine) and `CancelPolicy.SESSION_END`
(open orders are cancelled when their session closes), with hand-computed
fills and times; the calendar declaration in configs and feeds."""

from datetime import UTC, datetime

import polars as pl
import pytest

from nautilus_like import BacktestConfig, DataFeed, Engine, OrderSide, OrderType, Strategy
from nautilus_like.time_semantics import UNSET_CALENDAR

pytest.importorskip("pandas_market_calendars")


def _prices(times, opens, closes=None):
    closes = closes or opens
    return pl.DataFrame({"timestamp": times, "asset": ["A"] * len(times), "open": opens,
                         "high": [max(o, c) for o, c in zip(opens, closes)],
                         "low": [min(o, c) for o, c in zip(opens, closes)], "close": closes,
                         "volume": [1e6] * len(times)})


class BuyOnce(Strategy):
    """Buys 10 shares on the first bar it sees; records every bar it sees."""

    def __init__(self):
        self.seen = []

    def on_data(self, timestamp, data, context, broker):
        self.seen.append(timestamp)
        if len(self.seen) == 1:
            broker.submit_order("A", 10)


def test_a_weekend_bar_is_not_traded_with_enforce_sessions():
    # Fri 2024-01-05, Sat 01-06 (no NYSE session), Mon 01-08. The order
    # submitted on Friday fills at the next *session* bar's open: Monday's
    # 102, not Saturday's 200.
    times = [datetime(2024, 1, 5), datetime(2024, 1, 6), datetime(2024, 1, 8)]
    strategy = BuyOnce()
    result = Engine(DataFeed(prices_df=_prices(times, [100.0, 200.0, 102.0])), strategy,
                    BacktestConfig(calendar="NYSE", enforce_sessions=True)).run()
    assert strategy.seen == [times[0], times[2]]
    assert result.to_fills_dataframe()["price"].to_list() == [102.0]
    assert result.metrics["skipped_bars"] == 1
    # One equity point per traded bar: 100,000 on Friday; Monday 100,000 - 1,020 + 10 * 102.
    assert [t for t, _ in result.equity_curve] == [times[0], times[2]]
    assert [v for _, v in result.equity_curve] == [100_000.0, 100_000.0]


def test_without_enforce_sessions_the_weekend_bar_trades():
    times = [datetime(2024, 1, 5), datetime(2024, 1, 6), datetime(2024, 1, 8)]
    strategy = BuyOnce()
    result = Engine(DataFeed(prices_df=_prices(times, [100.0, 200.0, 102.0])), strategy,
                    BacktestConfig(calendar="NYSE")).run()
    assert strategy.seen == times
    assert result.to_fills_dataframe()["price"].to_list() == [200.0]
    assert result.metrics["skipped_bars"] == 0


def test_a_premarket_bar_is_not_traded_and_the_order_fills_inside_the_session():
    # 2024-01-02 (EST, UTC-5): 14:00 UTC is 09:00 New York (before the 09:30
    # open), 14:30 the open, 15:00 inside. The strategy first sees 14:30 and
    # its order fills at 15:00's open, 101.
    times = [datetime(2024, 1, 2, 14, 0, tzinfo=UTC), datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
             datetime(2024, 1, 2, 15, 0, tzinfo=UTC)]
    strategy = BuyOnce()
    result = Engine(DataFeed(prices_df=_prices(times, [90.0, 100.0, 101.0]),
                             feed_spec={"timestamp_semantics": "event_time"}), strategy,
                    BacktestConfig(calendar="NYSE", enforce_sessions=True, data_frequency="1m")).run()
    assert strategy.seen == times[1:]
    assert result.to_fills_dataframe()["price"].to_list() == [101.0]
    assert result.metrics["skipped_bars"] == 1


class RestingLimit(Strategy):
    """A buy limit at 90 submitted on the first bar."""

    def __init__(self):
        self.orders = []

    def on_data(self, timestamp, data, context, broker):
        if not self.orders:
            self.orders.append(broker.submit_order("A", 10, OrderSide.BUY, order_type=OrderType.LIMIT,
                                                   limit_price=90.0))


# 2025-01-02: NYSE closes 21:00 UTC. The limit rests (lows 100) through the
# close; the next session opens at 85, through the limit.
_LIMIT_TIMES = [datetime(2025, 1, 2, 20, 30, tzinfo=UTC), datetime(2025, 1, 2, 20, 55, tzinfo=UTC),
                datetime(2025, 1, 3, 14, 30, tzinfo=UTC), datetime(2025, 1, 3, 15, 0, tzinfo=UTC)]


def _limit_run(policy):
    strategy = RestingLimit()
    result = Engine(DataFeed(prices_df=_prices(_LIMIT_TIMES, [100.0, 100.0, 85.0, 86.0]),
                             feed_spec={"timestamp_semantics": "event_time"}), strategy,
                    BacktestConfig(calendar="NYSE", cancel_policy=policy)).run()
    return result, strategy.orders[0]


def test_a_limit_order_resting_at_the_session_close_is_cancelled_under_session_end():
    result, order = _limit_run("session_end")
    assert result.to_fills_dataframe().height == 0
    assert order.status.value == "cancelled"
    assert order.cancellation_reason == "session_end"
    # Stamped at the session's close, not at the next bar.
    assert order.cancelled_at == datetime(2025, 1, 2, 21, 0, tzinfo=UTC)
    assert result.metrics["final_value"] == 100_000.0


def test_the_same_limit_order_fills_at_the_next_session_under_never():
    result, order = _limit_run("never")
    fills = result.to_fills_dataframe()
    assert fills["quantity"].to_list() == [10.0]
    assert fills["timestamp"].to_list() == [_LIMIT_TIMES[2]]
    assert order.status.value == "filled"


def test_an_order_inside_its_session_survives_to_the_end_of_the_run():
    # The run ends before the close: nothing expires.
    times = [datetime(2025, 7, 3, 15, 0, tzinfo=UTC), datetime(2025, 7, 3, 15, 5, tzinfo=UTC)]
    strategy = RestingLimit()
    Engine(DataFeed(prices_df=_prices(times, [100.0, 100.0]), feed_spec={"timestamp_semantics": "event_time"}),
           strategy, BacktestConfig(calendar="NYSE", cancel_policy="session_end")).run()
    assert strategy.orders[0].status.value == "pending"
    assert strategy.orders[0].cancelled_at is None


def test_session_end_needs_a_calendar_and_physical_timestamps():
    feed = DataFeed(prices_df=_prices(_LIMIT_TIMES, [100.0] * 4), feed_spec={"timestamp_semantics": "event_time"})
    with pytest.raises(ValueError, match="requires a declared calendar"):
        Engine(feed, RestingLimit(), BacktestConfig(calendar=None, cancel_policy="session_end"))
    plain = DataFeed(prices_df=_prices(_LIMIT_TIMES, [100.0] * 4))
    with pytest.raises(ValueError, match="physical timestamp_semantics"):
        Engine(plain, RestingLimit(), BacktestConfig(calendar="NYSE", cancel_policy="session_end"))


def test_calendar_declarations_resolve_and_round_trip():
    assert BacktestConfig().calendar is UNSET_CALENDAR
    assert BacktestConfig().resolved_calendar == "NYSE"
    assert BacktestConfig(calendar=None).resolved_calendar is None
    assert "calendar" not in BacktestConfig().to_dict()["calendar"]
    for chosen in (None, "CME_Equity"):
        restored = BacktestConfig.from_dict(BacktestConfig(calendar=chosen).to_dict())
        assert restored.calendar == chosen
    # A version-1 null calendar means "not declared".
    # A file without a time contract is version 1: its None calendar is none (as ml4t reads it).
    assert BacktestConfig.from_dict({"calendar": {"calendar": None}}).resolved_calendar is None
    with pytest.raises(ValueError, match="calendar"):
        BacktestConfig(calendar="  ")


def test_an_unset_config_calendar_inherits_the_feeds():
    # Sat 2025-07-12: no NYSE session, but a crypto calendar trades every day.
    times = [datetime(2025, 7, 11), datetime(2025, 7, 12), datetime(2025, 7, 14)]
    for declared, seen in (("crypto", 3), (None, 3), (UNSET_CALENDAR, 2)):
        strategy = BuyOnce()
        result = Engine(DataFeed(prices_df=_prices(times, [10.0, 11.0, 12.0]), calendar=declared), strategy,
                        BacktestConfig(enforce_sessions=True)).run()
        assert len(strategy.seen) == seen, declared
        assert result.metrics["skipped_bars"] == 3 - seen


def test_an_unknown_calendar_name_is_refused_by_name():
    times = [datetime(2024, 1, 5), datetime(2024, 1, 6)]
    with pytest.raises(ValueError, match="calendar='NOPE' is not an exchange calendar"):
        Engine(DataFeed(prices_df=_prices(times, [1.0, 2.0])), BuyOnce(),
               BacktestConfig(calendar="NOPE", enforce_sessions=True))
