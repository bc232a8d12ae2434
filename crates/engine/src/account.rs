//! Cash-account checks on entries (orders that open, add to or reverse a
//! position). Exits are never checked: closing frees capital.
//!
//! Rules and messages follow ml4t-backtest's cash ("no shorts") and
//! short-enabled non-leveraged accounts, including the 0.01 cash tolerance.

use nl_core::OrderSide;

/// Cash may be overdrawn by this much (rounding of the cost check).
pub const CASH_TOLERANCE: f64 = 0.01;

/// The order's effect relative to the current position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEffect {
    /// Reduces or closes the position without crossing zero.
    Exit,
    /// Opens a position or adds to one.
    Entry,
    /// Closes the position and opens the opposite one.
    Reversal,
}

/// Classifies an order of `quantity` (unsigned) against `held` (signed).
pub fn order_effect(held: f64, side: OrderSide, quantity: f64) -> OrderEffect {
    let delta = side.sign() * quantity;
    if held == 0.0 || held * delta > 0.0 {
        return OrderEffect::Entry;
    }
    let after = held + delta;
    if (held > 0.0 && after >= 0.0) || (held < 0.0 && after <= 0.0) {
        OrderEffect::Exit
    } else {
        OrderEffect::Reversal
    }
}

/// Why the account refuses an entry at `price` costing `commission`, if it
/// does. A reversal is checked against `cash`; an entry against `spendable`
/// (cash less the configured buffer).
#[allow(clippy::too_many_arguments)]
pub fn entry_rejection(
    cash: f64,
    spendable: f64,
    held: f64,
    side: OrderSide,
    quantity: f64,
    price: f64,
    commission: f64,
    allow_short_selling: bool,
) -> Option<String> {
    let delta = side.sign() * quantity;
    let after = held + delta;
    match order_effect(held, side, quantity) {
        OrderEffect::Exit => None,
        OrderEffect::Reversal => {
            if !allow_short_selling {
                return Some("Position reversal not allowed in cash account".into());
            }
            let proceeds = (held * price).abs();
            let cash_after_close = if held > 0.0 { cash + proceeds } else { cash - proceeds } - commission;
            let need = (after * price).abs();
            (need > cash_after_close + CASH_TOLERANCE).then(|| {
                format!("Insufficient cash for reversal: need ${need:.2}, have ${cash_after_close:.2} after closing")
            })
        }
        OrderEffect::Entry => {
            let available = spendable - commission;
            let cost = (delta * price).abs();
            if held == 0.0 {
                if after < 0.0 && !allow_short_selling {
                    return Some("Short selling not allowed in cash account".into());
                }
                if cost > available + CASH_TOLERANCE {
                    return Some(if allow_short_selling {
                        let dir = if after > 0.0 { "long" } else { "short" };
                        format!("Insufficient cash for {dir}: need ${cost:.2}, have ${available:.2}")
                    } else {
                        format!("Insufficient cash: need ${cost:.2}, have ${available:.2}")
                    });
                }
                None
            } else {
                if after < 0.0 && !allow_short_selling {
                    return Some("Short positions not allowed in cash account".into());
                }
                (cost > available + CASH_TOLERANCE)
                    .then(|| format!("Insufficient cash: need ${cost:.2}, have ${available:.2}"))
            }
        }
    }
}
