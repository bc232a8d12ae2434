//! Changing a live engine's settings (ml4t-backtest's `broker.stop_fill_mode
//! = ...`, `broker.skip_cash_validation = True`): which may change when.

use nl_core::{EngineError, EngineResult};

use crate::config::EngineConfig;

use super::Engine;

/// When a setting of a live engine may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Changeable {
    /// Between any two engine calls: read afresh by every decision.
    Anytime,
    /// Only while the engine has no order, fill or position yet: it shapes
    /// the account, the order flow or what state the engine derives.
    BeforeActivity,
    /// Never (`initial_cash`: the cash is the engine's own by then).
    Never,
}

/// Every setting `update_settings` compares: (name, changed, when).
fn changed_settings(old: &EngineConfig, new: &EngineConfig) -> [(&'static str, bool, Changeable); 36] {
    use Changeable::*;
    [
        ("initial_cash", old.initial_cash != new.initial_cash, Never),
        ("stop_fill_mode", old.stop_fill_mode != new.stop_fill_mode, Anytime),
        ("stop_level_basis", old.stop_level_basis != new.stop_level_basis, Anytime),
        ("stop_slippage_rate", old.stop_slippage_rate != new.stop_slippage_rate, Anytime),
        ("trail_stop_timing", old.trail_stop_timing != new.trail_stop_timing, Anytime),
        ("skip_cash_validation", old.skip_cash_validation != new.skip_cash_validation, Anytime),
        ("reject_on_insufficient_cash", old.reject_on_insufficient_cash != new.reject_on_insufficient_cash, Anytime),
        ("partial_fills_allowed", old.partial_fills_allowed != new.partial_fills_allowed, Anytime),
        ("cash_buffer_pct", old.cash_buffer_pct != new.cash_buffer_pct, Anytime),
        ("settlement_reduces_buying_power",
         old.settlement_reduces_buying_power != new.settlement_reduces_buying_power, Anytime),
        ("fill_ordering", old.fill_ordering != new.fill_ordering, Anytime),
        ("entry_order_priority", old.entry_order_priority != new.entry_order_priority, Anytime),
        ("conditional_order_mode", old.conditional_order_mode != new.conditional_order_mode, Anytime),
        ("limit_gap_fill", old.limit_gap_fill != new.limit_gap_fill, Anytime),
        ("execution_mode", old.execution_mode != new.execution_mode, BeforeActivity),
        ("execution_price", old.execution_price != new.execution_price, BeforeActivity),
        ("mark_price", old.mark_price != new.mark_price, BeforeActivity),
        ("next_bar_execution_price", old.next_bar_execution_price != new.next_bar_execution_price, BeforeActivity),
        ("share_type", old.share_type != new.share_type, BeforeActivity),
        ("immediate_fill", old.immediate_fill != new.immediate_fill, BeforeActivity),
        ("trail_hwm_source", old.trail_hwm_source != new.trail_hwm_source, BeforeActivity),
        ("trail_include_entry_bar_extremes",
         old.trail_include_entry_bar_extremes != new.trail_include_entry_bar_extremes, BeforeActivity),
        ("initial_hwm_source", old.initial_hwm_source != new.initial_hwm_source, BeforeActivity),
        ("allow_short_selling", old.allow_short_selling != new.allow_short_selling, BeforeActivity),
        ("allow_leverage", old.allow_leverage != new.allow_leverage, BeforeActivity),
        ("initial_margin", old.initial_margin != new.initial_margin, BeforeActivity),
        ("long_maintenance_margin", old.long_maintenance_margin != new.long_maintenance_margin, BeforeActivity),
        ("short_maintenance_margin", old.short_maintenance_margin != new.short_maintenance_margin, BeforeActivity),
        ("short_cash_policy", old.short_cash_policy != new.short_cash_policy, BeforeActivity),
        ("settlement_delay", old.settlement_delay != new.settlement_delay, BeforeActivity),
        ("enforce_margin_calls", old.enforce_margin_calls != new.enforce_margin_calls, BeforeActivity),
        ("borrow_rate", old.borrow_rate != new.borrow_rate, BeforeActivity),
        ("next_bar_submission_precheck", old.next_bar_submission_precheck != new.next_bar_submission_precheck,
         BeforeActivity),
        ("next_bar_simple_cash_check", old.next_bar_simple_cash_check != new.next_bar_simple_cash_check,
         BeforeActivity),
        ("next_bar_queue_shadow_validation",
         old.next_bar_queue_shadow_validation != new.next_bar_queue_shadow_validation, BeforeActivity),
        ("buying_power_reservation", old.buying_power_reservation != new.buying_power_reservation, BeforeActivity),
    ]
}

impl Engine {
    /// Replaces the behavioural settings of a live engine with `new`'s, as
    /// ml4t-backtest lets a broker's settings be assigned. Its cost models,
    /// limits and impact are ignored (they have their own setters). Settings
    /// every decision reads afresh (stop fills, cash checks, fill ordering,
    /// ...) may change between any two engine calls; those that shape the
    /// account, the order flow or derived state (execution mode and prices,
    /// share type, margin and short rules, settlement, the next-bar cash
    /// models) only before the engine has an order, a fill or a position;
    /// `initial_cash` never. Nothing changes when any one is refused.
    pub fn update_settings(&mut self, new: EngineConfig) -> EngineResult<()> {
        let new = EngineConfig {
            commission: self.cfg.commission.clone(),
            slippage: self.cfg.slippage.clone(),
            limits: self.cfg.limits.clone(),
            impact: self.cfg.impact.clone(),
            ..new
        };
        new.validate()?;
        if self.market.is_streamed() && new.borrow_rate > 0.0 {
            return Err(EngineError::InvalidArgument(
                "borrow_rate is not supported on a streamed feed (a close does not know the next bar's date)".into()));
        }
        let active = !self.book.all().is_empty() || !self.fills.is_empty() || self.portfolio.positions().next().is_some();
        for (name, changed, when) in changed_settings(&self.cfg, &new) {
            if !changed {
                continue;
            }
            match when {
                Changeable::Anytime => {}
                Changeable::BeforeActivity if !active => {}
                Changeable::BeforeActivity => {
                    return Err(EngineError::InvalidState(format!(
                        "{name} can only be changed before the first order, fill or position; \
                         set it when the broker is created")));
                }
                Changeable::Never => {
                    return Err(EngineError::InvalidState(format!(
                        "{name} cannot be changed once the engine exists; set it when the broker is created")));
                }
            }
        }
        self.cfg = new;
        self.account.settings = self.cfg.account_settings();
        let c = &self.cfg;
        self.account.margin.set_account_rates(c.allow_leverage, c.initial_margin, c.long_maintenance_margin,
                                              c.short_maintenance_margin);
        self.prechecks.settings = self.cfg.precheck_settings();
        Ok(())
    }
}
