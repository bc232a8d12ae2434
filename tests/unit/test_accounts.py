"""Account kinds with hand-computed expectations: cash, short-enabled with
short proceeds held as collateral or locked (LOCK_NOTIONAL), margin (buying power, maintenance, the
engine's margin calls), T+N settlement and borrow fees.

Prices are flat bars (open = high = low = close) unless stated, so every
market order fills at the next bar's open = the listed price.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

import nautilus_like as nl
from tests.conftest import FLAT_T0 as D0
from tests.conftest import Scripted, flat_prices



def run(closes, config, actions, observe=None, days=None):
    strategy = Scripted(actions, observe)
    times = None if days is None else [D0 + timedelta(days=d) for d in days]
    feed = nl.DataFeed(prices_df=flat_prices(closes, times))
    return nl.Engine(feed, strategy, config).run(), strategy


def margin(**kw) -> nl.BacktestConfig:
    return nl.BacktestConfig(initial_cash=10_000, allow_leverage=True, allow_short_selling=True, **kw)


def order_outcomes(result):
    return [(o.status.value, o.rejection_reason) for o in result.broker.get_orders()]


def test_cash_account_refuses_a_short_sale():
    result, _ = run({"XYZ": [50.0] * 3}, nl.BacktestConfig(), {0: [lambda b: b.submit_order("XYZ", -10)]})
    assert order_outcomes(result) == [("rejected", "Short selling not allowed in cash account")]
    assert result.metrics["final_value"] == 100_000.0


def test_margin_buying_power_is_twice_the_excess_equity_at_reg_t():
    # 10,000 cash at IM 50% buys 20,000. After 150 @ 100: cash -5,000, equity
    # 10,000, initial margin 7,500 -> buying power (10,000 - 7,500) / 0.5 = 5,000.
    bp = []
    result, _ = run({"XYZ": [100.0] * 4}, margin(), {
        0: [lambda b: b.submit_order("XYZ", 150)],
        1: [lambda b: b.submit_order("XYZ", 60)],   # 6,000 > 5,000: refused
        2: [lambda b: b.submit_order("XYZ", 50)],   # 5,000: exactly the buying power
    }, observe=lambda bar, t, d, c, b: (bp.append(b.get_buying_power()), b.get_cash()))
    assert bp == [20_000.0, 5_000.0, 5_000.0, 0.0]
    assert order_outcomes(result) == [
        ("filled", None),
        ("rejected", "Insufficient buying power: need $6000.00, have $5000.00 (IM=50.0%)"),
        ("filled", None),
    ]
    assert result.broker.get_cash() == -10_000.0
    assert result.metrics["final_value"] == 10_000.0


def test_margin_short_needs_buying_power_too():
    # Short 300 @ 100 = 30,000 notional > 20,000 buying power.
    result, _ = run({"XYZ": [100.0] * 3}, margin(), {0: [lambda b: b.submit_order("XYZ", -300)]})
    assert order_outcomes(result) == [
        ("rejected", "Insufficient buying power: need $30000.00, have $20000.00 (IM=50.0%)")]


def test_maintenance_breach_without_enforcement_changes_nothing():
    # As ml4t-backtest: equity 1,000 < maintenance 1,500 at bar 3, and the position stays.
    result, _ = run({"XYZ": [100.0, 100.0, 60.0, 40.0, 38.0]}, margin(),
                    {0: [lambda b: b.submit_order("XYZ", 150)]})
    assert result.broker.get_position("XYZ").quantity == 150
    assert result.margin_calls.height == 0


def test_margin_call_liquidates_at_the_next_open():
    # 150 @ 100 on 10,000 cash: cash -5,000. Bar 2 close 60: equity 4,000 >=
    # maintenance 0.25 * 9,000 = 2,250. Bar 3 close 40: equity 1,000 < 1,500 ->
    # margin call; sold at bar 4's open 38: cash -5,000 + 5,700 = 700.
    result, _ = run({"XYZ": [100.0, 100.0, 60.0, 40.0, 38.0, 39.0]}, margin(enforce_margin_calls=True), {
        0: [lambda b: b.submit_order("XYZ", 150)],
        3: [lambda b: b.submit_order("XYZ", 10)],  # pending at the call: cancelled
    })
    calls = result.margin_calls.rows()
    assert calls == [(D0 + timedelta(days=3), 1_000.0, 1_500.0, 1)]
    fills = result.to_fills_dataframe().select("timestamp", "side", "quantity", "price", "exit_reason").rows()
    assert fills[-1] == (D0 + timedelta(days=4), "sell", 150.0, 38.0, "margin_call")
    assert result.broker.get_position("XYZ") is None
    assert result.broker.get_cash() == 700.0
    assert result.metrics["final_value"] == 700.0
    pending = result.broker.get_orders()[1]
    assert (pending.status.value, pending.cancellation_reason) == ("cancelled", "margin_call")
    trade = result.to_trades_dataframe().row(0, named=True)
    assert (trade["exit_reason"], trade["pnl"]) == ("margin_call", 150 * (38.0 - 100.0))


def test_margin_call_liquidates_the_largest_loss_first_and_only_what_is_needed():
    # AAA and BBB 100 each @ 100: cash -10,000. Close AAA 30, BBB 95: equity
    # -10,000 + 3,000 + 9,500 = 2,500 < 0.25 * 12,500 = 3,125. Selling AAA (loss
    # 7,000) leaves BBB's 2,375 <= 2,500: BBB stays.
    config = nl.BacktestConfig(initial_cash=10_000, allow_leverage=True, initial_margin=0.5,
                               long_maintenance_margin=0.25, enforce_margin_calls=True)
    result, _ = run({"AAA": [100.0, 100.0, 30.0, 31.0], "BBB": [100.0, 100.0, 95.0, 96.0]}, config,
                    {0: [lambda b: b.submit_order("AAA", 100), lambda b: b.submit_order("BBB", 100)]})
    assert result.margin_calls.rows() == [(D0 + timedelta(days=2), 2_500.0, 3_125.0, 1)]
    exits = result.to_fills_dataframe().filter(pl.col("exit_reason") == "margin_call")
    assert exits.select("asset", "quantity", "price").rows() == [("AAA", 100.0, 31.0)]
    assert result.broker.get_position("BBB").quantity == 100


def test_settlement_delay_withholds_sale_proceeds():
    # Buy 50 @ 100 (cash 5,000), sell them at bar 2 (5,000 held until bar 4).
    # A 8,000 buy filling at bar 3 sees 5,000; the same buy at bar 4 sees 10,000.
    actions = {0: [lambda b: b.submit_order("XYZ", 50)], 1: [lambda b: b.close_position("XYZ")],
               2: [lambda b: b.submit_order("XYZ", 80)], 3: [lambda b: b.submit_order("XYZ", 80)]}
    result, _ = run({"XYZ": [100.0] * 6}, nl.BacktestConfig(initial_cash=10_000, settlement_delay=2), actions)
    assert order_outcomes(result)[2:] == [
        ("rejected", "Insufficient cash: need $8000.00, have $5000.00"), ("filled", None)]
    lenient = nl.BacktestConfig(initial_cash=10_000, settlement_delay=2, settlement_reduces_buying_power=False)
    result, _ = run({"XYZ": [100.0] * 6}, lenient, actions)
    assert [s for s, _ in order_outcomes(result)[2:]] == ["filled", "rejected"]


@pytest.mark.parametrize("policy, spendable, long_status", [("credit", 15_000.0, "filled"),
                                                            ("credit_proceeds", 10_000.0, "rejected")])
def test_short_proceeds_as_collateral(policy, spendable, long_status):
    # Short 100 XYZ @ 50: cash 15,000. Held as collateral, 5,000 of it is not
    # spendable, so a 12,000 long in ABC is refused.
    config = nl.BacktestConfig(initial_cash=10_000, allow_short_selling=True, short_cash_policy=policy)
    bp = []
    result, _ = run({"ABC": [100.0] * 4, "XYZ": [50.0] * 4}, config, {
        0: [lambda b: b.submit_order("XYZ", -100)],
        1: [lambda b: bp.append(b.get_buying_power()), lambda b: b.submit_order("ABC", 120)],
    })
    assert bp == [spendable]
    assert order_outcomes(result)[1][0] == long_status


def test_credit_proceeds_shorts_need_no_cash():
    # 300 @ 50 = 15,000 short on 10,000 cash: refused under CREDIT, accepted when
    # proceeds are collateral.
    for policy, status in [("credit", "rejected"), ("credit_proceeds", "filled")]:
        config = nl.BacktestConfig(initial_cash=10_000, allow_short_selling=True, short_cash_policy=policy)
        result, _ = run({"XYZ": [50.0] * 3}, config, {0: [lambda b: b.submit_order("XYZ", -300)]})
        assert order_outcomes(result)[0][0] == status, policy


def locked(**kw) -> nl.BacktestConfig:
    return nl.BacktestConfig(allow_short_selling=True, short_cash_policy="lock_notional", **kw)


@pytest.mark.parametrize("policy, outcome", [
    ("credit", ("filled", None)),
    ("lock_notional", ("rejected", "Insufficient cash for long: need $8050.00, have $8000.00"))])
def test_locked_short_takes_twice_its_notional_from_free_cash(policy, outcome):
    # Short 20 XYZ @ 100 on 10,000: cash 12,000, but 2 x 2,000 is locked, so
    # free cash (and buying power) is 8,000. 161 ABC @ 50 = 8,050 is refused;
    # 160 = 8,000 exactly fits, which leaves 12,000 - 8,000 - 4,000 = 0.
    config = nl.BacktestConfig(initial_cash=10_000, allow_short_selling=True, short_cash_policy=policy)
    bp = []
    result, _ = run({"ABC": [50.0] * 4, "XYZ": [100.0] * 4}, config, {
        0: [lambda b: b.submit_order("XYZ", -20)],
        1: [lambda b: b.submit_order("ABC", 161)],
        2: [lambda b: b.submit_order("ABC", 160)],
    }, observe=lambda bar, t, d, c, b: bp.append(b.get_buying_power()))
    assert order_outcomes(result)[1] == outcome
    if policy == "lock_notional":
        assert order_outcomes(result)[2] == ("filled", None)
        assert bp == [10_000.0, 8_000.0, 8_000.0, 0.0]
        assert result.broker.get_cash() == 4_000.0


@pytest.mark.parametrize("policy, outcome", [
    ("credit", ("filled", None)),
    ("lock_notional", ("rejected", "Insufficient cash for long: need $8000.01, have $8000.00"))])
def test_locked_cash_allows_no_rounding_tolerance(policy, outcome):
    # 80.0001 ABC @ 100 = 8,000.01 on 8,000 cash: CREDIT's 0.01 tolerance lets
    # it through (cash ends a cent below zero), locked collateral does not.
    config = nl.BacktestConfig(initial_cash=8_000, share_type="fractional", allow_short_selling=True,
                               short_cash_policy=policy)
    result, _ = run({"ABC": [100.0] * 2}, config, {0: [lambda b: b.submit_order("ABC", 80.0001)]})
    assert order_outcomes(result) == [outcome]


@pytest.mark.parametrize("partial, share_type, outcome, cash, position", [
    (False, "fractional", ("rejected", "Insufficient cash to cover short"), 1_500.0, -5.0),
    (True, "fractional", ("filled", None), 750.0, -3.75),
    (True, "integer", ("filled", None), 900.0, -4.0),
])
def test_cover_after_the_price_more_than_doubled_is_cut_to_free_cash(partial, share_type, outcome, cash, position):
    # Short 5 @ 100 on 1,000: cash 1,500, free 500, basis 500. At 600 each
    # covered share releases 2 x 100 and costs 600: 400 net, so free cash
    # covers 500 / 400 = 1.25 shares (1 in whole shares); without partial
    # fills the cover is refused. Equity is cash - 600 x shares still short.
    config = locked(initial_cash=1_000, share_type=share_type, partial_fills_allowed=partial)
    result, _ = run({"XYZ": [100.0, 100.0, 600.0, 600.0]}, config, {
        0: [lambda b: b.submit_order("XYZ", -5)], 2: [lambda b: b.submit_order("XYZ", 5)]})
    assert order_outcomes(result)[1] == outcome
    assert (result.broker.get_cash(), result.broker.get_position("XYZ").quantity) == (cash, position)
    assert result.metrics["final_value"] == cash + 600.0 * position


@pytest.mark.parametrize("partial, outcome, cash, position", [
    (False, ("rejected", "Insufficient cash for reversal"), 4_000.0, 60.0),
    (True, ("filled", None), 20_000.0, -100.0),
])
def test_locked_reversal_is_sized_by_free_cash(partial, outcome, cash, position):
    # Long 60 @ 100 on 10,000 (free 4,000). Selling 170 closes 60 (free
    # 10,000) and opens 110 short, which would lock 11,000: too much. With
    # partial fills it sells 160 instead: short 100 locks the 10,000.
    result, _ = run({"XYZ": [100.0] * 4}, locked(initial_cash=10_000, partial_fills_allowed=partial), {
        0: [lambda b: b.submit_order("XYZ", 60)], 1: [lambda b: b.submit_order("XYZ", -170)]})
    assert order_outcomes(result)[1] == outcome
    assert (result.broker.get_cash(), result.broker.get_position("XYZ").quantity) == (cash, position)
    assert result.broker.get_buying_power() == (0.0 if partial else 4_000.0)
    assert result.metrics["final_value"] == 10_000.0


def test_borrow_fees_accrue_per_calendar_night_held_short():
    # Short 100 @ 50 filled at bar 1 (day 1); bars on days 0, 1, 2, 5, 6. At 3.65%
    # a year, 5,000 of short value pays 0.5 a night: nights 1->2, 2->5 (3), 5->6
    # = 5 nights = 2.50. Nothing after the last bar.
    config = nl.BacktestConfig(initial_cash=10_000, allow_short_selling=True, borrow_rate=0.0365)
    result, _ = run({"XYZ": [50.0] * 5}, config, {0: [lambda b: b.submit_order("XYZ", -100)]},
                    days=[0, 1, 2, 5, 6])
    assert result.borrow_fees == {"XYZ": pytest.approx(2.5, abs=1e-9)}
    assert result.broker.get_cash() == pytest.approx(15_000 - 2.5, abs=1e-9)
    assert result.metrics["final_value"] == pytest.approx(10_000 - 2.5, abs=1e-9)
    # Off by default: ml4t-backtest has no borrow fees.
    result, _ = run({"XYZ": [50.0] * 5}, nl.BacktestConfig(initial_cash=10_000, allow_short_selling=True),
                    {0: [lambda b: b.submit_order("XYZ", -100)]}, days=[0, 1, 2, 5, 6])
    assert result.borrow_fees == {} and result.metrics["final_value"] == 10_000


def test_immediate_fill_fills_inside_submit_and_the_next_order_sees_it():
    # SAME_BAR at the close, immediate: buying 60 @ 100 leaves 4,000, so a second
    # buy of 60 in the same on_data is rejected at once (not cancelled, although
    # reject_on_insufficient_cash=False), and a sale fills at once too.
    config = nl.BacktestConfig(initial_cash=10_000, execution_mode="same_bar", execution_price="close",
                               immediate_fill=True, reject_on_insufficient_cash=False)
    seen = []

    def act(b):
        first = b.submit_order("XYZ", 60)
        seen.append((first.status.value, b.get_cash()))
        second = b.submit_order("XYZ", 60)
        seen.append((second.status.value, second.rejection_reason))
        third = b.submit_order("XYZ", -20)
        seen.append((third.status.value, b.get_cash()))

    run({"XYZ": [100.0] * 2}, config, {0: [act]})
    assert seen == [("filled", 4_000.0), ("rejected", "Insufficient cash: need $6000.00, have $4000.00"),
                    ("filled", 6_000.0)]


def test_margin_call_liquidation_is_never_refused_by_a_submission_precheck():
    # Short 300 @ 50 on 10,000 (cash 25,000). Close 70: equity 25,000 - 21,000 =
    # 4,000 < maintenance 0.30 * 21,000 = 6,300. The cover at bar 3's open 90 costs
    # 27,000, more than the cash Backtrader's pseudo-execution would allow: the
    # engine's own liquidation fills anyway (cash 25,000 - 27,000 = -2,000).
    config = margin(enforce_margin_calls=True, next_bar_submission_precheck=True, next_bar_simple_cash_check=True)
    result, _ = run({"XYZ": [50.0, 50.0, 70.0, 90.0, 92.0]}, config, {0: [lambda b: b.submit_order("XYZ", -300)]})
    assert result.margin_calls.rows() == [(D0 + timedelta(days=2), 4_000.0, 6_300.0, 1)]
    fills = result.to_fills_dataframe().select("side", "quantity", "price", "exit_reason").rows()
    assert fills == [("sell", 300.0, 50.0, ""), ("buy", 300.0, 90.0, "margin_call")]
    assert result.broker.get_cash() == -2_000.0


def test_immediate_fill_without_a_price_from_the_source_is_rejected():
    # VWAP execution, bar 1 has no VWAP: an immediate market order there is
    # rejected at once ("No price available") instead of waiting (ml4t's rule).
    prices = flat_prices({"XYZ": [100.0] * 3}).with_columns(
        pl.Series("vwap", [100.0, None, 100.0]))
    config = nl.BacktestConfig(initial_cash=10_000, execution_mode="same_bar", execution_price="vwap",
                               immediate_fill=True)
    seen = []
    strategy = Scripted({1: [lambda b: seen.append(b.submit_order("XYZ", 10))],
                         2: [lambda b: seen.append(b.submit_order("XYZ", 10))]})
    nl.Engine(nl.DataFeed(prices_df=prices, vwap_col="vwap"), strategy, config).run()
    assert [(o.status.value, o.rejection_reason) for o in seen] == [
        ("rejected", "No price available"), ("filled", None)]
