"""Portfolio limits enforced by the engine (`Engine(..., portfolio_limits=[...])`),
with hand-computed expectations.

Prices are flat bars (open = high = low = close = the listed price), so every
market order fills at the next bar's listed price. 10,000 cash, whole shares.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like.risk import (
    DailyLossLimit,
    GrossExposureLimit,
    MaxDrawdownLimit,
    MaxPositionsLimit,
    NetExposureLimit,
)
from tests.conftest import FLAT_T0 as D0
from tests.conftest import Scripted, flat_prices



def day(i: int) -> datetime:
    return D0 + timedelta(days=i)


def run(closes, actions, limits, config=None, times=None):
    feed = nl.DataFeed(prices_df=flat_prices(closes, times))
    config = config or nl.BacktestConfig(initial_cash=10_000)
    return nl.Engine(feed, Scripted(actions), config, portfolio_limits=limits).run()


def outcomes(result):
    return [(o.status.value, o.rejection_reason) for o in result.broker.get_orders()]


def test_no_limits_by_default_and_an_empty_event_table():
    result = run({"XYZ": [100.0, 100.0, 50.0]}, {0: [lambda b: b.submit_order("XYZ", 100)]}, None)
    assert result.limit_events.height == 0
    assert result.limit_events.columns == ["timestamp", "limit", "action", "value", "threshold", "order_id"]
    assert result.metrics["final_value"] == 5_000.0


def test_drawdown_past_20_percent_liquidates_at_the_next_open_and_halts_entries():
    # 100 @ 100 at bar 1 (cash 0). Closes 100, 90, 79: equity 10,000, 9,000,
    # 7,900 -> drawdown 2,100 / 10,000 = 21% >= 20% at bar 3. Sold at bar 4's
    # open 75: cash 7,500. Buys after that are refused for the rest of the run.
    result = run({"XYZ": [100.0, 100.0, 90.0, 79.0, 75.0, 80.0, 80.0]}, {
        0: [lambda b: b.submit_order("XYZ", 100)],
        3: [lambda b: b.submit_order("XYZ", 10)],   # pending at the breach: cancelled
        4: [lambda b: b.submit_order("XYZ", 10)],   # fills at bar 5: refused
    }, [MaxDrawdownLimit(max_drawdown=0.20, action="liquidate")])
    assert result.limit_events.rows() == [
        (day(3), "MaxDrawdownLimit", "liquidate", 0.21, 0.20, None),
        (day(5), "MaxDrawdownLimit", "halt", 0.21, 0.20, "ORD-4"),
    ]
    last = result.to_fills_dataframe().row(-1, named=True)
    assert (last["timestamp"], last["side"], last["quantity"], last["price"], last["exit_reason"],
            last["exit_reason_detail"]) == (day(4), "sell", 100.0, 75.0, "risk_liquidation",
                                            "MaxDrawdownLimit: drawdown 21.0% >= 20.0%")
    orders = result.broker.get_orders()
    assert (orders[1].status.value, orders[1].cancellation_reason) == ("cancelled", "portfolio_limit")
    assert outcomes(result)[3] == (
        "rejected", "Portfolio limit MaxDrawdownLimit: entries halted for the rest of the run after drawdown "
                    "21.0% >= 20.0%")
    assert result.broker.get_position("XYZ") is None
    assert result.to_equity_dataframe()["equity"].to_list() == [
        10_000.0, 10_000.0, 9_000.0, 7_900.0, 7_500.0, 7_500.0, 7_500.0]
    trade = result.to_trades_dataframe().row(0, named=True)
    assert (trade["exit_reason"], trade["pnl"]) == ("risk_liquidation", 100 * (75.0 - 100.0))


def test_drawdown_warn_records_the_breach_and_changes_nothing():
    closes = {"XYZ": [100.0, 100.0, 90.0, 79.0, 70.0, 80.0]}
    actions = {0: [lambda b: b.submit_order("XYZ", 100)]}
    plain = run(closes, actions, None)
    warned = run(closes, actions, [MaxDrawdownLimit(0.20, action="warn")])
    # Breached at bar 3 (21%) and still at bar 4 (30%): one event, when it starts.
    assert warned.limit_events.rows() == [(day(3), "MaxDrawdownLimit", "warn", 0.21, 0.20, None)]
    assert warned.to_fills_dataframe().equals(plain.to_fills_dataframe())
    assert warned.to_equity_dataframe().equals(plain.to_equity_dataframe())
    assert warned.metrics["final_value"] == 8_000.0


def test_drawdown_reduce_sells_reduction_pct_of_every_position_once():
    # 50 AAA @ 100 + 100 BBB @ 50. Bar 2: 70 / 40 -> equity 7,500, drawdown 25%:
    # half of each sold at bar 3 (25 @ 70, 50 @ 40) -> cash 3,750. No second cut.
    result = run({"AAA": [100.0, 100.0, 70.0, 70.0, 70.0], "BBB": [50.0, 50.0, 40.0, 40.0, 40.0]},
                 {0: [lambda b: b.submit_order("AAA", 50), lambda b: b.submit_order("BBB", 100)]},
                 [MaxDrawdownLimit(0.20, action="reduce", reduction_pct=0.5)])
    assert result.limit_events.rows() == [(day(2), "MaxDrawdownLimit", "reduce", 0.25, 0.20, None)]
    exits = result.to_fills_dataframe().filter(pl.col("exit_reason") == "risk_liquidation")
    assert exits.select("timestamp", "asset", "quantity", "price").rows() == [
        (day(3), "AAA", 25.0, 70.0), (day(3), "BBB", 50.0, 40.0)]
    assert result.broker.get_cash() == 3_750.0


def test_reduce_keeps_protective_stops_shrunk_to_what_remains_and_cancels_entries():
    # 50 AAA @ 100 with a stop sell 50 @ 60 resting, and a buy limit of BBB @ 10
    # (never reached). Bar 2: AAA 70 -> equity 8,500, drawdown 15% > 10%: the
    # BBB entry is cancelled, half of AAA (25) sold at bar 3's open 70, and the
    # stop stays, now for the 25 left; bar 4 opens 50 through it: it sells 25
    # @ 50 (the open) and the position is flat, not short.
    result = run({"AAA": [100.0, 100.0, 70.0, 70.0, 50.0, 50.0], "BBB": [20.0] * 6},
                 {0: [lambda b: b.submit_order("AAA", 50)],
                  1: [lambda b: b.submit_order("AAA", -50, order_type=nl.OrderType.STOP, stop_price=60.0),
                      lambda b: b.submit_order("BBB", 10, order_type=nl.OrderType.LIMIT, limit_price=10.0)]},
                 [MaxDrawdownLimit(0.10, action="reduce", reduction_pct=0.5)])
    orders = [(o.asset, o.order_type.value, o.status.value, o.quantity) for o in result.broker.get_orders()]
    assert orders == [("AAA", "market", "filled", 50.0), ("AAA", "stop", "filled", 25.0),
                      ("BBB", "limit", "cancelled", 10.0), ("AAA", "market", "filled", 25.0)]
    fills = result.to_fills_dataframe().select("timestamp", "quantity", "price").rows()
    assert fills == [(day(1), 50.0, 100.0), (day(3), 25.0, 70.0), (day(4), 25.0, 50.0)]
    assert result.broker.get_position("AAA") is None
    assert result.broker.get_cash() == 10_000 - 5_000 + 1_750 + 1_250


def test_max_positions_blocks_the_fourth_entry_with_the_rejection_reason():
    # Four buys fill at bar 1 in submission order; the 4th would be position 4 of 3.
    result = run({"A": [10.0] * 3, "B": [20.0] * 3, "C": [30.0] * 3, "D": [40.0] * 3},
                 {0: [lambda b, a=a: b.submit_order(a, 10) for a in "ABCD"],
                  1: [lambda b: b.submit_order("A", 10)]},   # adding to A is not a new position
                 [MaxPositionsLimit(3, action="halt")])
    assert outcomes(result) == [("filled", None)] * 3 + [
        ("rejected", "Portfolio limit MaxPositionsLimit: positions 4 > max 3"), ("filled", None)]
    assert result.limit_events.rows() == [(day(1), "MaxPositionsLimit", "halt", 4.0, 3.0, "ORD-4")]
    assert result.broker.get_position("A").quantity == 20
    assert result.broker.get_position("D") is None


def test_max_positions_warn_records_a_close_with_too_many():
    result = run({"A": [10.0] * 3, "B": [20.0] * 3}, {0: [lambda b, a=a: b.submit_order(a, 10) for a in "AB"]},
                 [MaxPositionsLimit(max_positions=1, action="warn")])
    assert result.limit_events.rows() == [(day(1), "MaxPositionsLimit", "warn", 2.0, 1.0, None)]
    assert [s for s, _ in outcomes(result)] == ["filled", "filled"]


def test_gross_exposure_reduce_scales_back_to_the_limit_at_the_next_open():
    # Bar 1: 60 @ 100 = 6,000 of 10,000 = 60% > 50%: sell (6,000 - 5,000) / 6,000
    # of 60 = 10 at bar 2's 100. Bar 3 at 125: 50 * 125 = 6,250 of 11,250 = 55.6%:
    # sell (6,250 - 5,625) / 6,250 = 10% = 5 at bar 4's 125. Cash 4,000 + 1,000 + 625.
    result = run({"XYZ": [100.0, 100.0, 100.0, 125.0, 125.0]}, {0: [lambda b: b.submit_order("XYZ", 60)]},
                 [GrossExposureLimit(max_gross_exposure=0.5, action="reduce")])
    assert result.limit_events.rows() == [
        (day(1), "GrossExposureLimit", "reduce", 0.6, 0.5, None),
        (day(3), "GrossExposureLimit", "reduce", 6_250.0 / 11_250.0, 0.5, None),
    ]
    exits = result.to_fills_dataframe().filter(pl.col("exit_reason") == "risk_liquidation")
    assert exits.select("timestamp", "quantity", "price", "exit_reason_detail").rows() == [
        (day(2), 10.0, 100.0, "risk reduction: GrossExposureLimit: gross exposure 60.0% > max 50.0%"),
        (day(4), 5.0, 125.0, "risk reduction: GrossExposureLimit: gross exposure 55.6% > max 50.0%"),
    ]
    assert result.broker.get_position("XYZ").quantity == 45
    assert result.broker.get_cash() == 5_625.0
    assert result.metrics["final_value"] == 5_625.0 + 45 * 125.0


def test_gross_exposure_halt_refuses_the_entry_that_would_breach():
    # 40 @ 100 = 40%; 20 more = 60% > 50%: refused; 10 more = exactly 50%: filled.
    result = run({"XYZ": [100.0] * 4}, {0: [lambda b: b.submit_order("XYZ", 40)],
                                         1: [lambda b: b.submit_order("XYZ", 20), lambda b: b.submit_order("XYZ", 10)]},
                 [GrossExposureLimit(0.5)])
    assert outcomes(result) == [
        ("filled", None), ("rejected", "Portfolio limit GrossExposureLimit: gross exposure 60.0% > max 50.0%"),
        ("filled", None)]
    assert result.broker.get_position("XYZ").quantity == 50


def test_net_exposure_halt_refuses_a_short_past_the_min_but_allows_a_hedged_one():
    # Short 60 @ 100 = -60% < -50%: refused. Long 30 first, then short 60: -30%.
    config = nl.BacktestConfig(initial_cash=10_000, allow_short_selling=True)
    result = run({"AAA": [100.0] * 4, "BBB": [100.0] * 4}, {
        0: [lambda b: b.submit_order("AAA", -60)],
        1: [lambda b: b.submit_order("BBB", 30), lambda b: b.submit_order("AAA", -60)],
    }, [NetExposureLimit(max_net_exposure=0.5, min_net_exposure=-0.5, action="halt")], config=config)
    assert outcomes(result) == [
        ("rejected", "Portfolio limit NetExposureLimit: net exposure -60.0% < min -50.0%"),
        ("filled", None), ("filled", None)]


def test_daily_loss_halts_entries_for_the_day_and_resets_the_next_day():
    # Two bars a day (10:00 and 15:00). 90 @ 100 (cash 1,000). Day 2 starts from
    # day 1's last close (equity 10,000); day 2 10:00 closes at 94: equity 9,460,
    # loss 540 / 9,460 = 5.7% > 5%. A buy filling at day 2 15:00 is refused; one
    # filling at day 3 10:00 fills.
    times = [D0 + timedelta(days=d, hours=h) for d in range(3) for h in (10, 15)]
    result = run({"XYZ": [100.0, 100.0, 94.0, 94.0, 94.0, 94.0]}, {
        0: [lambda b: b.submit_order("XYZ", 90)],
        2: [lambda b: b.submit_order("XYZ", 1)],
        3: [lambda b: b.submit_order("XYZ", 1)],
    }, [DailyLossLimit(max_daily_loss_pct=0.05, action="halt")], times=times)
    assert outcomes(result) == [
        ("filled", None),
        ("rejected", "Portfolio limit DailyLossLimit: entries halted for the day after daily loss 5.7% > max 5.0%"),
        ("filled", None)]
    assert result.limit_events.rows() == [
        (times[2], "DailyLossLimit", "halt", 540 / 9_460, 0.05, None),
        (times[3], "DailyLossLimit", "halt", 540 / 9_460, 0.05, "ORD-2"),
    ]
    assert result.broker.get_position("XYZ").quantity == 91


def test_daily_loss_liquidate_sells_everything_at_the_next_open():
    result = run({"XYZ": [100.0, 100.0, 94.0, 90.0, 90.0]}, {0: [lambda b: b.submit_order("XYZ", 100)]},
                 [DailyLossLimit(0.05)])   # ml4t's default action: liquidate
    # Daily bars: bar 2's loss is from bar 1's close: 600 / 9,400 > 5% -> sold at 90.
    fills = result.to_fills_dataframe().select("timestamp", "price", "exit_reason").rows()
    assert fills == [(day(1), 100.0, ""), (day(3), 90.0, "risk_liquidation")]
    assert result.metrics["final_value"] == 9_000.0


def test_daily_loss_needs_dates():
    prices = flat_prices({"XYZ": [1.0, 1.0]}).with_columns(pl.int_range(0, 2).alias("timestamp"))
    with pytest.raises(ValueError, match="DailyLossLimit resets every trading day"):
        nl.Engine(nl.DataFeed(prices_df=prices), Scripted(), portfolio_limits=[DailyLossLimit()])


@pytest.mark.parametrize("make, message", [
    (lambda: MaxDrawdownLimit(max_drawdown=1.5), r"MaxDrawdownLimit: max_drawdown must be in \(0, 1\], got 1.5"),
    (lambda: MaxDrawdownLimit(action="block"), r"action must be one of .* got 'block' \(use 'halt'"),
    (lambda: MaxDrawdownLimit(action="reduce"), r"reduction_pct must be in \(0, 1\], got 0.0"),
    (lambda: MaxDrawdownLimit(reduction_pct=0.5), r"reduction_pct requires action='reduce', got 0.5"),
    (lambda: MaxDrawdownLimit(0.2, warn_threshold=0.3), r"warn_threshold must be in \(0, max_drawdown=0.2\), got 0.3"),
    (lambda: DailyLossLimit(max_daily_loss_pct=float("nan")), r"max_daily_loss_pct must be a finite number, got nan"),
    (lambda: DailyLossLimit(action="reduce"), r"DailyLossLimit: action must be one of"),
    (lambda: MaxPositionsLimit(3.5), r"max_positions must be an integer >= 0, got 3.5"),
    (lambda: MaxPositionsLimit(3, action="liquidate"), r"MaxPositionsLimit: action must be one of 'none', 'warn', 'halt'"),
    (lambda: GrossExposureLimit(max_gross_exposure=0), r"max_gross_exposure must be > 0, got 0"),
    (lambda: NetExposureLimit(0.1, 0.2), r"min_net_exposure \(0.2\) must be <= max_net_exposure \(0.1\)"),
])
def test_invalid_parameters_raise_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_engine_checks_what_it_is_given():
    feed = nl.DataFeed(prices_df=flat_prices({"XYZ": [1.0, 1.0]}))
    with pytest.raises(TypeError, match="portfolio_limits must be a list of limits, got MaxDrawdownLimit"):
        nl.Engine(feed, Scripted(), portfolio_limits=MaxDrawdownLimit())
    with pytest.raises(TypeError, match="portfolio_limits takes nautilus_like.risk limits"):
        nl.Engine(feed, Scripted(), portfolio_limits=[nl.StopLoss(0.05)])
    limit = MaxDrawdownLimit()
    limit.max_drawdown = -1   # assigned after construction: checked again
    with pytest.raises(ValueError, match="max_drawdown must be in"):
        nl.Engine(feed, Scripted(), portfolio_limits=[limit])


def test_action_none_is_ignored_as_in_ml4t():
    result = run({"XYZ": [100.0, 100.0, 50.0, 50.0]}, {0: [lambda b: b.submit_order("XYZ", 100)]},
                 [MaxDrawdownLimit(0.2, action="none")])
    assert result.limit_events.height == 0
    assert result.broker.get_position("XYZ").quantity == 100
