//! Order entry and the order book: submit, bracket, target, update, cancel, look up.

use std::ffi::c_char;
use nl_core::{
    EngineError, OrderSide, OrderType, TimeInForce,
};
use nl_engine::{OrderRequest, OrderUpdate, SubmitOutcome};
use crate::error::{guard, into_c_string, null_error, NlStatus};
use crate::handles::*;
use crate::values::*;

/// Outcome codes of `nl_engine_submit_order`.
pub const NL_SUBMIT_ACCEPTED: u32 = 0;
/// The quantity was (practically) zero: no order was created.
pub const NL_SUBMIT_IGNORED: u32 = 1;

/// NaN stands for "not given" in price arguments.
pub(crate) fn given(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

/// Submits an order. `limit_price`, `stop_price` and `trail_amount` are NaN
/// when not given; `parent_id` is 0 for none; `time_in_force` a `TimeInForce` code. `out_outcome` receives an `NL_SUBMIT_*` code and
/// `out_order_id` the id (0 when ignored).
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_submit_order(
    e: *mut NlEngine,
    asset: u32,
    quantity: f64,
    side: u32,
    order_type: u32,
    limit_price: f64,
    stop_price: f64,
    trail_amount: f64,
    parent_id: u64,
    time_in_force: u32,
    out_order_id: *mut u64,
    out_outcome: *mut u32,
) -> NlStatus {
    guard(|| {
        let req = OrderRequest {
            limit_price: given(limit_price),
            stop_price: given(stop_price),
            trail_amount: given(trail_amount),
            parent_id: (parent_id != 0).then_some(parent_id),
            time_in_force: TimeInForce::try_from(time_in_force)?,
            ..OrderRequest::new(asset, quantity, OrderSide::try_from(side)?, OrderType::try_from(order_type)?)
        };
        let (id, code) = match engine(e, "submit_order()")?.submit_order(req)? {
            SubmitOutcome::Accepted(id) => (id, NL_SUBMIT_ACCEPTED),
            SubmitOutcome::Ignored => (0, NL_SUBMIT_IGNORED),
        };
        write(out_order_id, id)?;
        write(out_outcome, code)
    })
}

/// Submits a bracket: an entry (MARKET, or LIMIT at `entry_limit`) plus a
/// take-profit LIMIT and a stop-loss STOP exit, one-cancels-other. Writes the
/// three ids to `out_ids` and `NL_SUBMIT_*` to `out_outcome` (ids 0 when ignored).
///
/// # Safety
/// `e` must be a live engine handle; `out_ids` valid for 3 writes.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_submit_bracket(
    e: *mut NlEngine,
    asset: u32,
    quantity: f64,
    side: u32,
    entry_type: u32,
    entry_limit: f64,
    take_profit: f64,
    stop_loss: f64,
    time_in_force: u32,
    out_ids: *mut u64,
    out_outcome: *mut u32,
) -> NlStatus {
    guard(|| {
        let entry = OrderRequest {
            limit_price: given(entry_limit),
            time_in_force: TimeInForce::try_from(time_in_force)?,
            ..OrderRequest::new(asset, quantity, OrderSide::try_from(side)?, OrderType::try_from(entry_type)?)
        };
        if out_ids.is_null() {
            return Err(null_error("output").into());
        }
        let (ids, code) = match engine(e, "submit_bracket()")?.submit_bracket(entry, take_profit, stop_loss)? {
            Some(ids) => (ids, NL_SUBMIT_ACCEPTED),
            None => ([0; 3], NL_SUBMIT_IGNORED),
        };
        std::ptr::copy_nonoverlapping(ids.as_ptr(), out_ids, 3);
        write(out_outcome, code)
    })
}

/// Orders `asset` toward a target position value (`is_percent`: `target`
/// is a fraction of account value). `out_outcome` is `NL_SUBMIT_IGNORED` (id 0)
/// when no order was needed or possible.
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order_target(
    e: *mut NlEngine,
    asset: u32,
    target: f64,
    is_percent: bool,
    order_type: u32,
    limit_price: f64,
    out_order_id: *mut u64,
    out_outcome: *mut u32,
) -> NlStatus {
    guard(|| {
        let template = OrderRequest {
            limit_price: given(limit_price),
            ..OrderRequest::new(asset, 0.0, OrderSide::Buy, OrderType::try_from(order_type)?)
        };
        let mut eng = engine(e, "order_target_value() / order_target_percent()")?;
        let outcome = if is_percent {
            eng.order_target_percent(asset, target, template)?
        } else {
            eng.order_target_value(asset, target, template)?
        };
        let (id, code) = match outcome {
            Some(SubmitOutcome::Accepted(id)) => (id, NL_SUBMIT_ACCEPTED),
            _ => (0, NL_SUBMIT_IGNORED),
        };
        write(out_order_id, id)?;
        write(out_outcome, code)
    })
}

/// The signed quantity `nl_engine_order_target` would order now (NaN when it
/// would order nothing), without submitting it: trading controls validate it
/// before the order exists.
///
/// # Safety
/// `e` must be a live engine handle; `out_quantity` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_target_quantity(
    e: *mut NlEngine,
    asset: u32,
    target: f64,
    is_percent: bool,
    out_quantity: *mut f64,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "order_target_value() / order_target_percent()")?;
        let quantity = if is_percent {
            eng.target_percent_quantity(asset, target)?
        } else {
            eng.target_value_quantity(asset, target)?
        };
        write(out_quantity, quantity.unwrap_or(f64::NAN))
    })
}

/// Changes a pending order; NaN arguments keep the current value.
/// `out_updated` is 0 if the order was not pending, else 1.
///
/// # Safety
/// `e` must be a live engine handle; `out_updated` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_update_order(
    e: *mut NlEngine,
    order_id: u64,
    quantity: f64,
    limit_price: f64,
    stop_price: f64,
    trail_amount: f64,
    out_updated: *mut u8,
) -> NlStatus {
    guard(|| {
        let update = OrderUpdate {
            quantity: given(quantity),
            limit_price: given(limit_price),
            stop_price: given(stop_price),
            trail_amount: given(trail_amount),
        };
        let done = engine(e, "update_order()")?.update_order(order_id, update)?;
        write(out_updated, u8::from(done))
    })
}

/// Cancels a pending order; `out_cancelled` is 0 if it was not pending, else 1.
///
/// # Safety
/// `e` must be a live engine handle; `out_cancelled` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_cancel_order(e: *mut NlEngine, order_id: u64, out_cancelled: *mut u8) -> NlStatus {
    guard(|| {
        let done = engine(e, "cancel_order()")?.cancel_order(order_id);
        write(out_cancelled, u8::from(done))
    })
}

/// The order with id `order_id` (ids start at 1).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order(e: *mut NlEngine, order_id: u64, out: *mut NlOrder) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading an Order")?;
        let o = eng.order(order_id).ok_or_else(|| EngineError::NotFound(format!("no order with id {order_id}")))?;
        write(out, NlOrder::from(o))
    })
}

/// The rejection reason of an order as a new string (free with `nl_string_free`);
/// null when the order has none.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order_rejection_reason(
    e: *mut NlEngine,
    order_id: u64,
    out: *mut *mut c_char,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading an Order's rejection_reason")?;
        let o = eng.order(order_id).ok_or_else(|| EngineError::NotFound(format!("no order with id {order_id}")))?;
        write(out, o.rejection_reason.as_ref().map_or(std::ptr::null_mut(), |r| into_c_string(&r.to_string())))
    })
}

/// The class of an order's refusal (a `RejectionCode`), -1 when the order has
/// none (ml4t's `Order.rejection_code`).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order_rejection_code(e: *mut NlEngine, order_id: u64, out: *mut i32) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading an Order's rejection_code")?;
        let o = eng.order(order_id).ok_or_else(|| EngineError::NotFound(format!("no order with id {order_id}")))?;
        write(out, o.rejection_reason.as_ref().map_or(-1, |r| r.code() as i32))
    })
}

/// Puts order `order_id` into the one-cancels-other group `group` (0: out
/// of any group): when one order of a group fills completely, the group's
/// other pending orders are cancelled. A bracket's exits are in the group of
/// their entry's id; other groups are ids the caller numbers.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_order_group(e: *mut NlEngine, order_id: u64, group: u64) -> NlStatus {
    guard(|| Ok(engine(e, "setting an Order's parent_id")?.set_order_group(order_id, (group != 0).then_some(group))?))
}

/// The position rule's description of an exit order (e.g. "stop_loss_5.0%"),
/// or null. Free it with `nl_string_free`.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order_exit_detail(e: *mut NlEngine, order_id: u64, out: *mut *mut c_char) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading an order's exit detail")?;
        let o = eng.order(order_id).ok_or_else(|| EngineError::NotFound(format!("no order with id {order_id}")))?;
        write(out, o.extras().exit_detail.as_deref().map_or(std::ptr::null_mut(), into_c_string))
    })
}

/// Writes up to `cap` pending order ids (submission order) into `ids`; `out_n`
/// receives how many were written.
///
/// # Safety
/// `e` must be a live engine handle; `ids` valid for `cap` writes.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_pending_ids(e: *mut NlEngine, ids: *mut u64, cap: usize, out_n: *mut usize) -> NlStatus {
    guard(|| {
        let eng = engine(e, "get_pending_orders()")?;
        let mut n = 0;
        for o in eng.pending_orders().take(cap) {
            ids.add(n).write(o.id);
            n += 1;
        }
        write(out_n, n)
    })
}
