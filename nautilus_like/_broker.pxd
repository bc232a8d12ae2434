# cython: language_level=3
"""The Broker's declarations; its C-level API (the `c_*` methods) is public
through `from nautilus_like cimport Broker` (see nautilus_like/__init__.pxd).

A `cdef class` strategy that types its `broker` argument as `Broker` calls
these without building Python objects; every error (an unknown asset id, a
non-finite quantity, a missing price) raises the same Python exception as the
Python API:

    cdef uint32_t a = broker.c_asset("AAPL")       # once, e.g. in on_start
    if broker.c_position(a) == 0:
        broker.c_buy(a, 10.0)                       # market order; returns its id (0: none)
"""

from libc.stdint cimport uint32_t, uint64_t
from nautilus_like cimport _ffi as ffi
from nautilus_like._ffi cimport NlEngine
from nautilus_like._model cimport EngineState, Order


cdef class Broker:
    cdef readonly EngineState _state
    cdef NlEngine* _engine
    cdef dict _index
    # get_position's views by asset id, reused while the position (serial) is the same.
    cdef list _positions
    cdef uint64_t* _serials
    # A standalone broker's driver (nautilus_like.standalone.Stepper); None
    # for the broker of an Engine's run.
    cdef readonly object _stepper
    # Per-asset trading statistics (nautilus_like.trading_stats.TradingStatsBook),
    # made on first use.
    cdef object _trading_stats
    # Registered trading and account controls (nautilus_like._controls.ControlBook),
    # made on the first registration: None skips every control step.
    cdef readonly object _controls

    cdef int _grow(self) except -1
    cdef int _sync(self) except -1
    cdef object _standalone(self, str step)

    cdef uint32_t _memory_slot(self, object rule) except? 0xFFFFFFFF

    cpdef object submit_order(self, object asset, object quantity, object side=*,
                              object order_type=*, object limit_price=*,
                              object stop_price=*, object trail_amount=*,
                              object time_in_force=*)
    cpdef object get_position(self, object asset)
    cpdef double get_cash(self) except? -1.0
    cpdef double get_account_value(self) except? -1.0

    cdef object _trade(self, ffi.NlTrade* t)
    cdef object _stats_book(self)
    cdef object _control_book(self)
    cdef object _check_order(self, uint32_t asset, double signed_quantity, uint64_t replacing=*,
                             double extra_buy=*, double extra_sell=*)

    # The public C API: asset ids instead of names, floats instead of objects.
    cdef uint32_t c_asset(self, str asset) except? 0xFFFFFFFF
    cdef double c_position(self, uint32_t asset) except? -1.0
    cdef double c_cash(self) except? -1.0
    cdef double c_equity(self) except? -1.0
    cdef double c_last_price(self, uint32_t asset) except? -1.0
    cdef uint64_t c_buy(self, uint32_t asset, double quantity) except? 0
    cdef uint64_t c_sell(self, uint32_t asset, double quantity) except? 0
    cdef uint64_t c_submit(self, uint32_t asset, double quantity, uint32_t side,
                           uint32_t order_type=*, double limit_price=*, double stop_price=*,
                           uint32_t time_in_force=*) except? 0
    cdef uint64_t c_submit_trailing_stop(self, uint32_t asset, double quantity, uint32_t side,
                                         double trail_amount, uint32_t time_in_force=*) except? 0
    cdef uint64_t c_submit_bracket(self, uint32_t asset, double quantity, uint32_t side,
                                   double take_profit, double stop_loss, uint64_t* out_ids,
                                   uint32_t entry_type=*, double entry_limit=*) except? 0
    cdef bint c_cancel(self, uint64_t order_id) except -1
    cdef int c_order_status(self, uint64_t order_id) except -1
