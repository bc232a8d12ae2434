//! What the account lets entries spend, from its cash and open positions:
//! spendable cash (short collateral, unsettled proceeds, the cash buffer),
//! a margin account's buying power and its maintenance requirement.
//!
//! Totals follow ml4t-backtest's arithmetic (positions in opening order,
//! market value summed as Python's `sum()` does) so checks agree to the bit.

use nl_core::{AssetId, EngineError, EngineResult, Position};

use crate::account::{py_sum, ShortCashPolicy};
use crate::engine::Engine;

impl Engine {
    /// Contract multiplier of `asset` (1 for equities).
    pub fn multiplier(&self, asset: AssetId) -> f64 {
        self.portfolio.multiplier(asset)
    }

    /// Sets `asset`'s contract multiplier (before the first bar only).
    pub fn set_multiplier(&mut self, asset: AssetId, multiplier: f64) -> EngineResult<()> {
        if self.current_bar().is_some() {
            return Err(EngineError::InvalidState("contract multipliers can only be set before the first bar".into()));
        }
        if asset as usize >= self.market.n_assets() {
            return Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")));
        }
        if !(multiplier.is_finite() && multiplier > 0.0) {
            return Err(EngineError::InvalidArgument(format!("multiplier must be finite and > 0, got {multiplier}")));
        }
        self.portfolio.set_multiplier(asset, multiplier);
        Ok(())
    }

    fn market_value(&self, p: &Position) -> f64 {
        p.quantity * p.current_price * self.multiplier(p.asset)
    }

    /// Cash the account's policy leaves for entries: in a short-enabled
    /// account without leverage that holds short proceeds as collateral
    /// (CREDIT_PROCEEDS), cash less the shorts' entry notional.
    fn spendable_cash(&self) -> f64 {
        let cash = self.portfolio.cash;
        if self.cfg.allow_leverage || !self.cfg.allow_short_selling
            || self.cfg.short_cash_policy != ShortCashPolicy::CreditProceeds {
            return cash;
        }
        let collateral = self.portfolio.positions().filter(|p| p.quantity < 0.0)
            .fold(0.0, |acc, p| acc + p.quantity.abs() * p.entry_price * self.multiplier(p.asset));
        cash - collateral
    }

    /// What entries may spend now: spendable cash less unsettled proceeds
    /// (unless configured otherwise), less the cash buffer.
    pub(crate) fn available_cash(&self) -> f64 {
        let mut spendable = self.spendable_cash();
        if self.cfg.settlement_reduces_buying_power {
            spendable -= self.settlement.unsettled();
        }
        let buffer = self.cfg.cash_buffer_pct;
        if buffer > 0.0 && spendable > 0.0 { spendable * (1.0 - buffer) } else { spendable }
    }

    /// A margin account's buying power with `cash`: (net liquidation value
    /// less the initial margin of open positions) / initial margin rate,
    /// never negative. `without` leaves one asset's position out.
    pub(crate) fn margin_buying_power(&self, cash: f64, without: Option<AssetId>) -> f64 {
        let held = || self.portfolio.positions().filter(move |p| Some(p.asset) != without);
        let nlv = cash + py_sum(held().map(|p| self.market_value(p)));
        let rate = self.cfg.initial_margin;
        let required = held().fold(0.0, |acc, p| acc + self.market_value(p).abs() * rate);
        ((nlv - required) / rate).max(0.0)
    }

    /// What new long entries can spend (`broker.get_buying_power()`): a
    /// margin account's buying power, else non-negative spendable cash.
    pub fn buying_power(&self) -> f64 {
        if self.cfg.allow_leverage {
            self.margin_buying_power(self.portfolio.cash, None)
        } else {
            self.spendable_cash().max(0.0)
        }
    }

    /// Maintenance margin of `p` at its current mark.
    pub(crate) fn maintenance_margin(&self, p: &Position) -> f64 {
        let rate = if p.quantity > 0.0 { self.cfg.long_maintenance_margin } else { self.cfg.short_maintenance_margin };
        self.market_value(p).abs() * rate
    }

    /// Net liquidation value: cash plus the market value of open positions
    /// at their current marks.
    pub fn net_liquidation_value(&self) -> f64 {
        self.portfolio.cash + py_sum(self.portfolio.positions().map(|p| self.market_value(p)))
    }

    /// Maintenance margin the open positions require at their current marks.
    pub fn maintenance_requirement(&self) -> f64 {
        self.portfolio.positions().fold(0.0, |acc, p| acc + self.maintenance_margin(p))
    }
}
