//! Fill-price rules: which bar price an order executes at.

use nl_core::{ExecutionPrice, Order, OrderType};

use crate::market::Bar;

/// When in the bar the engine is matching orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchPoint {
    /// At the bar's open: NEXT_BAR mode fills earlier bars' orders here,
    /// whatever `execution_price` says.
    Open,
    /// At the configured execution price of the bar (SAME_BAR mode).
    Execution,
}

/// The base (pre-slippage) price and its source for `order` on `bar`, or
/// `None` if the order does not fill there.
pub fn base_price(order: &Order, bar: &Bar, at: MatchPoint, configured: ExecutionPrice) -> Option<(f64, ExecutionPrice)> {
    match order.order_type {
        OrderType::Market => {
            let source = match at {
                MatchPoint::Open => ExecutionPrice::Open,
                MatchPoint::Execution => configured,
            };
            Some((price_of(bar, source), source))
        }
        // Other order types arrive with the order-model issue; the engine
        // refuses them at submission, so they never reach matching today.
        _ => None,
    }
}

/// The bar's value for a price source.
pub fn price_of(bar: &Bar, source: ExecutionPrice) -> f64 {
    match source {
        ExecutionPrice::Open => bar.open,
        ExecutionPrice::Close | ExecutionPrice::Price => bar.close,
        ExecutionPrice::Mid => (bar.high + bar.low) / 2.0,
    }
}
