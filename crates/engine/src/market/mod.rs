//! Read-only market data: one row per (bar, asset), rows sorted by bar then asset.
//!
//! Columns are shared buffers so the Python layer can hand over Polars/NumPy
//! memory without copying it; the engine only ever reads them.

use std::sync::Arc;

use nl_core::{AssetId, BarIndex, EngineError, EngineResult};

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
    asset: Column<u32>,
    open: Column<f64>,
    high: Column<f64>,
    low: Column<f64>,
    close: Column<f64>,
    volume: Column<f64>,
    quotes: QuoteColumns,
    /// Whether any quote column is present (`bar_at`'s fast path when not).
    has_quotes: bool,
}

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
            asset,
            open,
            high,
            low,
            close,
            volume,
            quotes: QuoteColumns::default(),
            has_quotes: false,
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
        self.has_quotes = [&quotes.vwap, &quotes.bid, &quotes.ask, &quotes.mid, &quotes.bid_size, &quotes.ask_size]
            .iter()
            .any(|c| c.is_some());
        self.quotes = quotes;
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
        let q = &self.quotes;
        if !self.has_quotes {
            let nan = f64::NAN;
            return Bar {
                open: self.open.as_slice()[row],
                high: self.high.as_slice()[row],
                low: self.low.as_slice()[row],
                close: self.close.as_slice()[row],
                volume: self.volume.as_slice()[row],
                vwap: nan,
                bid: nan,
                ask: nan,
                mid: nan,
                bid_size: nan,
                ask_size: nan,
            };
        }
        let cell = |c: &Option<Column<f64>>| c.as_ref().map_or(f64::NAN, |c| c.as_slice()[row]);
        let (bid, ask) = (cell(&q.bid), cell(&q.ask));
        let mut mid = cell(&q.mid);
        if mid.is_nan() && !bid.is_nan() && !ask.is_nan() {
            mid = (bid + ask) / 2.0;
        }
        Bar {
            open: self.open.as_slice()[row],
            high: self.high.as_slice()[row],
            low: self.low.as_slice()[row],
            close: self.close.as_slice()[row],
            volume: self.volume.as_slice()[row],
            vwap: cell(&q.vwap),
            bid,
            ask,
            mid,
            bid_size: cell(&q.bid_size),
            ask_size: cell(&q.ask_size),
        }
    }

    /// Whether the feed has a VWAP column.
    pub fn has_vwap(&self) -> bool {
        self.quotes.vwap.is_some()
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
    pub fn volume_column(&self) -> &[f64] {
        self.volume.as_slice()
    }
    pub fn bar_starts(&self) -> &[usize] {
        &self.bar_starts
    }
}
