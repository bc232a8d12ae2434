"""Config wiring: next_bar_execution_price changes fills (engine and standalone
broker), ml4t's nested dict form, validate(warn=...), profiles and broker
assumptions, and the settings a config may hold that the engine refuses.

Bars are the fixture's (tests/conftest.py): AAA bar 1 is 102/104/101/103,
bar 2 is 104/106/103/105.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime

import pytest

import nautilus_like as nl
from nautilus_like.config import (
    BacktestConfig,
    CancelPolicy,
    DataFrequency,
    ExecutionPrice,
    LateAssetPolicy,
    LockNotionalUpdateMode,
)
from nautilus_like.core.shared import (
    CASH_TOLERANCE,
    QUANTITY_ZERO_FLOOR,
    QUANTITY_ZERO_ULPS,
    quantity_zero_tolerance,
)
from nautilus_like.profiles import get_assumption_preset, get_profile_config, list_profiles

from conftest import Scripted


def _buy_on_bar0_fill(prices, **config):
    strategy = Scripted({0: [lambda b: b.submit_order("AAA", 10)]})
    result = nl.Engine(nl.DataFeed(prices_df=prices), strategy, BacktestConfig(**config)).run()
    return [(f.price, f.timestamp.day) for f in result.fills]


@pytest.mark.parametrize("source, expected", [
    (None, 102.0),                         # bar 1's open, as ever
    (ExecutionPrice.CLOSE, 103.0),         # bar 1's close
    (ExecutionPrice.MID, 102.5),           # (104 + 101) / 2
    ("close", 103.0),                      # text is coerced
])
def test_next_bar_execution_price_prices_the_next_bar(prices, source, expected):
    # A buy submitted on bar 0 (Jan 1) fills on bar 1 (Jan 2).
    assert _buy_on_bar0_fill(prices, next_bar_execution_price=source) == [(expected, 2)]


def test_next_bar_execution_price_charges_costs_on_the_replaced_price(prices):
    # 10 AAA at bar 1's close 103 with 1% percentage slippage: 103 * 1.01 = 104.03;
    # a 0.1% commission on 1040.30 is 1.0403; cash 100_000 - 1040.30 - 1.0403.
    strategy = Scripted({0: [lambda b: b.submit_order("AAA", 10)]})
    cfg = BacktestConfig(next_bar_execution_price="close", slippage_rate=0.01, commission_rate=0.001)
    result = nl.Engine(nl.DataFeed(prices_df=prices), strategy, cfg).run()
    (fill,) = result.fills
    assert fill.price == pytest.approx(104.03)
    assert fill.commission == pytest.approx(1.0403)
    assert result.to_portfolio_state_dataframe()["cash"][-1] == pytest.approx(100_000 - 1040.30 - 1.0403)


def test_standalone_broker_open_pass_uses_next_bar_execution_price():
    broker = nl.Broker(execution_mode=nl.ExecutionMode.NEXT_BAR, next_bar_execution_price=ExecutionPrice.CLOSE)
    t0, t1 = datetime(2024, 1, 1), datetime(2024, 1, 2)
    broker._update_time(t0, {"A": 50.0}, {"A": 49.0}, {"A": 51.0}, {"A": 48.0}, {"A": 1e6}, {})
    broker.submit_order("A", 10)
    broker._update_time(t1, {"A": 60.0}, {"A": 55.0}, {"A": 61.0}, {"A": 54.0}, {"A": 1e6}, {})
    broker._process_orders(use_open=True)
    assert broker.get_position("A").entry_price == 60.0      # t1's close, not its 55 open
    assert broker.get_cash() == 100_000.0 - 600.0
    assert broker.next_bar_execution_price is ExecutionPrice.CLOSE


def test_settings_the_engine_cannot_run_yet_are_held_but_refused_by_a_run(prices):
    for name, value in [("late_asset_policy", LateAssetPolicy.REQUIRE_HISTORY),
                        ("late_asset_min_bars", 3),
                        ("retain_intent_history", True), ("retain_lifecycle_history", True)]:
        cfg = BacktestConfig(**{name: value})
        assert getattr(cfg, name) == value
        with pytest.raises(ValueError, match=f"{name}=.* is not supported by nautilus_like yet"):
            nl.Engine(nl.DataFeed(prices_df=prices), Scripted(), cfg)
        if not name.startswith("retain_"):          # (not Broker arguments in ml4t)
            with pytest.raises(ValueError, match=f"{name}=.* is not supported"):
                nl.Broker(**{name: value})
    # A standalone broker has no calendar sessions: SESSION_END is refused there
    # (an Engine runs it: tests/unit/test_session_runs.py).
    with pytest.raises(ValueError, match="cancel_policy=.* is not supported"):
        nl.Broker(cancel_policy=CancelPolicy.SESSION_END)
    with pytest.raises(ValueError, match="late_asset_min_bars must be a whole number >= 1, got 0"):
        BacktestConfig(late_asset_min_bars=0)
    with pytest.raises(ValueError, match="next_bar_execution_price must be one of"):
        BacktestConfig(next_bar_execution_price="tomorrow")


def test_data_frequency_accepts_ml4t_spellings():
    assert BacktestConfig().data_frequency is DataFrequency.DAILY
    assert BacktestConfig(data_frequency="minute").data_frequency is DataFrequency.MINUTE_1
    assert BacktestConfig(data_frequency="1h").data_frequency is DataFrequency.HOURLY
    assert DataFrequency("tick") is DataFrequency.IRREGULAR
    with pytest.raises(ValueError, match="data_frequency must be one of"):
        BacktestConfig(data_frequency="fortnightly")


# ------------------------------------------------------------------ nested form

def test_to_dict_is_ml4t_nested_form_and_round_trips():
    cfg = BacktestConfig(immediate_fill=True, mark_price="quote_mid", commission_rate=0.002, initial_cash=5e4,
                         settlement_delay=2, next_bar_execution_price="close",
                         allow_leverage=True, margin_pct_schedule={"ES": (0.05, 0.035)})
    d = cfg.to_dict()
    assert d["orders"]["immediate_fill"] is True
    assert d["execution"]["mark_price"] == "quote_mid"
    assert d["execution"]["next_bar_execution_price"] == "close"
    assert d["commission"] == {"model": "none", "rate": 0.002, "per_share": 0.0, "per_trade": 0.0, "minimum": 0.0}
    assert d["cash"] == {"initial": 5e4, "buffer_pct": 0.0}
    assert d["settlement"] == {"delay": 2, "reduces_buying_power": True}
    assert d["account"]["margin_pct_schedule"] == {"ES": [0.05, 0.035]}
    assert BacktestConfig.from_dict(d) == cfg
    assert BacktestConfig.from_dict(d, preset_name="mine").preset_name == "mine"


def test_from_dict_strictness_and_flat_form():
    with pytest.raises(ValueError, match=r"Unknown config section\(s\): \['bogus'\]"):
        BacktestConfig.from_dict({"bogus": {}})
    with pytest.raises(ValueError, match=r"Unknown key\(s\) in section 'cash': \['nope'\]"):
        BacktestConfig.from_dict({"cash": {"initial": 1.0, "nope": 2}})
    loose = BacktestConfig.from_dict({"cash": {"initial": 1.0, "nope": 2}, "extra": {}}, strict=False)
    assert loose.initial_cash == 1.0
    with pytest.raises(TypeError, match="Config data must be a dict, got list"):
        BacktestConfig.from_dict([])
    # The flat form (field names) is read too.
    assert BacktestConfig.from_dict({"initial_cash": 7.0, "calendar": None}).initial_cash == 7.0
    assert BacktestConfig.from_dict({"commission": {"model": "per_contract"}}).commission_type.value == "per_share"


def test_yaml_file_round_trip(tmp_path):
    cfg = BacktestConfig.from_preset("lean")
    path = tmp_path / "lean_run.yaml"
    assert cfg.to_yaml(path) is None
    restored = BacktestConfig.from_yaml(path)
    assert restored.preset_name == "lean_run"         # the file's stem, as ml4t names it
    assert BacktestConfig.from_yaml(str(path)) == restored
    assert restored.fill_ordering.value == "sequential" and restored.commission_minimum == 1.0
    assert BacktestConfig.from_yaml(cfg.to_yaml()).commission_per_share == 0.005


# -------------------------------------------------------------------- validate

def test_validate_returns_advice_and_warns_only_when_asked():
    cfg = BacktestConfig(execution_mode="same_bar")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        issues = cfg.validate(warn=False)
    assert any("look-ahead" in text for text in issues)
    assert any("Both commission and slippage are disabled" in text for text in issues)
    with pytest.warns(UserWarning) as record:
        cfg.validate()
    assert [str(w.message) for w in record] == issues
    # 0.6% slippage + 0.5% commission = 1.10% > 1%.
    costly = BacktestConfig(slippage_rate=0.006, commission_rate=0.005)
    assert costly.validate(warn=False) == [
        "Total transaction cost (1.10%) is high. Verify this matches your broker's actual costs."]
    cfg.commission_rate = -1.0
    with pytest.raises(ValueError, match="commission_rate must be a finite number >= 0"):
        cfg.validate(warn=False)


# -------------------------------------------------------------------- profiles

def test_profiles_are_the_presets_in_nested_form():
    assert list_profiles() == ["backtrader", "default", "lean", "realistic", "vectorbt", "zipline"]
    zipline = get_profile_config("zipline")
    assert zipline["orders"]["fill_ordering"] == "fifo" and zipline["stops"]["stop_fill_mode"] == "next_bar_open"
    assert get_profile_config("zipline_strict") == get_profile_config("zipline")
    assert get_profile_config("vectorbt_strict") != get_profile_config("vectorbt")
    assert get_profile_config("quantconnect") == get_profile_config("lean")
    zipline["orders"]["fill_ordering"] = "changed"        # a copy each call
    assert get_profile_config("zipline")["orders"]["fill_ordering"] == "fifo"
    with pytest.raises(ValueError, match="Unknown preset 'nope'. Available: backtrader"):
        get_profile_config("nope")
    oss = BacktestConfig.from_preset("vectorbt_oss_strict")
    assert (oss.lock_notional_update_mode, oss.entry_order_priority.value) == (
        LockNotionalUpdateMode.COMBINED_ORDER, "order_value_asc")
    assert BacktestConfig.from_preset("vectorbt_futures_strict").immediate_fill is True


def test_broker_assumptions_name_a_preset():
    assert get_assumption_preset(broker="Interactive Brokers", region="USA", asset_class="equities",
                                 plan="fixed") == "ibkr_us_stocks_fixed"
    with pytest.raises(ValueError, match="Unknown broker assumptions"):
        get_assumption_preset(broker="nobody", region="us", asset_class="stocks", plan="fixed")
    cfg = BacktestConfig.from_assumptions(broker="ibkr", region="us", asset_class="stocks", plan="fixed",
                                          overrides={"cash": {"initial": 2e5}}, allow_short_selling=True)
    assert (cfg.commission_per_share, cfg.commission_minimum, cfg.initial_cash, cfg.allow_short_selling,
            cfg.preset_name) == (0.005, 1.0, 2e5, True, "ibkr_us_stocks_fixed")


def test_user_config_layers_defaults_assumptions_and_overrides(tmp_path):
    (tmp_path / "defaults.yaml").write_text("cash:\n  initial: 250000\ncommission:\n  per_share: 0.01\n")
    assert BacktestConfig.from_user_config(config_dir=tmp_path).commission_per_share == 0.01
    (tmp_path / "assumptions.yaml").write_text(
        "default_assumptions: {broker: ibkr, region: us, asset_class: stocks, plan: fixed}\n"
        "brokers: {ibkr: {us: {stocks: {fixed: {commission: {minimum: 0.35}}}}}}\n")
    cfg = BacktestConfig.from_user_config(config_dir=tmp_path)
    # The preset's per-share fee (the defaults' commission is ignored), the
    # defaults' cash, the broker's minimum.
    assert (cfg.commission_per_share, cfg.initial_cash, cfg.commission_minimum, cfg.preset_name) == (
        0.005, 250_000.0, 0.35, "user_config")
    with pytest.raises(ValueError, match="must specify broker, region, asset_class, and plan together"):
        BacktestConfig.from_user_config(config_dir=tmp_path / "empty", broker="ibkr")


def test_shared_tolerances():
    assert (CASH_TOLERANCE, QUANTITY_ZERO_FLOOR, QUANTITY_ZERO_ULPS) == (0.01, 1e-12, 16)
    q = 10_927.322882
    assert quantity_zero_tolerance(-q, q) == 16 * math.ulp(q)
    assert quantity_zero_tolerance(1e-3) == QUANTITY_ZERO_FLOOR        # 16 ulps of 1e-3 < 1e-12
    assert quantity_zero_tolerance(math.inf, math.nan) == QUANTITY_ZERO_FLOOR


def test_every_field_has_a_place_in_the_nested_form():
    # A field missing from config._SECTIONS would silently drop out of to_dict() and files.
    from nautilus_like.config import _SECTIONS

    placed = [field for keys in _SECTIONS.values() for field in keys.values()]
    assert len(placed) == len(set(placed))
    # feed_spec is to_dict()'s "feed" section (FeedSpec.to_dict()).
    assert set(placed) | {"preset_name", "metadata", "feed_spec"} == set(BacktestConfig.__struct_fields__)
    # The free-form metadata section round-trips beside the preset's name.
    config = BacktestConfig(metadata={"strategy_id": "s-1"}, preset_name="default")
    assert config.to_dict()["metadata"] == {"strategy_id": "s-1", "preset_name": "default"}
    again = BacktestConfig.from_dict(config.to_dict())
    assert again.metadata == {"strategy_id": "s-1"} and again.preset_name == "default"
    with pytest.raises(TypeError, match="metadata must be a dict, got list"):
        BacktestConfig(metadata=["x"])


def test_from_dict_reads_ml4t_written_sections_at_the_values_we_behave_as():
    # ml4t's to_dict() of a default config carries calendar/feed keys we have no field for.
    data = {"calendar": {"time_contract_version": 2, "periods_per_year": None, "timezone": "UTC",
                         "data_frequency": "1h", "enforce_sessions": False},
            "feed": {"timestamp_col": "timestamp", "entity_col": None, "price_col": "close", "vwap_col": None,
                     "timezone": "UTC", "data_frequency": "daily", "time_contract_version": 2},
            "result": {"retain_intent_history": False, "retain_lifecycle_history": False}, "metadata": {}}
    assert BacktestConfig.from_dict(data).data_frequency is DataFrequency.HOURLY
    assert BacktestConfig.from_dict({"calendar": {"enforce_sessions": True}}).enforce_sessions is True
    assert BacktestConfig.from_dict({"calendar": {"periods_per_year": 365}}).periods_per_year == 365.0
    # The "feed" section is the config's feed_spec; unknown keys in it are refused (strict).
    assert BacktestConfig.from_dict({"feed": {"price_col": "mid"}}).feed_spec.price_col == "mid"
    with pytest.raises(ValueError, match=r"Unknown key\(s\) in section 'feed': \['price_column'\]"):
        BacktestConfig.from_dict({"feed": {"price_column": "mid"}})
