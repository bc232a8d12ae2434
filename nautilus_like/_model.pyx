# cython: language_level=3
"""Orders, positions and fills as Python objects over the Rust engine's data.

`Order` is a live view: its status, fill price and quantity are read from the
engine on access, so an order kept by a strategy shows its current state (as an
ml4t-backtest order object does). `Position` and `Fill` are snapshots.
"""

from libc.math cimport isnan

from nautilus_like cimport _ffi as ffi
from nautilus_like.types import OrderSide, OrderStatus, OrderType

_SIDES = {ffi.ORDER_SIDE_BUY: OrderSide.BUY, ffi.ORDER_SIDE_SELL: OrderSide.SELL}
_STATUSES = {
    ffi.ORDER_STATUS_PENDING: OrderStatus.PENDING,
    ffi.ORDER_STATUS_FILLED: OrderStatus.FILLED,
    ffi.ORDER_STATUS_CANCELLED: OrderStatus.CANCELLED,
    ffi.ORDER_STATUS_REJECTED: OrderStatus.REJECTED,
}
_TYPES = {
    ffi.ORDER_TYPE_MARKET: OrderType.MARKET,
    ffi.ORDER_TYPE_LIMIT: OrderType.LIMIT,
    ffi.ORDER_TYPE_STOP: OrderType.STOP,
    ffi.ORDER_TYPE_STOP_LIMIT: OrderType.STOP_LIMIT,
    ffi.ORDER_TYPE_TRAILING_STOP: OrderType.TRAILING_STOP,
    ffi.ORDER_TYPE_MARKET_ON_CLOSE: OrderType.MOC,
}


class EngineError(RuntimeError):
    """An internal engine failure (a bug in nautilus_like, not in your input)."""


cdef int check(ffi.NlStatus status) except -1:
    """Turns a non-OK status from Rust into the matching Python exception."""
    if status == ffi.NL_STATUS_OK:
        return 0
    msg = (<bytes>ffi.nl_last_error()).decode("utf-8", "replace")
    if status == ffi.NL_STATUS_NOT_FOUND:
        raise KeyError(msg)
    if status == ffi.NL_STATUS_PANIC or status == ffi.NL_STATUS_INVALID_STATE:
        raise EngineError(msg)
    raise ValueError(msg)


def _live_handles():
    """`(engines, market_data)` alive, as seen through the C ABI from Cython."""
    cdef size_t engines = 0, market = 0
    check(ffi.nl_live_handles(&engines, &market))
    return engines, market


def _debug_panic():
    """Triggers a Rust panic behind the C ABI (tests prove it becomes an exception)."""
    check(ffi.nl_debug_panic())


cdef inline object _opt(double v):
    return None if isnan(v) else v


cdef class EngineState:
    def __cinit__(self):
        self.engine = NULL

    def __dealloc__(self):
        if self.engine is not NULL:
            ffi.nl_engine_drop(self.engine)
            self.engine = NULL

    cdef object timestamp_at(self, long bar):
        if bar < 0:
            return None
        return self.timestamps[bar]


cdef class Order:
    """An order in the engine's book (ml4t-backtest's `Order` fields)."""

    def __cinit__(self, EngineState state, unsigned long long order_id):
        self._state = state
        self._id = order_id

    cdef ffi.NlOrder _get(self):
        cdef ffi.NlOrder o
        check(ffi.nl_engine_order(self._state.engine, self._id, &o))
        return o

    @property
    def order_id(self):
        return f"ORD-{self._id}"

    @property
    def asset(self):
        return self._state.asset_names[self._get().asset]

    @property
    def side(self):
        return _SIDES[self._get().side]

    @property
    def quantity(self):
        return self._get().quantity

    @property
    def requested_quantity(self):
        return self._get().requested_quantity

    @property
    def order_type(self):
        return _TYPES[self._get().order_type]

    @property
    def limit_price(self):
        return _opt(self._get().limit_price)

    @property
    def stop_price(self):
        return _opt(self._get().stop_price)

    @property
    def trail_amount(self):
        return None

    @property
    def parent_id(self):
        return None

    @property
    def status(self):
        return _STATUSES[self._get().status]

    @property
    def created_at(self):
        return self._state.timestamp_at(self._get().created_bar)

    @property
    def filled_at(self):
        return self._state.timestamp_at(self._get().filled_bar)

    @property
    def filled_price(self):
        return _opt(self._get().filled_price)

    @property
    def filled_quantity(self):
        return self._get().filled_quantity

    @property
    def commission_paid(self):
        return self._get().commission

    @property
    def rejection_reason(self):
        cdef char* s = NULL
        check(ffi.nl_engine_order_rejection_reason(self._state.engine, self._id, &s))
        if s is NULL:
            return None
        try:
            return (<bytes>s).decode("utf-8", "replace")
        finally:
            ffi.nl_string_free(s)

    def __eq__(self, other):
        if isinstance(other, Order):
            return (<Order>other)._state is self._state and (<Order>other)._id == self._id
        return NotImplemented

    def __hash__(self):
        return hash(self._id)

    def __repr__(self):
        o = self._get()
        return (f"Order({self.order_id} {_SIDES[o.side].value} {o.quantity:g} "
                f"{self._state.asset_names[o.asset]} {_TYPES[o.order_type].value} "
                f"{_STATUSES[o.status].value})")


cdef class Position:
    """An open position (snapshot). `quantity` is signed: negative when short."""

    @property
    def market_value(self):
        return self.quantity * self.current_price * self.multiplier

    def unrealized_pnl(self, current_price=None):
        price = self.current_price if current_price is None else current_price
        return (price - self.entry_price) * self.quantity * self.multiplier

    def pnl_percent(self, current_price=None):
        price = self.current_price if current_price is None else current_price
        if self.entry_price == 0:
            return 0.0
        direction = 1.0 if self.quantity > 0 else -1.0
        return (price - self.entry_price) / self.entry_price * direction

    def notional_value(self, current_price=None):
        price = self.current_price if current_price is None else current_price
        return abs(self.quantity) * price * self.multiplier

    @property
    def side(self):
        return "long" if self.quantity > 0 else "short"

    def __repr__(self):
        return (f"Position({self.side.upper()} {abs(self.quantity):.2f} {self.asset} "
                f"@ ${self.entry_price:.2f}, current ${self.current_price:.2f})")


cdef Position position_from(EngineState state, ffi.NlPosition* p):
    cdef Position pos = Position.__new__(Position)
    pos.asset = state.asset_names[p.asset]
    pos.quantity = p.quantity
    pos.entry_price = p.entry_price
    pos.entry_time = state.timestamp_at(p.entry_bar)
    pos.current_price = p.current_price
    pos.bars_held = p.bars_held
    pos.high_water_mark = p.high_water_mark
    pos.low_water_mark = p.low_water_mark
    pos.max_favorable_excursion = p.max_favorable_excursion
    pos.max_adverse_excursion = p.max_adverse_excursion
    pos.initial_quantity = p.initial_quantity
    pos.entry_commission = p.entry_commission
    pos.entry_slippage = 0.0
    pos.multiplier = 1.0
    pos.context = {}
    return pos


cdef class Fill:
    """One execution (snapshot)."""

    def __repr__(self):
        return (f"Fill({self.order_id} {self.side.value} {self.quantity:g} {self.asset} "
                f"@ {self.price:g}, commission {self.commission:g})")


cdef Fill fill_from(EngineState state, ffi.NlFill* f):
    cdef Fill fill = Fill.__new__(Fill)
    fill.order_id = f"ORD-{f.order_id}"
    fill.asset = state.asset_names[f.asset]
    fill.side = _SIDES[f.side]
    fill.quantity = f.quantity
    fill.price = f.price
    fill.timestamp = state.timestamp_at(f.bar)
    fill.commission = f.commission
    fill.slippage = f.slippage
    fill.order_type = "market"
    fill.price_source = ""
    fill.reference_price = None
    fill.exit_reason = ""
    return fill
