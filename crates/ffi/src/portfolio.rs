//! Reads of the account and portfolio, and the run's fills, trades and curves.

use nl_core::EngineError;
use crate::error::{guard, NlStatus};
use crate::handles::*;
use crate::values::*;

/// Buying power for new long entries.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_buying_power(e: *mut NlEngine, out: *mut f64) -> NlStatus {
    guard(|| {
        let value = engine(e, "reading the buying power")?.buying_power();
        write(out, value)
    })
}

/// The price `asset`'s position is valued at now (the configured mark on the
/// current bar, else the last close; NaN before the asset's first bar).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_valuation_price(e: *mut NlEngine, asset: u32, out: *mut f64) -> NlStatus {
    guard(|| {
        let e = engine(e, "reading a valuation price")?;
        if asset as usize >= e.market().n_assets() {
            return Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")).into());
        }
        write(out, e.valuation_price(asset))
    })
}

/// Cash, equity (cash + positions at last prices) and the engine's current bar
/// (-1 before the first bar).
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_account(
    e: *mut NlEngine,
    out_cash: *mut f64,
    out_equity: *mut f64,
    out_bar: *mut i64,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "get_cash() / get_account_value()")?;
        write(out_cash, eng.cash())?;
        write(out_equity, eng.equity_now())?;
        write(out_bar, eng.current_bar().map_or(-1, i64::from))
    })
}

/// The last known reference price of `asset` (NaN before its first bar).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_last_price(e: *mut NlEngine, asset: u32, out: *mut f64) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading a last price")?;
        write(out, eng.last_price(asset))
    })
}

/// Writes up to `cap` asset ids of open positions, in the order the positions
/// were opened, into `assets`; `out_n` receives how many were written.
///
/// # Safety
/// `e` must be a live engine handle; `assets` valid for `cap` writes.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_open_positions(
    e: *mut NlEngine,
    assets: *mut u32,
    cap: usize,
    out_n: *mut usize,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "get_positions()")?;
        let mut n = 0;
        for p in eng.positions().take(cap) {
            assets.add(n).write(p.asset);
            n += 1;
        }
        write(out_n, n)
    })
}

/// The position with `serial` once it was closed or reversed, as it stood just
/// before the fill that ended it; `out_found` is 0 while it is still open, or
/// when it was not kept (`nl_engine_keep_when_closed`).
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_closed_position(
    e: *mut NlEngine,
    serial: u64,
    out: *mut NlPosition,
    out_found: *mut u8,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading a closed Position")?;
        match eng.closed_position(serial) {
            Some(p) => {
                write(out, position_struct(p))?;
                write(out_found, 1)
            }
            None => write(out_found, 0),
        }
    })
}

/// Keeps position `serial` so that `nl_engine_closed_position` finds it once
/// it is closed or reversed: a view of it was handed out and must then keep
/// showing its last state. Counted per view; `nl_engine_release_position`
/// undoes one. Positions nobody keeps are not copied when they end. An
/// unknown serial is NotFound.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_keep_when_closed(e: *mut NlEngine, serial: u64) -> NlStatus {
    guard(|| {
        if !engine(e, "keeping a Position")?.keep_when_closed(serial) {
            return Err(EngineError::NotFound(format!("no position with serial {serial}")).into());
        }
        Ok(())
    })
}

/// A view of position `serial` is gone: undoes one `nl_engine_keep_when_closed`
/// (with no view left, its closed copy is freed). NotFound when it was not kept.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_release_position(e: *mut NlEngine, serial: u64) -> NlStatus {
    guard(|| {
        if !engine(e, "releasing a Position")?.release_position(serial) {
            return Err(EngineError::NotFound(format!("position {serial} is not kept")).into());
        }
        Ok(())
    })
}

/// The asset's close on the current bar (NaN if it has no row in it).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_current_price(e: *mut NlEngine, asset: u32, out: *mut f64) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading a current price")?;
        write(out, eng.current_price(asset))
    })
}

/// The asset's current price from `source` (an `EXECUTION_PRICE_*` code;
/// NaN when it has none now). `side`: 1 buy, 2 sell (`ORDER_SIDE_*`), 0
/// none; `use_open` nonzero asks as an open-time pass.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_price_for_source(e: *mut NlEngine, asset: u32, source: u32, side: u32, use_open: u8,
                                                    out: *mut f64) -> NlStatus {
    guard(|| {
        let source = nl_core::ExecutionPrice::try_from(source)?;
        let is_buy = match side {
            0 => None,
            s => Some(nl_core::OrderSide::try_from(s)? == nl_core::OrderSide::Buy),
        };
        let price = engine(e, "reading a price")?.price_for_source(asset, source, is_buy, use_open != 0)?;
        write(out, price)
    })
}

/// The signed quantity held in `asset` (0 when flat): the cheap query a
/// Cython strategy makes per asset and bar.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_position_quantity(e: *mut NlEngine, asset: u32, out: *mut f64) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading a position's quantity")?;
        if asset as usize >= eng.market().n_assets() {
            return Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")).into());
        }
        write(out, eng.position(asset).map_or(0.0, |p| p.quantity))
    })
}

/// The open position in `asset`; `out_found` is 0 when flat, else 1.
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_position(
    e: *mut NlEngine,
    asset: u32,
    out: *mut NlPosition,
    out_found: *mut u8,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "get_position() / reading a Position")?;
        match eng.position(asset) {
            Some(p) => {
                write(out, position_struct(p))?;
                write(out_found, 1)
            }
            None => write(out_found, 0),
        }
    })
}

/// Counts of orders, pending orders, fills and closed trades.
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_counts(
    e: *mut NlEngine,
    out_orders: *mut usize,
    out_pending: *mut usize,
    out_fills: *mut usize,
    out_trades: *mut usize,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading order, fill and trade counts")?;
        write(out_orders, eng.orders().len())?;
        write(out_pending, eng.pending_orders().count())?;
        write(out_fills, eng.fills().len())?;
        write(out_trades, eng.trades().len())
    })
}

/// The `index`-th fill (0-based, in execution order).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_fill(e: *mut NlEngine, index: usize, out: *mut NlFill) -> NlStatus {
    guard(|| {
        let eng = engine(e, "get_fills()")?;
        let f = eng.fills().get(index).ok_or_else(|| EngineError::NotFound(format!("no fill at index {index}")))?;
        write(out, NlFill::from(f))
    })
}

/// The `index`-th closed trade (0-based, in closing order).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_trade(e: *mut NlEngine, index: usize, out: *mut NlTrade) -> NlStatus {
    guard(|| {
        let eng = engine(e, "get_trades()")?;
        let t = eng.trades().get(index).ok_or_else(|| EngineError::NotFound(format!("no trade at index {index}")))?;
        write(out, NlTrade::from(t))
    })
}

/// Borrowed equity, cash and open-position-count curves (one value per completed bar). Valid until
/// the engine steps again or is dropped.
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_curves(
    e: *mut NlEngine,
    out_equity: *mut *const f64,
    out_cash: *mut *const f64,
    out_open_positions: *mut *const u32,
    out_len: *mut usize,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading the equity curve")?;
        write(out_equity, eng.equity_curve().as_ptr())?;
        write(out_cash, eng.cash_curve().as_ptr())?;
        write(out_open_positions, eng.open_positions_curve().as_ptr())?;
        write(out_len, eng.equity_curve().len())
    })
}

/// Gross and net position value at the end of every bar (borrowed, as
/// `nl_engine_curves`; the same length).
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_exposure_curves(
    e: *mut NlEngine,
    out_gross: *mut *const f64,
    out_net: *mut *const f64,
    out_len: *mut usize,
) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading the exposure curves")?;
        write(out_gross, eng.gross_exposure_curve().as_ptr())?;
        write(out_net, eng.net_exposure_curve().as_ptr())?;
        write(out_len, eng.gross_exposure_curve().len())
    })
}
