# cython: language_level=3
"""The Broker's C-level API, for strategies written in Cython.

A `cdef class` strategy that types its `broker` argument as `Broker` can call
these without building Python objects:

    cdef uint32_t a = broker.c_asset("AAPL")       # once, e.g. in on_start
    if broker.c_position(a) == 0:
        broker.c_submit(a, 10.0, ORDER_SIDE_BUY)    # market order; returns its id (0: none)
"""

from libc.stdint cimport uint32_t, uint64_t
from nautilus_like._ffi cimport NlEngine
from nautilus_like._model cimport EngineState, Order


cdef class Broker:
    cdef readonly EngineState _state
    cdef NlEngine* _engine
    cdef dict _index

    cdef uint32_t _memory_slot(self, object rule) except? 0xFFFFFFFF

    cpdef object submit_order(self, object asset, object quantity, object side=*,
                              object order_type=*, object limit_price=*,
                              object stop_price=*, object trail_amount=*,
                              object time_in_force=*)
    cpdef object get_position(self, object asset)
    cpdef double get_cash(self) except? -1.0
    cpdef double get_account_value(self) except? -1.0

    # Fast path: asset ids instead of names, floats instead of objects.
    cdef uint32_t c_asset(self, str asset) except? 0xFFFFFFFF
    cdef uint64_t c_submit(self, uint32_t asset, double quantity, uint32_t side) except? 0
    cdef double c_position(self, uint32_t asset) except? -1.0
