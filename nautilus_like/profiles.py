"""Framework profiles: the presets of `BacktestConfig.from_preset` in
ml4t-backtest's nested form (`BacktestConfig.to_dict()`), and the broker
assumptions that name one.

>>> get_profile_config("zipline")["orders"]["fill_ordering"]
'fifo'
>>> get_assumption_preset(broker="IBKR", region="US", asset_class="equities", plan="fixed")
'ibkr_us_stocks_fixed'
"""

from __future__ import annotations

from typing import Any

from nautilus_like.presets import ALIASES, PRESETS

__all__ = ["get_assumption_preset", "get_profile_config", "list_profiles"]

# The framework profiles list_profiles() names (ml4t's "core" set).
_CORE = ("backtrader", "default", "lean", "realistic", "vectorbt", "zipline")

# Spellings of each assumption component, and the presets the combinations name.
_COMPONENTS = {
    "broker": {"ibkr": "ibkr", "interactive_brokers": "ibkr", "interactivebrokers": "ibkr"},
    "region": {"us": "us", "usa": "us"},
    "asset_class": {"stocks": "stocks", "equities": "stocks"},
    "plan": {"fixed": "fixed"},
}
_ASSUMPTION_PRESETS = {("ibkr", "us", "stocks", "fixed"): "ibkr_us_stocks_fixed"}


def get_profile_config(name: str) -> dict[str, Any]:
    """Preset `name` (or an alias such as "quantconnect") as nested settings;
    a new dict each call. ValueError names the available presets."""
    from nautilus_like.config import BacktestConfig

    key = ALIASES.get(name, name)
    if key not in PRESETS:
        raise ValueError(f"Unknown preset '{name}'. Available: {', '.join(sorted(PRESETS))}")
    # As ml4t's profile data: settings only (no feed declared), read under time contract 1.
    data = BacktestConfig(time_contract_version=1, **PRESETS[key]).to_dict()
    del data["feed"]
    return data


def list_profiles() -> list[str]:
    """The canonical framework profiles (`from_preset` takes more: the
    `*_strict` comparison presets, "fast", "ibkr_us_stocks_fixed", aliases)."""
    return list(_CORE)


def get_assumption_preset(*, broker: str, region: str, asset_class: str, plan: str) -> str:
    """The preset for a broker's pricing plan, from spellings such as
    broker="Interactive Brokers", asset_class="equities"."""
    given = {"broker": broker, "region": region, "asset_class": asset_class, "plan": plan}
    keys = tuple(_COMPONENTS[part].get(str(value).strip().lower().replace("-", "_").replace(" ", "_"))
                 for part, value in given.items())
    if None in keys:
        raise ValueError("Unknown broker assumptions. Supported combinations currently include "
                         "broker='ibkr', region='us', asset_class='stocks', plan='fixed'.")
    if keys not in _ASSUMPTION_PRESETS:
        raise ValueError("Unsupported broker assumptions combination: "
                         f"broker={broker!r}, region={region!r}, asset_class={asset_class!r}, plan={plan!r}")
    return _ASSUMPTION_PRESETS[keys]
