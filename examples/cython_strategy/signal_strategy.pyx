# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The benchmark's signal rule as a Cython `cdef class` strategy.

Rule, per asset and bar: buy `quantity` shares (default 10) when the signal is
> `entry` (0.5) and the position is flat; close the position when the signal is
< `exit` (-0.5) and the position is long.

Two paths, with identical decisions and submission order:

* fast path (the engine's own `data` mapping, a `nautilus_like._data.BarData`):
  walks the bar's rows straight from the feed's columns (`MarketView.cols`,
  `sig_ptr`/`sig_kind`, `has_signals`) and trades through the broker's C API
  (`c_position`, `c_submit`); no Python object is built per asset, only one
  `Order` per submitted order (what `c_submit` returns).
* generic path (any other mapping, e.g. a plain dict): `data.items()` and
  `bar["signals"]`, still with the broker's C API.

A missing signal (no signals row for the asset) counts as 0: no action.

Build: see build.py next to this file (`build(target_dir)`).
"""

from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdint cimport int64_t, uint8_t, uint32_t

from nautilus_like cimport _ffi as ffi
from nautilus_like._broker cimport Broker
from nautilus_like._data cimport BarData, MarketView
from nautilus_like._strategy cimport Strategy

# Storage kind of a float64 signal column in MarketView.sig_kind (KIND_F64 in
# nautilus_like/_data.pyx). It is verified against `signal_value` before use;
# any other kind is read (boxed) through `MarketView.signal_value`.
cdef enum:
    _KIND_F64 = 0


cdef class SignalStrategy(Strategy):
    """`SignalStrategy(signal="signal", quantity=10, entry=0.5, exit=-0.5)`."""

    cdef readonly str signal
    cdef readonly double quantity, entry, exit
    # Per-view cache: the view these tables were built for.
    cdef MarketView _view
    cdef uint32_t* _broker_id      # view asset index -> broker asset id
    cdef Py_ssize_t _sig_col       # column of `signal` in the view, -1 if absent
    cdef const double* _sig_f64    # that column's values when stored as float64, else NULL

    def __init__(self, signal="signal", quantity=10, entry=0.5, exit=-0.5):
        self.signal = signal
        self.quantity = quantity
        self.entry = entry
        self.exit = exit

    def __cinit__(self, *args, **kwargs):
        self._view = None
        self._broker_id = NULL
        self._sig_col = -1
        self._sig_f64 = NULL

    def __dealloc__(self):
        PyMem_Free(self._broker_id)

    cdef int _bind(self, MarketView view, Broker broker) except -1:
        """Resolves asset ids (through `broker.c_asset`) and the signal column once per view."""
        cdef Py_ssize_t i, n = len(view.asset_names)
        cdef uint32_t* ids = <uint32_t*>PyMem_Malloc(max(1, n) * sizeof(uint32_t))
        if ids is NULL:
            raise MemoryError()
        try:
            for i in range(n):
                ids[i] = broker.c_asset(view.asset_names[i])
        except BaseException:
            PyMem_Free(ids)
            raise
        PyMem_Free(self._broker_id)
        self._broker_id = ids
        col = view.sig_index.get(self.signal)
        self._sig_col = -1 if col is None else <Py_ssize_t>col
        self._sig_f64 = NULL
        if self._sig_col >= 0 and view.sig_kind[self._sig_col] == _KIND_F64 and view.sig_ptr[self._sig_col] is not NULL:
            self._sig_f64 = <const double*>view.sig_ptr[self._sig_col]
            # Cross-check the raw column against the documented accessor.
            if view.cols.n_rows > 0:
                v = view.signal_value(self._sig_col, 0)
                if type(v) is not float or not (v == self._sig_f64[0] or v != v):
                    self._sig_f64 = NULL
        self._view = view
        return 0

    cdef int _act(self, Broker broker, uint32_t a, double sig) except -1:
        cdef double pos
        if sig > self.entry:
            if broker.c_position(a) == 0.0:
                broker.c_submit(a, self.quantity, ffi.ORDER_SIDE_BUY)
        elif sig < self.exit:
            pos = broker.c_position(a)
            if pos > 0.0:
                broker.c_submit(a, pos, ffi.ORDER_SIDE_SELL)
        return 0

    cpdef on_data(self, object timestamp, object data, object context, Broker broker):
        if type(data) is BarData:
            self._on_bar(<BarData>data, broker)
        else:
            self._on_mapping(data, broker)

    cdef int _on_bar(self, BarData data, Broker broker) except -1:
        cdef MarketView view = data._view
        if view is not self._view:
            self._bind(view, broker)
        if self._sig_col < 0:
            return 0
        cdef const uint32_t* assets = view.cols.asset
        cdef const uint8_t* has = view.has_signals
        cdef const double* sig = self._sig_f64
        cdef uint32_t* ids = self._broker_id
        cdef Py_ssize_t r
        cdef double s
        for r in range(data.start, data.end):
            if has is not NULL and has[r] == 0:
                continue
            if sig is not NULL:
                s = sig[r]
            else:
                v = view.signal_value(self._sig_col, r)
                s = 0.0 if v is None else <double>v
            self._act(broker, ids[assets[r]], s)
        return 0

    cdef int _on_mapping(self, object data, Broker broker) except -1:
        cdef double s
        for asset, bar in data.items():
            v = bar["signals"].get(self.signal, 0.0)
            s = 0.0 if v is None else <double>v
            self._act(broker, broker.c_asset(asset), s)
        return 0
