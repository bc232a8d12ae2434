"""Commission and slippage models to pass to `Engine(..., commission_model=, slippage_model=)`.

The classes here are declarations: the Rust engine evaluates them, so they
cost nothing per fill beyond the arithmetic. Names, constructor arguments and
formulas are ml4t-backtest's.

>>> Engine(feed, strategy, commission_model=PerShareCommission(0.005, minimum=1.0))
>>> Engine(feed, strategy, slippage_model=AssetSlippage({"BTC": SpreadSlippage(2.0)},
...                                                     default=PercentageSlippage(0.0005)))

Any other object with ml4t's model protocol works too, written in Python:

* a commission model has `calculate(asset, quantity, price) -> float`,
* a slippage model has `calculate(asset, quantity, price, volume) -> float`
  (a per-unit price adjustment; `volume` is the bar's volume or None).

The engine calls it back only for fills (and pre-trade cash checks) that use
it; results must be finite and >= 0. An exception it raises stops the run and
propagates unchanged.
"""

from __future__ import annotations

import math
from copy import deepcopy
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from nautilus_like._rust import codes

__all__ = [
    "CommissionModel",
    "SlippageModel",
    "calculate_commission",
    "estimate_commission",
    "AssetCommission",
    "AssetSlippage",
    "CombinedCommission",
    "CumulativeVolumeShareSlippage",
    "FixedSlippage",
    "FuturesCommission",
    "FuturesSlippage",
    "NoCommission",
    "NoSlippage",
    "PerOrderCommission",
    "PerOrderPerShareCommission",
    "PerShareCommission",
    "PercentageCommission",
    "PercentageSlippage",
    "SpreadSlippage",
    "TieredCommission",
    "VolumeShareSlippage",
]

# Spec kinds of the C ABI, from the generated header (nautilus_like.h).
_CODES = codes()
_C_NONE, _C_PERCENTAGE, _C_PER_SHARE, _C_COMBINED, _C_PER_ORDER, _C_TIERED, _C_CALLBACK = (
    _CODES[f"NL_COMMISSION_{k}"] for k in ("NONE", "PERCENTAGE", "PER_SHARE", "COMBINED", "PER_ORDER", "TIERED",
                                           "CALLBACK"))
_S_NONE, _S_PERCENTAGE, _S_FIXED, _S_SPREAD, _S_VOLUME, _S_CUMULATIVE, _S_CALLBACK = (
    _CODES[f"NL_SLIPPAGE_{k}"] for k in ("NONE", "PERCENTAGE", "FIXED", "SPREAD", "VOLUME_SHARE",
                                         "CUMULATIVE_VOLUME_SHARE", "CALLBACK"))
_C_FUTURES, _S_FUTURES = _CODES["NL_COMMISSION_FUTURES"], _CODES["NL_SLIPPAGE_FUTURES"]


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _commission_spec(kind: int, *, rate: float = 0.0, per_share: float = 0.0, per_trade: float = 0.0,
                     minimum: float = 0.0, tiers: tuple = ()) -> dict[str, Any]:
    return {"kind": kind, "rate": rate, "per_share": per_share, "per_trade": per_trade,
            "minimum": minimum, "tiers": tiers}


def _slippage_spec(kind: int, *, rate: float = 0.0, amount: float = 0.0, half_given: bool = False) -> dict[str, Any]:
    return {"kind": kind, "rate": rate, "amount": amount, "half_given": half_given}


class _Commission:
    """ml4t's commission protocol on a native model: `calculate` is the engine's formula."""

    def calculate(self, asset: str, quantity: float, price: float) -> float:
        """The fee of one fill of `quantity` of `asset` at `price` (the first fill of its order)."""
        from nautilus_like._driver import quote_commission

        return quote_commission(self._spec_for_asset(asset), float(quantity), float(price))

    def _spec_for_asset(self, asset: str) -> dict[str, Any]:
        return self._spec()


class _Slippage:
    """ml4t's slippage protocol on a native model: `calculate` is the engine's formula."""

    def calculate(self, asset: str, quantity: float, price: float, volume: float | None = None) -> float:
        """The per-unit price adjustment of a fill of `quantity` of `asset` at `price`
        in a bar that traded `volume` (None: unknown), nothing filled before in it."""
        from nautilus_like._driver import quote_slippage

        v = math.nan if volume is None else float(volume)
        return quote_slippage(self._spec_for_asset(asset), float(quantity), float(price), v)

    def _spec_for_asset(self, asset: str) -> dict[str, Any]:
        return self._spec()


class NoCommission(_Commission):
    """No commission."""

    def _spec(self) -> dict[str, Any]:
        return _commission_spec(_C_NONE)

    def __repr__(self) -> str:
        return "NoCommission()"


class PercentageCommission(_Commission):
    """`rate` times the fill's notional (at the slipped price)."""

    def __init__(self, rate: float = 0.0):
        self.rate = _non_negative("rate", rate)

    def _spec(self) -> dict[str, Any]:
        return _commission_spec(_C_PERCENTAGE, rate=self.rate)

    def __repr__(self) -> str:
        return f"PercentageCommission(rate={self.rate})"


class PerShareCommission(_Commission):
    """`per_share` per share, at least `minimum` per fill."""

    def __init__(self, per_share: float = 0.0, minimum: float = 0.0):
        self.per_share = _non_negative("per_share", per_share)
        self.minimum = _non_negative("minimum", minimum)

    def _spec(self) -> dict[str, Any]:
        return _commission_spec(_C_PER_SHARE, per_share=self.per_share, minimum=self.minimum)

    def __repr__(self) -> str:
        return f"PerShareCommission(per_share={self.per_share}, minimum={self.minimum})"


class CombinedCommission(_Commission):
    """`percentage` of the notional plus `fixed` per fill (PER_TRADE is `fixed` alone)."""

    def __init__(self, percentage: float = 0.0, fixed: float = 0.0):
        self.percentage = _non_negative("percentage", percentage)
        self.fixed = _non_negative("fixed", fixed)

    def _spec(self) -> dict[str, Any]:
        return _commission_spec(_C_COMBINED, rate=self.percentage, per_trade=self.fixed)

    def __repr__(self) -> str:
        return f"CombinedCommission(percentage={self.percentage}, fixed={self.fixed})"


class PerOrderCommission(_Commission):
    """One fee per order over all its fills: `per_share * quantity + rate * notional +
    per_trade`, at least `minimum`; each fill pays what is still due."""

    def __init__(self, per_share: float = 0.0, rate: float = 0.0, per_trade: float = 0.0, minimum: float = 0.0):
        self.per_share = _non_negative("per_share", per_share)
        self.rate = _non_negative("rate", rate)
        self.per_trade = _non_negative("per_trade", per_trade)
        self.minimum = _non_negative("minimum", minimum)

    def _spec(self) -> dict[str, Any]:
        return _commission_spec(_C_PER_ORDER, rate=self.rate, per_share=self.per_share,
                                per_trade=self.per_trade, minimum=self.minimum)

    def calculate(self, asset: str, quantity: float, price: float) -> float:
        # What is due depends on the order's earlier fills, which a bare
        # (asset, quantity, price) does not carry; ml4t refuses it alike.
        raise TypeError("Per-order commission requires a CommissionContext quote")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(per_share={self.per_share}, rate={self.rate}, "
                f"per_trade={self.per_trade}, minimum={self.minimum})")


class PerOrderPerShareCommission(PerOrderCommission):
    """`per_share` per share with a minimum per order (not per fill)."""

    def __init__(self, per_share: float = 0.0, minimum: float = 0.0):
        super().__init__(per_share=per_share, minimum=minimum)


class TieredCommission(_Commission):
    """`tiers` = [(threshold, rate), ...]: a fill's notional pays the rate of the first
    tier (by threshold) whose threshold is >= the notional, else the last tier's."""

    def __init__(self, tiers: list[tuple[float, float]]):
        checked = []
        for i, tier in enumerate(tiers):
            try:
                threshold, rate = tier
            except (TypeError, ValueError):
                raise ValueError(f"tiers[{i}] must be a (threshold, rate) pair, got {tier!r}") from None
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or math.isnan(threshold) \
                    or threshold < 0:
                raise ValueError(f"tiers[{i}] threshold must be a number >= 0 (inf allowed), got {threshold!r}")
            checked.append((float(threshold), _non_negative(f"tiers[{i}] rate", rate)))
        if not checked:
            raise ValueError("tiers must not be empty")
        self.tiers = sorted(checked, key=lambda t: t[0])

    def _spec(self) -> dict[str, Any]:
        return _commission_spec(_C_TIERED, tiers=tuple(self.tiers))

    def __repr__(self) -> str:
        return f"TieredCommission(tiers={self.tiers})"


class AssetCommission:
    """A commission model per asset, `default` for the others."""

    def __init__(self, models: Mapping[str, Any], *, default: Any):
        _check_routes("AssetCommission", models, default, AssetCommission)
        self.models = dict(models)
        self.default = default

    def for_asset(self, asset: str) -> Any:
        """The model that charges `asset`."""
        return self.models.get(asset, self.default)

    def calculate(self, asset: str, quantity: float, price: float) -> float:
        return self.for_asset(asset).calculate(asset, quantity, price)

    def __repr__(self) -> str:
        return f"AssetCommission({self.models!r}, default={self.default!r})"


class NoSlippage(_Slippage):
    """No slippage."""

    def _spec(self) -> dict[str, Any]:
        return _slippage_spec(_S_NONE)

    def __repr__(self) -> str:
        return "NoSlippage()"


class PercentageSlippage(_Slippage):
    """The price moves against the order by `rate` of itself (a buy pays `p + p*rate`)."""

    def __init__(self, rate: float = 0.0):
        self.rate = _non_negative("rate", rate)

    def _spec(self) -> dict[str, Any]:
        return _slippage_spec(_S_PERCENTAGE, rate=self.rate)

    def __repr__(self) -> str:
        return f"PercentageSlippage(rate={self.rate})"


class FixedSlippage(_Slippage):
    """The price moves against the order by `amount` per share."""

    def __init__(self, amount: float = 0.0):
        self.amount = _non_negative("amount", amount)

    def _spec(self) -> dict[str, Any]:
        return _slippage_spec(_S_FIXED, amount=self.amount)

    def __repr__(self) -> str:
        return f"FixedSlippage(amount={self.amount})"


class SpreadSlippage(_Slippage):
    """Crossing a quoted spread in price units: `convention="full_spread"` (default)
    takes the value as the full spread and pays half of it per side;
    `"half_spread"` pays the value itself. `asset_spreads` overrides per asset."""

    def __init__(self, spread: float = 0.0, asset_spreads: Mapping[str, float] | None = None,
                 convention: str = "full_spread"):
        self.spread = _non_negative("spread", spread)
        self.asset_spreads = {str(k): _non_negative(f"asset_spreads[{k!r}]", v)
                              for k, v in (asset_spreads or {}).items()}
        convention = getattr(convention, "value", convention)
        if convention not in ("full_spread", "half_spread"):
            raise ValueError(f"convention must be 'full_spread' or 'half_spread', got {convention!r}")
        self.convention = convention

    def _spec_for(self, spread: float) -> dict[str, Any]:
        return _slippage_spec(_S_SPREAD, amount=spread, half_given=self.convention == "half_spread")

    def _spec(self) -> dict[str, Any]:
        return self._spec_for(self.spread)

    def _spec_for_asset(self, asset: str) -> dict[str, Any]:
        return self._spec_for(self.asset_spreads.get(asset, self.spread))

    def __repr__(self) -> str:
        return f"SpreadSlippage(spread={self.spread}, asset_spreads={self.asset_spreads}, convention={self.convention!r})"


class VolumeShareSlippage(_Slippage):
    """`price * impact_factor * quantity / volume` per share (none without volume)."""

    def __init__(self, impact_factor: float = 0.0):
        self.impact_factor = _non_negative("impact_factor", impact_factor)

    def _spec(self) -> dict[str, Any]:
        return _slippage_spec(_S_VOLUME, rate=self.impact_factor)

    def __repr__(self) -> str:
        return f"VolumeShareSlippage(impact_factor={self.impact_factor})"


class CumulativeVolumeShareSlippage(_Slippage):
    """`price * price_impact * ((filled this bar + quantity) / volume)^2` per share:
    impact grows with all of the bar's fills in the asset. A bar without positive
    volume cannot fill (the order waits)."""

    def __init__(self, price_impact: float = 0.1):
        self.price_impact = _non_negative("price_impact", price_impact)

    def _spec(self) -> dict[str, Any]:
        return _slippage_spec(_S_CUMULATIVE, rate=self.price_impact)

    def calculate(self, asset: str, quantity: float, price: float, volume: float | None = None) -> float:
        # The impact depends on what already filled in the bar, which a bare
        # call does not carry; ml4t refuses it alike.
        raise TypeError("CumulativeVolumeShareSlippage requires SlippageContext")

    def __repr__(self) -> str:
        return f"CumulativeVolumeShareSlippage(price_impact={self.price_impact})"


class AssetSlippage:
    """A slippage model per asset, `default` for the others; `price_sources`
    gives assets a fill basis of their own (an `ExecutionPrice` or its value)
    in place of the config's execution price, for every fill but a
    market-on-close order's.

    >>> from nautilus_like.config import ExecutionPrice
    >>> route = AssetSlippage({"ES": FixedSlippage(0.5)}, default=NoSlippage(),
    ...                       price_sources={"ES": "mid"})
    >>> route.price_sources["ES"] is ExecutionPrice.MID
    True
    """

    def __init__(self, models: Mapping[str, Any], *, default: Any, price_sources: Mapping[str, Any] | None = None):
        from types import MappingProxyType

        from nautilus_like.config import ExecutionPrice

        _check_routes("AssetSlippage", models, default, AssetSlippage)
        if price_sources is not None and not isinstance(price_sources, Mapping):
            raise TypeError(f"AssetSlippage price_sources must be a mapping of asset -> ExecutionPrice, "
                            f"got {type(price_sources).__name__}")
        for key in price_sources or {}:
            if not isinstance(key, str) or not key:
                raise ValueError(f"AssetSlippage price_sources keys must be non-empty asset names, got {key!r}")
        sources = {}
        for key, value in (price_sources or {}).items():
            try:
                sources[key] = ExecutionPrice(value)
            except ValueError:
                raise ValueError(f"AssetSlippage price_sources[{key!r}] must be an ExecutionPrice, got {value!r}") from None
        self.models = dict(models)
        self.default = default
        self.price_sources = MappingProxyType(sources)

    def for_asset(self, asset: str) -> Any:
        """The model that prices `asset`'s fills."""
        return self.models.get(asset, self.default)

    def calculate(self, asset: str, quantity: float, price: float, volume: float | None = None) -> float:
        return self.for_asset(asset).calculate(asset, quantity, price, volume)

    def __repr__(self) -> str:
        sources = f", price_sources={dict(self.price_sources)!r}" if self.price_sources else ""
        return f"AssetSlippage({self.models!r}, default={self.default!r}{sources})"


class FuturesCommission(_Commission):
    """PySystemTrade's futures fee: the largest of `per_trade` per fill,
    `per_block` per contract and `percentage` of the notional
    (`|quantity| * price * multiplier`).

    In a backtest the notional uses the asset's `ContractSpec.multiplier`
    (ml4t-backtest's engine leaves it out and charges the percentage on
    `quantity * price` alone).

    >>> FuturesCommission(per_block=2.25).calculate("ES", 10, 4000.0, multiplier=50.0)
    22.5
    >>> FuturesCommission(percentage=0.0001).calculate("ES", 10, 4000.0, multiplier=50.0)
    200.0
    """

    def __init__(self, per_trade: float = 0.0, per_block: float = 0.0, percentage: float = 0.0):
        self.per_trade = _non_negative("per_trade", per_trade)
        self.per_block = _non_negative("per_block", per_block)
        self.percentage = _non_negative("percentage", percentage)

    def _spec(self) -> dict[str, Any]:
        return _commission_spec(_C_FUTURES, rate=self.percentage, per_share=self.per_block,
                                per_trade=self.per_trade)

    def calculate(self, asset: str, quantity: float, price: float, multiplier: float = 1.0) -> float:
        """The fee of one fill of `quantity` contracts (either sign) at `price`,
        each worth `multiplier` per point."""
        from nautilus_like._driver import quote_commission

        return quote_commission(self._spec(), float(quantity), float(price), _multiplier(multiplier))

    def __repr__(self) -> str:
        return (f"FuturesCommission(per_trade={self.per_trade}, per_block={self.per_block}, "
                f"percentage={self.percentage})")


class FuturesSlippage(_Slippage):
    """PySystemTrade's futures slippage: fills move `slippage_points` price
    points against the order, so a fill costs `|quantity| * slippage_points *
    multiplier` in currency.

    `calculate` returns that total cost (ml4t-backtest's meaning). As an
    engine's `slippage_model` the fill price moves by `slippage_points` per
    contract (ml4t-backtest's engine moves it by `|quantity| * slippage_points`).

    >>> FuturesSlippage(slippage_points=0.25).calculate("ES", 2, 4000.0, multiplier=50.0)
    25.0
    """

    def __init__(self, slippage_points: float = 0.0):
        self.slippage_points = _non_negative("slippage_points", slippage_points)

    def _spec(self) -> dict[str, Any]:
        return _slippage_spec(_S_FUTURES, amount=self.slippage_points)

    def calculate(self, asset: str, quantity: float, price: float, volume: float | None = None,
                  multiplier: float = 1.0) -> float:
        """The currency cost of the slippage of a fill of `quantity` contracts
        (either sign) at `price`, each worth `multiplier` per point."""
        from nautilus_like._driver import quote_slippage_cost

        v = math.nan if volume is None else float(volume)
        return quote_slippage_cost(self._spec(), float(quantity), float(price), v, _multiplier(multiplier))

    def __repr__(self) -> str:
        return f"FuturesSlippage(slippage_points={self.slippage_points})"


def _multiplier(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"multiplier must be a finite number > 0, got {value!r}")
    return float(value)


def _check_routes(owner: str, models: Mapping[str, Any], default: Any, route_type: type) -> None:
    if not isinstance(models, Mapping):
        raise TypeError(f"{owner} models must be a mapping of asset -> model, got {type(models).__name__}")
    for key, model in [*models.items(), ("default", default)]:
        if not isinstance(key, str) or not key:
            raise TypeError(f"{owner} keys must be non-empty asset names, got {key!r}")
        if isinstance(model, route_type):
            raise TypeError(f"{owner} cannot nest another {owner} (under {key!r})")
        if model is None or not (hasattr(model, "_spec") or callable(getattr(model, "calculate", None))):
            raise TypeError(f"{owner} model for {key!r} must be a cost model, got {model!r}")


# --- the model protocols and the one-off fee quote -------------------------------------

@runtime_checkable
class CommissionModel(Protocol):
    """What the engine accepts as a commission model: `calculate(asset, quantity,
    price)` returning a fee that is finite and >= 0. Pre-trade estimates ask a deep
    copy, so a stateful model advances only on fills."""

    def calculate(self, asset: str, quantity: float, price: float) -> float: ...


@runtime_checkable
class SlippageModel(Protocol):
    """What the engine accepts as a slippage model: `calculate(asset, quantity,
    price, volume)` returning a per-unit price adjustment that is finite and >= 0."""

    def calculate(self, asset: str, quantity: float, price: float, volume: float | None) -> float: ...


def _checked_fee(model: Any, value: Any) -> float:
    try:
        fee = float(value)
    except (TypeError, ValueError):
        fee = math.nan
    if not math.isfinite(fee) or fee < 0.0:
        raise ValueError(f"Invalid commission from {type(model).__name__}: expected a finite non-negative number, "
                         f"got {value!r}")
    return fee


def calculate_commission(model: Any, asset: str, quantity: float, price: float) -> float:
    """The fee `model` charges a fill of `quantity` of `asset` at `price`, checked
    as the engine checks it (finite, >= 0)."""
    if isinstance(model, AssetCommission):
        model = model.models.get(asset, model.default)
    return _checked_fee(model, model.calculate(asset, quantity, price))


def estimate_commission(model: Any, asset: str, quantity: float, price: float) -> float:
    """A pre-trade fee estimate: the fee a deep copy of `model` would charge, so a
    stateful model (tiers that advance on fills) is left as it was."""
    if isinstance(model, AssetCommission):
        model = model.models.get(asset, model.default)
    try:
        copy = deepcopy(model)
    except Exception as exc:
        raise TypeError("commission model must support deepcopy for pre-trade estimates") from exc
    if copy is model:
        raise TypeError("commission model deepcopy must return an independent instance")
    return calculate_commission(copy, asset, quantity, price)


# Appended: the observed-range model (ml4t's VolatilityVolumeSlippage).
_S_VOLATILITY_VOLUME = _CODES["NL_SLIPPAGE_VOLATILITY_VOLUME"]


class VolatilityVolumeSlippage(_Slippage):
    """ml4t's square-root impact from completed-history statistics, here with its
    insufficient-history convention only: 7.5 basis points of the price per
    share, on bars that traded and whose positive high and low were observed.
    It reads observed bar ranges, so a run needs an observation service (an
    `Engine` built with it gets `RuntimeServices()`, as in ml4t).

    >>> VolatilityVolumeSlippage(0.05)   # a fill at 101 pays 101 * 7.5bp = 0.07575 per share
    VolatilityVolumeSlippage(eta=0.05)

    `statistics=` (a callable giving average volume and volatility per asset and
    fill time) is not supported yet and raises NotImplementedError.
    """

    requires_traded_volume = True
    requires_observed_ohlc = True
    __slots__ = ("eta", "statistics")

    def __init__(self, eta: float, statistics: Any = None) -> None:
        try:
            value = float(eta)
        except (TypeError, ValueError):
            raise ValueError(f"eta must be finite and nonnegative, got {eta!r}") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"eta must be finite and nonnegative, got {eta!r}")
        if statistics is not None and not callable(statistics):
            raise TypeError(f"statistics must be a read-only callable or None, got {statistics!r}")
        if statistics is not None:
            raise NotImplementedError("VolatilityVolumeSlippage(statistics=...) is not supported by nautilus_like "
                                      "yet: only the insufficient-history convention (statistics=None, 7.5bp)")
        object.__setattr__(self, "eta", value)
        object.__setattr__(self, "statistics", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"VolatilityVolumeSlippage is frozen: cannot assign {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (other.eta, other.statistics) == (self.eta, self.statistics)

    def __hash__(self) -> int:
        return hash((type(self), self.eta))

    def _spec(self) -> dict[str, Any]:
        return _slippage_spec(_S_VOLATILITY_VOLUME, rate=self.eta)

    def calculate(self, asset: str, quantity: float, price: float, volume: float | None = None) -> float:
        # The price depends on the bar's observed range, which a bare call does not carry (as ml4t).
        raise TypeError("VolatilityVolumeSlippage requires an observed SlippageContext")

    def __repr__(self) -> str:
        return f"VolatilityVolumeSlippage(eta={self.eta})"
