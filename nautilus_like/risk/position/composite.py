"""Rules combined: chains (the first exit wins) and all-of (ml4t-backtest's
`risk.position.composite`); `rule_leaves` flattens a rule for the engine."""

from __future__ import annotations

from typing import Any

from nautilus_like.risk.position._checks import _ALL_OF, _CALLBACK, _CHAIN
from nautilus_like.risk.position._evaluate import EngineRule

__all__ = ["AllOf", "AnyOf", "CompositeRule", "RuleChain", "rule_leaves"]


class RuleChain(EngineRule):
    """Rules in priority order: the first that does not hold decides."""

    _GROUP = _CHAIN

    def __init__(self, rules: list[Any]):
        rules = list(rules)
        for r in rules:
            if not (hasattr(r, "_leaves") or callable(getattr(r, "evaluate", None))):
                raise TypeError(f"{type(self).__name__} takes position rules (objects with evaluate(state)), "
                                f"got {r!r}")
        self.rules = rules

    def _leaves(self) -> list[dict[str, Any]]:
        # A group spec, then its rules (prefix order; groups nest).
        return [{"kind": self._GROUP, "max_bars": len(self.rules)}] + [
            leaf for r in self.rules for leaf in _specs_of(r)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.rules!r})"


class AllOf(RuleChain):
    """Exit only when every rule wants to exit; the exit fills at the pass's
    price (not a rule's level) and its detail joins the rules' with " AND "
    (ml4t-backtest's `AllOf`)."""

    _GROUP = _ALL_OF

    def evaluate(self, state: Any) -> Any:
        # Nothing to agree on is an error, not a silent exit or hold (ml4t
        # raises IndexError here too).
        if not self.rules:
            raise IndexError("AllOf([]) has no rules: give it at least one rule")
        return super().evaluate(state)


class AnyOf(RuleChain):
    """The first rule that does not hold wins (ml4t's alias of `RuleChain`)."""


class CompositeRule(RuleChain):
    """Older ml4t name for a list of rules evaluated as a chain."""


def _specs_of(rule: Any) -> list[dict[str, Any]]:
    leaves = getattr(rule, "_leaves", None)
    if leaves is not None:
        return leaves()
    if callable(getattr(rule, "evaluate", None)):
        # A rule written in Python: the engine calls it back for the
        # positions it governs, with a `PositionState`.
        return [{"kind": _CALLBACK, "model": rule}]
    raise TypeError(f"position rules must be nautilus_like.risk rules or objects with evaluate(state), "
                    f"got {type(rule).__name__}")


def rule_leaves(rule: Any) -> list[dict[str, Any]]:
    """The specs (prefix order) the engine evaluates for `rule` (a rule or a list of rules)."""
    if isinstance(rule, (list, tuple)):
        rule = RuleChain(list(rule))
    return _specs_of(rule)
