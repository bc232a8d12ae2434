//! A paper venue: the simulated venue's fill rules behind the
//! [`ExecutionClient`] seam, for paper trading and for checking that a
//! strategy behaves the same whichever venue it talks to.
//!
//! It keeps its own copy of every working order (as a real venue does) and
//! matches them when the kernel hands it a bar (`on_bar`): orders received
//! before the bar execute on it at the open (NEXT_BAR semantics), with the
//! backtest's triggers and gap rules, execution-price source, market impact,
//! slippage, commission and volume-participation limits. Each execution
//! becomes an [`ExecutionReport`] the kernel books at its next poll.
//!
//! What it does not know, because no venue knows it: the trader's account.
//! The in-process backtest sizes every fill against the cash left by the
//! previous one (ml4t-backtest's sequential semantics); here the kernel's
//! account sees fills only once they are reported, and a position reversal
//! cancels the asset's other orders only by request. A bracket's exits are
//! one-cancels-other at the venue itself. Market-on-close orders are refused
//! (the venue has no close auction to match them in); a position rule's
//! exit fills at the open like any market order (a venue has no notion of
//! the rule's price).

use std::collections::HashMap;

use nl_core::{MaybeTime, 
    AssetId, CancelReason, EngineError, EngineResult, Order, OrderId, OrderSide, OrderType, Refusal,
    TimeInForce, Timestamp,
};

use crate::market::{utc_day, Bar};
use crate::venue::sim::costs::{CommissionQuery, Commissions, PerAsset, Slippages};
use crate::venue::sim::execute::{fill_price, within_limit, FillPricing};
use crate::venue::sim::liquidity::{ExecutionLimit, LimitQuery, MarketImpact};
use crate::venue::sim::triggers::{check_fill, execution_price, FillRules, MatchPoint, PriceSources};
use crate::venue::{ExecutionClient, ExecutionReport};

/// How the paper venue fills: the backtest's fill rules and cost models.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperVenueConfig {
    pub fill_rules: FillRules,
    /// The price sources; at the open of a bar a non-quote configured source
    /// is the open (unless an open-pass source replaces it).
    pub price_sources: PriceSources,
    pub commission: Commissions,
    pub slippage: Slippages,
    pub impact: MarketImpact,
    pub limits: PerAsset<ExecutionLimit>,
    /// Contract multipliers of assets that have one (per-order fees count it).
    pub multipliers: HashMap<AssetId, f64>,
    /// Fill whole units only (an integer account's venue).
    pub whole_units: bool,
}

/// One working order as the venue holds it.
#[derive(Debug, Clone)]
struct Working {
    order: Order,
    /// The UTC day of the first bar it could execute on (DAY orders expire
    /// when a bar of a later day arrives).
    first_day: Option<i64>,
}

/// The paper venue (see the module documentation).
#[derive(Debug)]
pub struct PaperVenue {
    cfg: PaperVenueConfig,
    /// In arrival order (the order executions are tried in).
    working: Vec<Working>,
    outbox: Vec<ExecutionReport>,
    /// The latest bar's time: reports of commands are stamped with it.
    now: Option<Timestamp>,
}

impl PaperVenue {
    pub fn new(cfg: PaperVenueConfig) -> EngineResult<Self> {
        cfg.commission.validate()?;
        cfg.slippage.validate()?;
        cfg.impact.validate()?;
        cfg.limits.models().try_for_each(ExecutionLimit::validate)?;
        if let Some((a, m)) = cfg.multipliers.iter().find(|(_, m)| !(m.is_finite() && **m > 0.0)) {
            return Err(EngineError::InvalidArgument(format!("multiplier of asset {a} must be finite and > 0, got {m}")));
        }
        Ok(Self { cfg, working: Vec::new(), outbox: Vec::new(), now: None })
    }

    /// How many orders are working at the venue.
    pub fn working_orders(&self) -> usize {
        self.working.len()
    }

    fn stamp(&self, order: &Order) -> Timestamp {
        self.now.unwrap_or(order.created_at)
    }

    fn multiplier(&self, asset: AssetId) -> f64 {
        self.cfg.multipliers.get(&asset).copied().unwrap_or(1.0)
    }

    /// Expires DAY orders whose first trading day ended before `day`.
    fn expire_day_orders(&mut self, timestamp: Timestamp, day: i64) {
        let outbox = &mut self.outbox;
        self.working.retain(|w| {
            let expired = w.order.time_in_force == TimeInForce::Day && w.first_day.is_some_and(|d| d < day);
            if expired {
                outbox.push(ExecutionReport::Expired { order_id: w.order.id, timestamp });
            }
            !expired
        });
    }

    /// Tries working order `i` on its asset's `bar`; returns whether it is
    /// done (filled completely or expired) and leaves the venue.
    fn execute(&mut self, i: usize, timestamp: Timestamp, bar: &Bar, consumed: &mut HashMap<AssetId, f64>)
        -> EngineResult<bool> {
        let (price, _) = execution_price(&self.working[i].order, bar, MatchPoint::Open, self.cfg.price_sources);
        if price.is_nan() {
            return Ok(false);
        }
        let order = &mut self.working[i].order;
        let Some(base) = check_fill(order, bar, price, self.cfg.fill_rules, timestamp) else { return Ok(false) };
        let (asset, side) = (order.asset, order.side);
        // A model that prices by participation cannot fill without volume.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        if self.cfg.slippage.for_asset(asset).requires_volume() && !(bar.volume > 0.0) {
            return Ok(false);
        }
        let available = bar.available_size(side == OrderSide::Buy);
        let used = consumed.get(&asset).copied().unwrap_or(0.0);
        let query = LimitQuery { asset, quantity: order.quantity, price: base, volume: bar.volume, available, consumed: used };
        let mut quantity = self.cfg.limits.for_asset(asset).fill_now(&query)?;
        if self.cfg.whole_units {
            quantity = quantity.trunc();
        }
        if quantity <= 0.0 {
            return Ok(false);
        }
        if quantity < order.quantity && order.time_in_force == TimeInForce::Fok {
            return Ok(false);
        }
        let pricing = FillPricing { asset, side, base, bar, available, consumed: used };
        let (fill, _) = fill_price(&self.cfg.impact, &self.cfg.slippage, &pricing, quantity, false)?;
        let limit = order.limit_price.get().filter(|_| matches!(order.order_type, OrderType::Limit | OrderType::StopLimit));
        // A limit is a hard bound: slippage past it means no fill this bar.
        if !within_limit(side, limit, fill) {
            return Ok(false);
        }
        let multiplier = self.multiplier(asset);
        let order = &mut self.working[i].order;
        let commission = self.cfg.commission.commission(&CommissionQuery::next_fill(order, quantity, fill, multiplier))?;
        order.record_fill(quantity, fill, commission, timestamp);
        order.quantity -= quantity;
        *consumed.entry(asset).or_insert(0.0) += quantity;
        self.outbox.push(ExecutionReport::Filled { order_id: order.id, timestamp, quantity, price: fill, commission });
        Ok(order.quantity <= 0.0)
    }

    /// One-cancels-other: a bracket exit filled, so the other exits of the
    /// same entry leave the venue.
    fn cancel_siblings(&mut self, parent: OrderId, timestamp: Timestamp) {
        let outbox = &mut self.outbox;
        self.working.retain(|w| {
            let sibling = w.order.extras().parent_id == Some(parent);
            if sibling {
                outbox.push(ExecutionReport::Cancelled { order_id: w.order.id, timestamp, reason: CancelReason::Oco });
            }
            !sibling
        });
    }
}

impl ExecutionClient for PaperVenue {
    fn submit(&mut self, order: &Order) -> EngineResult<()> {
        let timestamp = self.stamp(order);
        if order.order_type == OrderType::MarketOnClose {
            let text = "market-on-close orders are not supported by the paper venue".to_string();
            self.outbox.push(ExecutionReport::Rejected { order_id: order.id, timestamp, reason: Refusal::Venue { text } });
            return Ok(());
        }
        if self.working.iter().any(|w| w.order.id == order.id) {
            return Err(EngineError::InvalidArgument(format!("order {} is already working at the venue", order.id)));
        }
        self.working.push(Working { order: order.clone(), first_day: None });
        self.outbox.push(ExecutionReport::Accepted { order_id: order.id, timestamp });
        Ok(())
    }

    fn cancel(&mut self, order_id: OrderId) -> EngineResult<()> {
        let Some(i) = self.working.iter().position(|w| w.order.id == order_id) else {
            return Err(EngineError::NotFound(format!("order {order_id} is not working at the venue")));
        };
        let w = self.working.remove(i);
        let timestamp = self.stamp(&w.order);
        self.outbox.push(ExecutionReport::Cancelled { order_id, timestamp, reason: CancelReason::User });
        Ok(())
    }

    fn modify(&mut self, order: &Order) -> EngineResult<()> {
        let Some(w) = self.working.iter_mut().find(|w| w.order.id == order.id) else {
            return Err(EngineError::NotFound(format!("order {} is not working at the venue", order.id)));
        };
        let mine = &mut w.order;
        // A new stop price re-arms a triggered stop (ml4t-backtest's rule).
        if order.stop_price != mine.stop_price {
            mine.stop_triggered_at = MaybeTime::NONE;
        }
        mine.quantity = order.quantity;
        mine.limit_price = order.limit_price;
        mine.stop_price = order.stop_price;
        if order.extras.is_some() || mine.extras.is_some() {
            mine.extras_mut().trail_amount = order.extras().trail_amount;
        }
        Ok(())
    }

    fn poll(&mut self, reports: &mut Vec<ExecutionReport>) -> EngineResult<()> {
        reports.append(&mut self.outbox);
        Ok(())
    }

    fn on_bar(&mut self, timestamp: Timestamp, rows: &[(AssetId, Bar)]) -> EngineResult<()> {
        self.now = Some(timestamp);
        let day = utc_day(timestamp);
        self.expire_day_orders(timestamp, day);
        let bars: HashMap<AssetId, &Bar> = rows.iter().map(|(a, b)| (*a, b)).collect();
        let mut consumed = HashMap::new();
        // In arrival order; an order a sibling's fill cancelled is skipped.
        let ids: Vec<OrderId> = self.working.iter().map(|w| w.order.id).collect();
        for id in ids {
            let Some(i) = self.working.iter().position(|w| w.order.id == id) else { continue };
            let Some(bar) = bars.get(&self.working[i].order.asset) else { continue };
            self.working[i].first_day.get_or_insert(day);
            let done = self.execute(i, timestamp, bar, &mut consumed)?;
            let order = &self.working[i].order;
            // Immediate-or-cancel and fill-or-kill orders get one bar.
            let expires = !done && matches!(order.time_in_force, TimeInForce::Ioc | TimeInForce::Fok);
            if !(done || expires) {
                continue;
            }
            let w = self.working.remove(i);
            if expires {
                self.outbox.push(ExecutionReport::Expired { order_id: id, timestamp });
            } else if let Some(parent) = w.order.extras().parent_id {
                self.cancel_siblings(parent, timestamp);
            }
        }
        Ok(())
    }
}
