"""BacktestConfig: ml4t-backtest's names and defaults, validated at construction."""

import math

import msgspec
import pytest

import nautilus_like as nl
from nautilus_like.config import BacktestConfig, CommissionType, ExecutionPrice, ShareType, SlippageType


def test_defaults_match_ml4t_backtest():
    c = BacktestConfig()
    assert (c.initial_cash, c.execution_mode, c.execution_price, c.share_type) == \
        (100_000.0, nl.ExecutionMode.NEXT_BAR, ExecutionPrice.OPEN, ShareType.INTEGER)
    assert (c.commission_type, c.slippage_type, c.allow_short_selling) == \
        (CommissionType.NONE, SlippageType.NONE, False)
    assert isinstance(c, msgspec.Struct)


def test_strings_are_coerced_to_enums():
    c = BacktestConfig(execution_mode="same_bar", execution_price="CLOSE", share_type="fractional",
                       commission_type="per_contract")
    assert c.execution_mode is nl.ExecutionMode.SAME_BAR
    assert c.execution_price is ExecutionPrice.CLOSE
    assert c.commission_type is CommissionType.PER_SHARE


@pytest.mark.parametrize("field, value", [
    ("initial_cash", -1.0), ("initial_cash", math.nan), ("commission_rate", -0.1),
    ("commission_per_share", math.inf), ("slippage_rate", -1), ("slippage_fixed", "x"),
    ("execution_mode", "bogus"), ("share_type", 3), ("commission_type", "nope"),
])
def test_invalid_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        BacktestConfig(**{field: value})


def test_unknown_fields_and_unsupported_values_are_refused():
    with pytest.raises(TypeError, match="bogus"):
        BacktestConfig(bogus=1)
    with pytest.raises(ValueError, match="execution_price must be one of"):
        BacktestConfig(execution_price="twap")
    assert BacktestConfig(execution_price="vwap", mark_price="quote_side").mark_price.name == "QUOTE_SIDE"
    assert BacktestConfig(allow_short_selling=True, short_cash_policy="lock_notional").short_cash_policy.name == \
        "LOCK_NOTIONAL"
    with pytest.raises(ValueError, match="short_cash_policy must be one of"):
        BacktestConfig(short_cash_policy="borrow")


def test_margin_settings_are_checked_with_the_field_named():
    assert BacktestConfig(allow_leverage=True).initial_margin == 0.5
    with pytest.raises(ValueError, match=r"initial_margin must be a number in \(0, 1\], got 1.5"):
        BacktestConfig(allow_leverage=True, initial_margin=1.5)
    with pytest.raises(ValueError, match=r"short_maintenance_margin \(0.6\) must be <= initial_margin \(0.5\)"):
        BacktestConfig(allow_leverage=True, short_maintenance_margin=0.6)
    # Equal maintenance and initial margin is LEAN's setting.
    assert BacktestConfig(allow_leverage=True, long_maintenance_margin=0.5).long_maintenance_margin == 0.5
    with pytest.raises(ValueError, match="settlement_delay must be a whole number of bars from 0 to 5, got 7"):
        BacktestConfig(settlement_delay=7)
    with pytest.raises(ValueError, match="enforce_margin_calls=True needs a margin account"):
        BacktestConfig(enforce_margin_calls=True)
    with pytest.raises(ValueError, match="borrow_rate must be a finite number >= 0, got -0.01"):
        BacktestConfig(borrow_rate=-0.01)


def test_cost_types_are_inferred_from_rates_like_ml4t():
    assert BacktestConfig(commission_rate=0.001).resolved_commission_type() is CommissionType.PERCENTAGE
    assert BacktestConfig(commission_rate=0.5, commission_per_share=0.01).resolved_commission_type() \
        is CommissionType.PER_SHARE
    assert BacktestConfig(commission_minimum=1.0).resolved_commission_type() is CommissionType.NONE
    assert BacktestConfig(slippage_fixed=0.1, slippage_rate=0.1).resolved_slippage_type() is SlippageType.FIXED


def test_round_trip_through_dict_and_json():
    c = BacktestConfig(initial_cash=5e4, execution_mode="same_bar", commission_rate=0.002)
    assert BacktestConfig.from_dict(c.to_dict()) == c
    assert msgspec.json.decode(msgspec.json.encode(c), type=BacktestConfig) == c
    assert "commission_rate: 0.002" in c.describe()
    # A volume model's rate is a coefficient, and is described as one.
    volume = BacktestConfig(slippage_type="cumulative_volume_share", slippage_rate=0.1)
    assert volume.describe().endswith("slippage model: cumulative_volume_share coefficient=0.1")
    with pytest.raises(ValueError, match="unknown BacktestConfig fields"):
        BacktestConfig.from_dict({"nope": 1})


def test_engine_revalidates_fields_assigned_after_construction(prices):
    c = BacktestConfig()
    c.commission_rate = -5.0

    class Idle(nl.Strategy):
        def on_data(self, *args):
            pass

    with pytest.raises(ValueError, match="commission_rate"):
        nl.Engine(nl.DataFeed(prices_df=prices), Idle(), c)


def test_presets_and_round_trips():
    cfg = BacktestConfig.from_preset("backtrader", initial_cash=50_000)
    assert (cfg.preset_name, cfg.fill_ordering.value, cfg.stop_level_basis.value, cfg.initial_cash) == (
        "backtrader", "fifo", "signal_price", 50_000.0)
    realistic = BacktestConfig.from_preset("realistic")
    assert (realistic.commission_rate, realistic.cash_buffer_pct, realistic.stop_fill_mode.value) == (
        0.002, 0.02, "next_bar_open")
    for fmt in ("json", "yaml", "toml"):
        text = getattr(cfg, f"to_{fmt}")()
        assert getattr(BacktestConfig, f"from_{fmt}")(text) == cfg, fmt
    with pytest.raises(ValueError, match="Unknown preset 'nope'"):
        BacktestConfig.from_preset("nope")
    strict = BacktestConfig.from_preset("vectorbt_strict")
    assert (strict.short_cash_policy.value, strict.fill_ordering.value, strict.entry_order_priority.value,
            strict.partial_fills_allowed, strict.reject_on_insufficient_cash, strict.immediate_fill) == (
        "lock_notional", "priority", "free_cash_asc", True, True, False)
    assert BacktestConfig.from_preset("vectorbt").immediate_fill is True
    # The strict presets' cash models are fields like any other (and round-trip).
    lean = BacktestConfig.from_preset("lean")
    assert BacktestConfig.from_json(lean.to_json()) == lean and lean.next_bar_queue_shadow_validation is True
    assert BacktestConfig.from_preset("backtrader_strict").next_bar_simple_cash_check is True
    with pytest.raises(ValueError, match="next_bar_submission_precheck must be True or False, got 1"):
        BacktestConfig(next_bar_submission_precheck=1)
    assert "fill_ordering: fifo" in cfg.describe()


def test_queue_validation_over_locked_collateral_is_refused():
    with pytest.raises(ValueError, match="next_bar_queue_shadow_validation with short_cash_policy=LOCK_NOTIONAL"):
        BacktestConfig(allow_short_selling=True, short_cash_policy="lock_notional",
                       next_bar_queue_shadow_validation=True)
