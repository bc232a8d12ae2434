"""Volume participation limits: how much of an order one bar fills
(ml4t-backtest's `execution.limits`); pass one to `Engine(..., execution_limits=)`.

With a limit an order fills at most once per bar; what the limit does not
allow stays pending (status PENDING, `quantity` = what is left,
`filled_quantity` so far) and fills on later bars. IOC orders keep what filled
in their pass; FOK orders fill completely or not at all. The participation
limits need a `volume` column in the prices.

- `VolumeParticipationLimit(0.05)`: each order at most 5% of the bar's volume
  (the quoted size on its side when the feed has one).
- `SharedVolumeParticipationLimit(0.05)`: all orders of an asset *together* at
  most 5% of the bar's traded volume (zipline's volume share), each fill also
  capped by a quoted size.
- `PositiveVolumeLimit()`: whole orders, only on bars that traded.
- `AdaptiveParticipationLimit(...)`: a rate that falls as volatility rises.
- Any object with ml4t's `calculate(order_quantity, bar_volume, price)`
  (and optionally `bar_capacity(bar_volume, price)`): the engine calls it per
  order and checks its answer.

The Rust engine evaluates the built-in limits, in a backtest and in
`calculate()` alike (`ExecutionLimit` in crates/engine).

>>> VolumeParticipationLimit(0.10).calculate(2500.0, 10_000.0, 50.0).fillable_quantity
1000.0
>>> Engine(feed, strategy, execution_limits=SharedVolumeParticipationLimit(0.025))
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from nautilus_like._rust import bar_capacity as _bar_capacity
from nautilus_like._rust import codes, fillable_quantity
from nautilus_like.execution.result import ExecutionResult

__all__ = [
    "AdaptiveParticipationLimit",
    "AssetExecutionLimits",
    "ExecutionLimits",
    "NoLimits",
    "PositiveVolumeLimit",
    "SharedVolumeParticipationLimit",
    "VolumeParticipationLimit",
]

# Kinds of the C ABI, from the generated header (nautilus_like.h).
_CODES = codes()
_LIMIT_NONE, _LIMIT_VOLUME = _CODES["NL_LIMIT_NONE"], _CODES["NL_LIMIT_VOLUME_PARTICIPATION"]
_LIMIT_POSITIVE, _LIMIT_SHARED = _CODES["NL_LIMIT_POSITIVE_VOLUME"], _CODES["NL_LIMIT_SHARED_VOLUME_PARTICIPATION"]
_LIMIT_ADAPTIVE, _LIMIT_CALLBACK = _CODES["NL_LIMIT_ADAPTIVE_PARTICIPATION"], _CODES["NL_LIMIT_CALLBACK"]


def _finite_non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _volume(bar_volume: Any, name: str = "bar_volume") -> float:
    """A volume for the engine: NaN when none is reported."""
    if bar_volume is None:
        return math.nan
    if isinstance(bar_volume, bool) or not isinstance(bar_volume, (int, float)):
        raise ValueError(f"{name} must be a number or None, got {bar_volume!r}")
    return float(bar_volume)


def _result(order_quantity: float, fillable: float, bar_volume: float | None, price: float) -> ExecutionResult:
    return ExecutionResult(fillable_quantity=fillable, remaining_quantity=order_quantity - fillable,
                           adjusted_price=price, participation_rate=fillable / bar_volume if bar_volume else 0.0)


class ExecutionLimits(ABC):
    """Base of the volume limits (ml4t's `ExecutionLimits`): `calculate(order_quantity,
    bar_volume, price)` says how much of an order one bar fills. Subclass it (or
    write any class with that method) for a limit of your own."""

    @abstractmethod
    def calculate(self, order_quantity: float, bar_volume: float | None, price: float) -> ExecutionResult:
        """What a bar of `bar_volume` (None: not reported) fills of an order for
        `order_quantity` at `price`."""


class _NativeLimit(ExecutionLimits):
    """A limit the Rust engine evaluates from `_spec()`."""

    def _spec(self) -> dict[str, Any]:
        raise NotImplementedError

    def _check(self) -> None:
        """Range checks are the engine's (`ExecutionLimit::validate`)."""
        fillable_quantity(self._spec(), 0.0, math.nan)

    def calculate(self, order_quantity: float, bar_volume: float | None, price: float) -> ExecutionResult:
        """What a bar of `bar_volume` (None: not reported) fills of an order for
        `order_quantity` at `price`, judging this order alone."""
        fillable = fillable_quantity(self._spec(), _finite("order_quantity", order_quantity), _volume(bar_volume))
        return _result(order_quantity, fillable, bar_volume, price)


@dataclass
class NoLimits(_NativeLimit):
    """Every order fills completely (the default)."""

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_NONE}


@dataclass
class PositiveVolumeLimit(_NativeLimit):
    """The whole order, but only on a bar that reports positive volume (zipline
    fills nothing on a bar that did not trade).

    >>> PositiveVolumeLimit().calculate(500.0, 0.0, 75.0).fillable_quantity
    0.0
    """

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_POSITIVE}


@dataclass
class VolumeParticipationLimit(_NativeLimit):
    """Fill at most `max_participation` of a bar's volume per order, nothing on a bar
    whose volume is below `min_volume`; all of it when the bar reports no volume.

    >>> VolumeParticipationLimit(max_participation=0.10).calculate(2500.0, 10_000.0, 100.0)
    ExecutionResult(fillable_quantity=1000.0, remaining_quantity=1500.0, adjusted_price=100.0, impact_cost=0.0, participation_rate=0.1)
    """

    max_participation: float = 0.10
    min_volume: float = 0.0

    def __post_init__(self) -> None:
        self.max_participation = _finite_non_negative("max_participation", self.max_participation)
        self.min_volume = _finite_non_negative("min_volume", self.min_volume)
        self._check()

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_VOLUME, "max_participation": self.max_participation, "min_volume": self.min_volume}


@dataclass
class SharedVolumeParticipationLimit(VolumeParticipationLimit):
    """One traded-volume budget per asset and bar, shared by all its orders (both
    sides): together they fill at most `shared_participation` (default: the
    same `max_participation`) of the bar's traded volume, each order at most
    `max_participation` of it and at most the quoted size on its side. A bar
    without traded volume (or below `min_volume`) fills nothing; quoted sizes
    never stand in for traded volume. Rates are between 0 and 1.

    >>> SharedVolumeParticipationLimit(0.5).bar_capacity(10.0, 100.0)
    5.0
    """

    shared_participation: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.shared_participation is not None:
            self.shared_participation = _finite_non_negative("shared_participation", self.shared_participation)
        super().__post_init__()

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_SHARED, "max_participation": self.max_participation, "min_volume": self.min_volume,
                "shared_participation": self.shared_participation}

    def bar_capacity(self, bar_volume: float | None, price: float) -> float:
        """What all orders of an asset together may fill in a bar that traded
        `bar_volume` (None: not reported, no capacity)."""
        return _bar_capacity(self._spec(), _volume(bar_volume))


@dataclass
class AdaptiveParticipationLimit(_NativeLimit):
    """A participation rate that adapts to volatility: `base_participation`,
    times `1 - volatility_factor * (volatility / avg_volatility - 1)`, clamped to
    `[min_participation, max_participation]`. A backtest has no volatility per
    bar, so there it is the clamped base rate; `calculate(..., volatility=)`
    takes one. All of it when the bar reports no volume.

    >>> AdaptiveParticipationLimit().calculate(2000.0, 10_000.0, 100.0, volatility=0.04).fillable_quantity
    500.0
    """

    base_participation: float = 0.10
    volatility_factor: float = 0.5
    max_participation: float = 0.25
    min_participation: float = 0.02
    avg_volatility: float = 0.02

    def __post_init__(self) -> None:
        for name in ("base_participation", "max_participation", "min_participation", "avg_volatility"):
            setattr(self, name, _finite_non_negative(name, getattr(self, name)))
        self.volatility_factor = _finite("volatility_factor", self.volatility_factor)
        self._check()

    def _spec(self) -> dict[str, Any]:
        return {"kind": _LIMIT_ADAPTIVE, "base_participation": self.base_participation,
                "volatility_factor": self.volatility_factor, "max_participation": self.max_participation,
                "min_participation": self.min_participation, "avg_volatility": self.avg_volatility}

    def calculate(self, order_quantity: float, bar_volume: float | None, price: float,
                  volatility: float | None = None) -> ExecutionResult:
        """As the others, with the asset's current `volatility` (None: unknown)."""
        fillable = fillable_quantity(self._spec(), _finite("order_quantity", order_quantity), _volume(bar_volume),
                                     _volume(volatility, "volatility"))
        return _result(order_quantity, fillable, bar_volume, price)


class AssetExecutionLimits(ExecutionLimits):
    """A limit per asset, `default` for the others (one level: no nesting).

    >>> AssetExecutionLimits({"ES": SharedVolumeParticipationLimit(0.25)},
    ...                      default=SharedVolumeParticipationLimit(0.5)).for_asset("NQ")
    SharedVolumeParticipationLimit(max_participation=0.5, min_volume=0.0, shared_participation=None)
    """

    def __init__(self, models: Mapping[str, ExecutionLimits], *, default: ExecutionLimits) -> None:
        for key, model in [*models.items(), ("default", default)]:
            if not isinstance(key, str) or not key:
                raise TypeError(f"AssetExecutionLimits keys must be non-empty asset names, got {key!r}")
            if not isinstance(model, ExecutionLimits):
                raise TypeError(f"AssetExecutionLimits model for {key!r} must be an ExecutionLimits, got {model!r}")
            if isinstance(model, AssetExecutionLimits):
                raise TypeError("Declare one asset limit routing table, without nested routes "
                                f"(the model for {key!r} is an AssetExecutionLimits)")
        self.models = MappingProxyType(dict(models))
        self.default = default

    def for_asset(self, asset: str) -> ExecutionLimits:
        """The limit that applies to `asset`."""
        return self.models.get(asset, self.default)

    def calculate(self, order_quantity: float, bar_volume: float | None, price: float) -> ExecutionResult:
        raise TypeError("AssetExecutionLimits.calculate needs an asset: use for_asset(asset).calculate(...)")

    def __repr__(self) -> str:
        return f"AssetExecutionLimits({dict(self.models)!r}, default={self.default!r})"


def _is_native(limit: Any) -> bool:
    """A built-in limit whose behaviour a subclass did not replace."""
    cls = type(limit)
    return isinstance(limit, _NativeLimit) and cls.calculate.__module__ == __name__ \
        and getattr(cls, "bar_capacity", SharedVolumeParticipationLimit.bar_capacity).__module__ == __name__


def _route_spec(limit: Any, name: str) -> dict[str, Any]:
    if _is_native(limit):
        return limit._spec()
    if not callable(getattr(limit, "calculate", None)):
        raise TypeError(f"{name} must be a nautilus_like.execution limit or have a "
                        f"calculate(order_quantity, bar_volume, price) method, got {type(limit).__name__}")
    return {"kind": _LIMIT_CALLBACK, "model": limit}


def limit_routes(limits: Any, asset_index: dict[str, int], all_assets: int) -> list[tuple[int, dict[str, Any]]]:
    """Per-asset routes for the C ABI (assets not in the feed are dropped); a
    user limit becomes a callback route."""
    if isinstance(limits, AssetExecutionLimits):
        default, per_asset = limits.default, limits.models
    else:
        default, per_asset = limits, {}
    out = {all_assets: _route_spec(default, "execution_limits")}
    for name, model in per_asset.items():
        if name in asset_index:
            out[asset_index[name]] = _route_spec(model, f"execution_limits[{name!r}]")
    return list(out.items())


def is_limited(limits: Any) -> bool:
    """Whether a built-in limit reads bar volume (the feed then needs a volume column)."""
    if isinstance(limits, AssetExecutionLimits):
        return any(is_limited(m) for m in (limits.default, *limits.models.values()))
    return _is_native(limits) and not isinstance(limits, NoLimits)


def user_limit_answer(limit: Any, quantity: float, volume: float | None, available: float | None,
                      price: float) -> tuple[float, float]:
    """The engine's call of a user limit (ml4t's protocol): `calculate` judges the
    order on the traded `volume` when the model shares a bar capacity
    (`bar_capacity(volume, price)`), else on the `available` size. Returns
    (fillable, capacity or NaN); the engine checks both."""
    shared = getattr(limit, "bar_capacity", None)
    result = limit.calculate(quantity, volume if shared is not None else available, price)
    fillable = getattr(result, "fillable_quantity", result)
    try:
        fillable = float(fillable)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid execution quantity from {type(limit).__name__}: got {fillable!r}, "
                         f"requested {quantity!r}") from None
    if shared is None:
        return fillable, math.nan
    capacity = shared(volume, price)
    try:
        value = float(capacity)
    except (TypeError, ValueError):
        value = math.nan
    # NaN is the engine's "no shared capacity": a model's NaN must not read as that.
    if not math.isfinite(value):
        raise ValueError(f"Shared volume capacity must be finite and nonnegative, got {capacity!r}")
    return fillable, value
