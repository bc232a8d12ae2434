"""What position rules see and decide (ml4t-backtest's `risk.types`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, auto
from typing import Any

__all__ = ["ActionType", "PositionAction", "PositionState"]


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
