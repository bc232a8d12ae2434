"""Position rules: `broker.set_position_rules(rule, asset=None)`.

Declarations evaluated by the Rust engine at the start of every bar, on that
bar's OHLC, before orders are matched (ml4t-backtest's `ml4t.backtest.risk`
rules, same names and arguments):

>>> broker.set_position_rules(RuleChain([StopLoss(0.05), TakeProfit(0.10), TimeExit(20)]))
>>> broker.set_position_rules(StopLoss(0.02), asset="TSLA")   # per-asset override
>>> broker.set_position_rules(None, asset="TSLA")             # no rules for TSLA

A triggered stop-loss or take-profit closes the whole position with a market
order filled at the rule's level (`BacktestConfig.stop_fill_mode`: at the
level, the open when the bar opened through it, or the close when only the
close reached it; or the close, the bar's extreme, or the next bar's open),
measured from the entry price or the signal price (`stop_level_basis`);
`TrailingStop` trails the best close since entry.
`TimeExit` closes at the pass's execution price. Exits carry `exit_reason`
("stop_loss", "take_profit", "time_stop") and a detail ("stop_loss_5.0%").
After a rule exit the asset cannot be re-entered in the same bar (as in ml4t).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["AllOf", "AnyOf", "CompositeRule", "RuleChain", "StopLoss", "TakeProfit", "TimeExit", "TrailingStop"]

# Rule kinds of the C ABI (crates/ffi/src/rules.rs).
_STOP_LOSS, _TAKE_PROFIT, _TIME_EXIT, _TRAILING_STOP = 1, 2, 3, 4
_CHAIN, _ALL_OF = 10, 11


def _pct(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"pct must be a finite number >= 0, got {value!r}")
    return float(value)


class StopLoss:
    """Exit when the loss reaches `pct` (0.05 = 5%) of the base price."""

    def __init__(self, pct: float):
        self.pct = _pct(pct)

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _STOP_LOSS, "pct": self.pct}]

    def __repr__(self) -> str:
        return f"StopLoss(pct={self.pct})"


class TakeProfit:
    """Exit when the gain reaches `pct` of the base price."""

    def __init__(self, pct: float):
        self.pct = _pct(pct)

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _TAKE_PROFIT, "pct": self.pct}]

    def __repr__(self) -> str:
        return f"TakeProfit(pct={self.pct})"


class TimeExit:
    """Exit once the position has been held `max_bars` bars."""

    def __init__(self, max_bars: int):
        if isinstance(max_bars, bool) or not isinstance(max_bars, int) or max_bars < 0:
            raise ValueError(f"max_bars must be an integer >= 0, got {max_bars!r}")
        self.max_bars = max_bars

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _TIME_EXIT, "max_bars": self.max_bars}]

    def __repr__(self) -> str:
        return f"TimeExit(max_bars={self.max_bars})"


class TrailingStop:
    """Exit when the price falls `pct` below the highest close since entry (longs;
    shorts: rises above the lowest). `BacktestConfig.trail_stop_timing` decides
    whether this bar's extreme counts (LAGGED, the default, uses marks up to the
    previous bar; INTRABAR includes this bar's high/low; VBT_PRO is VectorBT
    Pro's two-pass rule)."""

    def __init__(self, pct: float):
        self.pct = _pct(pct)

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _TRAILING_STOP, "pct": self.pct}]

    def __repr__(self) -> str:
        return f"TrailingStop(pct={self.pct})"


class RuleChain:
    """Rules in priority order: the first that does not hold decides."""

    _GROUP = _CHAIN

    def __init__(self, rules: list[Any]):
        rules = list(rules)
        for r in rules:
            if not hasattr(r, "_leaves"):
                raise TypeError(f"{type(self).__name__} takes nautilus_like.risk rules, got {r!r} "
                                f"(rules written in Python are not supported yet)")
        self.rules = rules

    def _leaves(self) -> list[dict[str, Any]]:
        # A group spec, then its rules (prefix order; groups nest).
        return [{"kind": self._GROUP, "max_bars": len(self.rules)}] + [
            leaf for r in self.rules for leaf in r._leaves()]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.rules!r})"


class AllOf(RuleChain):
    """Exit only when every rule wants to exit; the exit fills at the pass's
    price (not a rule's level) and its detail joins the rules' with " AND "
    (ml4t-backtest's `AllOf`)."""

    _GROUP = _ALL_OF


class AnyOf(RuleChain):
    """The first rule that does not hold wins (ml4t's alias of `RuleChain`)."""


class CompositeRule(RuleChain):
    """Older ml4t name for a list of rules evaluated as a chain."""


def rule_leaves(rule: Any) -> list[dict[str, Any]]:
    """The flat chain the engine evaluates for `rule` (a rule or a list of rules)."""
    if isinstance(rule, (list, tuple)):
        rule = RuleChain(list(rule))
    leaves = getattr(rule, "_leaves", None)
    if leaves is None:
        raise TypeError(f"position rules must be nautilus_like.risk rules, got {type(rule).__name__} "
                        f"(rules written in Python are not supported yet)")
    return leaves()
