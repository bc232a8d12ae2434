//! What the engine enforces on a margin account beyond ml4t-backtest (both
//! off by default, so parity holds):
//!
//! * Margin calls: at a bar's close, when net liquidation value falls below
//!   the maintenance requirement, positions are liquidated at the next bar's
//!   open, largest unrealized loss first, until the requirement of what
//!   remains is covered (all of them when equity is not positive). Pending
//!   orders in the liquidated assets are cancelled so they cannot re-open
//!   them. Exits carry `exit_reason = margin_call`.
//! * Borrow fees: every short held over a night pays `borrow_rate` (annual,
//!   ACT/365) on its market value at the close, for the calendar days until
//!   the next bar; an intraday short pays nothing.

use nl_core::BarIndex;


/// One margin call: when, and the account's state at the close that triggered it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginCall {
    pub bar: BarIndex,
    pub equity: f64,
    pub requirement: f64,
    /// Positions sent to liquidation.
    pub liquidated: u32,
}

