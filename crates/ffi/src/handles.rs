//! Opaque handles: market data and engine, their lifecycles and live counts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use nl_core::EngineError;
use nl_engine::{Engine, MarketData};
use crate::error::{guard, null_error, NlStatus};
use crate::config::*;

/// Shared, immutable market data. Several engines may hold the same data.
pub struct NlMarketData(pub Arc<MarketData>);

/// Live handle counts. There is one copy of these per process only if every
/// extension links the same Rust library, which the Python tests check.
static LIVE_ENGINES: AtomicUsize = AtomicUsize::new(0);
static LIVE_MARKET_DATA: AtomicUsize = AtomicUsize::new(0);

impl NlMarketData {
    /// Wraps shared data in a new handle (counted until `nl_market_data_drop`).
    pub fn new_handle(md: Arc<MarketData>) -> *mut NlMarketData {
        LIVE_MARKET_DATA.fetch_add(1, Ordering::Relaxed);
        Box::into_raw(Box::new(NlMarketData(md)))
    }
}

/// Numbers of engine and market-data handles not yet dropped.
pub fn live_handles() -> (usize, usize) {
    (LIVE_ENGINES.load(Ordering::Relaxed), LIVE_MARKET_DATA.load(Ordering::Relaxed))
}

/// Writes the numbers of live engine and market-data handles (leak checks).
///
/// # Safety
/// The out pointers must be valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_live_handles(out_engines: *mut usize, out_market_data: *mut usize) -> NlStatus {
    guard(|| {
        let (e, m) = live_handles();
        write(out_engines, e)?;
        write(out_market_data, m)
    })
}

/// One backtest's mutable state. Not thread-safe: use one handle per thread.
pub struct NlEngine(pub(crate) Engine);

/// Borrowed views of the market data columns (valid while the handle lives).
#[repr(C)]
pub struct NlMarketColumns {
    pub n_rows: usize,
    pub n_bars: usize,
    pub n_assets: usize,
    /// `n_bars + 1` row offsets: bar `b` spans rows `bar_starts[b]..bar_starts[b+1]`.
    pub bar_starts: *const usize,
    pub asset: *const u32,
    pub open: *const f64,
    pub high: *const f64,
    pub low: *const f64,
    pub close: *const f64,
    pub volume: *const f64,
}

/// Borrows the engine behind a handle, or fails on null.
///
/// # Safety
/// `e` must be null or a live pointer from `nl_engine_new`.
pub(crate) unsafe fn engine<'a>(e: *mut NlEngine) -> Result<&'a mut Engine, EngineError> {
    e.as_mut().map(|h| &mut h.0).ok_or_else(|| null_error("engine"))
}

/// Writes `v` through `out`, or fails on null.
///
/// # Safety
/// `out` must be null or valid for writing a `T`.
pub(crate) unsafe fn write<T>(out: *mut T, v: T) -> Result<(), EngineError> {
    if out.is_null() {
        return Err(null_error("output"));
    }
    out.write(v);
    Ok(())
}

/// Copies caller-owned columns into new market data (`n_rows` rows, sorted by
/// bar then asset). Prices must be finite and > 0, volumes finite and >= 0.
///
/// # Safety
/// Each pointer must be valid for reading `n_rows` elements (or null when `n_rows` is 0).
#[no_mangle]
pub unsafe extern "C" fn nl_market_data_new(
    n_bars: usize,
    n_assets: usize,
    n_rows: usize,
    bar: *const u32,
    asset: *const u32,
    open: *const f64,
    high: *const f64,
    low: *const f64,
    close: *const f64,
    volume: *const f64,
    out: *mut *mut NlMarketData,
) -> NlStatus {
    guard(|| {
        let slice_u32 = |p: *const u32| -> Result<Vec<u32>, EngineError> {
            if n_rows == 0 { return Ok(Vec::new()) }
            if p.is_null() { return Err(null_error("column")) }
            Ok(std::slice::from_raw_parts(p, n_rows).to_vec())
        };
        let slice_f64 = |p: *const f64| -> Result<Vec<f64>, EngineError> {
            if n_rows == 0 { return Ok(Vec::new()) }
            if p.is_null() { return Err(null_error("column")) }
            Ok(std::slice::from_raw_parts(p, n_rows).to_vec())
        };
        let md = MarketData::from_vecs(
            n_bars, n_assets, slice_u32(bar)?, slice_u32(asset)?, slice_f64(open)?,
            slice_f64(high)?, slice_f64(low)?, slice_f64(close)?, slice_f64(volume)?,
        )?;
        write(out, NlMarketData::new_handle(Arc::new(md)))
    })
}

/// Releases market data. Engines built from it keep their own reference.
///
/// # Safety
/// `md` must be null or come from `nl_market_data_new` (or the Python module) and
/// not have been dropped before.
#[no_mangle]
pub unsafe extern "C" fn nl_market_data_drop(md: *mut NlMarketData) {
    if !md.is_null() {
        // A destructor must not unwind into C; a panic here is recorded and the
        // handle leaked rather than aborting the process.
        let _ = guard(|| {
            drop(Box::from_raw(md));
            LIVE_MARKET_DATA.fetch_sub(1, Ordering::Relaxed);
            Ok(())
        });
    }
}

/// Borrowed pointers to the columns, for zero-copy reading by the data views.
///
/// # Safety
/// `md` must be a live market data handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_market_data_columns(md: *const NlMarketData, out: *mut NlMarketColumns) -> NlStatus {
    guard(|| {
        let md = &md.as_ref().ok_or_else(|| null_error("market data"))?.0;
        write(out, NlMarketColumns {
            n_rows: md.n_rows(),
            n_bars: md.n_bars(),
            n_assets: md.n_assets(),
            bar_starts: md.bar_starts().as_ptr(),
            asset: md.asset_column().as_ptr(),
            open: md.open_column().as_ptr(),
            high: md.high_column().as_ptr(),
            low: md.low_column().as_ptr(),
            close: md.close_column().as_ptr(),
            volume: md.volume_column().as_ptr(),
        })
    })
}

/// Creates an engine over `md` (which it shares, not copies).
///
/// # Safety
/// `cfg` and `md` must be valid; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_new(
    cfg: *const NlEngineConfig,
    md: *const NlMarketData,
    out: *mut *mut NlEngine,
) -> NlStatus {
    guard(|| {
        let cfg = cfg.as_ref().ok_or_else(|| null_error("config"))?.to_engine()?;
        let md = Arc::clone(&md.as_ref().ok_or_else(|| null_error("market data"))?.0);
        let engine = Engine::new(cfg, md)?;
        write(out, Box::into_raw(Box::new(NlEngine(engine))))?;
        LIVE_ENGINES.fetch_add(1, Ordering::Relaxed);
        Ok(())
    })
}

/// Frees an engine. Null is a no-op.
///
/// # Safety
/// `e` must be null or come from `nl_engine_new` and not have been dropped before.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_drop(e: *mut NlEngine) {
    if !e.is_null() {
        let _ = guard(|| {
            drop(Box::from_raw(e));
            LIVE_ENGINES.fetch_sub(1, Ordering::Relaxed);
            Ok(())
        });
    }
}
