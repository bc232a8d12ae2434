//! Engine settings as they cross the ABI.

use nl_core::{
    ConditionalOrderMode, EngineError, EntryOrderPriority, ExecutionMode, ExecutionPrice,
    FillOrdering, InitialHwmSource, StopFillMode, StopLevelBasis, TrailStopTiming, WaterMarkSource,
    LimitGapFill, ShareType,
};
use nl_engine::account::{LockNotionalUpdateMode, ShortCashPolicy};
use nl_engine::EngineConfig;

use crate::error::{guard, null_error, NlStatus};
use crate::handles::{engine, write, NlEngine};

/// `ShortCashPolicy` codes for [`NlEngineConfig::short_cash_policy`].
pub const NL_SHORT_CASH_CREDIT: u32 = 0;
pub const NL_SHORT_CASH_CREDIT_PROCEEDS: u32 = 1;
pub const NL_SHORT_CASH_LOCK_NOTIONAL: u32 = 2;

/// `LockNotionalUpdateMode` codes for [`NlEngineConfig::lock_notional_update_mode`].
pub const NL_LOCK_NOTIONAL_UPDATE_POSITION_LEGS: u32 = 0;
pub const NL_LOCK_NOTIONAL_UPDATE_COMBINED_ORDER: u32 = 1;

/// [`NlEngineConfig::next_bar_execution_price`] when unset: open-time passes
/// price as `execution_price` says (the open, or a quote/VWAP source).
pub const NL_EXECUTION_PRICE_UNSET: u32 = 255;

/// Engine settings; enum fields carry the integer codes of the core enums.
/// Costs are set separately (`nl_engine_set_commission`, `nl_engine_set_slippage`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlEngineConfig {
    pub initial_cash: f64,
    pub execution_mode: u32,
    pub execution_price: u32,
    pub share_type: u32,
    pub allow_short_selling: bool,
    /// A `ConditionalOrderMode` code.
    pub conditional_order_mode: u32,
    /// A `LimitGapFill` code.
    pub limit_gap_fill: u32,
    /// A `FillOrdering` code.
    pub fill_ordering: u32,
    /// An `EntryOrderPriority` code.
    pub entry_order_priority: u32,
    /// An `ExecutionPrice` code: what positions are marked at.
    pub mark_price: u32,
    /// An `ExecutionPrice` code replacing the source of open-time passes,
    /// or `NL_EXECUTION_PRICE_UNSET`.
    pub next_bar_execution_price: u32,
    /// Fill the affordable part of an entry cash cannot fully pay for.
    pub partial_fills_allowed: bool,
    /// A `StopFillMode` code.
    pub stop_fill_mode: u32,
    /// A `StopLevelBasis` code.
    pub stop_level_basis: u32,
    pub stop_slippage_rate: f64,
    /// A `TrailStopTiming` code.
    pub trail_stop_timing: u32,
    pub cash_buffer_pct: f64,
    pub reject_on_insufficient_cash: bool,
    pub skip_cash_validation: bool,
    /// A `WaterMarkSource` code.
    pub trail_hwm_source: u32,
    pub trail_include_entry_bar_extremes: bool,
    /// An `InitialHwmSource` code.
    pub initial_hwm_source: u32,
    /// A margin account (entries limited by buying power).
    pub allow_leverage: bool,
    pub initial_margin: f64,
    pub long_maintenance_margin: f64,
    pub short_maintenance_margin: f64,
    /// A `ShortCashPolicy` code (`NL_SHORT_CASH_*`).
    pub short_cash_policy: u32,
    /// Bars until sale proceeds are spendable.
    pub settlement_delay: u32,
    pub settlement_reduces_buying_power: bool,
    /// SAME_BAR market orders fill inside the submit call.
    pub immediate_fill: bool,
    /// Liquidate (largest loss first) when equity breaks maintenance margin.
    pub enforce_margin_calls: bool,
    /// Annual borrow fee rate on short market value (ACT/365 per bar).
    pub borrow_rate: f64,
    /// NEXT_BAR market/MOC orders are checked against cash when submitted.
    pub next_bar_submission_precheck: bool,
    /// Backtrader's simplified cash check at the open.
    pub next_bar_simple_cash_check: bool,
    /// LEAN's shadow-account validation of the queue at the open.
    pub next_bar_queue_shadow_validation: bool,
    /// LEAN's buying-power reservation of market/MOC orders when submitted.
    pub buying_power_reservation: bool,
    /// A `LockNotionalUpdateMode` code (`NL_LOCK_NOTIONAL_UPDATE_*`).
    pub lock_notional_update_mode: u32,
}

impl NlEngineConfig {
    /// The C form of `cfg` (cost models and limits are not part of it).
    pub fn from_engine(cfg: &EngineConfig) -> Self {
        Self {
            initial_cash: cfg.initial_cash,
            execution_mode: cfg.execution_mode as u32,
            execution_price: cfg.execution_price as u32,
            share_type: cfg.share_type as u32,
            allow_short_selling: cfg.allow_short_selling,
            conditional_order_mode: cfg.conditional_order_mode as u32,
            limit_gap_fill: cfg.limit_gap_fill as u32,
            fill_ordering: cfg.fill_ordering as u32,
            entry_order_priority: cfg.entry_order_priority as u32,
            mark_price: cfg.mark_price as u32,
            next_bar_execution_price: cfg.next_bar_execution_price.map_or(NL_EXECUTION_PRICE_UNSET, |p| p as u32),
            partial_fills_allowed: cfg.partial_fills_allowed,
            stop_fill_mode: cfg.stop_fill_mode as u32,
            stop_level_basis: cfg.stop_level_basis as u32,
            stop_slippage_rate: cfg.stop_slippage_rate,
            trail_stop_timing: cfg.trail_stop_timing as u32,
            cash_buffer_pct: cfg.cash_buffer_pct,
            reject_on_insufficient_cash: cfg.reject_on_insufficient_cash,
            skip_cash_validation: cfg.skip_cash_validation,
            trail_hwm_source: cfg.trail_hwm_source as u32,
            trail_include_entry_bar_extremes: cfg.trail_include_entry_bar_extremes,
            initial_hwm_source: cfg.initial_hwm_source as u32,
            allow_leverage: cfg.allow_leverage,
            initial_margin: cfg.initial_margin,
            long_maintenance_margin: cfg.long_maintenance_margin,
            short_maintenance_margin: cfg.short_maintenance_margin,
            short_cash_policy: match cfg.short_cash_policy {
                ShortCashPolicy::Credit => NL_SHORT_CASH_CREDIT,
                ShortCashPolicy::CreditProceeds => NL_SHORT_CASH_CREDIT_PROCEEDS,
                ShortCashPolicy::LockNotional => NL_SHORT_CASH_LOCK_NOTIONAL,
            },
            settlement_delay: cfg.settlement_delay,
            settlement_reduces_buying_power: cfg.settlement_reduces_buying_power,
            immediate_fill: cfg.immediate_fill,
            enforce_margin_calls: cfg.enforce_margin_calls,
            borrow_rate: cfg.borrow_rate,
            next_bar_submission_precheck: cfg.next_bar_submission_precheck,
            next_bar_simple_cash_check: cfg.next_bar_simple_cash_check,
            next_bar_queue_shadow_validation: cfg.next_bar_queue_shadow_validation,
            buying_power_reservation: cfg.buying_power_reservation,
            lock_notional_update_mode: match cfg.lock_notional_update_mode {
                LockNotionalUpdateMode::PositionLegs => NL_LOCK_NOTIONAL_UPDATE_POSITION_LEGS,
                LockNotionalUpdateMode::CombinedOrder => NL_LOCK_NOTIONAL_UPDATE_COMBINED_ORDER,
            },
        }
    }

    /// The engine's settings, checked: an unknown code or a value out of range
    /// is an error naming the field and the value.
    pub fn validated(self) -> Result<EngineConfig, EngineError> {
        let cfg = self.to_engine()?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub(crate) fn to_engine(self) -> Result<EngineConfig, EngineError> {
        Ok(EngineConfig {
            initial_cash: self.initial_cash,
            execution_mode: ExecutionMode::try_from(self.execution_mode)?,
            execution_price: ExecutionPrice::try_from(self.execution_price)?,
            share_type: ShareType::try_from(self.share_type)?,
            allow_short_selling: self.allow_short_selling,
            conditional_order_mode: ConditionalOrderMode::try_from(self.conditional_order_mode)?,
            limit_gap_fill: LimitGapFill::try_from(self.limit_gap_fill)?,
            fill_ordering: FillOrdering::try_from(self.fill_ordering)?,
            entry_order_priority: EntryOrderPriority::try_from(self.entry_order_priority)?,
            mark_price: ExecutionPrice::try_from(self.mark_price)?,
            next_bar_execution_price: match self.next_bar_execution_price {
                NL_EXECUTION_PRICE_UNSET => None,
                code => Some(ExecutionPrice::try_from(code)?),
            },
            partial_fills_allowed: self.partial_fills_allowed,
            stop_fill_mode: StopFillMode::try_from(self.stop_fill_mode)?,
            stop_level_basis: StopLevelBasis::try_from(self.stop_level_basis)?,
            stop_slippage_rate: self.stop_slippage_rate,
            trail_stop_timing: TrailStopTiming::try_from(self.trail_stop_timing)?,
            cash_buffer_pct: self.cash_buffer_pct,
            reject_on_insufficient_cash: self.reject_on_insufficient_cash,
            skip_cash_validation: self.skip_cash_validation,
            trail_hwm_source: WaterMarkSource::try_from(self.trail_hwm_source)?,
            trail_include_entry_bar_extremes: self.trail_include_entry_bar_extremes,
            initial_hwm_source: InitialHwmSource::try_from(self.initial_hwm_source)?,
            allow_leverage: self.allow_leverage,
            initial_margin: self.initial_margin,
            long_maintenance_margin: self.long_maintenance_margin,
            short_maintenance_margin: self.short_maintenance_margin,
            short_cash_policy: match self.short_cash_policy {
                NL_SHORT_CASH_CREDIT => ShortCashPolicy::Credit,
                NL_SHORT_CASH_CREDIT_PROCEEDS => ShortCashPolicy::CreditProceeds,
                NL_SHORT_CASH_LOCK_NOTIONAL => ShortCashPolicy::LockNotional,
                code => return Err(EngineError::InvalidArgument(format!("unknown short_cash_policy code {code}"))),
            },
            settlement_delay: self.settlement_delay,
            settlement_reduces_buying_power: self.settlement_reduces_buying_power,
            immediate_fill: self.immediate_fill,
            enforce_margin_calls: self.enforce_margin_calls,
            borrow_rate: self.borrow_rate,
            next_bar_submission_precheck: self.next_bar_submission_precheck,
            next_bar_simple_cash_check: self.next_bar_simple_cash_check,
            next_bar_queue_shadow_validation: self.next_bar_queue_shadow_validation,
            buying_power_reservation: self.buying_power_reservation,
            lock_notional_update_mode: match self.lock_notional_update_mode {
                NL_LOCK_NOTIONAL_UPDATE_POSITION_LEGS => LockNotionalUpdateMode::PositionLegs,
                NL_LOCK_NOTIONAL_UPDATE_COMBINED_ORDER => LockNotionalUpdateMode::CombinedOrder,
                code => return Err(EngineError::InvalidArgument(format!("unknown lock_notional_update_mode code {code}"))),
            },
            ..EngineConfig::default()
        })
    }
}

/// Writes the engine's default settings (`EngineConfig::default()`, ml4t-backtest's
/// defaults) to `out`: the one place callers take defaults from.
///
/// # Safety
/// `out` must be valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_config_default(out: *mut NlEngineConfig) -> NlStatus {
    guard(|| write(out, NlEngineConfig::from_engine(&EngineConfig::default())))
}

/// Checks `cfg` as `nl_engine_new` would; on a bad setting the status is
/// `INVALID_ARGUMENT` and `nl_last_error()` names the field and its value.
///
/// # Safety
/// `cfg` must be null or valid for reading.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_config_validate(cfg: *const NlEngineConfig) -> NlStatus {
    guard(|| {
        (*cfg.as_ref().ok_or_else(|| null_error("config"))?).validated()?;
        Ok(())
    })
}

/// Replaces a live engine's settings with `cfg`'s (`Engine::update_settings`:
/// some only before the first order, fill or position; cost models are not
/// part of `cfg`). On a refusal nothing changes, the status is
/// `INVALID_ARGUMENT` or `INVALID_STATE` and `nl_last_error()` names the setting.
///
/// # Safety
/// `e` must be a live engine handle; `cfg` valid for reading.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_update_config(e: *mut NlEngine, cfg: *const NlEngineConfig) -> NlStatus {
    guard(|| {
        let cfg = cfg.as_ref().ok_or_else(|| null_error("config"))?.to_engine()?;
        Ok(engine(e, "changing settings")?.update_settings(cfg)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_survive_the_round_trip_through_the_c_struct() {
        let c = NlEngineConfig::from_engine(&EngineConfig::default());
        assert_eq!(c.validated().unwrap(), EngineConfig::default());
    }

    #[test]
    fn every_short_cash_policy_code_round_trips() {
        for policy in [ShortCashPolicy::Credit, ShortCashPolicy::CreditProceeds, ShortCashPolicy::LockNotional] {
            let cfg = EngineConfig { short_cash_policy: policy, ..EngineConfig::default() };
            assert_eq!(NlEngineConfig::from_engine(&cfg).to_engine().unwrap().short_cash_policy, policy);
        }
        let c = NlEngineConfig { short_cash_policy: 3, ..NlEngineConfig::from_engine(&EngineConfig::default()) };
        assert_eq!(c.to_engine().unwrap_err().to_string(), "unknown short_cash_policy code 3");
    }

    #[test]
    fn every_lock_notional_update_mode_code_round_trips() {
        for mode in [LockNotionalUpdateMode::PositionLegs, LockNotionalUpdateMode::CombinedOrder] {
            let cfg = EngineConfig { lock_notional_update_mode: mode, ..EngineConfig::default() };
            assert_eq!(NlEngineConfig::from_engine(&cfg).to_engine().unwrap().lock_notional_update_mode, mode);
        }
        let c = NlEngineConfig { lock_notional_update_mode: 2, ..NlEngineConfig::from_engine(&EngineConfig::default()) };
        assert_eq!(c.to_engine().unwrap_err().to_string(), "unknown lock_notional_update_mode code 2");
    }

    #[test]
    fn next_bar_execution_price_round_trips_unset_and_every_source() {
        let d = NlEngineConfig::from_engine(&EngineConfig::default());
        assert_eq!(d.next_bar_execution_price, NL_EXECUTION_PRICE_UNSET);
        assert_eq!(d.to_engine().unwrap().next_bar_execution_price, None);
        for source in [ExecutionPrice::Close, ExecutionPrice::Open, ExecutionPrice::Vwap, ExecutionPrice::QuoteSide] {
            let cfg = EngineConfig { next_bar_execution_price: Some(source), ..EngineConfig::default() };
            assert_eq!(NlEngineConfig::from_engine(&cfg).to_engine().unwrap().next_bar_execution_price, Some(source));
        }
        assert!(NlEngineConfig { next_bar_execution_price: 77, ..d }.to_engine().is_err());
    }

    #[test]
    fn validation_names_the_field_and_the_value() {
        let d = NlEngineConfig::from_engine(&EngineConfig::default());
        let cases = [
            (NlEngineConfig { initial_cash: -1.0, ..d }, "initial_cash must be a finite number >= 0, got -1"),
            (NlEngineConfig { cash_buffer_pct: 1.0, ..d }, "cash_buffer_pct must be in [0, 1), got 1"),
            (NlEngineConfig { initial_margin: 1.5, ..d }, "initial_margin must be a number in (0, 1], got 1.5"),
            (NlEngineConfig { short_maintenance_margin: 0.6, ..d },
             "short_maintenance_margin (0.6) must be <= initial_margin (0.5)"),
            (NlEngineConfig { settlement_delay: 7, ..d }, "settlement_delay must be a whole number of bars from 0 to 5, got 7"),
            (NlEngineConfig { enforce_margin_calls: true, ..d }, "enforce_margin_calls=True needs a margin account"),
            (NlEngineConfig { execution_mode: 9, ..d }, "9"),
        ];
        for (cfg, text) in cases {
            let status = unsafe { nl_engine_config_validate(&cfg) };
            assert_eq!(status, NlStatus::InvalidArgument, "{text}");
            let err = unsafe { std::ffi::CStr::from_ptr(crate::error::nl_last_error()) }.to_string_lossy().into_owned();
            assert!(err.contains(text), "{err:?} lacks {text:?}");
        }
        assert_eq!(unsafe { nl_engine_config_validate(&d) }, NlStatus::Ok);
        assert_eq!(unsafe { nl_engine_config_validate(std::ptr::null()) }, NlStatus::InvalidArgument);
    }
}
