# cython: language_level=3
"""Declarations of the Strategy base class; public through
`from nautilus_like cimport Strategy` (see nautilus_like/__init__.pxd)."""

from nautilus_like._broker cimport Broker


cdef class Strategy:
    cpdef on_start(self, Broker broker)
    cpdef on_data(self, object timestamp, object data, object context, Broker broker)
    cpdef on_end(self, Broker broker)
    # Event hooks (beyond ml4t-backtest); default no-ops.
    cpdef on_fill(self, object fill)
    cpdef on_order_rejected(self, object order)
    cpdef on_order_cancelled(self, object order)
    cpdef on_position_closed(self, object trade)
