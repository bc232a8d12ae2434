//! Executing one order on one bar: triggers, account checks, sizing, pricing, booking.

use nl_core::{FillQuotes, FillTrigger, MaybeF64, MaybeTime, Refusal};
use nl_core::{
    AssetId, BarIndex, CancelReason, EngineError, EngineResult, ExecutionPrice, Fill, InitialHwmSource, Order, OrderId, OrderSide,
    OrderStatus,
    OrderType, ShareType, TimeInForce, Timestamp,
};
use crate::account::{order_effect, EntryCheck, OrderEffect, ShortCashPolicy, CASH_TOLERANCE};
use crate::venue::sim::costs::{CommissionQuery, SlippageModel};
use crate::account::locked_cash::fit_to_free_cash;
use crate::kernel::Engine;
use crate::venue::sim::triggers::{check_fill, execution_price, FillRules, MatchPoint};
use crate::market::Bar;
use crate::venue::sim::liquidity::LimitQuery;
use crate::portfolio::{is_flat, reversal_split};
use crate::venue::sim::execute::*;

impl Engine {
    /// The commission query for a fill of `quantity` at `price` of `o`.
    pub(crate) fn commission_query(&self, o: &Order, quantity: f64, price: f64) -> CommissionQuery {
        CommissionQuery::next_fill(o, quantity, price, self.multiplier(o.asset)).as_estimate()
    }

    /// Quantity of `asset` already filled in bar `b`.
    pub(crate) fn consumed(&self, b: BarIndex, asset: AssetId) -> f64 {
        match self.volume_consumed[asset as usize] {
            (bar, q) if bar == b => q,
            _ => 0.0,
        }
    }

    /// Fills or rejects one order if its asset has a bar; else it stays
    /// pending. Returns whether it filled.
    pub(crate) fn try_fill(&mut self, id: OrderId, b: BarIndex, at: MatchPoint) -> EngineResult<bool> {
        self.note_fill();
        match self.triggered_price(id, b, at) {
            Some(trigger) => self.fill_at(id, b, at, trigger, false),
            None => Ok(false),
        }
    }

    /// Whether order `id` executes on bar `b` and at what base price (before
    /// impact and slippage): `None` without a bar, a price from the source,
    /// or a trigger. Updates the order's trigger state (stops, trails).
    pub(crate) fn triggered_price(&mut self, id: OrderId, b: BarIndex, at: MatchPoint) -> Option<Trigger> {
        let (asset, order_type) = (self.book[id].asset, self.book[id].order_type);
        let row = self.row_in_bar(b, asset)?;
        // A market order has no trigger: only a mid execution price, bar-high
        // water marks or a range-priced slippage model read its bar's high and low.
        let sources = self.cfg.price_sources_for(asset);
        let uses_range = !matches!(order_type, OrderType::Market | OrderType::MarketOnClose)
            || sources.uses(ExecutionPrice::Mid)
            || self.cfg.initial_hwm_source == InitialHwmSource::BarHigh
            || self.cfg.slippage.reads_range(asset);
        let bar = if uses_range { self.market.bar_at(row) } else { self.market.bar_at_without_range(row) };
        let rules = FillRules { mode: self.cfg.conditional_order_mode, limit_gap_fill: self.cfg.limit_gap_fill };
        let now = self.market.timestamp(b);
        let order = &mut self.book[id];
        let (price, source) = execution_price(order, &bar, at, sources);
        // No price from the configured source on this bar (VWAP): the order waits.
        if price.is_nan() {
            return None;
        }
        let mut base = check_fill(order, &bar, price, rules, now)?;
        // A position rule's exit fills at the rule's price, moved against the
        // order by `stop_slippage_rate` (ordinary slippage comes on top).
        if let (OrderType::Market, Some(rule_price)) = (order.order_type, order.extras().risk_fill_price.get()) {
            let extra = self.cfg.stop_slippage_rate;
            base = match order.side {
                _ if extra <= 0.0 => rule_price,
                OrderSide::Sell => rule_price * (1.0 - extra),
                OrderSide::Buy => rule_price * (1.0 + extra),
            };
        }
        Some(Trigger { bar, base, source })
    }

    /// Fills order `id` from its trigger, in stages: the account sizes or
    /// refuses it (skipped when `validated`, i.e. a queue shadow accepted
    /// it), liquidity limits what fills now, the venue prices it (impact,
    /// slippage) and the account checks that price, then the fill is booked.
    /// Each stage that stops the order has already recorded why. Returns
    /// whether the order filled completely.
    pub(crate) fn fill_at(&mut self, id: OrderId, b: BarIndex, at: MatchPoint, trigger: Trigger, validated: bool) -> EngineResult<bool> {
        self.note_fill();
        let Trigger { bar, base, source } = trigger;
        let Some(sized) = self.size_for_account(id, b, at, base, validated)? else { return Ok(false) };
        let Some(fillable) = self.size_for_liquidity(id, b, base, &bar, &sized)? else { return Ok(false) };
        let Some(priced) = self.price_for_account(id, b, base, &bar, &sized, fillable)? else { return Ok(false) };
        let Priced { quantity, remaining, price, slippage, available } = priced;
        let (asset, side) = (self.book[id].asset, self.book[id].side);
        // The fee this fill pays: the one query that is not an estimate.
        let charge = CommissionQuery::next_fill(&self.book[id], quantity, price, self.multiplier(asset));
        let quoted = self.cfg.commission.commission(&charge)?;
        let commission = if self.portfolio.reverses(asset, side.sign() * quantity) {
            let (close, open) = reversal_split(quoted, sized.held, quantity);
            close + open
        } else {
            quoted
        };
        let execution = Execution {
            timestamp: self.market.timestamp(b),
            quantity,
            price,
            slippage,
            commission,
            quoted_commission: quoted,
            source,
            bar,
            available,
            remaining,
            partial_reason: sized.partial_reason,
        };
        let complete = self.book_execution(id, b, execution);
        let consumed = self.consumed(b, asset) + quantity;
        self.volume_consumed[asset as usize] = (b, consumed);
        Ok(complete)
    }

    /// The account's stage at the trigger's `base` price: whole units in an
    /// integer account, Backtrader's open cash check (replacing the account
    /// check), locked-collateral sizing, portfolio limits, then the account
    /// check — which may cut the order to what cash affords.
    fn size_for_account(&mut self, id: OrderId, b: BarIndex, at: MatchPoint, base: f64, validated: bool)
        -> EngineResult<Option<AccountSizing>> {
        let order = &self.book[id];
        let (asset, side) = (order.asset, order.side);
        let mut quantity = order.quantity;
        if self.cfg.share_type == ShareType::Integer {
            quantity = quantity.trunc();
        }
        let held = self.portfolio.quantity(asset);
        let submitted_effect = order_effect(held, side, quantity);
        // Backtrader's open cash check replaces the account check. It comes
        // before the locked-cash sizing, which then sizes what it let through
        // (a reversal cut to its closing leg is still sized as a reversal).
        let simple_check = submitted_effect != OrderEffect::Exit && !validated && self.uses_simple_cash_check(id, at);
        if simple_check {
            match self.simple_cash_check(id, held, quantity, base)? {
                Some(allowed) => quantity = allowed,
                None => {
                    self.reject(id, Refusal::OpenCashCheck);
                    return Ok(None);
                }
            }
        }
        // Locked short collateral sizes covers and reversals next.
        let Some(sized) = self.size_by_locked_cash(id, held, quantity, base, submitted_effect)? else { return Ok(None) };
        quantity = sized;
        let mut effect = order_effect(held, side, quantity);
        // Set when cash limited the order: if it then does not fill completely
        // now, it is rejected with this reason (ml4t-backtest's rule).
        let mut partial_reason: Option<Refusal> = None;
        // Portfolio limits first: a refusal is final (no partial fill), and
        // `skip_cash_validation` does not lift it.
        if effect != OrderEffect::Exit && self.refused_by_portfolio_limit(id, b, held, quantity, base) {
            return Ok(None);
        }
        if effect != OrderEffect::Exit && !validated && !simple_check {
            if let Some(reason) = self.rejection(id, held, quantity, base)? {
                // partial_fills_allowed: fill what the cash affords instead.
                let affordable = if self.fills_what_cash_affords(id) && reason.is_insufficient_cash() {
                    self.max_affordable(id, held, quantity, base)?
                } else {
                    0.0
                };
                if affordable <= 0.0 {
                    self.refuse(id, reason, false);
                    return Ok(None);
                }
                quantity = affordable;
                self.book[id].quantity = affordable;
                effect = order_effect(held, side, quantity);
                partial_reason = Some(reason);
            }
        }
        Ok(Some(AccountSizing { quantity, held, effect, partial_reason }))
    }

    /// The liquidity stage: a participation-priced model needs volume, a
    /// volume limit fills at most one part per bar (the rest waits), and a
    /// fill-or-kill order fills whole or not at all. Returns (fill now, left).
    fn size_for_liquidity(&mut self, id: OrderId, b: BarIndex, base: f64, bar: &Bar, sized: &AccountSizing)
        -> EngineResult<Option<(f64, f64)>> {
        let (asset, side) = (self.book[id].asset, self.book[id].side);
        let stop = |e: &mut Self| e.give_up(id, sized.partial_reason.clone()).map(|_| None);
        // A model that prices by participation cannot fill without volume.
        // (NaN-safe: a missing volume is no volume.)
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        if self.cfg.slippage.for_asset(asset).requires_volume() && !(bar.volume > 0.0) {
            return stop(self);
        }
        let available = bar.available_size(side == OrderSide::Buy);
        let (mut quantity, mut remaining) = (sized.quantity, 0.0);
        let limit = self.cfg.limits.for_asset(asset);
        if limit.is_limited() {
            if self.book[id].last_fill_at.get() == Some(self.market.timestamp(b)) {
                return stop(self);
            }
            let query = LimitQuery { asset, quantity, price: base, volume: bar.volume, available,
                                     consumed: self.consumed(b, asset) };
            quantity = limit.fill_now(&query)?;
            if self.cfg.share_type == ShareType::Integer {
                quantity = quantity.trunc();
            }
            if quantity <= 0.0 {
                return stop(self);
            }
            remaining = (sized.quantity - quantity).max(0.0);
            if self.cfg.share_type == ShareType::Integer {
                remaining = remaining.trunc();
            }
        }
        // Fill-or-kill: all of it now or nothing (the pass then cancels it).
        if remaining > 0.0 && self.book[id].time_in_force == TimeInForce::Fok {
            return stop(self);
        }
        Ok(Some((quantity, remaining)))
    }

    /// The pricing stage: impact and slippage move the base price against
    /// the order; a limit price bounds the result; when the price moved, the
    /// account checks again at it (a locked-short cover too) and may cut the
    /// order to what it affords there.
    fn price_for_account(&mut self, id: OrderId, b: BarIndex, base: f64, bar: &Bar, sized: &AccountSizing,
        (mut quantity, mut remaining): (f64, f64)) -> EngineResult<Option<Priced>> {
        let o = &self.book[id];
        let (asset, side, order_type, held) = (o.asset, o.side, o.order_type, sized.held);
        let available = bar.available_size(side == OrderSide::Buy);
        let pricing = FillPricing { asset, side, base, bar, available, consumed: self.consumed(b, asset) };
        let (mut price, mut slippage) = self.fill_price(&pricing, quantity)?;
        let limit_bound = o.limit_price.get().filter(|_| matches!(order_type, OrderType::Limit | OrderType::StopLimit));
        // A limit is a hard bound: slippage past it means no fill this bar.
        if !within_limit(side, limit_bound, price) {
            return self.give_up(id, sized.partial_reason.clone()).map(|_| None);
        }
        if price != base && (sized.effect != OrderEffect::Exit || self.account.covers_locked_short(side, held))
            && !self.cfg.skip_cash_validation {
            if let Some(reason) = self.final_price_rejection(id, held, quantity, price)? {
                // Only partial_fills_allowed re-sizes here; a rebalance order
                // that the slipped price makes unaffordable is refused (ml4t).
                let affordable = if self.cfg.partial_fills_allowed && !reason.is_account_restriction() {
                    self.max_affordable_at_cost(id, held, quantity, &pricing)?
                } else {
                    0.0
                };
                if affordable <= 0.0 {
                    // An order cash already limited keeps that first reason (ml4t).
                    self.refuse(id, sized.partial_reason.clone().unwrap_or(reason), true);
                    return Ok(None);
                }
                // What cash affords now is all this order will be (no carry-over).
                quantity = affordable;
                remaining = 0.0;
                (price, slippage) = self.fill_price(&pricing, quantity)?;
                if !within_limit(side, limit_bound, price) {
                    return Ok(None);
                }
                self.book[id].quantity = quantity;
            }
        }
        // The prices so far were estimates; a model written in Python is
        // asked once more, for the fill (a stateful one advances on fills only).
        // It must answer what its quote (a copy) answered: a model whose price
        // moves between quote and fill (shared outside state) would book a
        // price the account never checked (ml4t refuses it the same way).
        if matches!(self.cfg.slippage.for_asset(asset), SlippageModel::Callback(_)) {
            let quoted = (price, slippage);
            (price, slippage) = fill_price(&self.cfg.impact, &self.cfg.slippage, &pricing, quantity, false)?;
            if (price, slippage) != quoted {
                return Err(EngineError::InvalidArgument(format!(
                    "Execution price model must produce its quoted deterministic cost: quoted {} (slippage {}), \
                     then {} (slippage {}) for the fill", py_float(quoted.0), py_float(quoted.1), py_float(price),
                    py_float(slippage))));
            }
        }
        Ok(Some(Priced { quantity, remaining, price, slippage, available }))
    }

    /// Books an execution of order `id` on bar `b` (a fill the simulated
    /// venue decided, or one a venue reported): the fill, the position and
    /// cash, locked collateral, settlement, the order's state, and what the
    /// fill cancels (the asset's other orders on a reversal, bracket siblings
    /// on a complete fill). Returns whether the order is now filled completely.
    pub(crate) fn book_execution(&mut self, id: OrderId, b: BarIndex, x: Execution) -> bool {
        let o = &self.book[id];
        let (asset, side, order_type) = (o.asset, o.side, o.order_type);
        let (limit_price, stop_price, stop_triggered_at, parent_id) =
            (o.limit_price, o.stop_price, o.stop_triggered_at, o.extras().parent_id);
        let (exit_reason, signal_price) = (o.exit_reason, o.signal_price);
        let Execution { quantity, price, bar, timestamp: now, .. } = x;
        let held = self.portfolio.quantity(asset);
        let reverses = self.portfolio.reverses(asset, side.sign() * quantity);
        let fill = Fill {
            order_id: id,
            asset,
            side,
            quantity,
            price,
            timestamp: now,
            commission: x.commission,
            slippage: x.slippage,
            price_source: x.source,
            reference_price: bar.price,
            available_size: x.available,
            quotes: FillQuotes { bid: bar.bid, ask: bar.ask, mid: bar.mid, bid_size: bar.bid_size, ask_size: bar.ask_size }
                .boxed(),
            is_exit: held * side.sign() < 0.0,
            order_type,
            trigger: FillTrigger { limit_price, stop_price, stop_triggered_at }.boxed(),
            exit_reason,
            signal_price,
        };
        let serial_before = self.portfolio.position(asset).map(|p| p.serial);
        self.portfolio.apply_fill(&fill, x.quoted_commission);
        let fractional = self.cfg.share_type == ShareType::Fractional;
        self.account.book_locked_fill(&mut self.portfolio, &fill, held, x.quoted_commission, &self.book[id], fractional);
        // Proceeds of a sale wait `settlement_delay` bars before entries can spend them.
        let cash_change = (-side.sign() * quantity * price * self.multiplier(asset)) - x.commission;
        self.account.hold_proceeds(b, cash_change);
        // A position this fill opened (or reversed into) starts its marks per
        // `initial_hwm_source`.
        if let Some(pos) = self.portfolio.position(asset) {
            if Some(pos.serial) != serial_before && self.cfg.initial_hwm_source != InitialHwmSource::FillPrice {
                let (high, low) = match self.cfg.initial_hwm_source {
                    InitialHwmSource::BarHigh => (bar.high, bar.low),
                    InitialHwmSource::BarClose => (bar.close, bar.close),
                    InitialHwmSource::SignalPrice if !pos.signal_price.is_nan() => (pos.signal_price, pos.signal_price),
                    _ => (pos.high_water_mark, pos.low_water_mark),
                };
                self.portfolio.set_water_marks(asset, high, low);
            }
        }
        nl_core::push_record(&mut self.fills, fill);
        let partial = x.remaining > 0.0;
        if let (true, Some(reason)) = (partial, x.partial_reason) {
            // Cash-limited and then volume-limited: the part filled stands,
            // the order is rejected (ml4t-backtest's rule).
            self.book[id].rejection_reason = Some(Box::new(reason));
        }
        let o = &mut self.book[id];
        o.record_fill(quantity, price, x.commission, now);
        if partial && o.rejection_reason.is_some() {
            o.status = OrderStatus::Rejected;
        } else if partial {
            o.quantity = x.remaining;
            o.extras_mut().partial_remainder = MaybeF64::some(x.remaining);
        } else {
            o.clear_partial_remainder();
            o.quantity = quantity;
            o.status = OrderStatus::Filled;
            o.filled_at = MaybeTime::some(now);
        }
        if reverses {
            self.cancel_other_orders(asset, id);
        }
        if let (Some(parent), false) = (parent_id, partial) {
            self.cancel_siblings(parent, id);
        }
        !partial
    }

    /// Leaves the order pending, or rejects it with `reason` when cash had
    /// already limited it (a cash-limited order fills now or never).
    pub(crate) fn give_up(&mut self, id: OrderId, reason: Option<Refusal>) -> EngineResult<bool> {
        if let Some(reason) = reason {
            self.refuse(id, reason, false);
        } else {
            // Nothing filled: a partly filled order shows its remainder again.
            let o = &mut self.book[id];
            if let Some(remainder) = o.extras().partial_remainder.get() {
                o.quantity = remainder;
            }
        }
        Ok(false)
    }

    /// Refuses order `id` for `reason`: rejected, or (with
    /// `reject_on_insufficient_cash = false`) cancelled when cash was the
    /// problem (`any_reason`: whatever the reason, ml4t's rule at the final
    /// price).
    pub(crate) fn refuse(&mut self, id: OrderId, reason: Refusal, any_reason: bool) {
        if !self.cfg.reject_on_insufficient_cash && !self.filling_immediately
            && (any_reason || reason.is_insufficient_cash()) {
            self.mark_cancelled(id, CancelReason::InsufficientCash);
        } else {
            self.reject(id, reason);
        }
    }

    /// The fill price (and per-unit slippage) of `quantity` with the
    /// configured impact and slippage models, as a pre-trade estimate.
    pub(crate) fn fill_price(&self, p: &FillPricing<'_>, quantity: f64) -> EngineResult<(f64, f64)> {
        fill_price(&self.cfg.impact, &self.cfg.slippage, p, quantity, true)
    }

    /// The largest quantity (at most `quantity`) of order `id` the account
    /// accepts at `price`: whole shares by bisection in an integer account,
    /// else 64 halvings less the cash tolerance (ml4t-backtest's search).
    /// With locked shorts and nothing else to pay, free cash gives it directly.
    /// (The account is checked even under `skip_cash_validation`, as in ml4t.)
    pub(crate) fn max_affordable(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<f64> {
        let ok = |q: f64| -> EngineResult<bool> { Ok(q <= 0.0 || self.account_rejection(id, held, q, price)?.is_none()) };
        if price <= 0.0 || quantity <= 0.0 {
            return Ok(0.0);
        }
        if let Some(limit) = self.locked_zero_cost_limit(id, held, quantity, price)? {
            let whole = self.cfg.share_type == ShareType::Integer;
            return Ok(if whole { quantity.min(limit).trunc() } else { quantity.min(limit) });
        }
        if self.cfg.share_type == ShareType::Integer {
            return bisect_whole(quantity, ok);
        }
        if ok(quantity)? {
            return Ok(quantity);
        }
        let low = bisect_fraction(quantity, ok)?;
        let tolerance = if self.account.locks_short_notional() { 0.0 } else { CASH_TOLERANCE };
        Ok((low - tolerance / price).max(0.0))
    }

    /// As `max_affordable`, but each candidate is priced with its own impact
    /// and slippage (they depend on the quantity).
    pub(crate) fn max_affordable_at_cost(&self, id: OrderId, held: f64, quantity: f64, p: &FillPricing<'_>) -> EngineResult<f64> {
        let ok = |q: f64| -> EngineResult<bool> {
            let (price, _) = self.fill_price(p, q)?;
            Ok(self.final_price_rejection(id, held, q, price)?.is_none())
        };
        if self.cfg.share_type == ShareType::Integer {
            return bisect_whole(quantity, |q| if q <= 0.0 { Ok(true) } else { ok(q) });
        }
        let low = bisect_fraction(quantity, ok)?;
        // Keep a buffer so bisection rounding cannot overdraw a cash account
        // (beyond the tolerance, which LOCK_NOTIONAL does not grant).
        let (price, _) = self.fill_price(p, low)?;
        let tolerance = if self.cfg.short_cash_policy == ShortCashPolicy::LockNotional { 0.0 } else { CASH_TOLERANCE };
        Ok((low - (tolerance + 1e-8) / (price * self.multiplier(p.asset))).max(0.0))
    }

    /// One-cancels-other: a bracket exit filled, so its siblings go.
    pub(crate) fn cancel_siblings(&mut self, parent: OrderId, keep: OrderId) {
        self.cancel_pending_where(CancelReason::Oco, |o| o.id != keep && o.extras().parent_id == Some(parent));
    }

    /// Cancels (for `reason`) every pending order `which` selects. Cancelled
    /// orders stay in the pending list until the pass closes.
    pub(crate) fn cancel_pending_where(&mut self, reason: CancelReason, which: impl Fn(&Order) -> bool) {
        if self.execution_client.is_some() {
            return self.request_cancels_where(reason, which);
        }
        let now = self.current_timestamp();
        self.book.cancel_pending_where(reason, now, which);
    }

    /// The row of `asset` in the current bar `b`, if it has one.
    pub(crate) fn row_in_bar(&self, b: BarIndex, asset: AssetId) -> Option<usize> {
        let (bar, row) = self.latest_row[asset as usize];
        (bar == b).then_some(row as usize)
    }

    /// The account's reason to refuse order `id` as an entry at `price`.
    pub(crate) fn rejection(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<Refusal>> {
        if self.cfg.skip_cash_validation {
            // Still quote the commission: a failing model fails the fill.
            let o = &self.book[id];
            self.cfg.commission.commission(&self.commission_query(o, quantity, price))?;
            return Ok(None);
        }
        self.account_rejection(id, held, quantity, price)
    }

    /// `rejection` at a price slippage or impact moved: a cover of a locked
    /// short must also still be affordable there.
    pub(crate) fn final_price_rejection(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<Refusal>> {
        match self.rejection(id, held, quantity, price)? {
            None => self.locked_cover_rejection(id, held, quantity, price),
            refused => Ok(refused),
        }
    }

    /// The account's reason to refuse order `id` as an entry at `price`,
    /// whatever `skip_cash_validation` says.
    pub(crate) fn account_rejection(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<Refusal>> {
        let o = &self.book[id];
        let commission = self.cfg.commission.commission(&self.commission_query(o, quantity, price))?;
        // The account sees a rounding-residue position as flat (ml4t's gatekeeper).
        let held = if is_flat(held, held) { 0.0 } else { held };
        let check = EntryCheck { held, side: o.side, quantity, price, multiplier: self.multiplier(o.asset), commission };
        Ok(self.account.entry_rejection(&self.portfolio, o.asset, &check))
    }

    pub(crate) fn reject(&mut self, id: OrderId, reason: Refusal) {
        // A rejected order shows the rounded quantity it was checked with.
        let whole_shares = self.cfg.share_type == ShareType::Integer;
        self.book.mark_rejected(id, reason, whole_shares);
    }

    /// A reversal cancels the asset's other pending orders (they were sized
    /// for the position that no longer exists).
    pub(crate) fn cancel_other_orders(&mut self, asset: AssetId, keep: OrderId) {
        self.cancel_pending_where(CancelReason::PositionReversal, |o| o.id != keep && o.asset == asset);
    }
}

/// One execution of an order as `book_execution` books it.
pub(crate) struct Execution {
    /// When it executed (a backtest's fill bar's time, a venue's report time).
    pub timestamp: Timestamp,
    pub quantity: f64,
    pub price: f64,
    /// Per unit, against the order.
    pub slippage: f64,
    /// Charged for this fill (a reversal's close and open parts summed).
    pub commission: f64,
    /// What the commission model quoted (the portfolio splits entry fees by it).
    pub quoted_commission: f64,
    pub source: ExecutionPrice,
    /// The fill bar's prices (NaN fields where unknown).
    pub bar: Bar,
    /// Size available to the order's side on the fill bar.
    pub available: f64,
    /// Left to fill after this one (0: the order is done).
    pub remaining: f64,
    /// Set when cash limited the order: a partial fill then rejects the rest.
    pub partial_reason: Option<Refusal>,
}

/// What the account stage let through.
pub(crate) struct AccountSizing {
    pub quantity: f64,
    /// The position (signed) before the fill.
    pub held: f64,
    pub effect: OrderEffect,
    /// Set when cash cut the order: it then fills now or is rejected for this.
    pub partial_reason: Option<Refusal>,
}

/// What the pricing stage settled: the quantity filling now and what is
/// left, at what price and slippage, against what size was available.
pub(crate) struct Priced {
    pub quantity: f64,
    pub remaining: f64,
    pub price: f64,
    pub slippage: f64,
    pub available: f64,
}

impl Engine {
    // Locked collateral (account/locked_cash.rs decides; the kernel applies
    // its answers to the order).

    /// Sizes order `id` (`quantity` against `held`, at `price`) by free cash
    /// before anything else checks it when the account says so. Cut orders
    /// without `partial_fills_allowed` (or with nothing affordable) are
    /// REJECTED, whatever `reject_on_insufficient_cash` says. Returns the
    /// quantity to go on with, or `None` when the order was rejected.
    pub(crate) fn size_by_locked_cash(&mut self, id: OrderId, held: f64, quantity: f64, price: f64,
                                      effect: OrderEffect) -> EngineResult<Option<f64>> {
        let side = self.book[id].side;
        let Some(reason) = self.account.locked_sizing_refusal(side, held, effect, self.filling_immediately) else {
            return Ok(Some(quantity));
        };
        let affordable = self.max_affordable(id, held, quantity, price)?;
        let whole = self.cfg.share_type == ShareType::Integer;
        match fit_to_free_cash(quantity, affordable, whole, self.cfg.partial_fills_allowed) {
            None => {
                self.reject(id, reason);
                Ok(None)
            }
            Some(cut) if cut != quantity => {
                let o = &mut self.book[id];
                o.quantity = cut;
                // The cut quantity is the whole order now (no remainder to restore).
                o.clear_partial_remainder();
                Ok(Some(cut))
            }
            all => Ok(all),
        }
    }

    /// With locked shorts and no commission or buffer for order `id` at
    /// `price`: the most it can fill, from free cash directly.
    pub(crate) fn locked_zero_cost_limit(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<f64>> {
        let o = &self.book[id];
        let unit_cost = price * self.multiplier(o.asset);
        self.account.locked_zero_cost_limit(o.asset, o.side, held, unit_cost, self.portfolio.cash,
            || self.cfg.commission.commission(&self.commission_query(o, quantity, price)))
    }

    /// Why order `id`, a locked-short cover of `quantity` that slippage or
    /// impact moved to `price`, cannot fill there, if it cannot.
    pub(crate) fn locked_cover_rejection(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<Refusal>> {
        if !self.account.covers_locked_short(self.book[id].side, held)
            || self.max_affordable(id, held, quantity, price)? >= quantity {
            return Ok(None);
        }
        Ok(Some(Refusal::InsufficientCashToCoverShortAtFinalPrice))
    }
}
