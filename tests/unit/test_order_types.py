"""Limit, stop, stop-limit, trailing-stop and MOC orders through the Python API.

AAA bars (open/high/low/close): 0: 100/102/99/101, 1: 102/104/101/103,
2: 104/106/103/105, 3: 103/104/100/101, 4: 100/101/97/98.
"""

import pytest

import nautilus_like as nl
from nautilus_like.config import LimitGapFill
from tests.conftest import run, ts

OT = nl.OrderType


def fill_of(result, order_id):
    f = result.to_fills_dataframe().filter(order_id=order_id)
    return (f["timestamp"][0], f["price"][0], f["order_type"][0]) if f.height else None


@pytest.mark.parametrize("at, kwargs, long_first, expected", [
    (0, dict(order_type=OT.LIMIT, limit_price=101.5), False, (ts(1), 101.5, "limit")),
    (3, dict(order_type=OT.LIMIT, limit_price=100.5), False, (ts(4), 100.5, "limit")),   # gap: still the limit
    (1, dict(order_type=OT.STOP, stop_price=100.5), True, (ts(3), 100.5, "stop")),
    (3, dict(order_type=OT.STOP, stop_price=100.5), True, (ts(4), 100.0, "stop")),       # gap: the open
    (0, dict(order_type=OT.STOP_LIMIT, stop_price=103.5, limit_price=102.5), False, (ts(3), 102.5, "stop_limit")),
    (1, dict(order_type=OT.TRAILING_STOP, trail_amount=3.5), True, (ts(3), 102.5, "trailing_stop")),
    (1, dict(order_type=OT.MOC), False, (ts(1), 103.0, "moc")),
])
def test_order_types_fill_by_ml4t_rules(at, kwargs, long_first, expected):
    sign = -1 if long_first else 1
    seen = {}
    actions = {at: [lambda b: seen.update(order=b.submit_order("AAA", sign * 10, **kwargs))]}
    if long_first:
        actions.setdefault(0, []).insert(0, lambda b: b.submit_order("AAA", 10))
    result, _ = run(actions, nl.BacktestConfig(allow_short_selling=True))
    assert fill_of(result, seen["order"].order_id) == expected
    assert seen["order"].status is nl.OrderStatus.FILLED


SAME_BAR_CLOSE = nl.BacktestConfig(execution_mode="same_bar", execution_price="close", allow_short_selling=True)


@pytest.mark.parametrize("asset, at, qty, kwargs, long_first, expected", [
    ("AAA", 0, -10, dict(order_type=OT.LIMIT, limit_price=101.5), True, (ts(0), 101.5)),    # high reaches it
    ("AAA", 2, -10, dict(order_type=OT.LIMIT, limit_price=103.5), True, (ts(2), 103.5)),    # open above: limit
    ("AAA", 0, 10, dict(order_type=OT.LIMIT, limit_price=102.5), False, (ts(0), 102.5)),    # open below: limit
    ("AAA", 2, -10, dict(order_type=OT.STOP, stop_price=103.5), True, (ts(2), 103.5)),
    ("BBB", 1, -10, dict(order_type=OT.STOP, stop_price=49.5), True, (ts(2), 49.0)),        # gap: the open
    ("AAA", 2, 10, dict(order_type=OT.STOP, stop_price=105.5), False, (ts(2), 105.5)),
    ("BBB", 3, 10, dict(order_type=OT.STOP, stop_price=49.8), False, (ts(4), 50.0)),        # gap: the open
    ("AAA", 3, -10, dict(order_type=OT.STOP_LIMIT, stop_price=100.5, limit_price=100.2), True, (ts(3), 100.2)),
    ("AAA", 2, -10, dict(order_type=OT.TRAILING_STOP, trail_amount=2.0), True, (ts(2), 104.0)),
    ("AAA", 1, -10, dict(order_type=OT.MOC), True, (ts(1), 103.0)),
])
def test_same_bar_order_types_fill_by_ml4t_rules(asset, at, qty, kwargs, long_first, expected):
    seen = {}
    actions = {at: [lambda b: seen.update(order=b.submit_order(asset, qty, **kwargs))]}
    if long_first:
        actions.setdefault(0, []).insert(0, lambda b: b.submit_order(asset, 10))
    result, _ = run(actions, SAME_BAR_CLOSE)
    f = result.to_fills_dataframe().filter(order_id=seen["order"].order_id)
    assert (f["timestamp"][0], f["price"][0]) == expected


def test_limit_gap_fill_open_gives_the_price_improvement():
    cfg = nl.BacktestConfig(limit_gap_fill=LimitGapFill.OPEN)
    seen = {}
    result, _ = run({3: [lambda b: seen.update(o=b.submit_order("AAA", 10, order_type=OT.LIMIT, limit_price=100.5))]},
                    cfg)
    assert fill_of(result, seen["o"].order_id) == (ts(4), 100.0, "limit")  # opened at 100 < 100.5


def test_resting_order_fields_and_trailing_stop_ratchet():
    seen = {}

    def submit(b):
        seen["o"] = b.submit_order("AAA", -10, order_type=OT.TRAILING_STOP, trail_amount=3.5)

    def look(b):
        seen["stop_after_bar2"] = seen["o"].stop_price

    result, _ = run({0: [lambda b: b.submit_order("AAA", 10)], 1: [submit], 2: [look]})
    assert seen["o"].trail_amount == 3.5
    assert seen["stop_after_bar2"] == 102.5       # 106 (bar-2 high) - 3.5
    fills = result.to_fills_dataframe().filter(order_id=seen["o"].order_id)
    assert fills["stop_price"].to_list() == [102.5]
    assert fills["limit_price"].to_list() == [None]


def test_stop_triggered_at_is_reported():
    seen = {}
    result, _ = run({0: [lambda b: seen.update(o=b.submit_order("AAA", 10, order_type=OT.STOP, stop_price=103.5))]})
    assert seen["o"].stop_triggered and seen["o"].stop_triggered_at == ts(1)
    assert result.to_fills_dataframe()["stop_triggered_at"].to_list() == [ts(1)]
