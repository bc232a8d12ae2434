//! The per-bar step: update marks, match pending orders, record equity.

use std::sync::Arc;

use nl_core::{
    AssetId, BarIndex, EngineError, EngineResult, ExecutionMode, Fill, Order, OrderId, OrderSide,
    OrderStatus, OrderType, Position, ShareType, Trade, QTY_EPSILON,
};

use crate::config::EngineConfig;
use crate::fill::{fill_price, MatchPoint};
use crate::market::MarketData;
use crate::portfolio::Portfolio;

/// What `submit_order` did with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Queued as PENDING.
    Accepted(OrderId),
    /// Recorded with status REJECTED (the order carries the reason).
    Rejected(OrderId),
    /// The quantity rounded to zero: no order exists (Python gets `None`).
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
    pending: Vec<OrderId>,
    fills: Vec<Fill>,
    portfolio: Portfolio,
    /// Last known reference price per asset (NaN before the asset's first bar).
    last_price: Vec<f64>,
    /// Equity and cash recorded at the end of every bar.
    equity: Vec<f64>,
    cash_curve: Vec<f64>,
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
            equity: Vec::new(),
            cash_curve: Vec::new(),
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

    /// Opens bar `b`: marks prices, then (NEXT_BAR) fills pending orders at the
    /// open or (SAME_BAR) fills orders still pending from earlier bars.
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
        let market = Arc::clone(&self.market);
        for row in market.rows(b) {
            let asset = market.asset_of(row);
            let bar = market.bar_at(row);
            self.last_price[asset as usize] = bar.close;
            self.portfolio.mark(asset, bar.high, bar.low);
        }
        let point = match self.cfg.execution_mode {
            ExecutionMode::NextBar => MatchPoint::Open,
            ExecutionMode::SameBar => MatchPoint::Execution,
        };
        self.match_pending(b, point);
        Ok(())
    }

    /// Closes the current bar: SAME_BAR orders fill, then equity is recorded.
    pub fn end_bar(&mut self) -> EngineResult<()> {
        let Phase::InBar(b) = self.phase else {
            return Err(EngineError::InvalidState("end_bar called outside a bar".into()));
        };
        if self.cfg.execution_mode == ExecutionMode::SameBar {
            self.match_pending(b, MatchPoint::Execution);
        }
        self.equity.push(self.equity_now());
        self.cash_curve.push(self.portfolio.cash);
        self.phase = Phase::AfterBar(b);
        Ok(())
    }

    /// Queues a market order. `quantity` is unsigned; integer accounts floor it.
    pub fn submit_order(
        &mut self,
        asset: AssetId,
        quantity: f64,
        side: OrderSide,
        order_type: OrderType,
    ) -> EngineResult<SubmitOutcome> {
        if asset as usize >= self.market.n_assets() {
            return Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")));
        }
        if !quantity.is_finite() || quantity < 0.0 {
            return Err(EngineError::InvalidArgument(format!(
                "quantity must be finite and >= 0, got {quantity}")));
        }
        if order_type != OrderType::Market {
            return Err(EngineError::InvalidArgument(format!(
                "order type {order_type:?} is not supported yet; use MARKET")));
        }
        let quantity = match self.cfg.share_type {
            ShareType::Integer => quantity.floor(),
            ShareType::Fractional => quantity,
        };
        if quantity <= QTY_EPSILON {
            return Ok(SubmitOutcome::Ignored);
        }
        let id = self.orders.len() as OrderId + 1;
        self.orders.push(Order {
            id,
            asset,
            side,
            order_type,
            quantity,
            limit_price: None,
            stop_price: None,
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

    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.portfolio.positions()
    }

    pub fn cash(&self) -> f64 {
        self.portfolio.cash
    }

    pub fn last_price(&self, asset: AssetId) -> f64 {
        self.last_price.get(asset as usize).copied().unwrap_or(f64::NAN)
    }

    /// Cash plus open positions marked at their last known price.
    pub fn equity_now(&self) -> f64 {
        self.portfolio.cash + self.portfolio.market_value(|a| self.last_price[a as usize])
    }

    pub fn equity_curve(&self) -> &[f64] {
        &self.equity
    }

    pub fn cash_curve(&self) -> &[f64] {
        &self.cash_curve
    }

    /// Matches pending orders on bar `b`: exits first (orders that reduce a
    /// position), then entries, each group in submission order.
    fn match_pending(&mut self, b: BarIndex, at: MatchPoint) {
        if self.pending.is_empty() {
            return;
        }
        let queue = std::mem::take(&mut self.pending);
        let (exits, entries): (Vec<OrderId>, Vec<OrderId>) = queue.iter().partition(|&&id| {
            let o = &self.orders[(id - 1) as usize];
            self.portfolio.quantity(o.asset) * o.side.sign() < 0.0
        });
        let mut still_pending = Vec::new();
        for id in exits.into_iter().chain(entries) {
            if !self.try_fill(id, b, at) {
                still_pending.push(id);
            }
        }
        // Keep submission order for orders that wait another bar.
        still_pending.sort_unstable();
        self.pending = still_pending;
    }

    /// Fills or rejects one order; returns false if it stays pending.
    fn try_fill(&mut self, id: OrderId, b: BarIndex, at: MatchPoint) -> bool {
        let order = &self.orders[(id - 1) as usize];
        let Some(row) = self.market.find_row(b, order.asset) else { return false };
        let bar = self.market.bar_at(row);
        let Some(raw) = fill_price(order, &bar, at, self.cfg.execution_price) else { return false };
        let (asset, side, quantity) = (order.asset, order.side, order.quantity);
        let price = self.cfg.slippage.apply(side, raw);
        let commission = self.cfg.commission.commission(quantity, price);
        if let Some(reason) = self.cash_account_rejection(asset, side, quantity, price, commission) {
            let o = self.order_mut(id);
            o.status = OrderStatus::Rejected;
            o.rejection_reason = Some(reason);
            return true;
        }
        let fill = Fill {
            order_id: id,
            asset,
            side,
            quantity,
            price,
            bar: b,
            commission,
            slippage: (price - raw).abs() * quantity,
        };
        self.portfolio.apply_fill(&fill);
        self.fills.push(fill);
        let o = self.order_mut(id);
        o.status = OrderStatus::Filled;
        o.filled_bar = Some(b);
        o.filled_price = Some(price);
        o.filled_quantity = quantity;
        o.commission = commission;
        true
    }

    /// Why a cash account refuses this fill, if it does.
    fn cash_account_rejection(
        &self,
        asset: AssetId,
        side: OrderSide,
        quantity: f64,
        price: f64,
        commission: f64,
    ) -> Option<String> {
        let held = self.portfolio.quantity(asset);
        let after = held + side.sign() * quantity;
        if !self.cfg.allow_short_selling && after < -QTY_EPSILON {
            return Some(format!(
                "short selling not allowed: position {held} would become {after}"));
        }
        // Only the part that opens or grows exposure needs cash.
        let opening = if held * side.sign() >= 0.0 { quantity } else { (quantity - held.abs()).max(0.0) };
        if side == OrderSide::Buy && opening > 0.0 {
            let cost = opening * price + commission;
            if cost > self.portfolio.cash + 1e-9 {
                return Some(format!(
                    "insufficient cash: need {cost:.2}, have {:.2}", self.portfolio.cash));
            }
        }
        None
    }
}
