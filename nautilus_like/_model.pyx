# cython: language_level=3
"""Orders, positions and fills as Python objects over the Rust engine's data.

`Order` is a live view: its status, fill price and quantity are read from the
engine on access, so an order kept by a strategy shows its current state (as an
ml4t-backtest order object does). `Position` and `Fill` are snapshots.
"""

from libc.math cimport isnan
from libc.stdint cimport uint8_t

from collections.abc import MutableMapping as _MutableMapping
from decimal import Decimal as _Decimal
from numbers import Real as _Real
from weakref import ref as _weakref

from nautilus_like cimport _ffi as ffi
from nautilus_like.types import OrderSide, OrderStatus, OrderType, TimeInForce

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
_TIFS = {
    ffi.TIME_IN_FORCE_GTC: TimeInForce.GTC,
    ffi.TIME_IN_FORCE_DAY: TimeInForce.DAY,
    ffi.TIME_IN_FORCE_IOC: TimeInForce.IOC,
    ffi.TIME_IN_FORCE_FOK: TimeInForce.FOK,
}
_CANCEL_REASONS = {
    ffi.CANCEL_REASON_USER: "user",
    ffi.CANCEL_REASON_POSITION_REVERSAL: "position_reversal",
    ffi.CANCEL_REASON_OCO: "oco",
    ffi.CANCEL_REASON_DAY_EXPIRED: "day_expired",
    ffi.CANCEL_REASON_IMMEDIATE_OR_CANCEL: "ioc",
    ffi.CANCEL_REASON_FILL_OR_KILL: "fok",
    ffi.CANCEL_REASON_INSUFFICIENT_CASH: "insufficient_cash",
    ffi.CANCEL_REASON_MARGIN_CALL: "margin_call",
    ffi.CANCEL_REASON_PORTFOLIO_LIMIT: "portfolio_limit",
}

# The exception a Python cost model raised inside a Rust call; `check` re-raises it.
cdef object _callback_error = None


cdef object take_string(char* s):
    """A Rust-allocated C string as `str` (None for null), freed here."""
    if s is NULL:
        return None
    try:
        return (<bytes>s).decode("utf-8", "replace")
    finally:
        ffi.nl_string_free(s)


cdef void store_callback_error(object exc):
    global _callback_error
    _callback_error = exc


class EngineError(RuntimeError):
    """An internal engine failure (a bug in nautilus_like, not in your input)."""


cdef int check(ffi.NlStatus status) except -1:
    """Turns a non-OK status from Rust into the matching Python exception."""
    global _callback_error
    if status == ffi.NL_STATUS_OK:
        return 0
    msg = (<bytes>ffi.nl_last_error()).decode("utf-8", "replace")
    if status == ffi.NL_STATUS_CALLBACK_FAILED and _callback_error is not None:
        exc, _callback_error = _callback_error, None
        raise exc
    if status == ffi.NL_STATUS_BUSY:
        # A callback the engine runs (a rule, a commission or slippage model)
        # called back into it; the message names the call and the callback.
        raise RuntimeError(msg)
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
        self.contexts = {}
        self.context_keys = {}
        self.rule_slots = {}
        self.rebalance_count = 0
        self.rebalance_ids = {}

    def __dealloc__(self):
        if self.engine is not NULL:
            ffi.nl_engine_drop(self.engine)
            self.engine = NULL

    cdef object timestamp_at(self, long bar):
        if bar < 0:
            return None
        return self.timestamps[bar]

    cdef unsigned int context_key(self, str name):
        """The number Rust knows the context value `name` by."""
        key = self.context_keys.get(name)
        if key is None:
            key = self.context_keys[name] = len(self.context_keys)
        return key

    def _reset_rule_memory(self, unsigned int slot):
        """Forgets what the stateful rule in `slot` remembered."""
        if self.engine is not NULL:
            check(ffi.nl_engine_reset_rule_memory(self.engine, slot))


def _context_number(value):
    """A context value as the Rust rules read it: a float, or None (absent) for
    None and anything that is not a real number (ml4t's built-in rules would
    raise comparing it; ours hold, as for a missing value)."""
    if isinstance(value, (int, float, _Real, _Decimal)):
        return float(value)
    return None


class PositionContext(_MutableMapping):
    """A position's `context` (ml4t-backtest's `Position.context` dict): values
    the strategy attaches with `broker.update_position_context(asset, {...})`
    or by assignment, read by `VolatilityStop` (an ATR), `SignalExit` (an exit
    signal) and Python rules (`state.context`). A new position starts empty.

    Number values are copied into the engine, where the rules read them.
    """

    __slots__ = ("_values", "_state", "_asset", "_serial")

    def __init__(self, EngineState state, unsigned int asset, unsigned long long serial):
        self._values = {}
        self._state = _weakref(state)
        self._asset = asset
        self._serial = serial

    def _sync(self, key, value):
        cdef EngineState state = self._state()
        cdef uint8_t applied = 0
        if state is None or state.engine is NULL or not isinstance(key, str):
            return
        number = _context_number(value)
        check(ffi.nl_engine_set_position_context(
            state.engine, self._asset, self._serial, state.context_key(key),
            0.0 if number is None else number, number is not None, &applied))

    def __getitem__(self, key):
        return self._values[key]

    def __setitem__(self, key, value):
        self._values[key] = value
        self._sync(key, value)

    def __delitem__(self, key):
        del self._values[key]
        self._sync(key, None)

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return repr(self._values)


cdef object context_of(EngineState state, unsigned int asset, unsigned long long serial):
    """The context of `asset`'s position `serial` (kept per asset for its latest position)."""
    ctx = state.contexts.get(asset)
    if ctx is not None and ctx._serial == serial:
        return ctx
    ctx = PositionContext(state, asset, serial)
    if asset not in state.contexts or state.contexts[asset]._serial < serial:
        state.contexts[asset] = ctx
    return ctx


cdef class Order:
    """An order in the engine's book (ml4t-backtest's `Order` fields)."""

    def __cinit__(self, EngineState state, unsigned long long order_id):
        self._state = state
        self._id = order_id
        self._frozen = False

    cdef ffi.NlOrder _get(self):
        cdef ffi.NlOrder o
        if self._frozen:
            return self._snapshot
        check(ffi.nl_engine_order(self._state.engine, self._id, &o))
        return o

    cdef Order frozen_copy(self):
        """A copy that keeps today's values (what `get_orders()` returns, as ml4t copies)."""
        cdef Order copy = Order(self._state, self._id)
        copy._snapshot = self._get()
        copy._snapshot_reason = self.rejection_reason
        copy._frozen = True
        return copy

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
        return _opt(self._get().trail_amount)

    @property
    def stop_triggered(self):
        return self._get().stop_triggered_bar >= 0

    @property
    def stop_triggered_at(self):
        return self._state.timestamp_at(self._get().stop_triggered_bar)

    @property
    def parent_id(self):
        """The bracket entry's id for a bracket exit, else None."""
        cdef unsigned long long parent = self._get().parent_id
        return f"ORD-{parent}" if parent else None

    @property
    def rebalance_id(self):
        """The rebalance ("rebalance-<n>") that submitted this order, else None."""
        return self._state.rebalance_ids.get(self._id)

    @property
    def time_in_force(self):
        return _TIFS[self._get().time_in_force]

    @property
    def cancelled_at(self):
        return self._state.timestamp_at(self._get().cancelled_bar)

    @property
    def cancellation_reason(self):
        """Why the order was cancelled: "user", "position_reversal", "oco" (a bracket
        sibling filled), "day_expired", "ioc" or "fok"; None unless cancelled."""
        cdef int reason = self._get().cancel_reason
        return _CANCEL_REASONS[reason] if reason >= 0 else None

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
        if self._frozen:
            return self._snapshot_reason
        cdef char* s = NULL
        check(ffi.nl_engine_order_rejection_reason(self._state.engine, self._id, &s))
        return take_string(s)

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
    """An open position (ml4t-backtest's `Position` fields). `quantity` is signed.

    A live view, like ml4t's object: while the position stays open its fields
    follow the engine (quantity after adds, marks, bars held). Once it is
    closed or reversed, the object keeps the values it last showed.
    """

    cdef ffi.NlPosition* _fresh(self) except NULL:
        cdef ffi.NlPosition p
        cdef uint8_t found = 0
        if self._open:
            check(ffi.nl_engine_position(self._state.engine, self._last.asset, &p, &found))
            if found and p.serial == self._last.serial:
                self._last = p
            else:
                # Closed or reversed since: freeze at its state just before that fill.
                self._open = False
                check(ffi.nl_engine_closed_position(self._state.engine, self._last.serial, &p, &found))
                if found:
                    self._last = p
        return &self._last

    @property
    def quantity(self):
        return self._fresh().quantity

    @property
    def context(self):
        """Values the strategy attached to this position (a `PositionContext`)."""
        if self._context is None:
            self._context = context_of(self._state, self._last.asset, self._last.serial)
        return self._context

    @property
    def entry_price(self):
        return self._fresh().entry_price

    @property
    def entry_time(self):
        return self._state.timestamp_at(self._fresh().entry_bar)

    @property
    def current_price(self):
        return self._fresh().current_price

    @property
    def bars_held(self):
        return self._fresh().bars_held

    @property
    def high_water_mark(self):
        return self._fresh().high_water_mark

    @property
    def low_water_mark(self):
        return self._fresh().low_water_mark

    @property
    def max_favorable_excursion(self):
        return self._fresh().max_favorable_excursion

    @property
    def max_adverse_excursion(self):
        return self._fresh().max_adverse_excursion

    @property
    def initial_quantity(self):
        return self._fresh().initial_quantity

    @property
    def entry_commission(self):
        return self._fresh().entry_commission

    @property
    def entry_slippage(self):
        return self._fresh().entry_slippage

    @property
    def multiplier(self):
        return self._state.multipliers[self._last.asset]

    @property
    def market_value(self):
        p = self._fresh()
        return p.quantity * p.current_price * self.multiplier

    def unrealized_pnl(self, current_price=None):
        p = self._fresh()
        price = p.current_price if current_price is None else current_price
        return (price - p.entry_price) * p.quantity * self.multiplier

    def pnl_percent(self, current_price=None):
        p = self._fresh()
        price = p.current_price if current_price is None else current_price
        if p.entry_price == 0:
            return 0.0
        raw = (price - p.entry_price) / p.entry_price
        return raw if p.quantity >= 0 else -raw

    def notional_value(self, current_price=None):
        p = self._fresh()
        price = p.current_price if current_price is None else current_price
        return abs(p.quantity) * price * self.multiplier

    @property
    def side(self):
        return "long" if self._fresh().quantity > 0 else "short"

    def __repr__(self):
        p = self._fresh()
        return (f"Position({self.side.upper()} {abs(p.quantity):.2f} {self.asset} "
                f"@ ${p.entry_price:.2f}, current ${p.current_price:.2f})")


cdef Position position_from(EngineState state, ffi.NlPosition* p):
    cdef Position pos = Position.__new__(Position)
    pos._state = state
    pos.asset = state.asset_names[p.asset]
    pos._last = p[0]
    pos._open = True
    return pos


cdef class Fill:
    """One execution (snapshot)."""

    def __repr__(self):
        return (f"Fill({self.order_id} {self.side.value} {self.quantity:g} {self.asset} "
                f"@ {self.price:g}, commission {self.commission:g})")


# ExitReason codes -> ml4t's exit_reason strings.
EXIT_REASONS = {0: "signal", 1: "stop_loss", 2: "take_profit", 3: "trailing_stop", 4: "time_stop",
                5: "risk_liquidation", 6: "end_of_data", 7: "margin_call"}

# ExecutionPrice codes -> ml4t's price_source strings.
PRICE_SOURCES = {0: "open", 1: "close", 2: "price", 3: "mid", 4: "vwap", 5: "bid", 6: "ask",
                 7: "quote_mid", 8: "quote_side"}


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
    fill.available_size = f.available_size
    fill.order_type = _TYPES[f.order_type].value
    fill.limit_price = _opt(f.limit_price)
    fill.stop_price = _opt(f.stop_price)
    fill.stop_triggered_at = state.timestamp_at(f.stop_triggered_bar)
    fill.price_source = PRICE_SOURCES[f.price_source]
    fill.quote_mid_price = _opt(f.quote_mid)
    fill.bid_price = _opt(f.bid)
    fill.ask_price = _opt(f.ask)
    fill.spread = None if isnan(f.bid) or isnan(f.ask) else f.ask - f.bid
    fill.bid_size = _opt(f.bid_size)
    fill.ask_size = _opt(f.ask_size)
    fill.reference_price = f.reference_price
    fill.exit_reason = EXIT_REASONS[f.exit_reason] if f.is_exit else ""
    fill.rebalance_id = state.rebalance_ids.get(f.order_id)
    return fill
