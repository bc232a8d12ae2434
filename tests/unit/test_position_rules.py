"""Position rules through the Python API (AAA long of 10 filled at bar 1's open 102).

AAA bars: 2: 104/106/103/105, 3: 103/104/100/101, 4: 100/101/97/98.
"""

import pytest

import nautilus_like as nl
from nautilus_like.risk import RuleChain, StopLoss, TakeProfit, TimeExit
from tests.conftest import run, ts


def exits(result):
    f = result.to_fills_dataframe()
    return f.filter(f["exit_reason"] != "").select("timestamp", "price", "exit_reason", "exit_reason_detail").rows()


def test_stop_loss_exits_at_its_level_and_blocks_re_entry():
    seen = {}

    def enter(b):
        b.set_position_rules(StopLoss(0.02))
        b.submit_order("AAA", 10)

    result, _ = run({0: [enter], 4: [lambda b: seen.update(again=b.submit_order("AAA", 5))]})
    assert exits(result) == [(ts(4), pytest.approx(99.96), "stop_loss", "stop_loss_2.0%")]
    assert seen["again"] is None
    trade = result.to_trades_dataframe().row(0, named=True)
    assert (trade["exit_reason"], trade["exit_reason_detail"]) == ("stop_loss", "stop_loss_2.0%")


def test_chain_per_asset_override_and_time_exit():
    def enter(b):
        b.set_position_rules(RuleChain([TakeProfit(0.10), TimeExit(2)]))
        b.set_position_rules(None, asset="BBB")
        b.submit_order("AAA", 10)
        b.submit_order("BBB", 10)

    result, _ = run({0: [enter]})
    # AAA: held 2 bars at bar 3, exits at that bar's open; BBB has no rules.
    assert exits(result) == [(ts(3), 103.0, "time_stop", "time_exit_2bars")]


@pytest.mark.parametrize("mode, price", [("close_price", 98.0), ("bar_extreme", 97.0)])
def test_stop_fill_modes(mode, price):
    def enter(b):
        b.set_position_rules(StopLoss(0.02))
        b.submit_order("AAA", 10)

    result, _ = run({0: [enter]}, nl.BacktestConfig(stop_fill_mode=mode))
    assert exits(result)[0][1] == price


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="pct"):
        StopLoss(-0.1)
    with pytest.raises(ValueError, match="max_bars"):
        TimeExit(1.5)

    def enter(b):
        with pytest.raises(TypeError, match="evaluate"):
            b.set_position_rules(object())
        with pytest.raises(ValueError, match="ZZZ"):
            b.set_position_rules(StopLoss(0.1), asset="ZZZ")

    run({0: [enter]})


def test_flatten_all_positions_and_reduce_position():
    seen = {}

    def act(b):
        seen["reduced"] = b.reduce_position("AAA", 0.5)
        seen["flat"] = b.reduce_position("BBB", 0.5)     # no BBB position: None
        b.submit_order("BBB", 1, order_type=nl.OrderType.LIMIT, limit_price=10.0)   # pending, will be cancelled

    def flatten(b):
        seen["exits"] = b.flatten_all_positions("drawdown guard")
        seen["pending"] = b.get_pending_orders()

    result, _ = run({0: [lambda b: b.submit_order("AAA", 10)], 1: [act], 2: [flatten]})
    assert (seen["reduced"].side, seen["reduced"].quantity, seen["flat"]) == (nl.OrderSide.SELL, 5.0, None)
    assert [o.asset for o in seen["exits"]] == ["AAA"] and seen["pending"] == seen["exits"]
    f = result.to_fills_dataframe()
    assert f.select("timestamp", "quantity", "exit_reason", "exit_reason_detail").rows()[-1] == (
        ts(3), 5.0, "risk_liquidation", "drawdown guard")
    with pytest.raises(ValueError, match="fraction"):
        run({1: [lambda b: b.reduce_position("AAA", 1.5)]})


def test_rules_written_in_python_are_called_back():
    from nautilus_like.risk import PositionAction

    calls = []

    class HalfAtTwoPercent:
        def evaluate(self, state):
            calls.append((state.asset, state.bars_held, state.quantity))
            if state.unrealized_return > 0.02:
                return PositionAction.exit_partial(0.5, "take_profit_half")
            return PositionAction.hold()

    def enter(b):
        b.set_position_rules(HalfAtTwoPercent(), asset="AAA")
        b.submit_order("AAA", 10)
        b.submit_order("BBB", 10)      # no rule for BBB: never called back for it

    result, _ = run({0: [enter]})
    assert {c[0] for c in calls} == {"AAA"}
    # Bar 2: close 105 is +2.9% on 102: half (5) exits at bar 2's open (the pass price).
    f = result.to_fills_dataframe().filter(exit_reason_detail="take_profit_half")
    assert f.select("timestamp", "quantity", "price", "exit_reason").rows()[0] == (ts(2), 5.0, 104.0, "take_profit")


def test_a_python_rule_s_exception_propagates():
    class Broken:
        def evaluate(self, state):
            raise RuntimeError("rule bug")

    def enter(b):
        b.set_position_rules(Broken())
        b.submit_order("AAA", 10)

    with pytest.raises(RuntimeError, match="rule bug"):
        run({0: [enter]})


@pytest.mark.parametrize("pct", [1.5, -0.5, float("nan")])
def test_a_python_rule_s_partial_exit_outside_0_1_is_refused(pct):
    # ml4t would sell 1.5x the position (a reversal labelled as a rule exit).
    from nautilus_like.risk import PositionAction

    class TooMuch:
        def evaluate(self, state):
            return PositionAction(PositionAction.exit_partial(0.5).action, pct=pct)

    def enter(b):
        b.set_position_rules(TooMuch())
        b.submit_order("AAA", 10)

    with pytest.raises(ValueError, match="exit_partial pct must be in \\(0, 1\\], got"):
        run({0: [enter]})
