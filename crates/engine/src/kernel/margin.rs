//! Contract multipliers, margin schedules, spendable cash and buying power over the open positions.

use nl_core::Refusal;
use nl_core::{AssetId, EngineError, EngineResult, Position};
use crate::account::ShortCashPolicy;
use crate::kernel::Engine;
use crate::account::margin::*;

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

    /// Sets `asset`'s margin schedule (before the first bar only). Entries
    /// in an asset with a schedule are checked against projected margin:
    /// the initial margin of every position after the fill against equity.
    pub fn set_margin_schedule(&mut self, asset: AssetId, schedule: MarginSchedule) -> EngineResult<()> {
        if self.current_bar().is_some() {
            return Err(EngineError::InvalidState("margin schedules can only be set before the first bar".into()));
        }
        self.account.margin.set_schedule(asset, schedule)
    }

    /// Whether entries in `asset` are checked against projected margin.
    pub(crate) fn uses_projected_margin(&self, asset: AssetId) -> bool {
        self.account.margin.uses_projected(asset)
    }

    /// Why holding `quantity` (signed, after the fill) of `asset` at `price`
    /// with `cash` would break initial margin, if it would.
    pub(crate) fn projected_margin_rejection(&self, asset: AssetId, quantity: f64, price: f64, cash: f64) -> Option<Refusal> {
        let held = self.portfolio.positions().map(|p| (p.asset, p.quantity, p.current_price));
        self.account.margin.projected_rejection(&self.portfolio, held, asset, quantity, price, cash)
    }

    /// `projected_margin_rejection` over `holdings` (asset, signed
    /// quantity, mark) instead of the open positions (a shadow account's).
    pub(crate) fn projected_margin_rejection_over(
        &self,
        holdings: impl Iterator<Item = (AssetId, f64, f64)>,
        asset: AssetId,
        quantity: f64,
        price: f64,
        cash: f64,
    ) -> Option<Refusal> {
        self.account.margin.projected_rejection(&self.portfolio, holdings, asset, quantity, price, cash)
    }

    /// Cash the account's policy leaves for entries: in a short-enabled
    /// account without leverage, cash less the shorts' entry notional when
    /// proceeds are held as collateral (CREDIT_PROCEEDS), less twice it when
    /// locked (LOCK_NOTIONAL, what `get_buying_power` reports).
    fn spendable_cash(&self) -> f64 {
        let cash = self.portfolio.cash;
        if self.cfg.allow_leverage || !self.cfg.allow_short_selling
            || self.cfg.short_cash_policy == ShortCashPolicy::Credit {
            return cash;
        }
        let collateral = self.portfolio.positions().filter(|p| p.quantity < 0.0)
            .fold(0.0, |acc, p| acc + p.quantity.abs() * p.entry_price * self.multiplier(p.asset));
        match self.cfg.short_cash_policy {
            ShortCashPolicy::LockNotional => cash - 2.0 * collateral,
            _ => cash - collateral,
        }
    }

    /// What entries may spend now: spendable cash less unsettled proceeds
    /// (unless configured otherwise), less the cash buffer.
    pub(crate) fn available_cash(&self) -> f64 {
        // Locked shorts: the free-cash ledger, not a sum over positions.
        let mut spendable = if self.account.locks_short_notional() { self.account.locked_cash.free_cash() } else { self.spendable_cash() };
        if self.cfg.settlement_reduces_buying_power {
            spendable -= self.account.settlement.unsettled();
        }
        let buffer = self.cfg.cash_buffer_pct;
        if buffer > 0.0 && spendable > 0.0 { spendable * (1.0 - buffer) } else { spendable }
    }

    /// A margin account's buying power with `cash`: (net liquidation value
    /// less the initial margin of open positions) / initial margin rate,
    /// never negative. `without` leaves one asset's position out.
    pub(crate) fn margin_buying_power(&self, cash: f64, without: Option<AssetId>) -> f64 {
        let held = || {
            self.portfolio.positions().filter(move |p| Some(p.asset) != without).map(|p| (p.asset, p.quantity, p.current_price))
        };
        self.buying_power_over(held, cash)
    }

    /// `margin_buying_power` over the holdings (asset, signed quantity, mark)
    /// `holdings()` lists instead of the open positions (a shadow account's).
    pub(crate) fn buying_power_over<I: Iterator<Item = (AssetId, f64, f64)>>(&self, holdings: impl Fn() -> I, cash: f64) -> f64 {
        self.account.margin.buying_power_over(&self.portfolio, holdings, cash)
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
        self.account.margin.maintenance(&self.portfolio, p)
    }

    /// Net liquidation value: cash plus the market value of open positions
    /// at their current marks.
    pub fn net_liquidation_value(&self) -> f64 {
        net_liquidation_value(&self.portfolio)
    }

    /// Maintenance margin the open positions require at their current marks.
    pub fn maintenance_requirement(&self) -> f64 {
        self.account.margin.maintenance_requirement(&self.portfolio)
    }
}
