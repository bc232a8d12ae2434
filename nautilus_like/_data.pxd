# cython: language_level=3
"""Declarations of the per-bar data views. `BarData`'s `c_*` methods are the
public C-level API (`from nautilus_like cimport BarData`, see
nautilus_like/__init__.pxd); `MarketView`, `AssetBar`, `Signals` and every
underscore attribute are private.

A `cdef` strategy receives `data` as a `BarData` and walks its rows without
building Python objects:

    cdef BarData bars = <BarData>data
    cdef Py_ssize_t col = bars.c_signal_column("signal")   # -1 if absent
    for i in range(bars.c_size()):
        asset = bars.c_asset(i)         # same ids as Broker.c_asset(name)
        close = bars.c_close(i)
        s = bars.c_signal(i, col)       # NaN when missing, null or not numeric

Rows come in the feed's order, like `data.items()`. A row index outside
0 .. c_size() - 1 raises IndexError.
"""
from libc.math cimport NAN
from libc.stdint cimport int32_t, uint8_t, uint32_t
from nautilus_like._ffi cimport NlMarketData, NlMarketColumns


# Signal column storage kinds (MarketView.sig_kind).
cdef enum:
    SIGNAL_F64 = 0
    SIGNAL_I64 = 1
    SIGNAL_BOOL = 2
    SIGNAL_OBJECT = 3


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
    # Per quote field (QUOTE_VWAP .. QUOTE_ASK_SIZE in _data.pyx): the float64
    # column, or NULL when the feed has none.
    cdef const double* quote_ptr[6]

    cdef BarData bar(self, long b)
    cdef long row_for(self, long b, Py_ssize_t asset) except -2
    cdef object signal_value(self, Py_ssize_t col, Py_ssize_t row)
    cdef double signal_double(self, Py_ssize_t col, Py_ssize_t row)
    cpdef Py_ssize_t c_signal_column(self, str name)
    cpdef bint has_book_quotes(self)


cdef class BarData:
    cdef readonly MarketView _view
    cdef readonly long _bar
    cdef Py_ssize_t start, end
    # The run's AssetBar pool (see items()); None outside a run. The view never
    # refers to it, so the pool makes no reference cycle.
    cdef list _pool
    cdef AssetBar _lookup(self, object asset)

    # The public C API (bounds-checked; `i` is 0 .. c_size() - 1). The row
    # accessors are inline: a strategy module compiles them into its own loop
    # (a pointer read after one compare) instead of calling through the vtable.
    # A row in range implies an attached view (only the engine sets start/end).
    cdef inline Py_ssize_t c_size(self) noexcept:
        """Number of rows (assets with a bar) at this timestamp."""
        return self.end - self.start

    cdef inline long c_bar(self) noexcept:
        """This timestamp's 0-based index in the run."""
        return self._bar

    cdef inline uint32_t c_asset(self, Py_ssize_t i) except? 0xFFFFFFFF:
        """Asset id of row `i`: the id `Broker.c_asset(name)` returns for it."""
        if <size_t>i >= <size_t>(self.end - self.start):
            return <uint32_t>self._row_error(i)
        return self._view.cols.asset[self.start + i]

    cdef inline double c_open(self, Py_ssize_t i) except? -1.0:
        """Open of row `i`."""
        if <size_t>i >= <size_t>(self.end - self.start):
            return self._row_error(i)
        return self._view.cols.open[self.start + i]

    cdef inline double c_high(self, Py_ssize_t i) except? -1.0:
        """High of row `i`."""
        if <size_t>i >= <size_t>(self.end - self.start):
            return self._row_error(i)
        return self._view.cols.high[self.start + i]

    cdef inline double c_low(self, Py_ssize_t i) except? -1.0:
        """Low of row `i`."""
        if <size_t>i >= <size_t>(self.end - self.start):
            return self._row_error(i)
        return self._view.cols.low[self.start + i]

    cdef inline double c_close(self, Py_ssize_t i) except? -1.0:
        """Close of row `i`."""
        if <size_t>i >= <size_t>(self.end - self.start):
            return self._row_error(i)
        return self._view.cols.close[self.start + i]

    cdef inline double c_volume(self, Py_ssize_t i) except? -1.0:
        """Volume of row `i`."""
        if <size_t>i >= <size_t>(self.end - self.start):
            return self._row_error(i)
        return self._view.cols.volume[self.start + i]

    cdef Py_ssize_t c_signal_column(self, str name) except -2

    cdef inline double c_signal(self, Py_ssize_t i, Py_ssize_t col) except? -1.0:
        """Signal `col` of row `i` as a double: NaN when `col` is -1, the row has
        no signals row, the value is null or not a number (bools are 0/1)."""
        if <size_t>i >= <size_t>(self.end - self.start):
            return self._row_error(i)
        if <size_t>col >= <size_t>self._view.n_sig:
            return NAN
        if self._view.has_signals is not NULL and self._view.has_signals[self.start + i] == 0:
            return NAN
        if self._view.sig_kind[col] == SIGNAL_F64:
            return (<const double*>self._view.sig_ptr[col])[self.start + i]
        return self._signal_other(col, self.start + i)

    cdef bint c_has_quotes(self) noexcept
    cdef double c_bid(self, Py_ssize_t i) except? -1.0
    cdef double c_ask(self, Py_ssize_t i) except? -1.0
    cdef double c_mid(self, Py_ssize_t i) except? -1.0
    cdef double c_bid_size(self, Py_ssize_t i) except? -1.0
    cdef double c_ask_size(self, Py_ssize_t i) except? -1.0
    cdef double c_vwap(self, Py_ssize_t i) except? -1.0
    # Out of line: the IndexError for a row outside 0 .. c_size() - 1 (returns -1
    # with the exception set), a signal column that is not float64, a quote.
    cdef Py_ssize_t _row_error(self, Py_ssize_t i) except -1
    cdef double _signal_other(self, Py_ssize_t col, Py_ssize_t row) except? -1.0
    cdef double _quote(self, int field, Py_ssize_t i) except? -1.0


cdef class Signals


cdef class AssetBar:
    cdef readonly MarketView _view
    cdef readonly Py_ssize_t _row
    cdef readonly str _asset
    # Its last Signals view, reused while nobody else holds it.
    cdef Signals _spare
    cdef object _field(self, int field)
    cdef Signals _signals(self)
    cdef object _quote(self, object key)
    cdef tuple _keys(self)


cdef class Signals:
    cdef readonly MarketView _view
    cdef readonly Py_ssize_t _row
