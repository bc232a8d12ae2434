"""Callbacks that call back into the engine (a Python position rule, commission
or slippage model): a position-context write is deferred and applied, anything
else is refused with a RuntimeError naming the call and the callback — never a
second mutable borrow of the engine.

AAA bars (open): 0: 100, 1: 102, 2: 104, 3: 103, 4: 100; BBB opens 1: 51, 2: 49.
"""

import pytest

from nautilus_like.risk import PositionAction, RuleChain, SignalExit
from tests.conftest import run, ts


def exits(result):
    f = result.to_fills_dataframe()
    return f.filter(f["exit_reason_detail"].is_not_null()).select(
        "timestamp", "quantity", "price", "exit_reason_detail").rows()


class WritesItsSignal:
    """A Python rule that holds but sets its position's exit signal to -1."""

    def evaluate(self, state):
        state.context["exit_signal"] = -1.0
        return PositionAction.hold()


def test_a_rule_writing_its_position_context_is_seen_by_the_next_rule_of_the_chain():
    # 10 AAA bought at bar 1's open 102. Bar 2's pass: the Python rule writes -1,
    # the SignalExit after it (threshold 0.5) sees -1 in the same pass (ml4t's
    # rules share the position's dict) and exits at bar 2's open 104.
    def enter(b):
        b.set_position_rules(RuleChain([WritesItsSignal(), SignalExit(threshold=0.5)]))
        b.submit_order("AAA", 10)

    result, _ = run({0: [enter]})
    assert exits(result) == [(ts(2), 10.0, 104.0, "signal_exit_-1.00")]


class ReadsTheCash:
    def __init__(self):
        self.broker = None

    def evaluate(self, state):
        self.broker.get_cash()
        return PositionAction.hold()


def test_a_rule_reading_the_broker_is_refused_with_a_clear_error():
    rule = ReadsTheCash()

    def enter(b):
        rule.broker = b
        b.set_position_rules(rule)
        b.submit_order("AAA", 10)

    with pytest.raises(RuntimeError, match=r"^engine is busy evaluating a callback: get_cash\(\) / "
                                           r"get_account_value\(\) cannot be called from inside a position rule$"):
        run({0: [enter]})


class KeepsItsReferences:
    """Pre-trade estimates ask a deep copy of a Python cost model; these
    models hold the broker (or a position), which a copy shares."""

    def __deepcopy__(self, memo):
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        return copy


class PeeksAtThePosition(KeepsItsReferences):
    def __init__(self):
        self.broker = None

    def calculate(self, asset, quantity, price):
        self.broker.get_position(asset)
        return 0.0


def test_a_commission_model_reading_a_position_is_refused():
    model = PeeksAtThePosition()

    def enter(b):
        model.broker = b
        b.submit_order("AAA", 10)

    with pytest.raises(RuntimeError, match=r"get_position\(\) / reading a Position cannot be called from "
                                           r"inside a commission model$"):
        run({0: [enter]}, commission_model=model)


class SubmitsAnOrder(KeepsItsReferences):
    def __init__(self):
        self.broker = None

    def calculate(self, asset, quantity, price, volume):
        self.broker.submit_order("BBB", 1)
        return 0.0


def test_a_slippage_model_submitting_an_order_is_refused():
    model = SubmitsAnOrder()

    def enter(b):
        model.broker = b
        b.submit_order("AAA", 10)

    with pytest.raises(RuntimeError, match=r"submit_order\(\) cannot be called from inside a slippage model$"):
        run({0: [enter]}, slippage_model=model)


class FlagsAPosition(KeepsItsReferences):
    """Commission 0; filling BBB sets the kept AAA position's exit signal to -1."""

    def __init__(self):
        self.position = None

    def calculate(self, asset, quantity, price):
        if asset == "BBB" and self.position is not None:
            self.position.context["exit_signal"] = -1.0
        return 0.0


def test_a_commission_model_writing_a_position_context_takes_effect_after_the_fill():
    # AAA 10 bought at bar 1's open 102 under SignalExit(0.5). At bar 1 the
    # strategy keeps that position and buys BBB, filled at bar 2's open 49: the
    # commission model then writes AAA's signal -1. Bar 2's rules ran before
    # that fill, so the exit comes at bar 3's open 103 (as in ml4t, where the
    # write lands in the same dict after bar 2's rule pass).
    model = FlagsAPosition()

    def enter(b):
        b.set_position_rules(SignalExit(threshold=0.5))
        b.submit_order("AAA", 10)

    def keep_and_buy(b):
        model.position = b.get_position("AAA")
        b.submit_order("BBB", 10)

    result, _ = run({0: [enter], 1: [keep_and_buy]}, commission_model=model)
    assert exits(result) == [(ts(3), 10.0, 103.0, "signal_exit_-1.00")]
    assert dict(model.position.context) == {"exit_signal": -1.0}
