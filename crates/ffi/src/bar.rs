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

/// Turns on `CancelPolicy.SESSION_END`: per bar, the close (ns) of its
/// exchange session (after `nl_engine_set_sessions`).
///
/// # Safety
/// `e` must be a live engine handle; `closes` valid for `n` reads.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_session_closes(e: *mut NlEngine, closes: *const i64, n: usize) -> NlStatus {
    guard(|| {
        if closes.is_null() && n > 0 {
            return Err(null_error("closes").into());
        }
        let v = if n == 0 { Vec::new() } else { std::slice::from_raw_parts(closes, n).to_vec() };
        Ok(engine(e, "setting the session closes")?.set_session_closes(v)?)
    })
}

/// Marks, per bar, whether it lies inside an exchange session
/// (`enforce_sessions`; 0 = outside): see `nl_engine_begin_session_bar`.
///
/// # Safety
/// `e` must be a live engine handle; `mask` valid for `n` reads.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_session_mask(e: *mut NlEngine, mask: *const u8, n: usize) -> NlStatus {
    guard(|| {
        if mask.is_null() && n > 0 {
            return Err(null_error("mask").into());
        }
        let v = if n == 0 { Vec::new() } else { std::slice::from_raw_parts(mask, n).iter().map(|&m| m != 0).collect() };
        Ok(engine(e, "setting the session mask")?.set_session_mask(v)?)
    })
}

/// Starts bar `bar` as `nl_engine_begin_bar` does and writes 1 to `traded`,
/// or passes over a bar outside the exchange sessions and writes 0 (the
/// caller then skips the strategy and does not end the bar).
///
/// # Safety
/// `e` must be a live engine handle; `traded` writable.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_begin_session_bar(e: *mut NlEngine, bar: u32, traded: *mut u8) -> NlStatus {
    guard(|| {
        let t = engine(e, "starting a bar")?.begin_session_bar(bar)?;
        Ok(write(traded, u8::from(t))?)
    })
}

/// How many bars `nl_engine_begin_session_bar` passed over.
///
/// # Safety
/// `e` must be a live engine handle; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_skipped_bars(e: *mut NlEngine, out: *mut usize) -> NlStatus {
    guard(|| {
        let n = engine(e, "reading the skipped bars")?.skipped_bars();
        Ok(write(out, n)?)
    })
}
