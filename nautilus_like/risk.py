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
After a full rule exit the asset cannot be re-entered in the same bar (as in ml4t).

Dynamic rules compare this bar's close: `TighteningTrailingStop(schedule)`,
`ScaledExit(targets)` (partial exits), and three that read values the strategy
attaches to the position with `broker.update_position_context(asset, {...})`:
`VolatilityStop` / `VolatilityTrailingStop` (an ATR) and `SignalExit`:

>>> broker.set_position_rules(RuleChain([VolatilityStop(2.0), SignalExit(threshold=0.3)]))
>>> broker.update_position_context("AAPL", {"atr": 1.8, "exit_signal": -0.5})   # in on_data

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

from nautilus_like._rust import codes
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
           "PositionState", "RuleChain", "ScaledExit", "SignalExit", "StopLoss", "TakeProfit",
           "TighteningTrailingStop", "TimeExit", "TrailingStop", "VolatilityStop", "VolatilityTrailingStop"]

# Rule kinds of the C ABI, from the generated header (nautilus_like.h).
_CODES = codes()
_STOP_LOSS, _TAKE_PROFIT, _TIME_EXIT, _TRAILING_STOP, _CALLBACK, _CHAIN, _ALL_OF = (
    _CODES[f"NL_RULE_{k}"] for k in ("STOP_LOSS", "TAKE_PROFIT", "TIME_EXIT", "TRAILING_STOP", "CALLBACK", "CHAIN",
                                     "ALL_OF"))
_TIGHTENING_TRAILING_STOP, _SCALED_EXIT, _VOLATILITY_STOP, _VOLATILITY_TRAILING_STOP, _SIGNAL_EXIT = (
    _CODES[f"NL_RULE_{k}"] for k in ("TIGHTENING_TRAILING_STOP", "SCALED_EXIT", "VOLATILITY_STOP",
                                     "VOLATILITY_TRAILING_STOP", "SIGNAL_EXIT"))


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


def _number(name: str, value: Any, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


def _pairs(name: str, pairs: Any, second: str, check_second, requirement: str) -> list[tuple[float, float]]:
    """`pairs` as a list of (return threshold, value) float tuples; `check_second`
    tells a valid value, `requirement` says what one is."""
    try:
        items = [tuple(p) for p in pairs]
    except TypeError:
        raise ValueError(f"{name} must be a list of (return_threshold, {second}) pairs, got {pairs!r}") from None
    out = []
    for p in items:
        if len(p) != 2:
            raise ValueError(f"{name} entries must be (return_threshold, {second}) pairs, got {p!r}")
        threshold, value = p
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) \
                or isinstance(value, bool) or not isinstance(value, (int, float)) or not check_second(value):
            raise ValueError(f"{name} entry {p!r} needs a finite return_threshold and a {second} {requirement}")
        out.append((float(threshold), float(value)))
    return out


def _key(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str (a key of the position context), got {value!r}")
    return value


class _StatefulRule:
    """A rule that remembers across bars, positions and assets (in the engine),
    as ml4t's object does: one object set for several assets shares its memory,
    and only `reset()` clears it (ml4t advises calling it when a position closes
    if the object is reused)."""

    def _bind_memory(self, engine_ref: Any, slot: int) -> None:
        self.__dict__.setdefault("_memory", []).append((engine_ref, slot))

    def reset(self) -> None:
        """Forget what this rule remembered, in every backtest it is set in."""
        for engine_ref, slot in self.__dict__.get("_memory", []):
            engine = engine_ref()
            if engine is not None:
                engine._reset_rule_memory(slot)


class TighteningTrailingStop:
    """A trailing stop on the close whose trail tightens as the position gains.

    `schedule` is (return_threshold, trail_pct) pairs: the trail of the highest
    threshold the position's return (at the close) has reached applies, else
    the lowest threshold's (5% with an empty schedule). Exits when the close
    is at or beyond the trail from the water mark (up to the previous bar), at
    the pass's price; detail "tightening_trail_3.0%_at_12.5%" (exit_reason
    "signal", as in ml4t).

    >>> TighteningTrailingStop([(0.0, 0.05), (0.10, 0.03), (0.20, 0.02)])
    """

    def __init__(self, schedule: list[tuple[float, float]]):
        self.schedule = _pairs("schedule", schedule, "trail_pct", lambda v: math.isfinite(v) and v >= 0,
                               "finite and >= 0")

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _TIGHTENING_TRAILING_STOP, "pairs": [x for p in self.schedule for x in p]}]

    def __repr__(self) -> str:
        return f"TighteningTrailingStop(schedule={self.schedule})"


class ScaledExit(_StatefulRule):
    """Scale out at profit targets: `targets` is (return_threshold, exit_pct)
    pairs; when the return at the close reaches the lowest target not yet taken,
    `exit_pct` of the current position exits at the pass's price (one target a
    bar; detail "scale_out_5%_25%"). A partial exit does not block re-entry.

    Stateful like ml4t's: each target acts once per rule object, across all the
    positions and assets it governs, until `reset()`.

    >>> ScaledExit([(0.05, 0.25), (0.10, 0.33), (0.15, 0.50)])
    """

    def __init__(self, targets: list[tuple[float, float]]):
        self.targets = _pairs("targets", targets, "exit_pct", lambda v: 0 < v <= 1, "in (0, 1]")

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _SCALED_EXIT, "pairs": [x for p in self.targets for x in p], "memory": self}]

    def __repr__(self) -> str:
        return f"ScaledExit(targets={self.targets})"


class VolatilityStop(_StatefulRule):
    """A stop `multiplier` ATRs from the entry price; the ATR is the position
    context value `atr_key` (`broker.update_position_context(asset, {"atr": x})`);
    no usable ATR (missing, None, <= 0) holds. Exits when the close reaches the
    stop, filled at the stop (detail "volatility_stop_2.0x_atr").

    With `use_entry_atr` (the default) the first usable ATR this rule object
    sees is kept for every later position it governs, until `reset()` (ml4t's
    behaviour; pass `use_entry_atr=False` to use each bar's ATR).

    >>> VolatilityStop(multiplier=2.0, atr_key="atr")
    """

    def __init__(self, multiplier: float = 2.0, atr_key: str = "atr", use_entry_atr: bool = True):
        self.multiplier = _number("multiplier", multiplier, minimum=0)
        self.atr_key = _key("atr_key", atr_key)
        self.use_entry_atr = bool(use_entry_atr)

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _VOLATILITY_STOP, "multiplier": self.multiplier, "context_key": self.atr_key,
                 "use_entry_atr": self.use_entry_atr, "memory": self}]

    def __repr__(self) -> str:
        return f"VolatilityStop(multiplier={self.multiplier}, atr_key={self.atr_key!r}, " \
               f"use_entry_atr={self.use_entry_atr})"


class VolatilityTrailingStop:
    """A trailing stop `multiplier` current ATRs (context value `atr_key`)
    from the water mark; exits when the close reaches it, filled at the stop
    (detail "vol_trailing_stop_3.0x_atr", exit_reason "trailing_stop").

    >>> VolatilityTrailingStop(multiplier=3.0)
    """

    def __init__(self, multiplier: float = 3.0, atr_key: str = "atr"):
        self.multiplier = _number("multiplier", multiplier, minimum=0)
        self.atr_key = _key("atr_key", atr_key)

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _VOLATILITY_TRAILING_STOP, "multiplier": self.multiplier, "context_key": self.atr_key}]

    def __repr__(self) -> str:
        return f"VolatilityTrailingStop(multiplier={self.multiplier}, atr_key={self.atr_key!r})"


class SignalExit:
    """Exit on the strategy's signal: the position context value `signal_name`
    below `-threshold` exits a long, above `threshold` a short, at the pass's
    price (detail "signal_exit_-0.50"). No value holds.

    >>> SignalExit(signal_name="exit_signal", threshold=0.3)
    >>> broker.update_position_context("AAPL", {"exit_signal": -0.5})   # exits next bar
    """

    def __init__(self, signal_name: str = "exit_signal", threshold: float = 0.0):
        self.signal_name = _key("signal_name", signal_name)
        self.threshold = _number("threshold", threshold)

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _SIGNAL_EXIT, "context_key": self.signal_name, "threshold": self.threshold}]

    def __repr__(self) -> str:
        return f"SignalExit(signal_name={self.signal_name!r}, threshold={self.threshold})"


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
