//! The account across the ABI: margin state, margin calls and borrow fees.

use nl_engine::margin::MarginSchedule;

use crate::error::{guard, NlStatus};
use crate::handles::{engine, write, NlEngine};

/// One margin call (see `nl_engine_margin_call`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlMarginCall {
    /// The time of the close that breached maintenance margin.
    pub timestamp: i64,
    /// Net liquidation value at that close.
    pub equity: f64,
    /// Maintenance margin required at that close.
    pub requirement: f64,
    /// Positions sent to liquidation at the next open.
    pub liquidated: u32,
}

/// Net liquidation value and maintenance requirement at the current marks.
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_margin_state(e: *mut NlEngine, out_equity: *mut f64, out_requirement: *mut f64) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading the margin state")?;
        write(out_equity, eng.net_liquidation_value())?;
        write(out_requirement, eng.maintenance_requirement())
    })
}

/// The number of margin calls so far.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_margin_call_count(e: *mut NlEngine, out: *mut usize) -> NlStatus {
    guard(|| {
        write(out, engine(e, "reading margin calls")?.margin_calls().len())
    })
}

/// Margin call `i` (0-based, in bar order).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_margin_call(e: *mut NlEngine, i: usize, out: *mut NlMarginCall) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading margin calls")?;
        let Some(c) = eng.margin_calls().get(i) else {
            return Err(nl_core::EngineError::NotFound(format!("margin call {i} of {}", eng.margin_calls().len())).into());
        };
        let call = NlMarginCall { timestamp: c.timestamp, equity: c.equity, requirement: c.requirement, liquidated: c.liquidated };
        write(out, call)
    })
}

/// Borrow fees charged per asset: a pointer to `n_assets` values (valid
/// until the next engine call).
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_borrow_fees(e: *mut NlEngine, out_fees: *mut *const f64, out_len: *mut usize) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading borrow fees")?;
        write(out_fees, eng.borrow_fees().as_ptr())?;
        write(out_len, eng.borrow_fees().len())
    })
}

/// Sets `asset`'s contract multiplier (point value); before the first bar only.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_multiplier(e: *mut NlEngine, asset: u32, multiplier: f64) -> NlStatus {
    guard(|| Ok(engine(e, "setting a contract multiplier")?.set_multiplier(asset, multiplier)?))
}

/// Margin schedule kinds for `nl_engine_set_margin_schedule`.
pub const NL_MARGIN_PER_CONTRACT: u32 = 1;
pub const NL_MARGIN_PERCENT_OF_NOTIONAL: u32 = 2;

/// Sets `asset`'s futures-style margin: `kind` NL_MARGIN_PER_CONTRACT (amounts
/// per contract) or NL_MARGIN_PERCENT_OF_NOTIONAL (fractions); before the
/// first bar only.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_margin_schedule(
    e: *mut NlEngine,
    asset: u32,
    kind: u32,
    initial: f64,
    maintenance: f64,
) -> NlStatus {
    guard(|| {
        let schedule = match kind {
            NL_MARGIN_PER_CONTRACT => MarginSchedule::PerContract { initial, maintenance },
            NL_MARGIN_PERCENT_OF_NOTIONAL => MarginSchedule::PercentOfNotional { initial, maintenance },
            _ => return Err(nl_core::EngineError::InvalidArgument(format!("unknown margin schedule kind {kind}")).into()),
        };
        Ok(engine(e, "setting a margin schedule")?.set_margin_schedule(asset, schedule)?)
    })
}

/// Free cash (cash less the notional a LOCK_NOTIONAL account locks for its
/// shorts) and unsettled sale proceeds.
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_cash_detail(e: *mut NlEngine, out_free_cash: *mut f64, out_unsettled: *mut f64) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading free and unsettled cash")?;
        write(out_free_cash, eng.free_cash())?;
        write(out_unsettled, eng.unsettled_cash())
    })
}

/// Undoes what the strategy changed since its bar's callback began (the
/// callback raised): orders, fills, trades, positions, cash and the volume
/// budget go back to where the callback found them. Writes 1 if anything
/// was undone.
///
/// # Safety
/// `e` must be a live engine handle; `out_undone` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_rollback_callback(e: *mut NlEngine, out_undone: *mut u8) -> NlStatus {
    guard(|| {
        let undone = engine(e, "undoing a failed strategy callback")?.rollback_callback();
        write(out_undone, undone as u8)
    })
}

/// The commission the engine would charge the next fill of order
/// `order_id` (`quantity` at `price`), counting what the order already
/// filled and paid (a pre-trade estimate: `broker.gatekeeper`'s quote).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order_commission_quote(e: *mut NlEngine, order_id: u64, quantity: f64, price: f64,
                                                          out: *mut f64) -> NlStatus {
    guard(|| {
        let quote = engine(e, "quoting an order's commission")?.order_commission_estimate(order_id, quantity, price)?;
        write(out, quote)
    })
}
