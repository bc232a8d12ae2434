//! Engine settings as they cross the ABI.

use nl_core::{
    ConditionalOrderMode, EngineError, EntryOrderPriority, ExecutionMode, ExecutionPrice,
    FillOrdering, InitialHwmSource, StopFillMode, StopLevelBasis, TrailStopTiming, WaterMarkSource,
    LimitGapFill, ShareType,
};
use nl_engine::account::ShortCashPolicy;
use nl_engine::EngineConfig;

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
    /// A `ShortCashPolicy` code (0 credit, 1 credit_proceeds, 2 lock_notional).
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
}

impl NlEngineConfig {
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
            short_cash_policy: ShortCashPolicy::try_from(self.short_cash_policy)?,
            settlement_delay: self.settlement_delay,
            settlement_reduces_buying_power: self.settlement_reduces_buying_power,
            immediate_fill: self.immediate_fill,
            enforce_margin_calls: self.enforce_margin_calls,
            borrow_rate: self.borrow_rate,
            next_bar_submission_precheck: self.next_bar_submission_precheck,
            next_bar_simple_cash_check: self.next_bar_simple_cash_check,
            next_bar_queue_shadow_validation: self.next_bar_queue_shadow_validation,
            ..EngineConfig::default()
        })
    }
}
