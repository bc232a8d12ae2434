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
from enum import Enum
from typing import Any

import msgspec
import msgspec.json
import msgspec.toml
import msgspec.yaml

from nautilus_like import _rust
from nautilus_like.types import ExecutionMode, StopFillMode, StopLevelBasis

__all__ = [
    "BacktestConfig",
    "CommissionType",
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
    the package level). nautilus_like does not use it to schedule anything yet."""

    DAILY = "daily"
    MINUTE_1 = "1m"
    MINUTE_5 = "5m"
    MINUTE_15 = "15m"
    MINUTE_30 = "30m"
    HOURLY = "1h"
    IRREGULAR = "irregular"


class LateAssetPolicy(str, Enum):
    """How target-weight rebalancing treats assets that start late (ml4t's
    values). nautilus_like rebalances every asset with a price (ALLOW); a
    standalone Broker refuses REQUIRE_HISTORY until it is supported."""

    ALLOW = "allow"
    REQUIRE_HISTORY = "require_history"


class LockNotionalUpdateMode(str, Enum):
    """Operation order of locked-notional cash updates (ml4t's values). The
    engine settles position legs separately (POSITION_LEGS); COMBINED_ORDER is
    refused until it is supported."""

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
}


def _enum_codes(enum: type[Enum], prefix: str) -> dict[Enum, int]:
    """`{member: header code}`; KeyError at import when the header lacks a member."""
    return {member: CODES[f"{prefix}_{member.name}"] for member in enum}


_TO_CODE: dict[str, dict[Enum, int]] = {f: _enum_codes(e, p) for f, (e, p) in _ENGINE_ENUMS.items()}


def _engine_default(field: str) -> Any:
    """The Rust default of engine setting `field`, as BacktestConfig holds it."""
    value = _ENGINE_DEFAULTS[field]
    if field in _TO_CODE:
        return next(member for member, code in _TO_CODE[field].items() if code == value)
    return value


def engine_settings(config: BacktestConfig) -> dict[str, Any]:
    """`config`'s engine settings as the C ABI takes them (enums as header codes)."""
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


def _coerce_enum(field: str, enum: type[Enum], value: Any) -> Enum:
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
    """Validated {asset: (initial, maintenance)}; fractions must satisfy
    0 < maintenance < initial <= 1, per-contract amounts 0 < maintenance < initial."""
    if schedule is None:
        return None
    if not isinstance(schedule, dict):
        raise ValueError(f"{field} must be a dict of asset -> (initial, maintenance), got {schedule!r}")
    out = {}
    for asset, value in schedule.items():
        try:
            initial, maintenance = (float(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"{field}[{asset!r}] must be a two-item (initial, maintenance) sequence, "
                             f"got {value!r}") from None
        if not (0 < maintenance < initial and math.isfinite(initial)) or (fractions and initial > 1):
            bound = " <= 1" if fractions else ""
            raise ValueError(f"{field}[{asset!r}] must satisfy 0 < maintenance < initial{bound}, got {value!r}")
        out[asset] = (initial, maintenance)
    return out


class BacktestConfig(msgspec.Struct, kw_only=True):
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
    # Exchange calendar: None runs without one (sessions are the timestamps'
    # calendar days, nothing is enforced), which is all nautilus_like does
    # yet; a named calendar (ml4t's "NYSE", ...) is refused until it is.
    calendar: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> BacktestConfig:
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
        if self.calendar is not None:
            raise ValueError(f"calendar={self.calendar!r}: exchange calendars are not supported by nautilus_like "
                             f"yet; calendar=None runs without one (sessions are calendar days)")
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
        self._validate_python_side()
        _rust.validate_engine_config(engine_settings(self))
        return self

    def _validate_python_side(self) -> None:
        """Checks of the fields only Python reads, and of combinations with them."""
        self.fixed_margin_schedule = _margin_schedule("fixed_margin_schedule", self.fixed_margin_schedule, False)
        self.margin_pct_schedule = _margin_schedule("margin_pct_schedule", self.margin_pct_schedule, True)
        for field in ("fixed_margin_schedule", "margin_pct_schedule"):
            if getattr(self, field) and not self.allow_leverage:
                raise ValueError(f"{field} applies to margin accounts only: set allow_leverage=True "
                                 f"(a cash account would ignore it)")
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

        return cls(**{**preset_fields(name), "preset_name": name.lower(), **overrides})

    def to_json(self) -> str:
        return msgspec.json.encode(self.to_dict()).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> BacktestConfig:
        return cls.from_dict(msgspec.json.decode(text))

    def to_yaml(self) -> str:
        return msgspec.yaml.encode(self.to_dict()).decode()

    @classmethod
    def from_yaml(cls, text: str | bytes) -> BacktestConfig:
        return cls.from_dict(msgspec.yaml.decode(text))

    def to_toml(self) -> str:
        # TOML has no null: unset optional fields are left out.
        return msgspec.toml.encode({k: v for k, v in self.to_dict().items() if v is not None}).decode()

    @classmethod
    def from_toml(cls, text: str | bytes) -> BacktestConfig:
        return cls.from_dict(msgspec.toml.decode(text))

    def to_dict(self) -> dict[str, Any]:
        """Plain values (enums as their string values)."""
        return msgspec.to_builtins(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BacktestConfig:
        """Builds a config from `to_dict()` output; unknown keys raise."""
        unknown = set(data) - set(cls.__struct_fields__)
        if unknown:
            raise ValueError(f"unknown BacktestConfig fields: {sorted(unknown)}")
        return cls(**data)

    def describe(self) -> str:
        """One line per setting."""
        lines = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            lines.append(f"{name}: {value.value if isinstance(value, Enum) else value}")
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
