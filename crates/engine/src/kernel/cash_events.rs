//! The kernel's side of scheduled cash events (account/cash_events.rs):
//! as bar `b` opens, after its marks, its capital flows then its funding.

use nl_core::{AssetId, BarIndex, EngineError, EngineResult};

use crate::account::cash_events::{CapitalChange, CapitalFlow, FundingEvent, FundingPayment};
use crate::kernel::{mark_in_bar, Engine, Phase};

impl Engine {
    /// Sets the external capital flow schedule (before the first bar only).
    pub fn set_capital_flows(&mut self, flows: Vec<CapitalFlow>) -> EngineResult<()> {
        self.check_schedule_settable("capital flows")?;
        self.account.cash_events.set_flows(flows, self.market.n_bars())
    }

    /// Sets the funding schedule (before the first bar only).
    pub fn set_funding_events(&mut self, events: Vec<FundingEvent>) -> EngineResult<()> {
        self.check_schedule_settable("funding events")?;
        self.account.cash_events.set_funding(events, self.market.n_bars(), self.market.n_assets())
    }

    fn check_schedule_settable(&self, what: &str) -> EngineResult<()> {
        if self.phase != Phase::BeforeFirstBar || self.market.is_streamed() {
            return Err(EngineError::InvalidState(format!("{what} can only be scheduled on a historical feed before the first bar")));
        }
        Ok(())
    }

    pub fn capital_changes(&self) -> &[CapitalChange] {
        self.account.cash_events.capital_changes()
    }

    pub fn funding_payments(&self) -> &[FundingPayment] {
        self.account.cash_events.funding_payments()
    }

    /// Applies bar `b`'s scheduled cash events (it has some: `due(b)`).
    pub(crate) fn apply_cash_events(&mut self, b: BarIndex) -> EngineResult<()> {
        if self.account.cash_events.flows_due(b) {
            let nav = self.marked_account_value(b)?;
            let leverage = self.account.settings.rules.allow_leverage;
            self.account.cash_events.apply_flows(b, nav, leverage, &mut self.portfolio, &mut self.account.locked_cash)?;
        }
        if self.account.cash_events.funding_due(b) {
            let last_price = &self.last_price;
            self.account.cash_events.apply_funding(b, &mut self.portfolio, &mut self.account.locked_cash,
                                                   |a: AssetId| last_price[a as usize])?;
        }
        Ok(())
    }

    /// Cash plus every open position at its configured mark on bar `b`: a
    /// capital flow needs an independent valuation, so every held asset
    /// must have one now.
    fn marked_account_value(&self, b: BarIndex) -> EngineResult<f64> {
        let (market, latest_row, mark_price) = (&self.market, &self.latest_row, self.cfg.mark_price);
        let missing: Vec<String> = self.portfolio.positions()
            .filter(|p| mark_in_bar(market, latest_row, mark_price, b, p.asset, p.quantity).is_none())
            .map(|p| format!("asset index {}", p.asset))
            .collect();
        if !missing.is_empty() {
            return Err(EngineError::InvalidArgument(format!(
                "capital change requires a current mark for held assets: {}", missing.join(", "))));
        }
        let mark = |a: AssetId| mark_in_bar(market, latest_row, mark_price, b, a, self.portfolio.quantity(a)).unwrap_or(f64::NAN);
        Ok(self.portfolio.account_value(mark))
    }
}
