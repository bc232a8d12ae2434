# cython: language_level=3
from libc.stdint cimport int32_t, uint8_t
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

    cdef BarData bar(self, long b)
    cdef long row_for(self, long b, Py_ssize_t asset) except -2
    cdef object signal_value(self, Py_ssize_t col, Py_ssize_t row)


cdef class BarData:
    cdef readonly MarketView _view
    cdef readonly long _bar
    cdef Py_ssize_t start, end
    cdef AssetBar _lookup(self, object asset)


cdef class AssetBar:
    cdef readonly MarketView _view
    cdef readonly Py_ssize_t _row
    cdef readonly str _asset
    cdef object _field(self, int field)


cdef class Signals:
    cdef readonly MarketView _view
    cdef readonly Py_ssize_t _row
