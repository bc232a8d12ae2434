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

use nl_core::{AssetId, Timestamp};

use crate::account::margin::held_positions;
use crate::account::Account;
use crate::portfolio::Portfolio;


/// One margin call: when, and the account's state at the close that triggered it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginCall {
    /// The close that breached maintenance margin.
    pub timestamp: Timestamp,
    pub equity: f64,
    pub requirement: f64,
    /// Positions sent to liquidation.
    pub liquidated: u32,
}

impl Account {
    /// Whether shorts pay a borrow fee (`borrow_rate` > 0).
    pub fn charges_borrow(&self) -> bool {
        self.settings.borrow_rate > 0.0
    }

    /// Charges every open short of `portfolio` the borrow fee for `nights`
    /// calendar days on its market value at its mark (called at a close).
    pub fn charge_borrow_fees(&mut self, portfolio: &mut Portfolio, nights: f64) {
        if nights <= 0.0 {
            return;
        }
        let rate = self.settings.borrow_rate * nights / 365.0;
        let shorts: Vec<(AssetId, f64)> = portfolio.positions()
            .filter(|p| p.quantity < 0.0)
            .map(|p| (p.asset, (p.quantity * p.current_price * portfolio.multiplier(p.asset)).abs() * rate))
            .collect();
        for (asset, fee) in shorts {
            portfolio.cash -= fee;
            if self.locks_short_notional() {
                self.locked_cash.charge(fee);
            }
            self.borrow_fees[asset as usize] += fee;
        }
    }

    /// Checks maintenance margin at the close at time `at` (with
    /// `enforce_margin_calls`): when net liquidation value is below the
    /// requirement, records a margin call and returns the positions to
    /// liquidate (asset, signed quantity), largest unrealized loss first,
    /// until the requirement of what remains is covered (all of them when
    /// equity is not positive). No positions: nothing to liquidate.
    pub fn margin_call(&mut self, portfolio: &Portfolio, at: Timestamp) -> Vec<(AssetId, f64)> {
        // No positions: nothing to liquidate (negative equity stays as it is).
        if !self.settings.enforce_margin_calls || portfolio.positions().next().is_none() {
            return Vec::new();
        }
        let Some((equity, requirement)) = self.margin.maintenance_breach(|| held_positions(portfolio), portfolio.cash)
        else {
            return Vec::new();
        };
        let mut by_loss: Vec<(AssetId, f64, f64, f64)> = portfolio.positions()
            .map(|p| {
                let pnl = p.quantity * (p.current_price - p.entry_price) * portfolio.multiplier(p.asset);
                (p.asset, p.quantity, pnl, self.margin.maintenance(portfolio, p))
            })
            .collect();
        // Largest loss first; ties in opening order (the sort is stable).
        by_loss.sort_by(|x, y| x.2.total_cmp(&y.2));
        let mut remaining = requirement;
        let mut liquidated = Vec::new();
        for (asset, quantity, _, margin) in by_loss {
            if equity > 0.0 && equity >= remaining {
                break;
            }
            remaining -= margin;
            liquidated.push((asset, quantity));
        }
        self.margin_calls.push(MarginCall { timestamp: at, equity, requirement, liquidated: liquidated.len() as u32 });
        liquidated
    }
}
