//! Opaque handles (market data, engine) and the value structs that cross the ABI.

use std::ffi::c_char;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nl_core::{
    CancelReason, ConditionalOrderMode, EngineError, EntryOrderPriority, ExecutionMode, ExecutionPrice, ExitReason, Fill,
    FillOrdering, InitialHwmSource, StopFillMode, StopLevelBasis, TrailStopTiming, WaterMarkSource,
    LimitGapFill, Order, OrderSide, OrderStatus, OrderType, Position, ShareType, TimeInForce, Trade, TradeStatus,
};
use nl_engine::account::ShortCashPolicy;
use nl_engine::{Engine, EngineConfig, MarketData, OrderRequest, OrderUpdate, SubmitOutcome};

use crate::error::{guard, into_c_string, null_error, NlStatus};

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

/// Engine settings; enum fields carry the integer codes of the core enums.
/// Costs are set separately (`nl_engine_set_commission`, `nl_engine_set_slippage`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlEngineConfig {
    pub initial_cash: f64,
    pub execution_mode: u32,
    pub execution_price: u32,
    pub share_type: u32,
    pub allow_short_selling: bool,
    /// A `ConditionalOrderMode` code.
    pub conditional_order_mode: u32,
    /// A `LimitGapFill` code.
    pub limit_gap_fill: u32,
    /// A `FillOrdering` code.
    pub fill_ordering: u32,
    /// An `EntryOrderPriority` code.
    pub entry_order_priority: u32,
    /// An `ExecutionPrice` code: what positions are marked at.
    pub mark_price: u32,
    /// Fill the affordable part of an entry cash cannot fully pay for.
    pub partial_fills_allowed: bool,
    /// A `StopFillMode` code.
    pub stop_fill_mode: u32,
    /// A `StopLevelBasis` code.
    pub stop_level_basis: u32,
    pub stop_slippage_rate: f64,
    /// A `TrailStopTiming` code.
    pub trail_stop_timing: u32,
    pub cash_buffer_pct: f64,
    pub reject_on_insufficient_cash: bool,
    pub skip_cash_validation: bool,
    /// A `WaterMarkSource` code.
    pub trail_hwm_source: u32,
    pub trail_include_entry_bar_extremes: bool,
    /// An `InitialHwmSource` code.
    pub initial_hwm_source: u32,
    /// A margin account (entries limited by buying power).
    pub allow_leverage: bool,
    pub initial_margin: f64,
    pub long_maintenance_margin: f64,
    pub short_maintenance_margin: f64,
    /// A `ShortCashPolicy` code (0 credit, 1 credit_proceeds, 2 lock_notional).
    pub short_cash_policy: u32,
    /// Bars until sale proceeds are spendable.
    pub settlement_delay: u32,
    pub settlement_reduces_buying_power: bool,
    /// SAME_BAR market orders fill inside the submit call.
    pub immediate_fill: bool,
    /// Liquidate (largest loss first) when equity breaks maintenance margin.
    pub enforce_margin_calls: bool,
    /// Annual borrow fee rate on short market value (ACT/365 per bar).
    pub borrow_rate: f64,
    /// NEXT_BAR market/MOC orders are checked against cash when submitted.
    pub next_bar_submission_precheck: bool,
    /// Backtrader's simplified cash check at the open.
    pub next_bar_simple_cash_check: bool,
    /// LEAN's shadow-account validation of the queue at the open.
    pub next_bar_queue_shadow_validation: bool,
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
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlOrder {
    pub id: u64,
    pub asset: u32,
    pub side: u32,
    pub order_type: u32,
    pub status: u32,
    pub quantity: f64,
    pub requested_quantity: f64,
    /// NaN when the order has no such price.
    pub limit_price: f64,
    pub stop_price: f64,
    pub trail_amount: f64,
    /// -1 until a stop (or stop-limit) triggers.
    pub stop_triggered_bar: i64,
    pub created_bar: u32,
    /// -1 until the order fills.
    pub filled_bar: i64,
    /// NaN until the order fills.
    pub filled_price: f64,
    pub filled_quantity: f64,
    pub commission: f64,
    pub has_rejection_reason: bool,
    /// The bracket entry's id, 0 when none.
    pub parent_id: u64,
    /// A `TimeInForce` code.
    pub time_in_force: u32,
    /// A `CancelReason` code, -1 unless cancelled.
    pub cancel_reason: i32,
    /// -1 unless cancelled during a bar.
    pub cancelled_bar: i64,
    /// An `ExitReason` code.
    pub exit_reason: u32,
    /// True when a position rule sent the order (see `nl_engine_order_exit_detail`).
    pub has_exit_detail: bool,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlFill {
    pub order_id: u64,
    pub asset: u32,
    pub side: u32,
    pub quantity: f64,
    pub price: f64,
    pub bar: u32,
    pub commission: f64,
    /// Per unit.
    pub slippage: f64,
    /// An `ExecutionPrice` code.
    pub price_source: u32,
    pub reference_price: f64,
    pub available_size: f64,
    /// Quotes of the fill bar (NaN when the feed has none).
    pub bid: f64,
    pub ask: f64,
    pub quote_mid: f64,
    pub bid_size: f64,
    pub ask_size: f64,
    /// True when the fill reduced, closed or reversed a position.
    pub is_exit: bool,
    /// An `OrderType` code.
    pub order_type: u32,
    /// NaN when the order has no such price.
    pub limit_price: f64,
    pub stop_price: f64,
    /// -1 when no stop triggered.
    pub stop_triggered_bar: i64,
    /// An `ExitReason` code (meaningful when `is_exit`).
    pub exit_reason: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlPosition {
    /// Unique per opened position.
    pub serial: u64,
    pub asset: u32,
    pub quantity: f64,
    pub entry_price: f64,
    pub entry_bar: u32,
    pub bars_held: u32,
    pub entry_commission: f64,
    /// Average per-unit entry slippage.
    pub entry_slippage: f64,
    pub high_water_mark: f64,
    pub low_water_mark: f64,
    pub max_favorable_excursion: f64,
    pub max_adverse_excursion: f64,
    pub initial_quantity: f64,
    pub entry_available_size: f64,
    /// The opening fill's quotes (NaN without quotes).
    pub entry_bid: f64,
    pub entry_ask: f64,
    pub entry_mid: f64,
    /// The position's latest mark.
    pub current_price: f64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlTrade {
    pub asset: u32,
    pub entry_bar: u32,
    pub exit_bar: u32,
    pub entry_price: f64,
    pub exit_price: f64,
    pub quantity: f64,
    pub pnl: f64,
    pub pnl_percent: f64,
    pub bars_held: u32,
    pub fees: f64,
    pub entry_slippage: f64,
    pub exit_slippage: f64,
    pub mfe: f64,
    pub mae: f64,
    /// A `TradeStatus` code.
    pub status: u32,
    pub entry_available_size: f64,
    pub exit_available_size: f64,
    /// Entry and exit fills' quotes (NaN without quotes).
    pub entry_bid: f64,
    pub entry_ask: f64,
    pub entry_mid: f64,
    pub exit_bid: f64,
    pub exit_ask: f64,
    pub exit_mid: f64,
    /// An `ExitReason` code.
    pub exit_reason: u32,
    /// The order whose fill closed or reduced the position.
    pub exit_order_id: u64,
}

/// Outcome codes of `nl_engine_submit_order`.
pub const NL_SUBMIT_ACCEPTED: u32 = 0;
/// The quantity was (practically) zero: no order was created.
pub const NL_SUBMIT_IGNORED: u32 = 1;

impl NlEngineConfig {
    fn to_engine(self) -> Result<EngineConfig, EngineError> {
        Ok(EngineConfig {
            initial_cash: self.initial_cash,
            execution_mode: ExecutionMode::try_from(self.execution_mode)?,
            execution_price: ExecutionPrice::try_from(self.execution_price)?,
            share_type: ShareType::try_from(self.share_type)?,
            allow_short_selling: self.allow_short_selling,
            conditional_order_mode: ConditionalOrderMode::try_from(self.conditional_order_mode)?,
            limit_gap_fill: LimitGapFill::try_from(self.limit_gap_fill)?,
            fill_ordering: FillOrdering::try_from(self.fill_ordering)?,
            entry_order_priority: EntryOrderPriority::try_from(self.entry_order_priority)?,
            mark_price: ExecutionPrice::try_from(self.mark_price)?,
            partial_fills_allowed: self.partial_fills_allowed,
            stop_fill_mode: StopFillMode::try_from(self.stop_fill_mode)?,
            stop_level_basis: StopLevelBasis::try_from(self.stop_level_basis)?,
            stop_slippage_rate: self.stop_slippage_rate,
            trail_stop_timing: TrailStopTiming::try_from(self.trail_stop_timing)?,
            cash_buffer_pct: self.cash_buffer_pct,
            reject_on_insufficient_cash: self.reject_on_insufficient_cash,
            skip_cash_validation: self.skip_cash_validation,
            trail_hwm_source: WaterMarkSource::try_from(self.trail_hwm_source)?,
            trail_include_entry_bar_extremes: self.trail_include_entry_bar_extremes,
            initial_hwm_source: InitialHwmSource::try_from(self.initial_hwm_source)?,
            allow_leverage: self.allow_leverage,
            initial_margin: self.initial_margin,
            long_maintenance_margin: self.long_maintenance_margin,
            short_maintenance_margin: self.short_maintenance_margin,
            short_cash_policy: ShortCashPolicy::try_from(self.short_cash_policy)?,
            settlement_delay: self.settlement_delay,
            settlement_reduces_buying_power: self.settlement_reduces_buying_power,
            immediate_fill: self.immediate_fill,
            enforce_margin_calls: self.enforce_margin_calls,
            borrow_rate: self.borrow_rate,
            next_bar_submission_precheck: self.next_bar_submission_precheck,
            next_bar_simple_cash_check: self.next_bar_simple_cash_check,
            next_bar_queue_shadow_validation: self.next_bar_queue_shadow_validation,
            ..EngineConfig::default()
        })
    }
}

fn opt_nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

impl From<&Order> for NlOrder {
    fn from(o: &Order) -> Self {
        NlOrder {
            id: o.id,
            asset: o.asset,
            side: o.side as u32,
            order_type: o.order_type as u32,
            status: o.status as u32,
            quantity: o.quantity,
            requested_quantity: o.requested_quantity,
            limit_price: opt_nan(o.limit_price),
            stop_price: opt_nan(o.stop_price),
            trail_amount: opt_nan(o.trail_amount),
            stop_triggered_bar: o.stop_triggered_bar.map_or(-1, i64::from),
            created_bar: o.created_bar,
            filled_bar: o.filled_bar.map_or(-1, i64::from),
            filled_price: opt_nan(o.filled_price),
            filled_quantity: o.filled_quantity,
            commission: o.commission,
            has_rejection_reason: o.rejection_reason.is_some(),
            parent_id: o.parent_id.unwrap_or(0),
            time_in_force: o.time_in_force as u32,
            cancel_reason: o.cancel_reason.map_or(-1, |r| r as i32),
            cancelled_bar: o.cancelled_bar.map_or(-1, i64::from),
            exit_reason: o.exit_reason as u32,
            has_exit_detail: o.exit_detail.is_some(),
        }
    }
}

impl From<&Fill> for NlFill {
    fn from(f: &Fill) -> Self {
        NlFill {
            order_id: f.order_id,
            asset: f.asset,
            side: f.side as u32,
            quantity: f.quantity,
            price: f.price,
            bar: f.bar,
            commission: f.commission,
            slippage: f.slippage,
            price_source: f.price_source as u32,
            reference_price: f.reference_price,
            available_size: f.available_size,
            bid: f.bid,
            ask: f.ask,
            quote_mid: f.quote_mid,
            bid_size: f.bid_size,
            ask_size: f.ask_size,
            is_exit: f.is_exit,
            order_type: f.order_type as u32,
            limit_price: opt_nan(f.limit_price),
            stop_price: opt_nan(f.stop_price),
            stop_triggered_bar: f.stop_triggered_bar.map_or(-1, i64::from),
            exit_reason: f.exit_reason as u32,
        }
    }
}

impl From<&Trade> for NlTrade {
    fn from(t: &Trade) -> Self {
        NlTrade {
            asset: t.asset,
            entry_bar: t.entry_bar,
            exit_bar: t.exit_bar,
            entry_price: t.entry_price,
            exit_price: t.exit_price,
            quantity: t.quantity,
            pnl: t.pnl,
            pnl_percent: t.pnl_percent,
            bars_held: t.bars_held,
            fees: t.fees,
            entry_slippage: t.entry_slippage,
            exit_slippage: t.exit_slippage,
            mfe: t.mfe,
            mae: t.mae,
            status: t.status as u32,
            entry_available_size: t.entry_available_size,
            entry_bid: t.entry_quote.bid,
            entry_ask: t.entry_quote.ask,
            entry_mid: t.entry_quote.mid,
            exit_bid: t.exit_quote.bid,
            exit_ask: t.exit_quote.ask,
            exit_mid: t.exit_quote.mid,
            exit_reason: t.exit_reason as u32,
            exit_order_id: t.exit_order,
            exit_available_size: t.exit_available_size,
        }
    }
}

fn position_struct(p: &Position) -> NlPosition {
    NlPosition {
        serial: p.serial,
        asset: p.asset,
        quantity: p.quantity,
        entry_price: p.entry_price,
        entry_bar: p.entry_bar,
        bars_held: p.bars_held,
        entry_commission: p.entry_commission,
        entry_slippage: p.entry_slippage,
        high_water_mark: p.high_water_mark,
        low_water_mark: p.low_water_mark,
        max_favorable_excursion: p.max_favorable_excursion,
        max_adverse_excursion: p.max_adverse_excursion,
        initial_quantity: p.initial_quantity,
        entry_available_size: p.entry_available_size,
        entry_bid: p.entry_quote.bid,
        entry_ask: p.entry_quote.ask,
        entry_mid: p.entry_quote.mid,
        current_price: p.current_price,
    }
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

/// Starts bar `bar` (marks, then NEXT_BAR fills at the open).
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_begin_bar(e: *mut NlEngine, bar: u32) -> NlStatus {
    guard(|| engine(e)?.begin_bar(bar))
}

/// Ends the current bar (SAME_BAR fills, equity snapshot).
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_end_bar(e: *mut NlEngine) -> NlStatus {
    guard(|| engine(e)?.end_bar())
}

/// NaN stands for "not given" in price arguments.
fn given(v: f64) -> Option<f64> {
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
        let (id, code) = match engine(e)?.submit_order(req)? {
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
            return Err(null_error("output"));
        }
        let (ids, code) = match engine(e)?.submit_bracket(entry, take_profit, stop_loss)? {
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
        let eng = engine(e)?;
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
        let done = engine(e)?.update_order(order_id, update)?;
        write(out_updated, u8::from(done))
    })
}

/// Sets each bar's session (trading-day) number, needed by DAY orders.
///
/// # Safety
/// `e` must be a live engine handle; `sessions` valid for `n` reads.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_sessions(e: *mut NlEngine, sessions: *const i64, n: usize) -> NlStatus {
    guard(|| {
        if sessions.is_null() && n > 0 {
            return Err(null_error("sessions"));
        }
        let v = if n == 0 { Vec::new() } else { std::slice::from_raw_parts(sessions, n).to_vec() };
        engine(e)?.set_sessions(v)
    })
}

/// Buying power for new long entries.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_buying_power(e: *mut NlEngine, out: *mut f64) -> NlStatus {
    guard(|| {
        let value = engine(e)?.buying_power();
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
        let e = engine(e)?;
        if asset as usize >= e.market().n_assets() {
            return Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")));
        }
        write(out, e.valuation_price(asset))
    })
}

/// Cancels a pending order; `out_cancelled` is 0 if it was not pending, else 1.
///
/// # Safety
/// `e` must be a live engine handle; `out_cancelled` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_cancel_order(e: *mut NlEngine, order_id: u64, out_cancelled: *mut u8) -> NlStatus {
    guard(|| {
        let done = engine(e)?.cancel_order(order_id);
        write(out_cancelled, u8::from(done))
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
        let eng = engine(e)?;
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
        let eng = engine(e)?;
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
        let eng = engine(e)?;
        let mut n = 0;
        for p in eng.positions().take(cap) {
            assets.add(n).write(p.asset);
            n += 1;
        }
        write(out_n, n)
    })
}

/// The position with `serial` once it was closed or reversed, as it stood just
/// before the fill that ended it; `out_found` is 0 while it is still open.
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
        let eng = engine(e)?;
        match eng.closed_position(serial) {
            Some(p) => {
                write(out, position_struct(p))?;
                write(out_found, 1)
            }
            None => write(out_found, 0),
        }
    })
}

/// The asset's close on the current bar (NaN if it has no row in it).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_current_price(e: *mut NlEngine, asset: u32, out: *mut f64) -> NlStatus {
    guard(|| {
        let eng = engine(e)?;
        write(out, eng.current_price(asset))
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
        let eng = engine(e)?;
        if asset as usize >= eng.market().n_assets() {
            return Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")));
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
        let eng = engine(e)?;
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
        let eng = engine(e)?;
        write(out_orders, eng.orders().len())?;
        write(out_pending, eng.pending_orders().count())?;
        write(out_fills, eng.fills().len())?;
        write(out_trades, eng.trades().len())
    })
}

/// The order with id `order_id` (ids start at 1).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order(e: *mut NlEngine, order_id: u64, out: *mut NlOrder) -> NlStatus {
    guard(|| {
        let eng = engine(e)?;
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
        let eng = engine(e)?;
        let o = eng.order(order_id).ok_or_else(|| EngineError::NotFound(format!("no order with id {order_id}")))?;
        write(out, o.rejection_reason.as_deref().map_or(std::ptr::null_mut(), into_c_string))
    })
}

/// The position rule's description of an exit order (e.g. "stop_loss_5.0%"),
/// or null. Free it with `nl_string_free`.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_order_exit_detail(e: *mut NlEngine, order_id: u64, out: *mut *mut c_char) -> NlStatus {
    guard(|| {
        let eng = engine(e)?;
        let o = eng.order(order_id).ok_or_else(|| EngineError::NotFound(format!("no order with id {order_id}")))?;
        write(out, o.exit_detail.as_deref().map_or(std::ptr::null_mut(), into_c_string))
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
        let eng = engine(e)?;
        let mut n = 0;
        for o in eng.pending_orders().take(cap) {
            ids.add(n).write(o.id);
            n += 1;
        }
        write(out_n, n)
    })
}

/// The `index`-th fill (0-based, in execution order).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_fill(e: *mut NlEngine, index: usize, out: *mut NlFill) -> NlStatus {
    guard(|| {
        let eng = engine(e)?;
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
        let eng = engine(e)?;
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
        let eng = engine(e)?;
        write(out_equity, eng.equity_curve().as_ptr())?;
        write(out_cash, eng.cash_curve().as_ptr())?;
        write(out_open_positions, eng.open_positions_curve().as_ptr())?;
        write(out_len, eng.equity_curve().len())
    })
}

// Exported only so cbindgen emits the enums' codes into the header.
#[no_mangle]
pub extern "C" fn nl_enum_codes(
    _a: OrderSide,
    _b: OrderType,
    _c: OrderStatus,
    _d: ExecutionMode,
    _e: ExecutionPrice,
    _f: ShareType,
    _g: TradeStatus,
    _h: ConditionalOrderMode,
    _i: LimitGapFill,
    _j: FillOrdering,
    _k: EntryOrderPriority,
    _l: TimeInForce,
    _m: CancelReason,
    _n: ExitReason,
    _o: StopFillMode,
    _p: StopLevelBasis,
    _q: TrailStopTiming,
    _r: WaterMarkSource,
    _s: InitialHwmSource,
) {
}
