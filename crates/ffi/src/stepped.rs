//! A standalone broker's engine, driven step by step (ml4t-backtest's
//! `Broker(...)` with `_update_time`, `_process_orders`, ...): see
//! `nl_engine::kernel` stepped.rs.

use nl_core::{Position, Quote};
use nl_engine::market::Bar;
use nl_engine::Engine;

use crate::config::NlEngineConfig;
use crate::error::{guard, null_error, NlStatus};
use crate::handles::*;
use crate::values::NlPosition;

/// One asset's marks for a step (NaN where a value is unknown; open, high,
/// low and close must be finite, volume finite and >= 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlMark {
    pub asset: u32,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub vwap: f64,
    pub bid: f64,
    pub ask: f64,
    pub mid: f64,
    pub bid_size: f64,
    pub ask_size: f64,
    /// The reference price (marks, PRICE fills, position rules) when it is
    /// not the close; NaN: the close.
    pub price: f64,
}

/// Creates an engine with no assets for a standalone broker (`quotes`
/// nonzero keeps VWAP/bid/ask columns).
///
/// # Safety
/// `cfg` must be valid; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_new_stepped(cfg: *const NlEngineConfig, quotes: u8, out: *mut *mut NlEngine) -> NlStatus {
    guard(|| {
        let cfg = cfg.as_ref().ok_or_else(|| null_error("config"))?.to_engine()?;
        write(out, new_engine_handle(Engine::stepped(cfg, quotes != 0)?))
    })
}

/// Adds `n` assets; writes the first new asset's id.
///
/// # Safety
/// `e` must be a live engine handle; `out_first` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_add_assets(e: *mut NlEngine, n: u32, out_first: *mut u32) -> NlStatus {
    guard(|| {
        let first = engine(e, "adding assets")?.add_assets(n as usize)?;
        write(out_first, first)
    })
}

/// Moves to a new bar at `timestamp` (ns, later than the last) marked by
/// `marks` (`n` of them); nothing fills until `nl_engine_step_process_orders`.
///
/// # Safety
/// `e` must be a live engine handle; `marks` valid for `n` reads (or null when 0).
#[no_mangle]
pub unsafe extern "C" fn nl_engine_step_to(e: *mut NlEngine, timestamp: i64, marks: *const NlMark, n: usize) -> NlStatus {
    guard(|| {
        if marks.is_null() && n > 0 {
            return Err(null_error("marks").into());
        }
        let marks = if n == 0 { &[][..] } else { std::slice::from_raw_parts(marks, n) };
        let rows: Vec<_> = marks.iter().map(|m| (m.asset, Bar {
            open: m.open, high: m.high, low: m.low, close: m.close, volume: m.volume, vwap: m.vwap,
            price: if m.price.is_nan() { m.close } else { m.price },
            bid: m.bid, ask: m.ask, mid: m.mid, bid_size: m.bid_size, ask_size: m.ask_size,
        })).collect();
        engine(e, "moving to a new bar")?.step_to(timestamp, &rows)?;
        Ok(())
    })
}

/// Matches pending orders now: at the open when `use_open` is nonzero, else
/// at the execution price.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_step_process_orders(e: *mut NlEngine, use_open: u8) -> NlStatus {
    guard(|| Ok(engine(e, "processing orders")?.step_process_orders(use_open != 0)?))
}

/// Evaluates position rules now (their exits are queued).
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_step_position_rules(e: *mut NlEngine) -> NlStatus {
    guard(|| Ok(engine(e, "evaluating position rules")?.step_position_rules()?))
}

/// Moves water marks and excursions by the current bar.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_step_water_marks(e: *mut NlEngine) -> NlStatus {
    guard(|| Ok(engine(e, "updating water marks")?.step_water_marks()?))
}

/// Sets `asset`'s position by hand from `p` (its serial and asset are
/// ignored; cash untouched). A zero quantity removes it.
///
/// # Safety
/// `e` must be a live engine handle; `p` valid for reading.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_put_position(e: *mut NlEngine, asset: u32, p: *const NlPosition) -> NlStatus {
    guard(|| {
        let p = p.as_ref().ok_or_else(|| null_error("position"))?;
        let position = Position {
            serial: 0,
            asset,
            quantity: p.quantity,
            entry_price: p.entry_price,
            entry_time: p.entry_time,
            current_price: p.current_price,
            entry_commission: p.entry_commission,
            entry_slippage: p.entry_slippage,
            bars_held: p.bars_held,
            high_water_mark: p.high_water_mark,
            low_water_mark: p.low_water_mark,
            max_favorable_excursion: p.max_favorable_excursion,
            max_adverse_excursion: p.max_adverse_excursion,
            initial_quantity: p.initial_quantity,
            entry_available_size: p.entry_available_size,
            entry_quote: Quote { bid: p.entry_bid, ask: p.entry_ask, mid: p.entry_mid },
            signal_price: f64::NAN,
            cost_basis: p.cost_basis,
        };
        Ok(engine(e, "setting a position by hand")?.put_position(asset, position)?)
    })
}

/// Removes `asset`'s position by hand; writes 1 if it had one.
///
/// # Safety
/// `e` must be a live engine handle; `out_removed` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_remove_position(e: *mut NlEngine, asset: u32, out_removed: *mut u8) -> NlStatus {
    guard(|| {
        let removed = engine(e, "removing a position by hand")?.remove_position(asset)?;
        write(out_removed, removed as u8)
    })
}

/// Sets a standalone broker's cash by hand.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_cash(e: *mut NlEngine, cash: f64) -> NlStatus {
    guard(|| Ok(engine(e, "setting cash by hand")?.set_cash(cash)?))
}
