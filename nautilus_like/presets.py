"""Framework presets for `BacktestConfig.from_preset(name)`: ml4t-backtest 0.2.0's
values (the fields each preset changes from the defaults).
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "backtrader": {
        "allow_short_selling": True, "stop_level_basis": "signal_price", "initial_hwm_source": "signal_price",
        "share_rounding": "truncate", "fill_ordering": "fifo", "rebalance_mode": "snapshot",
        "missing_price_policy": "use_last",
    },
    "backtrader_strict": {
        "allow_short_selling": True, "stop_level_basis": "signal_price", "initial_hwm_source": "signal_price",
        "share_rounding": "truncate", "fill_ordering": "fifo", "next_bar_submission_precheck": True,
        "next_bar_simple_cash_check": True, "rebalance_mode": "snapshot", "missing_price_policy": "use_last",
    },
    "vectorbt": {
        "allow_short_selling": True, "execution_price": "close", "execution_mode": "same_bar",
        "trail_hwm_source": "bar_extreme", "initial_hwm_source": "bar_high", "trail_stop_timing": "intrabar",
        "share_type": "fractional", "reject_on_insufficient_cash": False, "partial_fills_allowed": True,
        "immediate_fill": True, "rebalance_mode": "hybrid",
    },
    "vectorbt_strict": {
        "allow_short_selling": True, "short_cash_policy": "lock_notional", "execution_price": "close",
        "execution_mode": "same_bar", "trail_hwm_source": "bar_extreme", "initial_hwm_source": "bar_high",
        "trail_stop_timing": "intrabar", "share_type": "fractional", "partial_fills_allowed": True,
        "fill_ordering": "priority", "entry_order_priority": "free_cash_asc", "rebalance_mode": "snapshot",
    },
    "zipline": {
        "allow_short_selling": True, "stop_fill_mode": "next_bar_open", "trail_hwm_source": "bar_extreme",
        "trail_stop_timing": "intrabar", "reject_on_insufficient_cash": False, "skip_cash_validation": True,
        "fill_ordering": "fifo", "rebalance_mode": "snapshot", "missing_price_policy": "use_last",
    },
    "zipline_strict": {
        "allow_short_selling": True, "stop_fill_mode": "next_bar_open", "trail_hwm_source": "bar_extreme",
        "trail_stop_timing": "intrabar", "reject_on_insufficient_cash": False, "skip_cash_validation": True,
        "fill_ordering": "fifo", "rebalance_mode": "snapshot", "missing_price_policy": "use_last",
    },
    "realistic": {
        "stop_fill_mode": "next_bar_open", "commission_type": "percentage", "commission_rate": 0.002,
        "slippage_type": "percentage", "slippage_rate": 0.002, "stop_slippage_rate": 0.001,
        "cash_buffer_pct": 0.02,
    },
    "lean": {
        "allow_short_selling": True, "allow_leverage": True, "long_maintenance_margin": 0.5,
        "short_maintenance_margin": 0.5, "commission_type": "per_share", "commission_per_share": 0.005,
        "commission_minimum": 1.0, "fill_ordering": "sequential", "next_bar_submission_precheck": True,
        "next_bar_queue_shadow_validation": True, "rebalance_mode": "snapshot", "rebalance_headroom_pct": 0.9975,
        "missing_price_policy": "use_last",
    },
    "fast": {
        "allow_short_selling": True, "execution_price": "close", "execution_mode": "same_bar",
        "reject_on_insufficient_cash": False, "rebalance_mode": "snapshot",
    },
    "ibkr_us_stocks_fixed": {
        "commission_type": "per_share", "commission_per_share": 0.005, "commission_minimum": 1.0,
    },
}
# VectorBT OSS updates locked collateral once per order; its futures runs fill at submission.
PRESETS["vectorbt_oss_strict"] = {**PRESETS["vectorbt_strict"], "lock_notional_update_mode": "combined_order",
                                  "entry_order_priority": "order_value_asc"}
PRESETS["vectorbt_futures_strict"] = {**PRESETS["vectorbt_strict"], "immediate_fill": True}

# Other names of presets (ml4t-backtest's).
ALIASES: dict[str, str] = {
    "vectorbt_pro": "vectorbt", "vectorbt_oss": "vectorbt", "quantconnect": "lean",
    "ibkr:us:stocks:fixed": "ibkr_us_stocks_fixed", "vectorbt_compare": "vectorbt_strict",
    "vectorbt_oss_compare": "vectorbt_oss_strict", "backtrader_compare": "backtrader_strict",
    "zipline_compare": "zipline_strict", "lean_compare": "lean",
}


def preset_fields(name: str) -> dict[str, Any]:
    """The fields preset `name` sets; ValueError for an unknown preset."""
    key = name.lower() if isinstance(name, str) else name
    key = ALIASES.get(key, key)
    if key not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Available: {', '.join(sorted(PRESETS))}")
    return dict(PRESETS[key])
