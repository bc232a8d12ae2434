"""Position-level rules (ml4t-backtest's `risk.position`)."""

from nautilus_like.risk.position.composite import AllOf, AnyOf, CompositeRule, RuleChain, rule_leaves
from nautilus_like.risk.position.dynamic import (
    ScaledExit,
    TighteningTrailingStop,
    TrailingStop,
    VolatilityStop,
    VolatilityTrailingStop,
)
from nautilus_like.risk.position.protocol import PositionRule
from nautilus_like.risk.position.signal import SignalExit
from nautilus_like.risk.position.static import StopLoss, TakeProfit, TimeExit

__all__ = ["AllOf", "AnyOf", "CompositeRule", "PositionRule", "RuleChain", "ScaledExit", "SignalExit", "StopLoss", "TakeProfit",
           "TighteningTrailingStop", "TimeExit", "TrailingStop", "VolatilityStop", "VolatilityTrailingStop",
           "rule_leaves"]
