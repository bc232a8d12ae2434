//! The per-bar step: update marks, match pending orders, record equity.

use std::sync::Arc;

use std::cmp::Ordering;

use nl_core::{
    AssetId, BarIndex, CancelReason, EngineError, EngineResult, EntryOrderPriority, ExecutionMode, ExecutionPrice, Fill,
    FillOrdering,
    Order, OrderId, OrderSide, OrderStatus, OrderType, Position, ShareType, TimeInForce, Trade,
};

use crate::account::{entry_rejection, order_effect, OrderEffect, CASH_TOLERANCE};
use crate::config::EngineConfig;
use crate::costs::{CommissionQuery, Commissions, PerAsset, SlippageQuery, Slippages};
use crate::execution::{ExecutionLimit, MarketImpact};
use crate::fill::{check_fill, execution_price, mark_of, FillRules, MatchPoint};
use crate::market::{Bar, MarketData};
use crate::portfolio::{reversal_split, Portfolio};

/// Submitted quantities at or below this return no order (as in ml4t-backtest).
pub const MIN_ORDER_QUANTITY: f64 = 1e-8;

/// An order as a strategy asks for it. Prices that the order type does not
/// use may be given; they must still be valid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderRequest {
    pub asset: AssetId,
    /// Unsigned; `side` gives the direction.
    pub quantity: f64,
    pub side: OrderSide,
    pub order_type: OrderType,
    pub limit_price: Option<f64>,
    pub stop_price: Option<f64>,
    pub trail_amount: Option<f64>,
    /// Bracket entry this order exits (one-cancels-other with its siblings).
    pub parent_id: Option<OrderId>,
    pub time_in_force: TimeInForce,
}

impl OrderRequest {
    pub fn market(asset: AssetId, quantity: f64, side: OrderSide) -> Self {
        Self::new(asset, quantity, side, OrderType::Market)
    }

    /// A GTC order without prices; set the prices the type needs.
    pub fn new(asset: AssetId, quantity: f64, side: OrderSide, order_type: OrderType) -> Self {
        Self {
            asset,
            quantity,
            side,
            order_type,
            limit_price: None,
            stop_price: None,
            trail_amount: None,
            parent_id: None,
            time_in_force: TimeInForce::Gtc,
        }
    }

    /// Checks the prices the order type needs: finite and > 0.
    pub fn validate(&self) -> EngineResult<()> {
        if !self.quantity.is_finite() || self.quantity < 0.0 {
            return Err(EngineError::InvalidArgument(format!(
                "quantity must be finite and >= 0, got {}", self.quantity)));
        }
        let t = self.order_type;
        let needs_limit = matches!(t, OrderType::Limit | OrderType::StopLimit);
        let needs_stop = matches!(t, OrderType::Stop | OrderType::StopLimit);
        for (name, value, required) in [
            ("limit_price", self.limit_price, needs_limit),
            ("stop_price", self.stop_price, needs_stop),
            ("trail_amount", self.trail_amount, t == OrderType::TrailingStop),
        ] {
            match value {
                None if required => {
                    return Err(EngineError::InvalidArgument(format!("{name} is required for a {t:?} order")))
                }
                Some(v) if !(v.is_finite() && v > 0.0) => {
                    return Err(EngineError::InvalidArgument(format!(
                        "{name} must be a finite number > 0 for a {t:?} order, got {v}")))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Fields `update_order` may change; `None` keeps the current value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OrderUpdate {
    pub quantity: Option<f64>,
    pub limit_price: Option<f64>,
    pub stop_price: Option<f64>,
    pub trail_amount: Option<f64>,
}

/// What `submit_order` did with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Queued as PENDING.
    Accepted(OrderId),
    /// The quantity is (practically) zero: no order exists (Python gets `None`).
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    BeforeFirstBar,
    InBar(BarIndex),
    AfterBar(BarIndex),
}

pub struct Engine {
    cfg: EngineConfig,
    market: Arc<MarketData>,
    phase: Phase,
    orders: Vec<Order>,
    /// Pending order ids in submission order.
    pending: Vec<OrderId>,
    fills: Vec<Fill>,
    portfolio: Portfolio,
    /// Last known close per asset (NaN before the asset's first bar).
    last_price: Vec<f64>,
    /// Per asset: (bar, row) of its latest row, so matching finds this bar's
    /// row in O(1) without clearing a table every bar.
    latest_row: Vec<(u32, u32)>,
    /// Per asset: (bar, quantity filled in that bar), for volume-share costs.
    volume_consumed: Vec<(u32, f64)>,
    /// Session (trading day) number of every bar, for DAY orders.
    sessions: Option<Vec<i64>>,
    /// Scratch lists reused by every matching pass.
    scratch_eligible: Vec<OrderId>,
    scratch_exits: Vec<OrderId>,
    scratch_entries: Vec<OrderId>,
    /// Equity and cash recorded at the end of every bar.
    equity: Vec<f64>,
    cash_curve: Vec<f64>,
    /// Number of open positions at the end of every bar.
    open_positions_curve: Vec<u32>,
}

impl Engine {
    pub fn new(cfg: EngineConfig, market: Arc<MarketData>) -> EngineResult<Self> {
        cfg.validate()?;
        let n_assets = market.n_assets();
        Ok(Self {
            portfolio: Portfolio::new(cfg.initial_cash, n_assets),
            cfg,
            market,
            phase: Phase::BeforeFirstBar,
            orders: Vec::new(),
            pending: Vec::new(),
            fills: Vec::new(),
            last_price: vec![f64::NAN; n_assets],
            latest_row: vec![(u32::MAX, 0); n_assets],
            volume_consumed: vec![(u32::MAX, 0.0); n_assets],
            sessions: None,
            scratch_eligible: Vec::new(),
            scratch_exits: Vec::new(),
            scratch_entries: Vec::new(),
            equity: Vec::new(),
            cash_curve: Vec::new(),
            open_positions_curve: Vec::new(),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    pub fn market(&self) -> &MarketData {
        &self.market
    }

    /// Replaces the commission models (before the first bar only).
    pub fn set_commission(&mut self, commission: Commissions) -> EngineResult<()> {
        self.check_costs_settable(commission.by_asset.keys())?;
        commission.validate()?;
        self.cfg.commission = commission;
        Ok(())
    }

    /// Replaces the volume participation limits (before the first bar only).
    pub fn set_execution_limits(&mut self, limits: PerAsset<ExecutionLimit>) -> EngineResult<()> {
        self.check_costs_settable(limits.by_asset.keys())?;
        limits.models().try_for_each(ExecutionLimit::validate)?;
        self.cfg.limits = limits;
        Ok(())
    }

    /// Replaces the market-impact model (before the first bar only).
    pub fn set_market_impact(&mut self, impact: MarketImpact) -> EngineResult<()> {
        self.check_costs_settable(std::iter::empty())?;
        impact.validate()?;
        self.cfg.impact = impact;
        Ok(())
    }

    /// Replaces the slippage models (before the first bar only).
    pub fn set_slippage(&mut self, slippage: Slippages) -> EngineResult<()> {
        self.check_costs_settable(slippage.by_asset.keys())?;
        slippage.validate()?;
        self.cfg.slippage = slippage;
        Ok(())
    }

    fn check_costs_settable<'a>(&self, mut assets: impl Iterator<Item = &'a AssetId>) -> EngineResult<()> {
        if self.phase != Phase::BeforeFirstBar {
            return Err(EngineError::InvalidState("cost models can only be set before the first bar".into()));
        }
        match assets.find(|&&a| a as usize >= self.market.n_assets()) {
            Some(a) => Err(EngineError::NotFound(format!("asset index {a} is not in the feed"))),
            None => Ok(()),
        }
    }

    /// Gives every bar its session (trading day) number, non-decreasing;
    /// DAY orders need them.
    pub fn set_sessions(&mut self, sessions: Vec<i64>) -> EngineResult<()> {
        if sessions.len() != self.market.n_bars() {
            return Err(EngineError::InvalidArgument(format!(
                "sessions has {} entries for {} bars", sessions.len(), self.market.n_bars())));
        }
        if let Some(b) = sessions.windows(2).position(|w| w[1] < w[0]) {
            return Err(EngineError::InvalidArgument(format!("sessions decrease at bar {}", b + 1)));
        }
        self.sessions = Some(sessions);
        Ok(())
    }

    /// The bar the engine is in (or just finished), if any.
    pub fn current_bar(&self) -> Option<BarIndex> {
        match self.phase {
            Phase::BeforeFirstBar => None,
            Phase::InBar(b) | Phase::AfterBar(b) => Some(b),
        }
    }

    /// Opens bar `b`: ages positions, updates last prices, then matches
    /// pending orders (at the open in NEXT_BAR mode, at the configured price
    /// in SAME_BAR mode).
    pub fn begin_bar(&mut self, b: BarIndex) -> EngineResult<()> {
        let expected = match self.phase {
            Phase::BeforeFirstBar => 0,
            Phase::AfterBar(p) => p + 1,
            Phase::InBar(p) => {
                return Err(EngineError::InvalidState(format!("bar {p} was not ended before bar {b}")))
            }
        };
        if b != expected || b as usize >= self.market.n_bars() {
            return Err(EngineError::InvalidState(format!(
                "expected bar {expected} of {}, got {b}", self.market.n_bars())));
        }
        self.phase = Phase::InBar(b);
        self.portfolio.age_positions();
        let (assets, close) = (self.market.asset_column(), self.market.close_column());
        for row in self.market.rows(b) {
            let a = assets[row] as usize;
            self.last_price[a] = close[row];
            self.latest_row[a] = (b, row as u32);
        }
        let point = match self.cfg.execution_mode {
            ExecutionMode::NextBar => MatchPoint::Open,
            ExecutionMode::SameBar => MatchPoint::Execution,
        };
        self.match_pending(b, point)
    }

    /// Closes the current bar: SAME_BAR orders fill, positions are marked at
    /// the close (water marks, excursions), and equity is recorded.
    pub fn end_bar(&mut self) -> EngineResult<()> {
        let Phase::InBar(b) = self.phase else {
            return Err(EngineError::InvalidState("end_bar called outside a bar".into()));
        };
        // SAME_BAR: everything pending fills at this bar's price; NEXT_BAR:
        // only market-on-close orders (including this bar's) fill at the close.
        let point = match self.cfg.execution_mode {
            ExecutionMode::SameBar => MatchPoint::Execution,
            ExecutionMode::NextBar => MatchPoint::Close,
        };
        self.match_pending(b, point)?;
        self.expire_day_orders(b);
        let (assets, close) = (self.market.asset_column(), self.market.close_column());
        for row in self.market.rows(b) {
            self.portfolio.update_water_marks(assets[row], close[row]);
        }
        // Water marks follow the reference price; the position's mark then
        // moves to the configured mark price (ml4t's order).
        if !self.marks_at_reference_price() {
            for row in self.market.rows(b) {
                self.mark_row(row, false);
            }
        }
        self.equity.push(self.equity_now());
        self.cash_curve.push(self.portfolio.cash);
        self.open_positions_curve.push(self.portfolio.positions().count() as u32);
        self.phase = Phase::AfterBar(b);
        Ok(())
    }

    /// Queues an order.
    ///
    /// Integer accounts floor the quantity when the order is processed (an
    /// order that floors to zero is then rejected), as ml4t-backtest does.
    pub fn submit_order(&mut self, req: OrderRequest) -> EngineResult<SubmitOutcome> {
        if req.asset as usize >= self.market.n_assets() {
            return Err(EngineError::NotFound(format!("asset index {} is not in the feed", req.asset)));
        }
        req.validate()?;
        if let Some(parent) = req.parent_id {
            if self.order(parent).is_none() {
                return Err(EngineError::NotFound(format!("parent order {parent} does not exist")));
            }
        }
        if req.time_in_force == TimeInForce::Day && self.sessions.is_none() {
            return Err(EngineError::InvalidState("DAY orders need the bars' session dates".into()));
        }
        let OrderRequest { asset, quantity, side, order_type, .. } = req;
        if quantity <= MIN_ORDER_QUANTITY {
            return Ok(SubmitOutcome::Ignored);
        }
        let id = self.orders.len() as OrderId + 1;
        self.orders.push(Order {
            id,
            asset,
            side,
            order_type,
            quantity,
            requested_quantity: quantity,
            limit_price: req.limit_price,
            stop_price: req.stop_price,
            trail_amount: req.trail_amount,
            stop_triggered_bar: None,
            status: OrderStatus::Pending,
            created_bar: self.current_bar().unwrap_or(0),
            filled_bar: None,
            filled_price: None,
            filled_quantity: 0.0,
            commission: 0.0,
            rejection_reason: None,
            parent_id: req.parent_id,
            time_in_force: req.time_in_force,
            cancel_reason: None,
            cancelled_bar: None,
            last_fill_bar: None,
        });
        self.pending.push(id);
        Ok(SubmitOutcome::Accepted(id))
    }

    /// Submits an entry with a take-profit LIMIT and a stop-loss STOP exit for
    /// the same quantity, both children of the entry: when either exit fills
    /// completely the other is cancelled. All three are validated before any
    /// is queued. Like ml4t-backtest, the exits are live from submission (not
    /// held until the entry fills). `None` if the quantity is (practically) 0.
    pub fn submit_bracket(
        &mut self,
        entry: OrderRequest,
        take_profit: f64,
        stop_loss: f64,
    ) -> EngineResult<Option<[OrderId; 3]>> {
        let exit_side = match entry.side {
            OrderSide::Buy => OrderSide::Sell,
            OrderSide::Sell => OrderSide::Buy,
        };
        let mut tp = OrderRequest::new(entry.asset, entry.quantity, exit_side, OrderType::Limit);
        tp.limit_price = Some(take_profit);
        let mut sl = OrderRequest::new(entry.asset, entry.quantity, exit_side, OrderType::Stop);
        sl.stop_price = Some(stop_loss);
        for (name, r) in [("entry", &entry), ("take_profit", &tp), ("stop_loss", &sl)] {
            r.validate().map_err(|e| EngineError::InvalidArgument(format!("bracket {name}: {e}")))?;
        }
        let SubmitOutcome::Accepted(parent) = self.submit_order(entry)? else { return Ok(None) };
        tp.parent_id = Some(parent);
        sl.parent_id = Some(parent);
        let (SubmitOutcome::Accepted(t), SubmitOutcome::Accepted(s)) = (self.submit_order(tp)?, self.submit_order(sl)?)
        else {
            unreachable!("bracket exits have the entry's validated quantity")
        };
        Ok(Some([parent, t, s]))
    }

    /// Changes a pending order. Returns false if it is not pending. A new
    /// stop price re-arms a triggered stop (ml4t-backtest's rule).
    pub fn update_order(&mut self, id: OrderId, update: OrderUpdate) -> EngineResult<bool> {
        if !self.pending.contains(&id) {
            return Ok(false);
        }
        let o = &self.orders[(id - 1) as usize];
        if let Some(q) = update.quantity {
            if !(q.is_finite() && q > 0.0) {
                return Err(EngineError::InvalidArgument(format!(
                    "Updated remaining quantity must be finite and positive, got {q}")));
            }
        }
        let merged = OrderRequest {
            quantity: update.quantity.unwrap_or(o.quantity),
            limit_price: update.limit_price.or(o.limit_price),
            stop_price: update.stop_price.or(o.stop_price),
            trail_amount: update.trail_amount.or(o.trail_amount),
            ..OrderRequest::new(o.asset, o.quantity, o.side, o.order_type)
        };
        merged.validate()?;
        let o = self.order_mut(id);
        if update.stop_price.is_some_and(|s| Some(s) != o.stop_price) {
            o.stop_triggered_bar = None;
        }
        o.quantity = merged.quantity;
        o.limit_price = merged.limit_price;
        o.stop_price = merged.stop_price;
        o.trail_amount = merged.trail_amount;
        Ok(true)
    }

    /// Cancels a pending order; false if it is unknown or no longer pending.
    pub fn cancel_order(&mut self, id: OrderId) -> bool {
        let Some(pos) = self.pending.iter().position(|&p| p == id) else { return false };
        self.pending.remove(pos);
        self.mark_cancelled(id, CancelReason::User);
        true
    }

    fn mark_cancelled(&mut self, id: OrderId, reason: CancelReason) {
        let bar = self.current_bar();
        let o = self.order_mut(id);
        o.status = OrderStatus::Cancelled;
        o.cancel_reason = Some(reason);
        o.cancelled_bar = bar;
    }

    fn order_mut(&mut self, id: OrderId) -> &mut Order {
        &mut self.orders[(id - 1) as usize]
    }

    pub fn order(&self, id: OrderId) -> Option<&Order> {
        id.checked_sub(1).and_then(|i| self.orders.get(i as usize))
    }

    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    pub fn pending_orders(&self) -> impl Iterator<Item = &Order> {
        self.pending.iter().map(|&id| &self.orders[(id - 1) as usize])
    }

    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }

    pub fn trades(&self) -> &[Trade] {
        self.portfolio.trades()
    }

    pub fn position(&self, asset: AssetId) -> Option<&Position> {
        self.portfolio.position(asset)
    }

    /// A closed or reversed position by serial, as it was just before it ended.
    pub fn closed_position(&self, serial: u64) -> Option<&Position> {
        self.portfolio.closed_position(serial)
    }

    /// Open positions in the order they were opened.
    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.portfolio.positions()
    }

    pub fn cash(&self) -> f64 {
        self.portfolio.cash
    }

    /// The asset's close on the current bar, or NaN if it has no row in it.
    pub fn current_price(&self, asset: AssetId) -> f64 {
        match (self.current_bar(), self.latest_row.get(asset as usize)) {
            (Some(b), Some(&(bar, row))) if bar == b => self.market.close_column()[row as usize],
            _ => f64::NAN,
        }
    }

    pub fn last_price(&self, asset: AssetId) -> f64 {
        self.last_price.get(asset as usize).copied().unwrap_or(f64::NAN)
    }

    /// Cash plus open positions marked at their last known close.
    pub fn equity_now(&self) -> f64 {
        if self.marks_at_reference_price() {
            return self.portfolio.equity(|a| self.last_price[a as usize]);
        }
        self.portfolio.equity(|a| self.valuation_price(a))
    }

    /// The price an open position in `asset` is valued at now: the configured
    /// mark on the current bar, else the last known close (NaN before any).
    pub fn valuation_price(&self, asset: AssetId) -> f64 {
        let last = self.last_price(asset);
        if self.marks_at_reference_price() {
            return last;
        }
        let qty = self.portfolio.quantity(asset);
        self.current_bar()
            .and_then(|b| self.row_in_bar(b, asset))
            .map(|row| mark_of(&self.market.bar_at(row), self.cfg.mark_price, qty, false))
            .filter(|m| !m.is_nan())
            .unwrap_or(last)
    }

    /// Whether marks are the plain reference price (the close): the fast path.
    fn marks_at_reference_price(&self) -> bool {
        matches!(self.cfg.mark_price, ExecutionPrice::Price | ExecutionPrice::Close)
    }

    pub fn equity_curve(&self) -> &[f64] {
        &self.equity
    }

    pub fn cash_curve(&self) -> &[f64] {
        &self.cash_curve
    }

    pub fn open_positions_curve(&self) -> &[u32] {
        &self.open_positions_curve
    }

    /// Matches pending orders on bar `b` in the configured fill ordering.
    /// Afterwards IOC/FOK orders that were eligible and did not fill are
    /// cancelled. Cleans up even when a callback fails mid-pass.
    fn match_pending(&mut self, b: BarIndex, at: MatchPoint) -> EngineResult<()> {
        let mut eligible = std::mem::take(&mut self.scratch_eligible);
        let mut exits = std::mem::take(&mut self.scratch_exits);
        let mut entries = std::mem::take(&mut self.scratch_entries);
        eligible.clear();
        exits.clear();
        entries.clear();
        let orders = &self.orders;
        eligible.extend(self.pending.iter().copied().filter(|&id| {
            let moc = orders[(id - 1) as usize].order_type == OrderType::MarketOnClose;
            match at {
                MatchPoint::Open => !moc,
                MatchPoint::Close => moc,
                MatchPoint::Execution => true,
            }
        }));
        let result = match self.cfg.fill_ordering {
            FillOrdering::ExitFirst => self.match_exits_first(&eligible, &mut exits, &mut entries, b, at),
            FillOrdering::Priority => self
                .sort_by_priority(&mut eligible, b, at)
                .and_then(|()| self.match_in_sequence(&eligible, b, at)),
            FillOrdering::Fifo | FillOrdering::Sequential => self.match_in_sequence(&eligible, b, at),
        };
        for &id in &eligible {
            let o = &self.orders[(id - 1) as usize];
            if o.status == OrderStatus::Pending {
                match o.time_in_force {
                    TimeInForce::Ioc => self.mark_cancelled(id, CancelReason::ImmediateOrCancel),
                    TimeInForce::Fok => self.mark_cancelled(id, CancelReason::FillOrKill),
                    TimeInForce::Gtc | TimeInForce::Day => {}
                }
            }
        }
        let orders = &self.orders;
        self.pending.retain(|&id| orders[(id - 1) as usize].status == OrderStatus::Pending);
        self.scratch_eligible = eligible;
        self.scratch_exits = exits;
        self.scratch_entries = entries;
        result
    }

    /// EXIT_FIRST: exits (orders that reduce a position without crossing
    /// zero) fill in submission order, the positions are marked, then entries
    /// fill in `entry_order_priority` order against the cash the exits freed.
    fn match_exits_first(
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
            let o = &self.orders[(id - 1) as usize];
            match order_effect(self.portfolio.quantity(o.asset), o.side, o.quantity) {
                OrderEffect::Exit => exits.push(id),
                _ => entries.push(id),
            }
        }
        let mut deferred = false;
        for &id in exits.iter() {
            let o = &self.orders[(id - 1) as usize];
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
            if self.orders[(id - 1) as usize].status == OrderStatus::Pending {
                self.try_fill(id, b, at)?;
            }
        }
        Ok(())
    }

    /// FIFO / SEQUENTIAL / PRIORITY: one order at a time in the given order,
    /// exits and entries interleaved; positions are marked after every fill
    /// so the next order sees them.
    fn match_in_sequence(&mut self, ordered: &[OrderId], b: BarIndex, at: MatchPoint) -> EngineResult<()> {
        let mut marked = false;
        // Assets whose position a partial fill (which marks nothing) re-priced
        // since the last mark: the next full fill's mark covers them again.
        let mut unmarked: Vec<AssetId> = Vec::new();
        for &id in ordered {
            let o = &self.orders[(id - 1) as usize];
            if o.status != OrderStatus::Pending {
                continue;
            }
            // Without a price this bar (no row, or no VWAP) the order waits; it
            // is not even rounded.
            let Some(row) = self.row_in_bar(b, o.asset) else { continue };
            if execution_price(o, &self.market.bar_at(row), at, self.cfg.execution_price).0.is_nan() {
                continue;
            }
            let asset = o.asset;
            if !self.round_quantity(id) {
                continue;
            }
            let n_fills = self.fills.len();
            if !self.try_fill(id, b, at)? {
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
    fn sort_by_priority(&mut self, ids: &mut Vec<OrderId>, b: BarIndex, at: MatchPoint) -> EngineResult<()> {
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

    fn priority_key(&self, id: OrderId, b: BarIndex, at: MatchPoint, priority: EntryOrderPriority) -> EngineResult<f64> {
        let o = &self.orders[(id - 1) as usize];
        // The pass's base price for the order; 0 when the asset has no bar.
        // (No price from the source, e.g. no VWAP: the reference price.)
        let px = self
            .row_in_bar(b, o.asset)
            .map(|row| {
                let bar = self.market.bar_at(row);
                let px = execution_price(o, &bar, at, self.cfg.execution_price).0;
                if px.is_nan() { bar.close } else { px }
            })
            .unwrap_or(0.0);
        let notional = (o.quantity * px).abs();
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
                let freed = if held * o.side.sign() < 0.0 { q.min(held.abs()) } else { 0.0 };
                // Covering a short uses cash like a buy; selling a long frees it.
                let used = if held > 0.0 && o.side == OrderSide::Sell { -freed * px } else { freed * px };
                used + (q - freed).max(0.0) * px + commission
            }
        })
    }
    /// Floors an integer account's order quantity; rejects it if that gives 0.
    fn round_quantity(&mut self, id: OrderId) -> bool {
        if self.cfg.share_type != ShareType::Integer {
            return true;
        }
        let o = self.order_mut(id);
        o.quantity = o.quantity.trunc();
        if o.quantity <= 0.0 {
            o.status = OrderStatus::Rejected;
            o.rejection_reason = Some("Quantity rounds to zero (share_type=INTEGER)".into());
            return false;
        }
        true
    }

    /// Marks positions between exits and entries: at the open when matching
    /// at the open, else at the close. Assets without a bar keep their mark.
    fn mark_positions(&mut self, b: BarIndex, at: MatchPoint) {
        if self.marks_at_reference_price() {
            let assets = self.market.asset_column();
            let prices = match at {
                MatchPoint::Open => self.market.open_column(),
                MatchPoint::Execution | MatchPoint::Close => self.market.close_column(),
            };
            for row in self.market.rows(b) {
                self.portfolio.mark(assets[row], prices[row]);
            }
        } else {
            for row in self.market.rows(b) {
                self.mark_row(row, at == MatchPoint::Open);
            }
        }
    }

    /// Marks one asset's position as `mark_positions` does.
    fn mark_asset(&mut self, b: BarIndex, at: MatchPoint, asset: AssetId) {
        if let Some(row) = self.row_in_bar(b, asset) {
            self.mark_row(row, at == MatchPoint::Open);
        }
    }

    /// Marks the position of `row`'s asset at the configured mark price;
    /// an unavailable mark (VWAP missing) keeps the previous one.
    fn mark_row(&mut self, row: usize, at_open: bool) {
        let asset = self.market.asset_of(row);
        let Some(qty) = self.portfolio.position(asset).map(|p| p.quantity) else { return };
        let mark = mark_of(&self.market.bar_at(row), self.cfg.mark_price, qty, at_open);
        if !mark.is_nan() {
            self.portfolio.mark(asset, mark);
        }
    }

    /// Cancels DAY orders whose session ends with bar `b`: orders that could
    /// already execute (NEXT_BAR: from the bar after submission; MOC and
    /// SAME_BAR: from the submission bar) and whose first executable bar's
    /// session is not the next bar's. After the last bar nothing expires:
    /// the session's end is not in the data.
    fn expire_day_orders(&mut self, b: BarIndex) {
        let Some(sessions) = self.sessions.as_ref() else { return };
        let Some(&next) = sessions.get(b as usize + 1) else { return };
        let next_bar = self.cfg.execution_mode == ExecutionMode::NextBar;
        let mut expired = Vec::new();
        for &id in &self.pending {
            let o = &self.orders[(id - 1) as usize];
            if o.time_in_force != TimeInForce::Day {
                continue;
            }
            let first = if next_bar && o.order_type != OrderType::MarketOnClose { o.created_bar + 1 } else { o.created_bar };
            if first <= b && sessions[first as usize] != next {
                expired.push(id);
            }
        }
        for id in expired {
            self.mark_cancelled(id, CancelReason::DayExpired);
        }
        let orders = &self.orders;
        self.pending.retain(|&id| orders[(id - 1) as usize].status == OrderStatus::Pending);
    }

    /// The commission query for a fill of `quantity` at `price` of `o`.
    fn commission_query(&self, o: &Order, quantity: f64, price: f64) -> CommissionQuery {
        CommissionQuery {
            asset: o.asset,
            quantity,
            price,
            filled_quantity: o.filled_quantity,
            filled_notional: (o.filled_price.unwrap_or(0.0) * o.filled_quantity).abs(),
            commission_paid: o.commission,
        }
    }

    /// Quantity of `asset` already filled in bar `b`.
    fn consumed(&self, b: BarIndex, asset: AssetId) -> f64 {
        match self.volume_consumed[asset as usize] {
            (bar, q) if bar == b => q,
            _ => 0.0,
        }
    }

    /// Fills or rejects one order if its asset has a bar; else it stays
    /// pending. Returns whether it filled.
    fn try_fill(&mut self, id: OrderId, b: BarIndex, at: MatchPoint) -> EngineResult<bool> {
        let asset = self.orders[(id - 1) as usize].asset;
        let Some(row) = self.row_in_bar(b, asset) else { return Ok(false) };
        let bar = self.market.bar_at(row);
        let rules = FillRules { mode: self.cfg.conditional_order_mode, limit_gap_fill: self.cfg.limit_gap_fill };
        let configured = self.cfg.execution_price;
        let order = &mut self.orders[(id - 1) as usize];
        let (price, source) = execution_price(order, &bar, at, configured);
        // No price from the configured source on this bar (VWAP): the order waits.
        if price.is_nan() {
            return Ok(false);
        }
        let Some(base) = check_fill(order, &bar, price, rules, b) else { return Ok(false) };
        let (side, mut quantity, order_type) = (order.side, order.quantity, order.order_type);
        let (limit_price, stop_price, stop_triggered_bar) = (order.limit_price, order.stop_price, order.stop_triggered_bar);
        let parent_id = order.parent_id;
        let held = self.portfolio.quantity(asset);
        let mut effect = order_effect(held, side, quantity);
        // Set when cash limited the order: if it then does not fill completely
        // now, it is rejected with this reason (ml4t-backtest's rule).
        let mut partial_reason: Option<String> = None;
        if effect != OrderEffect::Exit {
            if let Some(reason) = self.rejection(id, held, quantity, base)? {
                // partial_fills_allowed: fill what the cash affords instead.
                let affordable = if self.cfg.partial_fills_allowed && is_insufficient_cash(&reason) {
                    self.max_affordable(id, held, quantity, base)?
                } else {
                    0.0
                };
                if affordable <= 0.0 {
                    self.reject(id, reason);
                    return Ok(false);
                }
                quantity = affordable;
                self.order_mut(id).quantity = affordable;
                effect = order_effect(held, side, quantity);
                partial_reason = Some(reason);
            }
        }
        let slippage = self.cfg.slippage.for_asset(asset);
        // A model that prices by participation cannot fill without volume.
        if slippage.requires_volume() && !(bar.volume > 0.0) {
            return self.give_up(id, partial_reason);
        }
        let available = bar.available_size(side == OrderSide::Buy);
        // Volume participation: at most one (partial) fill per bar; the rest waits.
        let (order_quantity, mut quantity, mut remaining) = (quantity, quantity, 0.0);
        let limit = self.cfg.limits.for_asset(asset);
        if limit.is_limited() {
            if self.orders[(id - 1) as usize].last_fill_bar == Some(b) {
                return self.give_up(id, partial_reason);
            }
            quantity = limit.fillable(quantity, available);
            if self.cfg.share_type == ShareType::Integer {
                quantity = quantity.trunc();
            }
            if quantity <= 0.0 {
                return self.give_up(id, partial_reason);
            }
            remaining = (order_quantity - quantity).max(0.0);
            if self.cfg.share_type == ShareType::Integer {
                remaining = remaining.trunc();
            }
        }
        // Fill-or-kill: all of it now or nothing (the pass then cancels it).
        if remaining > 0.0 && self.orders[(id - 1) as usize].time_in_force == TimeInForce::Fok {
            return self.give_up(id, partial_reason);
        }
        let pricing = FillPricing { asset, side, base, bar: &bar, available, consumed: self.consumed(b, asset) };
        let (mut price, mut slip) = self.fill_price(&pricing, quantity)?;
        let limit_bound = limit_price.filter(|_| matches!(order_type, OrderType::Limit | OrderType::StopLimit));
        // A limit is a hard bound: slippage past it means no fill this bar.
        if !within_limit(side, limit_bound, price) {
            return self.give_up(id, partial_reason);
        }
        // Impact or slippage moved the price: the account check runs again at
        // the real price, for what fills now.
        if price != base && effect != OrderEffect::Exit {
            if let Some(reason) = self.rejection(id, held, quantity, price)? {
                let affordable = if self.cfg.partial_fills_allowed && !is_account_restriction(&reason) {
                    self.max_affordable_at_cost(id, held, quantity, &pricing)?
                } else {
                    0.0
                };
                if affordable <= 0.0 {
                    self.reject(id, reason);
                    return Ok(false);
                }
                // What cash affords now is all this order will be (no carry-over).
                quantity = affordable;
                remaining = 0.0;
                (price, slip) = self.fill_price(&pricing, quantity)?;
                if !within_limit(side, limit_bound, price) {
                    return Ok(false);
                }
                self.order_mut(id).quantity = quantity;
            }
        }
        let quoted = self.cfg.commission.commission(&self.commission_query(&self.orders[(id - 1) as usize], quantity, price))?;
        let reverses = self.portfolio.reverses(asset, side.sign() * quantity);
        let commission = if reverses {
            let (close, open) = reversal_split(quoted, held, quantity);
            close + open
        } else {
            quoted
        };
        let fill = Fill {
            order_id: id,
            asset,
            side,
            quantity,
            price,
            bar: b,
            commission,
            slippage: slip,
            price_source: source,
            reference_price: bar.close,
            available_size: available,
            bid: bar.bid,
            ask: bar.ask,
            quote_mid: bar.mid,
            bid_size: bar.bid_size,
            ask_size: bar.ask_size,
            is_exit: held * side.sign() < 0.0,
            order_type,
            limit_price,
            stop_price,
            stop_triggered_bar,
        };
        self.portfolio.apply_fill(&fill, quoted);
        self.fills.push(fill);
        let consumed = self.consumed(b, asset) + quantity;
        self.volume_consumed[asset as usize] = (b, consumed);
        let partial = remaining > 0.0;
        if let (true, Some(reason)) = (partial, partial_reason) {
            // Cash-limited and then volume-limited: the part filled stands,
            // the order is rejected (ml4t-backtest's rule).
            self.order_mut(id).rejection_reason = Some(reason);
        }
        let o = self.order_mut(id);
        let filled = o.filled_quantity + quantity;
        o.filled_price = Some((o.filled_price.unwrap_or(0.0) * o.filled_quantity + price * quantity) / filled);
        o.filled_quantity = filled;
        o.commission += commission;
        o.last_fill_bar = Some(b);
        if partial && o.rejection_reason.is_some() {
            o.status = OrderStatus::Rejected;
        } else if partial {
            o.quantity = remaining;
        } else {
            o.status = OrderStatus::Filled;
            o.filled_bar = Some(b);
        }
        if reverses {
            self.cancel_other_orders(asset, id);
        }
        if let (Some(parent), false) = (parent_id, partial) {
            self.cancel_siblings(parent, id);
        }
        Ok(!partial)
    }

    /// Leaves the order pending, or rejects it with `reason` when cash had
    /// already limited it (a cash-limited order fills now or never).
    fn give_up(&mut self, id: OrderId, reason: Option<String>) -> EngineResult<bool> {
        if let Some(reason) = reason {
            self.reject(id, reason);
        }
        Ok(false)
    }

    /// The fill price (and per-unit slippage) of `quantity`: the base price
    /// moved by market impact, then by slippage, against the order.
    fn fill_price(&self, p: &FillPricing<'_>, quantity: f64) -> EngineResult<(f64, f64)> {
        let is_buy = p.side == OrderSide::Buy;
        let impacted = p.base + self.cfg.impact.impact(quantity, p.base, p.available, is_buy);
        if !(impacted.is_finite() && impacted > 0.0) {
            return Err(EngineError::InvalidArgument(format!(
                "Invalid market-impact execution price: expected a finite positive number, got {impacted}")));
        }
        let slip = self.cfg.slippage.per_share(&SlippageQuery {
            asset: p.asset,
            quantity,
            price: impacted,
            volume: p.bar.volume,
            available: p.available,
            volume_consumed: p.consumed,
        })?;
        let price = if is_buy { impacted + slip } else { impacted - slip };
        if !(price.is_finite() && price > 0.0) {
            return Err(EngineError::InvalidArgument(format!(
                "Invalid execution price: expected a finite positive number, got {price}")));
        }
        Ok((price, slip))
    }

    /// The largest quantity (at most `quantity`) of order `id` the account
    /// accepts at `price`: whole shares by bisection in an integer account,
    /// else 64 halvings less the cash tolerance (ml4t-backtest's search).
    fn max_affordable(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<f64> {
        let ok = |q: f64| -> EngineResult<bool> { Ok(q <= 0.0 || self.rejection(id, held, q, price)?.is_none()) };
        if price <= 0.0 || quantity <= 0.0 {
            return Ok(0.0);
        }
        if self.cfg.share_type == ShareType::Integer {
            return bisect_whole(quantity, |q| ok(q));
        }
        if ok(quantity)? {
            return Ok(quantity);
        }
        let (mut low, mut high) = (0.0, quantity);
        for _ in 0..64 {
            let mid = (low + high) / 2.0;
            if ok(mid)? {
                low = mid;
            } else {
                high = mid;
            }
        }
        Ok((low - CASH_TOLERANCE / price).max(0.0))
    }

    /// As `max_affordable`, but each candidate is priced with its own impact
    /// and slippage (they depend on the quantity).
    fn max_affordable_at_cost(&self, id: OrderId, held: f64, quantity: f64, p: &FillPricing<'_>) -> EngineResult<f64> {
        let ok = |q: f64| -> EngineResult<bool> {
            let (price, _) = self.fill_price(p, q)?;
            Ok(self.rejection(id, held, q, price)?.is_none())
        };
        if self.cfg.share_type == ShareType::Integer {
            return bisect_whole(quantity, |q| if q <= 0.0 { Ok(true) } else { ok(q) });
        }
        let (mut low, mut high) = (0.0, quantity);
        for _ in 0..64 {
            let mid = (low + high) / 2.0;
            if ok(mid)? {
                low = mid;
            } else {
                high = mid;
            }
        }
        // Keep a buffer so bisection rounding cannot overdraw a cash account.
        let (price, _) = self.fill_price(p, low)?;
        Ok((low - (CASH_TOLERANCE + 1e-8) / price).max(0.0))
    }

    /// One-cancels-other: a bracket exit filled, so its siblings go.
    fn cancel_siblings(&mut self, parent: OrderId, keep: OrderId) {
        for i in 0..self.pending.len() {
            let id = self.pending[i];
            let o = &self.orders[(id - 1) as usize];
            if id != keep && o.parent_id == Some(parent) && o.status == OrderStatus::Pending {
                self.mark_cancelled(id, CancelReason::Oco);
            }
        }
    }

    /// The row of `asset` in the current bar `b`, if it has one.
    fn row_in_bar(&self, b: BarIndex, asset: AssetId) -> Option<usize> {
        let (bar, row) = self.latest_row[asset as usize];
        (bar == b).then_some(row as usize)
    }

    /// The account's reason to refuse order `id` as an entry at `price`.
    fn rejection(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<String>> {
        let o = &self.orders[(id - 1) as usize];
        let commission = self.cfg.commission.commission(&self.commission_query(o, quantity, price))?;
        Ok(entry_rejection(self.portfolio.cash, held, o.side, quantity, price, commission, self.cfg.allow_short_selling))
    }

    fn reject(&mut self, id: OrderId, reason: String) {
        let o = self.order_mut(id);
        o.status = OrderStatus::Rejected;
        o.rejection_reason = Some(reason);
    }

    /// A reversal cancels the asset's other pending orders (they were sized
    /// for the position that no longer exists).
    fn cancel_other_orders(&mut self, asset: AssetId, keep: OrderId) {
        for i in 0..self.pending.len() {
            let id = self.pending[i];
            let o = &self.orders[(id - 1) as usize];
            if id != keep && o.asset == asset && o.status == OrderStatus::Pending {
                self.mark_cancelled(id, CancelReason::PositionReversal);
            }
        }
    }

}

/// How one fill is priced: the inputs `fill_price` needs for any quantity.
struct FillPricing<'a> {
    asset: AssetId,
    side: OrderSide,
    base: f64,
    bar: &'a Bar,
    available: f64,
    consumed: f64,
}

/// The largest whole number in 0..=floor(upper) that `ok` accepts (`ok` is
/// monotone: true up to some quantity, false beyond).
fn bisect_whole(upper: f64, ok: impl Fn(f64) -> EngineResult<bool>) -> EngineResult<f64> {
    let mut high = upper.trunc() as i64;
    if high <= 0 {
        return Ok(0.0);
    }
    if ok(high as f64)? {
        return Ok(high as f64);
    }
    let mut low = 0i64;
    while low < high {
        let mid = (low + high + 1) / 2;
        if ok(mid as f64)? {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Ok(low as f64)
}

/// A cash shortfall (partial fills may help), not an account restriction.
fn is_insufficient_cash(reason: &str) -> bool {
    reason.to_lowercase().contains("insufficient")
}

/// Rejections no quantity can fix (e.g. shorting in a cash account).
fn is_account_restriction(reason: &str) -> bool {
    reason.to_lowercase().contains("not allowed")
}

/// Whether `price` respects `limit` (buy at or below, sell at or above).
fn within_limit(side: OrderSide, limit: Option<f64>, price: f64) -> bool {
    match (limit, side) {
        (None, _) => true,
        (Some(l), OrderSide::Buy) => price <= l,
        (Some(l), OrderSide::Sell) => price >= l,
    }
}
