# cython: language_level=3
"""C-level access to the per-bar data, for strategies written in Cython.

A `cdef` strategy receives `data` as a `BarData` and can walk its rows without
building Python objects:

    cdef BarData bar = <BarData>data
    cdef Py_ssize_t col = bar._view.c_signal_column("signal")   # -1 if absent
    for i in range(bar.c_size()):
        asset = bar.c_asset(i)          # same ids as Broker.c_asset(name)
        close = bar.c_close(i)
        s = bar.c_signal(i, col)        # NaN when missing, null or not numeric

Rows come in the feed's order, like `data.items()`.
"""
from libc.stdint cimport int32_t, uint8_t, uint32_t
from nautilus_like._ffi cimport NlMarketData, NlMarketColumns


cdef class MarketView:
    """Zero-copy access to the feed's columns (owned by Rust) and signals."""
    cdef NlMarketData* md
    cdef NlMarketColumns cols
    cdef readonly list asset_names
    cdef readonly dict asset_index
    cdef int32_t* row_of
    cdef long row_of_bar
    cdef readonly tuple signal_names
    cdef dict sig_index
    cdef Py_ssize_t n_sig
    cdef int* sig_kind
    cdef const void** sig_ptr
    cdef list sig_objects
    cdef list keepalive
    cdef const uint8_t* has_signals
    cdef readonly tuple quote_names
    cdef tuple quote_arrays

    cdef BarData bar(self, long b)
    cdef long row_for(self, long b, Py_ssize_t asset) except -2
    cdef object signal_value(self, Py_ssize_t col, Py_ssize_t row)
    cdef double signal_double(self, Py_ssize_t col, Py_ssize_t row)
    cpdef Py_ssize_t c_signal_column(self, str name)


cdef class BarData:
    cdef readonly MarketView _view
    cdef readonly long _bar
    cdef Py_ssize_t start, end
    cdef AssetBar _lookup(self, object asset)
    cdef Py_ssize_t c_size(self) noexcept
    cdef uint32_t c_asset(self, Py_ssize_t i) noexcept
    cdef double c_open(self, Py_ssize_t i) noexcept
    cdef double c_high(self, Py_ssize_t i) noexcept
    cdef double c_low(self, Py_ssize_t i) noexcept
    cdef double c_close(self, Py_ssize_t i) noexcept
    cdef double c_volume(self, Py_ssize_t i) noexcept
    cdef double c_signal(self, Py_ssize_t i, Py_ssize_t col)


cdef class AssetBar:
    cdef readonly MarketView _view
    cdef readonly Py_ssize_t _row
    cdef readonly str _asset
    cdef object _field(self, int field)
    cdef object _quote(self, object key)
    cdef tuple _keys(self)


cdef class Signals:
    cdef readonly MarketView _view
    cdef readonly Py_ssize_t _row
