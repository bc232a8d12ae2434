//! What the account lets entries spend, from its cash and open positions:
//! spendable cash (short collateral, unsettled proceeds, the cash buffer),
//! a margin account's buying power and its maintenance requirement.
//!
//! Totals follow ml4t-backtest's arithmetic (positions in opening order,
//! market value summed as Python's `sum()` does) so checks agree to the bit.

use nl_core::{AssetId, EngineError, EngineResult, Position, Refusal};

use crate::account::policy::{self, HeldPosition, Ledger};
use crate::account::{py_sum, Account, EntryCheck, CASH_TOLERANCE};
use crate::portfolio::Portfolio;

/// How a margin account computes one asset's margin (futures-style
/// schedules; equities use the account's rates).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum MarginSchedule {
    /// The account's `initial_margin` / long and short maintenance rates.
    #[default]
    Account,
    /// A fixed amount per contract (a SPAN snapshot): (initial, maintenance).
    PerContract { initial: f64, maintenance: f64 },
    /// Fractions of notional: (initial, maintenance).
    PercentOfNotional { initial: f64, maintenance: f64 },
}


/// A margin account's rates and per-asset schedules: what positions
/// require, what buying power remains, and whether an entry would break
/// initial margin. Contract multipliers come from the portfolio.
#[derive(Debug, Clone)]
pub struct Margin {
    schedules: Vec<MarginSchedule>,
    /// A margin account at all (`allow_leverage`).
    leveraged: bool,
    /// By asset: settled by variation margin (a futures position's daily
    /// gains and losses move cash), so its entries are checked by projected
    /// margin even on the account's rates.
    variation: Vec<bool>,
    initial: f64,
    long_maintenance: f64,
    short_maintenance: f64,
}

impl Margin {
    /// Rates of a margin account (`leveraged`) over `n_assets` assets, every
    /// asset on the account's rates until given a schedule.
    pub fn new(n_assets: usize, leveraged: bool, initial: f64, long_maintenance: f64, short_maintenance: f64) -> Self {
        Self {
            schedules: vec![MarginSchedule::Account; n_assets],
            leveraged,
            variation: vec![false; n_assets],
            initial,
            long_maintenance,
            short_maintenance,
        }
    }

    /// Replaces the account's own rates (a live engine's settings changed
    /// before any activity; `Engine::update_settings`). Schedules stay.
    pub(crate) fn set_account_rates(&mut self, leveraged: bool, initial: f64, long_maintenance: f64,
                                    short_maintenance: f64) {
        self.leveraged = leveraged;
        self.initial = initial;
        self.long_maintenance = long_maintenance;
        self.short_maintenance = short_maintenance;
    }

    /// Makes room for `n` more assets, on the account's rates.
    pub fn add_assets(&mut self, n: usize) {
        self.schedules.resize(self.schedules.len() + n, MarginSchedule::Account);
        self.variation.resize(self.variation.len() + n, false);
    }

    /// Sets `asset`'s schedule after checking 0 < maintenance < initial (<= 1
    /// for fractions of notional).
    pub fn set_schedule(&mut self, asset: AssetId, schedule: MarginSchedule) -> EngineResult<()> {
        let (initial, maintenance, per_contract) = match schedule {
            MarginSchedule::Account => (1.0, 0.5, false),
            MarginSchedule::PerContract { initial, maintenance } => (initial, maintenance, true),
            MarginSchedule::PercentOfNotional { initial, maintenance } => (initial, maintenance, false),
        };
        let ok = initial.is_finite() && maintenance.is_finite() && maintenance > 0.0 && initial > 0.0
            && (per_contract || (maintenance < initial && initial <= 1.0));
        if !ok {
            return Err(EngineError::InvalidArgument(format!(
                "margin schedule needs 0 < maintenance < initial (<= 1 for fractions), got ({initial}, {maintenance})")));
        }
        let slot = self.schedules.get_mut(asset as usize)
            .ok_or_else(|| EngineError::NotFound(format!("asset index {asset} is not in the feed")))?;
        *slot = schedule;
        Ok(())
    }

    fn schedule(&self, asset: AssetId) -> MarginSchedule {
        self.schedules.get(asset as usize).copied().unwrap_or_default()
    }

    /// Margin `quantity` (signed) of `asset` at `price` requires: initial
    /// (`initial`) or maintenance. `multiplier` is the asset's contract size.
    pub fn requirement(&self, asset: AssetId, multiplier: f64, quantity: f64, price: f64, initial: bool) -> f64 {
        let notional = (quantity * price * multiplier).abs();
        match self.schedule(asset) {
            MarginSchedule::PercentOfNotional { initial: i, maintenance: m } => notional * if initial { i } else { m },
            MarginSchedule::PerContract { initial: i, maintenance: m } => quantity.abs() * if initial { i } else { m },
            MarginSchedule::Account if initial => notional * self.initial,
            MarginSchedule::Account if quantity > 0.0 => notional * self.long_maintenance,
            MarginSchedule::Account => notional * self.short_maintenance,
        }
    }

    /// Whether entries in `asset` are checked against projected margin.
    pub fn uses_projected(&self, asset: AssetId) -> bool {
        self.leveraged
            && (self.schedule(asset) != MarginSchedule::Account || self.variation.get(asset as usize) == Some(&true))
    }

    /// Marks `asset` as settled by variation margin (see `variation`).
    pub fn set_variation(&mut self, asset: AssetId) -> EngineResult<()> {
        let slot = self.variation.get_mut(asset as usize)
            .ok_or_else(|| EngineError::NotFound(format!("asset index {asset} is not in the feed")))?;
        *slot = true;
        Ok(())
    }

    /// Why holding `quantity` (signed, after the fill) of `asset` (contract
    /// `multiplier`) at `price` with `cash` would break initial margin, if it
    /// would: the initial margin of every position — the order's asset
    /// re-marked at `price` — against equity.
    pub fn projected_rejection(
        &self,
        positions: impl Iterator<Item = HeldPosition>,
        asset: AssetId,
        multiplier: f64,
        quantity: f64,
        price: f64,
        cash: f64,
    ) -> Option<Refusal> {
        let mut equity = cash;
        let mut required = self.requirement(asset, multiplier, quantity, price, true);
        for p in positions {
            equity += p.market_value;
            if p.asset == asset {
                equity += p.quantity * (price - p.mark) * p.multiplier;
            } else {
                required += self.requirement(p.asset, p.multiplier, p.quantity, p.mark, true);
            }
        }
        if !equity.is_finite() || !required.is_finite() {
            return Some(Refusal::MarginNotFinite);
        }
        (required > equity + CASH_TOLERANCE).then_some(Refusal::InsufficientMargin { need: required, equity })
    }

    /// Buying power with `cash` over `positions()`: (net liquidation value
    /// less their initial margin) / the initial margin rate, never negative.
    pub fn buying_power_over<I: Iterator<Item = HeldPosition>>(&self, positions: impl Fn() -> I, cash: f64) -> f64 {
        let nlv = net_liquidation_value_over(cash, positions());
        let required = positions().fold(0.0, |acc, p| acc + self.requirement(p.asset, p.multiplier, p.quantity, p.mark, true));
        ((nlv - required) / self.initial).max(0.0)
    }

    /// Maintenance margin `positions` require at their marks.
    pub fn maintenance_over(&self, positions: impl Iterator<Item = HeldPosition>) -> f64 {
        positions.fold(0.0, |acc, p| acc + self.requirement(p.asset, p.multiplier, p.quantity, p.mark, false))
    }

    /// A margin account's breach of maintenance margin with `cash` over
    /// `positions()`, if any: (net liquidation value, requirement) when the
    /// first is below the second. No positions, or no leverage: none.
    pub fn maintenance_breach<I: Iterator<Item = HeldPosition>>(&self, positions: impl Fn() -> I, cash: f64)
        -> Option<(f64, f64)> {
        if !self.leveraged || positions().next().is_none() {
            return None;
        }
        let equity = net_liquidation_value_over(cash, positions());
        let requirement = self.maintenance_over(positions());
        (equity < requirement).then_some((equity, requirement))
    }

    /// Maintenance margin of `p` at its current mark.
    pub fn maintenance(&self, portfolio: &Portfolio, p: &Position) -> f64 {
        self.requirement(p.asset, portfolio.multiplier(p.asset), p.quantity, p.current_price, false)
    }

    /// Maintenance margin the open positions require at their current marks.
    pub fn maintenance_requirement(&self, portfolio: &Portfolio) -> f64 {
        self.maintenance_over(held_positions(portfolio))
    }
}

impl Account {
    /// Cash the account's policy leaves for entries (`policy::spendable_cash`).
    pub fn spendable_cash(&self, portfolio: &Portfolio) -> f64 {
        policy::spendable_cash(&self.settings.rules, portfolio.cash, held_positions(portfolio))
    }

    /// What entries may spend now: spendable cash (free cash with locked
    /// shorts) less unsettled proceeds (unless configured otherwise), less
    /// the cash buffer.
    pub fn available_cash(&self, portfolio: &Portfolio) -> f64 {
        // Locked shorts: the free-cash ledger, not a sum over positions.
        let spendable =
            if self.locks_short_notional() { self.locked_cash.free_cash() } else { self.spendable_cash(portfolio) };
        policy::available_cash(&self.settings, spendable, self.settlement.unsettled())
    }

    /// A margin account's buying power with `cash` over the open positions:
    /// (net liquidation value less their initial margin) / initial margin
    /// rate, never negative. `without` leaves one asset's position out.
    pub fn margin_buying_power(&self, portfolio: &Portfolio, cash: f64, without: Option<AssetId>) -> f64 {
        self.margin.buying_power_over(|| held_positions(portfolio).filter(move |p| Some(p.asset) != without), cash)
    }

    /// What new long entries can spend (`broker.get_buying_power()`): a
    /// margin account's buying power, else non-negative spendable cash.
    pub fn buying_power(&self, portfolio: &Portfolio) -> f64 {
        policy::buying_power(&self.settings.rules, self.spendable_cash(portfolio),
            || self.margin_buying_power(portfolio, portfolio.cash, None))
    }

    /// Why the account refuses the entry `check` in `asset` over the
    /// portfolio, if it does (`policy::order_rejection`).
    pub fn entry_rejection(&self, portfolio: &Portfolio, asset: AssetId, check: &EntryCheck) -> Option<Refusal> {
        let ledger = Ledger {
            cash: portfolio.cash,
            free_cash: self.locked_cash.free_cash(),
            unsettled: self.settlement.unsettled(),
        };
        policy::order_rejection(&self.settings, &self.margin, asset, check, ledger, || held_positions(portfolio))
    }
}

/// The portfolio's open positions as the account's checks read them, in
/// opening order, each at its current mark.
pub fn held_positions(portfolio: &Portfolio) -> impl Iterator<Item = HeldPosition> + '_ {
    portfolio.positions()
        .map(|p| HeldPosition::marked(p.asset, p.quantity, p.entry_price, p.current_price, portfolio.multiplier(p.asset)))
}

/// Cash plus the market value of `positions`, summed as Python's `sum()` does.
pub fn net_liquidation_value_over(cash: f64, positions: impl Iterator<Item = HeldPosition>) -> f64 {
    cash + py_sum(positions.map(|p| p.market_value))
}

/// Net liquidation value: cash plus the market value of open positions at
/// their current marks.
pub fn net_liquidation_value(portfolio: &Portfolio) -> f64 {
    net_liquidation_value_over(portfolio.cash, held_positions(portfolio))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_by_schedule() {
        // Reg T account: 50% initial, 25% long / 30% short maintenance.
        let mut m = Margin::new(3, true, 0.5, 0.25, 0.30);
        m.set_schedule(1, MarginSchedule::PerContract { initial: 5_000.0, maintenance: 4_000.0 }).unwrap();
        m.set_schedule(2, MarginSchedule::PercentOfNotional { initial: 0.10, maintenance: 0.08 }).unwrap();
        // 100 shares @ 50: notional 5,000 -> 2,500 initial, 1,250 long / 1,500 short maintenance.
        assert_eq!(m.requirement(0, 1.0, 100.0, 50.0, true), 2_500.0);
        assert_eq!(m.requirement(0, 1.0, 100.0, 50.0, false), 1_250.0);
        assert_eq!(m.requirement(0, 1.0, -100.0, 50.0, false), 1_500.0);
        // 2 contracts: 10,000 initial whatever the price.
        assert_eq!(m.requirement(1, 50.0, -2.0, 4_000.0, true), 10_000.0);
        // 3 contracts x 50 x 100 = 15,000 notional: 1,500 initial.
        assert_eq!(m.requirement(2, 50.0, 3.0, 100.0, true), 1_500.0);
        assert!(!m.uses_projected(0) && m.uses_projected(1));
        assert!(m.set_schedule(2, MarginSchedule::PercentOfNotional { initial: 0.05, maintenance: 0.08 }).is_err());
        assert!(m.set_schedule(9, MarginSchedule::Account).is_err());
    }
}
