//! ml4t-backtest's NEXT_BAR cash models of other frameworks (all off by
//! default; the `backtrader_strict` and `lean` presets turn them on):
//!
//! * Submission precheck (`next_bar_submission_precheck`): a market or
//!   market-on-close order is checked when it is submitted, at the submission
//!   bar's price, against a shadow of the account taken at the first checked
//!   submission of the trading day. Without leverage (or with the simple cash
//!   check) this replays Backtrader's pseudo-execution of its submitted queue:
//!   every order moves the shadow cash, even one it refuses, and an order is
//!   refused once the shadow cash is negative. A margin account runs its
//!   buying-power rules against the shadow instead; accepted orders reserve
//!   their cost there, unless the queue shadow validation checks them again
//!   at the open (then each precheck stands alone).
//! * Simple cash check (`next_bar_simple_cash_check`, Backtrader): at the
//!   open a market entry passes when the cash left after it (at the open
//!   price, with commission) is >= 0, instead of the account check; a
//!   reversal that fails it still closes the old position.
//! * Queue shadow validation (`next_bar_queue_shadow_validation`, LEAN): the
//!   open pass validates every order in submission order against a shadow
//!   account (positions marked at the bar's reference price, each accepted
//!   order booked at its fill price) and then fills the accepted ones.

use nl_core::Refusal;
use nl_core::{AssetId, BarIndex, EngineResult, ExecutionMode, OrderId, OrderStatus, OrderType, ShareType};

use crate::account::{entry_rejection, EntryCheck};
use crate::kernel::Engine;
use crate::venue::sim::execute::Trigger;
use crate::venue::sim::triggers::{execution_price, mark_of, MatchPoint};
use crate::portfolio::is_flat;

/// A shadow account's position: asset, signed quantity and a price (the
/// precheck's cost basis, or the queue shadow's mark).
type Holding = (AssetId, f64, f64);

/// The account as submission prechecks see it during one trading day.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubmissionShadow {
    /// The trading day (the bar, without sessions) it was taken on.
    day: Option<i64>,
    cash: f64,
    holdings: Vec<Holding>,
}

/// Sets `asset`'s quantity and price in `holdings`; a quantity that is zero
/// up to the rounding of `scale` removes it (the others keep their order).
fn set_holding(holdings: &mut Vec<Holding>, asset: AssetId, quantity: f64, price: f64, scale: f64) {
    let slot = holdings.iter().position(|h| h.0 == asset);
    match slot {
        _ if is_flat(quantity, scale) => {
            if let Some(i) = slot {
                holdings.remove(i);
            }
        }
        Some(i) => holdings[i] = (asset, quantity, price),
        None => holdings.push((asset, quantity, price)),
    }
}

/// A position after a trade, as Backtrader's `Position.update` books it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PositionUpdate {
    quantity: f64,
    basis: f64,
    /// The signed part of the trade that opened (or added to) a position.
    opened: f64,
    /// The signed part of the trade that closed the old position.
    closed: f64,
}

/// Backtrader's `Position.update`: `size` (signed) at `price` traded against
/// `held` at cost `basis`.
fn update_position(held: f64, basis: f64, size: f64, price: f64) -> PositionUpdate {
    let quantity = held + size;
    let scale = held.abs().max(size.abs());
    if is_flat(quantity, scale) {
        return PositionUpdate { quantity: 0.0, basis: 0.0, opened: 0.0, closed: size };
    }
    if is_flat(held, held) {
        return PositionUpdate { quantity, basis: price, opened: size, closed: 0.0 };
    }
    let adds = (held > 0.0) == (size > 0.0);
    if adds {
        let basis = (basis * held + size * price) / quantity;
        return PositionUpdate { quantity, basis, opened: size, closed: 0.0 };
    }
    if (held > 0.0) == (quantity > 0.0) {
        return PositionUpdate { quantity, basis, opened: 0.0, closed: size };
    }
    // Reversed: the old position closed, the rest opened at `price`.
    PositionUpdate { quantity, basis: price, opened: quantity, closed: -held }
}

impl Engine {
    /// What happens to order `id` right after it is queued: the submission
    /// precheck may reject it, an immediate fill may fill it.
    pub(crate) fn admit_order(&mut self, id: OrderId) -> EngineResult<()> {
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
        let projected =
            |cash: f64, after: f64| self.projected_margin_rejection_over(holdings.iter().copied(), asset, after, price, cash);
        let projected: Option<&dyn Fn(f64, f64) -> Option<Refusal>> =
            self.uses_projected_margin(asset).then_some(&projected);
        let buying_power = |cash: f64, without_asset: bool| {
            let held = || holdings.iter().copied().filter(move |h| !(without_asset && h.0 == asset));
            self.buying_power_over(held, cash)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtrader_position_update_splits_reversals_into_close_and_open() {
        // Long 10 @ 100, buy 10 @ 110: 20 @ 105, all opened.
        assert_eq!(update_position(10.0, 100.0, 10.0, 110.0),
                   PositionUpdate { quantity: 20.0, basis: 105.0, opened: 10.0, closed: 0.0 });
        // Sell 4: 6 left at the old basis, 4 closed.
        assert_eq!(update_position(10.0, 100.0, -4.0, 110.0),
                   PositionUpdate { quantity: 6.0, basis: 100.0, opened: 0.0, closed: -4.0 });
        // Sell 30: 10 closed, short 20 opened at 110.
        assert_eq!(update_position(10.0, 100.0, -30.0, 110.0),
                   PositionUpdate { quantity: -20.0, basis: 110.0, opened: -20.0, closed: -10.0 });
        // Sell 10: flat, the whole trade closed.
        assert_eq!(update_position(10.0, 100.0, -10.0, 110.0),
                   PositionUpdate { quantity: 0.0, basis: 0.0, opened: 0.0, closed: -10.0 });
        // From flat, a short opens at the price.
        assert_eq!(update_position(0.0, 50.0, -5.0, 50.0),
                   PositionUpdate { quantity: -5.0, basis: 50.0, opened: -5.0, closed: 0.0 });
    }

    #[test]
    fn a_holding_that_nets_to_zero_leaves_the_shadow() {
        let mut h = vec![(0, 10.0, 100.0), (1, 5.0, 20.0)];
        set_holding(&mut h, 0, 0.1 + 0.2 - 0.3, 0.0, 10.0);
        assert_eq!(h, vec![(1, 5.0, 20.0)]);
        set_holding(&mut h, 2, -3.0, 7.0, 3.0);
        set_holding(&mut h, 1, 8.0, 21.0, 5.0);
        assert_eq!(h, vec![(1, 8.0, 21.0), (2, -3.0, 7.0)]);
    }
}
