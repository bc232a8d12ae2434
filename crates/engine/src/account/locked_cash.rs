//! VectorBT's locked short collateral (`short_cash_policy = LOCK_NOTIONAL`
//! in an account without leverage): a free-cash ledger beside the cash.
//!
//! A short sale's proceeds and as much again are locked: opening a short of
//! notional N takes N from free cash (cash itself rises by N), so free cash
//! is cash less twice the shorts' entry basis. Covering releases twice the
//! covered share of the basis and costs the cover's price. Longs move free
//! cash like cash. Entries spend free cash, with no tolerance.
//!
//! The ledger is its own running total (not derived from cash and
//! positions) because ml4t-backtest keeps it that way: its float rounding,
//! its cancellation of near-equal opposite amounts and its per-asset basis
//! (which outlives a position closed within rounding noise) all show in
//! which orders fit, so we book it operation for operation as ml4t does,
//! in either of its update modes: POSITION_LEGS (VectorBT PRO) settles a
//! fill's closing leg and then its opening leg; COMBINED_ORDER (VectorBT
//! OSS) settles the fill's gross cash and its change of short debt at once,
//! and sizes covers and sales by that order's arithmetic too.

use nl_core::{AssetId, EngineResult, Fill, Order, OrderSide, Refusal};

use crate::account::{Account, LockNotionalUpdateMode, OrderEffect, ShortCashPolicy};
use crate::portfolio::Portfolio;

/// Free cash and the entry basis of each asset's locked short.
#[derive(Debug, Clone)]
pub struct LockedCash {
    free: f64,
    /// By asset: entry notional of the short still locked (0 when none).
    short_basis: Vec<f64>,
    mode: LockNotionalUpdateMode,
}

/// `left + right`, except that two opposite amounts equal within 1e-9
/// (relative) or 1e-12 (absolute) cancel to exactly 0: a fully covered
/// short leaves no dust of free cash (ml4t's `add_with_zero_cancellation`).
pub fn add_cancelling(left: f64, right: f64) -> f64 {
    if left.is_sign_negative() != right.is_sign_negative() && is_close(left.abs(), right.abs()) {
        return 0.0;
    }
    left + right
}

/// Python's `math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)`.
pub(crate) fn is_close(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    let diff = (b - a).abs();
    diff <= (1e-9 * b).abs() || diff <= (1e-9 * a).abs() || diff <= 1e-12
}

impl LockedCash {
    pub fn new(initial_cash: f64, n_assets: usize, mode: LockNotionalUpdateMode) -> Self {
        Self { free: initial_cash, short_basis: vec![0.0; n_assets], mode }
    }

    /// Makes room for `n` more assets (no short basis).
    pub fn add_assets(&mut self, n: usize) {
        self.short_basis.resize(self.short_basis.len() + n, 0.0);
    }

    /// Cash new entries may spend.
    pub fn free_cash(&self) -> f64 {
        self.free
    }

    /// Entry notional of `asset`'s locked short (0 when none).
    pub fn short_basis(&self, asset: AssetId) -> f64 {
        self.short_basis[asset as usize]
    }

    /// A cash charge outside fills (borrow fees) comes out of free cash too.
    pub fn charge(&mut self, amount: f64) {
        self.free -= amount;
    }

    /// Books a fill of `signed` (signed quantity) of `asset` at `price`
    /// (contract `multiplier`) against the position `held` before it;
    /// `reversed_into` is the opposite position the fill opened, if it
    /// reversed. Closing legs first (a cover releases its basis twice over
    /// and pays its price; a sale frees its proceeds), then the opening leg
    /// (its notional leaves free cash; a short's joins the basis), then the
    /// commission. In COMBINED_ORDER mode see `book_combined`.
    pub fn book(&mut self, asset: AssetId, held: f64, signed: f64, price: f64, multiplier: f64,
                reversed_into: Option<f64>, commission: f64) {
        if self.mode == LockNotionalUpdateMode::CombinedOrder {
            return self.book_combined(asset, held, signed, price * multiplier, commission);
        }
        let slot = asset as usize;
        let mut remaining = signed;
        let mut free = self.free;
        let basis = self.short_basis[slot];
        if held < 0.0 && remaining > 0.0 {
            let covered = remaining.min(held.abs());
            let released = covered / held.abs() * basis;
            let required = covered * price * multiplier;
            free = add_cancelling(free, released + released - required);
            let left = held + covered;
            self.short_basis[slot] = if left < 0.0 { left.abs() / held.abs() * basis } else { 0.0 };
            remaining -= covered;
        } else if held > 0.0 && remaining < 0.0 {
            let closed = remaining.abs().min(held);
            free = add_cancelling(free, closed * price * multiplier);
            remaining += closed;
        }
        // A reversal opens what the position now holds (see `reversal_size`);
        // resized to nothing, the fill's opening part is booked instead (ml4t).
        if let (Some(opened), true) = (reversed_into.filter(|q| q * held < 0.0), remaining != 0.0) {
            remaining = opened;
        }
        if remaining != 0.0 {
            let required = remaining.abs() * price * multiplier;
            free = add_cancelling(free, -required);
            if remaining < 0.0 {
                self.short_basis[slot] += required;
            }
        }
        self.free = add_cancelling(free, -commission);
    }

    /// COMBINED_ORDER's booking of a fill of `signed` units at `unit_cost`
    /// against `held`: a buy pays its gross cost and commission in one
    /// amount, and a cover within it releases twice the covered share of the
    /// basis (at the basis' average entry); a sale receives its proceeds less
    /// commission, and what it shorts (all of it when adding to a short, the
    /// part beyond the long when reversing) joins the basis and locks twice
    /// its value. The amounts and their order are VectorBT OSS's, so the
    /// rounding is too.
    fn book_combined(&mut self, asset: AssetId, held: f64, signed: f64, unit_cost: f64, commission: f64) {
        let slot = asset as usize;
        let basis = self.short_basis[slot];
        let quantity = signed.abs();
        if signed > 0.0 {
            let cost = add_cancelling(quantity * unit_cost, commission);
            if held < 0.0 {
                let covered = quantity.min(held.abs());
                let released = covered * (basis / held.abs());
                self.free = add_cancelling(self.free + 2.0 * released, -cost);
                self.short_basis[slot] = if held + covered < 0.0 { add_cancelling(basis, -released) } else { 0.0 };
            } else {
                self.free = add_cancelling(self.free, -cost);
            }
        } else {
            let proceeds = add_cancelling(quantity * unit_cost, -commission);
            let after = held - quantity;
            if after < 0.0 {
                let shorted = if held < 0.0 { quantity } else { after.abs() };
                let value = shorted * unit_cost;
                self.short_basis[slot] = basis + value;
                self.free = add_cancelling(self.free, add_cancelling(proceeds, -2.0 * value));
            } else {
                self.free += proceeds;
            }
        }
    }

    /// Whether fills are booked as one combined order (COMBINED_ORDER).
    pub fn combines_orders(&self) -> bool {
        self.mode == LockNotionalUpdateMode::CombinedOrder
    }

    /// Free cash once `held` of `asset` is closed at `unit_cost` (price x
    /// multiplier): a short releases twice its basis and pays the cover.
    pub(crate) fn free_after_close(&self, asset: AssetId, held: f64, unit_cost: f64) -> f64 {
        if held < 0.0 {
            let basis = self.short_basis(asset);
            add_cancelling(self.free, basis + basis - held.abs() * unit_cost)
        } else {
            add_cancelling(self.free, held.abs() * unit_cost)
        }
    }

    /// The most a `side` order can fill at `unit_cost` against `held` when
    /// nothing else (commission, buffer) costs cash: what free cash pays for
    /// directly, as VectorBT sizes it. A cover that costs more than its
    /// released collateral (the price has more than doubled) is limited too.
    /// `cash` (the account's cash) bounds a COMBINED_ORDER cover.
    pub fn zero_cost_limit(&self, asset: AssetId, side: OrderSide, held: f64, unit_cost: f64, cash: f64) -> f64 {
        if self.mode == LockNotionalUpdateMode::CombinedOrder {
            return self.combined_zero_cost_limit(asset, side, held, unit_cost, cash);
        }
        match side {
            OrderSide::Buy if held < 0.0 => {
                let short = held.abs();
                let average_entry = self.short_basis(asset) / short;
                let cover_cash = 2.0 * average_entry - unit_cost;
                if cover_cash < 0.0 {
                    let max_cover = self.free / -cover_cash;
                    if max_cover < short {
                        return max_cover;
                    }
                }
                short + (self.free_after_close(asset, held, unit_cost) / unit_cost).max(0.0)
            }
            OrderSide::Sell if held > 0.0 => held + (self.free_after_close(asset, held, unit_cost) / unit_cost).max(0.0),
            _ => (self.free / unit_cost).max(0.0),
        }
    }

    /// `zero_cost_limit` as VectorBT OSS sizes one order. A buy against a
    /// short may spend free cash plus the released collateral when that
    /// covers the whole short; when it does not, only as much as free cash
    /// pays at each covered unit's net cost (price less twice the average
    /// entry); exactly at the edge, the cash; never more than the cash. A
    /// sale may sell the long and short what free cash plus the long's
    /// proceeds lock.
    fn combined_zero_cost_limit(&self, asset: AssetId, side: OrderSide, held: f64, unit_cost: f64, cash: f64) -> f64 {
        let free = self.free;
        match side {
            OrderSide::Buy if held < 0.0 => {
                let short = held.abs();
                let basis = self.short_basis(asset);
                let collateral = free + 2.0 * basis;
                let after_cover = add_cancelling(collateral, -(short * unit_cost));
                let spendable = if after_cover > 0.0 {
                    collateral
                } else if after_cover < 0.0 {
                    let net_unit_cost = unit_cost - 2.0 * (basis / short);
                    if net_unit_cost == 0.0 {
                        return 0.0;
                    }
                    free / net_unit_cost * unit_cost
                } else {
                    cash
                };
                (spendable.min(cash) / unit_cost).max(0.0)
            }
            OrderSide::Sell => {
                let long = held.max(0.0);
                let total = add_cancelling(free, long * unit_cost);
                if total <= 0.0 {
                    return long;
                }
                add_cancelling(long, total / unit_cost)
            }
            OrderSide::Buy => (free / unit_cost).max(0.0),
        }
    }
}

impl Account {
    /// Whether the account locks short notional (LOCK_NOTIONAL without leverage).
    pub fn locks_short_notional(&self) -> bool {
        let r = &self.settings.rules;
        r.short_cash_policy == ShortCashPolicy::LockNotional && !r.allow_leverage
    }

    /// With locked shorts and no cash buffer: the most a `side` order in
    /// `asset` can fill at `unit_cost` (price x multiplier) against `held`,
    /// from free cash directly, when `commission()` (asked only then) is 0.
    /// `cash` is the account's cash (it bounds a COMBINED_ORDER cover).
    pub fn locked_zero_cost_limit(&self, asset: AssetId, side: OrderSide, held: f64, unit_cost: f64, cash: f64,
                                  commission: impl FnOnce() -> EngineResult<f64>) -> EngineResult<Option<f64>> {
        if !self.locks_short_notional() || self.settings.cash_buffer_pct != 0.0 || commission()? != 0.0 {
            return Ok(None);
        }
        Ok(Some(self.locked_cash.zero_cost_limit(asset, side, held, unit_cost, cash)))
    }

    /// Whether a `side` order against the position `held` covers (part of) a locked short.
    pub fn covers_locked_short(&self, side: OrderSide, held: f64) -> bool {
        self.locks_short_notional() && held < 0.0 && side == OrderSide::Buy
    }

    /// Whether free cash sizes a `side` order against `held` before anything
    /// else checks it, as ml4t does under LOCK_NOTIONAL, and the refusal if
    /// it affords nothing: a short cover (any cover when filling
    /// immediately), and a reversal in a matching pass. `effect` is the
    /// order's as it came to the pass (a reversal the open cash check cut to
    /// its closing leg is still sized as a reversal).
    pub fn locked_sizing_refusal(&self, side: OrderSide, held: f64, effect: OrderEffect, filling_immediately: bool)
        -> Option<Refusal> {
        if self.covers_locked_short(side, held) && (effect == OrderEffect::Exit || filling_immediately) {
            Some(Refusal::InsufficientCashToCoverShort)
        } else if effect == OrderEffect::Reversal && !filling_immediately
            && self.settings.rules.short_cash_policy == ShortCashPolicy::LockNotional {
            Some(Refusal::InsufficientLockedCashForReversal)
        } else {
            None
        }
    }

    /// Books `fill` (which met the position `held`; `order` is its order) in
    /// the free-cash ledger; `quoted` is the commission the model quoted for
    /// it. A fractional (`fractional`) reversal that costs nothing opens only
    /// what free cash pays for after the close: the portfolio's new position
    /// is resized so (ml4t sets it so; the fill and cash keep the order's quantity).
    pub fn book_locked_fill(&mut self, portfolio: &mut Portfolio, fill: &Fill, held: f64, quoted: f64, order: &Order,
                            fractional: bool) {
        if !self.locks_short_notional() {
            return;
        }
        let asset = fill.asset;
        let multiplier = portfolio.multiplier(asset);
        let signed = fill.side.sign() * fill.quantity;
        let reversed = portfolio.position(asset).map(|p| p.quantity).filter(|&q| q * held < 0.0);
        let reversed_into = reversed.map(|q| match self.reversal_size(fill, held, quoted, order, multiplier, fractional) {
            Some(size) => {
                portfolio.resize_reversed(asset, size);
                size
            }
            None => q,
        });
        self.locked_cash.book(asset, held, signed, fill.price, multiplier, reversed_into, fill.commission);
    }

    /// The size (signed) of the position a reversal opens, when free cash
    /// rather than the fill decides it: fractional shares, no commission,
    /// no buffer, position legs (a combined order opens what it filled).
    /// The order's submitted size caps it.
    fn reversal_size(&self, fill: &Fill, held: f64, quoted: f64, order: &Order, multiplier: f64, fractional: bool)
        -> Option<f64> {
        if !fractional || self.settings.cash_buffer_pct != 0.0 || quoted != 0.0 || self.locked_cash.combines_orders() {
            return None;
        }
        let unit_cost = fill.price * multiplier;
        let requested = if fill.quantity == order.quantity {
            if order.requested_quantity != 0.0 { order.requested_quantity } else { order.quantity }
        } else {
            fill.quantity
        };
        let wanted = requested.abs() - held.abs();
        let affordable = (self.locked_cash.free_after_close(fill.asset, held, unit_cost) / unit_cost).max(0.0);
        Some(wanted.min(affordable).copysign(fill.side.sign()))
    }

    /// The part of `asset`'s locked short basis a cover of `covered` out of
    /// `held` (< 0) releases (0 without locked shorts).
    pub fn released_short_basis(&self, asset: AssetId, covered: f64, held: f64) -> f64 {
        if held == 0.0 {
            return 0.0;
        }
        covered / held.abs() * self.locked_cash.short_basis(asset)
    }
}

/// What locked-cash sizing leaves of an order of `quantity` when free cash
/// affords `affordable`: all of it, the affordable part (with
/// `partial_fills_allowed`; whole units when `whole_shares`), or `None`
/// (refused: nothing affordable, or no partial fills).
pub fn fit_to_free_cash(quantity: f64, affordable: f64, whole_shares: bool, partial_fills_allowed: bool) -> Option<f64> {
    let affordable = if whole_shares { affordable.trunc() } else { affordable };
    if affordable >= quantity {
        return Some(quantity);
    }
    if affordable <= 0.0 || !partial_fills_allowed {
        return None;
    }
    Some(affordable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_equal_opposite_amounts_cancel_to_zero() {
        assert_eq!(add_cancelling(0.1 + 0.2, -0.3), 0.0);
        assert_eq!(add_cancelling(100.0, -99.0), 1.0);
        assert_eq!(add_cancelling(5.0, 5.0), 10.0);
    }

    #[test]
    fn a_short_locks_twice_its_notional_and_a_cover_releases_it() {
        // 10,000 cash. Short 20 @ 100: cash 12,000, free 10,000 - 2,000 = 8,000.
        let mut ledger = LockedCash::new(10_000.0, 1, LockNotionalUpdateMode::PositionLegs);
        ledger.book(0, 0.0, -20.0, 100.0, 1.0, None, 0.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (8_000.0, 2_000.0));
        // Cover 5 @ 90: releases 2 x 500, pays 450 -> 8,550; basis 1,500.
        ledger.book(0, -20.0, 5.0, 90.0, 1.0, None, 0.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (8_550.0, 1_500.0));
        // Buy 25 @ 80 reverses short 15 into long 10: close releases 3,000 and
        // pays 1,200 (10,350), the long costs 800 -> 9,550, less 5 commission.
        ledger.book(0, -15.0, 25.0, 80.0, 1.0, Some(10.0), 5.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (9_545.0, 0.0));
        // Sell 30 @ 50 reverses long 10 into short 20: +500, -1,000 locked.
        ledger.book(0, 10.0, -30.0, 50.0, 1.0, Some(-20.0), 0.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (9_045.0, 1_000.0));
    }

    #[test]
    fn zero_cost_limits_follow_free_cash() {
        let mut ledger = LockedCash::new(1_000.0, 1, LockNotionalUpdateMode::PositionLegs);
        // Flat: 1,000 / 40 = 25 either way.
        assert_eq!(ledger.zero_cost_limit(0, OrderSide::Sell, 0.0, 40.0, 0.0), 25.0);
        // Short 5 @ 100 (free 500, basis 500). At 250 a cover costs 250 a
        // share and releases 200: free 500 covers 10 > 5, so all 5 and then
        // (500 + 1,000 - 1,250) / 250 = 1 more.
        ledger.book(0, 0.0, -5.0, 100.0, 1.0, None, 0.0);
        assert_eq!(ledger.zero_cost_limit(0, OrderSide::Buy, -5.0, 250.0, 0.0), 6.0);
        // At 600 each covered share costs 400 more than it releases: 500 / 400.
        assert_eq!(ledger.zero_cost_limit(0, OrderSide::Buy, -5.0, 600.0, 0.0), 1.25);
    }

    #[test]
    fn a_combined_order_settles_gross_cash_and_short_debt_at_once() {
        let mut ledger = LockedCash::new(10_000.0, 1, LockNotionalUpdateMode::CombinedOrder);
        // Short 20 @ 100: proceeds 2,000 less twice the 2,000 shorted -> 8,000.
        ledger.book(0, 0.0, -20.0, 100.0, 1.0, None, 0.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (8_000.0, 2_000.0));
        // Cover 5 @ 90, 1 commission: releases 2 x 5 x 100 and pays 451 -> 8,549.
        ledger.book(0, -20.0, 5.0, 90.0, 1.0, None, 1.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (8_549.0, 1_500.0));
        // Buy 25 @ 80 (reverses short 15 into long 10), 5 commission: releases
        // 3,000 and pays 2,005 for the whole order -> 9,544; no short left.
        // (A reversal opens what it filled: `reversed_into` is not used.)
        ledger.book(0, -15.0, 25.0, 80.0, 1.0, Some(3.0), 5.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (9_544.0, 0.0));
        // Sell 30 @ 50 (long 10 into short 20): +1,500 proceeds, 2 x 1,000 locked.
        ledger.book(0, 10.0, -30.0, 50.0, 1.0, None, 0.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (9_044.0, 1_000.0));
        // Sell 5 more @ 40 (adding to the short): +200, 2 x 200 locked.
        ledger.book(0, -20.0, -5.0, 40.0, 1.0, None, 0.0);
        assert_eq!((ledger.free_cash(), ledger.short_basis(0)), (8_844.0, 1_200.0));
    }

    #[test]
    fn combined_order_limits_follow_vectorbt_oss() {
        let combined = |cash| LockedCash::new(cash, 1, LockNotionalUpdateMode::CombinedOrder);
        // Flat with 1,000: 10 @ 100 either way.
        let flat = combined(1_000.0);
        assert_eq!(flat.zero_cost_limit(0, OrderSide::Buy, 0.0, 100.0, 1_000.0), 10.0);
        assert_eq!(flat.zero_cost_limit(0, OrderSide::Sell, 0.0, 100.0, 1_000.0), 10.0);
        // Short 10 @ 100 (free 0, basis 1,000, cash 2,000). At 50 the cover
        // leaves 0 + 2,000 - 500 > 0: 2,000 to spend, 40 units (reverse to 30 long).
        let mut short = combined(1_000.0);
        short.book(0, 0.0, -10.0, 100.0, 1.0, None, 0.0);
        assert_eq!(short.zero_cost_limit(0, OrderSide::Buy, -10.0, 50.0, 2_000.0), 40.0);
        // Short 5 @ 100 (free 500, basis 500, cash 1,500). At 400 the cover
        // would leave 500 + 1,000 - 2,000 < 0: each unit nets 400 - 200, so
        // 500 / 200 = 2.5 units. At 300 it leaves exactly 0: the cash, 5 units.
        let mut half = combined(1_000.0);
        half.book(0, 0.0, -5.0, 100.0, 1.0, None, 0.0);
        assert_eq!(half.zero_cost_limit(0, OrderSide::Buy, -5.0, 400.0, 1_500.0), 2.5);
        assert_eq!(half.zero_cost_limit(0, OrderSide::Buy, -5.0, 300.0, 1_500.0), 5.0);
        // ...never more than the cash: with 1,200 of it, at 100 only 12 units.
        assert_eq!(half.zero_cost_limit(0, OrderSide::Buy, -5.0, 100.0, 1_200.0), 12.0);
        // Long 10 @ 100 (free 0): at 200 the sale frees 2,000, which locks a
        // 10-unit short: 20 units.
        let mut long = combined(1_000.0);
        long.book(0, 0.0, 10.0, 100.0, 1.0, None, 0.0);
        assert_eq!(long.free_cash(), 0.0);
        assert_eq!(long.zero_cost_limit(0, OrderSide::Sell, 10.0, 200.0, 0.0), 20.0);
        // All cash locked by another short: nothing to sell short.
        assert_eq!(short.zero_cost_limit(0, OrderSide::Sell, 0.0, 100.0, 2_000.0), 0.0);
    }
}
