"""Backtrader's and LEAN's NEXT_BAR cash models (ml4t-backtest's
`next_bar_submission_precheck`, `next_bar_simple_cash_check` and
`next_bar_queue_shadow_validation`; the `backtrader_strict` and `lean`
presets), with hand-computed expectations.

Bars are flat (open = high = low = close) unless a test lists opens, so a
market order fills at the next bar's open = the listed price.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

import nautilus_like as nl
from tests.conftest import Scripted

D0 = datetime(2024, 3, 1)


def bars(closes: list[float], opens: list[float] | None = None) -> pl.DataFrame:
    opens = opens or closes
    rows = [{"timestamp": D0 + timedelta(days=i), "asset": "XYZ", "open": o, "high": max(o, c), "low": min(o, c),
             "close": c, "volume": 1e6} for i, (o, c) in enumerate(zip(opens, closes))]
    return pl.DataFrame(rows)


def run(prices, config, actions):
    strategy = Scripted(actions)
    return nl.Engine(nl.DataFeed(prices_df=prices), strategy, config).run()


def outcomes(result):
    return [(o.status.value, o.quantity, o.rejection_reason) for o in result.broker.get_orders()]


def fills(result):
    return [(f.order_id, f.quantity, f.price) for f in result.broker.get_fills()]


def submit_all(*quantities, seen):
    """An action submitting market orders and recording each status as returned."""
    def act(b):
        for q in quantities:
            seen.append(b.submit_order("XYZ", q).status.value)
    return act


def test_submission_precheck_replays_backtraders_pseudo_execution():
    # 10,000 cash, XYZ at 100. Bar 0: buy 60 leaves 4,000 in the shadow; buy 50
    # takes it to -1,000 and is refused at once; the refused order still moved
    # the shadow, so buy 5 (-1,500) is refused too. Bar 1: a new day, a new
    # shadow from the real cash (4,000 after the 60 filled): buy 35 -> 500 left.
    config = nl.BacktestConfig(initial_cash=10_000, next_bar_submission_precheck=True)
    seen = []
    result = run(bars([100.0] * 3), config, {0: [submit_all(60, 50, 5, seen=seen)],
                                             1: [submit_all(35, seen=seen)]})
    assert seen == ["pending", "rejected", "rejected", "pending"]
    refused = "Insufficient cash (submission precheck)"
    assert outcomes(result) == [("filled", 60.0, None), ("rejected", 50.0, refused), ("rejected", 5.0, refused),
                                ("filled", 35.0, None)]
    assert fills(result) == [("ORD-1", 60.0, 100.0), ("ORD-4", 35.0, 100.0)]
    assert result.metrics["num_rejected_orders"] == 2


def test_without_the_precheck_the_orders_wait_for_the_open():
    # The same orders without the precheck: all pending when submitted; at the
    # open 60 fill, 50 is refused by the account (4,000 left), 5 still fits.
    config = nl.BacktestConfig(initial_cash=10_000)
    seen = []
    result = run(bars([100.0] * 3), config, {0: [submit_all(60, 50, 5, seen=seen)]})
    assert seen == ["pending", "pending", "pending"]
    assert outcomes(result) == [("filled", 60.0, None),
                                ("rejected", 50.0, "Insufficient cash: need $5000.00, have $4000.00"),
                                ("filled", 5.0, None)]


def test_submission_precheck_floors_whole_shares_when_submitted():
    # Integer shares: 10.7 is checked (and queued) as 10; 0.4 rounds to zero.
    config = nl.BacktestConfig(initial_cash=10_000, next_bar_submission_precheck=True)
    seen = []

    def act(b):
        for q in (10.7, 0.4):
            o = b.submit_order("XYZ", q)
            seen.append((o.status.value, o.quantity))

    result = run(bars([100.0] * 2), config, {0: [act]})
    assert seen == [("pending", 10.0), ("rejected", 0.0)]
    assert outcomes(result)[1] == ("rejected", 0.0, "Quantity rounds to zero (share_type=INTEGER)")


def test_simple_cash_check_needs_only_cash_after_the_fill():
    # 10,000 cash, 10% cash buffer. The account check would allow 9,000 of
    # entries; Backtrader's open cash check ignores the buffer: buy 95 @ 100
    # leaves 500 >= 0 and fills, then buy 10 (1,000 > 500) is refused.
    config = nl.BacktestConfig(initial_cash=10_000, cash_buffer_pct=0.1, next_bar_simple_cash_check=True,
                               fill_ordering="fifo")
    result = run(bars([100.0] * 3), config, {0: [lambda b: b.submit_order("XYZ", 95)],
                                             1: [lambda b: b.submit_order("XYZ", 10)]})
    assert outcomes(result) == [("filled", 95.0, None),
                                ("rejected", 10.0, "Insufficient cash (open cash check)")]
    assert result.broker.get_cash() == 500.0


def test_simple_cash_check_still_closes_a_reversal_it_cannot_pay_for():
    # Short 50 @ 100 from 10,000: cash 15,000. Buying 300 @ 100 would leave
    # 15,000 - 30,000 < 0, so only the closing leg (50) fills: flat, 10,000 cash.
    config = nl.BacktestConfig(initial_cash=10_000, allow_short_selling=True, next_bar_simple_cash_check=True)
    result = run(bars([100.0] * 4), config, {0: [lambda b: b.submit_order("XYZ", -50)],
                                             1: [lambda b: b.submit_order("XYZ", 300)]})
    assert outcomes(result) == [("filled", 50.0, None), ("filled", 50.0, None)]
    assert fills(result) == [("ORD-1", 50.0, 100.0), ("ORD-2", 50.0, 100.0)]
    assert result.broker.get_position("XYZ") is None and result.broker.get_cash() == 10_000.0


@pytest.mark.parametrize("partial_fills_allowed", [False, True])
def test_simple_cash_check_cuts_a_locked_short_reversal_before_free_cash_sizes_it(partial_fills_allowed):
    # LOCK_NOTIONAL: short 50 @ 100 from 10,000 -> cash 15,000, 5,000 locked
    # (free cash 15,000 - 2 x 5,000 = 5,000). Buy 300 @ 100: the open cash check
    # sees 15,000 - 30,000 < 0 and cuts it to the closing 50 first; free cash
    # then pays that cover (it releases 10,000 and costs 5,000). Sized by free
    # cash first, the reversal would be cut to 150 (50 + 10,000 / 100) or,
    # without partial fills, rejected.
    config = nl.BacktestConfig(initial_cash=10_000, allow_short_selling=True, next_bar_simple_cash_check=True,
                               short_cash_policy="lock_notional", partial_fills_allowed=partial_fills_allowed)
    result = run(bars([100.0] * 4), config, {0: [lambda b: b.submit_order("XYZ", -50)],
                                             1: [lambda b: b.submit_order("XYZ", 300)]})
    assert outcomes(result) == [("filled", 50.0, None), ("filled", 50.0, None)]
    assert fills(result) == [("ORD-1", 50.0, 100.0), ("ORD-2", 50.0, 100.0)]
    assert result.broker.get_position("XYZ") is None and result.broker.get_cash() == 10_000.0


def test_queue_shadow_validates_at_the_close_and_books_at_the_open():
    # Bar 1 opens at 100 and closes at 120. The queue (60, 30, 10 shares) is
    # validated at 120 against a shadow booked at the open: 60 x 120 = 7,200 <=
    # 10,000 (shadow cash 10,000 - 6,000 = 4,000); 30 x 120 = 3,600 <= 4,000
    # (1,000 left); 10 x 120 = 1,200 > 1,000: refused, though at the open all
    # three (10,000) fit the cash.
    prices = bars([100.0, 120.0, 120.0], opens=[100.0, 100.0, 120.0])
    orders = {0: [lambda b: [b.submit_order("XYZ", q) for q in (60, 30, 10)]]}
    lean_queue = run(prices, nl.BacktestConfig(initial_cash=10_000, next_bar_queue_shadow_validation=True), orders)
    assert outcomes(lean_queue) == [("filled", 60.0, None), ("filled", 30.0, None),
                                    ("rejected", 10.0, "Insufficient cash: need $1200.00, have $1000.00")]
    assert lean_queue.broker.get_cash() == 1_000.0
    plain = run(prices, nl.BacktestConfig(initial_cash=10_000), orders)
    assert [o[0] for o in outcomes(plain)] == ["filled"] * 3 and plain.broker.get_cash() == 0.0


def test_lean_prechecks_each_order_alone_then_the_open_pass_reserves():
    # LEAN preset: margin account (IM 50%), $0.005/share with a $1 minimum.
    # 10,000 cash buys 20,000. Submission prechecks do not reserve: both buys of
    # 150 @ 100 pass (15,000 each), 250 does not: (10,000 - 1.25) / 0.5 =
    # 19,997.50 < 25,000. At the open the queue shadow books the first 150
    # (cash -5,001, 150 held at 100, margin 7,500), leaving (-5,001 - 1 + 15,000
    # - 7,500) / 0.5 = 4,996 of buying power for the second 150.
    config = nl.BacktestConfig.from_preset("lean", initial_cash=10_000)
    seen = []
    result = run(bars([100.0] * 3), config, {0: [submit_all(150, 150, 250, seen=seen)]})
    assert seen == ["pending", "pending", "rejected"]
    assert outcomes(result) == [
        ("filled", 150.0, None),
        ("rejected", 150.0, "Insufficient buying power: need $15000.00, have $4996.00 (IM=50.0%)"),
        ("rejected", 250.0, "Insufficient buying power: need $25000.00, have $19997.50 (IM=50.0%)"),
    ]
    assert result.broker.get_cash() == 10_000 - 15_000 - 1.0


def test_strict_presets_turn_the_cash_models_on():
    bt = nl.BacktestConfig.from_preset("backtrader_strict")
    assert (bt.next_bar_submission_precheck, bt.next_bar_simple_cash_check, bt.next_bar_queue_shadow_validation) \
        == (True, True, False)
    lean = nl.BacktestConfig.from_preset("lean")
    assert (lean.next_bar_submission_precheck, lean.next_bar_simple_cash_check,
            lean.next_bar_queue_shadow_validation, lean.allow_leverage) == (True, False, True, True)
