//! Fill-price rules: which bar price an order executes at.

use nl_core::{ExecutionPrice, Order, OrderType};

use crate::market::Bar;

/// When in the bar the engine is matching orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchPoint {
    /// At the bar's open (NEXT_BAR mode fills yesterday's orders here).
    Open,
    /// At the configured execution price of the bar (SAME_BAR mode).
    Execution,
}

/// The raw (pre-slippage) price at which `order` fills on `bar`, or `None`
/// if it does not fill there.
pub fn fill_price(order: &Order, bar: &Bar, at: MatchPoint, price: ExecutionPrice) -> Option<f64> {
    match order.order_type {
        OrderType::Market => Some(match (at, price) {
            (MatchPoint::Open, _) | (MatchPoint::Execution, ExecutionPrice::Open) => bar.open,
            (MatchPoint::Execution, ExecutionPrice::Close) => bar.close,
        }),
        // Other order types arrive with the order-model issue; the engine
        // refuses to accept them at submission, so this is unreachable today.
        _ => None,
    }
}
