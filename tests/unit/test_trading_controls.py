"""Trading and account controls (`nautilus_like.controls`) on the fixture, hand-computed.

AAA bars (open/high/low/close): 0: 100/102/99/101, 1: 102/104/101/103,
2: 104/106/103/105, 3: 103/104/100/101, 4: 100/101/97/98. One bar a day.
Default config: NEXT_BAR, a market order fills at the next bar's open; a
control sees the bar's close as the current price.
"""

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like.contracts import ContractSpec
from nautilus_like.controls import (
    AccountConstraints,
    AccountControlContext,
    AccountControlViolation,
    OrderConstraints,
    OrderControlContext,
    OrderRequestCount,
    TradingControlViolation,
)
from tests.conftest import fixture_prices, run, ts

Violation = TradingControlViolation


def register(*controls):
    def action(b):
        for control in controls:
            b.register_trading_control(control)
    return action


def ids(orders):
    return [o.order_id if o is not None else None for o in orders]


class Recorder:
    """A custom control (any object with validate) that keeps what it saw."""

    def __init__(self):
        self.seen = []

    def validate(self, request):
        self.seen.append(request)


def test_a_refused_order_uses_no_id_and_moves_no_cash():
    seen = []

    def trade(b):
        with pytest.raises(Violation, match="order quantity 11.0 exceeds 10"):
            b.submit_order("AAA", 11)
        seen.append((b.orders, b.get_cash()))
        seen.append(b.submit_order("AAA", 10).order_id)

    result, _ = run({0: [register(OrderConstraints(max_order_quantity=10)), trade]})
    assert seen == [([], 100_000.0), "ORD-1"]
    # 10 bought at bar 1's open 102.
    assert result.to_fills_dataframe().select("order_id", "quantity", "price").rows() == [("ORD-1", 10.0, 102.0)]


def test_the_request_a_control_sees():
    recorder = Recorder()
    contexts = []

    def trade(b):
        b.submit_order("AAA", 4)                            # pending buy 4
        b.submit_order("AAA", -1, order_type=nl.OrderType.LIMIT, limit_price=200.0)  # pending sell 1
        b.submit_order("AAA", 2)

    def later(b):
        contexts.extend(recorder.seen)
        b.submit_order("AAA", -3)

    run({0: [register(recorder), trade], 1: [later]},
        contract_specs={"AAA": ContractSpec(symbol="AAA", multiplier=1.0)})
    first, second, third = contexts[:3]
    # Bar 0: flat, close 101; the day count counts the orders submitted before.
    assert (first.timestamp, first.asset, first.quantity, first.position_quantity) == (ts(0), "AAA", 4.0, 0.0)
    assert (first.pending_buy_quantity, first.pending_sell_quantity, first.price) == (0.0, 0.0, 101.0)
    assert (first.orders_in_day, first.session_date, first.is_update, first.multiplier) == (0, None, False, 1.0)
    assert (second.quantity, second.pending_buy_quantity, second.orders_in_day) == (-1.0, 4.0, 1)
    assert (third.pending_buy_quantity, third.pending_sell_quantity, third.pending_quantity) == (4.0, 1.0, 3.0)
    # Bar 1: the two buys filled at the open (6 held), the limit sell still works; a new day.
    fourth = recorder.seen[3]
    assert (fourth.timestamp, fourth.position_quantity, fourth.pending_sell_quantity) == (ts(1), 6.0, 1.0)
    assert (fourth.price, fourth.orders_in_day) == (103.0, 0)


@pytest.mark.parametrize("include_pending,allowed", [(True, False), (False, True)])
def test_position_limit_counts_working_orders_on_the_orders_side_only(include_pending, allowed):
    # max 10: buy 6 and sell 5 work. Buying 5 more could leave 0 + 5 + 6 = 11
    # (the sell may never fill, so it does not offset); without pending, 5.
    outcome = []

    def trade(b):
        b.submit_order("AAA", 6)
        b.submit_order("AAA", -5)
        try:
            outcome.append(b.submit_order("AAA", 5).order_id)
        except Violation as exc:
            outcome.append(str(exc))

    run({0: [register(OrderConstraints(max_position_quantity=10, include_pending=include_pending)), trade]},
        nl.BacktestConfig(allow_short_selling=True))
    assert outcome == (["ORD-3"] if allowed else ["position quantity 11.0 exceeds 10"])


def test_long_only_pending_buys_do_not_cover_a_sale_but_held_shares_do():
    outcome = []

    def day0(b):
        b.submit_order("AAA", 5)
        with pytest.raises(Violation, match="long-only"):
            b.submit_order("AAA", -1)

    def day1(b):  # 5 held now: selling 5 is fine, one more is not
        outcome.append(b.submit_order("AAA", -5).order_id)
        with pytest.raises(Violation, match="long-only"):
            b.submit_order("AAA", -1)

    run({0: [register(OrderConstraints(long_only=True)), day0], 1: [day1]})
    assert outcome == ["ORD-2"]


@pytest.mark.parametrize("basis,allowed", [("economic", False), ("quoted_units", True)])
def test_notional_limit_uses_the_declared_unit(basis, allowed):
    # Multiplier 10, close 101: one contract is 1,010 economic (> 1,000), 101 quoted.
    outcome = []

    def trade(b):
        try:
            outcome.append(b.submit_order("AAA", 1).order_id)
        except Violation as exc:
            outcome.append(str(exc))

    run({0: [register(OrderConstraints(max_order_notional=1000, notional_basis=basis)), trade]},
        contract_specs={"AAA": ContractSpec(symbol="AAA", multiplier=10.0)})
    assert outcome == (["ORD-1"] if allowed else ["order notional 1010.0 exceeds 1000"])


def test_blocked_assets_and_a_dated_restriction():
    def restrict(request):
        return request.timestamp == ts(1)

    outcome = []

    def day0(b):
        with pytest.raises(Violation, match="'BBB' is restricted"):
            b.submit_order("BBB", 1)
        outcome.append(b.submit_order("AAA", 1).order_id)

    def day1(b):
        with pytest.raises(Violation, match="'AAA' is restricted"):
            b.submit_order("AAA", 1)

    def day2(b):
        outcome.append(b.submit_order("AAA", 1).order_id)

    control = OrderConstraints(blocked_assets={"BBB"}, restriction=restrict)
    run({0: [register(control), day0], 1: [day1], 2: [day2]})
    assert outcome == ["ORD-1", "ORD-2"]


def test_an_asset_scoped_control_ignores_other_assets():
    outcome = []

    def trade(b):
        outcome.append(b.submit_order("BBB", 50).order_id)
        with pytest.raises(Violation):
            b.submit_order("AAA", 50)

    run({0: [register(OrderConstraints(asset="AAA", max_order_quantity=10)), trade]})
    assert outcome == ["ORD-1"]


def test_daily_order_count_counts_submitted_orders_and_resets_the_next_day():
    outcome = []

    def day0(b):
        assert b.submit_order("AAA", 0) is None          # nothing submitted: not counted
        with pytest.raises(Violation):
            b.submit_order("AAA", 6)                     # refused: not counted
        outcome.append(b.submit_order("AAA", 1).order_id)
        outcome.append(b.submit_order("AAA", 1).order_id)
        with pytest.raises(Violation, match="civil day"):
            b.submit_order("AAA", 1)

    def day1(b):
        outcome.append(b.submit_order("AAA", 1).order_id)

    run({0: [register(OrderConstraints(max_orders_per_day=2, max_order_quantity=5)), day0], 1: [day1]})
    assert outcome == ["ORD-1", "ORD-2", "ORD-3"]


def test_request_count_counts_zero_requests_and_requests_a_later_control_refuses():
    outcome = []
    count = OrderRequestCount(3)

    def day0(b):
        assert b.submit_order("AAA", 0) is None                     # request 1
        with pytest.raises(Violation, match="order quantity"):
            b.submit_order("AAA", 9)                                # request 2, refused after counting
        outcome.append(b.submit_order("AAA", 1).order_id)           # request 3
        with pytest.raises(Violation, match="validated order requests"):
            b.submit_order("AAA", 1)

    def day1(b):
        outcome.append(b.submit_order("AAA", 1).order_id)
        assert b.unregister_trading_control(count) is True
        assert b.unregister_trading_control(count) is False

    run({0: [register(count, OrderConstraints(max_order_quantity=5)), day0], 1: [day1]})
    assert outcome == ["ORD-1", "ORD-2"]


def test_request_count_uses_the_day_of_its_own_time_zone():
    # 23:30 and 00:30 UTC are two UTC days but one New York day (18:30 and 19:30 EST).
    times = [datetime(2024, 1, 8, 23, 30, tzinfo=timezone.utc), datetime(2024, 1, 9, 0, 30, tzinfo=timezone.utc)]
    prices = fixture_prices().filter(pl.col("asset") == "AAA").head(2).with_columns(timestamp=pl.Series(times))

    def outcome_for(zone):
        outcome = []

        def trade(b):
            try:
                outcome.append(b.submit_order("AAA", 1).order_id)
            except Violation:
                outcome.append("refused")

        run({0: [register(OrderRequestCount(1, timezone=zone)), trade], 1: [trade]}, prices=prices)
        return outcome

    assert outcome_for("UTC") == ["ORD-1", "ORD-2"]
    assert outcome_for("America/New_York") == ["ORD-1", "refused"]


def test_updates_are_checked_as_the_new_remaining_quantity_but_not_counted():
    seen = {}

    def trade(b):
        order = b.submit_order("AAA", 3)
        with pytest.raises(Violation, match="order quantity 6.0 exceeds 5"):
            b.update_order(order.order_id, quantity=6)
        seen["after refusal"] = order.quantity
        assert b.update_order(order.order_id, quantity=5)   # the one daily order is not used again

    control = OrderConstraints(max_order_quantity=5, max_position_quantity=5, max_orders_per_day=1)
    result, _ = run({0: [register(control), trade]})
    assert seen == {"after refusal": 3.0}
    assert result.to_fills_dataframe()["quantity"].to_list() == [5.0]


def test_bracket_legs_are_each_checked_with_the_earlier_legs_working():
    # max position 10: a bracket of 5 leaves at worst -10 (both exits of 5 filling);
    # a bracket of 6 could reach -12 at its stop-loss leg: nothing is created.
    seen = []

    def trade(b):
        with pytest.raises(Violation, match="position quantity 12.0 exceeds 10"):
            b.submit_bracket("AAA", 6, take_profit=120.0, stop_loss=90.0)
        seen.append(b.orders)
        seen.append(ids(b.submit_bracket("AAA", 5, take_profit=120.0, stop_loss=90.0)))

    run({0: [register(OrderConstraints(max_position_quantity=10, max_orders_per_day=3)), trade]},
        nl.BacktestConfig(allow_short_selling=True))
    assert seen == [[], ["ORD-1", "ORD-2", "ORD-3"]]


def test_target_orders_are_checked_at_the_quantity_they_ask_for():
    # Close 101: $2,020 is 20 units (over 10), $1,010 is 10.
    outcome = []

    def trade(b):
        with pytest.raises(Violation, match="order quantity 20.0 exceeds 10"):
            b.order_target_value("AAA", 2020)
        order = b.order_target_value("AAA", 1010)
        outcome.append((order.order_id, order.quantity))
        assert b.order_target_value("AAA", 0.004) is None   # under a cent: no order, no check

    run({0: [register(OrderConstraints(max_order_quantity=10)), trade]})
    assert outcome == [("ORD-1", 10.0)]


def test_account_boundaries_see_pending_orders_then_fills():
    # SAME_BAR at the close: 20 AAA bought on bar 0 fill at 101 after the callback.
    # after_callbacks on bar 0 sees no position (leverage 0); after_fills sees
    # 20 x 101 = 2,020 of 100,000 (the purchase swaps cash for shares).
    # Bar 1 (close 103): 2,060 of 100,040 either way.
    seen = {"after_callbacks": [], "after_fills": []}

    class Capture(AccountConstraints):
        def __init__(self, boundary):
            super().__init__(max_leverage=1.0)
            object.__setattr__(self, "_boundary", boundary)

        def validate(self, account):
            seen[self._boundary].append(round(account.leverage, 9))
            super().validate(account)

    def setup(b):
        for boundary in seen:
            b.register_account_control(Capture(boundary), boundary=boundary)
        b.submit_order("AAA", 20)

    config = nl.BacktestConfig(execution_mode=nl.ExecutionMode.SAME_BAR, execution_price=nl.ExecutionPrice.CLOSE)
    run({0: [setup]}, config, prices=fixture_prices().filter(pl.col("asset") == "AAA").head(2))
    assert seen["after_callbacks"] == [0.0, round(2060 / 100_040, 9)]
    assert seen["after_fills"] == [round(2020 / 100_000, 9), round(2060 / 100_040, 9)]


def test_a_breach_ends_the_run_before_the_bar_is_recorded():
    # Flat account, leverage 0: at least 0.5 is required after ts(1), so bar 2
    # breaches (after its fills); bars 0 and 1 are recorded, bar 2 is not.
    strategy_prices = fixture_prices().filter(pl.col("asset") == "AAA")
    engine = nl.Engine(nl.DataFeed(prices_df=strategy_prices), _Register(
        lambda b: b.register_account_control(AccountConstraints(min_leverage=0.5, deadline=ts(1)))))
    with pytest.raises(AccountControlViolation, match="minimum gross leverage"):
        engine.run()
    assert engine.equity_curve == [(ts(0), 100_000.0), (ts(1), 100_000.0)]


def test_a_failed_callback_leaves_no_control_registered():
    class Reject:
        def validate(self, account):
            raise AssertionError("registered by a failed callback")

    def fail(b):
        b.register_trading_control(OrderConstraints(max_order_quantity=0.5))
        b.register_account_control(Reject())
        raise RuntimeError("abort")

    engine = nl.Engine(nl.DataFeed(prices_df=fixture_prices()), _Register(None, fail))
    with pytest.raises(RuntimeError, match="abort"):
        engine.run()
    engine.broker.validate_account_controls()
    assert engine.broker.submit_order("AAA", 1).order_id == "ORD-1"


class _Register(nl.Strategy):
    def __init__(self, on_start=None, on_first_bar=None):
        self._start, self._first = on_start, on_first_bar

    def on_start(self, broker):
        if self._start is not None:
            self._start(broker)

    def on_data(self, timestamp, data, context, broker):
        if self._first is not None:
            first, self._first = self._first, None
            first(broker)


def test_without_registrations_the_broker_keeps_no_control_state():
    strategy = _Register()
    engine = nl.Engine(nl.DataFeed(prices_df=fixture_prices()), strategy)
    engine.run()
    assert engine.broker._controls is None
    assert engine.broker.unregister_trading_control(OrderConstraints()) is False


def test_registration_needs_a_validate_method_and_a_known_boundary():
    def bad(b):
        with pytest.raises(TypeError, match="validate"):
            b.register_trading_control(object())
        with pytest.raises(TypeError, match="validate"):
            b.register_account_control(object())
        with pytest.raises(ValueError, match="boundary 'later'"):
            b.register_account_control(AccountConstraints(), boundary="later")
        with pytest.raises(ValueError, match="calendar"):
            b.register_account_control(AccountConstraints(), boundary="session_end")
        with pytest.raises(ValueError, match="boundary 'later'"):
            b.validate_account_controls(boundary="later")

    run({0: [bad]})


def test_a_session_limit_without_a_calendar_is_an_error_not_a_day_count():
    def trade(b):
        with pytest.raises(ValueError, match="calendar"):
            b.submit_order("AAA", 1)

    run({0: [register(OrderConstraints(max_orders_per_session=1)), trade]})


@pytest.mark.parametrize("kwargs,error,match", [
    ({"max_order_quantity": -1}, ValueError, "max_order_quantity must be finite and nonnegative"),
    ({"max_position_notional": float("nan")}, ValueError, "max_position_notional"),
    ({"max_orders_per_day": 1.5}, ValueError, "max_orders_per_day must be a nonnegative integer"),
    ({"max_orders_per_session": True}, ValueError, "max_orders_per_session"),
    ({"notional_basis": "gross"}, ValueError, "notional_basis"),
    ({"blocked_assets": "AAA"}, TypeError, "blocked_assets"),
    ({"restriction": 3}, TypeError, "restriction must be callable"),
])
def test_order_constraints_refuse_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        OrderConstraints(**kwargs)


def test_request_count_and_account_constraints_refuse_bad_settings():
    with pytest.raises(ValueError, match="max_count"):
        OrderRequestCount(-1)
    with pytest.raises(ValueError, match="max_count"):
        OrderRequestCount(True)
    with pytest.raises(Exception):
        OrderRequestCount(1, timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="deadline"):
        AccountConstraints(min_leverage=1.0)
    with pytest.raises(ValueError, match="max_leverage"):
        AccountConstraints(max_leverage=-2)


def test_validators_on_their_own():
    request = OrderControlContext(ts(0), "AAA", 5.0, 2.0, 1.0, 4.0, 10.0, 2.0, None, 0, 0)
    # Worst case of a buy: 2 + 5 + 1 pending buy = 8; economic notional 5 x 10 x 2 = 100.
    OrderConstraints(max_position_quantity=8, max_order_notional=100).validate(request)
    with pytest.raises(Violation, match="position quantity 8.0 exceeds 7"):
        OrderConstraints(max_position_quantity=7).validate(request)
    with pytest.raises(Violation, match="position notional 160.0 exceeds 150"):
        OrderConstraints(max_position_notional=150).validate(request)
    # Long only: 2 held + 5 bought - 4 pending sells = 3 >= 0.
    OrderConstraints(long_only=True).validate(request)
    with pytest.raises(Violation, match="current positive observed price"):
        OrderConstraints(max_order_notional=1e9).validate(
            OrderControlContext(ts(0), "AAA", 1.0, 0.0, 0.0, 0.0, None, 1.0, None, 0, 0))
    account = AccountControlContext(ts(0), 1_000.0, 200.0, 1_500.0, 800.0)
    assert account.leverage == 1.5
    AccountConstraints(max_leverage=1.5).validate(account)
    with pytest.raises(AccountControlViolation, match="maximum"):
        AccountConstraints(max_leverage=1.4).validate(account)
    assert AccountControlContext(None, 0.0, 0.0, 5.0, 5.0).leverage == float("inf")
    with pytest.raises(ValueError, match="timezone awareness"):
        AccountConstraints(min_leverage=1.0, deadline=datetime(2024, 1, 1)).validate(
            AccountControlContext(datetime(2024, 1, 2, tzinfo=timezone.utc), 1.0, 1.0, 0.0, 0.0))


def test_a_standalone_broker_consults_its_controls():
    # Marks of 10: 5 bought (cash 9,950), 6 refused; leverage 50 / 10,000.
    broker = nl.Broker(initial_cash=10_000.0)
    broker.register_trading_control(OrderConstraints(max_order_quantity=5))
    marks = {"A": 10.0}
    broker._update_time(datetime(2024, 1, 2), marks, marks, marks, marks, {"A": 1e6}, {})
    assert broker.submit_order("A", 5).order_id == "ORD-1"
    with pytest.raises(Violation, match="order quantity 6.0 exceeds 5"):
        broker.submit_order("A", 6)
    broker._process_orders()
    snapshot = broker.get_account_snapshot()
    assert (snapshot.timestamp, snapshot.cash, snapshot.equity) == (datetime(2024, 1, 2), 9_950.0, 10_000.0)
    assert (snapshot.gross_exposure, snapshot.net_exposure, snapshot.leverage) == (50.0, 50.0, 0.005)
    broker.register_account_control(AccountConstraints(max_leverage=0.004))
    with pytest.raises(AccountControlViolation, match="maximum"):
        broker.validate_account_controls()
    broker.validate_account_controls(boundary="after_callbacks")  # the control is after_fills


def _session_feed(points):
    # NYSE, bars labelled by their close, New York wall times: 2025-07-02's
    # session is 09:30-16:00, so the 16:00 bar is its close.
    return nl.DataFeed(
        prices_df=pl.DataFrame({"timestamp": points, "asset": ["A"] * len(points), "close": [100.0] * len(points)}),
        feed_spec={"calendar": "NYSE", "timezone": "America/New_York", "timestamp_semantics": "bar_close",
                   "bar_label": "right", "data_frequency": "1m", "time_contract_version": 2})


def test_session_end_controls_run_at_the_calendar_close_only():
    checks = []

    class Capture(AccountConstraints):
        def validate(self, account):
            checks.append(account.timestamp)

    points = [datetime(2025, 7, 2, 9, 31), datetime(2025, 7, 2, 15, 59), datetime(2025, 7, 2, 16)]
    nl.Engine(_session_feed(points), _Register(
        lambda b: b.register_account_control(Capture(), boundary="session_end"))).run()
    assert checks == [datetime(2025, 7, 2, 16)]


def test_a_session_without_its_close_fails_the_run_and_late_registration_is_refused():
    on_start = _Register(lambda b: b.register_account_control(AccountConstraints(), boundary="session_end"))
    points = [datetime(2025, 7, 2, 9, 31), datetime(2025, 7, 2, 15, 59)]
    with pytest.raises(ValueError, match=r"close observation for \[datetime.date\(2025, 7, 2\)\]"):
        nl.Engine(_session_feed(points), on_start).run()
    late = _Register(None, lambda b: b.register_account_control(AccountConstraints(), boundary="session_end"))
    with pytest.raises(ValueError, match="before market observations"):
        nl.Engine(_session_feed(points), late).run()
