# cython: language_level=3
"""Cython declarations of the value views shared by the other modules."""

from nautilus_like._ffi cimport NlEngine, NlStatus, NlPosition, NlFill, NlTrade, NlOrder

cdef int check(NlStatus status) except -1


cdef class EngineState:
    """Owns one Rust engine handle plus the names that translate its indices."""
    cdef NlEngine* engine
    cdef readonly list asset_names
    cdef readonly dict asset_index
    cdef readonly list timestamps

    cdef object timestamp_at(self, long bar)


cdef class Order:
    cdef readonly EngineState _state
    cdef readonly unsigned long long _id
    cdef NlOrder _get(self)


cdef class Position:
    cdef readonly str asset
    cdef readonly double quantity
    cdef readonly double entry_price
    cdef readonly object entry_time
    cdef readonly double current_price
    cdef readonly long bars_held
    cdef readonly double high_water_mark
    cdef readonly double low_water_mark
    cdef readonly double max_favorable_excursion
    cdef readonly double max_adverse_excursion
    cdef readonly double initial_quantity
    cdef readonly double entry_commission
    cdef readonly double entry_slippage
    cdef readonly double multiplier
    cdef readonly dict context


cdef class Fill:
    cdef readonly str order_id
    cdef readonly str asset
    cdef readonly object side
    cdef readonly double quantity
    cdef readonly double price
    cdef readonly object timestamp
    cdef readonly double commission
    cdef readonly double slippage
    cdef readonly str order_type
    cdef readonly str price_source
    cdef readonly object reference_price
    cdef readonly str exit_reason


cdef Position position_from(EngineState state, NlPosition* p)
cdef Fill fill_from(EngineState state, NlFill* f)
