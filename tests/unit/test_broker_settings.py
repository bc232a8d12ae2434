"""A live broker's settings, its gatekeeper, and a failed strategy callback undone.

ml4t-backtest lets `broker.stop_fill_mode = ...` (and every other setting) be
assigned on a live broker; nautilus_like sends the change to the engine,
which takes decision settings at any time and account / order-flow settings
only before the first order, fill or position. Each scenario gives the marks
and the hand-computed cash, fills and refusals.
"""

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from nautilus_like import (BacktestConfig, Broker, DataFeed, Engine, ExecutionMode, ExecutionPrice, OrderSide,
                           OrderStatus, OrderType, StopLoss, Strategy)
from nautilus_like._model import EngineError, Order
from nautilus_like.config import CommissionType, StopFillMode
from nautilus_like.execution import SharedVolumeParticipationLimit

T0 = datetime(2024, 1, 2, 9, 30)


def mark(broker, t, prices, opens=None, highs=None, lows=None, volume=1_000_000.0):
    broker._update_time(timestamp=t, prices=prices, opens=opens or prices, highs=highs or prices,
                        lows=lows or prices, volumes=dict.fromkeys(prices, volume), signals={})


# ------------------------------------------------------------------ settings


def test_execution_mode_set_before_any_order_makes_orders_wait_for_the_next_open():
    broker = Broker(100_000.0)
    broker.execution_mode = ExecutionMode.NEXT_BAR
    assert broker.execution_mode is ExecutionMode.NEXT_BAR
    mark(broker, T0, {"AAPL": 100.0})
    order = broker.submit_order("AAPL", 100.0, OrderSide.BUY)
    broker._process_orders()
    assert order.status is OrderStatus.PENDING and broker.fills == []
    # Next bar opens at 101: 100 shares cost 10,100.
    mark(broker, T0 + timedelta(days=1), {"AAPL": 102.0}, opens={"AAPL": 101.0}, highs={"AAPL": 103.0},
         lows={"AAPL": 100.0})
    broker._process_orders(use_open=True)
    assert order.status is OrderStatus.FILLED
    assert broker.fills[0].price == 101.0
    assert broker.get_cash() == 100_000.0 - 10_100.0


def test_execution_mode_cannot_change_once_an_order_exists():
    broker = Broker(100_000.0)
    mark(broker, T0, {"AAPL": 100.0})
    broker.submit_order("AAPL", 10)
    with pytest.raises(EngineError, match="execution_mode can only be changed before the first order"):
        broker.execution_mode = ExecutionMode.NEXT_BAR
    # Nothing changed: the order still fills this bar at the close.
    assert broker.execution_mode is ExecutionMode.SAME_BAR
    broker._process_orders()
    assert broker.get_cash() == 100_000.0 - 1_000.0


def test_initial_cash_is_never_changed_and_bad_values_name_the_setting():
    broker = Broker(100_000.0)
    with pytest.raises(EngineError, match="initial_cash cannot be changed"):
        broker.initial_cash = 5.0
    with pytest.raises(ValueError, match="stop_fill_mode"):
        broker.stop_fill_mode = "sometime"
    with pytest.raises(ValueError, match="cash_buffer_pct"):
        broker.cash_buffer_pct = 1.5
    assert broker.initial_cash == 100_000.0 and broker.cash_buffer_pct == 0.0


def test_stop_fill_mode_next_bar_open_defers_a_stop_exit_even_with_a_position_open():
    # Bought 100 at 100; a 5% stop (95) is hit on bar 2 (low 93). NEXT_BAR_OPEN
    # (set while the position is open: a decision setting) exits at bar 3's open, 97.
    broker = Broker(100_000.0)
    broker.set_position_rules(StopLoss(pct=0.05))
    mark(broker, T0, {"AAPL": 100.0})
    broker.submit_order("AAPL", 100.0)
    broker._process_orders()
    broker.stop_fill_mode = StopFillMode.NEXT_BAR_OPEN
    assert broker.stop_fill_mode is StopFillMode.NEXT_BAR_OPEN
    mark(broker, T0 + timedelta(days=1), {"AAPL": 94.0}, opens={"AAPL": 96.0}, highs={"AAPL": 97.0},
         lows={"AAPL": 93.0})
    assert broker.evaluate_position_rules() == []
    broker._process_orders()
    assert broker.get_position("AAPL").quantity == 100.0
    mark(broker, T0 + timedelta(days=2), {"AAPL": 98.0}, opens={"AAPL": 97.0}, highs={"AAPL": 99.0},
         lows={"AAPL": 96.0})
    broker.evaluate_position_rules()
    broker._process_orders(use_open=True)
    assert broker.get_position("AAPL") is None
    assert broker.fills[-1].price == 97.0
    assert broker.get_cash() == 100_000.0 - 10_000.0 + 9_700.0


def test_skip_cash_validation_set_mid_run_lets_an_unaffordable_entry_fill():
    broker = Broker(1_000.0)
    mark(broker, T0, {"AAPL": 100.0})
    refused = broker.submit_order("AAPL", 20)
    broker._process_orders()
    assert refused.status is OrderStatus.REJECTED and broker.get_cash() == 1_000.0
    broker.skip_cash_validation = True
    broker.submit_order("AAPL", 20)
    broker._process_orders()
    # 20 x 100 = 2,000 from 1,000 of cash.
    assert broker.get_cash() == -1_000.0
    assert broker.get_position("AAPL").quantity == 20.0


# ---------------------------------------------------------------- gatekeeper


def test_gatekeeper_checks_against_the_live_account_with_the_brokers_buffer():
    broker = Broker(10_000.0)
    gatekeeper = broker.gatekeeper
    assert gatekeeper.cash_buffer_pct == 0.0
    buy = Order(asset="AAPL", side=OrderSide.BUY, quantity=95)
    assert gatekeeper.validate_order(buy, 100.0) == (True, "")   # 9,500 of 10,000
    gatekeeper.cash_buffer_pct = 0.1                              # the broker's setting
    assert broker.cash_buffer_pct == 0.1
    ok, reason = broker.gatekeeper.validate_order(buy, 100.0)     # 9,500 > 10,000 x 0.9
    assert not ok and "Insufficient cash" in reason
    # The engine applies the same buffer to the broker's own orders.
    mark(broker, T0, {"AAPL": 100.0})
    order = broker.submit_order("AAPL", 95)
    broker._process_orders()
    assert order.status is OrderStatus.REJECTED
    order = broker.submit_order("AAPL", 90)                        # 9,000 fits
    broker._process_orders()
    assert order.status is OrderStatus.FILLED and broker.get_cash() == 1_000.0
    # The account it reads is the live one: 1,000 of cash now.
    assert broker.gatekeeper.account.cash == 1_000.0
    assert broker.gatekeeper.validate_order(Order(asset="AAPL", side=OrderSide.SELL, quantity=90), 100.0)[0]


def test_gatekeeper_commission_model_is_the_brokers():
    from nautilus_like import PercentageCommission

    broker = Broker(10_000.0)
    model = PercentageCommission(0.01)
    broker.gatekeeper.commission_model = model
    assert broker.commission_model is model
    # 99 x 100 = 9,900 + 1% = 9,999 fits; 100 shares need 10,100.
    assert broker.gatekeeper.validate_order(Order(asset="AAPL", side=OrderSide.BUY, quantity=99), 100.0)[0]
    assert not broker.gatekeeper.validate_order(Order(asset="AAPL", side=OrderSide.BUY, quantity=100), 100.0)[0]


def test_account_reads_unsettled_proceeds_from_the_engine():
    # T+2: selling 10 at 110 holds 1,100 until two bars later.
    broker = Broker(10_000.0, settlement_delay=2)
    mark(broker, T0, {"AAPL": 100.0})
    broker.submit_order("AAPL", 10)
    broker._process_orders()
    assert broker.account.unsettled_cash == 0.0 and broker.account.free_cash == 9_000.0
    mark(broker, T0 + timedelta(days=1), {"AAPL": 110.0})
    broker.submit_order("AAPL", 10, OrderSide.SELL)
    broker._process_orders()
    assert broker.get_cash() == 10_100.0
    assert broker.account.unsettled_cash == 1_100.0


# ------------------------------------------------- a failed callback undone


def _frame(n, volume=10.0):
    times = [datetime(2025, 1, 2 + i, 15, tzinfo=UTC) for i in range(n)]
    return times, pl.DataFrame({"timestamp": times, "asset": ["TEST"] * n, "close": [100.0] * n,
                                "volume": [volume] * n})


def _immediate_config():
    return BacktestConfig(initial_cash=10_000, calendar=None, execution_mode=ExecutionMode.SAME_BAR,
                          execution_price=ExecutionPrice.CLOSE, commission_type=CommissionType.NONE,
                          immediate_fill=True)


def test_a_callback_that_raises_leaves_the_broker_as_it_found_it():
    # Bar 1 buys 5 (half of volume 10) at 100: cash 9,500. Bar 2 buys again
    # (filled at once), adds a limit order, then raises: bar 2's fill, order
    # and cash are undone, bar 1's stay.
    times, frame = _frame(2)

    class FailsOnBar2(Strategy):
        def on_data(self, timestamp, data, context, broker):
            broker.submit_order("TEST", 5)
            if timestamp == times[1]:
                assert len(broker.fills) == 2 and broker.get_cash() == 9_000.0
                broker.submit_order("TEST", 1, order_type=OrderType.LIMIT, limit_price=90.0)
                raise RuntimeError("decision failed")

    engine = Engine(DataFeed(prices_df=frame), FailsOnBar2(), _immediate_config(),
                    execution_limits=SharedVolumeParticipationLimit(max_participation=0.5))
    with pytest.raises(RuntimeError, match="decision failed"):
        engine.run()
    broker = engine.broker
    assert broker.get_cash() == 9_500.0
    assert [(f.quantity, f.price) for f in broker.fills] == [(5.0, 100.0)]
    assert broker.get_position("TEST").quantity == 5.0
    assert len(broker.orders) == 1 and broker.pending_orders == []


def test_a_failed_first_callback_restores_cash_fills_and_the_shared_volume_budget():
    times, frame = _frame(1)

    class Fails(Strategy):
        def on_data(self, timestamp, data, context, broker):
            broker.submit_order("TEST", 10)
            assert len(broker.fills) == 1
            raise RuntimeError("decision failed")

    engine = Engine(DataFeed(prices_df=frame), Fails(), _immediate_config(),
                    execution_limits=SharedVolumeParticipationLimit(max_participation=0.5))
    with pytest.raises(RuntimeError, match="decision failed"):
        engine.run()
    assert engine.broker.cash == 10_000
    assert engine.broker.fills == [] and engine.broker.positions == {}
