"""`BacktestConfig`: the behavioural settings of a backtest, as a msgspec struct.

Field names, enum members and defaults are ml4t-backtest 0.2.0's, for the
settings nautilus_like implements so far. The defaults and the checks of the
settings the engine reads come from Rust (`EngineConfig::default` and
`EngineConfig::validate`, through `nautilus_like._rust`); only the Python-side
fields (cost rates, rebalancing helpers, margin schedules) are defined here.
Values are validated when the config is built (and again when an `Engine` uses
it), with errors naming the field:

>>> BacktestConfig(commission_type="percentage", commission_rate=0.001)
>>> BacktestConfig(commission_rate=-1)
Traceback (most recent call last):
ValueError: commission_rate must be a finite number >= 0, got -1
"""

from __future__ import annotations

import math
import os
import warnings
from enum import Enum
from pathlib import Path
from typing import Any

import msgspec
import msgspec.json
import msgspec.toml
import msgspec.yaml

from nautilus_like import _rust
from nautilus_like.feed_spec import FeedSpec, inherit_time_fields, is_feed_spec
from nautilus_like.time_semantics import UNSET_CALENDAR, coerce_frequency, is_unset_calendar
from nautilus_like.types import ExecutionMode, StopFillMode, StopLevelBasis

__all__ = [
    "BacktestConfig",
    "CancelPolicy",
    "CommissionType",
    "DataFrequency",
    "LateAssetPolicy",
    "LockNotionalUpdateMode",
    "ConditionalOrderMode",
    "EntryOrderPriority",
    "FillOrdering",
    "SpreadConvention",
    "StopFillMode",
    "StopLevelBasis",
    "TrailStopTiming",
    "WaterMarkSource",
    "InitialHwmSource",
    "LimitGapFill",
    "MissingPricePolicy",
    "RebalanceMode",
    "ShortCashPolicy",
    "ShareRounding",
    "ExecutionMode",
    "ExecutionPrice",
    "ShareType",
    "SlippageType",
]


class ExecutionPrice(str, Enum):
    """Which bar price orders fill at (and, as `mark_price`, positions are valued at).

    NEXT_BAR fills at the next open unless the source is VWAP or a quote (BID,
    ASK, QUOTE_MID, QUOTE_SIDE = buys at the ask, sells at the bid). Quotes fall
    back to the reference price where a bar has none; VWAP does not (no fill).
    Quote and VWAP columns are named in `DataFeed(vwap_col=, bid_col=, ...)`.
    """

    PRICE = "price"
    CLOSE = "close"
    OPEN = "open"
    VWAP = "vwap"
    MID = "mid"
    BID = "bid"
    ASK = "ask"
    QUOTE_MID = "quote_mid"
    QUOTE_SIDE = "quote_side"


class ConditionalOrderMode(str, Enum):
    """What limit/stop triggers compare: the fill bar's high/low, or only the execution price."""

    BAR_OHLC = "bar_ohlc"
    EXECUTION_PRICE = "execution_price"


class LimitGapFill(str, Enum):
    """The price of a limit order whose bar opens through the limit.

    LIMIT (ml4t-backtest's rule) fills at the limit price even when the open was
    better; OPEN fills at the open, the price improvement a real venue gives.
    """

    LIMIT = "limit"
    OPEN = "open"


class ShareType(str, Enum):
    FRACTIONAL = "fractional"
    INTEGER = "integer"


class CommissionType(str, Enum):
    NONE = "none"
    PERCENTAGE = "percentage"
    PER_SHARE = "per_share"
    PER_ORDER_PER_SHARE = "per_order_per_share"
    PER_ORDER = "per_order"
    PER_TRADE = "per_trade"
    TIERED = "tiered"
    PER_CONTRACT = "per_share"  # alias of PER_SHARE, as in ml4t-backtest

    @classmethod
    def _missing_(cls, value: object) -> CommissionType | None:
        return cls.PER_SHARE if value == "per_contract" else None


class SlippageType(str, Enum):
    NONE = "none"
    PERCENTAGE = "percentage"
    FIXED = "fixed"
    SPREAD = "spread"
    VOLUME_BASED = "volume_based"
    CUMULATIVE_VOLUME_SHARE = "cumulative_volume_share"


class SpreadConvention(str, Enum):
    """Whether `slippage_spread` is the full quoted spread (half is paid per side) or the half spread."""

    FULL_SPREAD = "full_spread"
    HALF_SPREAD = "half_spread"


class TrailStopTiming(str, Enum):
    """Whether a trailing stop's water mark includes the current bar (see `risk.TrailingStop`)."""

    LAGGED = "lagged"
    INTRABAR = "intrabar"
    VBT_PRO = "vbt_pro"


class DataFrequency(str, Enum):
    """Bar frequency of a data set (ml4t-backtest's constants; `DAILY` etc. at
    the package level). nautilus_like does not use it to schedule anything yet.
    Common spellings ("minute", "1min", "hour", "1d") are accepted."""

    @classmethod
    def _missing_(cls, value: object) -> DataFrequency | None:
        text = str(value).strip().lower()
        for member, spellings in _FREQUENCY_SPELLINGS.items():
            if text in spellings:
                return cls(member)
        return None

    DAILY = "daily"
    MINUTE_1 = "1m"
    MINUTE_5 = "5m"
    MINUTE_15 = "15m"
    MINUTE_30 = "30m"
    HOURLY = "1h"
    IRREGULAR = "irregular"


_FREQUENCY_SPELLINGS = {
    "daily": ("1d", "d", "day"), "1m": ("minute", "1min"), "5m": ("5min", "5minute"),
    "15m": ("15min", "15minute"), "30m": ("30min", "30minute"), "1h": ("hour", "hourly"),
    "irregular": ("tick", "second", "weekly", "monthly"),
}


class LateAssetPolicy(str, Enum):
    """How target-weight rebalancing treats assets that start late (ml4t's
    values). nautilus_like rebalances every asset with a price (ALLOW); a
    standalone Broker refuses REQUIRE_HISTORY until it is supported."""

    ALLOW = "allow"
    REQUIRE_HISTORY = "require_history"


class LockNotionalUpdateMode(str, Enum):
    """Floating-point operation order of locked-notional cash updates under
    ``short_cash_policy=LOCK_NOTIONAL`` (ml4t's values).

    POSITION_LEGS (default, VectorBT PRO): a fill's closing leg is settled,
    then its opening leg. COMBINED_ORDER (VectorBT OSS, the
    ``vectorbt_oss_strict`` preset): the fill's gross cash and its change of
    short debt are settled as one order, and covers and sales are sized by
    that arithmetic (a cover never spends more than the account's cash).

    >>> BacktestConfig(allow_short_selling=True, short_cash_policy="lock_notional",
    ...                lock_notional_update_mode="combined_order").lock_notional_update_mode
    <LockNotionalUpdateMode.COMBINED_ORDER: 'combined_order'>
    """

    POSITION_LEGS = "position_legs"
    COMBINED_ORDER = "combined_order"


class CancelPolicy(str, Enum):
    """When working orders are cancelled (ml4t's values). nautilus_like keeps
    them until filled or cancelled (NEVER); SESSION_END needs exchange
    sessions, which come with calendars."""

    NEVER = "never"
    SESSION_END = "session_end"


class WaterMarkSource(str, Enum):
    """What moves water marks (and MFE/MAE) after the entry bar: the close, or the bar's high/low."""

    CLOSE = "close"
    BAR_EXTREME = "bar_extreme"


class InitialHwmSource(str, Enum):
    """A new position's starting water marks."""

    FILL_PRICE = "fill_price"
    BAR_CLOSE = "bar_close"
    BAR_HIGH = "bar_high"
    SIGNAL_PRICE = "signal_price"


class ShareRounding(str, Enum):
    """How rebalancing helpers round target share counts (ml4t-backtest's field)."""

    NEAREST = "nearest"
    TRUNCATE = "truncate"


class RebalanceMode(str, Enum):
    """How rebalancing helpers account for pending orders (ml4t-backtest's field)."""

    SNAPSHOT = "snapshot"
    INCREMENTAL = "incremental"
    HYBRID = "hybrid"


class MissingPricePolicy(str, Enum):
    """Whether rebalancing helpers size assets without a bar from their last price."""

    SKIP = "skip"
    USE_LAST = "use_last"


class FillOrdering(str, Enum):
    """The order in which one matching pass visits pending orders.

    EXIT_FIRST (default): exits, then a mark, then entries (by `entry_order_priority`),
    so exits free cash first. FIFO / SEQUENTIAL: submission order, positions marked
    after every fill. PRIORITY: every order sorted by `entry_order_priority`, then as FIFO.
    """

    EXIT_FIRST = "exit_first"
    FIFO = "fifo"
    SEQUENTIAL = "sequential"
    PRIORITY = "priority"


class EntryOrderPriority(str, Enum):
    """How entries compete for cash in one pass (see `FillOrdering`)."""

    SUBMISSION = "submission"
    NOTIONAL_DESC = "notional_desc"
    NOTIONAL_ASC = "notional_asc"
    FREE_CASH_ASC = "free_cash_asc"
    ORDER_VALUE_ASC = "order_value_asc"


class ShortCashPolicy(str, Enum):
    """How short-sale proceeds count toward spendable cash in a short-enabled
    account without leverage (ml4t-backtest's field).

    CREDIT (default): proceeds are cash. CREDIT_PROCEEDS: proceeds are held against
    the short (spendable cash excludes the shorts' entry notional; shorts need no
    cash). LOCK_NOTIONAL: VectorBT's locked collateral: a short locks its proceeds
    and as much again, entries spend the remaining free cash with no tolerance, and
    covers and reversals are sized by it (the `vectorbt_strict` preset).
    """

    CREDIT = "credit"
    CREDIT_PROCEEDS = "credit_proceeds"
    LOCK_NOTIONAL = "lock_notional"


# Every integer code of the C ABI, by its name in the generated header
# (`nautilus_like.h`): the only source of codes in the Python layer.
CODES: dict[str, int] = _rust.codes()

# The engine's settings (the fields of `NlEngineConfig`) at `EngineConfig::default()`,
# enum fields as header codes. BacktestConfig's fields of the same names take
# their defaults from here.
_ENGINE_DEFAULTS: dict[str, Any] = _rust.engine_config_default()

# The header enum behind each enum-valued engine setting; a Python member NAME
# has the code CODES[f"{prefix}_{NAME}"].
_ENGINE_ENUMS: dict[str, tuple[type[Enum], str]] = {
    "execution_mode": (ExecutionMode, "EXECUTION_MODE"),
    "execution_price": (ExecutionPrice, "EXECUTION_PRICE"),
    "mark_price": (ExecutionPrice, "EXECUTION_PRICE"),
    "next_bar_execution_price": (ExecutionPrice, "EXECUTION_PRICE"),
    "share_type": (ShareType, "SHARE_TYPE"),
    "conditional_order_mode": (ConditionalOrderMode, "CONDITIONAL_ORDER_MODE"),
    "limit_gap_fill": (LimitGapFill, "LIMIT_GAP_FILL"),
    "fill_ordering": (FillOrdering, "FILL_ORDERING"),
    "entry_order_priority": (EntryOrderPriority, "ENTRY_ORDER_PRIORITY"),
    "stop_fill_mode": (StopFillMode, "STOP_FILL_MODE"),
    "stop_level_basis": (StopLevelBasis, "STOP_LEVEL_BASIS"),
    "trail_stop_timing": (TrailStopTiming, "TRAIL_STOP_TIMING"),
    "trail_hwm_source": (WaterMarkSource, "WATER_MARK_SOURCE"),
    "initial_hwm_source": (InitialHwmSource, "INITIAL_HWM_SOURCE"),
    "short_cash_policy": (ShortCashPolicy, "NL_SHORT_CASH"),
    "lock_notional_update_mode": (LockNotionalUpdateMode, "NL_LOCK_NOTIONAL_UPDATE"),
}


def _enum_codes(enum: type[Enum], prefix: str) -> dict[Enum, int]:
    """`{member: header code}`; KeyError at import when the header lacks a member."""
    return {member: CODES[f"{prefix}_{member.name}"] for member in enum}


_TO_CODE: dict[str, dict[Enum | None, int]] = {f: _enum_codes(e, p) for f, (e, p) in _ENGINE_ENUMS.items()}
# Optional engine enums: None crosses as the header's UNSET code.
_OPTIONAL_ENUMS = {"next_bar_execution_price": "NL_EXECUTION_PRICE_UNSET"}
for _field, _unset in _OPTIONAL_ENUMS.items():
    _TO_CODE[_field][None] = CODES[_unset]

# ml4t-backtest settings a config holds whose other values the engine does not
# implement yet (field: the one value it runs with). A config may carry them
# (presets, files written for ml4t); an Engine or Broker built from one refuses.
_NOT_YET_SUPPORTED: dict[str, Any] = {
    "late_asset_policy": "allow", "late_asset_min_bars": 1,
    # Result evidence of ml4t's target intents and lifecycle dispatch (features nautilus_like lacks).
    "retain_intent_history": False, "retain_lifecycle_history": False,
}


def _engine_default(field: str) -> Any:
    """The Rust default of engine setting `field`, as BacktestConfig holds it."""
    value = _ENGINE_DEFAULTS[field]
    if field in _TO_CODE:
        return next(member for member, code in _TO_CODE[field].items() if code == value)
    return value


def engine_settings(config: BacktestConfig) -> dict[str, Any]:
    """`config`'s engine settings as the C ABI takes them (enums as header codes).

    Raises ValueError for a setting the engine cannot run yet (not silently
    ignored: fills would differ from what the config asks)."""
    for name, supported in _NOT_YET_SUPPORTED.items():
        value = getattr(config, name)
        if getattr(value, "value", value) != supported:
            raise ValueError(f"{name}={getattr(value, 'value', value)!r} is not supported by nautilus_like yet "
                             f"(only {supported!r})")
    return _engine_codes(config)


def _engine_codes(config: BacktestConfig) -> dict[str, Any]:
    """The engine's fields of `config`, enums as header codes."""
    return {field: _TO_CODE[field][getattr(config, field)] if field in _TO_CODE else getattr(config, field)
            for field in _ENGINE_DEFAULTS}


# Every enum-valued field: the engine's (above), then the Python-side ones.
_ENUM_FIELDS = {
    **{field: enum for field, (enum, _) in _ENGINE_ENUMS.items()},
    "commission_type": CommissionType,
    "slippage_type": SlippageType,
    "slippage_spread_convention": SpreadConvention,
    "share_rounding": ShareRounding,
    "rebalance_mode": RebalanceMode,
    "missing_price_policy": MissingPricePolicy,
    "late_asset_policy": LateAssetPolicy,
    "cancel_policy": CancelPolicy,
    "data_frequency": DataFrequency,
}

# Python-side rates (the engine's own numbers are range-checked in Rust).
_NON_NEGATIVE = (
    "commission_rate", "commission_per_share", "commission_per_trade", "commission_minimum", "slippage_rate",
    "slippage_fixed", "slippage_spread",
)


def _number(field: str, value: Any) -> float:
    """`value` as a float; ValueError naming `field` when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field} must be a number, got {value!r}")
    return float(value)


def _coerce_enum(field: str, enum: type[Enum], value: Any) -> Enum | None:
    if value is None and field in _OPTIONAL_ENUMS:
        return None
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value.lower())
        except ValueError:
            if value.upper() in enum.__members__:
                return enum.__members__[value.upper()]
    allowed = ", ".join(m.name for m in enum)
    raise ValueError(f"{field} must be one of {allowed}, got {value!r}")


def _margin_schedule(field: str, schedule: Any, fractions: bool) -> dict[str, tuple[float, float]] | None:
    """Validated {asset: (initial, maintenance)} (ml4t's messages): fractions
    in (0, 1], per-contract amounts > 0 and finite, maintenance < initial."""
    if schedule is None:
        return None
    if not isinstance(schedule, dict):
        raise ValueError(f"{field} must be a dict of asset -> (initial, maintenance), got {schedule!r}")
    out = {}
    for asset, value in schedule.items():
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(f"{field}[{asset!r}] must be a two-item (initial, maintenance) sequence, got {value!r}")
        try:
            initial, maintenance = (float(v) for v in value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{field}[{asset!r}] values must be numeric, got {value!r}") from None
        for name, rate in (("initial", initial), ("maintenance", maintenance)):
            if not (0.0 < rate and math.isfinite(rate)) or (fractions and rate > 1.0):
                bound = "in (0.0, 1.0]" if fractions else "a finite amount > 0"
                raise ValueError(f"{field}[{asset!r}] {name} margin ({rate}) must be {bound}")
        if maintenance >= initial:
            raise ValueError(f"{field}[{asset!r}] maintenance margin ({maintenance}) "
                             f"must be < initial margin ({initial})")
        out[asset] = (initial, maintenance)
    return out


def _checked_timezone(field: str, value: Any) -> str:
    """`value` when it names an IANA time zone; ValueError naming `field` otherwise."""
    from zoneinfo import ZoneInfo

    try:
        if not isinstance(value, str) or not value:
            raise ValueError
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):
        raise ValueError(f"{field} must be an IANA time zone name such as 'UTC' or 'America/New_York', "
                         f"got {value!r}") from None
    return value


# ml4t-backtest's nested form of a config (`to_dict()`): section -> {key: field}.
# Settings beyond ml4t sit in the section they belong to.
_SECTIONS: dict[str, dict[str, str]] = {
    "account": {k: k for k in (
        "allow_short_selling", "allow_leverage", "initial_margin", "long_maintenance_margin",
        "short_maintenance_margin", "fixed_margin_schedule", "margin_pct_schedule", "short_cash_policy",
        "lock_notional_update_mode", "enforce_margin_calls", "borrow_rate")},
    "execution": {k: k for k in (
        "execution_price", "mark_price", "execution_mode", "cancel_policy", "corporate_action_policy",
        "conditional_order_mode", "next_bar_execution_price", "limit_gap_fill")},
    "stops": {k: k for k in (
        "stop_fill_mode", "stop_level_basis", "trail_hwm_source", "trail_include_entry_bar_extremes",
        "initial_hwm_source", "trail_stop_timing")},
    "position_sizing": {"share_type": "share_type", "share_rounding": "share_rounding"},
    "commission": {"model": "commission_type", "rate": "commission_rate", "per_share": "commission_per_share",
                   "per_trade": "commission_per_trade", "minimum": "commission_minimum"},
    "slippage": {"model": "slippage_type", "rate": "slippage_rate", "fixed": "slippage_fixed",
                 "spread": "slippage_spread", "spread_by_asset": "slippage_spread_by_asset",
                 "spread_convention": "slippage_spread_convention", "stop_rate": "stop_slippage_rate"},
    "cash": {"initial": "initial_cash", "buffer_pct": "cash_buffer_pct"},
    "settlement": {"delay": "settlement_delay", "reduces_buying_power": "settlement_reduces_buying_power"},
    "orders": {k: k for k in (
        "reject_on_insufficient_cash", "skip_cash_validation", "partial_fills_allowed", "fill_ordering",
        "entry_order_priority", "next_bar_submission_precheck", "next_bar_simple_cash_check",
        "buying_power_reservation", "next_bar_queue_shadow_validation", "immediate_fill", "rebalance_mode",
        "rebalance_headroom_pct", "missing_price_policy", "late_asset_policy", "late_asset_min_bars")},
    "calendar": {k: k for k in ("calendar", "time_contract_version", "periods_per_year", "timezone",
                                "data_frequency", "enforce_sessions")},
    "result": {"retain_intent_history": "retain_intent_history", "retain_lifecycle_history": "retain_lifecycle_history"},
}


# Keys of ml4t-backtest's nested form that nautilus_like has no field for,
# with the values it behaves as (a file ml4t wrote holds them). Other values
# are refused by name rather than dropped. (The "feed" section is `feed_spec`.)
_ML4T_ONLY: dict[str, dict[str, Any]] = {
    "calendar": {},
    "feed": {},
}


def _check_ml4t_only(section: str, key: str, value: Any) -> None:
    """Accepts an ml4t-only key at the value nautilus_like behaves as; raises otherwise."""
    expected = _ML4T_ONLY[section][key]
    if value == expected or (isinstance(expected, tuple) and value in expected):
        return
    raise ValueError(f"{section}.{key}={value!r} is not supported by nautilus_like yet (only {expected!r})")


def _is_nested(data: dict[str, Any]) -> bool:
    """Whether `data` is `to_dict()`'s nested form rather than flat fields: a
    section holding a dict, or a dict under a name that is no field."""
    fields = BacktestConfig.__struct_fields__
    if not data:
        return True  # {} is ml4t's nested form with every default (time contract 1)
    return any(isinstance(v, dict) and (k in _SECTIONS or k in ("metadata", "feed") or k not in fields)
               for k, v in data.items())


def _feed_fields(values: Any, strict: bool) -> dict[str, Any]:
    """The `feed_spec` of a nested form's "feed" section ({} when empty)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise TypeError(f"Section 'feed' must be a dict, got {type(values).__name__}")
    known = FeedSpec.field_names()
    unknown = sorted(set(values) - known)
    if unknown and strict:
        raise ValueError(f"Unknown key(s) in section 'feed': {unknown}")
    spec = {k: v for k, v in values.items() if k in known}
    return {"feed_spec": spec} if spec else {}


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override` merged in, section by section (neither changed)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (_deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict)
                       else value)
    return merged


def _without_none(data: Any) -> Any:
    return {k: _without_none(v) for k, v in data.items() if v is not None} if isinstance(data, dict) else data


def _user_config_dir() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "ml4t" / "backtest"


def _yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file's mapping ({} when the file does not exist)."""
    if not path.exists():
        return {}
    return _mapping(msgspec.yaml.decode(path.read_bytes()) or {}, "the file", path)


def _mapping(value: Any, what: str, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"Expected mapping for {what} in {path}, got {type(value).__name__}")
    return value


class BacktestConfig(msgspec.Struct, kw_only=True, dict=True):
    """Settings of one backtest (ml4t-backtest's `BacktestConfig` fields and defaults).

    >>> cfg = BacktestConfig(initial_cash=50_000, execution_mode=ExecutionMode.SAME_BAR,
    ...                      execution_price=ExecutionPrice.CLOSE, commission_rate=0.001)
    """

    # Fields the engine reads default to Rust's `EngineConfig::default()`.
    initial_cash: float = _engine_default("initial_cash")
    allow_short_selling: bool = _engine_default("allow_short_selling")
    allow_leverage: bool = _engine_default("allow_leverage")
    # Margin account rates (fractions of notional; used when allow_leverage=True).
    initial_margin: float = _engine_default("initial_margin")
    long_maintenance_margin: float = _engine_default("long_maintenance_margin")
    short_maintenance_margin: float = _engine_default("short_maintenance_margin")
    # Futures-style margin per asset (margin accounts): (initial, maintenance)
    # per contract, or as fractions of notional. ContractSpec.margin /
    # margin_pct fill in assets not listed here.
    fixed_margin_schedule: dict[str, tuple[float, float]] | None = None
    margin_pct_schedule: dict[str, tuple[float, float]] | None = None
    short_cash_policy: ShortCashPolicy = _engine_default("short_cash_policy")
    # Bars until sale proceeds may fund entries (T+N); 0 = at once.
    settlement_delay: int = _engine_default("settlement_delay")
    settlement_reduces_buying_power: bool = _engine_default("settlement_reduces_buying_power")
    # SAME_BAR market orders from the strategy fill inside submit_order, at this
    # bar's execution price against the cash of that moment (VectorBT / LEAN).
    immediate_fill: bool = _engine_default("immediate_fill")
    # Beyond ml4t-backtest (off by default, so results match it): the engine
    # liquidates on a maintenance-margin breach, and charges an annual borrow
    # fee on short market value (ACT/365, accrued at each bar's close).
    enforce_margin_calls: bool = _engine_default("enforce_margin_calls")
    borrow_rate: float = _engine_default("borrow_rate")
    execution_mode: ExecutionMode = _engine_default("execution_mode")
    execution_price: ExecutionPrice = _engine_default("execution_price")
    mark_price: ExecutionPrice = _engine_default("mark_price")
    # The source of open-time passes instead of the open (None: the open, or
    # the configured quote/VWAP source). CLOSE: NEXT_BAR orders fill at the
    # close of the bar after the signal (Zipline's convention).
    next_bar_execution_price: ExecutionPrice | None = _engine_default("next_bar_execution_price")
    share_type: ShareType = _engine_default("share_type")
    commission_type: CommissionType = CommissionType.NONE
    commission_rate: float = 0.0
    commission_per_share: float = 0.0
    commission_per_trade: float = 0.0
    commission_minimum: float = 0.0
    slippage_type: SlippageType = SlippageType.NONE
    slippage_rate: float = 0.0
    slippage_fixed: float = 0.0
    slippage_spread: float = 0.0
    slippage_spread_by_asset: dict[str, float] = msgspec.field(default_factory=dict)
    slippage_spread_convention: SpreadConvention = SpreadConvention.FULL_SPREAD
    conditional_order_mode: ConditionalOrderMode = _engine_default("conditional_order_mode")
    limit_gap_fill: LimitGapFill = _engine_default("limit_gap_fill")
    partial_fills_allowed: bool = _engine_default("partial_fills_allowed")
    cash_buffer_pct: float = _engine_default("cash_buffer_pct")
    reject_on_insufficient_cash: bool = _engine_default("reject_on_insufficient_cash")
    skip_cash_validation: bool = _engine_default("skip_cash_validation")
    stop_fill_mode: StopFillMode = _engine_default("stop_fill_mode")
    stop_level_basis: StopLevelBasis = _engine_default("stop_level_basis")
    stop_slippage_rate: float = _engine_default("stop_slippage_rate")
    trail_stop_timing: TrailStopTiming = _engine_default("trail_stop_timing")
    trail_hwm_source: WaterMarkSource = _engine_default("trail_hwm_source")
    trail_include_entry_bar_extremes: bool = _engine_default("trail_include_entry_bar_extremes")
    initial_hwm_source: InitialHwmSource = _engine_default("initial_hwm_source")
    # As in ml4t-backtest 0.2.0, share_rounding and rebalance_mode are profile
    # metadata: `TargetWeightExecutor` takes both from its `RebalanceConfig`.
    share_rounding: ShareRounding = ShareRounding.NEAREST
    rebalance_mode: RebalanceMode = RebalanceMode.INCREMENTAL
    # `broker.rebalance_to_weights`: assets without a bar now are skipped or
    # sized at their last price; every weight is scaled by the headroom.
    missing_price_policy: MissingPricePolicy = MissingPricePolicy.SKIP
    rebalance_headroom_pct: float = 1.0
    preset_name: str | None = None
    # NEXT_BAR cash models of other frameworks (ml4t-backtest's settings; the
    # backtrader_strict and lean presets set them). submission_precheck: market
    # and MOC orders are checked against a shadow of the account when submitted
    # (REJECTED at once). simple_cash_check: Backtrader's open cash check (an
    # entry needs cash after the fill >= 0, nothing else). queue_shadow_validation:
    # LEAN's open pass validates the whole queue against a shadow account first.
    next_bar_submission_precheck: bool = _engine_default("next_bar_submission_precheck")
    next_bar_simple_cash_check: bool = _engine_default("next_bar_simple_cash_check")
    next_bar_queue_shadow_validation: bool = _engine_default("next_bar_queue_shadow_validation")
    # LEAN's buying-power reservation (any execution mode): market and MOC
    # orders reserve their cost (contract notional, shorts too, plus fees) in
    # the day's shadow account when submitted, REJECTED ("Insufficient buying
    # power") when it cannot pay; a SEQUENTIAL pass then fills entries unchecked.
    buying_power_reservation: bool = _engine_default("buying_power_reservation")
    fill_ordering: FillOrdering = _engine_default("fill_ordering")
    entry_order_priority: EntryOrderPriority = _engine_default("entry_order_priority")
    # How corporate actions would be applied ("declared_terms" or
    # "zipline_3_2", as ml4t). nautilus_like has no corporate actions yet, so
    # no run reads it; it is kept and validated for configs written for ml4t.
    corporate_action_policy: str = "declared_terms"
    # Exchange calendar: UNSET_CALENDAR (not chosen: the feed's, else NYSE;
    # see `resolved_calendar`) or None (none: sessions are the timestamps'
    # calendar days) or a pandas-market-calendars name (the calendars extra).
    # It sets annualization and session alignment of daily results, and is
    # enforced by `enforce_sessions` and `cancel_policy="session_end"` (DAY
    # orders keep calendar days). (Typed Any: msgspec cannot decode a union of
    # str and an enum.)
    calendar: Any = UNSET_CALENDAR
    # Bar frequency of the data (annualization; ml4t's field). Not given: the
    # feed spec's, else DAILY.
    data_frequency: DataFrequency | msgspec.UnsetType = msgspec.UNSET
    # Operation order of LOCK_NOTIONAL's free-cash ledger (LockNotionalUpdateMode).
    lock_notional_update_mode: LockNotionalUpdateMode = _engine_default("lock_notional_update_mode")
    # ml4t-backtest settings held for configs written for it; only the values
    # in _NOT_YET_SUPPORTED run (an Engine or Broker refuses the others).
    late_asset_policy: LateAssetPolicy = LateAssetPolicy.ALLOW
    late_asset_min_bars: int = 1
    cancel_policy: CancelPolicy = CancelPolicy.NEVER
    retain_intent_history: bool = False
    retain_lifecycle_history: bool = False
    # Free-form labels carried with the config into results and artifacts
    # (ml4t's `metadata`, e.g. {"strategy_id": ...}); no run reads them.
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    # ml4t's time contract: 2 (the default) tells "calendar not chosen"
    # (UNSET_CALENDAR) from "no calendar" (None); 1 (files written before it,
    # `from_dict`'s default) reads an unset calendar as None.
    time_contract_version: int = 2
    # Annualization of Sharpe, Sortino and volatility (None: from the
    # calendar and data_frequency, see `analytics.annualization`).
    periods_per_year: float | None = None
    # The zone of naive timestamps (IANA name). Not given: the feed spec's, else "UTC".
    timezone: str | msgspec.UnsetType = msgspec.UNSET
    # What the data declares about itself (`feed_spec.FeedSpec`, ml4t-specs'
    # FeedSpec, or a mapping): fills in calendar, timezone and data_frequency
    # the config leaves unset. An Engine merges its feed's spec the same way
    # (`merge_feed_spec`). Not compared by ==, as in ml4t.
    feed_spec: Any = None
    # Trade only bars inside the calendar's sessions (ml4t's field): the
    # others are passed over by the engine (no marks, fills or equity
    # point; `metrics["skipped_bars"]` counts them).
    enforce_sessions: bool = False

    def __post_init__(self) -> None:
        # Whether timezone / data_frequency were given: a feed spec fills in
        # only what was not (here, and in `merge_feed_spec`).
        self._explicit_timezone = self.timezone is not msgspec.UNSET
        self._explicit_data_frequency = self.data_frequency is not msgspec.UNSET
        if not self._explicit_timezone:
            self.timezone = "UTC"
        if not self._explicit_data_frequency:
            self.data_frequency = DataFrequency.DAILY
        if not isinstance(self.metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(self.metadata).__name__}")
        self._check()
        self._adopt_feed_spec()

    def _adopt_feed_spec(self) -> None:
        """The feed spec's timezone and frequency where none was given; its
        session start checked against the calendar in force."""
        if self.feed_spec is None:
            return
        spec = self._declared_spec()
        if not self._explicit_timezone and spec.timezone:
            self.timezone = _checked_timezone("feed_spec.timezone", spec.timezone)
        frequency = coerce_frequency(spec.data_frequency)
        if not self._explicit_data_frequency and frequency is not None:
            self.data_frequency = frequency
        if spec.session_start_time is not None:
            from nautilus_like.sessions import _validate_session_start_time

            try:
                _validate_session_start_time(self.resolved_calendar, spec.session_start_time)
            except ImportError:
                pass  # the calendar library (optional) is needed to check a boundary against an exchange's open

    def _declared_spec(self) -> FeedSpec:
        """`feed_spec` as our FeedSpec (the defaults when there is none)."""
        return FeedSpec.from_any(self.feed_spec)

    def __eq__(self, other: object) -> bool:
        # As ml4t: the feed spec and the free-form metadata are not compared.
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__struct_fields__
                   if f not in ("feed_spec", "metadata"))

    __hash__ = None  # type: ignore[assignment]

    def _with_flags_of(self, source: BacktestConfig) -> BacktestConfig:
        self._explicit_timezone = source._explicit_timezone
        self._explicit_data_frequency = source._explicit_data_frequency
        return self

    def __copy__(self) -> BacktestConfig:
        return msgspec.structs.replace(self)._with_flags_of(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> BacktestConfig:
        import copy

        fields = {f: copy.deepcopy(getattr(self, f), memo) for f in self.__struct_fields__}
        return msgspec.structs.replace(self, **fields)._with_flags_of(self)

    @property
    def resolved_calendar(self) -> str | None:
        """The exchange calendar in force: the config's choice (a name, or None
        for none), else the feed spec's, else NYSE. Under time contract 1 an
        unset calendar is None unless the feed spec names one.

        >>> BacktestConfig().resolved_calendar
        'NYSE'
        >>> BacktestConfig(calendar=None, feed_spec={"calendar": "CME_Equity"}).resolved_calendar
        >>> BacktestConfig(feed_spec={"calendar": "CME_Equity"}).resolved_calendar
        'CME_Equity'
        """
        spec = self._declared_spec()
        if self.time_contract_version == 1:
            if isinstance(self.calendar, str):
                return self.calendar
            return spec.calendar if isinstance(spec.calendar, str) else None
        return spec.resolve_calendar(calendar=self.calendar)

    @property
    def resolved_feed_spec(self) -> FeedSpec:
        """The feed spec with the config's calendar, timezone and frequency in force."""
        return self._declared_spec().with_overrides(
            time_contract_version=self.time_contract_version, calendar=self.resolved_calendar,
            timezone=self.timezone, data_frequency=self.data_frequency)

    @property
    def resolved_timezone(self) -> str:
        """The zone of naive timestamps in force ("UTC" when none is declared)."""
        return self.resolved_feed_spec.timezone or "UTC"

    @property
    def resolved_data_frequency(self) -> DataFrequency:
        return coerce_frequency(self.resolved_feed_spec.data_frequency) or self.data_frequency

    @property
    def resolved_session_start_time(self) -> str | None:
        return self.resolved_feed_spec.session_start_time

    @property
    def resolved_timestamp_semantics(self) -> Any:
        """The feed spec's `TimestampSemantics` (None: not declared)."""
        return self.resolved_feed_spec.timestamp_semantics

    def merge_feed_spec(self, feed_spec: Any) -> BacktestConfig:
        """This config with a feed's spec filling in what it leaves unset (the
        config is not changed; it is returned itself when nothing changes).

        A config that declares its own `feed_spec` keeps it; under time
        contract 2 the feed's calendar and time fields fill in only what that
        declaration leaves unset. A timezone or data_frequency given to the
        config is kept; otherwise the spec's applies. An Engine does this with
        its DataFeed's `feed_spec`.

        >>> BacktestConfig().merge_feed_spec({"timezone": "America/New_York"}).timezone
        'America/New_York'
        >>> BacktestConfig(timezone="UTC").merge_feed_spec({"timezone": "America/New_York"}).timezone
        'UTC'
        """
        chosen = self.feed_spec if self.feed_spec is not None else feed_spec
        if chosen is None:
            return self
        effective = FeedSpec.from_any(chosen)
        if self.time_contract_version == 2 and self.feed_spec is not None and feed_spec is not None:
            effective = inherit_time_fields(effective, FeedSpec.from_any(feed_spec))
        updates: dict[str, Any] = {}
        if not self._explicit_timezone and effective.timezone and effective.timezone != self.timezone:
            updates["timezone"] = effective.timezone
        frequency = coerce_frequency(effective.data_frequency)
        if not self._explicit_data_frequency and frequency is not None and frequency != self.data_frequency:
            updates["data_frequency"] = frequency
        if not updates and self.feed_spec is not None and self._declared_spec() == effective:
            return self
        spec = self.feed_spec if self.feed_spec is not None and self._declared_spec() == effective else effective
        return msgspec.structs.replace(self, feed_spec=spec, **updates)._with_flags_of(self)

    def validate(self, warn: bool = True) -> list[str]:
        """Checks (and normalizes) every field, then returns advice about
        settings that are valid but may mislead (ml4t-backtest's list: look-ahead
        in SAME_BAR mode, no costs at all, high costs, ...), also emitted as
        `UserWarning`s when `warn` is true.

        An invalid setting raises `ValueError` naming the field (the engine's
        settings are range-checked by Rust, whose message is raised as it is).

        >>> BacktestConfig(execution_mode="same_bar", commission_rate=0.001).validate(warn=False)
        ['SAME_BAR execution has look-ahead bias risk. Use NEXT_BAR execution mode for realistic backtesting.']
        """
        self._check()
        issues = self._advice()
        if warn:
            for text in issues:
                warnings.warn(text, UserWarning, stacklevel=2)
        return issues

    def _advice(self) -> list[str]:
        """Valid settings worth a second look (ml4t-backtest's wording)."""
        issues = []
        if self.execution_mode is ExecutionMode.SAME_BAR:
            issues.append("SAME_BAR execution has look-ahead bias risk. "
                          "Use NEXT_BAR execution mode for realistic backtesting.")
        commission, slippage = self.resolved_commission_type(), self.resolved_slippage_type()
        if commission is CommissionType.NONE and slippage is SlippageType.NONE:
            issues.append("Both commission and slippage are disabled. Results may be overly optimistic.")
        if slippage is SlippageType.VOLUME_BASED and not self.partial_fills_allowed:
            issues.append("Volume-based slippage without partial_fills_allowed may cause "
                          "orders to be rejected in low-volume conditions.")
        volume_models = (SlippageType.VOLUME_BASED, SlippageType.CUMULATIVE_VOLUME_SHARE)
        total = (0.0 if slippage in volume_models else self.slippage_rate) + self.commission_rate
        if total > 0.01:
            issues.append(f"Total transaction cost ({total:.2%}) is high. "
                          "Verify this matches your broker's actual costs.")
        if slippage is SlippageType.SPREAD and self.slippage_spread == 0.0 and not self.slippage_spread_by_asset:
            issues.append("slippage_type='spread' requires slippage_spread > 0 or slippage_spread_by_asset entries.")
        if self.share_type is ShareType.FRACTIONAL and self.preset_name == "realistic":
            issues.append("REALISTIC preset with fractional shares may not match all brokers. "
                          "Set share_type=INTEGER for most accurate simulation.")
        if self.allow_leverage:
            for name in ("long_maintenance_margin", "short_maintenance_margin"):
                if getattr(self, name) == self.initial_margin:
                    issues.append(f"{name} ({getattr(self, name)}) equals initial_margin ({self.initial_margin}): "
                                  f"any loss on a fully margined position is a margin call")
        return issues

    def _check(self) -> None:
        """Checks (and normalizes) every field; raises `ValueError` naming the field.

        Types are checked here; the engine's settings are then range-checked by
        Rust (`EngineConfig::validate`), whose message is raised as it is."""
        for field, enum in _ENUM_FIELDS.items():
            setattr(self, field, _coerce_enum(field, enum, getattr(self, field)))
        for field in _NON_NEGATIVE:
            value = getattr(self, field)
            if not math.isfinite(_number(field, value)) or value < 0:
                raise ValueError(f"{field} must be a finite number >= 0, got {value!r}")
            setattr(self, field, float(value))
        spreads = self.slippage_spread_by_asset
        if not isinstance(spreads, dict):
            raise ValueError(f"slippage_spread_by_asset must be a dict of asset -> spread, got {spreads!r}")
        for asset, spread in spreads.items():
            if not isinstance(asset, str) or isinstance(spread, bool) or not isinstance(spread, (int, float)) \
                    or not math.isfinite(spread) or spread < 0:
                raise ValueError(
                    f"slippage_spread_by_asset[{asset!r}] must be a finite number >= 0, got {spread!r}")
        self.slippage_spread_by_asset = {k: float(v) for k, v in spreads.items()}
        version = self.time_contract_version
        if isinstance(version, bool) or not isinstance(version, int) or version not in (1, 2):
            raise ValueError(f"time_contract_version must be 1 or 2, got {version!r}")
        # ml4t-specs' marker, or its JSON text ("unset"), is ours.
        if is_unset_calendar(self.calendar) or self.calendar == "unset":
            self.calendar = UNSET_CALENDAR if version == 2 else None
        elif self.calendar is not None and not (isinstance(self.calendar, str) and self.calendar.strip()):
            raise ValueError(f"calendar must be an exchange calendar name (e.g. 'NYSE'), None for none, or "
                             f"left unset, got {self.calendar!r}")
        periods = self.periods_per_year
        if periods is not None:
            if isinstance(periods, bool) or not isinstance(periods, int | float) or not math.isfinite(periods) \
                    or periods <= 0:
                raise ValueError(f"periods_per_year must be a positive finite number or None, got {periods!r}")
            self.periods_per_year = float(periods)
        _checked_timezone("timezone", self.timezone)
        if self.feed_spec is not None and not is_feed_spec(self.feed_spec):
            self.feed_spec = FeedSpec.from_any(self.feed_spec)
        if not isinstance(self.enforce_sessions, bool):
            raise ValueError(f"enforce_sessions must be True or False, got {self.enforce_sessions!r}")
        if self.corporate_action_policy not in ("declared_terms", "zipline_3_2"):
            raise ValueError(f"corporate_action_policy must be 'declared_terms' or 'zipline_3_2', "
                             f"got {self.corporate_action_policy!r}")
        headroom = self.rebalance_headroom_pct
        if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or not 0.0 < headroom <= 1.0:
            raise ValueError(f"rebalance_headroom_pct must be a number in (0, 1], got {headroom!r}")
        self.rebalance_headroom_pct = float(headroom)
        for field, default in _ENGINE_DEFAULTS.items():
            value = getattr(self, field)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{field} must be True or False, got {value!r}")
            elif isinstance(default, float):
                setattr(self, field, _number(field, value))
        delay = self.settlement_delay
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            raise ValueError(f"settlement_delay must be a whole number of bars >= 0, got {delay!r}")
        for name in ("retain_intent_history", "retain_lifecycle_history"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        bars = self.late_asset_min_bars
        if isinstance(bars, bool) or not isinstance(bars, int) or bars < 1:
            raise ValueError(f"late_asset_min_bars must be a whole number >= 1, got {bars!r}")
        self._validate_python_side()
        _rust.validate_engine_config(_engine_codes(self))

    def _validate_python_side(self) -> None:
        """Checks of the fields only Python reads, and of combinations with them."""
        # (A cash account holds margin schedules, as ml4t's does, and ignores them.)
        self.fixed_margin_schedule = _margin_schedule("fixed_margin_schedule", self.fixed_margin_schedule, False)
        self.margin_pct_schedule = _margin_schedule("margin_pct_schedule", self.margin_pct_schedule, True)
        both = sorted(set(self.fixed_margin_schedule or {}) & set(self.margin_pct_schedule or {}))
        if both:
            raise ValueError(f"fixed_margin_schedule and margin_pct_schedule cannot both define: {both}")
        if self.immediate_fill and self.missing_price_policy is MissingPricePolicy.USE_LAST:
            raise ValueError("immediate_fill with missing_price_policy=USE_LAST (fills at a stale price) "
                             "is not supported by nautilus_like yet")

    def resolved_commission_type(self) -> CommissionType:
        """The commission model in effect: NONE is inferred from the rate fields
        (per-share first, then per-trade, then percentage), as ml4t-backtest does."""
        if self.commission_type is not CommissionType.NONE:
            return self.commission_type
        if self.commission_per_share > 0:
            return CommissionType.PER_SHARE
        if self.commission_per_trade > 0:
            return CommissionType.PER_TRADE
        if self.commission_rate > 0:
            return CommissionType.PERCENTAGE
        return CommissionType.NONE

    def resolved_slippage_type(self) -> SlippageType:
        """The slippage model in effect: NONE is inferred (spread first, then fixed, then
        percentage), as ml4t-backtest does."""
        if self.slippage_type is not SlippageType.NONE:
            return self.slippage_type
        if self.slippage_spread > 0 or self.slippage_spread_by_asset:
            return SlippageType.SPREAD
        if self.slippage_fixed > 0:
            return SlippageType.FIXED
        if self.slippage_rate > 0:
            return SlippageType.PERCENTAGE
        return SlippageType.NONE

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> BacktestConfig:
        """A framework preset ("default", "backtrader", "zipline", "zipline_strict",
        "realistic", ...) with ml4t-backtest's values, then `overrides`.

        >>> BacktestConfig.from_preset("backtrader", initial_cash=50_000)
        """
        from nautilus_like.presets import preset_fields

        # As ml4t's (a preset is read as its nested form): time contract 1.
        nested_defaults = {"time_contract_version": 1, "timezone": "UTC", "data_frequency": DataFrequency.DAILY}
        return cls(**{**nested_defaults, **preset_fields(name), "preset_name": name.lower(), **overrides})

    @classmethod
    def from_assumptions(cls, *, broker: str, region: str, asset_class: str, plan: str,
                         overrides: dict[str, Any] | None = None, **config_overrides: Any) -> BacktestConfig:
        """The preset of a broker's pricing plan (ml4t's assumptions: only
        broker="ibkr", region="us", asset_class="stocks", plan="fixed" so far),
        then nested `overrides` (as in `to_dict()`) and field overrides.

        >>> BacktestConfig.from_assumptions(broker="IBKR", region="us", asset_class="equities", plan="fixed")
        """
        from nautilus_like.profiles import get_assumption_preset, get_profile_config

        preset = get_assumption_preset(broker=broker, region=region, asset_class=asset_class, plan=plan)
        data = _deep_merge(get_profile_config(preset), overrides or {})
        config = cls.from_dict(data, preset_name=preset)
        return msgspec.structs.replace(config, **config_overrides) if config_overrides else config

    @classmethod
    def from_user_config(cls, *, config_dir: str | Path | None = None, broker: str | None = None,
                         region: str | None = None, asset_class: str | None = None, plan: str | None = None,
                         **config_overrides: Any) -> BacktestConfig:
        """A config from a user's files, as ml4t-backtest layers them.

        `config_dir` (default `$XDG_CONFIG_HOME/ml4t/backtest`, else
        `~/.config/ml4t/backtest`) may hold `defaults.yaml` (nested settings) and
        `assumptions.yaml` (`default_assumptions: {broker, region, asset_class,
        plan}`, `profiles: {preset: overrides}`, `brokers: {broker: {region:
        {asset_class: {plan: overrides}}}}`). With a full set of assumptions
        (arguments beat the file's) the result is that preset, then defaults
        (except commission), then the preset's and the broker's overrides;
        without any, just the defaults. Unknown keys are ignored."""
        root = Path(config_dir) if config_dir is not None else _user_config_dir()
        defaults = _yaml_mapping(root / "defaults.yaml")
        assumptions_file = root / "assumptions.yaml"
        assumptions = _yaml_mapping(assumptions_file)
        chosen = _mapping(assumptions.get("default_assumptions") or {}, "default_assumptions", assumptions_file)
        parts = {"broker": broker or chosen.get("broker"), "region": region or chosen.get("region"),
                 "asset_class": asset_class or chosen.get("asset_class"), "plan": plan or chosen.get("plan")}
        given = [v is not None for v in parts.values()]
        if any(given) and not all(given):
            raise ValueError("Broker assumptions must specify broker, region, asset_class, and plan together.")
        if all(given):
            from nautilus_like.profiles import get_assumption_preset, get_profile_config

            preset = get_assumption_preset(**parts)
            data = _deep_merge(get_profile_config(preset), {k: v for k, v in defaults.items() if k != "commission"})
            profiles = _mapping(assumptions.get("profiles") or {}, "profiles", assumptions_file)
            data = _deep_merge(data, _mapping(profiles.get(preset) or {}, f"profiles.{preset}", assumptions_file))
            node: Any = _mapping(assumptions.get("brokers") or {}, "brokers", assumptions_file)
            for key in parts.values():
                node = node.get(str(key), {}) if isinstance(node, dict) else {}
            data = _deep_merge(data, _mapping(node or {}, "the broker's overrides", assumptions_file))
        else:
            data = defaults
        config = cls.from_dict(data, preset_name="user_config", strict=False)
        return msgspec.structs.replace(config, **config_overrides) if config_overrides else config

    def to_json(self) -> str:
        return msgspec.json.encode(self.to_dict()).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> BacktestConfig:
        return cls.from_dict(msgspec.json.decode(text))

    def to_yaml(self, path: str | Path | None = None) -> str | None:
        """The nested settings (`to_dict()`) as YAML: returned as text, or
        written to `path` (as ml4t-backtest's `to_yaml(path)` does)."""
        text = msgspec.yaml.encode(self.to_dict()).decode()
        if path is None:
            return text
        Path(path).write_text(text, encoding="utf-8")
        return None

    @classmethod
    def from_yaml(cls, source: str | bytes | Path) -> BacktestConfig:
        """A config from YAML text, or from a file (a `Path`, or a one-line
        string naming an existing file, as ml4t's `from_yaml(path)`; the file's
        stem becomes `preset_name`, as in ml4t)."""
        if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and os.path.isfile(source)):
            path = Path(source)
            return cls.from_dict(msgspec.yaml.decode(path.read_bytes()), preset_name=path.stem)
        return cls.from_dict(msgspec.yaml.decode(source))

    def to_toml(self) -> str:
        # TOML has no null: unset optional settings are left out.
        return msgspec.toml.encode(_without_none(self.to_dict())).decode()

    @classmethod
    def from_toml(cls, text: str | bytes) -> BacktestConfig:
        return cls.from_dict(msgspec.toml.decode(text))

    def to_dict(self) -> dict[str, Any]:
        """The settings as ml4t-backtest nests them (`{"account": {...},
        "execution": {...}, "commission": {"model": ..., "rate": ...}, ...}`),
        plain values (enums as their text). A preset's name is kept under
        `"metadata"` (ml4t's free-form section).

        >>> BacktestConfig(commission_rate=0.001).to_dict()["commission"]["rate"]
        0.001
        """
        # Plain values; tuples as lists (as YAML keeps them).
        flat = msgspec.json.decode(msgspec.json.encode(
            {f: getattr(self, f) for f in self.__struct_fields__ if f != "feed_spec"}))
        nested = {}
        for section, keys in _SECTIONS.items():
            nested[section] = {key: flat[field] for key, field in keys.items()}
            if section == "calendar":
                if self.calendar is UNSET_CALENDAR:
                    del nested[section]["calendar"]  # not chosen: left out, as ml4t writes it
                nested["feed"] = self._feed_section()
        nested["metadata"] = flat["metadata"]
        if self.preset_name is not None:
            nested["metadata"]["preset_name"] = self.preset_name
        return nested

    def _feed_section(self) -> dict[str, Any]:
        """to_dict()'s "feed": the declared spec with the config's timezone and
        frequency (under time contract 1, the resolved spec)."""
        if self.time_contract_version == 1:
            spec = self.resolved_feed_spec
        else:
            declared = self._declared_spec() if self.feed_spec is not None else FeedSpec(time_contract_version=2)
            spec = declared.with_overrides(timezone=self.timezone, data_frequency=self.data_frequency)
        return spec.to_dict()

    @classmethod
    def from_dict(cls, data: dict[str, Any], preset_name: str | None = None, strict: bool = True) -> BacktestConfig:
        """A config from `to_dict()`'s nested form (ml4t-backtest's), or from a
        flat `{field: value}` dict. Missing settings take their defaults.
        `strict` (default) raises ValueError for unknown sections and keys;
        `strict=False` ignores them.

        >>> BacktestConfig.from_dict({"cash": {"initial": 5e4}, "orders": {"fill_ordering": "fifo"}})
        """
        if not isinstance(data, dict):
            raise TypeError(f"Config data must be a dict, got {type(data).__name__}")
        if _is_nested(data):
            fields = {}
            for section, values in data.items():
                if section == "metadata":
                    if not isinstance(values, dict | None):
                        raise TypeError(f"Section 'metadata' must be a dict, got {type(values).__name__}")
                    values = dict(values or {})
                    if values.get("preset_name") is not None:
                        fields["preset_name"] = values.pop("preset_name")
                    fields["metadata"] = values
                    continue
                if section == "feed":
                    fields.update(_feed_fields(values, strict))
                    continue
                known = set(_SECTIONS) | set(_ML4T_ONLY)
                if section not in known:
                    if strict:
                        raise ValueError(f"Unknown config section(s): {sorted(set(data) - known - {'metadata'})}")
                    continue
                if not isinstance(values, dict):
                    raise TypeError(f"Section '{section}' must be a dict, got {type(values).__name__}")
                keys = _SECTIONS.get(section, {})
                ml4t_only = _ML4T_ONLY.get(section, {})
                if section == "calendar" and values.get("calendar", "") is None \
                        and values.get("time_contract_version") != 2:
                    # A version-1 null calendar means "not declared" (unset).
                    values = {k: v for k, v in values.items() if k != "calendar"}
                for key in set(values) & set(ml4t_only) - set(keys):
                    _check_ml4t_only(section, key, values[key])
                unknown = sorted(set(values) - set(keys) - set(ml4t_only))
                if unknown and strict:
                    raise ValueError(f"Unknown key(s) in section '{section}': {unknown}")
                fields.update({keys[k]: v for k, v in values.items() if k in keys})
            # Defaults of ml4t's nested form: time contract 1 (files written
            # before version 2); timezone and frequency count as given.
            fields.setdefault("time_contract_version", 1)
            fields.setdefault("timezone", "UTC")
            fields.setdefault("data_frequency", DataFrequency.DAILY)
        else:
            unknown = sorted(set(data) - set(cls.__struct_fields__))
            if unknown and strict:
                raise ValueError(f"unknown BacktestConfig fields: {unknown}")
            fields = {k: v for k, v in data.items() if k in cls.__struct_fields__}
        if preset_name is not None:
            fields["preset_name"] = preset_name
        if fields.get("slippage_spread_by_asset", {}) is None:
            fields["slippage_spread_by_asset"] = {}
        return cls(**fields)

    def describe(self) -> str:
        """One line per setting, then the slippage model in words: a volume
        model's `slippage_rate` is a coefficient, not a percentage of price."""
        lines = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            lines.append(f"{name}: {value.value if isinstance(value, Enum) else value}")
        kind = self.slippage_type
        if kind in (SlippageType.VOLUME_BASED, SlippageType.CUMULATIVE_VOLUME_SHARE):
            words = f"{kind.value} coefficient={self.slippage_rate}"
        elif kind is SlippageType.SPREAD:
            words = f"spread default_spread={self.slippage_spread} convention={self.slippage_spread_convention.value}"
        elif kind is SlippageType.FIXED:
            words = f"fixed {self.slippage_fixed} per unit"
        else:
            words = f"{kind.value} @ {self.slippage_rate:.2%}"
        lines.append(f"slippage model: {words}")
        return "\n".join(lines)


class StatsConfig(msgspec.Struct):
    """How a broker keeps per-asset trading statistics (`broker.get_asset_stats`).

    `recent_window_size`: how many recent realized P&L events the rolling
    statistics cover (a larger window is steadier, a smaller one reacts
    faster); `track_session_stats`: reset the session figures at session
    boundaries (needs `broker.set_session_config`); `enabled`: record at all.

    >>> broker.configure_stats(config=StatsConfig(recent_window_size=100))
    >>> StatsConfig(recent_window_size=0)
    Traceback (most recent call last):
    ValueError: recent_window_size must be an integer >= 1, got 0
    """

    recent_window_size: int = 50
    track_session_stats: bool = True
    enabled: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> StatsConfig:
        """Checks every field; raises `ValueError` naming the field."""
        n = self.recent_window_size
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"recent_window_size must be an integer >= 1, got {n!r}")
        for name in ("track_session_stats", "enabled"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        return self


__all__ += ["StatsConfig"]
