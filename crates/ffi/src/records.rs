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

/// `if !cols.f.is_null() { cols.f.add(i).write(v.f) }` for each field `f`.
macro_rules! scatter {
    ($cols:expr, $i:expr, $v:expr, $($f:ident),+) => {
        $(if !$cols.$f.is_null() {
            $cols.$f.add($i).write($v.$f);
        })+
    };
}

/// One output column per `NlFill` field (same names and types), each valid for
/// as many writes as rows are asked for, or null to skip that field: the
/// result tables are built from these without a `NlFill` per row.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlFillColumns {
    pub order_id: *mut u64,
    pub asset: *mut u32,
    pub side: *mut u32,
    pub quantity: *mut f64,
    pub price: *mut f64,
    pub timestamp: *mut i64,
    pub commission: *mut f64,
    pub slippage: *mut f64,
    pub price_source: *mut u32,
    pub reference_price: *mut f64,
    pub available_size: *mut f64,
    pub bid: *mut f64,
    pub ask: *mut f64,
    pub quote_mid: *mut f64,
    pub bid_size: *mut f64,
    pub ask_size: *mut f64,
    pub is_exit: *mut bool,
    pub order_type: *mut u32,
    pub limit_price: *mut f64,
    pub stop_price: *mut f64,
    pub stop_triggered_at: *mut i64,
    pub exit_reason: *mut u32,
}

impl NlFillColumns {
    /// Writes `v` into row `i` of every column that is not null.
    ///
    /// # Safety
    /// Every non-null column must be valid for writing row `i`.
    unsafe fn put(&self, i: usize, v: &NlFill) {
        scatter!(self, i, v, order_id, asset, side, quantity, price, timestamp, commission, slippage, price_source, reference_price, available_size, bid, ask, quote_mid, bid_size, ask_size, is_exit, order_type, limit_price, stop_price, stop_triggered_at, exit_reason);
    }
}

/// One output column per `NlTrade` field (same names and types), each valid for
/// as many writes as rows are asked for, or null to skip that field: the
/// result tables are built from these without a `NlTrade` per row.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlTradeColumns {
    pub asset: *mut u32,
    pub entry_time: *mut i64,
    pub exit_time: *mut i64,
    pub entry_price: *mut f64,
    pub exit_price: *mut f64,
    pub quantity: *mut f64,
    pub pnl: *mut f64,
    pub pnl_percent: *mut f64,
    pub bars_held: *mut u32,
    pub fees: *mut f64,
    pub entry_slippage: *mut f64,
    pub exit_slippage: *mut f64,
    pub mfe: *mut f64,
    pub mae: *mut f64,
    pub status: *mut u32,
    pub entry_available_size: *mut f64,
    pub exit_available_size: *mut f64,
    pub entry_bid: *mut f64,
    pub entry_ask: *mut f64,
    pub entry_mid: *mut f64,
    pub exit_bid: *mut f64,
    pub exit_ask: *mut f64,
    pub exit_mid: *mut f64,
    pub exit_reason: *mut u32,
    pub exit_order_id: *mut u64,
}

impl NlTradeColumns {
    /// Writes `v` into row `i` of every column that is not null.
    ///
    /// # Safety
    /// Every non-null column must be valid for writing row `i`.
    unsafe fn put(&self, i: usize, v: &NlTrade) {
        scatter!(self, i, v, asset, entry_time, exit_time, entry_price, exit_price, quantity, pnl, pnl_percent, bars_held, fees, entry_slippage, exit_slippage, mfe, mae, status, entry_available_size, exit_available_size, entry_bid, entry_ask, entry_mid, exit_bid, exit_ask, exit_mid, exit_reason, exit_order_id);
    }
}

/// Writes fills `start..` (0-based, execution order; at most `cap`) as columns:
/// row `k` of each column is fill `start + k`, each field as `nl_engine_fill`
/// gives it; `out_n` receives how many rows were written (0 past the end).
/// One pass over the fills, no row struct handed out.
///
/// # Safety
/// `e` must be a live engine handle; `cols` valid for reading, and each of
/// its non-null columns valid for `cap` writes; `out_n` for one.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_fill_columns(e: *mut NlEngine, start: usize, cols: *const NlFillColumns,
                                                cap: usize, out_n: *mut usize) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading fills")?;
        let cols = cols.as_ref().ok_or_else(|| null_error("cols"))?;
        let rest = eng.fills().get(start..).unwrap_or(&[]);
        let n = rest.len().min(cap);
        for (i, f) in rest[..n].iter().enumerate() {
            cols.put(i, &NlFill::from(f));
        }
        write(out_n, n)
    })
}

/// Writes trades `start..` (0-based, closing order; at most `cap`) as columns,
/// as `nl_engine_fill_columns` does for fills; each field as `nl_engine_trade`
/// gives it.
///
/// # Safety
/// `e` must be a live engine handle; `cols` valid for reading, and each of
/// its non-null columns valid for `cap` writes; `out_n` for one.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_trade_columns(e: *mut NlEngine, start: usize, cols: *const NlTradeColumns,
                                                 cap: usize, out_n: *mut usize) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading trades")?;
        let cols = cols.as_ref().ok_or_else(|| null_error("cols"))?;
        let rest = eng.trades().get(start..).unwrap_or(&[]);
        let n = rest.len().min(cap);
        for (i, t) in rest[..n].iter().enumerate() {
            cols.put(i, &NlTrade::from(t));
        }
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
            copy_range(orders, start, out_has_exit_detail, n, |o| o.extras().exit_detail.is_some() as u8)?;
        }
        write(out_n, n)
    })
}

#[cfg(test)]
mod tests {
    use super::{copy_range, NlFillColumns};
    use crate::values::NlFill;

    #[test]
    fn fill_columns_get_their_field_and_null_columns_are_skipped() {
        // Two fills: ids 7 and 8 at 101.5 and 99.25, the second an exit.
        let mut ids = [0u64; 2];
        let mut prices = [0f64; 2];
        let mut exits = [false; 2];
        let null = std::ptr::null_mut();
        let cols = NlFillColumns {
            order_id: ids.as_mut_ptr(), asset: null as _, side: null as _, quantity: null as _,
            price: prices.as_mut_ptr(), timestamp: null as _, commission: null as _, slippage: null as _,
            price_source: null as _, reference_price: null as _, available_size: null as _, bid: null as _,
            ask: null as _, quote_mid: null as _, bid_size: null as _, ask_size: null as _,
            is_exit: exits.as_mut_ptr(), order_type: null as _, limit_price: null as _, stop_price: null as _,
            stop_triggered_at: null as _, exit_reason: null as _,
        };
        let a = NlFill { order_id: 7, price: 101.5, ..NlFill::default() };
        let b = NlFill { order_id: 8, price: 99.25, is_exit: true, ..NlFill::default() };
        unsafe {
            cols.put(0, &a);
            cols.put(1, &b);
        }
        assert_eq!((ids, prices, exits), ([7, 8], [101.5, 99.25], [false, true]));
    }

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
