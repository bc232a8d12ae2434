"""Exits on a value the strategy attaches to the position (ml4t-backtest's
`risk.position.signal`)."""

from __future__ import annotations

from typing import Any

from nautilus_like.risk.position._checks import _SIGNAL_EXIT, _key, _number
from nautilus_like.risk.position._evaluate import EngineRule

__all__ = ["SignalExit"]


class SignalExit(EngineRule):
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
