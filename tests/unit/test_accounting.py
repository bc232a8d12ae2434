"""nautilus_like.accounting: account policies, account state and the
gatekeeper on hand-computed cases, and agreement with the engine's own checks."""

import copy
from datetime import datetime, timedelta

import pytest

from nautilus_like import Broker, NoCommission, Order, OrderSide, OrderStatus, PercentageCommission, Position
from nautilus_like.accounting import AccountPolicy, AccountState, Gatekeeper, UnifiedAccountPolicy
from nautilus_like.config import BacktestConfig, ShortCashPolicy

T0 = datetime(2024, 1, 2)


def pos(asset, quantity, entry, mark=None, multiplier=1.0):
    return Position(asset=asset, quantity=quantity, entry_price=entry, current_price=mark, entry_time=T0,
                    multiplier=multiplier)


def margin(**kw):
    return UnifiedAccountPolicy(allow_short_selling=True, allow_leverage=True, **kw)


def test_policy_is_an_account_policy_and_reads_a_config():
    policy = UnifiedAccountPolicy.from_config(
        BacktestConfig(allow_short_selling=True, allow_leverage=True, initial_margin=0.4,
                       short_cash_policy=ShortCashPolicy.CREDIT))
    assert isinstance(policy, AccountPolicy)
    assert (policy.allows_short_selling(), policy.allow_leverage, policy.initial_margin) == (True, True, 0.4)
    # 10,000 at 40% initial margin buys 25,000.
    assert policy.calculate_buying_power(10_000.0, {}) == 25_000.0


def test_cash_account_buying_power_is_cash_and_it_never_shorts():
    policy = UnifiedAccountPolicy()
    assert policy.calculate_buying_power(5_000.0, {"AAPL": pos("AAPL", 100.0, 150.0, 160.0)}) == 5_000.0
    assert policy.calculate_buying_power(-5_000.0, {}) == 0.0
    # 100 @ 150 = 15,000.
    assert policy.validate_new_position("AAPL", 100.0, 150.0, {}, 15_000.0) == (True, "")
    assert policy.validate_new_position("AAPL", 100.0, 150.0, {}, 10_000.0) == (
        False, "Insufficient cash: need $15000.00, have $10000.00")
    assert policy.validate_new_position("AAPL", -1.0, 150.0, {}, 1e9) == (
        False, "Short selling not allowed in cash account")
    assert policy.validate_position_change("AAPL", 100.0, -200.0, 150.0, {}, 1e9) == (
        False, "Position reversal not allowed in cash account (current: 100.00, delta: -200.00)")
    assert policy.validate_position_change("AAPL", -100.0, 50.0, 150.0, {}, 1e9) == (
        False, "Short positions not allowed in cash account")
    assert policy.handle_reversal("AAPL", 100.0, -200.0, 150.0, {}, 1e9, 0.0) == (
        False, "Position reversal not allowed in cash account")


def test_short_cash_policies_reserve_short_collateral():
    # Short 100 @ 100 (entry notional 10,000) marked at 120, cash 110,000.
    shorts = {"AAPL": pos("AAPL", -100.0, 100.0, 120.0)}
    spendable = {p: UnifiedAccountPolicy(allow_short_selling=True, short_cash_policy=p).get_spendable_cash(
        110_000.0, shorts) for p in ("credit", "credit_proceeds", "lock_notional")}
    assert spendable == {"credit": 110_000.0, "credit_proceeds": 100_000.0, "lock_notional": 90_000.0}
    # Under credit_proceeds a short needs no cash; under credit it does.
    proceeds = UnifiedAccountPolicy(allow_short_selling=True, short_cash_policy="credit_proceeds")
    assert proceeds.validate_new_position("X", -1_000.0, 100.0, {}, 0.0) == (True, "")
    credit = UnifiedAccountPolicy(allow_short_selling=True)
    assert credit.validate_new_position("X", -1_000.0, 100.0, {}, 0.0) == (
        False, "Insufficient cash for short: need $100000.00, have $0.00")
    with pytest.raises(ValueError, match="short_cash_policy must be"):
        UnifiedAccountPolicy(short_cash_policy="lock")


def test_crypto_reversal_closes_first():
    # Long 10 @ 100 sold 30: the close brings 1,000 (cash 2,000), less 5
    # commission; the new short of 20 needs 2,000.
    policy = UnifiedAccountPolicy(allow_short_selling=True)
    held = {"BTC": pos("BTC", 10.0, 100.0)}
    assert policy.handle_reversal("BTC", 10.0, -30.0, 100.0, held, 1_000.0, 0.0) == (True, "")
    assert policy.handle_reversal("BTC", 10.0, -30.0, 100.0, held, 1_000.0, 5.0) == (
        False, "Insufficient cash for reversal: need $2000.00, have $1995.00 after closing")
    # A locked short's collateral comes from its position, which must be there.
    locked = UnifiedAccountPolicy(allow_short_selling=True, short_cash_policy="lock_notional")
    short = {"BTC": pos("BTC", -10.0, 100.0)}
    # Free cash 7,000 + 2,000 released - 1,000 cover = 8,000: a long of 80 fits, 80.0001 does not.
    assert locked.handle_reversal("BTC", -10.0, 90.0, 100.0, short, 7_000.0, 0.0) == (True, "")
    assert locked.handle_reversal("BTC", -10.0, 90.0001, 100.0, short, 7_000.0, 0.0)[0] is False
    with pytest.raises(KeyError):
        locked.handle_reversal("BTC", -10.0, 90.0, 100.0, {}, 7_000.0, 0.0)


def test_margin_buying_power_requirements_and_margin_calls():
    policy = margin()
    # Long 100 @ 50 marked 60 (6,000), short 50 @ 100 (-5,000), cash 10,000:
    # NLV 11,000 less initial margin 3,000 + 2,500, over 0.5.
    held = {"A": pos("A", 100.0, 50.0, 60.0), "B": pos("B", -50.0, 100.0)}
    assert policy.calculate_buying_power(10_000.0, held) == 11_000.0
    # Maintenance 1,500 + 1,500 against NLV cash + 1,000.
    assert policy.is_margin_call(2_000.0, held) is False
    assert policy.is_margin_call(1_999.0, held) is True
    assert policy.is_margin_call(-1e9, {}) is False
    assert UnifiedAccountPolicy().is_margin_call(-1e9, held) is False
    assert policy.get_margin_requirement("A", -100, 100.0, for_initial=False) == 3_000.0
    # A reversal in validate_position_change pays for the new side from buying
    # power without closing first: short 100 @ 100 = 10,000 of 2 x 4,000.
    assert policy.validate_position_change("A", 100.0, -200.0, 100.0, {}, 4_000.0) == (
        False, "Insufficient buying power: need $10000.00, have $8000.00 (IM=50.0%)")


def test_futures_schedules_and_projected_margin():
    policy = margin(fixed_margin_schedule={"ES": (12_000.0, 6_000.0)}, margin_pct_schedule={"NQ": (0.05, 0.04)})
    assert policy.get_margin_requirement("ES", -2, 5_000.0) == 24_000.0
    # 2 NQ x 20,000 x 20 = 800,000 notional: 40,000 initial.
    assert policy.get_margin_requirement("NQ", 2, 20_000.0, multiplier=20.0) == 40_000.0
    # Two ES need 24,000 initial margin: 24,000 cash is enough, 23,000 not.
    assert policy.validate_new_position("ES", 2.0, 5_000.0, {}, 24_000.0, multiplier=50.0) == (True, "")
    assert policy.validate_new_position("ES", 2.0, 5_000.0, {}, 23_000.0, multiplier=50.0) == (
        False, "Insufficient margin: need $24000.00, equity $23000.00")
    with pytest.raises(ValueError, match="cannot both define"):
        margin(fixed_margin_schedule={"ES": (1.0, 0.5)}, margin_pct_schedule={"ES": (0.1, 0.05)})
    with pytest.raises(ValueError, match="maintenance < initial"):
        margin(margin_pct_schedule={"ES": (0.05, 0.06)})


@pytest.mark.parametrize("kwargs, message", [
    ({"initial_margin": 0.0}, "Initial margin must be in (0.0, 1.0], got 0.0"),
    ({"long_maintenance_margin": 1.5}, "Long maintenance margin must be in (0.0, 1.0], got 1.5"),
    ({"initial_margin": 0.25, "long_maintenance_margin": 0.5},
     "Long maintenance margin (0.5) must be <= initial margin (0.25)"),
    ({"initial_margin": 0.25, "long_maintenance_margin": 0.25},
     "Short maintenance margin (0.3) must be <= initial margin (0.25)"),
])
def test_margin_rates_are_checked_in_a_margin_account(kwargs, message):
    with pytest.raises(ValueError) as raised:
        margin(**kwargs)
    assert str(raised.value) == message
    # A cash account does not use them.
    assert UnifiedAccountPolicy(**kwargs).initial_margin == kwargs.get("initial_margin", 0.5)


def test_account_state_equity_marks_and_settlement():
    account = AccountState(initial_cash=5_000.0, policy=UnifiedAccountPolicy())
    account.positions["AAPL"] = pos("AAPL", 100.0, 150.0)
    assert account.total_equity == 20_000.0
    account.mark_to_market({"AAPL": 160.0, "MSFT": 1.0})
    assert (account.positions["AAPL"].current_price, account.total_equity) == (160.0, 21_000.0)
    assert (account.get_position_quantity("AAPL"), account.get_position_quantity("MSFT")) == (100.0, 0.0)
    assert account.buying_power == 5_000.0
    # 3,000 from bar 1 for 1 bar, 7,000 from bar 2 for 2: released on bars 2 and 4.
    account.add_settlement_hold(bar_index=1, delay=1, amount=3_000.0)
    account.add_settlement_hold(bar_index=2, delay=2, amount=7_000.0)
    account.add_settlement_hold(bar_index=2, delay=0, amount=1.0)
    account.add_settlement_hold(bar_index=2, delay=2, amount=-1.0)
    assert account.unsettled_cash == 10_000.0
    account.release_settled(current_bar=2)
    assert account.unsettled_cash == 7_000.0
    account.release_settled(current_bar=3)
    assert account.unsettled_cash == 7_000.0
    account.release_settled(current_bar=4)
    assert account.unsettled_cash == 0.0
    with pytest.raises(ValueError, match="bar_index"):
        account.add_settlement_hold(bar_index=-1, delay=1, amount=1.0)
    assert repr(account) == "AccountState(cash=$5,000.00, equity=$21,000.00, positions=1, policy=UnifiedAccountPolicy)"


def test_gatekeeper_passes_exits_and_charges_entries_their_commission():
    account = AccountState(initial_cash=15_100.0, policy=UnifiedAccountPolicy())
    gate = Gatekeeper(account, PercentageCommission(rate=0.01))
    buy = Order(asset="AAPL", side=OrderSide.BUY, quantity=100)
    # 15,000 + 150 commission > 15,100.
    assert gate.validate_order(buy, price=150.0) == (False, "Insufficient cash: need $15000.00, have $14950.00")
    assert gate.validate_order_with_code(buy, 150.0) == (
        False, "Insufficient cash: need $15000.00, have $14950.00", "insufficient_cash")
    account.cash = 15_200.0
    assert gate.validate_order_with_code(buy, 150.0) == (True, "", None)
    # Selling what is held needs no cash; selling more would short.
    account.cash = 0.0
    account.positions["AAPL"] = pos("AAPL", 100.0, 150.0)
    assert gate.validate_order(Order(asset="AAPL", side=OrderSide.SELL, quantity=100), 150.0) == (True, "")
    assert gate.validate_order_with_code(Order(asset="AAPL", side=OrderSide.SELL, quantity=150), 150.0) == (
        False, "Position reversal not allowed in cash account", "account_restriction")
    assert gate.classify_rejection(-50.0) == "account_restriction"


def test_gatekeeper_holds_back_unsettled_proceeds_and_the_buffer():
    account = AccountState(initial_cash=10_000.0, policy=UnifiedAccountPolicy())
    account.add_settlement_hold(bar_index=0, delay=2, amount=4_000.0)
    buy = Order(asset="AAPL", side=OrderSide.BUY, quantity=60)
    # 60 @ 100 = 6,000 of the 6,000 settled: yes; with a 10% buffer (5,400) no.
    assert Gatekeeper(account, NoCommission()).validate_order(buy, 100.0) == (True, "")
    assert Gatekeeper(account, NoCommission(), cash_buffer_pct=0.1).validate_order(buy, 100.0) == (
        False, "Insufficient cash: need $6000.00, have $5400.00")
    # LEAN's convention: unsettled proceeds still count.
    big = Order(asset="AAPL", side=OrderSide.BUY, quantity=100)
    assert Gatekeeper(account, NoCommission(), settlement_reduces_buying_power=False).validate_order(big, 100.0) == (
        True, "")
    # A margin account's code.
    margin_gate = Gatekeeper(AccountState(1_000.0, margin()), NoCommission())
    assert margin_gate.validate_order_with_code(big, 100.0)[2] == "insufficient_buying_power"


def test_gatekeeper_says_what_the_engine_says():
    # The standalone broker refuses a buy of 100 @ 150 with 10,000 cash; the
    # gatekeeper over the same account gives the same text.
    broker = Broker(initial_cash=10_000.0)
    broker._update_time(timestamp=T0, prices={"AAPL": 150.0}, opens={"AAPL": 150.0}, highs={"AAPL": 150.0},
                        lows={"AAPL": 150.0}, volumes={"AAPL": 1e6}, signals={})
    order = broker.submit_order("AAPL", 100, OrderSide.BUY)
    broker._process_orders()
    assert order.status is OrderStatus.REJECTED
    gate = Gatekeeper(AccountState(10_000.0, UnifiedAccountPolicy()), NoCommission())
    valid, reason = gate.validate_order(Order(asset="AAPL", side=OrderSide.BUY, quantity=100), 150.0)
    assert (valid, reason) == (False, order.rejection_reason)


def test_position_prices_are_settable_on_a_detached_position_only():
    p = pos("AAPL", -100.0, 50.0)
    p.current_price = 30.0
    assert (p.unrealized_pnl(), p.market_value) == (2_000.0, -3_000.0)
    assert repr(p) == "Position(SHORT 100.00 AAPL @ $50.00, current $30.00, PnL $+2000.00)"
    p.entry_price = 40.0
    assert p.unrealized_pnl() == 1_000.0
    p.current_price = None  # at its entry, as construction does
    assert p.current_price == 40.0
    with pytest.raises(TypeError, match="current_price must be a number"):
        p.current_price = "30"
    # A cost basis kept by hand: 100 @ 150 plus 100 @ 160 is 200 @ 155.
    q = pos("TSLA", 100.0, 150.0)
    q.entry_price, q.quantity, q.bars_held = 155.0, 200.0, 5
    q.current_price = 160.0
    assert (q.unrealized_pnl(), q.market_value, q.bars_held) == (1_000.0, 32_000.0, 5)
    with pytest.raises(ValueError, match="bars_held"):
        q.bars_held = -1
    broker = Broker(initial_cash=100_000.0)
    for day, price in enumerate((100.0, 110.0)):
        broker._update_time(timestamp=T0 + timedelta(days=day), prices={"A": price}, opens={"A": price},
                            highs={"A": price}, lows={"A": price}, volumes={"A": 1e6}, signals={})
        if day == 0:
            broker.submit_order("A", 10, OrderSide.BUY)
        broker._process_orders()
    live = broker.get_position("A")
    assert repr(live) == "Position(LONG 10.00 A @ $100.00, current $110.00, PnL $+100.00)"
    with pytest.raises(AttributeError, match="follows the engine"):
        live.current_price = 1.0
    detached = copy.copy(live)
    detached.current_price = 120.0
    assert (detached.unrealized_pnl(), live.current_price) == (200.0, 110.0)
