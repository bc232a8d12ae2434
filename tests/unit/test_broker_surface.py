"""The assignable parts of the Broker, Order, DataFeed and run_backtest
surface (ml4t-backtest lets these be set): each scenario gives the bars and
the hand-computed fills, fees and cash."""

from datetime import datetime, timedelta

import polars as pl
import pytest

from nautilus_like import (BacktestConfig, Broker, DataFeed, Engine, ExecutionMode, NoCommission, Order,
                           OrderSide, OrderStatus, OrderType, PercentageCommission, StopLoss, Strategy,
                           run_backtest)
from nautilus_like.risk import AllOf
from nautilus_like.types import Trade

T0 = datetime(2024, 1, 2, 9, 30)
DAY = timedelta(days=1)


def mark(broker, t, prices, highs=None, lows=None):
    broker._update_time(timestamp=t, prices=prices, opens=prices, highs=highs or prices, lows=lows or prices,
                        volumes=dict.fromkeys(prices, 1_000_000.0), signals={})


def flat_prices(n=4, price=10.0, asset="A"):
    dates = [datetime(2024, 1, 1) + i * DAY for i in range(n)]
    return pl.DataFrame({"timestamp": dates, "asset": [asset] * n, "open": [price] * n, "high": [price] * n,
                         "low": [price] * n, "close": [price] * n, "volume": [10_000.0] * n})


class BuyOnFirstBar(Strategy):
    def __init__(self, quantity=100):
        self.quantity = quantity

    def on_data(self, timestamp, data, context, broker):
        if timestamp == datetime(2024, 1, 1):
            broker.submit_order("A", self.quantity)


class CountingFee:
    """A stateful fee: 1.0 a fill, counting the fills it was charged for."""

    def __init__(self):
        self.calls = 0

    def calculate(self, asset, quantity, price):
        self.calls += 1
        return 1.0


# ------------------------------------------------------------ cost models


def test_assigning_a_commission_model_changes_what_the_next_fill_pays():
    # Buy 10 at 100 free, then 1% commission: the second buy of 10 pays 10.
    broker = Broker(initial_cash=10_000.0)
    mark(broker, T0, {"A": 100.0})
    broker.submit_order("A", 10)
    broker._process_orders()
    broker.commission_model = PercentageCommission(0.01)
    assert isinstance(broker.commission_model, PercentageCommission)
    broker.submit_order("A", 10)
    broker._process_orders()
    assert [f.commission for f in broker.fills] == [0.0, 10.0]
    assert broker.get_cash() == 10_000.0 - 1_000.0 - 1_010.0
    broker.commission_model = None     # back to no commission
    assert isinstance(broker.commission_model, NoCommission)


def test_engine_broker_commission_model_set_before_the_run_is_charged():
    # Buy 100 at 10 with a 1% fee: cash 10,000 - 1,000 - 10 = 8,990.
    engine = Engine(DataFeed(prices_df=flat_prices()), BuyOnFirstBar(), BacktestConfig(initial_cash=10_000))
    engine.broker.commission_model = PercentageCommission(0.01)
    assert engine.commission_model is engine.broker.commission_model
    result = engine.run()
    assert [f.commission for f in result.fills] == [10.0]
    assert engine.broker.get_cash() == 8_990.0


def test_a_stateful_fee_advances_on_fills_only_not_on_account_checks():
    # One buy of 100 and one flip sell of 200 (two fills): the cash checks
    # before each fill ask a copy, so the model counts exactly two fills.
    class Flip(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if timestamp == datetime(2024, 1, 1):
                broker.submit_order("A", 100, OrderSide.BUY)
            elif timestamp == datetime(2024, 1, 3):
                broker.submit_order("A", 200, OrderSide.SELL)

    engine = Engine(DataFeed(prices_df=flat_prices(5)), Flip(),
                    BacktestConfig(initial_cash=10_000, allow_short_selling=True, allow_leverage=True,
                                   next_bar_submission_precheck=True))
    fee = CountingFee()
    engine.broker.commission_model = fee
    result = engine.run()
    assert [f.commission for f in result.fills] == [1.0, 1.0]
    assert fee.calls == 2
    assert engine.broker.get_cash() == 10_000.0 - 1_000.0 - 1.0 + 2_000.0 - 1.0


class CountingSlippage:
    """A stateful slippage model: 1.0 a share, counting the fills it priced."""

    def __init__(self):
        self.calls = 0

    def calculate(self, asset, quantity, price, volume):
        self.calls += 1
        return 1.0


@pytest.mark.parametrize(("cash", "fills", "calls"), [
    (10_000.0, [11.0], 1),   # 100 at 10 + 1 slippage: 1,100 affordable, priced once for the fill
    (1_050.0, [], 0),        # 1,000 passes at 10, 1,100 at the slipped 11 does not: refused, never priced live
])
def test_a_stateful_slippage_model_advances_on_fills_only(cash, fills, calls):
    engine = Engine(DataFeed(prices_df=flat_prices()), BuyOnFirstBar(), BacktestConfig(initial_cash=cash))
    model = CountingSlippage()
    engine.broker.slippage_model = model
    result = engine.run()
    assert [f.price for f in result.fills] == fills
    assert model.calls == calls


def test_a_commission_model_assigned_mid_run_charges_later_fills():
    class SwitchFee(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if timestamp == datetime(2024, 1, 1):
                broker.submit_order("A", 100)
            elif timestamp == datetime(2024, 1, 2):
                broker.commission_model = PercentageCommission(0.01)
                broker.submit_order("A", 100)

    result = run_backtest(flat_prices(), SwitchFee(), config=BacktestConfig(initial_cash=10_000))
    assert [f.commission for f in result.fills] == [0.0, 10.0]


def test_gatekeeper_commission_model_is_the_brokers():
    broker = Broker()
    fee = PercentageCommission(0.002)
    broker.gatekeeper.commission_model = fee
    assert broker.commission_model is fee and broker.gatekeeper.commission_model is fee


def test_a_model_without_calculate_is_refused_naming_the_protocol():
    with pytest.raises(TypeError, match="CommissionModel"):
        Broker().commission_model = object()


# ---------------------------------------------------------------- records


def test_a_standalone_brokers_trades_can_be_replaced_and_later_trades_follow():
    given = Trade(symbol="X", entry_time=T0 - 2 * DAY, exit_time=T0 - DAY, entry_price=10.0, exit_price=11.0,
                  quantity=5.0, pnl=5.0, pnl_percent=0.1, bars_held=1, exit_reason="signal")
    broker = Broker(initial_cash=10_000.0)
    broker.trades = [given]
    mark(broker, T0, {"A": 100.0})
    broker.submit_order("A", 10)
    broker._process_orders()
    mark(broker, T0 + DAY, {"A": 105.0})
    broker.submit_order("A", -10)
    broker._process_orders()
    trades = broker.get_trades()
    assert trades[0] is given
    assert (trades[1].symbol, trades[1].pnl) == ("A", 50.0)
    assert broker.get_trades(asset="X") == [given]
    assert broker.get_last_trade().symbol == "A"
    broker.fills = []
    assert broker.fills == []
    with pytest.raises(TypeError, match="list of Trade"):
        broker.trades = [1]


def test_an_engines_records_are_its_own():
    engine = Engine(DataFeed(prices_df=flat_prices()), BuyOnFirstBar())
    with pytest.raises(RuntimeError, match="standalone"):
        engine.broker.trades = []


# ----------------------------------------------------------------- orders


def test_orders_given_one_parent_id_cancel_each_other():
    # Long 100; a stop at 95 and a limit at 110 grouped as "bracket-1": the
    # bar trades down to 93, the stop fills and the limit is cancelled.
    broker = Broker(initial_cash=100_000.0)
    mark(broker, T0, {"A": 100.0})
    broker.submit_order("A", 100)
    broker._process_orders()
    stop = broker.submit_order("A", 100, OrderSide.SELL, OrderType.STOP, stop_price=95.0)
    limit = broker.submit_order("A", 100, OrderSide.SELL, OrderType.LIMIT, limit_price=110.0)
    stop.parent_id = "bracket-1"
    limit.parent_id = "bracket-1"
    assert limit.parent_id == "bracket-1"
    mark(broker, T0 + DAY, {"A": 94.0}, highs={"A": 97.0}, lows={"A": 93.0})
    broker._process_orders()
    assert stop.status is OrderStatus.FILLED
    assert limit.status is OrderStatus.CANCELLED and limit.cancellation_reason == "oco"
    with pytest.raises(TypeError, match="parent_id"):
        limit.parent_id = 7


def test_an_order_taken_out_of_its_group_survives_the_others_fill():
    broker = Broker(initial_cash=100_000.0)
    mark(broker, T0, {"A": 100.0})
    broker.submit_order("A", 100)
    broker._process_orders()
    stop = broker.submit_order("A", 100, OrderSide.SELL, OrderType.STOP, stop_price=95.0)
    limit = broker.submit_order("A", 100, OrderSide.SELL, OrderType.LIMIT, limit_price=110.0)
    stop.parent_id = limit.parent_id = "g"
    limit.parent_id = None
    mark(broker, T0 + DAY, {"A": 94.0}, highs={"A": 97.0}, lows={"A": 93.0})
    broker._process_orders()
    assert stop.status is OrderStatus.FILLED and limit.status is OrderStatus.PENDING


def test_rejection_codes_come_from_the_refusal():
    # A cash account: a short sale is an account restriction; 200 shares at
    # 100 with 10,000 cash is a cash shortfall.
    broker = Broker(initial_cash=10_000.0)
    mark(broker, T0, {"A": 100.0})
    short = broker.submit_order("A", -10)
    too_big = broker.submit_order("A", 200)
    ok = broker.submit_order("A", 10)
    broker._process_orders()
    assert short.status is OrderStatus.REJECTED and short.rejection_code == "account_restriction"
    assert too_big.rejection_code == "insufficient_cash"
    assert ok.status is OrderStatus.FILLED and ok.rejection_code is None
    assert broker.get_orders()[1].rejection_code == "insufficient_cash"   # a copy keeps it


@pytest.mark.parametrize(("reason", "code"), [
    ("Insufficient cash to cover short", "insufficient_cash"),
    ("Insufficient buying power: need $1.00", "insufficient_buying_power"),
    ("Short selling not allowed in cash account", "account_restriction"),
    ("No price available", "price_unavailable"),
    ("something else", "order_validation_failed"),
])
def test_a_detached_rejected_orders_code_is_read_from_its_reason(reason, code):
    order = Order(asset="A", side=OrderSide.BUY, quantity=1.0, status=OrderStatus.REJECTED, rejection_reason=reason)
    assert order.rejection_code == code
    assert Order(asset="A", side=OrderSide.BUY, quantity=1.0, rejection_reason=reason).rejection_code is None


def test_a_rule_exit_fill_carries_the_rules_detail():
    # Long 100 at 100 with a 5% stop; the next bar's low 93 breaks 95.
    broker = Broker(initial_cash=100_000.0)
    broker.set_position_rules(StopLoss(pct=0.05))
    mark(broker, T0, {"A": 100.0})
    broker.submit_order("A", 100)
    broker._process_orders()
    mark(broker, T0 + DAY, {"A": 94.0}, highs={"A": 97.0}, lows={"A": 93.0})
    assert len(broker.evaluate_position_rules()) == 1
    broker._process_orders()
    exit_fill = broker.fills[-1]
    assert (exit_fill.exit_reason, exit_fill.exit_reason_detail) == ("stop_loss", "stop_loss_5.0%")
    assert broker.fills[0].exit_reason_detail is None


def test_an_empty_all_of_has_nothing_to_agree_on():
    with pytest.raises(IndexError, match="AllOf"):
        AllOf([]).evaluate(None)


# ----------------------------------------------------- DataFeed / run_backtest


def ticks():
    return pl.DataFrame({"time": [datetime(2020, 1, 1), datetime(2020, 1, 2)], "ticker": ["ES", "ES"],
                         "o": [100.0, 101.0], "h": [102.0, 103.0], "l": [99.0, 100.0], "last": [101.0, 102.0],
                         "size": [10.0, 20.0]})


def test_feed_spec_mapping_names_the_columns():
    feed = DataFeed(prices_df=ticks(), feed_spec={"time_col": "time", "symbol_col": "ticker", "open_col": "o",
                                                   "high_col": "h", "low_col": "l", "close_col": "last",
                                                   "volume_col": "size"})
    ts, data, _ = next(iter(feed))
    assert ts == datetime(2020, 1, 1)
    assert data["ES"] == {"price": 101.0, "open": 100.0, "high": 102.0, "low": 99.0, "close": 101.0,
                          "volume": 10.0, "signals": {}}
    assert (feed.feed_spec.timestamp_col, feed.feed_spec.entity_col, feed.feed_spec.close_col) == \
        ("time", "ticker", "last")


def test_contract_object_price_col_is_the_close_too_and_arguments_win():
    class Contract:
        timestamp_col = "time"
        ticker_col = "ticker"
        price_col = "o"

    _, data, _ = next(iter(DataFeed(prices_df=ticks(), contract=Contract())))
    assert data["ES"]["close"] == 100.0
    _, data, _ = next(iter(DataFeed(prices_df=ticks(), contract=Contract(), price_col="last", close_col="last")))
    assert data["ES"]["close"] == 101.0
    # A price column apart from the close column is the reference price beside it.
    _, data, _ = next(iter(DataFeed(prices_df=ticks(), contract=Contract(), price_col="last")))
    assert (data["ES"]["price"], data["ES"]["close"]) == (101.0, 100.0)


def test_feed_column_errors_name_the_column():
    prices = pl.DataFrame({"timestamp": [datetime(2020, 1, 1)], "asset": ["A"], "close": [1.0]})
    with pytest.raises(ValueError, match="price_col='vwap' not found in price columns"):
        DataFeed(prices_df=prices, price_col="vwap")
    with pytest.raises(ValueError, match="price_col='close' and close_col='close' not found"):
        DataFeed(prices_df=prices.drop("close").with_columns(volume=pl.lit(1.0)))
    with pytest.raises(ValueError, match="either feed_spec or contract"):
        DataFeed(prices_df=prices, feed_spec={}, contract={})
    signals = pl.DataFrame({"timestamp": [datetime(2020, 1, 1)], "score": [1.0]})
    with pytest.raises(ValueError, match="entity_col='asset' not found in signal columns"):
        DataFeed(prices_df=prices, signals_df=signals)


def test_run_backtest_takes_the_engines_models_and_a_feed_spec():
    # 50 at 101 (the "last" column is the close) with a 1% fee: 5,050 * 0.01 = 50.50.
    class Buy(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if timestamp == datetime(2020, 1, 1):
                broker.submit_order("ES", 50)

    result = run_backtest(ticks(), Buy(), config=BacktestConfig(initial_cash=10_000,
                                                              execution_mode=ExecutionMode.SAME_BAR),
                          feed_spec={"time_col": "time", "symbol_col": "ticker", "close_col": "last"},
                          commission_model=PercentageCommission(0.01))
    (fill,) = result.fills
    assert (fill.price, fill.commission) == (101.0, 50.5)


def test_engine_exposes_its_settings():
    engine = Engine(DataFeed(prices_df=flat_prices()), BuyOnFirstBar(),
                    BacktestConfig(execution_mode=ExecutionMode.NEXT_BAR))
    assert engine.execution_mode is ExecutionMode.NEXT_BAR
    with pytest.raises(AttributeError, match="no_such_setting"):
        engine.no_such_setting
