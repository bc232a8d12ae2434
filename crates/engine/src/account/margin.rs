//! What the account lets entries spend, from its cash and open positions:
//! spendable cash (short collateral, unsettled proceeds, the cash buffer),
//! a margin account's buying power and its maintenance requirement.
//!
//! Totals follow ml4t-backtest's arithmetic (positions in opening order,
//! market value summed as Python's `sum()` does) so checks agree to the bit.

use nl_core::{AssetId, EngineError, EngineResult, Position, Refusal};

use crate::account::{entry_rejection, py_sum, Account, EntryCheck, ShortCashPolicy, CASH_TOLERANCE};
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
    initial: f64,
    long_maintenance: f64,
    short_maintenance: f64,
}

impl Margin {
    /// Rates of a margin account (`leveraged`) over `n_assets` assets, every
    /// asset on the account's rates until given a schedule.
    pub fn new(n_assets: usize, leveraged: bool, initial: f64, long_maintenance: f64, short_maintenance: f64) -> Self {
        Self { schedules: vec![MarginSchedule::Account; n_assets], leveraged, initial, long_maintenance, short_maintenance }
    }

    /// Makes room for `n` more assets, on the account's rates.
    pub fn add_assets(&mut self, n: usize) {
        self.schedules.resize(self.schedules.len() + n, MarginSchedule::Account);
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
        self.leveraged && self.schedule(asset) != MarginSchedule::Account
    }

    /// Why holding `quantity` (signed, after the fill) of `asset` at `price`
    /// with `cash` would break initial margin, if it would: the initial
    /// margin of every holding (asset, signed quantity, mark) — the order's
    /// asset re-marked at `price` — against equity.
    pub fn projected_rejection(
        &self,
        portfolio: &Portfolio,
        holdings: impl Iterator<Item = (AssetId, f64, f64)>,
        asset: AssetId,
        quantity: f64,
        price: f64,
        cash: f64,
    ) -> Option<Refusal> {
        let multiplier = |a: AssetId| portfolio.multiplier(a);
        let mut equity = cash;
        let mut required = self.requirement(asset, multiplier(asset), quantity, price, true);
        for (held, qty, mark) in holdings {
            equity += qty * mark * multiplier(held);
            if held == asset {
                equity += qty * (price - mark) * multiplier(asset);
            } else {
                required += self.requirement(held, multiplier(held), qty, mark, true);
            }
        }
        if !equity.is_finite() || !required.is_finite() {
            return Some(Refusal::MarginNotFinite);
        }
        (required > equity + CASH_TOLERANCE).then_some(Refusal::InsufficientMargin { need: required, equity })
    }

    /// Buying power with `cash` over `holdings()` (asset, signed quantity,
    /// mark): (net liquidation value less their initial margin) / the
    /// initial margin rate, never negative.
    pub fn buying_power_over<I: Iterator<Item = (AssetId, f64, f64)>>(
        &self,
        portfolio: &Portfolio,
        holdings: impl Fn() -> I,
        cash: f64,
    ) -> f64 {
        let nlv = cash + py_sum(holdings().map(|(a, q, mark)| q * mark * portfolio.multiplier(a)));
        let required =
            holdings().fold(0.0, |acc, (a, q, mark)| acc + self.requirement(a, portfolio.multiplier(a), q, mark, true));
        ((nlv - required) / self.initial).max(0.0)
    }

    /// Maintenance margin of `p` at its current mark.
    pub fn maintenance(&self, portfolio: &Portfolio, p: &Position) -> f64 {
        self.requirement(p.asset, portfolio.multiplier(p.asset), p.quantity, p.current_price, false)
    }

    /// Maintenance margin the open positions require at their current marks.
    pub fn maintenance_requirement(&self, portfolio: &Portfolio) -> f64 {
        portfolio.positions().fold(0.0, |acc, p| acc + self.maintenance(portfolio, p))
    }
}

impl Account {
    /// Cash the account's policy leaves for entries: in a short-enabled
    /// account without leverage, cash less the shorts' entry notional when
    /// proceeds are held as collateral (CREDIT_PROCEEDS), less twice it when
    /// locked (LOCK_NOTIONAL, what `get_buying_power` reports).
    pub fn spendable_cash(&self, portfolio: &Portfolio) -> f64 {
        let cash = portfolio.cash;
        let r = &self.settings.rules;
        if r.allow_leverage || !r.allow_short_selling || r.short_cash_policy == ShortCashPolicy::Credit {
            return cash;
        }
        let collateral = portfolio.positions().filter(|p| p.quantity < 0.0)
            .fold(0.0, |acc, p| acc + p.quantity.abs() * p.entry_price * portfolio.multiplier(p.asset));
        match r.short_cash_policy {
            ShortCashPolicy::LockNotional => cash - 2.0 * collateral,
            _ => cash - collateral,
        }
    }

    /// What entries may spend now: spendable cash (free cash with locked
    /// shorts) less unsettled proceeds (unless configured otherwise), less
    /// the cash buffer.
    pub fn available_cash(&self, portfolio: &Portfolio) -> f64 {
        // Locked shorts: the free-cash ledger, not a sum over positions.
        let mut spendable =
            if self.locks_short_notional() { self.locked_cash.free_cash() } else { self.spendable_cash(portfolio) };
        if self.settings.settlement_reduces_buying_power {
            spendable -= self.settlement.unsettled();
        }
        let buffer = self.settings.cash_buffer_pct;
        if buffer > 0.0 && spendable > 0.0 { spendable * (1.0 - buffer) } else { spendable }
    }

    /// A margin account's buying power with `cash` over the open positions:
    /// (net liquidation value less their initial margin) / initial margin
    /// rate, never negative. `without` leaves one asset's position out.
    pub fn margin_buying_power(&self, portfolio: &Portfolio, cash: f64, without: Option<AssetId>) -> f64 {
        let held = || {
            portfolio.positions().filter(move |p| Some(p.asset) != without).map(|p| (p.asset, p.quantity, p.current_price))
        };
        self.margin.buying_power_over(portfolio, held, cash)
    }

    /// What new long entries can spend (`broker.get_buying_power()`): a
    /// margin account's buying power, else non-negative spendable cash.
    pub fn buying_power(&self, portfolio: &Portfolio) -> f64 {
        if self.settings.rules.allow_leverage {
            self.margin_buying_power(portfolio, portfolio.cash, None)
        } else {
            self.spendable_cash(portfolio).max(0.0)
        }
    }

    /// Why holding `quantity` (signed, after the fill) of `asset` at `price`
    /// with `cash` would break initial margin over the open positions, if it would.
    pub fn projected_margin_rejection(&self, portfolio: &Portfolio, asset: AssetId, quantity: f64, price: f64, cash: f64)
        -> Option<Refusal> {
        let held = portfolio.positions().map(|p| (p.asset, p.quantity, p.current_price));
        self.margin.projected_rejection(portfolio, held, asset, quantity, price, cash)
    }

    /// Why the account refuses the entry `check` in `asset` over the
    /// portfolio, if it does: its rules against the cash a reversal may use,
    /// the cash entries may spend, buying power, and projected margin for an
    /// asset with a margin schedule.
    pub fn entry_rejection(&self, portfolio: &Portfolio, asset: AssetId, check: &EntryCheck) -> Option<Refusal> {
        let price = check.price;
        let projected = |cash: f64, after: f64| self.projected_margin_rejection(portfolio, asset, after, price, cash);
        let projected: Option<&dyn Fn(f64, f64) -> Option<Refusal>> =
            self.margin.uses_projected(asset).then_some(&projected);
        entry_rejection(&self.settings.rules, self.reversal_cash(portfolio, asset, check.held),
            self.available_cash(portfolio), check,
            |cash, without_asset| self.margin_buying_power(portfolio, cash, without_asset.then_some(asset)), projected)
    }
}

/// Net liquidation value: cash plus the market value of open positions at
/// their current marks.
pub fn net_liquidation_value(portfolio: &Portfolio) -> f64 {
    portfolio.cash + py_sum(portfolio.positions().map(|p| p.quantity * p.current_price * portfolio.multiplier(p.asset)))
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
