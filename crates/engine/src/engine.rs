//! The per-bar step: update marks, match pending orders, record equity.

use std::sync::Arc;

use nl_core::{
    AssetId, BarIndex, EngineError, EngineResult, ExecutionMode, Fill, Order,
    OrderId, OrderSide, OrderStatus, OrderType, Position, ShareType, Trade,
};

use crate::account::{entry_rejection, order_effect, OrderEffect};
use crate::config::EngineConfig;
use crate::fill::{check_fill, execution_price, FillRules, MatchPoint};
use crate::market::MarketData;
use crate::portfolio::Portfolio;

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
}

impl OrderRequest {
    pub fn market(asset: AssetId, quantity: f64, side: OrderSide) -> Self {
        Self { asset, quantity, side, order_type: OrderType::Market, limit_price: None, stop_price: None, trail_amount: None }
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
        self.match_pending(b, point);
        Ok(())
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
        self.match_pending(b, point);
        let (assets, close) = (self.market.asset_column(), self.market.close_column());
        for row in self.market.rows(b) {
            self.portfolio.update_water_marks(assets[row], close[row]);
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
        });
        self.pending.push(id);
        Ok(SubmitOutcome::Accepted(id))
    }

    /// Cancels a pending order; false if it is unknown or no longer pending.
    pub fn cancel_order(&mut self, id: OrderId) -> bool {
        let Some(pos) = self.pending.iter().position(|&p| p == id) else { return false };
        self.pending.remove(pos);
        self.order_mut(id).status = OrderStatus::Cancelled;
        true
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
        self.portfolio.equity(|a| self.last_price[a as usize])
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

    /// Matches pending orders on bar `b`, exits first: exits (orders that
    /// reduce a position without crossing zero) fill in submission order, the
    /// positions are marked, then entries fill in submission order against the
    /// cash the exits freed.
    fn match_pending(&mut self, b: BarIndex, at: MatchPoint) {
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
        for &id in &eligible {
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
        for &id in &exits {
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
            self.try_fill(id, b, at);
        }
        self.mark_positions(b, at);
        if deferred {
            entries.sort_unstable();
        }
        for &id in &entries {
            if self.orders[(id - 1) as usize].status == OrderStatus::Pending {
                self.try_fill(id, b, at);
            }
        }
        let orders = &self.orders;
        self.pending.retain(|&id| orders[(id - 1) as usize].status == OrderStatus::Pending);
        self.scratch_eligible = eligible;
        self.scratch_exits = exits;
        self.scratch_entries = entries;
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
        let assets = self.market.asset_column();
        let prices = match at {
            MatchPoint::Open => self.market.open_column(),
            MatchPoint::Execution | MatchPoint::Close => self.market.close_column(),
        };
        for row in self.market.rows(b) {
            self.portfolio.mark(assets[row], prices[row]);
        }
    }

    /// Fills or rejects one order if its asset has a bar; else it stays pending.
    fn try_fill(&mut self, id: OrderId, b: BarIndex, at: MatchPoint) {
        let asset = self.orders[(id - 1) as usize].asset;
        let Some(row) = self.row_in_bar(b, asset) else { return };
        let bar = self.market.bar_at(row);
        let rules = FillRules { mode: self.cfg.conditional_order_mode, limit_gap_fill: self.cfg.limit_gap_fill };
        let configured = self.cfg.execution_price;
        let order = &mut self.orders[(id - 1) as usize];
        let (price, source) = execution_price(order, &bar, at, configured);
        let Some(base) = check_fill(order, &bar, price, rules, b) else { return };
        let (side, quantity, order_type) = (order.side, order.quantity, order.order_type);
        let (limit_price, stop_price, stop_triggered_bar) = (order.limit_price, order.stop_price, order.stop_triggered_bar);
        let held = self.portfolio.quantity(asset);
        let effect = order_effect(held, side, quantity);
        if effect != OrderEffect::Exit {
            if let Some(reason) = self.rejection(held, side, quantity, base) {
                return self.reject(id, reason);
            }
        }
        let slip = self.cfg.slippage.per_share(base);
        let price = match side {
            OrderSide::Buy => base + slip,
            OrderSide::Sell => base - slip,
        };
        // A limit is a hard bound: slippage past it means no fill this bar.
        if !within_limit(side, limit_price.filter(|_| matches!(order_type, OrderType::Limit | OrderType::StopLimit)), price) {
            return;
        }
        // Slippage moved the price: the account check runs again at the real price.
        if price != base && effect != OrderEffect::Exit {
            if let Some(reason) = self.rejection(held, side, quantity, price) {
                return self.reject(id, reason);
            }
        }
        let commission = self.cfg.commission.commission(quantity, price);
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
            available_size: bar.volume,
            is_exit: held * side.sign() < 0.0,
            order_type,
            limit_price,
            stop_price,
            stop_triggered_bar,
        };
        self.portfolio.apply_fill(&fill);
        self.fills.push(fill);
        let o = self.order_mut(id);
        o.status = OrderStatus::Filled;
        o.filled_bar = Some(b);
        o.filled_price = Some(price);
        o.filled_quantity = quantity;
        o.commission = commission;
        if effect == OrderEffect::Reversal {
            self.cancel_other_orders(asset, id);
        }
    }

    /// The row of `asset` in the current bar `b`, if it has one.
    fn row_in_bar(&self, b: BarIndex, asset: AssetId) -> Option<usize> {
        let (bar, row) = self.latest_row[asset as usize];
        (bar == b).then_some(row as usize)
    }

    fn rejection(&self, held: f64, side: OrderSide, quantity: f64, price: f64) -> Option<String> {
        entry_rejection(
            self.portfolio.cash,
            held,
            side,
            quantity,
            price,
            &self.cfg.commission,
            self.cfg.allow_short_selling,
        )
    }

    fn reject(&mut self, id: OrderId, reason: String) {
        let o = self.order_mut(id);
        o.status = OrderStatus::Rejected;
        o.rejection_reason = Some(reason);
    }

    /// A reversal cancels the asset's other pending orders (they were sized
    /// for the position that no longer exists).
    fn cancel_other_orders(&mut self, asset: AssetId, keep: OrderId) {
        for &id in &self.pending {
            let o = &mut self.orders[(id - 1) as usize];
            if id != keep && o.asset == asset && o.status == OrderStatus::Pending {
                o.status = OrderStatus::Cancelled;
            }
        }
    }

}

/// Whether `price` respects `limit` (buy at or below, sell at or above).
fn within_limit(side: OrderSide, limit: Option<f64>, price: f64) -> bool {
    match (limit, side) {
        (None, _) => true,
        (Some(l), OrderSide::Buy) => price <= l,
        (Some(l), OrderSide::Sell) => price >= l,
    }
}
