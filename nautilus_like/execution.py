"""Liquidity models to pass to `Engine(..., execution_limits=, market_impact_model=)`.

Names, arguments and formulas are ml4t-backtest's (`ml4t.backtest.execution`);
the Rust engine evaluates them.

>>> Engine(feed, strategy, execution_limits=VolumeParticipationLimit(0.05),
...        market_impact_model=SquareRootImpact(coefficient=0.5, volatility=0.02))

With a participation limit an order fills at most once per bar, at most
`max_participation` of the bar's volume; the rest stays pending (status
PENDING, `quantity` = what is left, `filled_quantity` so far) and fills on later
bars. IOC orders keep what filled in their pass; FOK orders fill completely or
not at all. A limit needs a `volume` column in the prices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nautilus_like._rust import codes

__all__ = [
    "AssetExecutionLimits",
    "LinearImpact",
    "NoImpact",
    "NoLimits",
    "PowerLawImpact",
    "SquareRootImpact",
    "VolumeParticipationLimit",
]

# Kinds of the C ABI, from the generated header (nautilus_like.h).
_CODES = codes()
_LIMIT_NONE, _LIMIT_VOLUME = _CODES["NL_LIMIT_NONE"], _CODES["NL_LIMIT_VOLUME_PARTICIPATION"]
_IMPACT_NONE, _IMPACT_LINEAR, _IMPACT_SQRT, _IMPACT_POWER = (
    _CODES[f"NL_IMPACT_{k}"] for k in ("NONE", "LINEAR", "SQUARE_ROOT", "POWER_LAW"))


def _finite_non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class NoLimits:
    """Every order fills completely (the default)."""

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_NONE}

    def __repr__(self) -> str:
        return "NoLimits()"


class VolumeParticipationLimit:
    """Fill at most `max_participation` of a bar's volume per order, nothing on a bar
    whose volume is below `min_volume`."""

    def __init__(self, max_participation: float = 0.10, min_volume: float = 0.0):
        self.max_participation = _finite_non_negative("max_participation", max_participation)
        self.min_volume = _finite_non_negative("min_volume", min_volume)

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_VOLUME, "max_participation": self.max_participation, "min_volume": self.min_volume}

    def __repr__(self) -> str:
        return f"VolumeParticipationLimit(max_participation={self.max_participation}, min_volume={self.min_volume})"


class AssetExecutionLimits:
    """A limit per asset, `default` for the others."""

    def __init__(self, models: Mapping[str, Any], *, default: Any):
        for key, model in [*models.items(), ("default", default)]:
            if not isinstance(key, str) or not key:
                raise TypeError(f"AssetExecutionLimits keys must be non-empty asset names, got {key!r}")
            if not isinstance(model, (NoLimits, VolumeParticipationLimit)):
                raise TypeError(f"AssetExecutionLimits model for {key!r} must be NoLimits or "
                                f"VolumeParticipationLimit, got {model!r}")
        self.models = dict(models)
        self.default = default

    def __repr__(self) -> str:
        return f"AssetExecutionLimits({self.models!r}, default={self.default!r})"


def limit_routes(limits: Any, asset_index: dict[str, int], all_assets: int) -> list[tuple[int, dict[str, Any]]]:
    """Per-asset routes for the C ABI (assets not in the feed are dropped)."""
    if isinstance(limits, AssetExecutionLimits):
        default, per_asset = limits.default, limits.models
    elif isinstance(limits, (NoLimits, VolumeParticipationLimit)):
        default, per_asset = limits, {}
    else:
        raise TypeError(f"execution_limits must be a nautilus_like.execution limit, got {type(limits).__name__}")
    out = {all_assets: default._spec()}
    for name, model in per_asset.items():
        if name in asset_index:
            out[asset_index[name]] = model._spec()
    return list(out.items())


def is_limited(limits: Any) -> bool:
    if isinstance(limits, AssetExecutionLimits):
        return any(is_limited(m) for m in (limits.default, *limits.models.values()))
    return isinstance(limits, VolumeParticipationLimit)


class NoImpact:
    def _spec(self) -> dict[str, Any]:
        return {"kind": _IMPACT_NONE}

    def __repr__(self) -> str:
        return "NoImpact()"


class LinearImpact:
    """`coefficient * (quantity / volume) * price` against the order."""

    def __init__(self, coefficient: float = 0.1):
        self.coefficient = _finite_non_negative("coefficient", coefficient)

    def _spec(self) -> dict[str, Any]:
        return {"kind": _IMPACT_LINEAR, "coefficient": self.coefficient}

    def __repr__(self) -> str:
        return f"LinearImpact(coefficient={self.coefficient})"


class SquareRootImpact:
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


class PowerLawImpact:
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
    if model is None:
        return NoImpact()._spec()
    if not isinstance(model, (NoImpact, LinearImpact, SquareRootImpact, PowerLawImpact)):
        raise TypeError(f"market_impact_model must be a nautilus_like.execution impact model, "
                        f"got {type(model).__name__}")
    return model._spec()
