"""Turns a config's cost fields or a cost-model object into the per-asset route
lists that `_driver.create_engine` hands to Rust.

A route is `(asset_index, spec)`; `ALL_ASSETS` marks the default. A spec is a
native model's `_spec()` dict, or `{"kind": CALLBACK, "model": obj}` for a
Python object with ml4t's `calculate` protocol. Routes for assets that are not
in the feed are dropped: they can never trade.
"""

from __future__ import annotations

from typing import Any

from nautilus_like import models as m
from nautilus_like.config import CODES, BacktestConfig, CommissionType, ExecutionPrice, SlippageType

ALL_ASSETS = CODES["NL_ALL_ASSETS"]
_PRICE_SOURCE_CODES = {member: CODES[f"EXECUTION_PRICE_{member.name}"] for member in ExecutionPrice}


def commission_model_of(config: BacktestConfig) -> Any:
    """The model ml4t-backtest builds from the config's commission fields."""
    kind = config.resolved_commission_type()
    c = config
    if kind is CommissionType.PERCENTAGE:
        return m.PercentageCommission(c.commission_rate)
    if kind is CommissionType.PER_SHARE:
        return m.PerShareCommission(c.commission_per_share, c.commission_minimum)
    if kind is CommissionType.PER_ORDER:
        return m.PerOrderCommission(c.commission_per_share, c.commission_rate, c.commission_per_trade,
                                    c.commission_minimum)
    if kind is CommissionType.PER_ORDER_PER_SHARE:
        return m.PerOrderPerShareCommission(c.commission_per_share, c.commission_minimum)
    if kind is CommissionType.PER_TRADE:
        return m.CombinedCommission(fixed=c.commission_per_trade)
    if kind is CommissionType.TIERED:
        return m.TieredCommission([(float("inf"), c.commission_rate)])
    return m.NoCommission()


def slippage_model_of(config: BacktestConfig) -> Any:
    """The model ml4t-backtest builds from the config's slippage fields."""
    kind = config.resolved_slippage_type()
    c = config
    if kind is SlippageType.PERCENTAGE:
        return m.PercentageSlippage(c.slippage_rate)
    if kind is SlippageType.FIXED:
        return m.FixedSlippage(c.slippage_fixed)
    if kind is SlippageType.SPREAD:
        return m.SpreadSlippage(c.slippage_spread, c.slippage_spread_by_asset, c.slippage_spread_convention.value)
    if kind is SlippageType.VOLUME_BASED:
        return m.VolumeShareSlippage(c.slippage_rate)
    if kind is SlippageType.CUMULATIVE_VOLUME_SHARE:
        return m.CumulativeVolumeShareSlippage(c.slippage_rate)
    return m.NoSlippage()


def _spec(model: Any, kind: str) -> dict[str, Any]:
    spec = getattr(model, "_spec", None)
    if spec is not None:
        out = spec()
    elif not callable(getattr(model, "calculate", None)):
        protocol = "CommissionModel" if kind == "commission" else "SlippageModel"
        raise TypeError(f"{kind}_model must implement the native {protocol} protocol (a nautilus_like.models "
                        f"model or a calculate() method), got {type(model).__name__}")
    else:
        out = {"kind": m._C_CALLBACK if kind == "commission" else m._S_CALLBACK, "model": model}
    # ml4t's protocol: a slippage model may declare that it fills only on bars that traded.
    if kind == "slippage" and getattr(model, "requires_traded_volume", False) is True:
        out = {**out, "requires_volume": True}
    return out


def _spec_for_asset(model: Any, kind: str, asset: str) -> dict[str, Any]:
    if isinstance(model, m.SpreadSlippage):
        return model._spec_for(model.asset_spreads.get(asset, model.spread))
    return _spec(model, kind)


def routes(model: Any, kind: str, asset_index: dict[str, int]) -> list[tuple[int, dict[str, Any]]]:
    """Per-asset routes of a commission (`kind="commission"`) or slippage model.

    A spread model's `asset_spreads` become routes of their own; an explicit
    per-asset model (AssetSlippage) wins over the default's overrides.
    """
    if isinstance(model, (m.AssetCommission, m.AssetSlippage)):
        expected = m.AssetCommission if kind == "commission" else m.AssetSlippage
        if not isinstance(model, expected):
            raise TypeError(f"{kind}_model cannot be a {type(model).__name__}")
        default, per_asset = model.default, model.models
    else:
        default, per_asset = model, {}
    out = {ALL_ASSETS: _spec(default, kind)}
    if isinstance(default, m.SpreadSlippage):
        for name, spread in default.asset_spreads.items():
            if name in asset_index:
                out[asset_index[name]] = default._spec_for(spread)
    for name, sub in per_asset.items():
        if name in asset_index:
            out[asset_index[name]] = _spec_for_asset(sub, kind, name)
    # An asset's own fill basis travels with its slippage route (the route it
    # has, else a copy of the default's); `_driver` hands it to the engine.
    for name, source in model.price_sources.items() if isinstance(model, m.AssetSlippage) else ():
        if name in asset_index:
            a = asset_index[name]
            out[a] = {**out.get(a, out[ALL_ASSETS]), "price_source": _PRICE_SOURCE_CODES[source]}
    return list(out.items())
