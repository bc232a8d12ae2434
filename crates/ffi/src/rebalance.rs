//! Target-weight rebalancing across the ABI: marking a rebalance's order and
//! a matching pass inside the strategy callback.

use crate::error::{guard, NlStatus};
use crate::handles::{engine, NlEngine};

/// Marks pending order `order_id` as sent by a rebalance (an integer account
/// fills what cash affords of it); `priority_notional` (NaN: none) ranks it
/// under the notional entry priorities.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_mark_rebalance_order(e: *mut NlEngine, order_id: u64, priority_notional: f64) -> NlStatus {
    let notional = (!priority_notional.is_nan()).then_some(priority_notional);
    guard(|| Ok(engine(e, "rebalance_to_weights()")?.mark_rebalance_order(order_id, notional)?))
}

/// Matches pending orders now, inside the bar's strategy callback (SAME_BAR;
/// a no-op in NEXT_BAR mode, where this bar's orders wait for the next open).
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_match_now(e: *mut NlEngine) -> NlStatus {
    guard(|| Ok(engine(e, "matching orders inside on_data")?.match_pending_now()?))
}
