"""Exits whose level moves with the position: trailing stops, tightening
trails, scale-outs and ATR stops (ml4t-backtest's `risk.position.dynamic`).
The Rust engine evaluates them; see `nautilus_like.risk`."""

from __future__ import annotations

import math
from typing import Any

from nautilus_like.risk.position._checks import (
    _SCALED_EXIT,
    _TIGHTENING_TRAILING_STOP,
    _TRAILING_STOP,
    _VOLATILITY_STOP,
    _VOLATILITY_TRAILING_STOP,
    _key,
    _number,
    _pairs,
    _pct,
)
from nautilus_like.risk.position._evaluate import EngineRule, reset_evaluators

__all__ = ["ScaledExit", "TighteningTrailingStop", "TrailingStop", "VolatilityStop", "VolatilityTrailingStop"]


class TrailingStop(EngineRule):
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


class _StatefulRule(EngineRule):
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
        reset_evaluators(self)


class TighteningTrailingStop(EngineRule):
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


class VolatilityTrailingStop(EngineRule):
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
