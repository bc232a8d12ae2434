"""RuntimeServices: trading bounds, execution windows and publication times of bar fields.

Each scenario states the bars and the hand-computed fills, cash and equity rows.
"""

from datetime import UTC, datetime

import polars as pl
import pytest

from nautilus_like import BacktestConfig, DataFeed, Engine, OrderType, RuntimeServices, Strategy, run_backtest
from nautilus_like.types import ExecutionMode

DAYS = [datetime(2025, 1, d, 21, tzinfo=UTC) for d in (6, 7, 8, 9)]
SPEC = {"timestamp_semantics": "bar_close"}


def _feed(closes=(100.0, 101.0, 102.0, 103.0), **extra):
    n = len(closes)
    return DataFeed(prices_df=pl.DataFrame({"timestamp": DAYS[:n], "asset": ["A"] * n, "close": list(closes),
                                            **extra}), feed_spec=SPEC)


class BuyOnce(Strategy):
    """Buys 1 share on the first bar it sees; records every timestamp it sees."""

    def __init__(self):
        self.seen = []

    def on_data(self, timestamp, data, context, broker):
        self.seen.append(timestamp)
        if len(self.seen) == 1:
            broker.submit_order("A", 1)


def test_start_and_end_bound_the_events_the_strategy_trades_and_the_account_samples():
    # Events 7 and 8 only. NEXT_BAR: the order of day 7 fills at day 8's open (no open
    # column: the close, 102). Cash 10000 - 102 = 9898; equity at day 8: 9898 + 102.
    strategy = BuyOnce()
    result = Engine(_feed(), strategy, BacktestConfig(initial_cash=10000, execution_mode=ExecutionMode.NEXT_BAR),
                    runtime=RuntimeServices(start=DAYS[1], end=DAYS[2])).run()
    assert strategy.seen == DAYS[1:3]
    assert result.to_fills_dataframe()["price"].to_list() == [102.0]
    assert result.to_fills_dataframe()["timestamp"].to_list() == [DAYS[2]]
    equity = result.to_equity_dataframe()
    assert equity["timestamp"].to_list() == DAYS[1:3]
    assert equity["equity"].to_list() == [10000.0, 10000.0]
    assert result.to_portfolio_state_dataframe()["cash"].to_list() == [10000.0, 9898.0]


def test_execution_windows_skip_the_events_between_them():
    # Windows [6, 6] and [8, 9]: day 7 is no event. SAME_BAR buy on day 6 at 100;
    # day 8 marks at 102 (equity 10002), day 9 at 103 (equity 10003).
    strategy = BuyOnce()
    result = run_backtest(pl.DataFrame({"timestamp": DAYS, "asset": ["A"] * 4, "close": [100.0, 101.0, 102.0, 103.0]}),
                          strategy, config=BacktestConfig(initial_cash=10000, execution_mode=ExecutionMode.SAME_BAR),
                          feed_spec=SPEC,
                          runtime=RuntimeServices(execution_windows=[(DAYS[0], DAYS[0]), (DAYS[2], DAYS[3])]))
    assert strategy.seen == [DAYS[0], DAYS[2], DAYS[3]]
    assert result.to_equity_dataframe()["equity"].to_list() == [10000.0, 10002.0, 10003.0]


def test_an_unpublished_high_cannot_trigger_a_buy_stop():
    # Buy stop at 105 placed on day 6 (NEXT_BAR). Day 7's high 110 is published only on
    # day 8, so day 7 reads its close 100 as the high: no trigger. Day 8's high 106 is
    # published on time: triggers; the open (the close, 100) is below the stop: fill at 105.
    class Stop(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if timestamp == DAYS[0]:
                broker.submit_order("A", 1, order_type=OrderType.STOP, stop_price=105.0)

    feed = _feed((100.0, 100.0, 100.0), high=[101.0, 110.0, 106.0], high_published=[DAYS[0], DAYS[2], DAYS[2]])
    result = Engine(feed, Stop(), BacktestConfig(execution_mode=ExecutionMode.NEXT_BAR),
                    runtime=RuntimeServices(known_at_cols={"high": "high_published"})).run()
    assert result.to_fills_dataframe()["price"].to_list() == [105.0]
    assert result.to_fills_dataframe()["timestamp"].to_list() == [DAYS[2]]
    # Without the declaration the day-7 high of 110 triggers the stop on day 7 at 105.
    plain = Engine(feed, Stop(), BacktestConfig(execution_mode=ExecutionMode.NEXT_BAR)).run()
    assert plain.to_fills_dataframe()["timestamp"].to_list() == [DAYS[1]]


def test_a_never_published_low_reads_as_the_close():
    # A buy limit at 95. Day 7's low 90 is never published (null), so
    # day 7 reads low = close 100: no fill. Day 8's low 94 is published: fills at 95.
    class Limit(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if timestamp == DAYS[0]:
                broker.submit_order("A", 1, order_type=OrderType.LIMIT, limit_price=95.0)

    feed = _feed((100.0, 100.0, 100.0), low=[99.0, 90.0, 94.0], low_known=[DAYS[0], None, DAYS[2]])
    result = Engine(feed, Limit(), BacktestConfig(execution_mode=ExecutionMode.NEXT_BAR),
                    runtime=RuntimeServices(known_at_cols={"low": "low_known"})).run()
    assert result.to_fills_dataframe()["price"].to_list() == [95.0]
    assert result.to_fills_dataframe()["timestamp"].to_list() == [DAYS[2]]


@pytest.mark.parametrize("windows,error", [
    ([(DAYS[2], DAYS[1])], ValueError),
    ([(DAYS[0], DAYS[2]), (DAYS[1], DAYS[3])], ValueError),
    ([(DAYS[0], "tomorrow")], TypeError),
])
def test_invalid_execution_windows_are_refused_on_construction(windows, error):
    with pytest.raises(error, match="window"):
        RuntimeServices(execution_windows=windows)


def test_bad_bounds_and_unsupported_services_name_their_argument():
    with pytest.raises(ValueError, match="start must not exceed end"):
        RuntimeServices(start=DAYS[2], end=DAYS[1])
    with pytest.raises(TypeError, match="start must be a datetime"):
        RuntimeServices(start="2025-01-06")
    for kwargs, name in [({"history_provider": lambda **_: None}, "history_provider"),
                         ({"futures_lifecycle": [object()]}, "futures_lifecycle"),
                         ({"history_sources": {"d": lambda **_: None}}, "history_sources")]:
        with pytest.raises(NotImplementedError, match=name):
            RuntimeServices(**kwargs)
    with pytest.raises(NotImplementedError, match="'close'"):
        RuntimeServices(known_at_cols={"close": "close_known"})


def test_a_window_without_events_and_undeclared_timestamps_are_refused():
    with pytest.raises(ValueError, match="no feed events"):
        Engine(_feed(), BuyOnce(), runtime=RuntimeServices(start=datetime(2026, 1, 1, tzinfo=UTC)))
    plain = DataFeed(prices_df=pl.DataFrame({"timestamp": DAYS, "asset": ["A"] * 4, "close": [1.0] * 4}))
    with pytest.raises(ValueError, match="timestamp_semantics"):
        Engine(plain, BuyOnce(), runtime=RuntimeServices())


def test_services_are_run_scoped():
    runtime = RuntimeServices(end=DAYS[1])
    with pytest.raises(RuntimeError, match="active run"):
        runtime.market
    inside = []

    class Peek(Strategy):
        def on_data(self, timestamp, data, context, broker):
            inside.append(runtime._engine is not None)
            with pytest.raises(RuntimeError, match="before an active run"):
                runtime.execution_windows = None

    Engine(_feed(), Peek(), runtime=runtime).run()
    assert inside == [True, True]
    assert runtime._engine is None
    runtime.execution_windows = [(DAYS[0], DAYS[1])]
    assert runtime.execution_windows == ((DAYS[0], DAYS[1]),)


def test_market_history_reads_warmup_rows_up_to_the_clock_and_nothing_after_the_run():
    # start = day 8: on_start reads before day 8 (exclusive), each event through itself.
    runtime = RuntimeServices(start=DAYS[2])
    seen = []

    class Read(Strategy):
        def on_start(self, broker):
            seen.append(("start", runtime.market.history(["A"], ["close"], bar_count=3)["close"].to_list()))

        def on_data(self, timestamp, data, context, broker):
            market = runtime.market
            seen.append((timestamp, market.history(["A"], ["close"], bar_count=3)["close"].to_list(),
                         market.current(["A"], ["close"])["close"].to_list()))

    Engine(_feed(), Read(), runtime=runtime).run()
    assert seen == [("start", [100.0, 101.0]),
                    (DAYS[2], [100.0, 101.0, 102.0], [102.0]),
                    (DAYS[3], [101.0, 102.0, 103.0], [103.0])]
    with pytest.raises(RuntimeError, match="active run"):
        runtime.market


def test_market_history_hides_an_unpublished_field_and_a_stale_read_says_when_it_was_observed():
    # Day 7's high (110) is published on day 8. On day 7 the history shows it as None;
    # a forward-filled read gives day 6's 101, observed on day 6. On day 8 both are known.
    runtime = RuntimeServices(known_at_cols={"high": "high_published"})
    seen = {}

    class Read(Strategy):
        def on_data(self, timestamp, data, context, broker):
            market = runtime.market
            seen[timestamp] = (market.history(["A"], ["high"], bar_count=2)["high"].to_list(),
                               market.current(["A"], ["high"], forward_fill=True).row(0, named=True))

    feed = _feed((100.0, 100.0, 100.0), high=[101.0, 110.0, 106.0], high_published=[DAYS[0], DAYS[2], DAYS[2]])
    Engine(feed, Read(), runtime=runtime).run()
    assert seen[DAYS[1]][0] == [101.0, None]
    assert seen[DAYS[1]][1] == {"timestamp": DAYS[1], "asset": "A", "high": 101.0, "high_observed_at": DAYS[0]}
    assert seen[DAYS[2]][0] == [110.0, 106.0]
    assert seen[DAYS[2]][1]["high_observed_at"] == DAYS[2]


def test_market_reads_refuse_ambiguous_requests():
    runtime = RuntimeServices()
    errors = []

    class Read(Strategy):
        def on_data(self, timestamp, data, context, broker):
            for kwargs in ({"bar_count": 0}, {"bar_count": True}, {"unit": "elapsed"},
                           {"bar_count": 1, "forward_fill": {"volume": True}}):
                try:
                    runtime.market.history(["A"], ["close"], **kwargs)
                except (ValueError, NotImplementedError) as exc:
                    errors.append(type(exc).__name__)
            with pytest.raises(ValueError, match="Unknown market field"):
                runtime.market.history(["A"], ["nope"], bar_count=1)
            with pytest.raises(ValueError, match="calendar=None"):
                runtime.market.history(["A"], ["close"], bar_count=1, unit="session")

    # calendar=None: session units have no calendar to count in (an unset calendar resolves to NYSE).
    Engine(_feed((100.0,)), Read(), BacktestConfig(calendar=None), runtime=runtime).run()
    assert errors == ["ValueError"] * 4


def test_recency_queries_count_from_the_last_known_observation():
    # A trades on day 6 only (volume 10), B on day 7 (volume 0). On day 7: A's price is
    # one day old, stale at max_age 0 but not at 1 day, and not tradable now; B's price is
    # current and tradable, but has no positive volume.
    frame = pl.DataFrame({"timestamp": DAYS[:2], "asset": ["A", "B"], "close": [100.0, 50.0],
                          "volume": [10.0, 0.0]})
    runtime = RuntimeServices()
    seen = []

    class Read(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if timestamp == DAYS[1]:
                m = runtime.market
                seen.extend([m.last_observed("A"), m.observation_age("A"), m.is_stale("A"),
                             m.is_stale("A", max_age=DAYS[1] - DAYS[0]), m.can_trade("A"), m.can_trade("B"),
                             m.can_trade("B", require_volume=True), m.last_traded("A"), m.last_traded("B")])

    Engine(DataFeed(prices_df=frame, feed_spec=SPEC), Read(), runtime=runtime).run()
    assert seen == [DAYS[0], DAYS[1] - DAYS[0], True, False, False, True, False, DAYS[0], None]


def test_signal_and_context_fields_reach_the_strategy_only_once_published():
    # alpha 10 (day 6) and -1 (day 7) are both published on day 7; so is the context
    # rate 0.05 of day 6. Day 6 sees None for both; day 7 sees -1 and 0.1.
    signals = pl.DataFrame({"timestamp": DAYS[:2], "asset": ["A"] * 2, "alpha": [10.0, -1.0],
                            "published": [DAYS[1], DAYS[1]]})
    context = pl.DataFrame({"timestamp": DAYS[:2], "rate": [0.05, 0.1], "published": [DAYS[1], DAYS[1]]})
    runtime = RuntimeServices(signal_known_at_cols={"alpha": "published"},
                              context_known_at_cols={"rate": "published"})
    seen = []

    class Read(Strategy):
        def on_data(self, timestamp, data, context, broker):
            seen.append((data["A"]["signals"]["alpha"], context["rate"],
                         runtime.signals.history(["A"], ["alpha"], bar_count=2)["alpha"].to_list()))

    feed = DataFeed(prices_df=pl.DataFrame({"timestamp": DAYS[:2], "asset": ["A"] * 2, "close": [1.0, 1.0]}),
                    signals_df=signals, context_df=context, feed_spec=SPEC)
    Engine(feed, Read(), runtime=runtime).run()
    assert seen == [(None, None, [None]), (-1.0, 0.1, [10.0, -1.0])]
    # The caller's frames are unchanged.
    assert signals["alpha"].to_list() == [10.0, -1.0] and context["rate"].to_list() == [0.05, 0.1]
    with pytest.raises(ValueError, match="datetimes"):
        Engine(feed, Read(), runtime=RuntimeServices(signal_known_at_cols={"alpha": "alpha"}))


def test_an_ineligible_signal_row_holds_no_value_and_no_older_one_stands_in():
    # alpha 10 on day 6 (eligible), 99 on day 7 (not eligible), both published on time.
    # Day 7: the strategy gets None, a forward-filled read stays None (not day 6's 10),
    # and the history shows [10, None].
    signals = pl.DataFrame({"timestamp": DAYS[:2], "asset": ["A"] * 2, "alpha": [10.0, 99.0],
                            "eligible": [True, False]})
    runtime = RuntimeServices(signal_eligible_cols={"alpha": "eligible"})
    seen = []

    class Read(Strategy):
        def on_data(self, timestamp, data, context, broker):
            seen.append((data["A"]["signals"]["alpha"],
                         runtime.signals.current(["A"], ["alpha"], forward_fill=True)["alpha"].to_list(),
                         runtime.signals.history(["A"], ["alpha"], bar_count=2)["alpha"].to_list()))

    feed = DataFeed(prices_df=pl.DataFrame({"timestamp": DAYS[:2], "asset": ["A"] * 2, "close": [1.0, 1.0]}),
                    signals_df=signals, feed_spec=SPEC)
    Engine(feed, Read(), runtime=runtime).run()
    assert seen == [(10.0, [10.0], [10.0]), (None, [None], [10.0, None])]
