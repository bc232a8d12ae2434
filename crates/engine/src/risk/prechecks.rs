//! ml4t-backtest's NEXT_BAR cash models of other frameworks (all off by
//! default; the `backtrader_strict` and `lean` presets turn them on):
//!
//! * Submission precheck (`next_bar_submission_precheck`): a market or
//!   market-on-close order is checked when it is submitted, at the submission
//!   bar's price, against a shadow of the account taken at the first checked
//!   submission of the trading day. Without leverage (or with the simple cash
//!   check) this replays Backtrader's pseudo-execution of its submitted queue:
//!   every order moves the shadow cash, even one it refuses, and an order is
//!   refused once the shadow cash is negative. A margin account runs its
//!   buying-power rules against the shadow instead; accepted orders reserve
//!   their cost there, unless the queue shadow validation checks them again
//!   at the open (then each precheck stands alone).
//! * Simple cash check (`next_bar_simple_cash_check`, Backtrader): at the
//!   open a market entry passes when the cash left after it (at the open
//!   price, with commission) is >= 0, instead of the account check; a
//!   reversal that fails it still closes the old position.
//! * Queue shadow validation (`next_bar_queue_shadow_validation`, LEAN): the
//!   open pass validates every order in submission order against a shadow
//!   account (positions marked at the bar's reference price, each accepted
//!   order booked at its fill price) and then fills the accepted ones.

use nl_core::AssetId;

use crate::portfolio::is_flat;

/// A shadow account's position: asset, signed quantity and a price (the
/// precheck's cost basis, or the queue shadow's mark).
pub(crate) type Holding = (AssetId, f64, f64);

/// The account as submission prechecks see it during one trading day.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubmissionShadow {
    /// The trading day (the bar, without sessions) it was taken on.
    pub(crate) day: Option<i64>,
    pub(crate) cash: f64,
    pub(crate) holdings: Vec<Holding>,
}

/// Sets `asset`'s quantity and price in `holdings`; a quantity that is zero
/// up to the rounding of `scale` removes it (the others keep their order).
pub(crate) fn set_holding(holdings: &mut Vec<Holding>, asset: AssetId, quantity: f64, price: f64, scale: f64) {
    let slot = holdings.iter().position(|h| h.0 == asset);
    match slot {
        _ if is_flat(quantity, scale) => {
            if let Some(i) = slot {
                holdings.remove(i);
            }
        }
        Some(i) => holdings[i] = (asset, quantity, price),
        None => holdings.push((asset, quantity, price)),
    }
}

/// A position after a trade, as Backtrader's `Position.update` books it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PositionUpdate {
    pub(crate) quantity: f64,
    pub(crate) basis: f64,
    /// The signed part of the trade that opened (or added to) a position.
    pub(crate) opened: f64,
    /// The signed part of the trade that closed the old position.
    pub(crate) closed: f64,
}

/// Backtrader's `Position.update`: `size` (signed) at `price` traded against
/// `held` at cost `basis`.
pub(crate) fn update_position(held: f64, basis: f64, size: f64, price: f64) -> PositionUpdate {
    let quantity = held + size;
    let scale = held.abs().max(size.abs());
    if is_flat(quantity, scale) {
        return PositionUpdate { quantity: 0.0, basis: 0.0, opened: 0.0, closed: size };
    }
    if is_flat(held, held) {
        return PositionUpdate { quantity, basis: price, opened: size, closed: 0.0 };
    }
    let adds = (held > 0.0) == (size > 0.0);
    if adds {
        let basis = (basis * held + size * price) / quantity;
        return PositionUpdate { quantity, basis, opened: size, closed: 0.0 };
    }
    if (held > 0.0) == (quantity > 0.0) {
        return PositionUpdate { quantity, basis, opened: 0.0, closed: size };
    }
    // Reversed: the old position closed, the rest opened at `price`.
    PositionUpdate { quantity, basis: price, opened: quantity, closed: -held }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtrader_position_update_splits_reversals_into_close_and_open() {
        // Long 10 @ 100, buy 10 @ 110: 20 @ 105, all opened.
        assert_eq!(update_position(10.0, 100.0, 10.0, 110.0),
                   PositionUpdate { quantity: 20.0, basis: 105.0, opened: 10.0, closed: 0.0 });
        // Sell 4: 6 left at the old basis, 4 closed.
        assert_eq!(update_position(10.0, 100.0, -4.0, 110.0),
                   PositionUpdate { quantity: 6.0, basis: 100.0, opened: 0.0, closed: -4.0 });
        // Sell 30: 10 closed, short 20 opened at 110.
        assert_eq!(update_position(10.0, 100.0, -30.0, 110.0),
                   PositionUpdate { quantity: -20.0, basis: 110.0, opened: -20.0, closed: -10.0 });
        // Sell 10: flat, the whole trade closed.
        assert_eq!(update_position(10.0, 100.0, -10.0, 110.0),
                   PositionUpdate { quantity: 0.0, basis: 0.0, opened: 0.0, closed: -10.0 });
        // From flat, a short opens at the price.
        assert_eq!(update_position(0.0, 50.0, -5.0, 50.0),
                   PositionUpdate { quantity: -5.0, basis: 50.0, opened: -5.0, closed: 0.0 });
    }

    #[test]
    fn a_holding_that_nets_to_zero_leaves_the_shadow() {
        let mut h = vec![(0, 10.0, 100.0), (1, 5.0, 20.0)];
        set_holding(&mut h, 0, 0.1 + 0.2 - 0.3, 0.0, 10.0);
        assert_eq!(h, vec![(1, 5.0, 20.0)]);
        set_holding(&mut h, 2, -3.0, 7.0, 3.0);
        set_holding(&mut h, 1, 8.0, 21.0, 5.0);
        assert_eq!(h, vec![(1, 8.0, 21.0), (2, -3.0, 7.0)]);
    }
}
