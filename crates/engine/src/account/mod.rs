//! Account checks on entries (orders that open, add to or reverse a
//! position). Exits are never checked: closing frees capital.
//!
//! Rules and messages follow ml4t-backtest's three account kinds, which are
//! flags rather than types: cash (no shorts), short-enabled without leverage
//! ("crypto"), and margin (`allow_leverage`: entries are limited by buying
//! power = excess equity over initial margin / initial margin rate). The
//! 0.01 cash tolerance is ml4t's too.

#[cfg(test)]
pub(crate) mod account_tests;
pub mod cash_events;
pub(crate) mod locked_cash;
pub mod margin;
pub mod margin_call;
pub mod policy;

use std::collections::VecDeque;

use nl_core::{BarIndex, OrderSide};

use crate::account::cash_events::CashEvents;
use crate::account::locked_cash::LockedCash;
use crate::account::margin::Margin;
use crate::account::margin_call::MarginCall;
pub use crate::account::policy::entry_rejection;

/// Cash may be overdrawn by this much (rounding of the cost check).
pub const CASH_TOLERANCE: f64 = 0.01;

/// How short-sale proceeds count toward what a non-leveraged account may
/// spend on new entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ShortCashPolicy {
    /// Proceeds are cash like any other (ml4t's default).
    Credit = 0,
    /// Proceeds are held against the short: spendable cash excludes the
    /// shorts' entry notional, and opening or adding to a short needs no cash.
    CreditProceeds = 1,
    /// VectorBT's locked collateral: a short locks its proceeds and as much
    /// again; entries spend free cash (locked_cash.rs) with no tolerance.
    LockNotional = 2,
}

impl TryFrom<u32> for ShortCashPolicy {
    type Error = nl_core::EngineError;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        match v {
            0 => Ok(Self::Credit),
            1 => Ok(Self::CreditProceeds),
            2 => Ok(Self::LockNotional),
            _ => Err(nl_core::EngineError::InvalidArgument(format!("unknown short_cash_policy code {v}"))),
        }
    }
}

/// The floating-point operation order of locked-collateral updates
/// (`short_cash_policy = LOCK_NOTIONAL`); both lock the same amounts, but
/// their rounding, and so which orders fit, differs (locked_cash.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum LockNotionalUpdateMode {
    /// Settle a fill's closing and opening legs one after the other
    /// (VectorBT PRO; ml4t's default).
    #[default]
    PositionLegs = 0,
    /// Settle a fill's gross cash and short-debt effects as one order
    /// (VectorBT OSS, the `vectorbt_oss_strict` preset).
    CombinedOrder = 1,
}

impl TryFrom<u32> for LockNotionalUpdateMode {
    type Error = nl_core::EngineError;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        match v {
            0 => Ok(Self::PositionLegs),
            1 => Ok(Self::CombinedOrder),
            _ => Err(nl_core::EngineError::InvalidArgument(format!("unknown lock_notional_update_mode code {v}"))),
        }
    }
}

/// The account's rules for entries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountRules {
    pub allow_short_selling: bool,
    pub allow_leverage: bool,
    /// Initial margin rate of a margin account (0.5 = Reg T, 2x leverage).
    pub initial_margin: f64,
    pub short_cash_policy: ShortCashPolicy,
}

/// The account's settings (a copy of the engine config's account section,
/// which never changes after construction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountSettings {
    pub rules: AccountRules,
    pub long_maintenance_margin: f64,
    pub short_maintenance_margin: f64,
    /// Fraction of spendable cash kept out of reach of entries.
    pub cash_buffer_pct: f64,
    /// Bars until sale proceeds may fund entries.
    pub settlement_delay: u32,
    /// Whether unsettled proceeds are withheld from entries.
    pub settlement_reduces_buying_power: bool,
    /// Annual borrow fee on shorts' market value (ACT/365).
    pub borrow_rate: f64,
    pub enforce_margin_calls: bool,
    /// Operation order of the locked-collateral ledger (LOCK_NOTIONAL).
    pub lock_notional_update_mode: LockNotionalUpdateMode,
}

/// The account beside the portfolio's cash and positions: what entries may
/// spend (locked collateral, unsettled proceeds, margin and buying power)
/// and what it charges or enforces (borrow fees, margin calls). Its methods
/// take the portfolio they judge; the account never holds positions.
#[derive(Debug, Clone)]
pub struct Account {
    pub(crate) settings: AccountSettings,
    /// Sale proceeds not yet settled (`settlement_delay`).
    pub(crate) settlement: Settlement,
    /// Free cash and locked short basis (LOCK_NOTIONAL accounts).
    pub(crate) locked_cash: LockedCash,
    /// Per asset: how its margin is computed (futures schedules).
    pub(crate) margin: Margin,
    /// Margin calls so far (`enforce_margin_calls`).
    pub(crate) margin_calls: Vec<MarginCall>,
    /// Borrow fees charged per asset (`borrow_rate`).
    pub(crate) borrow_fees: Vec<f64>,
    /// Scheduled capital flows and funding payments, and what they moved.
    pub(crate) cash_events: CashEvents,
}

impl Account {
    pub fn new(settings: AccountSettings, initial_cash: f64, n_assets: usize) -> Self {
        let r = settings.rules;
        Self {
            settings,
            settlement: Settlement::default(),
            locked_cash: LockedCash::new(initial_cash, n_assets, settings.lock_notional_update_mode),
            margin: Margin::new(n_assets, r.allow_leverage, r.initial_margin, settings.long_maintenance_margin,
                settings.short_maintenance_margin),
            margin_calls: Vec::new(),
            borrow_fees: vec![0.0; n_assets],
            cash_events: CashEvents::default(),
        }
    }

    /// Makes room for `n` more assets (a streamed feed that meets new ones).
    pub fn add_assets(&mut self, n: usize) {
        self.locked_cash.add_assets(n);
        self.margin.add_assets(n);
        self.borrow_fees.resize(self.borrow_fees.len() + n, 0.0);
    }

    pub fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    /// Holds the cash change of a fill on bar `b` until it settles (sales only).
    pub fn hold_proceeds(&mut self, b: BarIndex, cash_change: f64) {
        self.settlement.hold(b, self.settings.settlement_delay, cash_change);
    }

    /// Releases the proceeds that settle by bar `b` (as the bar opens).
    pub fn settle(&mut self, b: BarIndex) {
        self.settlement.release(b);
    }

    pub fn margin_calls(&self) -> &[MarginCall] {
        &self.margin_calls
    }

    /// Borrow fees charged so far, per asset.
    pub fn borrow_fees(&self) -> &[f64] {
        &self.borrow_fees
    }
}

/// The order's effect relative to the current position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEffect {
    /// Reduces or closes the position without crossing zero.
    Exit,
    /// Opens a position or adds to one.
    Entry,
    /// Closes the position and opens the opposite one.
    Reversal,
}

/// Classifies an order of `quantity` (unsigned) against `held` (signed).
pub fn order_effect(held: f64, side: OrderSide, quantity: f64) -> OrderEffect {
    let delta = side.sign() * quantity;
    if held == 0.0 || held * delta > 0.0 {
        return OrderEffect::Entry;
    }
    let after = held + delta;
    if (held > 0.0 && after >= 0.0) || (held < 0.0 && after <= 0.0) {
        OrderEffect::Exit
    } else {
        OrderEffect::Reversal
    }
}

/// One entry to check: `quantity` (unsigned) of an asset with contract
/// `multiplier` at `price`, against the signed position `held`.
#[derive(Debug, Clone, Copy)]
pub struct EntryCheck {
    pub held: f64,
    pub side: OrderSide,
    pub quantity: f64,
    pub price: f64,
    pub multiplier: f64,
    pub commission: f64,
}

/// Sale proceeds not yet settled (T+N in bars): entries cannot spend them.
#[derive(Debug, Clone, Default)]
pub struct Settlement {
    /// (bar the amount settles on, amount), in fill order.
    holds: VecDeque<(BarIndex, f64)>,
    held: f64,
}

impl Settlement {
    /// Holds `amount` (a positive cash change) from bar `b` for `delay` bars.
    pub fn hold(&mut self, b: BarIndex, delay: u32, amount: f64) {
        if amount <= 0.0 || delay == 0 {
            return;
        }
        self.holds.push_back((b.saturating_add(delay), amount));
        self.held += amount;
    }

    /// Releases what settles by bar `b` (called as the bar opens).
    pub fn release(&mut self, b: BarIndex) {
        while let Some(&(_, amount)) = self.holds.front().filter(|(due, _)| *due <= b) {
            self.holds.pop_front();
            self.held -= amount;
        }
        // No drift once nothing is held.
        if self.holds.is_empty() {
            self.held = 0.0;
        }
    }

    /// Cash held in unsettled sales.
    pub fn unsettled(&self) -> f64 {
        self.held
    }
}

/// CPython 3.12's `sum()` of floats (Neumaier's compensated summation), so
/// account totals agree with ml4t-backtest to the bit.
pub fn py_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut total, mut c) = (0.0f64, 0.0f64);
    for x in values {
        let t = total + x;
        c += if total.abs() >= x.abs() { (total - t) + x } else { (x - t) + total };
        total = t;
    }
    if c != 0.0 && c.is_finite() {
        total += c;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sum_keeps_small_terms() {
        assert_eq!(py_sum([1e16, 1.0, -1e16]), 1.0);
        assert_eq!(py_sum([0.1, 0.2, 0.3]), 0.6);
        assert_eq!(py_sum(std::iter::empty()), 0.0);
    }

    #[test]
    fn settlement_releases_on_due_bar() {
        let mut s = Settlement::default();
        s.hold(3, 2, 100.0);
        s.hold(4, 2, 50.0);
        s.release(4);
        assert_eq!(s.unsettled(), 150.0);
        s.release(5);
        assert_eq!(s.unsettled(), 50.0);
        s.release(6);
        assert_eq!(s.unsettled(), 0.0);
    }
}
