"""What a position rule is (ml4t-backtest's `risk.position.protocol`): any
object with `evaluate(state) -> PositionAction`. Rules written in Python are
called back by the engine for the positions they govern."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from nautilus_like.risk.types import PositionAction, PositionState

__all__ = ["PositionRule"]


@runtime_checkable
class PositionRule(Protocol):
    """A position rule.

    >>> class ExitAbove(PositionRule):
    ...     def evaluate(self, state):
    ...         return PositionAction.exit_full("above") if state.current_price > 120 else PositionAction.hold()
    """

    def evaluate(self, state: PositionState) -> PositionAction:
        ...
