//! Opaque handles: market data and engine, their lifecycles and live counts.

use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use nl_core::EngineError;
use nl_engine::{Engine, MarketData};
use crate::error::{guard, null_error, FfiError, NlStatus};
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
///
/// Every export borrows the engine through [`engine`], which sets `busy` for
/// the duration of the call. While the engine runs a Python callback (a
/// position rule, a commission or slippage model) that callback may call back
/// into the C ABI; the flag turns such a call into `NlStatus::Busy` (or, for
/// position-context writes and rule-memory resets, a deferred change) instead
/// of a second `&mut Engine`.
pub struct NlEngine {
    engine: UnsafeCell<Engine>,
    busy: Cell<bool>,
    /// Set when a change was deferred, so that the end of a call (every
    /// attribute read of an order is one) looks at the queue only then.
    deferred: Cell<bool>,
    /// Shared with the callback wrappers the engine holds (see `CallbackScope`).
    pub(crate) scope: Arc<CallbackScope>,
}

/// A change asked for while the engine was busy, applied when it is free.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Deferred {
    Context { asset: u32, serial: u64, key: u32, value: Option<f64> },
    ResetRuleMemory { slot: u32 },
}

/// What the callbacks an engine runs share with its handle: which callback is
/// running (for the refusal message) and the changes deferred meanwhile.
/// A mutex, not a `Cell`, because the callback wrappers must be `Sync`; it is
/// touched once per callback and per deferred change, never on a plain read.
#[derive(Default)]
pub(crate) struct CallbackScope {
    state: Mutex<ScopeState>,
}

#[derive(Default)]
struct ScopeState {
    running: Option<&'static str>,
    deferred: Vec<Deferred>,
}

impl CallbackScope {
    fn lock(&self) -> std::sync::MutexGuard<'_, ScopeState> {
        // Nothing panics while holding the lock; a poisoned one is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` (a call into Python) with `what` ("a commission model")
    /// recorded as the running callback, for the message of a refused call.
    pub(crate) fn running<R>(&self, what: &'static str, f: impl FnOnce() -> R) -> R {
        let before = std::mem::replace(&mut self.lock().running, Some(what));
        struct Restore<'a>(&'a CallbackScope, Option<&'static str>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.lock().running = self.1;
            }
        }
        let _restore = Restore(self, before);
        f()
    }

    pub(crate) fn defer(&self, change: Deferred) {
        self.lock().deferred.push(change);
    }

    /// Removes and returns the deferred context writes to `asset`'s position
    /// `serial` (a rule's writes to the position it is evaluating).
    pub(crate) fn take_context_writes(&self, asset: u32, serial: u64) -> Vec<(u32, Option<f64>)> {
        let mut st = self.lock();
        let mut taken = Vec::new();
        st.deferred.retain(|d| match *d {
            Deferred::Context { asset: a, serial: s, key, value } if a == asset && s == serial => {
                taken.push((key, value));
                false
            }
            _ => true,
        });
        taken
    }

    fn take_deferred(&self) -> Vec<Deferred> {
        std::mem::take(&mut self.lock().deferred)
    }

    fn running_callback(&self) -> Option<&'static str> {
        self.lock().running
    }
}

impl NlEngine {
    pub(crate) fn new(engine: Engine) -> Self {
        NlEngine { engine: UnsafeCell::new(engine), busy: Cell::new(false), deferred: Cell::new(false), scope: Arc::default() }
    }

    /// Borrows the engine for one call named `op`, or refuses when it is
    /// already borrowed (a callback calling back in).
    ///
    /// Reads are refused too: the outer call holds `&mut Engine` across the
    /// callback, so even a shared reference would alias it. Nothing in the
    /// engine is safe to read mid-mutation (a fill may be half booked), so
    /// there is no "shared read while a callback runs" mode; a callback that
    /// needs the account reads it in `on_data` beforehand.
    pub(crate) fn borrow(&self, op: &'static str) -> Result<EngineGuard<'_>, FfiError> {
        if self.busy.replace(true) {
            return Err(self.busy_error(op));
        }
        Ok(EngineGuard { handle: self })
    }

    /// Queues `change` until the running call returns (see `Deferred`).
    pub(crate) fn defer(&self, change: Deferred) {
        self.scope.defer(change);
        self.deferred.set(true);
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.busy.get()
    }

    pub(crate) fn busy_error(&self, op: &'static str) -> FfiError {
        FfiError::Busy(match self.scope.running_callback() {
            Some(cb) => format!("engine is busy evaluating a callback: {op} cannot be called from inside {cb}"),
            None => format!("engine is busy with another call: {op} cannot be called now"),
        })
    }
}

/// The one live borrow of an engine (RAII): clears the busy flag when dropped,
/// after applying what callbacks deferred during the call.
pub(crate) struct EngineGuard<'a> {
    handle: &'a NlEngine,
}

impl std::ops::Deref for EngineGuard<'_> {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        // SAFETY: the busy flag makes this guard the only borrow of the engine.
        unsafe { &*self.handle.engine.get() }
    }
}

impl std::ops::DerefMut for EngineGuard<'_> {
    fn deref_mut(&mut self) -> &mut Engine {
        // SAFETY: as for `deref`; `&mut self` keeps this the only reference.
        unsafe { &mut *self.handle.engine.get() }
    }
}

impl Drop for EngineGuard<'_> {
    // Inline: every export ends here, and the common case is one flag read.
    #[inline]
    fn drop(&mut self) {
        // During a panic the engine may be half updated: leave the changes
        // queued rather than run engine code while unwinding.
        if self.handle.deferred.get() && !std::thread::panicking() {
            self.apply_deferred();
        }
        self.handle.busy.set(false);
    }
}

impl EngineGuard<'_> {
    /// Applies what callbacks deferred during the call (the rare path of `drop`).
    #[cold]
    #[inline(never)]
    fn apply_deferred(&mut self) {
        self.handle.deferred.set(false);
        for change in self.handle.scope.take_deferred() {
            // A deferred change has no caller left to report to: a write to
            // a position closed meanwhile is dropped, as the direct call
            // would have reported "not applied".
            let _ = match change {
                Deferred::Context { asset, serial, key, value } => {
                    self.set_position_context(asset, serial, key, value).map(drop)
                }
                Deferred::ResetRuleMemory { slot } => {
                    self.reset_rule_memory(slot);
                    Ok(())
                }
            };
        }
    }
}

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
    /// `n_bars` bar times (nanoseconds since the epoch, UTC; a feed without
    /// dates numbers its bars 0, 1, 2, ...): the clock of every time the
    /// value structs carry.
    pub timestamps: *const i64,
    /// The reference prices (ml4t's `price_col`): the `close` pointer itself
    /// unless the feed names another price column.
    pub price: *const f64,
}

/// The handle behind a pointer, or fails on null.
///
/// # Safety
/// `e` must be null or a live pointer from `nl_engine_new`.
pub(crate) unsafe fn handle<'a>(e: *mut NlEngine) -> Result<&'a NlEngine, EngineError> {
    e.as_ref().ok_or_else(|| null_error("engine"))
}

/// Borrows the engine behind a handle for the call `op` (its name in the
/// refusal message), or fails on null or when the engine is busy.
///
/// # Safety
/// `e` must be null or a live pointer from `nl_engine_new`.
pub(crate) unsafe fn engine<'a>(e: *mut NlEngine, op: &'static str) -> Result<EngineGuard<'a>, FfiError> {
    Ok(handle(e)?.borrow(op)?)
}

/// Writes `v` through `out`, or fails on null.
///
/// # Safety
/// `out` must be null or valid for writing a `T`.
pub(crate) unsafe fn write<T>(out: *mut T, v: T) -> Result<(), FfiError> {
    if out.is_null() {
        return Err(null_error("output").into());
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
            timestamps: md.timestamps().as_ptr(),
            price: md.price_column().as_ptr(),
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
        write(out, new_engine_handle(Engine::new(cfg, md)?))
    })
}

/// Wraps `engine` in a new handle (counted until `nl_engine_drop`).
pub(crate) fn new_engine_handle(engine: Engine) -> *mut NlEngine {
    LIVE_ENGINES.fetch_add(1, Ordering::Relaxed);
    Box::into_raw(Box::new(NlEngine::new(engine)))
}

/// Frees an engine. Null is a no-op.
///
/// # Safety
/// `e` must be null or come from `nl_engine_new` and not have been dropped before.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_drop(e: *mut NlEngine) {
    if !e.is_null() {
        let _ = guard(|| {
            // Freeing an engine from inside one of its own callbacks would pull
            // it from under the running call: leak it instead (and say so).
            if (*e).is_busy() {
                return Err((*e).busy_error("dropping the engine"));
            }
            drop(Box::from_raw(e));
            LIVE_ENGINES.fetch_sub(1, Ordering::Relaxed);
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nl_engine::EngineConfig;

    /// One asset, one bar at 10.
    fn handle() -> NlEngine {
        let md = MarketData::from_vecs(1, 1, vec![0], vec![0], vec![10.0], vec![10.0], vec![10.0], vec![10.0], vec![0.0])
            .expect("market data");
        NlEngine::new(Engine::new(EngineConfig::default(), Arc::new(md)).expect("engine"))
    }

    fn busy_message(r: Result<EngineGuard<'_>, FfiError>) -> String {
        match r {
            Err(FfiError::Busy(m)) => m,
            Err(FfiError::Engine(e)) => panic!("expected Busy, got {e}"),
            Ok(_) => panic!("expected Busy, got a second borrow"),
        }
    }

    #[test]
    fn a_second_borrow_is_refused_until_the_first_ends() {
        let h = handle();
        let g = h.borrow("starting a bar").expect("first borrow");
        assert!(h.is_busy());
        let msg = busy_message(h.borrow("get_cash() / get_account_value()"));
        assert_eq!(msg, "engine is busy with another call: get_cash() / get_account_value() cannot be called now");
        drop(g);
        assert!(!h.is_busy());
        assert_eq!(h.borrow("get_cash() / get_account_value()").expect("free again").cash(), 100_000.0);
    }

    #[test]
    fn the_refusal_names_the_running_callback() {
        let h = handle();
        let _g = h.borrow("starting a bar").expect("first borrow");
        let msg = h.scope.running("a commission model", || busy_message(h.borrow("get_cash() / get_account_value()")));
        assert_eq!(
            msg,
            "engine is busy evaluating a callback: get_cash() / get_account_value() cannot be called from inside a commission model"
        );
        // Nested callbacks restore the outer one; none is running afterwards.
        h.scope.running("a position rule", || {
            h.scope.running("a slippage model", || ());
            assert_eq!(h.scope.running_callback(), Some("a position rule"));
        });
        assert_eq!(h.scope.running_callback(), None);
    }

    #[test]
    fn a_panic_inside_a_borrow_releases_it() {
        let h = handle();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = h.borrow("starting a bar").expect("borrow");
            panic!("engine bug");
        }));
        assert!(r.is_err());
        assert!(!h.is_busy());
        assert!(h.borrow("reading an Order").is_ok());
    }

    #[test]
    fn an_engine_is_not_freed_from_inside_one_of_its_calls() {
        let e = Box::into_raw(Box::new(handle()));
        LIVE_ENGINES.fetch_add(1, Ordering::Relaxed);
        unsafe {
            let g = (*e).borrow("starting a bar").expect("borrow");
            nl_engine_drop(e); // refused: the handle stays valid
            assert_eq!(g.cash(), 100_000.0);
            drop(g);
            nl_engine_drop(e);
        }
    }

    #[test]
    fn deferred_writes_for_the_evaluated_position_are_taken_others_stay() {
        let h = handle();
        h.scope.defer(Deferred::Context { asset: 0, serial: 3, key: 1, value: Some(2.5) });
        h.scope.defer(Deferred::Context { asset: 0, serial: 4, key: 1, value: Some(9.0) });
        h.scope.defer(Deferred::ResetRuleMemory { slot: 2 });
        h.scope.defer(Deferred::Context { asset: 0, serial: 3, key: 2, value: None });
        assert_eq!(h.scope.take_context_writes(0, 3), vec![(1, Some(2.5)), (2, None)]);
        assert_eq!(
            h.scope.take_deferred(),
            vec![Deferred::Context { asset: 0, serial: 4, key: 1, value: Some(9.0) }, Deferred::ResetRuleMemory { slot: 2 }]
        );
        // The guard's drop applies what is queued (a write to a position that
        // is not open changes nothing) and frees the engine.
        h.defer(Deferred::Context { asset: 0, serial: 4, key: 1, value: Some(9.0) });
        drop(h.borrow("starting a bar").expect("borrow"));
        assert!(h.scope.take_deferred().is_empty());
        assert!(!h.is_busy());
    }
}
