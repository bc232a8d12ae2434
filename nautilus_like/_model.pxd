# cython: language_level=3
"""Cython declarations of the value views shared by the other modules."""

from libc.stdint cimport int64_t

from nautilus_like cimport _ffi as ffi
from nautilus_like._ffi cimport NlEngine, NlStatus, NlPosition, NlFill, NlTrade, NlOrder

cdef int check(NlStatus status) except -1
cdef void store_callback_error(object exc)
cdef object take_string(char* s)


cdef class EngineState:
    """Owns one Rust engine handle plus the names that translate its indices."""
    cdef NlEngine* engine
    cdef readonly list asset_names
    cdef readonly dict asset_index
    cdef readonly list timestamps
    # The engine's clock: every bar's time in nanoseconds (the times the
    # value structs carry), parallel to `timestamps`.
    cdef const int64_t[:] clock
    # A standalone broker's clock instead: engine time (ns) -> the timestamp
    # object its `_update_time` was given (None for a feed's engine).
    cdef public dict stream_times
    # The cost models the engine charges with (the broker reports them).
    cdef public object commission_model
    cdef public object slippage_model
    # Python cost models the engine calls back; kept alive as long as it.
    cdef list callbacks
    # Contract multiplier per asset index, and the specs by asset name.
    cdef readonly list multipliers
    cdef readonly dict contract_specs
    # Position contexts: asset index -> the PositionContext of its latest position.
    cdef dict contexts
    # Context value names -> the keys rules and context updates use in Rust.
    cdef dict context_keys
    # id(stateful rule object) -> its memory slot in the engine.
    cdef dict rule_slots
    cdef object __weakref__
    # Target-weight rebalances: how many have started (ids "rebalance-<n>"),
    # and the id of each order one submitted, by order number.
    cdef public long rebalance_count
    # The run's BacktestConfig (sizing helpers read share_type and policies).
    cdef public object config
    cdef public dict rebalance_ids
    # One-cancels-other groups named by the user (`order.parent_id = "b-1"`):
    # name -> the engine's group id (numbered from 2**63, apart from order ids).
    cdef dict order_groups

    cdef object time_at(self, int64_t t)
    cdef unsigned int context_key(self, str name)


cdef class Order:
    cdef readonly EngineState _state
    cdef readonly unsigned long long _id
    # A snapshot (from get_orders) keeps the values it was copied with.
    cdef bint _frozen
    cdef NlOrder _snapshot
    cdef object _snapshot_reason
    cdef object _snapshot_code
    # A detached order (built by the user with ml4t's constructor) holds its
    # own values here; None for an order of an engine.
    cdef dict _values
    cdef NlOrder _get(self)
    cdef Order frozen_copy(self)
    cdef object _detached(self, str name)


cdef class Position:
    cdef EngineState _state
    cdef readonly str asset
    cdef ffi.NlPosition _last
    cdef bint _open
    # Whether the engine keeps this view's position for it (position_from);
    # released when the view goes.
    cdef bint _kept
    cdef object _context
    # A detached position (built by the user with ml4t's constructor): its
    # entry_time, multiplier, context and variation_basis; None for an
    # engine's position (whose numbers are in `_last` either way).
    cdef dict _values
    cdef ffi.NlPosition* _fresh(self) except NULL
    cdef object _detached(self, str name)
    cdef ffi.NlPositionValues _valued(self, object current_price) except *
    cdef _settable(self, str name)


cdef class Fill:
    cdef readonly str order_id
    cdef readonly str asset
    cdef readonly object side
    cdef readonly double quantity
    cdef readonly double price
    cdef readonly object timestamp
    cdef readonly double commission
    cdef readonly double slippage
    cdef readonly object available_size
    cdef readonly str order_type
    cdef readonly object limit_price
    cdef readonly object stop_price
    cdef readonly object stop_triggered_at
    cdef readonly str price_source
    cdef readonly object reference_price
    cdef readonly object quote_mid_price
    cdef readonly object bid_price
    cdef readonly object ask_price
    cdef readonly object spread
    cdef readonly object bid_size
    cdef readonly object ask_size
    cdef readonly str exit_reason
    cdef readonly str rebalance_id
    # ml4t fields the engine does not produce (None unless given to Fill(...)).
    cdef readonly object exit_reason_detail
    cdef readonly object target_intent_id
    cdef readonly object child_intent_id
    cdef readonly object intent_idempotency_key
    cdef readonly object multiplier
    cdef readonly object currency


cdef Position position_from(EngineState state, NlPosition* p)
cdef object context_of(EngineState state, unsigned int asset, unsigned long long serial)
cdef Fill fill_from(EngineState state, NlFill* f)
