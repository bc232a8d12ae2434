# cython: language_level=3
from nautilus_like._broker cimport Broker


cdef class Strategy:
    cpdef on_start(self, Broker broker)
    cpdef on_data(self, object timestamp, object data, object context, Broker broker)
    cpdef on_end(self, Broker broker)
