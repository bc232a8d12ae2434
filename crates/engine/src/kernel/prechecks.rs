//! Next-bar submission prechecks, the open cash check and the queue shadow, run by the engine.

use nl_core::Refusal;
use nl_core::{AssetId, BarIndex, EngineResult, ExecutionMode, OrderId, OrderStatus, OrderType, ShareType};
use crate::account::{entry_rejection, EntryCheck};
use crate::kernel::Engine;
use crate::venue::sim::execute::Trigger;
use crate::venue::sim::triggers::{execution_price, mark_of, MatchPoint};
use crate::portfolio::is_flat;
use crate::risk::prechecks::*;

impl Engine {
    /// What happens to order `id` right after it is queued: the submission
    /// precheck may reject it, an immediate fill may fill it.
    pub(crate) fn admit_order(&mut self, id: OrderId) -> EngineResult<()> {
        if self.execution_client.is_some() {
            return self.send_to_venue(id);
        }
        if self.prechecks_submission(id) {
            if let Some(reason) = self.submission_precheck(id)? {
                self.reject(id, reason);
                self.book.remove_pending(id);
                return Ok(());
            }
        }
        self.fill_now_if_immediate(id)
    }

    fn prechecks_submission(&self, id: OrderId) -> bool {
        self.cfg.next_bar_submission_precheck
            && self.cfg.execution_mode == ExecutionMode::NextBar
            && matches!(self.book[id].order_type, OrderType::Market | OrderType::MarketOnClose)
    }

    /// Why order `id`, just submitted, is refused, if it is. An integer
    /// account's quantity is floored here already.
    fn submission_precheck(&mut self, id: OrderId) -> EngineResult<Option<Refusal>> {
        if self.cfg.share_type == ShareType::Integer {
            let o = &mut self.book[id];
            o.quantity = o.quantity.trunc();
            if o.quantity <= 0.0 {
                return Ok(Some(Refusal::QuantityRoundsToZero));
            }
        }
        // No price this bar to check with: the order stays eligible.
        let price = self.book[id].signal_price;
        if price.is_nan() {
            return Ok(None);
        }
        self.refresh_submission_shadow();
        if self.cfg.allow_leverage && !self.cfg.next_bar_simple_cash_check {
            self.margin_precheck(id, price)
        } else {
            self.pseudo_execution_precheck(id, price)
        }
    }

    /// Takes a new shadow at the first checked submission of a trading day:
    /// cash, and the open positions at this bar's mark (else their last mark).
    fn refresh_submission_shadow(&mut self) {
        let Some(b) = self.current_bar() else { return };
        let day = self.sessions.as_ref().map_or(i64::from(b), |s| s[b as usize]);
        if self.submission_shadow.day == Some(day) {
            return;
        }
        let holdings = self
            .portfolio
            .positions()
            .filter(|p| !is_flat(p.quantity, p.quantity))
            .map(|p| {
                let known = |x: f64| (x != 0.0 && !x.is_nan()).then_some(x);
                let basis = self.mark_now(p.asset, p.quantity).and_then(known)
                    .or(known(p.current_price))
                    .unwrap_or(p.entry_price);
                (p.asset, p.quantity, basis)
            })
            .collect();
        self.submission_shadow = SubmissionShadow { day: Some(day), cash: self.portfolio.cash, holdings };
    }

    /// `asset`'s configured mark on the current bar; `None` without a row now.
    fn mark_now(&self, asset: AssetId, quantity: f64) -> Option<f64> {
        let row = self.row_in_bar(self.current_bar()?, asset)?;
        let mark = mark_of(&self.market.bar_at(row), self.cfg.mark_price, quantity, false, false);
        (!mark.is_nan()).then_some(mark)
    }

    /// Backtrader's check: the order is booked in the shadow at `price`
    /// (shorts credit cash, no multiplier, as Backtrader's stock-like
    /// positions) whether or not it is refused; refused when the shadow cash
    /// is then negative.
    fn pseudo_execution_precheck(&mut self, id: OrderId, price: f64) -> EngineResult<Option<Refusal>> {
        let o = &self.book[id];
        let (asset, size) = (o.asset, o.side.sign() * o.quantity);
        let commission = self.cfg.commission.commission(&self.commission_query(o, o.quantity, price))?;
        let shadow = &mut self.submission_shadow;
        let (held, basis) = shadow.holdings.iter().find(|h| h.0 == asset).map_or((0.0, price), |h| (h.1, h.2));
        let after = update_position(held, basis, size, price);
        let mut cash = shadow.cash;
        if after.closed != 0.0 {
            cash += -after.closed * price;
        }
        if after.opened != 0.0 {
            cash -= after.opened * price;
        }
        cash -= commission;
        shadow.cash = cash;
        set_holding(&mut shadow.holdings, asset, after.quantity, after.basis, held.abs().max(size.abs()));
        Ok((cash < 0.0).then_some(Refusal::SubmissionPrecheckCash))
    }

    /// A margin account's check: its buying-power rules against the shadow
    /// (less the cash buffer). An accepted order reserves its cost in the
    /// shadow unless the open pass validates the queue again.
    fn margin_precheck(&mut self, id: OrderId, price: f64) -> EngineResult<Option<Refusal>> {
        let o = &self.book[id];
        let (asset, side, quantity) = (o.asset, o.side, o.quantity);
        let size = side.sign() * quantity;
        let commission = self.cfg.commission.commission(&self.commission_query(o, quantity, price))?;
        let shadow = &self.submission_shadow;
        let (held, basis) = shadow.holdings.iter().find(|h| h.0 == asset).map_or((0.0, price), |h| (h.1, h.2));
        let holdings: Vec<Holding> = shadow
            .holdings
            .iter()
            .map(|&(a, q, basis)| (a, q, self.mark_now(a, q).filter(|&m| m != 0.0).unwrap_or(basis)))
            .collect();
        let mut available = shadow.cash;
        let buffer = self.cfg.cash_buffer_pct;
        if buffer > 0.0 && available > 0.0 {
            available *= 1.0 - buffer;
        }
        let check = EntryCheck { held, side, quantity, price, multiplier: self.multiplier(asset), commission };
        if let Some(reason) = self.shadow_rejection(&check, asset, &holdings, available) {
            return Ok(Some(reason));
        }
        if !self.cfg.next_bar_queue_shadow_validation {
            let after = update_position(held, basis, size, price);
            let cost = -size * price * self.multiplier(asset) - commission;
            let shadow = &mut self.submission_shadow;
            shadow.cash += cost;
            set_holding(&mut shadow.holdings, asset, after.quantity, after.basis, held.abs().max(size.abs()));
        }
        Ok(None)
    }

    /// The account's reason to refuse `check` on `asset` against a shadow:
    /// `cash` and `holdings` (marked) instead of the portfolio's.
    fn shadow_rejection(&self, check: &EntryCheck, asset: AssetId, holdings: &[Holding], cash: f64) -> Option<Refusal> {
        // The account's rules see every order here, exits too (ml4t's policy
        // classifies with a rounding tolerance, then checks the result
        // exactly): a short an account without shorts holds
        // (skip_cash_validation) can only be closed, not reduced.
        let (held, delta) = (check.held, check.side.sign() * check.quantity);
        let after = held + delta;
        let open = !is_flat(held, held);
        let reverses = open && !is_flat(after, held.abs().max(delta.abs())) && (held > 0.0) != (after > 0.0);
        if open && !reverses && held * delta < 0.0 {
            if self.cfg.allow_short_selling {
                return None;
            }
            if after != 0.0 && (held > 0.0) != (after > 0.0) {
                return Some(Refusal::ReversalNotAllowedFrom { current: held, delta });
            }
            return (after < 0.0).then_some(Refusal::ShortPositionsNotAllowed);
        }
        let check = &EntryCheck { held: if open { held } else { 0.0 }, ..*check };
        let price = check.price;
        let projected = |cash: f64, after: f64| {
            self.account.margin.projected_rejection(&self.portfolio, holdings.iter().copied(), asset, after, price, cash)
        };
        let projected: Option<&dyn Fn(f64, f64) -> Option<Refusal>> =
            self.account.margin.uses_projected(asset).then_some(&projected);
        let buying_power = |cash: f64, without_asset: bool| {
            let held = || holdings.iter().copied().filter(move |h| !(without_asset && h.0 == asset));
            self.account.margin.buying_power_over(&self.portfolio, held, cash)
        };
        entry_rejection(&self.cfg.account_rules(), cash, cash, check, buying_power, projected)
    }

    /// Whether order `id` gets the simple cash check in a pass at `at`.
    pub(crate) fn uses_simple_cash_check(&self, id: OrderId, at: MatchPoint) -> bool {
        self.cfg.next_bar_simple_cash_check
            && !self.cfg.skip_cash_validation
            && self.cfg.execution_mode == ExecutionMode::NextBar
            && at == MatchPoint::Open
            && self.book[id].order_type == OrderType::Market
    }

    /// Backtrader's open cash check of `quantity` of order `id` at `price`
    /// against the position `held`: the quantity that may fill, or `None`
    /// (refused). A reversal cash cannot pay for is cut to its closing leg.
    pub(crate) fn simple_cash_check(&mut self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<f64>> {
        let o = &self.book[id];
        let size = o.side.sign() * quantity;
        let opposite = held * size < 0.0;
        if opposite && quantity <= held.abs() {
            return Ok(Some(quantity));
        }
        let commission = self.cfg.commission.commission(&self.commission_query(o, quantity, price))?;
        let cash_after = self.portfolio.cash - size * price * self.multiplier(o.asset) - commission;
        if cash_after >= 0.0 {
            return Ok(Some(quantity));
        }
        if !opposite {
            return Ok(None);
        }
        self.book[id].quantity = held.abs();
        Ok(Some(held.abs()))
    }

    /// Whether a pass at `at` over all pending orders (`restricted`: only
    /// some) is LEAN's queue-validated open pass.
    pub(crate) fn validates_queue_in_shadow(&self, at: MatchPoint, restricted: bool) -> bool {
        self.cfg.next_bar_queue_shadow_validation
            && self.cfg.execution_mode == ExecutionMode::NextBar
            && at == MatchPoint::Open
            && !restricted
    }

    /// LEAN's open pass: validates `eligible` in submission order against a
    /// shadow account at this bar's reference prices (whatever
    /// `fill_ordering` says), then fills the accepted orders in that order,
    /// marking positions at the open after each.
    pub(crate) fn match_queue_in_shadow(&mut self, eligible: &[OrderId], b: BarIndex) -> EngineResult<()> {
        let market = std::sync::Arc::clone(&self.market);
        let close = market.close_column();
        let mark = |engine: &Self, asset: AssetId, fallback: f64| {
            engine.row_in_bar(b, asset).map_or(fallback, |row| close[row])
        };
        let mut cash = self.portfolio.cash;
        let mut holdings: Vec<Holding> =
            self.portfolio.positions().map(|p| (p.asset, p.quantity, mark(self, p.asset, p.current_price))).collect();
        let mut accepted: Vec<(OrderId, Trigger)> = Vec::new();
        for &id in eligible {
            let o = &self.book[id];
            let Some(row) = self.row_in_bar(b, o.asset) else { continue };
            if execution_price(o, &self.market.bar_at(row), MatchPoint::Open, self.cfg.execution_price).0.is_nan() {
                continue;
            }
            if !self.round_quantity(id) {
                continue;
            }
            let Some(trigger) = self.triggered_price(id, b, MatchPoint::Open) else { continue };
            let o = &self.book[id];
            let (asset, side, quantity) = (o.asset, o.side, o.quantity);
            // Validated at the bar's reference price, booked at the fill price.
            let reference = close[row];
            let commission = self.cfg.commission.commission(&self.commission_query(o, quantity, reference))?;
            let held = holdings.iter().find(|h| h.0 == asset).map_or(0.0, |h| h.1);
            let check = EntryCheck { held, side, quantity, price: reference, multiplier: self.multiplier(asset), commission };
            if let Some(reason) = self.shadow_rejection(&check, asset, &holdings, cash) {
                self.reject(id, reason);
                continue;
            }
            let o = &self.book[id];
            let commission = self.cfg.commission.commission(&self.commission_query(o, quantity, trigger.base))?;
            let size = side.sign() * quantity;
            cash += -size * trigger.base * self.multiplier(asset) - commission;
            set_holding(&mut holdings, asset, held + size, reference, held.abs().max(size.abs()));
            accepted.push((id, trigger));
        }
        for (id, trigger) in accepted {
            // An earlier fill may have cancelled it (a reversal, one-cancels-other).
            // (ml4t fills it anyway; see README, Behaviour.)
            if self.book[id].status != OrderStatus::Pending {
                continue;
            }
            self.fill_at(id, b, MatchPoint::Open, trigger, true)?;
            self.mark_positions(b, MatchPoint::Open);
        }
        Ok(())
    }
}
