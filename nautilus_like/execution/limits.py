"""Volume participation limits: how much of an order one bar fills
(ml4t-backtest's `execution.limits`); pass one to `Engine(..., execution_limits=)`.

With a participation limit an order fills at most once per bar, at most
`max_participation` of the bar's volume; the rest stays pending (status
PENDING, `quantity` = what is left, `filled_quantity` so far) and fills on later
bars. IOC orders keep what filled in their pass; FOK orders fill completely or
not at all. A limit needs a `volume` column in the prices. The Rust engine
evaluates the limits.

>>> Engine(feed, strategy, execution_limits=VolumeParticipationLimit(0.05))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nautilus_like._rust import codes, fillable_quantity
from nautilus_like.execution.result import ExecutionResult

__all__ = ["AssetExecutionLimits", "ExecutionLimits", "NoLimits", "VolumeParticipationLimit"]

# Kinds of the C ABI, from the generated header (nautilus_like.h).
_CODES = codes()
_LIMIT_NONE, _LIMIT_VOLUME = _CODES["NL_LIMIT_NONE"], _CODES["NL_LIMIT_VOLUME_PARTICIPATION"]


def _finite_non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _volume(bar_volume: Any) -> float:
    """The bar's volume for the engine: NaN when none is reported."""
    if bar_volume is None:
        return math.nan
    if isinstance(bar_volume, bool) or not isinstance(bar_volume, (int, float)):
        raise ValueError(f"bar_volume must be a number or None, got {bar_volume!r}")
    return float(bar_volume)


class ExecutionLimits:
    """Base of the volume limits (ml4t's `ExecutionLimits`): `calculate(order_quantity,
    bar_volume, price)` says how much of an order one bar fills, with the engine's rule."""

    def _spec(self) -> dict[str, Any]:
        raise NotImplementedError

    def calculate(self, order_quantity: float, bar_volume: float | None, price: float) -> ExecutionResult:
        """What a bar of `bar_volume` (None: not reported) fills of an order for
        `order_quantity` at `price`."""
        fillable = fillable_quantity(self._spec(), float(order_quantity), _volume(bar_volume))
        return ExecutionResult(fillable_quantity=fillable, remaining_quantity=order_quantity - fillable,
                               adjusted_price=price, participation_rate=fillable / bar_volume if bar_volume else 0.0)


class NoLimits(ExecutionLimits):
    """Every order fills completely (the default)."""

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_NONE}

    def __repr__(self) -> str:
        return "NoLimits()"


class VolumeParticipationLimit(ExecutionLimits):
    """Fill at most `max_participation` of a bar's volume per order, nothing on a bar
    whose volume is below `min_volume`."""

    def __init__(self, max_participation: float = 0.10, min_volume: float = 0.0):
        self.max_participation = _finite_non_negative("max_participation", max_participation)
        self.min_volume = _finite_non_negative("min_volume", min_volume)

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_VOLUME, "max_participation": self.max_participation, "min_volume": self.min_volume}

    def __repr__(self) -> str:
        return f"VolumeParticipationLimit(max_participation={self.max_participation}, min_volume={self.min_volume})"


class AssetExecutionLimits(ExecutionLimits):
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

    def for_asset(self, asset: str) -> Any:
        """The limit that applies to `asset`."""
        return self.models.get(asset, self.default)

    def calculate(self, order_quantity: float, bar_volume: float | None, price: float) -> ExecutionResult:
        raise TypeError("AssetExecutionLimits.calculate needs an asset: use for_asset(asset).calculate(...)")

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
