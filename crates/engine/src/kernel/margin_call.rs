//! Maintenance-margin enforcement at the close (margin calls).

use nl_core::{AssetId, BarIndex, CancelReason, EngineError, EngineResult, ExitReason};
use crate::kernel::{DeferredExit, Engine};
use crate::account::margin_call::*;

impl Engine {
    /// Charges the night's borrow fee of every open short (called at the close).
    pub(crate) fn charge_borrow_fees(&mut self, b: BarIndex) -> EngineResult<()> {
        if self.cfg.borrow_rate <= 0.0 || (b as usize) + 1 >= self.market.n_bars() {
            return Ok(());
        }
        let Some(sessions) = self.sessions.as_ref() else {
            return Err(Self::borrow_without_dates());
        };
        let nights = (sessions[b as usize + 1] - sessions[b as usize]) as f64;
        if nights <= 0.0 {
            return Ok(());
        }
        let rate = self.cfg.borrow_rate * nights / 365.0;
        let shorts: Vec<(AssetId, f64)> = self.portfolio.positions()
            .filter(|p| p.quantity < 0.0)
            .map(|p| (p.asset, (p.quantity * p.current_price * self.multiplier(p.asset)).abs() * rate))
            .collect();
        for (asset, fee) in shorts {
            self.portfolio.cash -= fee;
            if self.account.locks_short_notional() {
                self.account.locked_cash.charge(fee);
            }
            self.account.borrow_fees[asset as usize] += fee;
        }
        Ok(())
    }

    pub(crate) fn borrow_without_dates() -> EngineError {
        EngineError::InvalidState("borrow_rate needs calendar dates: the feed's timestamps are not dates or datetimes".into())
    }

    /// Checks maintenance margin at the close and schedules liquidations.
    pub(crate) fn enforce_maintenance_margin(&mut self, b: BarIndex) {
        // No positions: nothing to liquidate (negative equity stays as it is).
        if !self.cfg.enforce_margin_calls || self.portfolio.positions().next().is_none() {
            return;
        }
        let equity = self.net_liquidation_value();
        let requirement = self.maintenance_requirement();
        if equity >= requirement {
            return;
        }
        let mut by_loss: Vec<(AssetId, f64, f64, f64)> = self.portfolio.positions()
            .map(|p| {
                let pnl = p.quantity * (p.current_price - p.entry_price) * self.multiplier(p.asset);
                (p.asset, p.quantity, pnl, self.account.margin.maintenance(&self.portfolio, p))
            })
            .collect();
        // Largest loss first; ties in opening order (the sort is stable).
        by_loss.sort_by(|x, y| x.2.total_cmp(&y.2));
        let mut remaining = requirement;
        let mut liquidated = 0;
        for (asset, quantity, _, margin) in by_loss {
            if equity > 0.0 && equity >= remaining {
                break;
            }
            remaining -= margin;
            liquidated += 1;
            self.cancel_pending_where(CancelReason::MarginCall, |o| o.asset == asset);
            self.deferred_exits.retain(|e| e.asset != asset);
            self.deferred_exits.push(DeferredExit {
                asset, quantity, reason: ExitReason::MarginCall, detail: "margin_call".into(), enforced: true,
            });
        }
        self.account.margin_calls.push(MarginCall { bar: b, equity, requirement, liquidated });
    }

    pub fn margin_calls(&self) -> &[MarginCall] {
        &self.account.margin_calls
    }

    /// Borrow fees charged so far, per asset.
    pub fn borrow_fees(&self) -> &[f64] {
        &self.account.borrow_fees
    }
}
