//! Zero-copy ingestion: the feed's NumPy/Polars column buffers become engine
//! columns without copying (the Python buffer stays alive inside the column).

use std::mem::ManuallyDrop;
use std::sync::Arc;

use nl_engine::{Column, ColumnBuffer, MarketData, QuoteColumns};
use nl_ffi::NlMarketData;
use pyo3::buffer::{Element, PyBuffer};
use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A column borrowed from a Python object through the buffer protocol.
struct BufferColumn<T: Element> {
    buf: ManuallyDrop<PyBuffer<T>>,
    /// `buf.item_count()`, computed once: `as_slice` runs on every column
    /// read of the per-bar loop, and the count is a division.
    len: usize,
}

impl<T: Element> Drop for BufferColumn<T> {
    fn drop(&mut self) {
        // Releasing a buffer needs the interpreter. At interpreter shutdown the
        // last engines can be freed after it is gone; the process is exiting,
        // so the buffer is left to the OS instead of panicking in a destructor.
        // SAFETY: Py_IsInitialized may be called at any time; `buf` is dropped once.
        if unsafe { pyo3::ffi::Py_IsInitialized() } != 0 {
            unsafe { ManuallyDrop::drop(&mut self.buf) }
        }
    }
}

impl<T: Element + Send + Sync> ColumnBuffer<T> for BufferColumn<T> {
    fn as_slice(&self) -> &[T] {
        let n = self.len;
        if n == 0 {
            return &[];
        }
        // SAFETY: `buf` was checked to be C-contiguous with items of type T;
        // the exporter stays alive (and its memory pinned) while `buf` is held,
        // and nothing writes through it: the feed's arrays are private and read-only.
        unsafe { std::slice::from_raw_parts(self.buf.buf_ptr() as *const T, n) }
    }
}

fn column<T: Element + Send + Sync + 'static>(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Column<T>> {
    let buf = PyBuffer::<T>::get(obj)
        .map_err(|e| PyBufferError::new_err(format!("column {name:?}: {e}")))?;
    if !buf.is_c_contiguous() || buf.dimensions() != 1 {
        return Err(PyBufferError::new_err(format!("column {name:?} must be a 1-D contiguous buffer")));
    }
    let len = buf.item_count();
    Ok(Arc::new(BufferColumn { buf: ManuallyDrop::new(buf), len }))
}

/// Market data owned by Rust, shared by every engine built on it.
#[pyclass(frozen, module = "nautilus_like._rust")]
pub struct MarketDataHandle {
    inner: Arc<MarketData>,
}

#[pymethods]
impl MarketDataHandle {
    #[getter]
    fn n_rows(&self) -> usize {
        self.inner.n_rows()
    }
    #[getter]
    fn n_bars(&self) -> usize {
        self.inner.n_bars()
    }
    /// Bar `b`'s time on the engine's clock: nanoseconds since the epoch
    /// (UTC) when the feed's timestamps are dates or datetimes, else the
    /// bar's number (0, 1, 2, ...).
    fn timestamp_ns(&self, b: usize) -> PyResult<i64> {
        self.inner.timestamps().get(b).copied().ok_or_else(|| {
            pyo3::exceptions::PyIndexError::new_err(format!("bar {b} out of range (the feed has {} bars)", self.inner.n_bars()))
        })
    }
    #[getter]
    fn n_assets(&self) -> usize {
        self.inner.n_assets()
    }

    /// A new C handle (`NlMarketData*` as an integer) sharing this data. The
    /// caller owns it and must release it with `nl_market_data_drop`.
    fn ffi_handle(&self) -> usize {
        NlMarketData::new_handle(Arc::clone(&self.inner)) as usize
    }
}

/// Validates and indexes the feed's sorted columns without copying them.
///
/// `bar` and `asset` are uint32 buffers, the prices float64 buffers. Errors name
/// the column, the asset (from `asset_names`) and the timestamp (from
/// `bar_label(bar_index)`, called only when reporting an error).
#[pyfunction]
#[pyo3(signature = (n_bars, asset_names, bar, asset, open, high, low, close, volume, bar_label, quotes=None, timestamps=None, price=None))]
#[allow(clippy::too_many_arguments)]
pub fn build_market_data(
    py: Python<'_>,
    n_bars: usize,
    asset_names: Vec<String>,
    bar: &Bound<'_, PyAny>,
    asset: &Bound<'_, PyAny>,
    open: &Bound<'_, PyAny>,
    high: &Bound<'_, PyAny>,
    low: &Bound<'_, PyAny>,
    close: &Bound<'_, PyAny>,
    volume: &Bound<'_, PyAny>,
    bar_label: PyObject,
    quotes: Option<&Bound<'_, PyDict>>,
    timestamps: Option<&Bound<'_, PyAny>>,
    price: Option<&Bound<'_, PyAny>>,
) -> PyResult<MarketDataHandle> {
    let bar_col = column::<u32>("bar", bar)?;
    let label = |b: usize| -> String {
        bar_label.call1(py, (b,)).and_then(|s| s.extract::<String>(py)).unwrap_or_else(|_| format!("bar {b}"))
    };
    let md = MarketData::new(
        n_bars,
        asset_names.len(),
        bar_col.as_slice(),
        column("asset", asset)?,
        column("open", open)?,
        column("high", high)?,
        column("low", low)?,
        column("close", close)?,
        column("volume", volume)?,
        &asset_names,
        &label,
    )
    .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let md = match quotes {
        None => md,
        Some(q) => {
            let mut cols = QuoteColumns::default();
            for (key, value) in q.iter() {
                let name: String = key.extract()?;
                let slot = match name.as_str() {
                    "vwap" => &mut cols.vwap,
                    "bid" => &mut cols.bid,
                    "ask" => &mut cols.ask,
                    "mid" => &mut cols.mid,
                    "bid_size" => &mut cols.bid_size,
                    "ask_size" => &mut cols.ask_size,
                    other => return Err(PyValueError::new_err(format!("unknown quote column {other:?}"))),
                };
                *slot = Some(column(&name, &value)?);
            }
            md.with_quotes(cols, &asset_names, &label).map_err(|e| PyValueError::new_err(e.to_string()))?
        }
    };
    // A reference price apart from the close (ml4t's `price_col`).
    let md = match price {
        None => md,
        Some(p) => md.with_reference_prices(column("price", p)?, &asset_names, &label)
            .map_err(|e| PyValueError::new_err(e.to_string()))?,
    };
    // Bar times in nanoseconds (UTC), when the feed's timestamps are dates
    // or datetimes: the clock the market view shares with streamed feeds.
    let md = match timestamps {
        None => md,
        Some(ts) => {
            let mut md = md;
            let ts = column::<i64>("timestamps", ts)?;
            md.set_timestamps(ts.as_slice().to_vec()).map_err(|e| PyValueError::new_err(e.to_string()))?;
            md
        }
    };
    Ok(MarketDataHandle { inner: Arc::new(md) })
}

/// Each row's value of one bar field as the engine may read it at the row's
/// own instant: `values` where `known_at` (ns; `NEVER_PUBLISHED` for never)
/// is at or before `observed` (ns), else `fallback` (`nl_engine::published_values`).
#[pyfunction]
pub fn published_values(values: &Bound<'_, PyAny>, fallback: &Bound<'_, PyAny>, known_at: &Bound<'_, PyAny>,
                        observed: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let (values, fallback) = (column::<f64>("values", values)?, column::<f64>("fallback", fallback)?);
    let (known_at, observed) = (column::<i64>("known_at", known_at)?, column::<i64>("observed", observed)?);
    nl_engine::published_values(values.as_slice(), fallback.as_slice(), known_at.as_slice(), observed.as_slice())
        .map_err(|e| PyValueError::new_err(e.to_string()))
}
