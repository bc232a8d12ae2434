"""Commission and slippage models to pass to `Engine(..., commission_model=, slippage_model=)`.

These are declarations: the Rust engine evaluates them (the rules live once,
in Rust). Names and constructor arguments are ml4t-backtest's.

>>> Engine(feed, strategy, commission_model=PerShareCommission(0.005, minimum=1.0))
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "FixedSlippage",
    "NoCommission",
    "NoSlippage",
    "PerShareCommission",
    "PercentageCommission",
    "PercentageSlippage",
]


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class NoCommission:
    """No commission."""

    def _config_fields(self) -> dict[str, Any]:
        return {"commission_type": "none"}

    def __repr__(self) -> str:
        return "NoCommission()"


class PercentageCommission:
    """`rate` times the fill's notional (at the slipped price)."""

    def __init__(self, rate: float = 0.0):
        self.rate = _non_negative("rate", rate)

    def _config_fields(self) -> dict[str, Any]:
        return {"commission_type": "percentage", "commission_rate": self.rate}

    def __repr__(self) -> str:
        return f"PercentageCommission(rate={self.rate})"


class PerShareCommission:
    """`per_share` per share, at least `minimum` per fill."""

    def __init__(self, per_share: float = 0.0, minimum: float = 0.0):
        self.per_share = _non_negative("per_share", per_share)
        self.minimum = _non_negative("minimum", minimum)

    def _config_fields(self) -> dict[str, Any]:
        return {"commission_type": "per_share", "commission_per_share": self.per_share,
                "commission_minimum": self.minimum}

    def __repr__(self) -> str:
        return f"PerShareCommission(per_share={self.per_share}, minimum={self.minimum})"


class NoSlippage:
    """No slippage."""

    def _config_fields(self) -> dict[str, Any]:
        return {"slippage_type": "none"}

    def __repr__(self) -> str:
        return "NoSlippage()"


class PercentageSlippage:
    """The price moves against the order by `rate` of itself (buy pays `p + p*rate`)."""

    def __init__(self, rate: float = 0.0):
        self.rate = _non_negative("rate", rate)

    def _config_fields(self) -> dict[str, Any]:
        return {"slippage_type": "percentage", "slippage_rate": self.rate}

    def __repr__(self) -> str:
        return f"PercentageSlippage(rate={self.rate})"


class FixedSlippage:
    """The price moves against the order by `amount` per share."""

    def __init__(self, amount: float = 0.0):
        self.amount = _non_negative("amount", amount)

    def _config_fields(self) -> dict[str, Any]:
        return {"slippage_type": "fixed", "slippage_fixed": self.amount}

    def __repr__(self) -> str:
        return f"FixedSlippage(amount={self.amount})"
