"""A standalone Broker(...) driven by hand, as ml4t-backtest's tests drive one:
each scenario gives the marks and the hand-computed cash, fills and equity."""

from datetime import datetime, timedelta

import pytest

import nautilus_like as nl
from nautilus_like import (AssetCommission, Broker, ExecutionMode, ExecutionPrice, NoCommission, OrderSide,
                           OrderStatus, OrderType, PercentageCommission, Position, StopLoss)

T0 = datetime(2024, 1, 2, 9, 30)


def mark(broker, t, prices, opens=None, highs=None, lows=None, volume=1_000_000.0):
    """One `_update_time` with ml4t's keyword form; open/high/low default to the price."""
    broker._update_time(timestamp=t, prices=prices, opens=opens or prices, highs=highs or prices,
                        lows=lows or prices, volumes=dict.fromkeys(prices, volume), signals={})


def test_defaults_are_ml4ts_broker_defaults():
    broker = Broker()
    assert broker.get_cash() == 100_000.0
    assert broker.execution_mode is ExecutionMode.SAME_BAR
    assert broker.execution_price is ExecutionPrice.CLOSE
    assert broker.share_type.value == "integer"
    assert isinstance(broker.commission_model, NoCommission)
    assert broker.positions == {}


def test_market_buy_fills_only_when_orders_are_processed():
    # 0.1% commission; buy 100 at the close 150: cash 100,000 - 15,000 - 15 = 84,985.
    broker = Broker(initial_cash=100_000.0, commission_model=PercentageCommission(0.001))
    mark(broker, T0, {"AAPL": 150.0}, opens={"AAPL": 149.0})
    order = broker.submit_order("AAPL", 100, OrderSide.BUY)
    assert order.status is OrderStatus.PENDING and broker.get_cash() == 100_000.0
    broker._process_orders()
    assert order.status is OrderStatus.FILLED
    assert order.filled_price == 150.0
    assert broker.get_cash() == 84_985.0
    (fill,) = broker.fills
    assert (fill.price, fill.commission, fill.timestamp) == (150.0, 15.0, T0)
    # Marked at 160: equity 84,985 + 16,000 = 100,985.
    mark(broker, T0 + timedelta(days=1), {"AAPL": 160.0})
    assert broker.get_account_value() == 100_985.0


def test_use_open_fills_at_the_open():
    broker = Broker(execution_mode=ExecutionMode.NEXT_BAR, execution_price=ExecutionPrice.OPEN)
    mark(broker, T0, {"AAPL": 100.0})
    broker.submit_order("AAPL", 10)
    mark(broker, T0 + timedelta(days=1), {"AAPL": 105.0}, opens={"AAPL": 101.0},
         highs={"AAPL": 106.0}, lows={"AAPL": 100.5})
    broker._process_orders(use_open=True)
    assert broker.get_position("AAPL").entry_price == 101.0
    assert broker.get_cash() == 100_000.0 - 1_010.0


def test_seeded_position_is_valued_at_the_marks_and_cash_is_untouched():
    broker = Broker(initial_cash=100_000.0)
    broker.positions["AAPL"] = Position(asset="AAPL", quantity=100.0, entry_price=150.0,
                                        entry_time=datetime(2024, 1, 1, 9, 30))
    assert broker.get_cash() == 100_000.0
    mark(broker, T0, {"AAPL": 155.0}, opens={"AAPL": 154.0}, highs={"AAPL": 156.0}, lows={"AAPL": 153.0})
    # 100,000 + 100 x 155
    assert broker.get_account_value() == 115_500.0
    pos = broker.positions["AAPL"]
    assert (pos.quantity, pos.entry_price, pos.entry_time) == (100.0, 150.0, datetime(2024, 1, 1, 9, 30))
    # Selling it books a trade: (160 - 150) x 100 = 1,000.
    mark(broker, T0 + timedelta(days=1), {"AAPL": 160.0})
    broker.submit_order("AAPL", -100)
    broker._process_orders()
    assert broker.get_cash() == 116_000.0
    assert broker.trades[0].pnl == 1_000.0
    assert "AAPL" not in broker.positions
    # `del` drops a seeded position without a trade.
    broker.positions["MSFT"] = Position("MSFT", -5.0, 20.0, T0)
    del broker.positions["MSFT"]
    assert broker.get_position("MSFT") is None and len(broker.trades) == 1
    with pytest.raises(KeyError):
        del broker.positions["MSFT"]


def test_stop_loss_rule_exit_is_queued_then_filled():
    # Long 100 @ 100 with a 5% stop (95): a bar opening at 99 with low 94
    # triggers it; it fills at the stop, 95 -> cash + 9,500.
    broker = Broker(initial_cash=10_000.0)
    mark(broker, T0, {"AAPL": 100.0})
    broker.submit_order("AAPL", 100)
    broker._process_orders()
    assert broker.get_cash() == 0.0
    broker.set_position_rules(StopLoss(0.05))
    mark(broker, T0 + timedelta(days=1), {"AAPL": 96.0}, opens={"AAPL": 99.0}, highs={"AAPL": 99.5},
         lows={"AAPL": 94.0})
    exits = broker.evaluate_position_rules()
    assert len(exits) == 1 and exits[0].quantity == 100.0
    broker._process_orders()
    assert broker.get_position("AAPL") is None
    assert broker.get_cash() == 9_500.0
    assert broker.trades[0].exit_price == 95.0


def test_hand_set_marks_follow_ml4t():
    broker = Broker()
    assert broker.get_last_price("AAPL") is None
    mark(broker, T0, {"AAPL": 100.0})
    assert broker.get_last_price("AAPL") == 100.0
    mark(broker, T0, {"AAPL": 0.0})       # the same timestamp again, a zero mark
    assert broker.get_last_price("AAPL") == 0.0
    mark(broker, T0, {"AAPL": -1.0})
    assert broker.get_last_price("AAPL") == -1.0
    mark(broker, T0, {"AAPL": float("nan")})  # NaN keeps the last finite mark
    assert broker.get_last_price("AAPL") == -1.0
    assert broker.get_last_price("MSFT") is None


def test_assets_joining_late_get_their_per_asset_commission():
    # B pays 1%, everyone else nothing; B first appears on the second step.
    broker = Broker(commission_model=AssetCommission({"B": PercentageCommission(0.01)}, default=NoCommission()))
    mark(broker, T0, {"A": 10.0})
    broker.submit_order("A", 10)
    broker._process_orders()
    mark(broker, T0 + timedelta(days=1), {"A": 10.0, "B": 50.0})
    broker.submit_order("B", 10)
    broker._process_orders()
    # 100,000 - 100 - (500 + 5)
    assert broker.get_cash() == 99_395.0
    assert [f.commission for f in broker.fills] == [0.0, 5.0]


def test_an_order_before_any_mark_waits_for_one():
    broker = Broker()
    order = broker.submit_order("AAPL", 10, order_type=OrderType.LIMIT, limit_price=99.0)
    broker._process_orders()            # no marks yet: nothing matches (as ml4t)
    assert order.status is OrderStatus.PENDING
    mark(broker, T0, {"AAPL": 100.0}, lows={"AAPL": 98.0}, highs={"AAPL": 100.0}, opens={"AAPL": 100.0})
    broker._process_orders()
    assert order.status is OrderStatus.FILLED and order.filled_price == 99.0


def test_from_config_takes_the_configs_settings_and_costs():
    config = nl.BacktestConfig(commission_rate=0.002, execution_mode=ExecutionMode.SAME_BAR,
                               execution_price=ExecutionPrice.CLOSE)
    broker = Broker.from_config(config)
    assert isinstance(broker.commission_model, PercentageCommission)
    mark(broker, T0, {"AAPL": 50.0})
    broker.submit_order("AAPL", 10)
    broker._process_orders()
    # 100,000 - 500 - 1
    assert broker.get_cash() == 99_499.0


@pytest.mark.parametrize("call, error, message", [
    (lambda b: b._update_time(timestamp="2024-01-02", prices={"A": 1.0}, opens={}, highs={}, lows={},
                              volumes={}, signals={}), TypeError, "timestamp must be a datetime"),
    (lambda b: b._update_time(T0, {"A": 1.0}, {}), TypeError, "_update_time expects"),
    (lambda b: b._update_time(timestamp=T0, prices={"A": 1.0}, opens={}, highs={}, lows={}, signals={}),
     TypeError, "missing required keyword argument: 'volumes'"),
    (lambda b: b._update_time(timestamp=T0, prices={1: 1.0}, opens={}, highs={}, lows={}, volumes={},
                              signals={}), TypeError, "asset names must be str, got 1"),
    (lambda b: b.positions.__setitem__("A", 5), TypeError, "must be a nautilus_like Position"),
    (lambda b: b.positions.__setitem__("A", Position("B", 1.0, 1.0, T0)), ValueError, "Position in 'B'"),
    (lambda b: b.positions.__setitem__("A", Position("A", float("nan"), 1.0, T0)), ValueError,
     "position quantity must be finite, got NaN"),
    (lambda b: b._process_orders(order_ids={"ORD-1"}), NotImplementedError, "order_ids"),
])
def test_bad_steps_raise_naming_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call(Broker())


def test_an_engines_broker_is_not_driven_by_hand():
    import polars as pl

    feed = nl.DataFeed(prices_df=pl.DataFrame({"timestamp": [T0], "asset": ["A"], "close": [1.0]}))
    seen = []

    class Probe(nl.Strategy):
        def on_data(self, timestamp, data, context, broker):
            with pytest.raises(RuntimeError, match="standalone"):
                broker._process_orders()
            seen.append(broker.execution_mode)

    fee = PercentageCommission(0.002)
    engine = nl.Engine(feed, Probe(), commission_model=fee)
    engine.run()
    assert seen == [nl.BacktestConfig().execution_mode]
    # The broker reports the model the engine charges with, not the config's.
    assert engine.broker.commission_model is fee and isinstance(engine.broker.slippage_model, nl.NoSlippage)


def test_cash_can_be_set_by_hand_and_the_last_trade_is_found():
    broker = Broker()
    broker.cash = 5_000.0
    assert broker.get_cash() == 5_000.0 and broker.equity() == 5_000.0
    assert broker.get_last_trade() is None
    mark(broker, T0, {"A": 10.0, "B": 20.0})
    for asset, qty in (("A", 10), ("B", 5), ("A", -10), ("B", -5)):
        broker.submit_order(asset, qty)
        broker._process_orders()
    assert broker.get_last_trade().symbol == "B"
    assert broker.get_last_trade("A").symbol == "A"
    with pytest.raises(ValueError, match="cash must be a number"):
        broker.cash = "lots"


def test_unknown_order_ids_are_answered_as_ml4t_answers_them():
    broker = Broker()
    assert broker.get_order("nonexistent-id") is None
    assert broker.cancel_order("nonexistent-id") is False
    assert broker.update_order("nonexistent-id", quantity=5) is False
    with pytest.raises(TypeError, match="order_id must be"):
        broker.get_order(3.5)


def test_a_close_apart_from_the_mark_prices_close_and_price_apart():
    broker = Broker()
    broker._update_time(timestamp=T0, prices={"A": 100.0}, opens={}, highs={}, lows={}, closes={"A": 102.0},
                        volumes={}, signals={})
    price = broker.get_price_for_source
    assert (price(ExecutionPrice.CLOSE, "A"), price(ExecutionPrice.PRICE, "A")) == (102.0, 100.0)
    assert price(ExecutionPrice.QUOTE_MID, "A") == 100.0           # no quotes: the reference price


def test_price_for_each_source():
    broker = Broker(execution_mode=ExecutionMode.NEXT_BAR)
    broker._update_time(timestamp=T0, prices={"A": 100.0, "B": 50.0}, opens={"A": 99.0, "B": 50.0},
                        highs={"A": 104.0, "B": 50.0}, lows={"A": 96.0, "B": 50.0}, volumes={"A": 1e6, "B": 1e6},
                        vwaps={"A": 100.5}, bids={"A": 99.9}, asks={"A": 100.1}, signals={})
    price = broker.get_price_for_source
    assert (price(ExecutionPrice.OPEN, "A"), price(ExecutionPrice.CLOSE, "A"), price("price", "A")) == (99, 100, 100)
    assert price(ExecutionPrice.MID, "A") == 100.0                 # (104 + 96) / 2
    assert price(ExecutionPrice.VWAP, "A") == 100.5 and price(ExecutionPrice.VWAP, "B") is None
    assert (price(ExecutionPrice.BID, "A"), price(ExecutionPrice.ASK, "A")) == (99.9, 100.1)
    assert price(ExecutionPrice.QUOTE_MID, "A") == pytest.approx(100.0)
    assert price(ExecutionPrice.QUOTE_SIDE, "A", side=OrderSide.BUY) == 100.1
    assert price(ExecutionPrice.QUOTE_SIDE, "A", quantity=-5) == 99.9
    assert price(ExecutionPrice.BID, "B") == 50.0                    # no quote: the close
    # NEXT_BAR open-time passes price at the open, except quote sources and VWAP.
    assert price(ExecutionPrice.CLOSE, "A", use_open=True) == 99.0
    assert price(ExecutionPrice.VWAP, "A", use_open=True) == 100.5
    assert price(ExecutionPrice.CLOSE, "ZZZ") is None
    with pytest.raises(ValueError, match="source must be an ExecutionPrice"):
        price("typical", "A")


def test_reduce_all_positions_cancels_orders_and_exits_a_fraction():
    broker = Broker(allow_short_selling=True, share_type=nl.ShareType.FRACTIONAL)
    mark(broker, T0, {"A": 10.0, "B": 20.0})
    broker.submit_order("A", 10)
    broker.submit_order("B", -5)
    broker._process_orders()
    waiting = broker.submit_order("A", 1, order_type=OrderType.LIMIT, limit_price=5.0)
    exits = broker.reduce_all_positions(0.5, "drawdown")
    assert waiting.status is OrderStatus.CANCELLED
    assert [(o.asset, o.side, o.quantity) for o in exits] == [("A", OrderSide.SELL, 5.0), ("B", OrderSide.BUY, 2.5)]
    broker._process_orders()
    assert (broker.get_position("A").quantity, broker.get_position("B").quantity) == (5.0, -2.5)
    assert broker.trades[-1].exit_reason == "risk_liquidation"


def test_reduce_all_positions_that_would_round_to_zero_changes_nothing():
    broker = Broker()          # integer shares
    mark(broker, T0, {"A": 10.0})
    broker.submit_order("A", 1)
    broker._process_orders()
    waiting = broker.submit_order("A", 1, order_type=OrderType.LIMIT, limit_price=5.0)
    with pytest.raises(ValueError, match="reduction quantity for A rounds to zero"):
        broker.reduce_all_positions(0.5, "drawdown")
    assert waiting.status is OrderStatus.PENDING
    with pytest.raises(ValueError, match=r"fraction must be a finite value in \(0, 1\]"):
        broker.reduce_all_positions(1.5, "x")


def test_marks_assigned_as_ml4ts_tests_assign_them_become_one_step_before_the_next_call():
    # ml4t's tests set up a hand-driven broker with broker._current_time/_current_prices/...
    broker = Broker(initial_cash=10_000.0)
    t0 = datetime(2024, 1, 1)
    broker._current_time = t0
    broker._current_prices = {"AAA": 50.0}
    broker._current_opens = {"AAA": 49.0}
    broker._current_volumes = {"AAA": 1_000.0}
    assert broker._current_prices == {"AAA": 50.0} and broker._current_time == t0
    broker.submit_order("AAA", 10)
    broker._process_orders()            # SAME_BAR at the close: 10 x 50.00
    pos = broker.get_position("AAA")
    assert pos.quantity == 10 and pos.entry_price == 50.0 and pos.bars_held == 0
    assert broker.get_cash() == 10_000.0 - 500.0
    # _update_time replaces every mark (ml4t's dicts), and is the next bar.
    broker._update_time(datetime(2024, 1, 2), {"AAA": 55.0}, {"AAA": 54.0}, {"AAA": 56.0}, {"AAA": 53.0},
                        {"AAA": 1_000.0}, {})
    assert broker._current_prices == {"AAA": 55.0} and broker._current_highs == {"AAA": 56.0}
    assert pos.bars_held == 1
    assert broker.get_account_value() == 9_500.0 + 10 * 55.0
    # A re-assigned price alone is one more step: equity marks at it.
    broker._current_prices = {"AAA": 60.0}
    assert broker.get_account_value() == 9_500.0 + 10 * 60.0


def test_hand_set_marks_are_checked_and_belong_to_standalone_brokers():
    broker = Broker(initial_cash=10_000.0)
    with pytest.raises(TypeError, match=r"broker._current_prices must be a dict of asset -> value, got list"):
        broker._current_prices = [50.0]
    broker._current_prices = {"AAA": 50.0}
    with pytest.raises(ValueError, match=r"_current_time is None: set it before trading"):
        broker.submit_order("AAA", 1)
    with pytest.raises(ValueError, match=r"_current_time is None"):   # still, until it is set
        broker.get_cash()
    broker._current_time = datetime(2024, 1, 1)
    assert broker.submit_order("AAA", 1) is not None
    import polars as pl

    feed = nl.DataFeed(prices_df=pl.DataFrame({"timestamp": [T0], "asset": ["A"], "close": [1.0]}))
    class Idle(nl.Strategy):
        def on_data(self, timestamp, data, context, broker):
            pass

    engine = nl.Engine(feed, Idle())
    with pytest.raises(RuntimeError, match=r"Broker._current_prices = is for a standalone Broker"):
        engine.broker._current_prices = {"A": 50.0}
    # Other attributes keep their ordinary behaviour.
    with pytest.raises(AttributeError):
        broker.no_such_setting = 1


def test_processing_before_any_marks_matches_nothing_as_ml4t():
    broker = Broker(initial_cash=10_000.0)
    order = broker.submit_order("AAA", 5)
    broker._process_orders()
    assert broker.evaluate_position_rules() == []
    broker._update_water_marks()
    assert order.status == nl.OrderStatus.PENDING and broker.get_cash() == 10_000.0
    mark(broker, datetime(2024, 1, 1), {"AAA": 20.0})
    broker._process_orders()
    assert order.status == nl.OrderStatus.FILLED and broker.get_cash() == 10_000.0 - 100.0


def test_the_account_reads_the_engines_cash_and_positions_and_the_settings_policy():
    from nautilus_like import AssetClass, ContractSpec

    es = ContractSpec(symbol="ES", asset_class=AssetClass.FUTURE, multiplier=50.0, margin=15_000.0)
    broker = Broker(initial_cash=100_000.0, contract_specs={"ES": es}, allow_leverage=True,
                    fixed_margin_schedule={"NQ": (20_000.0, 10_000.0)})
    policy = broker.account.policy
    # The spec's margin fills in ES (maintenance half of it); NQ stays as given.
    assert policy.fixed_margin_schedule == {"NQ": (20_000.0, 10_000.0), "ES": (15_000.0, 7_500.0)}
    mark(broker, datetime(2024, 1, 1), {"ES": 5_000.0})
    broker.submit_order("ES", 1)
    broker._process_orders()
    account = broker.account
    assert account.cash == broker.get_cash() and account.get_position_quantity("ES") == 1.0
    assert account.positions["ES"].quantity == 1.0 and account.total_equity == broker.get_account_value()
    account.mark_to_market({"ES": 5_000.0})          # the engine's marks already
    with pytest.raises(NotImplementedError, match=r"'ES' at 5100.0 differs from the engine's mark 5000.0"):
        account.mark_to_market({"ES": 5_100.0})
    both = ContractSpec(symbol="ES", asset_class=AssetClass.FUTURE, multiplier=50.0, margin=15_000.0,
                        margin_pct=(0.05, 0.035))
    with pytest.raises(ValueError, match=r"cannot both define \['ES'\]"):
        Broker(initial_cash=100_000.0, contract_specs={"ES": both}, allow_leverage=True)
