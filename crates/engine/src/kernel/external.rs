//! Trading through an `ExecutionClient` instead of the simulated venue:
//! orders are sent when submitted, cancels and changes are requests, and the
//! venue's execution reports are booked by the same code as simulated fills.

use nl_core::{
    AssetId, BarIndex, CancelReason, EngineError, EngineResult, ExecutionPrice, Order, OrderId, OrderStatus, Refusal, ShareType,
    TimeInForce,
};

use crate::kernel::execute::Execution;
use crate::kernel::{Engine, Phase};
use crate::market::Bar;
use crate::venue::{ExecutionClient, ExecutionReport};

impl Engine {
    /// Routes orders to `client` from now on (before the first bar only).
    /// Settings that only a simulated venue can honour are refused.
    pub fn set_execution_client(&mut self, client: Box<dyn ExecutionClient>) -> EngineResult<()> {
        if self.phase != Phase::BeforeFirstBar {
            return Err(EngineError::InvalidState("the execution client can only be set before the first bar".into()));
        }
        let cfg = &self.cfg;
        for (name, on) in [
            ("immediate_fill", cfg.immediate_fill),
            ("next_bar_submission_precheck", cfg.next_bar_submission_precheck),
            ("next_bar_simple_cash_check", cfg.next_bar_simple_cash_check),
            ("next_bar_queue_shadow_validation", cfg.next_bar_queue_shadow_validation),
            ("buying_power_reservation", cfg.buying_power_reservation),
        ] {
            if on {
                return Err(EngineError::InvalidArgument(format!(
                    "{name} simulates a backtest venue's checks and cannot be used with an execution client")));
            }
        }
        // The locked-collateral ledger resizes covers by free cash, which
        // would change what a venue already filled.
        if cfg.short_cash_policy == crate::account::ShortCashPolicy::LockNotional {
            return Err(EngineError::InvalidArgument(
                "short_cash_policy=LOCK_NOTIONAL sizes fills itself and cannot be used with an execution client".into()));
        }
        self.execution_client = Some(client);
        Ok(())
    }

    /// Whether orders go to an execution client rather than the simulated venue.
    pub fn has_execution_client(&self) -> bool {
        self.execution_client.is_some()
    }

    /// Sends order `id` (just queued) to the venue. An integer account sends
    /// whole units; an order that rounds to zero is rejected here.
    pub(crate) fn send_to_venue(&mut self, id: OrderId) -> EngineResult<()> {
        if self.cfg.share_type == ShareType::Integer {
            let o = &mut self.book[id];
            o.quantity = o.quantity.trunc();
            if o.quantity <= 0.0 {
                self.reject(id, Refusal::QuantityRoundsToZero);
                self.book.remove_pending(id);
                return Ok(());
            }
        }
        let client = self.execution_client.as_mut().expect("send_to_venue needs an execution client");
        // An order that never reached the venue is refused with the reason,
        // not left working where nobody knows of it.
        if let Err(e) = client.submit(&self.book[id]) {
            self.reject(id, Refusal::Venue { text: format!("not sent to the venue: {e}") });
            self.book.remove_pending(id);
        }
        Ok(())
    }

    /// Asks the venue to cancel every pending order `which` selects (OCO
    /// siblings, the other orders of a reversed asset). They stay working
    /// until the venue confirms.
    pub(crate) fn request_cancels_where(&mut self, reason: CancelReason, which: impl Fn(&Order) -> bool) {
        let ids: Vec<OrderId> = self.book.pending().filter(|o| which(o)).map(|o| o.id).collect();
        let client = self.execution_client.as_mut().expect("request_cancels_where needs an execution client");
        for id in ids {
            // A failed request leaves the order working; the venue's own
            // report (fill or cancel) settles it either way.
            if client.cancel(id).is_ok() {
                self.requested_cancels.insert(id, reason);
            }
        }
    }

    /// Sends the changes of a working order; they apply here once sent.
    pub(crate) fn request_modify(&mut self, order: &Order) -> EngineResult<()> {
        let client = self.execution_client.as_mut().expect("request_modify needs an execution client");
        client.modify(order)
    }

    /// Hands bar `b` to the venue (a simulating venue executes on it) and
    /// books what it reports, before rules and the strategy see the bar.
    pub(crate) fn trade_bar_at_venue(&mut self, b: BarIndex) -> EngineResult<()> {
        let market = &self.market;
        let rows: Vec<(AssetId, Bar)> = market.rows(b).map(|row| (market.asset_of(row), market.bar_at(row))).collect();
        let client = self.execution_client.as_mut().expect("trade_bar_at_venue needs an execution client");
        client.on_bar(market.timestamp(b), &rows)?;
        self.process_reports().map(|_| ())
    }

    /// Polls the execution client and books every report it returned, in
    /// order. Returns how many reports were applied. Inside a bar fills
    /// belong to it; between bars to the bar just ended.
    pub fn process_reports(&mut self) -> EngineResult<usize> {
        let Some(client) = self.execution_client.as_mut() else {
            return Err(EngineError::InvalidState("no execution client: the simulated venue fills orders itself".into()));
        };
        let mut reports = std::mem::take(&mut self.polled_reports);
        reports.clear();
        let polled = client.poll(&mut reports);
        // Every report is applied even when one is refused: the others are
        // real executions and must not be lost with it.
        let mut refused = Vec::new();
        for report in &reports {
            if let Err(e) = self.apply_report(report) {
                refused.push(e.to_string());
            }
        }
        let applied = reports.len() - refused.len();
        self.polled_reports = reports;
        polled?;
        if !refused.is_empty() {
            return Err(EngineError::InvalidData(format!(
                "{} of {} execution reports refused ({} applied): {}",
                refused.len(), applied + refused.len(), applied, refused.join("; "))));
        }
        Ok(applied)
    }

    /// Books one report. Reports about unknown or no longer working orders,
    /// and fills beyond what an order asked for, are refused (they would
    /// corrupt the book), naming the order.
    pub fn apply_report(&mut self, report: &ExecutionReport) -> EngineResult<()> {
        let id = report.order_id();
        let Some(order) = self.book.get(id) else {
            return Err(EngineError::NotFound(format!("execution report for unknown order {id}")));
        };
        if order.status != OrderStatus::Pending {
            return Err(EngineError::InvalidState(format!(
                "execution report for order {id}, which is no longer working ({:?})", order.status)));
        }
        let Some(b) = self.current_bar() else {
            return Err(EngineError::InvalidState("execution reports can only be booked once the first bar opened".into()));
        };
        match report {
            ExecutionReport::Accepted { .. } => {}
            ExecutionReport::Filled { quantity, price, commission, timestamp, .. } => {
                let (quantity, price, commission) = (*quantity, *price, *commission);
                if !(quantity.is_finite() && quantity > 0.0 && price.is_finite() && price > 0.0 && commission.is_finite()) {
                    return Err(EngineError::InvalidData(format!(
                        "fill of order {id} needs a positive quantity and price and a finite commission, got {quantity} @ {price} (commission {commission})")));
                }
                let mut left = order.quantity - quantity;
                // A hair either way is float noise from the venue's arithmetic.
                let noise = 1e-9 * order.quantity.max(1.0);
                if left < -noise {
                    return Err(EngineError::InvalidData(format!(
                        "fill of {quantity} for order {id} exceeds the {} it has left", order.quantity)));
                }
                if left <= noise {
                    left = 0.0;
                }
                if self.cfg.share_type == ShareType::Integer && quantity.fract() != 0.0 {
                    return Err(EngineError::InvalidData(format!(
                        "fill of {quantity} for order {id} is not whole units (share_type=INTEGER)")));
                }
                let asset = order.asset;
                let bar = self.row_in_bar(b, asset).map_or(NO_BAR, |row| self.market.bar_at(row));
                // An asset without a bar yet is valued at its first fill, not at NaN.
                if self.last_price[asset as usize].is_nan() {
                    self.last_price[asset as usize] = price;
                }
                let available = bar.available_size(order.side == nl_core::OrderSide::Buy);
                let execution = Execution {
                    timestamp: *timestamp,
                    quantity,
                    price,
                    slippage: 0.0,
                    commission,
                    quoted_commission: commission,
                    source: ExecutionPrice::Price,
                    bar,
                    available,
                    remaining: left,
                    partial_reason: None,
                };
                self.book_execution(id, b, execution);
            }
            ExecutionReport::Rejected { reason, .. } => {
                let whole = self.cfg.share_type == ShareType::Integer;
                self.book.mark_rejected(id, reason.clone(), whole);
            }
            ExecutionReport::Cancelled { reason, timestamp, .. } => {
                // A cancel the kernel asked for keeps the kernel's reason
                // (an OCO sibling, a reversal); the venue knows only "cancelled".
                let reason = self.requested_cancels.get(&id).copied().unwrap_or(*reason);
                self.book.mark_cancelled(id, reason, Some(*timestamp));
            }
            ExecutionReport::Expired { timestamp, .. } => {
                let reason = match order.time_in_force {
                    TimeInForce::Ioc => CancelReason::ImmediateOrCancel,
                    TimeInForce::Fok => CancelReason::FillOrKill,
                    _ => CancelReason::DayExpired,
                };
                self.book.mark_cancelled(id, reason, Some(*timestamp));
            }
        }
        if self.book[id].status != OrderStatus::Pending {
            self.requested_cancels.remove(&id);
        }
        self.book.drop_closed();
        Ok(())
    }
}

/// A fill outside the feed's bars: no prices known.
const NO_BAR: Bar = Bar {
    open: f64::NAN,
    high: f64::NAN,
    low: f64::NAN,
    close: f64::NAN,
    price: f64::NAN,
    volume: f64::NAN,
    vwap: f64::NAN,
    bid: f64::NAN,
    ask: f64::NAN,
    mid: f64::NAN,
    bid_size: f64::NAN,
    ask_size: f64::NAN,
};
