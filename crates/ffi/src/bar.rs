//! The bar step: open and close a bar; session dates for DAY orders.

use crate::error::{guard, null_error, NlStatus};
use crate::handles::*;

/// Starts bar `bar` (marks, then NEXT_BAR fills at the open).
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_begin_bar(e: *mut NlEngine, bar: u32) -> NlStatus {
    guard(|| Ok(engine(e, "starting a bar")?.begin_bar(bar)?))
}

/// Ends the current bar (SAME_BAR fills, equity snapshot).
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_end_bar(e: *mut NlEngine) -> NlStatus {
    guard(|| Ok(engine(e, "ending a bar")?.end_bar()?))
}

/// Closes the current bar (SAME_BAR fills, marks, fees, margin, limits)
/// without recording it; `nl_engine_end_bar` then only records it. Between
/// the two the account reads as after the bar's fills (account controls).
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_close_bar(e: *mut NlEngine) -> NlStatus {
    guard(|| Ok(engine(e, "closing a bar")?.close_bar()?))
}

/// Sets each bar's session (trading-day) number, needed by DAY orders.
///
/// # Safety
/// `e` must be a live engine handle; `sessions` valid for `n` reads.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_sessions(e: *mut NlEngine, sessions: *const i64, n: usize) -> NlStatus {
    guard(|| {
        if sessions.is_null() && n > 0 {
            return Err(null_error("sessions").into());
        }
        let v = if n == 0 { Vec::new() } else { std::slice::from_raw_parts(sessions, n).to_vec() };
        Ok(engine(e, "setting the trading sessions")?.set_sessions(v)?)
    })
}
