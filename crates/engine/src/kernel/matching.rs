//! One matching pass: which pending orders a pass visits and in what order
//! (EXIT_FIRST, FIFO, SEQUENTIAL, PRIORITY), the marks between fills, and
//! the expiry of IOC/FOK/DAY orders.
//!
//! (Run by the kernel for the simulated venue.)

use nl_core::Refusal;
use std::cmp::Ordering;
use nl_core::{
    AssetId, BarIndex, CancelReason, EngineResult, EntryOrderPriority, ExecutionMode, FillOrdering, OrderId, OrderSide,
    OrderStatus, OrderType, ShareType, TimeInForce,
};
use crate::account::{order_effect, OrderEffect};
use crate::kernel::Engine;
use crate::venue::sim::triggers::{execution_price, mark_of, MatchPoint};

impl Engine {
    /// Matches pending orders on bar `b` in the configured fill ordering.
    /// Afterwards IOC/FOK orders that were eligible and did not fill are
    /// cancelled. Cleans up even when a callback fails mid-pass.
    pub(crate) fn match_pending(&mut self, b: BarIndex, at: MatchPoint) -> EngineResult<()> {
        self.match_pending_among(b, at, None)
    }

    /// `match_pending` restricted to the orders in `only` (when given).
    pub(crate) fn match_pending_among(&mut self, b: BarIndex, at: MatchPoint, only: Option<&[OrderId]>) -> EngineResult<()> {
        // Orders at another venue execute there (reports come through external.rs).
        if self.execution_client.is_some() {
            return Ok(());
        }
        let mut eligible = std::mem::take(&mut self.scratch_eligible);
        let mut exits = std::mem::take(&mut self.scratch_exits);
        let mut entries = std::mem::take(&mut self.scratch_entries);
        eligible.clear();
        exits.clear();
        entries.clear();
        let orders = &self.book;
        eligible.extend(self.book.pending_ids().iter().copied().filter(|&id| {
            if only.is_some_and(|ids| !ids.contains(&id)) {
                return false;
            }
            let moc = orders[id].order_type == OrderType::MarketOnClose;
            match at {
                MatchPoint::Open | MatchPoint::SameBarOpen => !moc,
                MatchPoint::Close => moc,
                MatchPoint::Execution => true,
            }
        }));
        // Nothing to fill at the close: skip the pass (end_bar marks next anyway).
        if eligible.is_empty() && at == MatchPoint::Close {
            self.scratch_eligible = eligible;
            self.scratch_exits = exits;
            self.scratch_entries = entries;
            return Ok(());
        }
        let result = match self.cfg.fill_ordering {
            _ if !eligible.is_empty() && self.validates_queue_in_shadow(at, only.is_some()) => {
                self.match_queue_in_shadow(&eligible, b)
            }
            FillOrdering::ExitFirst => self.match_exits_first(&eligible, &mut exits, &mut entries, b, at),
            FillOrdering::Priority => self
                .sort_by_priority(&mut eligible, b, at)
                .and_then(|()| self.match_in_sequence(&eligible, b, at, false)),
            FillOrdering::Fifo => self.match_in_sequence(&eligible, b, at, false),
            // LEAN: entries reserved their buying power when submitted.
            FillOrdering::Sequential => {
                let reserved = self.prechecks.reservation_validates_sequential_pass();
                self.match_in_sequence(&eligible, b, at, reserved)
            }
        };
        self.close_pass(&eligible);
        self.scratch_eligible = eligible;
        self.scratch_exits = exits;
        self.scratch_entries = entries;
        result
    }

    /// EXIT_FIRST: exits (orders that reduce a position without crossing
    /// zero) fill in submission order, the positions are marked, then entries
    /// fill in `entry_order_priority` order against the cash the exits freed.
    pub(crate) fn match_exits_first(
        &mut self,
        eligible: &[OrderId],
        exits: &mut Vec<OrderId>,
        entries: &mut Vec<OrderId>,
        b: BarIndex,
        at: MatchPoint,
    ) -> EngineResult<()> {
        for &id in eligible {
            if !self.round_quantity(id) {
                continue;
            }
            let o = &self.book[id];
            match order_effect(self.portfolio.quantity(o.asset), o.side, o.quantity) {
                OrderEffect::Exit => exits.push(id),
                _ => entries.push(id),
            }
        }
        let mut deferred = false;
        for &id in exits.iter() {
            let o = &self.book[id];
            if o.status != OrderStatus::Pending {
                continue;
            }
            // An earlier exit may have used up the position: then it is an entry.
            if order_effect(self.portfolio.quantity(o.asset), o.side, o.quantity) != OrderEffect::Exit {
                entries.push(id);
                deferred = true;
                continue;
            }
            self.try_fill(id, b, at)?;
        }
        self.mark_positions(b, at);
        if deferred {
            entries.sort_unstable();
        }
        self.sort_by_priority(entries, b, at)?;
        for &id in entries.iter() {
            if self.book[id].status == OrderStatus::Pending {
                self.try_fill(id, b, at)?;
            }
        }
        Ok(())
    }

    /// FIFO / SEQUENTIAL / PRIORITY: one order at a time in the given order,
    /// exits and entries interleaved; positions are marked after every fill
    /// so the next order sees them. `validated`: entries skip the account
    /// check (a reservation at submission was it).
    pub(crate) fn match_in_sequence(&mut self, ordered: &[OrderId], b: BarIndex, at: MatchPoint, validated: bool)
        -> EngineResult<()> {
        let mut marked = false;
        // Assets whose position a partial fill (which marks nothing) re-priced
        // since the last mark: the next full fill's mark covers them again.
        let mut unmarked: Vec<AssetId> = Vec::new();
        for &id in ordered {
            let o = &self.book[id];
            if o.status != OrderStatus::Pending {
                continue;
            }
            // Without a price this bar (no row, or no VWAP) the order waits; it
            // is not even rounded.
            let Some(row) = self.row_in_bar(b, o.asset) else { continue };
            if execution_price(o, &self.market.bar_at(row), at, self.cfg.price_sources_for(o.asset)).0.is_nan() {
                continue;
            }
            let asset = o.asset;
            if !self.round_quantity(id) {
                continue;
            }
            let n_fills = self.fills.len();
            let filled = match self.triggered_price(id, b, at) {
                Some(trigger) => self.fill_at(id, b, at, trigger, validated)?,
                None => false,
            };
            if !filled {
                if self.fills.len() > n_fills {
                    unmarked.push(asset);
                }
                continue;
            }
            if marked {
                self.mark_asset(b, at, asset);
                for a in unmarked.drain(..) {
                    self.mark_asset(b, at, a);
                }
            } else {
                self.mark_positions(b, at);
                unmarked.clear();
                marked = true;
            }
        }
        Ok(())
    }

    /// Sorts `ids` stably by `entry_order_priority` (no-op for SUBMISSION).
    pub(crate) fn sort_by_priority(&mut self, ids: &mut Vec<OrderId>, b: BarIndex, at: MatchPoint) -> EngineResult<()> {
        let priority = self.cfg.entry_order_priority;
        if priority == EntryOrderPriority::Submission || ids.len() < 2 {
            return Ok(());
        }
        let mut keyed = Vec::with_capacity(ids.len());
        for &id in ids.iter() {
            keyed.push((self.priority_key(id, b, at, priority)?, id));
        }
        // Python's sort: stable, NaN-free keys compared with `<` (so -0 == 0).
        keyed.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(Ordering::Equal));
        ids.clear();
        ids.extend(keyed.into_iter().map(|(_, id)| id));
        Ok(())
    }

    pub(crate) fn priority_key(&self, id: OrderId, b: BarIndex, at: MatchPoint, priority: EntryOrderPriority) -> EngineResult<f64> {
        let o = &self.book[id];
        // The pass's base price for the order; 0 when the asset has no bar.
        // (No price from the source, e.g. no VWAP: the reference price.)
        let px = self
            .row_in_bar(b, o.asset)
            .map(|row| {
                let bar = self.market.bar_at(row);
                let px = execution_price(o, &bar, at, self.cfg.price_sources_for(o.asset)).0;
                if px.is_nan() { bar.price } else { px }
            })
            .unwrap_or(0.0);
        let notional = o.extras().priority_notional.get().unwrap_or_else(|| (o.quantity * px).abs());
        Ok(match priority {
            EntryOrderPriority::Submission => 0.0,
            EntryOrderPriority::NotionalAsc => notional,
            EntryOrderPriority::NotionalDesc => -notional,
            EntryOrderPriority::OrderValueAsc => o.side.sign() * notional,
            EntryOrderPriority::FreeCashAsc => {
                if px == 0.0 {
                    return Ok(0.0);
                }
                let held = self.portfolio.quantity(o.asset);
                let commission = self.cfg.commission.commission(&self.commission_query(o, o.quantity, px))?;
                let q = o.quantity.abs();
                let unit = px * self.multiplier(o.asset);
                let freed = if held * o.side.sign() < 0.0 { q.min(held.abs()) } else { 0.0 };
                // Covering a short uses cash like a buy (less the locked
                // collateral it releases); selling a long frees it.
                let used = if held > 0.0 && o.side == OrderSide::Sell {
                    -freed * unit
                } else {
                    freed * unit - 2.0 * self.account.released_short_basis(o.asset, freed, held)
                };
                used + (q - freed).max(0.0) * unit + commission
            }
        })
    }
    /// Ends a pass over `ids`: IOC and FOK orders still pending are cancelled,
    /// and orders no longer pending leave the pending list.
    pub(crate) fn close_pass(&mut self, ids: &[OrderId]) {
        for &id in ids {
            let o = &self.book[id];
            if o.status == OrderStatus::Pending {
                match o.time_in_force {
                    TimeInForce::Ioc => self.mark_cancelled(id, CancelReason::ImmediateOrCancel),
                    TimeInForce::Fok => self.mark_cancelled(id, CancelReason::FillOrKill),
                    TimeInForce::Gtc | TimeInForce::Day => {}
                }
            }
        }
        self.book.drop_closed();
    }

    /// Floors an integer account's order quantity; rejects it if that gives 0.
    pub(crate) fn round_quantity(&mut self, id: OrderId) -> bool {
        if self.cfg.share_type != ShareType::Integer {
            return true;
        }
        let o = &mut self.book[id];
        let whole = o.quantity.trunc();
        o.quantity = whole;
        if whole <= 0.0 {
            o.status = OrderStatus::Rejected;
            o.rejection_reason = Some(Box::new(Refusal::QuantityRoundsToZero));
            return false;
        }
        true
    }

    /// Marks positions between exits and entries: at the open when matching
    /// at the open, else at the close. Assets without a bar keep their mark.
    pub(crate) fn mark_positions(&mut self, b: BarIndex, at: MatchPoint) {
        if self.marks_at_reference_price() {
            let prices = match at {
                MatchPoint::Open => self.market.open_column(),
                MatchPoint::Execution | MatchPoint::Close | MatchPoint::SameBarOpen => self.market.price_column(),
            };
            // Open positions, not the bar's rows: most rows hold none.
            let latest_row = &self.latest_row;
            self.portfolio.mark_open(|asset| match latest_row[asset as usize] {
                (bar, row) if bar == b => Some(prices[row as usize]),
                _ => None,
            });
        } else {
            for row in self.market.rows(b) {
                self.mark_row(row, at);
            }
        }
    }

    /// Marks one asset's position as `mark_positions` does.
    pub(crate) fn mark_asset(&mut self, b: BarIndex, at: MatchPoint, asset: AssetId) {
        if let Some(row) = self.row_in_bar(b, asset) {
            self.mark_row(row, at);
        }
    }

    /// Marks the position of `row`'s asset at the configured mark price;
    /// an unavailable mark (VWAP missing) keeps the previous one.
    pub(crate) fn mark_row(&mut self, row: usize, at: MatchPoint) {
        let asset = self.market.asset_of(row);
        let Some(qty) = self.portfolio.position(asset).map(|p| p.quantity) else { return };
        let use_open = matches!(at, MatchPoint::Open | MatchPoint::SameBarOpen);
        let mark = mark_of(&self.market.bar_at(row), self.cfg.mark_price, qty, at == MatchPoint::Open, use_open);
        if !mark.is_nan() {
            self.portfolio.mark(asset, mark);
        }
    }

    /// Cancels DAY orders whose session ends with bar `b`: orders that could
    /// already execute (NEXT_BAR: from the bar after submission; MOC and
    /// SAME_BAR: from the submission bar) and whose first executable bar's
    /// session is not the next bar's. After the last bar nothing expires:
    /// the session's end is not in the data.
    pub(crate) fn expire_day_orders(&mut self, b: BarIndex) {
        // Another venue expires its orders itself and reports it.
        if self.execution_client.is_some() {
            return;
        }
        let Some(sessions) = self.sessions.as_ref() else { return };
        let Some(&next) = sessions.get(b as usize + 1) else { return };
        let next_bar = self.cfg.execution_mode == ExecutionMode::NextBar;
        let mut expired = Vec::new();
        for &id in self.book.pending_ids() {
            let o = &self.book[id];
            if o.time_in_force != TimeInForce::Day {
                continue;
            }
            // Orders are created on a bar of the feed (or before the first).
            let created = self.market.bar_at_time(o.created_at).unwrap_or(0);
            let first = if next_bar && o.order_type != OrderType::MarketOnClose { created + 1 } else { created };
            if first <= b && sessions[first as usize] != next {
                expired.push(id);
            }
        }
        for id in expired {
            self.mark_cancelled(id, CancelReason::DayExpired);
        }
        self.book.drop_closed();
    }

    /// `CancelPolicy.SESSION_END` at bar `b` (ml4t-backtest's rule): a
    /// pending order's session is its submission bar's; it is cancelled,
    /// stamped at that session's close C, when bar `b` starts after C, or at
    /// C in a later session (`opening`), or when bar `b` ends at or after C.
    /// Another venue expires its orders itself.
    pub(crate) fn cancel_at_session_end(&mut self, b: BarIndex, opening: bool) {
        if self.execution_client.is_some() {
            return;
        }
        let (Some(sessions), Some(closes)) = (self.sessions.as_ref(), self.session_closes.as_ref()) else { return };
        let (now, session) = (self.market.timestamp(b), sessions[b as usize]);
        let mut ended = Vec::new();
        for &id in self.book.pending_ids() {
            let created = self.market.bar_at_time(self.book[id].created_at).unwrap_or(0) as usize;
            let close = closes[created];
            if now > close || (now == close && (!opening || sessions[created] != session)) {
                ended.push((id, close));
            }
        }
        for (id, close) in ended {
            self.book.mark_cancelled(id, CancelReason::SessionEnd, Some(close));
        }
        self.book.drop_closed();
    }
}
