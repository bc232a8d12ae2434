"""The C ABI's rule kinds and the argument checks the rule classes share."""

from __future__ import annotations

import math
from typing import Any

from nautilus_like._rust import codes

# Rule kinds of the C ABI, from the generated header (nautilus_like.h).
_CODES = codes()
_STOP_LOSS, _TAKE_PROFIT, _TIME_EXIT, _TRAILING_STOP, _CALLBACK, _CHAIN, _ALL_OF = (
    _CODES[f"NL_RULE_{k}"] for k in ("STOP_LOSS", "TAKE_PROFIT", "TIME_EXIT", "TRAILING_STOP", "CALLBACK", "CHAIN",
                                     "ALL_OF"))
_TIGHTENING_TRAILING_STOP, _SCALED_EXIT, _VOLATILITY_STOP, _VOLATILITY_TRAILING_STOP, _SIGNAL_EXIT = (
    _CODES[f"NL_RULE_{k}"] for k in ("TIGHTENING_TRAILING_STOP", "SCALED_EXIT", "VOLATILITY_STOP",
                                     "VOLATILITY_TRAILING_STOP", "SIGNAL_EXIT"))


def _pct(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"pct must be a finite number >= 0, got {value!r}")
    return float(value)


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
