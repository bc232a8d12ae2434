"""Fixed-threshold exits: stop-loss, take-profit, time exit (ml4t-backtest's
`risk.position.static`). The Rust engine evaluates them; see
`nautilus_like.risk` for when and at what price."""

from __future__ import annotations

from typing import Any

from nautilus_like.risk.position._checks import _STOP_LOSS, _TAKE_PROFIT, _TIME_EXIT, _pct
from nautilus_like.risk.position._evaluate import EngineRule

__all__ = ["StopLoss", "TakeProfit", "TimeExit"]


class StopLoss(EngineRule):
    """Exit when the loss reaches `pct` (0.05 = 5%) of the base price."""

    def __init__(self, pct: float):
        self.pct = _pct(pct)

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _STOP_LOSS, "pct": self.pct}]

    def __repr__(self) -> str:
        return f"StopLoss(pct={self.pct})"


class TakeProfit(EngineRule):
    """Exit when the gain reaches `pct` of the base price."""

    def __init__(self, pct: float):
        self.pct = _pct(pct)

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _TAKE_PROFIT, "pct": self.pct}]

    def __repr__(self) -> str:
        return f"TakeProfit(pct={self.pct})"


class TimeExit(EngineRule):
    """Exit once the position has been held `max_bars` bars."""

    def __init__(self, max_bars: int):
        if isinstance(max_bars, bool) or not isinstance(max_bars, int) or max_bars < 0:
            raise ValueError(f"max_bars must be an integer >= 0, got {max_bars!r}")
        self.max_bars = max_bars

    def _leaves(self) -> list[dict[str, Any]]:
        return [{"kind": _TIME_EXIT, "max_bars": self.max_bars}]

    def __repr__(self) -> str:
        return f"TimeExit(max_bars={self.max_bars})"
