//! Bulk copies of the run's records (fills, trades, order statuses): one call
//! per table instead of one per row, for the result tables and the strategy
//! event hooks.

use crate::error::{guard, null_error, NlStatus};
use crate::handles::*;
use crate::values::*;

/// Copies the records `start..` (at most `cap`) of `src` into `out`, converted by `convert`;
/// returns how many were written.
unsafe fn copy_range<S, D>(src: &[S], start: usize, out: *mut D, cap: usize, convert: impl Fn(&S) -> D)
    -> Result<usize, nl_core::EngineError> {
    let rest = src.get(start..).unwrap_or(&[]);
    let n = rest.len().min(cap);
    if n == 0 {
        return Ok(0);
    }
    if out.is_null() {
        return Err(null_error("out"));
    }
    for (i, record) in rest[..n].iter().enumerate() {
        out.add(i).write(convert(record));
    }
    Ok(n)
}

/// Writes fills `start..` (0-based, execution order; at most `cap`) into `out`, each as
/// `nl_engine_fill` gives it; `out_n` receives how many were written (0 past the end).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for `cap` writes; `out_n` for one.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_fills_range(e: *mut NlEngine, start: usize, out: *mut NlFill, cap: usize,
                                               out_n: *mut usize) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading fills")?;
        let n = copy_range(eng.fills(), start, out, cap, |f| NlFill::from(f))?;
        write(out_n, n)
    })
}

/// Writes trades `start..` (0-based, closing order; at most `cap`) into `out`, each as
/// `nl_engine_trade` gives it; `out_n` receives how many were written (0 past the end).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for `cap` writes; `out_n` for one.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_trades_range(e: *mut NlEngine, start: usize, out: *mut NlTrade, cap: usize,
                                                out_n: *mut usize) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading trades")?;
        let n = copy_range(eng.trades(), start, out, cap, |t| NlTrade::from(t))?;
        write(out_n, n)
    })
}

/// Writes the `OrderStatus` code of orders with ids `first_id..` (ids start at 1;
/// at most `cap`) into `out_status`, and into `out_has_exit_detail` (when not null)
/// whether a position rule sent each one; `out_n` receives how many were written.
///
/// # Safety
/// `e` must be a live engine handle; `out_status` (and `out_has_exit_detail`
/// unless null) valid for `cap` writes; `out_n` for one.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order_statuses(e: *mut NlEngine, first_id: u64, out_status: *mut u32,
                                                  out_has_exit_detail: *mut u8, cap: usize,
                                                  out_n: *mut usize) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading order states")?;
        let orders = eng.orders();
        let start = first_id.max(1) as usize - 1;
        // The two fields only: a whole NlOrder per order would be built for one field.
        let n = copy_range(orders, start, out_status, cap, |o| o.status as u32)?;
        if !out_has_exit_detail.is_null() {
            copy_range(orders, start, out_has_exit_detail, n, |o| o.exit_detail.is_some() as u8)?;
        }
        write(out_n, n)
    })
}

#[cfg(test)]
mod tests {
    use super::copy_range;

    #[test]
    fn copies_the_requested_window_and_stops_at_the_end() {
        let src = [1u32, 2, 3, 4, 5];
        let mut out = [0u64; 4];
        let n = unsafe { copy_range(&src, 1, out.as_mut_ptr(), 3, |&v| v as u64 * 10) }.unwrap();
        assert_eq!((n, out), (3, [20, 30, 40, 0]));
        let n = unsafe { copy_range(&src, 3, out.as_mut_ptr(), 4, |&v| v as u64) }.unwrap();
        assert_eq!((n, &out[..2]), (2, &[4, 5][..]));
        let n = unsafe { copy_range(&src, 9, std::ptr::null_mut::<u64>(), 4, |&v| v as u64) }.unwrap();
        assert_eq!(n, 0);
        assert!(unsafe { copy_range(&src, 0, std::ptr::null_mut::<u64>(), 4, |&v| v as u64) }.is_err());
    }
}
