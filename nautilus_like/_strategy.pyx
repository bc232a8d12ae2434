# cython: language_level=3
"""The Strategy base class: subclass it in Python, or `cdef class` it in Cython.

    class MyStrategy(Strategy):
        def on_data(self, timestamp, data, context, broker):
            for asset, bar in data.items():
                if bar["signals"].get("go", 0) > 0.5 and broker.get_position(asset) is None:
                    broker.submit_order(asset, 10)

A Cython subclass (`cdef class Fast(Strategy)` with `cpdef on_data(...)`) is
called through the C vtable and can use the Broker's `c_*` methods.
"""

from nautilus_like._broker cimport Broker


cdef object _BASE_ON_DATA


cdef class Strategy:
    """Base class with ml4t-backtest's hooks; only `on_data` is required."""

    def __cinit__(self, *args, **kwargs):
        # ml4t-backtest's Strategy is an ABC with abstract on_data; keep that contract.
        if getattr(type(self), "on_data") is _BASE_ON_DATA:
            raise TypeError(
                f"Can't instantiate abstract class {type(self).__name__} "
                "without an implementation for abstract method 'on_data'")

    cpdef on_start(self, Broker broker):
        """Called once before the first bar (no prices yet)."""
        pass

    cpdef on_data(self, object timestamp, object data, object context, Broker broker):
        """Called once per timestamp with that timestamp's bars."""
        raise NotImplementedError

    cpdef on_end(self, Broker broker):
        """Called once after the last bar, also when the run failed."""
        pass

    def on_prepare(self, broker, config=None):
        """Called after `on_start`, before the first bar."""
        pass


# The base class's own (abstract) hook, looked up once for the check in __cinit__.
_BASE_ON_DATA = Strategy.__dict__["on_data"]
