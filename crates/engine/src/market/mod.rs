//! Read-only market data: one row per (bar, asset), rows sorted by bar then asset.
//!
//! Columns are shared buffers so the Python layer can hand over Polars/NumPy
//! memory without copying it; the engine only ever reads them.

use std::sync::Arc;

pub mod publication;

use nl_core::{AssetId, BarIndex, EngineError, EngineResult, Timestamp};

/// Anything that can lend a contiguous, immutable slice (a `Vec`, or a Python buffer).
pub trait ColumnBuffer<T>: Send + Sync {
    fn as_slice(&self) -> &[T];
}

impl<T: Send + Sync> ColumnBuffer<T> for Vec<T> {
    fn as_slice(&self) -> &[T] {
        self
    }
}

pub type Column<T> = Arc<dyn ColumnBuffer<T>>;

/// A column as the market data holds it: a shared buffer lent by the
/// historical feed, or rows the market data owns and grows (a streamed feed).
enum Store<T: 'static> {
    Shared(Column<T>),
    Owned(Vec<T>),
}

impl<T: Copy + 'static> Store<T> {
    #[inline]
    fn as_slice(&self) -> &[T] {
        match self {
            Store::Shared(c) => c.as_slice(),
            Store::Owned(v) => v,
        }
    }

    /// Appends to an owned column (streamed data never shares its columns).
    fn push(&mut self, v: T) {
        match self {
            Store::Owned(values) => values.push(v),
            Store::Shared(_) => unreachable!("streamed market data owns its columns"),
        }
    }
}

/// Columnar OHLCV bars indexed by bar (timestamp) and asset.
///
/// Within a bar, rows keep the feed's order (ml4t-backtest iterates assets in
/// input order, and strategies submit orders in that order); `by_asset` is a
/// per-bar permutation sorted by asset for lookups.
pub struct MarketData {
    n_assets: usize,
    /// `bar_starts[b]..bar_starts[b+1]` are the rows of bar `b`.
    bar_starts: Vec<usize>,
    /// Row numbers, sorted by asset within each bar's row range.
    by_asset: Vec<u32>,
    asset: Store<u32>,
    open: Store<f64>,
    high: Store<f64>,
    low: Store<f64>,
    close: Store<f64>,
    /// The reference price (ml4t's `price_col`): what positions are marked
    /// at and PRICE fills at. The close column itself (one shared buffer)
    /// unless the feed names another column.
    price: Store<f64>,
    /// Whether some row's reference price is not its close.
    reference_apart: bool,
    volume: Store<f64>,
    /// vwap, bid, ask, mid, bid size, ask size (`QuoteColumns`' order).
    quotes: [Option<Store<f64>>; 6],
    /// Whether any quote column is present (`bar_at`'s fast path when not).
    has_quotes: bool,
    /// Nanoseconds since the epoch (UTC) of every bar, when known: a
    /// streamed feed always has them, a historical one once given.
    timestamps: Vec<i64>,
    /// Whether bars can be appended (`MarketData::streamed`).
    streamed: bool,
    /// Prices may be zero or negative (a standalone broker's hand-set marks).
    any_finite_marks: bool,
}

const VWAP: usize = 0;
const BID: usize = 1;
const ASK: usize = 2;
const MID: usize = 3;
const BID_SIZE: usize = 4;
const ASK_SIZE: usize = 5;

/// Optional per-row quote columns; NaN marks a missing cell.
#[derive(Clone, Default)]
pub struct QuoteColumns {
    pub vwap: Option<Column<f64>>,
    pub bid: Option<Column<f64>>,
    pub ask: Option<Column<f64>>,
    /// An explicit quote midpoint (else derived from bid and ask).
    pub mid: Option<Column<f64>>,
    pub bid_size: Option<Column<f64>>,
    pub ask_size: Option<Column<f64>>,
}

/// The prices of one asset on one bar. Quote fields are NaN when absent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// The reference price: the close unless the feed names another column.
    pub price: f64,
    pub volume: f64,
    pub vwap: f64,
    pub bid: f64,
    pub ask: f64,
    /// The quote midpoint: the mid column, else (bid + ask) / 2.
    pub mid: f64,
    pub bid_size: f64,
    pub ask_size: f64,
}

impl Bar {
    /// Size available to an order of `side`: the ask size for buys, the bid
    /// size for sells, else the bar's volume.
    pub fn available_size(&self, is_buy: bool) -> f64 {
        let quoted = if is_buy { self.ask_size } else { self.bid_size };
        if quoted.is_nan() {
            self.volume
        } else {
            quoted
        }
    }
}

impl MarketData {
    /// Builds the index over columns sorted by bar and validates every price.
    ///
    /// `bar` holds each row's bar index (non-decreasing), `asset` each row's asset
    /// index (any order within a bar, but each asset at most once per bar). `asset_names` and `bar_labels`
    /// only feed error messages.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n_bars: usize,
        n_assets: usize,
        bar: &[u32],
        asset: Column<u32>,
        open: Column<f64>,
        high: Column<f64>,
        low: Column<f64>,
        close: Column<f64>,
        volume: Column<f64>,
        asset_names: &[String],
        bar_labels: &dyn Fn(usize) -> String,
    ) -> EngineResult<Self> {
        let n = bar.len();
        let cols: [(&str, &Column<f64>); 5] =
            [("open", &open), ("high", &high), ("low", &low), ("close", &close), ("volume", &volume)];
        if asset.as_slice().len() != n || cols.iter().any(|(_, c)| c.as_slice().len() != n) {
            return Err(EngineError::InvalidData("all feed columns must have the same length".into()));
        }
        let assets = asset.as_slice();
        let name = |a: u32| asset_names.get(a as usize).cloned().unwrap_or_else(|| a.to_string());
        let mut bar_starts = Vec::with_capacity(n_bars + 1);
        bar_starts.push(0);
        for row in 0..n {
            let (b, a) = (bar[row] as usize, assets[row]);
            if b >= n_bars || a as usize >= n_assets {
                return Err(EngineError::InvalidData(format!("row {row}: bar or asset index out of range")));
            }
            if row > 0 && b < bar[row - 1] as usize {
                return Err(EngineError::InvalidData(format!("row {row}: rows are not sorted by timestamp")));
            }
            while bar_starts.len() <= b {
                bar_starts.push(row);
            }
            for (col, c) in cols.iter() {
                let v = c.as_slice()[row];
                let bad = if *col == "volume" { !v.is_finite() || v < 0.0 } else { !v.is_finite() || v <= 0.0 };
                if bad {
                    let want = if *col == "volume" { "finite and >= 0" } else { "finite and > 0" };
                    return Err(EngineError::InvalidData(format!(
                        "column {col:?} must be {want}: got {v} for asset {:?} at {}", name(a), bar_labels(b))));
                }
            }
        }
        while bar_starts.len() <= n_bars {
            bar_starts.push(n);
        }
        let mut by_asset: Vec<u32> = (0..n as u32).collect();
        for b in 0..n_bars {
            let rows = &mut by_asset[bar_starts[b]..bar_starts[b + 1]];
            rows.sort_unstable_by_key(|&r| assets[r as usize]);
            if let Some(w) = rows.windows(2).find(|w| assets[w[0] as usize] == assets[w[1] as usize]) {
                return Err(EngineError::InvalidData(format!(
                    "duplicate (timestamp, asset) row: asset {:?} at {}", name(assets[w[0] as usize]), bar_labels(b))));
            }
        }
        Ok(Self {
            n_assets,
            bar_starts,
            by_asset,
            asset: Store::Shared(asset),
            open: Store::Shared(open),
            high: Store::Shared(high),
            low: Store::Shared(low),
            price: Store::Shared(Arc::clone(&close)),
            reference_apart: false,
            close: Store::Shared(close),
            volume: Store::Shared(volume),
            quotes: Default::default(),
            has_quotes: false,
            // Until `set_timestamps`: bar b is at b nanoseconds (a clock that
            // orders bars, for feeds whose times are not dates).
            timestamps: (0..n_bars as i64).collect(),
            streamed: false,
            any_finite_marks: false,
        })
    }

    /// Adds quote columns (VWAP, bid, ask, mid, sizes). Cells may be NaN
    /// (missing); present prices must be finite and > 0, sizes finite and >= 0.
    pub fn with_quotes(
        mut self,
        quotes: QuoteColumns,
        asset_names: &[String],
        bar_labels: &dyn Fn(usize) -> String,
    ) -> EngineResult<Self> {
        let n = self.n_rows();
        let cols = [
            ("vwap", &quotes.vwap, false),
            ("bid", &quotes.bid, false),
            ("ask", &quotes.ask, false),
            ("mid", &quotes.mid, false),
            ("bid_size", &quotes.bid_size, true),
            ("ask_size", &quotes.ask_size, true),
        ];
        for (col, c, is_size) in cols {
            let Some(c) = c else { continue };
            let values = c.as_slice();
            if values.len() != n {
                return Err(EngineError::InvalidData(format!("column {col:?} has {} rows, expected {n}", values.len())));
            }
            if let Some(row) = values.iter().position(|&v| !v.is_nan() && !(v.is_finite() && (v > 0.0 || is_size && v == 0.0))) {
                let a = self.asset.as_slice()[row];
                let b = self.bar_starts.partition_point(|&start| start <= row) - 1;
                let name = asset_names.get(a as usize).cloned().unwrap_or_else(|| a.to_string());
                let want = if is_size { "finite and >= 0" } else { "finite and > 0" };
                return Err(EngineError::InvalidData(format!(
                    "column {col:?} must be {want}: got {} for asset {name:?} at {}", values[row], bar_labels(b))));
            }
        }
        let QuoteColumns { vwap, bid, ask, mid, bid_size, ask_size } = quotes;
        self.quotes = [vwap, bid, ask, mid, bid_size, ask_size].map(|c| c.map(Store::Shared));
        self.has_quotes = self.quotes.iter().any(Option::is_some);
        Ok(self)
    }

    /// Gives the feed a reference price column apart from its close (ml4t's
    /// `price_col`): marks, PRICE fills and position rules read it, CLOSE
    /// fills the close. Prices must be finite and > 0.
    pub fn with_reference_prices(
        mut self,
        price: Column<f64>,
        asset_names: &[String],
        bar_labels: &dyn Fn(usize) -> String,
    ) -> EngineResult<Self> {
        let values = price.as_slice();
        if values.len() != self.n_rows() {
            return Err(EngineError::InvalidData(format!(
                "column \"price\" has {} rows, expected {}", values.len(), self.n_rows())));
        }
        if let Some(row) = values.iter().position(|&v| !(v.is_finite() && v > 0.0)) {
            let a = self.asset.as_slice()[row];
            let b = self.bar_starts.partition_point(|&start| start <= row) - 1;
            let name = asset_names.get(a as usize).cloned().unwrap_or_else(|| a.to_string());
            return Err(EngineError::InvalidData(format!(
                "column \"price\" must be finite and > 0: got {} for asset {name:?} at {}", values[row], bar_labels(b))));
        }
        self.reference_apart = values.iter().zip(self.close.as_slice()).any(|(p, c)| p != c);
        self.price = Store::Shared(price);
        Ok(self)
    }

    /// Convenience constructor from owned vectors (tests, Rust users).
    #[allow(clippy::too_many_arguments)]
    pub fn from_vecs(
        n_bars: usize,
        n_assets: usize,
        bar: Vec<u32>,
        asset: Vec<u32>,
        open: Vec<f64>,
        high: Vec<f64>,
        low: Vec<f64>,
        close: Vec<f64>,
        volume: Vec<f64>,
    ) -> EngineResult<Self> {
        let names: Vec<String> = (0..n_assets).map(|a| format!("A{a}")).collect();
        Self::new(
            n_bars, n_assets, &bar, Arc::new(asset), Arc::new(open), Arc::new(high), Arc::new(low),
            Arc::new(close), Arc::new(volume), &names, &|b| format!("bar {b}"),
        )
    }

    pub fn n_bars(&self) -> usize {
        self.bar_starts.len() - 1
    }

    pub fn n_assets(&self) -> usize {
        self.n_assets
    }

    pub fn n_rows(&self) -> usize {
        self.asset.as_slice().len()
    }

    /// Row range of bar `b`.
    pub fn rows(&self, b: BarIndex) -> std::ops::Range<usize> {
        self.bar_starts[b as usize]..self.bar_starts[b as usize + 1]
    }

    pub fn asset_of(&self, row: usize) -> AssetId {
        self.asset.as_slice()[row]
    }

    pub fn bar_at(&self, row: usize) -> Bar {
        if !self.has_quotes {
            return self.unquoted_bar(row, self.high.as_slice()[row], self.low.as_slice()[row]);
        }
        let cell = |i: usize| self.quotes[i].as_ref().map_or(f64::NAN, |c| c.as_slice()[row]);
        let (bid, ask) = (cell(BID), cell(ASK));
        let mut mid = cell(MID);
        if mid.is_nan() && !bid.is_nan() && !ask.is_nan() {
            mid = (bid + ask) / 2.0;
        }
        Bar {
            open: self.open.as_slice()[row],
            high: self.high.as_slice()[row],
            low: self.low.as_slice()[row],
            close: self.close.as_slice()[row],
            price: self.price.as_slice()[row],
            volume: self.volume.as_slice()[row],
            vwap: cell(VWAP),
            bid,
            ask,
            mid,
            bid_size: cell(BID_SIZE),
            ask_size: cell(ASK_SIZE),
        }
    }

    /// `bar_at` without the high and low (NaN), for a fill that cannot use
    /// them (see `Engine::triggered_price`): nothing else reads a bar's highs
    /// and lows, so each is a cache miss per fill.
    pub fn bar_at_without_range(&self, row: usize) -> Bar {
        if self.has_quotes {
            return Bar { high: f64::NAN, low: f64::NAN, ..self.bar_at(row) };
        }
        self.unquoted_bar(row, f64::NAN, f64::NAN)
    }

    /// Row `row` of a feed without quote columns, with the given high and low.
    #[inline]
    fn unquoted_bar(&self, row: usize, high: f64, low: f64) -> Bar {
        let nan = f64::NAN;
        Bar {
            open: self.open.as_slice()[row],
            high,
            low,
            close: self.close.as_slice()[row],
            price: self.price.as_slice()[row],
            volume: self.volume.as_slice()[row],
            vwap: nan,
            bid: nan,
            ask: nan,
            mid: nan,
            bid_size: nan,
            ask_size: nan,
        }
    }

    /// Whether the feed has a VWAP column.
    pub fn has_vwap(&self) -> bool {
        self.quotes[VWAP].is_some()
    }

    /// The row of `asset` in bar `b`, if the asset has a bar then.
    pub fn find_row(&self, b: BarIndex, asset: AssetId) -> Option<usize> {
        let assets = self.asset.as_slice();
        let rows = &self.by_asset[self.rows(b)];
        rows.binary_search_by_key(&asset, |&r| assets[r as usize]).ok().map(|i| rows[i] as usize)
    }

    pub fn asset_column(&self) -> &[u32] {
        self.asset.as_slice()
    }
    pub fn open_column(&self) -> &[f64] {
        self.open.as_slice()
    }
    pub fn high_column(&self) -> &[f64] {
        self.high.as_slice()
    }
    pub fn low_column(&self) -> &[f64] {
        self.low.as_slice()
    }
    pub fn close_column(&self) -> &[f64] {
        self.close.as_slice()
    }
    /// The reference prices (the close column unless the feed names another).
    pub fn price_column(&self) -> &[f64] {
        self.price.as_slice()
    }
    /// Whether some row's reference price is not its close.
    pub fn reference_apart_from_close(&self) -> bool {
        self.reference_apart
    }
    pub fn volume_column(&self) -> &[f64] {
        self.volume.as_slice()
    }
    pub fn bar_starts(&self) -> &[usize] {
        &self.bar_starts
    }

    /// Empty market data for `n_assets` assets that grows one bar at a
    /// time (`push_bar`): a live feed or a file streamed bar by bar.
    /// `quotes` keeps quote columns (VWAP, bid, ask, mid, sizes) too.
    pub fn streamed(n_assets: usize, quotes: bool) -> Self {
        let owned = || Store::Owned(Vec::new());
        Self {
            n_assets,
            bar_starts: vec![0],
            by_asset: Vec::new(),
            asset: Store::Owned(Vec::new()),
            open: owned(),
            high: owned(),
            low: owned(),
            close: owned(),
            price: owned(),
            reference_apart: false,
            volume: owned(),
            quotes: std::array::from_fn(|_| quotes.then(owned)),
            has_quotes: quotes,
            timestamps: Vec::new(),
            streamed: true,
            any_finite_marks: false,
        }
    }

    /// Lets a streamed feed's prices be any finite number (zero and negative
    /// included): a standalone broker is marked by hand, and ml4t-backtest's
    /// accepts such marks. Feeds of real data keep refusing them.
    pub fn accept_any_finite_marks(&mut self) -> EngineResult<()> {
        if !self.streamed {
            return Err(EngineError::InvalidState("only streamed market data takes hand-set marks".into()));
        }
        self.any_finite_marks = true;
        Ok(())
    }

    /// Adds `n` assets to a streamed feed (ids `n_assets()..n_assets() + n`);
    /// they trade from the next bar pushed.
    pub fn add_assets(&mut self, n: usize) -> EngineResult<()> {
        if !self.streamed {
            return Err(EngineError::InvalidState("historical market data cannot gain assets".into()));
        }
        self.n_assets += n;
        Ok(())
    }

    /// Whether bars can be appended.
    pub fn is_streamed(&self) -> bool {
        self.streamed
    }

    /// Appends the bar at `timestamp` (nanoseconds, later than the last
    /// bar's) with one row per asset that traded, in the order given (the
    /// order strategies see). Prices are validated as a historical feed's;
    /// nothing is appended when any row is refused. Returns the bar's index.
    pub fn push_bar(&mut self, timestamp: i64, rows: &[(AssetId, Bar)]) -> EngineResult<BarIndex> {
        if !self.streamed {
            return Err(EngineError::InvalidState("historical market data cannot be extended".into()));
        }
        if let Some(&last) = self.timestamps.last() {
            if timestamp <= last {
                return Err(EngineError::InvalidData(format!(
                    "bar timestamps must increase: {timestamp} after {last}")));
            }
        }
        let mut seen: Vec<AssetId> = rows.iter().map(|r| r.0).collect();
        seen.sort_unstable();
        if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
            return Err(EngineError::InvalidData(format!(
                "duplicate (timestamp, asset) row: asset {} at {timestamp}", w[0])));
        }
        for (asset, bar) in rows {
            if *asset as usize >= self.n_assets {
                return Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")));
            }
            for (col, v) in [("open", bar.open), ("high", bar.high), ("low", bar.low), ("close", bar.close), ("price", bar.price)] {
                if !(v.is_finite() && (v > 0.0 || self.any_finite_marks)) {
                    let want = if self.any_finite_marks { "finite" } else { "finite and > 0" };
                    return Err(EngineError::InvalidData(format!(
                        "column {col:?} must be {want}: got {v} for asset {asset} at {timestamp}")));
                }
            }
            if !(bar.volume.is_finite() && bar.volume >= 0.0) {
                return Err(EngineError::InvalidData(format!(
                    "column \"volume\" must be finite and >= 0: got {} for asset {asset} at {timestamp}", bar.volume)));
            }
            let quoted = [("vwap", bar.vwap, false), ("bid", bar.bid, false), ("ask", bar.ask, false),
                ("mid", bar.mid, false), ("bid_size", bar.bid_size, true), ("ask_size", bar.ask_size, true)];
            for (col, v, is_size) in quoted {
                if v.is_nan() {
                    continue;
                }
                if !self.has_quotes {
                    return Err(EngineError::InvalidData(format!(
                        "column {col:?} given for asset {asset} at {timestamp}, but the feed was created without quotes")));
                }
                if !(v.is_finite() && (v > 0.0 || is_size && v == 0.0)) {
                    let want = if is_size { "finite and >= 0" } else { "finite and > 0" };
                    return Err(EngineError::InvalidData(format!(
                        "column {col:?} must be {want}: got {v} for asset {asset} at {timestamp}")));
                }
            }
        }
        let first = self.n_rows();
        for (asset, bar) in rows {
            self.asset.push(*asset);
            self.open.push(bar.open);
            self.high.push(bar.high);
            self.low.push(bar.low);
            self.close.push(bar.close);
            self.price.push(bar.price);
            self.reference_apart |= bar.price != bar.close;
            self.volume.push(bar.volume);
            let quoted = [bar.vwap, bar.bid, bar.ask, bar.mid, bar.bid_size, bar.ask_size];
            for (column, v) in self.quotes.iter_mut().zip(quoted) {
                if let Some(c) = column {
                    c.push(v);
                }
            }
        }
        let mut order: Vec<u32> = (first as u32..(first + rows.len()) as u32).collect();
        let assets = self.asset.as_slice();
        order.sort_unstable_by_key(|&r| assets[r as usize]);
        self.by_asset.extend(order);
        self.bar_starts.push(self.n_rows());
        self.timestamps.push(timestamp);
        Ok((self.n_bars() - 1) as BarIndex)
    }

    /// Gives a historical feed its bars' timestamps (nanoseconds, increasing).
    pub fn set_timestamps(&mut self, timestamps: Vec<i64>) -> EngineResult<()> {
        if timestamps.len() != self.n_bars() {
            return Err(EngineError::InvalidArgument(format!(
                "timestamps has {} entries for {} bars", timestamps.len(), self.n_bars())));
        }
        if let Some(b) = timestamps.windows(2).position(|w| w[1] <= w[0]) {
            return Err(EngineError::InvalidArgument(format!("timestamps do not increase at bar {}", b + 1)));
        }
        self.timestamps = timestamps;
        Ok(())
    }

    /// Every bar's timestamp (nanoseconds since the epoch, UTC; a feed
    /// without dates numbers its bars 0, 1, 2, ...).
    pub fn timestamps(&self) -> &[Timestamp] {
        &self.timestamps
    }

    /// The timestamp of bar `b`. Panics when `b` is not a bar of the feed.
    pub fn timestamp(&self, b: BarIndex) -> Timestamp {
        self.timestamps[b as usize]
    }

    /// The bar at time `t`, if the feed has one then.
    pub fn bar_at_time(&self, t: Timestamp) -> Option<BarIndex> {
        self.timestamps.binary_search(&t).ok().map(|b| b as BarIndex)
    }
}

/// The UTC calendar day (days since 1970-01-01) of `timestamp`: a streamed
/// feed's trading day.
pub fn utc_day(timestamp: Timestamp) -> i64 {
    const NANOS_PER_DAY: i64 = 86_400_000_000_000;
    timestamp.div_euclid(NANOS_PER_DAY)
}
