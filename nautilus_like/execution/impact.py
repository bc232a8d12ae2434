"""Market impact models: the adverse price move an order itself causes
(ml4t-backtest's `execution.impact`); pass one to
`Engine(..., market_impact_model=)`. The Rust engine evaluates them.

>>> Engine(feed, strategy, market_impact_model=SquareRootImpact(coefficient=0.5, volatility=0.02))
"""

from __future__ import annotations

from typing import Any

from nautilus_like._rust import codes, market_impact
from nautilus_like.execution.limits import _finite_non_negative, _volume

__all__ = ["LinearImpact", "MarketImpactModel", "NoImpact", "PowerLawImpact", "SquareRootImpact"]

# Kinds of the C ABI, from the generated header (nautilus_like.h).
_CODES = codes()
_IMPACT_NONE, _IMPACT_LINEAR, _IMPACT_SQRT, _IMPACT_POWER = (
    _CODES[f"NL_IMPACT_{k}"] for k in ("NONE", "LINEAR", "SQUARE_ROOT", "POWER_LAW"))
_IMPACT_CALLBACK = _CODES["NL_IMPACT_CALLBACK"]


class MarketImpactModel:
    """Base of the impact models (ml4t's `MarketImpactModel`): `calculate(quantity,
    price, volume, is_buy)` is the engine's adverse price move for one order."""

    def _spec(self) -> dict[str, Any]:
        raise NotImplementedError

    def calculate(self, quantity: float, price: float, volume: float | None, is_buy: bool) -> float:
        """The signed price move (>= 0 for buys, <= 0 for sells) of an order for
        `quantity` at `price` in a bar of `volume` (None: not reported).

        >>> LinearImpact(coefficient=1.0).calculate(1000.0, 100.0, 10_000.0, is_buy=True)   # 1.0 x 10% x 100
        10.0
        """
        return market_impact(self._spec(), float(quantity), float(price), _volume(volume), bool(is_buy))


class NoImpact(MarketImpactModel):
    def _spec(self) -> dict[str, Any]:
        return {"kind": _IMPACT_NONE}

    def __repr__(self) -> str:
        return "NoImpact()"


class LinearImpact(MarketImpactModel):
    """`coefficient * (quantity / volume) * price` against the order."""

    def __init__(self, coefficient: float = 0.1):
        self.coefficient = _finite_non_negative("coefficient", coefficient)

    def _spec(self) -> dict[str, Any]:
        return {"kind": _IMPACT_LINEAR, "coefficient": self.coefficient}

    def __repr__(self) -> str:
        return f"LinearImpact(coefficient={self.coefficient})"


class SquareRootImpact(MarketImpactModel):
    """`coefficient * volatility * sqrt(quantity / (volume * adv_factor)) * price`."""

    def __init__(self, coefficient: float = 0.5, volatility: float = 0.02, adv_factor: float = 1.0):
        self.coefficient = _finite_non_negative("coefficient", coefficient)
        self.volatility = _finite_non_negative("volatility", volatility)
        self.adv_factor = _finite_non_negative("adv_factor", adv_factor)

    def _spec(self) -> dict[str, Any]:
        return {"kind": _IMPACT_SQRT, "coefficient": self.coefficient, "volatility": self.volatility,
                "adv_factor": self.adv_factor}

    def __repr__(self) -> str:
        return (f"SquareRootImpact(coefficient={self.coefficient}, volatility={self.volatility}, "
                f"adv_factor={self.adv_factor})")


class PowerLawImpact(MarketImpactModel):
    """`max(coefficient * (quantity / volume)^exponent * price, min_impact)`."""

    def __init__(self, coefficient: float = 0.1, exponent: float = 0.5, min_impact: float = 0.0):
        self.coefficient = _finite_non_negative("coefficient", coefficient)
        self.exponent = _finite_non_negative("exponent", exponent)
        self.min_impact = _finite_non_negative("min_impact", min_impact)

    def _spec(self) -> dict[str, Any]:
        return {"kind": _IMPACT_POWER, "coefficient": self.coefficient, "exponent": self.exponent,
                "min_impact": self.min_impact}

    def __repr__(self) -> str:
        return (f"PowerLawImpact(coefficient={self.coefficient}, exponent={self.exponent}, "
                f"min_impact={self.min_impact})")


def impact_spec(model: Any) -> dict[str, Any]:
    """The engine's spec of `model`: a built-in model's own, or a callback to a
    user model with ml4t's `calculate(quantity, price, volume, is_buy)` (its
    answers must be finite and adverse, checked by the engine)."""
    if model is None:
        return NoImpact()._spec()
    if isinstance(model, (NoImpact, LinearImpact, SquareRootImpact, PowerLawImpact)) \
            and type(model).calculate is MarketImpactModel.calculate:
        return model._spec()
    if not callable(getattr(model, "calculate", None)):
        raise TypeError(f"market_impact_model must be a nautilus_like.execution impact model or have a "
                        f"calculate(quantity, price, volume, is_buy) method, got {type(model).__name__}")
    return {"kind": _IMPACT_CALLBACK, "model": model}
