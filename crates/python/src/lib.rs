//! `nautilus_like._rust`: one shared library that is both the PyO3 module and
//! the carrier of the C ABI (the `nl_*` symbols from `nautilus-like-ffi`),
//! which the Cython extensions link against. One library means one copy of
//! Rust state per process.

use pyo3::prelude::*;

mod accounting;
mod evaluate;
mod ingest;
mod settings;

// Re-export so the linker keeps every `nl_*` symbol in this cdylib.
pub use nl_ffi::*;

#[pymodule]
fn _rust(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ingest::MarketDataHandle>()?;
    m.add_function(wrap_pyfunction!(ingest::build_market_data, m)?)?;
    m.add_function(wrap_pyfunction!(ingest::published_values, m)?)?;
    m.add("NEVER_PUBLISHED", nl_engine::NEVER_PUBLISHED)?;
    m.add_function(wrap_pyfunction!(py_live_handles, m)?)?;
    settings::register(m)?;
    evaluate::register(m)?;
    accounting::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// `(engines, market_data)`: handles alive in this process's Rust library.
#[pyfunction]
#[pyo3(name = "live_handles")]
fn py_live_handles() -> (usize, usize) {
    nl_ffi::live_handles()
}
