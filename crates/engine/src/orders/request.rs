//! What a strategy asks of the book: a new order, a change to one, and
//! what submission did with it.

use nl_core::{AssetId, EngineError, EngineResult, OrderId, OrderSide, OrderType, TimeInForce};

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
