//! Settings and codes for the Python layer, read once at import: the engine's
//! defaults and validation (`nl_engine::EngineConfig`), every integer code of
//! the generated header, and the pure sizing formulas. Python repeats none of them.

use nl_core::{
    CancelReason, ConditionalOrderMode, EntryOrderPriority, ExecutionMode, ExecutionPrice, ExitReason,
    FillOrdering, InitialHwmSource, LimitGapFill, OrderSide, OrderStatus, OrderType, RejectionCode, ShareType,
    StopFillMode, StopLevelBasis, TimeInForce, TradeStatus, TrailStopTiming, WaterMarkSource,
};
use nl_engine::{sizing, EngineConfig};
use nl_ffi::NlEngineConfig;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// What a field of Rust type `type_name` takes, in a Python user's words.
fn expected(type_name: &str) -> &'static str {
    match type_name {
        "bool" => "True or False",
        "f64" => "a number",
        _ => "a whole number >= 0 (or a code of the header)",
    }
}

/// Lists every `NlEngineConfig` field once; the destructuring is exhaustive, so
/// a field added to the struct and not here fails to compile.
macro_rules! engine_fields {
    ($($field:ident),+ $(,)?) => {
        fn config_to_dict<'py>(py: Python<'py>, c: &NlEngineConfig) -> PyResult<Bound<'py, PyDict>> {
            let NlEngineConfig { $($field),+ } = *c;
            let d = PyDict::new(py);
            $(d.set_item(stringify!($field), $field)?;)+
            Ok(d)
        }

        fn config_from_dict(d: &Bound<'_, PyDict>) -> PyResult<NlEngineConfig> {
            let mut c = NlEngineConfig::from_engine(&EngineConfig::default());
            for (key, value) in d.iter() {
                let key: String = key.extract()?;
                match key.as_str() {
                    $(stringify!($field) => {
                        c.$field = value.extract().map_err(|_| PyValueError::new_err(format!(
                            "{key} cannot hold {} (expected {})",
                            value.repr().map(|r| r.to_string()).unwrap_or_default(),
                            expected(std::any::type_name_of_val(&c.$field)))))?;
                    })+
                    _ => return Err(PyValueError::new_err(format!("unknown engine setting '{key}'"))),
                }
            }
            Ok(c)
        }
    };
}

engine_fields!(
    initial_cash, execution_mode, execution_price, next_bar_execution_price, share_type, allow_short_selling, conditional_order_mode,
    limit_gap_fill, fill_ordering, entry_order_priority, mark_price, partial_fills_allowed, stop_fill_mode,
    stop_level_basis, stop_slippage_rate, trail_stop_timing, cash_buffer_pct, reject_on_insufficient_cash,
    skip_cash_validation, trail_hwm_source, trail_include_entry_bar_extremes, initial_hwm_source, allow_leverage,
    initial_margin, long_maintenance_margin, short_maintenance_margin, short_cash_policy, settlement_delay,
    settlement_reduces_buying_power, immediate_fill, enforce_margin_calls, borrow_rate,
    next_bar_submission_precheck, next_bar_simple_cash_check, next_bar_queue_shadow_validation,
    buying_power_reservation, lock_notional_update_mode,
);

/// `{field: value}` of `EngineConfig::default()` in the C struct's terms
/// (enum fields as header codes).
#[pyfunction]
fn engine_config_default(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    config_to_dict(py, &NlEngineConfig::from_engine(&EngineConfig::default()))
}

/// Checks engine settings (`{field: value}`, missing fields at their defaults)
/// as the engine will; raises ValueError with the engine's text (field and value).
#[pyfunction]
fn validate_engine_config(settings: &Bound<'_, PyDict>) -> PyResult<()> {
    config_from_dict(settings)?.validated().map(|_| ()).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `"SameBar"` -> `"SAME_BAR"`, as cbindgen renames variants and enum names.
fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(ch.to_uppercase());
    }
    out
}

/// Adds `ENUM_NAME_VARIANT: code` for every code `T` accepts (the header's names).
fn add_enum<T: TryFrom<u32> + std::fmt::Debug>(d: &Bound<'_, PyDict>) -> PyResult<()> {
    let type_name = std::any::type_name::<T>().rsplit("::").next().unwrap_or_default();
    let prefix = screaming_snake(type_name);
    for code in 0..=255u32 {
        if let Ok(v) = T::try_from(code) {
            d.set_item(format!("{prefix}_{}", screaming_snake(&format!("{v:?}"))), code)?;
        }
    }
    Ok(())
}

/// Every integer code of `nautilus_like.h` (enum constants and `NL_*` kinds)
/// by its header name, e.g. `codes()["NL_COMMISSION_PERCENTAGE"]`.
#[pyfunction]
fn codes(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    add_enum::<OrderSide>(&d)?;
    add_enum::<OrderType>(&d)?;
    add_enum::<OrderStatus>(&d)?;
    add_enum::<ExecutionMode>(&d)?;
    add_enum::<ExecutionPrice>(&d)?;
    add_enum::<ShareType>(&d)?;
    add_enum::<ConditionalOrderMode>(&d)?;
    add_enum::<LimitGapFill>(&d)?;
    add_enum::<FillOrdering>(&d)?;
    add_enum::<EntryOrderPriority>(&d)?;
    add_enum::<TimeInForce>(&d)?;
    add_enum::<CancelReason>(&d)?;
    add_enum::<ExitReason>(&d)?;
    add_enum::<StopFillMode>(&d)?;
    add_enum::<StopLevelBasis>(&d)?;
    add_enum::<TrailStopTiming>(&d)?;
    add_enum::<WaterMarkSource>(&d)?;
    add_enum::<InitialHwmSource>(&d)?;
    // TradeStatus has no TryFrom (no code crosses into Rust).
    for status in [TradeStatus::Closed, TradeStatus::Partial] {
        d.set_item(format!("TRADE_STATUS_{}", screaming_snake(&format!("{status:?}"))), status as u32)?;
    }
    // RejectionCode has no TryFrom either (codes only leave Rust).
    {
        use RejectionCode::*;
        let all = [InsufficientCash, InsufficientBuyingPower, AccountRestriction, QuantityRoundsToZero,
                   PriceUnavailable, PortfolioLimit, VenueRejected];
        for code in all {
            d.set_item(format!("REJECTION_CODE_{}", screaming_snake(&format!("{code:?}"))), code as u32)?;
        }
    }
    macro_rules! consts {
        ($($name:ident),+ $(,)?) => { $(d.set_item(stringify!($name), nl_ffi::$name)?;)+ };
    }
    consts!(
        NL_MARGIN_PER_CONTRACT, NL_MARGIN_PERCENT_OF_NOTIONAL, NL_ALL_ASSETS,
        NL_COMMISSION_NONE, NL_COMMISSION_PERCENTAGE, NL_COMMISSION_PER_SHARE, NL_COMMISSION_COMBINED,
        NL_COMMISSION_PER_ORDER, NL_COMMISSION_TIERED, NL_COMMISSION_CALLBACK,
        NL_SLIPPAGE_NONE, NL_SLIPPAGE_PERCENTAGE, NL_SLIPPAGE_FIXED, NL_SLIPPAGE_SPREAD, NL_SLIPPAGE_VOLUME_SHARE,
        NL_SLIPPAGE_CUMULATIVE_VOLUME_SHARE, NL_SLIPPAGE_CALLBACK,
        NL_LIMIT_NONE, NL_LIMIT_VOLUME_PARTICIPATION, NL_LIMIT_POSITIVE_VOLUME, NL_LIMIT_SHARED_VOLUME_PARTICIPATION,
        NL_LIMIT_ADAPTIVE_PARTICIPATION, NL_LIMIT_CALLBACK,
        NL_IMPACT_NONE, NL_IMPACT_LINEAR, NL_IMPACT_SQUARE_ROOT, NL_IMPACT_POWER_LAW, NL_IMPACT_CALLBACK,
        NL_SUBMIT_ACCEPTED, NL_SUBMIT_IGNORED,
        NL_PORTFOLIO_LIMIT_MAX_DRAWDOWN, NL_PORTFOLIO_LIMIT_DAILY_LOSS, NL_PORTFOLIO_LIMIT_MAX_POSITIONS,
        NL_PORTFOLIO_LIMIT_GROSS_EXPOSURE, NL_PORTFOLIO_LIMIT_NET_EXPOSURE,
        NL_PORTFOLIO_LIMIT_WARN, NL_PORTFOLIO_LIMIT_HALT, NL_PORTFOLIO_LIMIT_REDUCE, NL_PORTFOLIO_LIMIT_LIQUIDATE,
        NL_RULE_STOP_LOSS, NL_RULE_TAKE_PROFIT, NL_RULE_TIME_EXIT, NL_RULE_TRAILING_STOP, NL_RULE_CALLBACK,
        NL_RULE_TIGHTENING_TRAILING_STOP, NL_RULE_SCALED_EXIT, NL_RULE_VOLATILITY_STOP,
        NL_RULE_VOLATILITY_TRAILING_STOP, NL_RULE_SIGNAL_EXIT, NL_RULE_CHAIN, NL_RULE_ALL_OF,
        NL_DECISION_HOLD, NL_DECISION_EXIT, NL_DECISION_EXIT_PARTIAL,
        NL_SHORT_CASH_CREDIT, NL_SHORT_CASH_CREDIT_PROCEEDS, NL_SHORT_CASH_LOCK_NOTIONAL,
        NL_LOCK_NOTIONAL_UPDATE_POSITION_LEGS, NL_LOCK_NOTIONAL_UPDATE_COMBINED_ORDER,
        NL_CONTEXT_DEFERRED, NL_EXECUTION_PRICE_UNSET,
        NL_REDUCTION_SENT, NL_REDUCTION_TOO_SMALL, NL_REDUCTION_ROUNDS_TO_ZERO,
        NL_COMMISSION_FUTURES, NL_SLIPPAGE_FUTURES,
        NL_COMMISSION_KALSHI, NL_COMMISSION_FORECASTEX, NL_COMMISSION_POLYMARKET_US,
        NL_VENUE_KALSHI, NL_VENUE_FORECASTEX, NL_VENUE_POLYMARKET_US,
        NL_CAPITAL_FLOW_DELTA, NL_CAPITAL_FLOW_TARGET, NL_FUNDING_RATE, NL_FUNDING_AMOUNT_PER_UNIT,
        NL_SLIPPAGE_VOLATILITY_VOLUME,
    );
    Ok(d)
}

/// The engine's target sizing (`order_target_value`): `(signed quantity, value
/// change)` moving `held` units toward `target_value` at `price * multiplier`,
/// or None when less than a cent is missing.
#[pyfunction]
fn order_toward_value(target_value: f64, price: f64, multiplier: f64, held: f64) -> Option<(f64, f64)> {
    sizing::order_toward_value(target_value, price, multiplier, held)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(engine_config_default, m)?)?;
    m.add_function(wrap_pyfunction!(validate_engine_config, m)?)?;
    m.add_function(wrap_pyfunction!(codes, m)?)?;
    m.add_function(wrap_pyfunction!(order_toward_value, m)?)?;
    m.add("MIN_ORDER_VALUE", sizing::MIN_ORDER_VALUE)?;
    Ok(())
}
