"""One source of settings: every default, check, code and sizing formula the
Python layer uses is Rust's (crates/engine/src/config.rs, sizing.rs, the
generated header). These tests fail when Python writes one of them again and
the copy drifts."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import msgspec
import pytest

import nautilus_like as nl
from nautilus_like import _rust
from nautilus_like import config as config_module
from nautilus_like.config import CODES, BacktestConfig, engine_settings
from nautilus_like.presets import PRESETS

from conftest import flat_prices, run

HEADER = Path(nl.__file__).parent / "nautilus_like.h"


def header_codes() -> dict[str, int]:
    """Every `#define NL_X <int>` and enum constant `NAME = <int>` of the header."""
    text = HEADER.read_text()
    out = {name: int(value) for name, value in re.findall(r"^#define (NL_\w+) (\d+)$", text, re.M)}
    out.update({name: 0xFFFFFFFF for name in re.findall(r"^#define (NL_\w+) UINT32_MAX$", text, re.M)})
    out.update({name: int(value) for name, value in re.findall(r"^  ([A-Z][A-Z0-9_]+) = (\d+),?$", text, re.M)})
    return out


def python_default(field: str):
    """BacktestConfig's default as written in its class body (not via an instance)."""
    fields = BacktestConfig.__struct_fields__
    defaults = BacktestConfig.__struct_defaults__
    value = defaults[fields.index(field) - (len(fields) - len(defaults))]
    return value.factory() if isinstance(value, msgspec._core.Factory) else value


def test_every_engine_setting_defaults_to_rusts_engine_config_default():
    rust = _rust.engine_config_default()
    assert len(rust) == 37 and rust["initial_cash"] == 100_000.0
    python = engine_settings(BacktestConfig())
    assert python.keys() == rust.keys()
    for field, value in rust.items():
        assert field in BacktestConfig.__struct_fields__, field
        default = python_default(field)
        # Same value and same Python type (a 0 written for 0.0 or False would slip through ==).
        code = config_module._TO_CODE[field][default] if isinstance(default, Enum) or field in config_module._TO_CODE \
            else default
        assert (code, type(code)) == (value, type(value)), field
        assert (python[field], type(python[field])) == (value, type(value)), field


def test_ml4t_defaults_the_engine_does_not_have_stay_in_backtest_config():
    # Python-side fields: cost rates (turned into models), rebalancing helpers, margin schedules.
    python_only = set(BacktestConfig.__struct_fields__) - set(_rust.engine_config_default())
    assert python_only == {
        "commission_type", "commission_rate", "commission_per_share", "commission_per_trade", "commission_minimum",
        "slippage_type", "slippage_rate", "slippage_fixed", "slippage_spread", "slippage_spread_by_asset",
        "slippage_spread_convention", "share_rounding", "rebalance_mode", "missing_price_policy",
        "rebalance_headroom_pct", "preset_name", "fixed_margin_schedule", "margin_pct_schedule",
        "corporate_action_policy", "calendar", "data_frequency", "metadata",
        # Time contract, feed declaration and calendar settings (the calendar's sessions become
        # per-bar session flags and closes the kernel reads).
        "time_contract_version", "periods_per_year", "timezone", "feed_spec", "enforce_sessions",
        # ml4t settings held at values the engine runs (others are refused by a run).
        "late_asset_policy", "late_asset_min_bars",
        "cancel_policy", "retain_intent_history", "retain_lifecycle_history"}
    # Presets only name real fields, and keep ml4t's values.
    for name, fields in PRESETS.items():
        assert set(fields) <= set(BacktestConfig.__struct_fields__), name
        BacktestConfig.from_preset(name)
    assert BacktestConfig.from_preset("lean").rebalance_headroom_pct == 0.9975


def test_every_code_the_python_layer_uses_is_the_generated_headers():
    header = header_codes()
    exported = _rust.codes()
    assert CODES == exported
    # Both directions: the module exports exactly the header's codes (status codes aside).
    assert {k: v for k, v in header.items() if not k.startswith("NL_STATUS_")} == exported
    # The enum settings: every member of every Python enum has the code of its header name.
    for field, (enum, prefix) in config_module._ENGINE_ENUMS.items():
        unset = config_module._OPTIONAL_ENUMS.get(field)
        none = {None: header[unset]} if unset else {}
        assert {**{m: header[f"{prefix}_{m.name}"] for m in enum}, **none} == config_module._TO_CODE[field], field
    # Cost, liquidity, rule and limit kinds as the modules hold them.
    from nautilus_like import _run_columns, contracts, models
    from nautilus_like.risk.portfolio import limits as portfolio_limits
    from nautilus_like.execution import impact, limits
    from nautilus_like.risk.position import _checks as risk
    assert (models._C_PERCENTAGE, models._C_TIERED, models._C_CALLBACK) == (
        header["NL_COMMISSION_PERCENTAGE"], header["NL_COMMISSION_TIERED"], header["NL_COMMISSION_CALLBACK"])
    assert (models._S_VOLUME, models._S_CUMULATIVE, models._S_CALLBACK) == (
        header["NL_SLIPPAGE_VOLUME_SHARE"], header["NL_SLIPPAGE_CUMULATIVE_VOLUME_SHARE"],
        header["NL_SLIPPAGE_CALLBACK"])
    assert (limits._LIMIT_VOLUME, impact._IMPACT_POWER) == (
        header["NL_LIMIT_VOLUME_PARTICIPATION"], header["NL_IMPACT_POWER_LAW"])
    assert (risk._SIGNAL_EXIT, risk._CHAIN, risk._ALL_OF) == (
        header["NL_RULE_SIGNAL_EXIT"], header["NL_RULE_CHAIN"], header["NL_RULE_ALL_OF"])
    assert portfolio_limits._KIND["NetExposureLimit"] == header["NL_PORTFOLIO_LIMIT_NET_EXPOSURE"]
    assert portfolio_limits._ACTION["liquidate"] == header["NL_PORTFOLIO_LIMIT_LIQUIDATE"]
    assert contracts.PERCENT_OF_NOTIONAL == header["NL_MARGIN_PERCENT_OF_NOTIONAL"]
    assert _run_columns._ORDER_TYPE[header["ORDER_TYPE_MARKET_ON_CLOSE"]] == "moc"


@pytest.mark.parametrize("field, value, message", [
    ("initial_cash", -1.0, "initial_cash must be a finite number >= 0, got -1"),
    ("cash_buffer_pct", 1.0, "cash_buffer_pct must be in [0, 1), got 1"),
    ("stop_slippage_rate", float("inf"), "stop_slippage_rate must be a finite number >= 0, got inf"),
    ("long_maintenance_margin", 0.0, "long_maintenance_margin must be a number in (0, 1], got 0"),
    ("settlement_delay", 6, "settlement_delay must be a whole number of bars from 0 to 5, got 6"),
])
def test_backtest_config_raises_the_engines_own_message(field, value, message):
    with pytest.raises(ValueError) as rust:
        _rust.validate_engine_config({field: value})
    with pytest.raises(ValueError) as python:
        BacktestConfig(**{field: value})
    assert str(python.value) == str(rust.value) == message


def test_engine_validation_refuses_unknown_codes_and_fields():
    with pytest.raises(ValueError, match="invalid ExecutionMode code 9"):
        _rust.validate_engine_config({"execution_mode": 9})
    with pytest.raises(ValueError, match="unknown short_cash_policy code 3"):
        _rust.validate_engine_config({"short_cash_policy": 3})
    with pytest.raises(ValueError, match="unknown engine setting 'bogus'"):
        _rust.validate_engine_config({"bogus": 1})
    with pytest.raises(ValueError, match="settlement_delay cannot hold -1"):
        _rust.validate_engine_config({"settlement_delay": -1})
    _rust.validate_engine_config({})   # the defaults are valid


def test_target_sizing_is_the_engines():
    # $5,000 target at $50 with 40 held ($2,000): buy 60 for $3,000.
    assert _rust.order_toward_value(5_000.0, 50.0, 1.0, 40.0) == (60.0, 3_000.0)
    # A $100 contract x 50: -$10,000 from flat is 2 contracts short.
    assert _rust.order_toward_value(-10_000.0, 100.0, 50.0, 0.0) == (-2.0, -10_000.0)
    # Less than a cent missing: no order.
    assert _rust.order_toward_value(2_000.005, 50.0, 1.0, 40.0) is None
    assert _rust.MIN_ORDER_VALUE == 0.01


def test_rebalance_and_order_target_value_size_the_same_order():
    """Two assets at $10 and $40, $1,000 cash. Bar 0: AAA to 30% of $1,000 via
    rebalance_to_weights (30 shares) and BBB to $300 via order_target_value
    (7.5 -> the integer account fills 7 at the bar-1 open)."""
    prices = flat_prices({"AAA": [10.0, 10.0], "BBB": [40.0, 40.0]})

    def enter(b):
        b.rebalance_to_weights({"AAA": 0.30})
        b.order_target_value("BBB", 300.0)

    result, _ = run({0: [enter]}, config=BacktestConfig(initial_cash=1_000.0), prices=prices)
    fills = result.to_fills_dataframe().select("asset", "quantity", "price").rows()
    assert sorted(fills) == [("AAA", 30.0, 10.0), ("BBB", 7.0, 40.0)]


def test_python_rules_see_the_engines_unrealized_pnl_and_return():
    """Short 10 AAA filled at 100 (bar 1 open); bar 2 closes at 90: the rule sees
    P&L (90 - 100) x -10 = +100 and return +10%."""
    prices = flat_prices({"AAA": [100.0, 100.0, 90.0]})
    seen = []

    class Record:
        def evaluate(self, state):
            seen.append((state.unrealized_pnl, state.unrealized_return))

    def enter(b):
        b.set_position_rules(Record())
        b.submit_order("AAA", 10, nl.OrderSide.SELL)

    run({0: [enter]}, config=BacktestConfig(allow_short_selling=True), prices=prices)
    assert seen[-1] == (100.0, 0.1)
