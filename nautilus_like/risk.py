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

Portfolio limits (`MaxDrawdownLimit`, `DailyLossLimit`, `MaxPositionsLimit`,
`GrossExposureLimit`, `NetExposureLimit`) are re-exported here from
`nautilus_like.portfolio_limits`; pass them to `Engine(..., portfolio_limits=[...])`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, auto
from typing import Any

from nautilus_like.portfolio_limits import (
    DailyLossLimit,
    GrossExposureLimit,
    MaxDrawdownLimit,
    MaxPositionsLimit,
    NetExposureLimit,
    PortfolioLimit,
)

__all__ = ["ActionType", "AllOf", "AnyOf", "CompositeRule", "DailyLossLimit", "GrossExposureLimit",
           "MaxDrawdownLimit", "MaxPositionsLimit", "NetExposureLimit", "PortfolioLimit", "PositionAction",
           "PositionState", "RuleChain", "StopLoss", "TakeProfit", "TimeExit", "TrailingStop"]

# Rule kinds of the C ABI (crates/ffi/src/rules.rs).
_STOP_LOSS, _TAKE_PROFIT, _TIME_EXIT, _TRAILING_STOP = 1, 2, 3, 4
_CALLBACK, _CHAIN, _ALL_OF = 5, 10, 11


class ActionType(Enum):
    """What a rule decides (ml4t-backtest's `ActionType`)."""

    HOLD = auto()
    EXIT_FULL = auto()
    EXIT_PARTIAL = auto()
    ADJUST_STOP = auto()  # accepted and ignored, as in ml4t-backtest


@dataclass
class PositionAction:
    """A rule's decision (ml4t-backtest's `PositionAction`)."""

    action: ActionType
    pct: float = 1.0
    stop_price: float | None = None
    fill_price: float | None = None
    reason: str = ""
    defer_fill: bool = False

    @classmethod
    def hold(cls) -> PositionAction:
        return cls(ActionType.HOLD)

    @classmethod
    def exit_full(cls, reason: str = "", fill_price: float | None = None, defer_fill: bool = False) -> PositionAction:
        return cls(ActionType.EXIT_FULL, reason=reason, fill_price=fill_price, defer_fill=defer_fill)

    @classmethod
    def exit_partial(cls, pct: float, reason: str = "", fill_price: float | None = None) -> PositionAction:
        return cls(ActionType.EXIT_PARTIAL, pct=pct, reason=reason, fill_price=fill_price)

    @classmethod
    def adjust_stop(cls, price: float, reason: str = "") -> PositionAction:
        return cls(ActionType.ADJUST_STOP, stop_price=price, reason=reason)


@dataclass
class PositionState:
    """What a rule written in Python sees (ml4t-backtest's `PositionState` fields).

    `quantity` and `initial_quantity` are absolute; `current_price` is this
    bar's close; water marks and excursions are up to the previous bar.
    """

    asset: str
    side: str
    entry_price: float
    current_price: float
    quantity: float
    initial_quantity: float
    unrealized_pnl: float
    unrealized_return: float
    bars_held: int
    high_water_mark: float
    low_water_mark: float
    bar_open: float | None = None
    bar_high: float | None = None
    bar_low: float | None = None
    max_favorable_excursion: float = 0.0
    max_adverse_excursion: float = 0.0
    entry_time: datetime | None = None
    current_time: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)
    multiplier: float = 1.0

    @property
    def is_long(self) -> bool:
        return self.side == "long"

    @property
    def is_short(self) -> bool:
        return self.side == "short"

    @property
    def is_profitable(self) -> bool:
        return self.unrealized_return > 0

    @property
    def drawdown_from_peak(self) -> float:
        if self.max_favorable_excursion <= 0:
            return 0.0
        return (self.max_favorable_excursion - self.unrealized_return) / (1 + self.max_favorable_excursion)


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
