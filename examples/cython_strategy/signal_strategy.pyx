# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The benchmark's signal rule as a Cython `cdef class` strategy.

Rule, per asset and bar: buy `quantity` shares (default 10) when the signal is
> `entry` (0.5) and the position is flat; close the position when the signal is
< `exit` (-0.5) and the position is long.

It uses only nautilus_like's public C-level API (`from nautilus_like cimport
...`, declared in nautilus_like/__init__.pxd): `BarData.c_size/c_asset/c_signal`
walk the bar's rows straight from the feed's columns, and
`Broker.c_position/c_buy/c_sell` trade without Python objects per asset. Any
other mapping (e.g. a plain dict in a unit test) goes through the generic
path: `data.items()` and `bar["signals"]`.

A missing or null signal counts as "no signal": no action.

Build: see build.py next to this file (`build(target_dir)`).
"""

from libc.math cimport isnan
from libc.stdint cimport uint32_t

from nautilus_like cimport BarData, Broker, Strategy


cdef class SignalStrategy(Strategy):
    """`SignalStrategy(signal="signal", quantity=10, entry=0.5, exit=-0.5)`."""

    cdef readonly str signal
    cdef readonly double quantity, entry, exit

    def __init__(self, signal="signal", quantity=10, entry=0.5, exit=-0.5):
        self.signal = signal
        self.quantity = quantity
        self.entry = entry
        self.exit = exit

    cpdef on_data(self, object timestamp, object data, object context, Broker broker):
        if type(data) is BarData:
            self._on_bar(<BarData>data, broker)
        else:
            self._on_mapping(data, broker)

    cdef int _on_bar(self, BarData data, Broker broker) except -1:
        # Feed asset ids are the broker's asset ids, so no name lookups here.
        cdef Py_ssize_t col = data.c_signal_column(self.signal)
        if col < 0:
            return 0
        cdef Py_ssize_t i
        cdef double s
        for i in range(data.c_size()):
            s = data.c_signal(i, col)
            if not isnan(s):
                _act(self, broker, data.c_asset(i), s)
        return 0

    cdef int _on_mapping(self, object data, Broker broker) except -1:
        cdef double s
        for asset, bar in data.items():
            v = bar["signals"].get(self.signal)
            if v is not None:
                s = <double>v
                _act(self, broker, broker.c_asset(asset), s)
        return 0


# A plain C function (not a method): the per-row call is direct and inlined.
cdef inline int _act(SignalStrategy self, Broker broker, uint32_t asset, double sig) except -1:
    cdef double pos
    if sig > self.entry:
        if broker.c_position(asset) == 0.0:
            broker.c_buy(asset, self.quantity)
    elif sig < self.exit:
        pos = broker.c_position(asset)
        if pos > 0.0:
            broker.c_sell(asset, pos)
    return 0
