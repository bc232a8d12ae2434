# cython: language_level=3
"""A standalone broker's engine calls: register assets, move to new marks,
match, evaluate rules, water marks, positions set by hand.

`nautilus_like.standalone` decides what to call (ml4t-backtest's
`_update_time` argument forms, timestamps, cost routes); this module only
crosses into Rust. Every rule stays in the engine (crates/engine/src/kernel/stepped.rs).
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport NAN
from libc.stdint cimport int64_t, uint8_t, uint32_t

from nautilus_like cimport _ffi as ffi
from nautilus_like._model cimport EngineState, Position, check


def add_assets(EngineState state not None, list names not None):
    """Registers `names` (new, distinct) as the engine's next asset ids."""
    if not names:
        return
    cdef uint32_t first = 0
    check(ffi.nl_engine_add_assets(state.engine, len(names), &first))
    for i, name in enumerate(names):
        state.asset_index[name] = first + i
        state.asset_names.append(name)
        state.multipliers.append(1.0)


def step_to(EngineState state not None, int64_t timestamp, list rows not None):
    """Moves to a new bar at `timestamp` (ns); `rows` are `(asset id, open,
    high, low, close, volume, vwap, bid, ask, mid, bid size, ask size, reference
    price)`; a NaN reference price is the close."""
    cdef Py_ssize_t n = len(rows), i
    cdef ffi.NlMark* marks = <ffi.NlMark*>PyMem_Malloc(max(1, n) * sizeof(ffi.NlMark))
    if marks is NULL:
        raise MemoryError()
    try:
        for i in range(n):
            (marks[i].asset, marks[i].open, marks[i].high, marks[i].low, marks[i].close, marks[i].volume,
             marks[i].vwap, marks[i].bid, marks[i].ask, marks[i].mid, marks[i].bid_size,
             marks[i].ask_size, marks[i].price) = rows[i]
        check(ffi.nl_engine_step_to(state.engine, timestamp, marks, n))
    finally:
        PyMem_Free(marks)


def process_orders(EngineState state not None, bint use_open):
    check(ffi.nl_engine_step_process_orders(state.engine, use_open))


def position_rules(EngineState state not None):
    check(ffi.nl_engine_step_position_rules(state.engine))


def water_marks(EngineState state not None):
    check(ffi.nl_engine_step_water_marks(state.engine))


def put_position(EngineState state not None, uint32_t asset, Position position not None, int64_t entry_time):
    """Sets the engine's position in `asset` to `position`'s values, entered at `entry_time` (ns)."""
    cdef ffi.NlPosition p = position._last
    p.entry_time = entry_time
    if position._state is None:
        # A position built by hand has no opening fill: no quotes or volume.
        p.entry_available_size = NAN
        p.entry_bid = NAN
        p.entry_ask = NAN
        p.entry_mid = NAN
    check(ffi.nl_engine_put_position(state.engine, asset, &p))


def remove_position(EngineState state not None, uint32_t asset):
    """Drops the position in `asset` (no trade); True if there was one."""
    cdef uint8_t removed = 0
    check(ffi.nl_engine_remove_position(state.engine, asset, &removed))
    return bool(removed)


def set_cash(EngineState state not None, double cash):
    check(ffi.nl_engine_set_cash(state.engine, cash))
