"""`rule.evaluate(state)`: a built-in rule judged on its own, outside a
backtest (ml4t-backtest's `PositionRule` protocol, which its users and tests
call directly). The decision is the engine's (`PositionRule::evaluate` in
crates/engine/src/rules, through `nautilus_like._rust.PositionRuleEvaluator`);
this module only reads the state's settings and builds the `PositionAction`.

As in ml4t, the state's `context` carries the settings a backtest would
supply: `stop_fill_mode`, `trail_stop_timing`, `stop_level_basis` with
`signal_price`, and the strategy's values (`atr`, `exit_signal`, ...).

>>> state = PositionState("AAPL", "long", 100.0, 94.0, 10, 10, -60.0, -0.06, 2, 100.0, 94.0)
>>> StopLoss(0.05).evaluate(state)   # EXIT_FULL at 94.0 (the close: no bar range given), "stop_loss_5.0%"
"""

from __future__ import annotations

import weakref
from typing import Any

from nautilus_like._rust import PositionRuleEvaluator, codes
from nautilus_like.config import TrailStopTiming
from nautilus_like.risk.types import ActionType, PositionAction, PositionState
from nautilus_like.types import StopFillMode, StopLevelBasis

_CODES = codes()


def _setting(context: dict[str, Any], key: str, enum: type, default: Any) -> Any:
    value = context.get(key, default)
    try:
        return enum(value)
    except ValueError:
        raise ValueError(f"state.context[{key!r}] must be a {enum.__name__}, got {value!r}") from None


def evaluate(rule: Any, state: PositionState) -> PositionAction:
    """`rule`'s decision for the position `state` (see the module docstring)."""
    from nautilus_like.risk.position.composite import rule_leaves

    leaves = rule_leaves(rule)
    cached = rule.__dict__.get("_evaluator")
    if cached is None or cached[0] != leaves:
        # Built again when the rule's fields changed; stateful rules remember
        # in the evaluator of the rule object evaluate() is called on.
        evaluator = PositionRuleEvaluator(leaves)
        rule.__dict__["_evaluator"] = (leaves, evaluator)
        for leaf in leaves:
            memory = leaf.get("memory")
            if memory is not None:
                memory.__dict__.setdefault("_evaluators", []).append(weakref.ref(evaluator))
    evaluator = rule.__dict__["_evaluator"][1]
    context = state.context
    fill_mode = _setting(context, "stop_fill_mode", StopFillMode, StopFillMode.STOP_PRICE)
    timing = _setting(context, "trail_stop_timing", TrailStopTiming, TrailStopTiming.LAGGED)
    basis = _setting(context, "stop_level_basis", StopLevelBasis, StopLevelBasis.FILL_PRICE)
    base_price = state.entry_price
    if basis is StopLevelBasis.SIGNAL_PRICE and context.get("signal_price") is not None:
        base_price = context["signal_price"]
    decision = evaluator.evaluate(state, _CODES[f"STOP_FILL_MODE_{fill_mode.name}"],
                                  _CODES[f"TRAIL_STOP_TIMING_{timing.name}"], float(base_price))
    if decision is None:
        return PositionAction.hold()
    fraction, fill_price, defer, reason = decision
    if fraction is None:
        return PositionAction.exit_full(reason, fill_price=fill_price, defer_fill=defer)
    return PositionAction(ActionType.EXIT_PARTIAL, pct=fraction, fill_price=fill_price, reason=reason,
                          defer_fill=defer)


def reset_evaluators(rule: Any) -> None:
    """Forgets what `rule` (a stateful rule) remembered in the evaluators of
    the rule objects it was evaluated through."""
    for ref in rule.__dict__.get("_evaluators", []):
        evaluator = ref()
        if evaluator is not None:
            evaluator.reset(id(rule))


class EngineRule:
    """Base of the built-in rules: `evaluate(state)` asks the engine."""

    def evaluate(self, state: PositionState) -> PositionAction:
        """This rule's decision for the position `state` (ml4t's protocol)."""
        return evaluate(self, state)
