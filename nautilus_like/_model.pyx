# cython: language_level=3
"""Orders, positions and fills as Python objects over the Rust engine's data.

`Order` is a live view: its status, fill price and quantity are read from the
engine on access, so an order kept by a strategy shows its current state (as an
ml4t-backtest order object does). `Position` and `Fill` are snapshots.
"""

from libc.math cimport NAN, isnan
from libc.stdint cimport int32_t, int64_t, uint8_t

from collections.abc import MutableMapping as _MutableMapping
from datetime import datetime as _datetime, timezone as _timezone
from decimal import Decimal as _Decimal
from enum import Enum as _Enum
from numbers import Real as _Real
from weakref import ref as _weakref

from nautilus_like cimport _ffi as ffi
from nautilus_like import _ml4t_values as _ml4t
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
    ffi.CANCEL_REASON_SESSION_END: "session_end",
    ffi.CANCEL_REASON_IMMEDIATE_OR_CANCEL: "ioc",
    ffi.CANCEL_REASON_FILL_OR_KILL: "fok",
    ffi.CANCEL_REASON_INSUFFICIENT_CASH: "insufficient_cash",
    ffi.CANCEL_REASON_MARGIN_CALL: "margin_call",
    ffi.CANCEL_REASON_PORTFOLIO_LIMIT: "portfolio_limit",
}
# The engine's refusal classes (ml4t's `Order.rejection_code` names).
_REJECTION_CODES = {
    ffi.REJECTION_CODE_INSUFFICIENT_CASH: "insufficient_cash",
    ffi.REJECTION_CODE_INSUFFICIENT_BUYING_POWER: "insufficient_buying_power",
    ffi.REJECTION_CODE_ACCOUNT_RESTRICTION: "account_restriction",
    ffi.REJECTION_CODE_QUANTITY_ROUNDS_TO_ZERO: "quantity_rounds_to_zero",
    ffi.REJECTION_CODE_PRICE_UNAVAILABLE: "price_unavailable",
    ffi.REJECTION_CODE_PORTFOLIO_LIMIT: "portfolio_limit",
    ffi.REJECTION_CODE_VENUE_REJECTED: "venue_rejected",
}

# User-named one-cancels-other groups are numbered from here (order ids stay below).
_USER_GROUPS = 1 << 63

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
        self.order_groups = {}

    def __dealloc__(self):
        if self.engine is not NULL:
            ffi.nl_engine_drop(self.engine)
            self.engine = NULL

    cdef object time_at(self, int64_t t):
        """The feed's own timestamp object for engine time `t` (nanoseconds on
        the feed's clock), None for `NL_NO_TIME`. A time between bars (a
        venue's report) becomes a UTC datetime."""
        if t == ffi.NL_NO_TIME:
            return None
        if self.stream_times is not None:
            known = self.stream_times.get(t)
            return _datetime.fromtimestamp(t / 1e9, tz=_timezone.utc) if known is None else known
        cdef Py_ssize_t lo = 0, hi = self.clock.shape[0], mid
        while lo < hi:
            mid = (lo + hi) // 2
            if self.clock[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.clock.shape[0] and self.clock[lo] == t:
            return self.timestamps[lo]
        return _datetime.fromtimestamp(t / 1e9, tz=_timezone.utc)

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


cdef str _text(object value):
    """An enum member's value, else repr (for reprs that must not fail)."""
    return value.value if isinstance(value, _Enum) else repr(value)


cdef class Order:
    """An order (ml4t-backtest's `Order` fields).

    An order of an engine is a live view: its status, fill price and quantity
    are read from the engine on access, as an ml4t-backtest order object shows
    its current state. `Order(asset, side, quantity, ...)` with ml4t's
    signature builds a detached order that holds the values it was given.
    """

    def __cinit__(self, *args, **kwargs):
        self._frozen = False

    def __init__(self, *args, **kwargs):
        if len(args) == 2 and not kwargs and type(args[0]) is EngineState:
            # An engine's order (what the Broker returns).
            if (<EngineState>args[0]).engine is NULL:
                raise ValueError("Order: the engine state has no engine")
            self._state = args[0]
            self._id = args[1]
            self._values = None
            return
        self._state = None
        self._id = 0
        self._values = _ml4t.order_fields(args, kwargs)

    cdef ffi.NlOrder _get(self):
        cdef ffi.NlOrder o
        if self._frozen:
            return self._snapshot
        if self._state is None:
            raise TypeError("Order: a detached order has no engine values")
        check(ffi.nl_engine_order(self._state.engine, self._id, &o))
        return o

    cdef Order frozen_copy(self):
        """A copy that keeps today's values (what `get_orders()` returns, as ml4t copies)."""
        cdef Order copy = Order.__new__(Order)
        copy._state = self._state
        copy._id = self._id
        if self._values is not None:
            copy._values = dict(self._values)
            return copy
        copy._snapshot = self._get()
        copy._snapshot_reason = self.rejection_reason
        copy._snapshot_code = self.rejection_code
        copy._frozen = True
        return copy

    cdef object _detached(self, str name):
        """A detached order's field (None on a bare `Order.__new__(Order)`)."""
        return None if self._values is None else self._values.get(name)

    @property
    def order_id(self):
        if self._state is None:
            return self._detached("order_id")
        return f"ORD-{self._id}"

    @property
    def asset(self):
        if self._state is None:
            return self._detached("asset")
        return self._state.asset_names[self._get().asset]

    @property
    def side(self):
        if self._state is None:
            return self._detached("side")
        return _SIDES[self._get().side]

    @property
    def quantity(self):
        if self._state is None:
            return self._detached("quantity")
        return self._get().quantity

    @property
    def requested_quantity(self):
        if self._state is None:
            return self._detached("requested_quantity")
        return self._get().requested_quantity

    @property
    def order_type(self):
        if self._state is None:
            return self._detached("order_type")
        return _TYPES[self._get().order_type]

    @property
    def limit_price(self):
        if self._state is None:
            return self._detached("limit_price")
        return _opt(self._get().limit_price)

    @property
    def stop_price(self):
        if self._state is None:
            return self._detached("stop_price")
        return _opt(self._get().stop_price)

    @property
    def trail_amount(self):
        if self._state is None:
            return self._detached("trail_amount")
        return _opt(self._get().trail_amount)

    @property
    def stop_triggered(self):
        if self._state is None:
            return bool(self._detached("_stop_triggered"))
        return self._get().stop_triggered_at != ffi.NL_NO_TIME

    @property
    def stop_triggered_at(self):
        if self._state is None:
            return self._detached("_stop_triggered_at")
        return self._state.time_at(self._get().stop_triggered_at)

    @property
    def parent_id(self):
        """The bracket entry's id for a bracket exit, else None. Assignable,
        as in ml4t-backtest: orders given the same `parent_id` (any string)
        are one-cancels-other, when one fills completely the engine cancels
        the others; None takes the order out of its group."""
        if self._state is None:
            return self._detached("parent_id")
        cdef unsigned long long parent = self._get().parent_id
        if parent == 0:
            return None
        if parent >= _USER_GROUPS:
            for name, group in self._state.order_groups.items():
                if group == parent:
                    return name
        return f"ORD-{parent}"

    @parent_id.setter
    def parent_id(self, value):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"parent_id must be a str or None, got {value!r}")
        if self._state is None:
            if self._values is None:
                raise TypeError("Order: an uninitialised order has no parent_id")
            self._values["parent_id"] = value
            return
        if self._frozen:
            raise AttributeError("parent_id of an order copy (get_orders()) cannot be set; set it on the "
                                 "order submit_order returned")
        cdef unsigned long long group = 0
        if value is not None:
            if value.startswith("ORD-") and value[4:].isdigit() and 0 < int(value[4:]) < _USER_GROUPS:
                group = int(value[4:])
            else:
                groups = self._state.order_groups
                group = groups.setdefault(value, _USER_GROUPS + len(groups))
        check(ffi.nl_engine_set_order_group(self._state.engine, self._id, group))

    @property
    def rebalance_id(self):
        """The rebalance ("rebalance-<n>") that submitted this order, else None."""
        if self._state is None:
            return self._detached("rebalance_id")
        return self._state.rebalance_ids.get(self._id)

    @property
    def time_in_force(self):
        if self._state is None:
            return None if self._values is None else TimeInForce.GTC
        return _TIFS[self._get().time_in_force]

    @property
    def cancelled_at(self):
        if self._state is None:
            return self._detached("cancelled_at")
        return self._state.time_at(self._get().cancelled_at)

    @property
    def cancellation_reason(self):
        """Why the order was cancelled: "user", "position_reversal", "oco" (a bracket
        sibling filled), "day_expired", "ioc" or "fok"; None unless cancelled."""
        if self._state is None:
            return self._detached("cancellation_reason")
        cdef int reason = self._get().cancel_reason
        return _CANCEL_REASONS[reason] if reason >= 0 else None

    @property
    def status(self):
        if self._state is None:
            return self._detached("status")
        return _STATUSES[self._get().status]

    @property
    def created_at(self):
        if self._state is None:
            return self._detached("created_at")
        return self._state.time_at(self._get().created_at)

    @property
    def filled_at(self):
        if self._state is None:
            return self._detached("filled_at")
        return self._state.time_at(self._get().filled_at)

    @property
    def filled_price(self):
        if self._state is None:
            return self._detached("filled_price")
        return _opt(self._get().filled_price)

    @property
    def filled_quantity(self):
        if self._state is None:
            return self._detached("filled_quantity")
        return self._get().filled_quantity

    @property
    def commission_paid(self):
        if self._state is None:
            return self._detached("commission_paid")
        return self._get().commission

    @property
    def rejection_reason(self):
        if self._state is None:
            return self._detached("rejection_reason")
        if self._frozen:
            return self._snapshot_reason
        cdef char* s = NULL
        check(ffi.nl_engine_order_rejection_reason(self._state.engine, self._id, &s))
        return take_string(s)

    @rejection_reason.setter
    def rejection_reason(self, value):
        # A detached order is a plain value (ml4t's dataclass); an engine's is not.
        if self._state is not None or self._values is None:
            raise AttributeError("rejection_reason of an engine's order is read-only")
        if value is not None and not isinstance(value, str):
            raise TypeError(f"Order: rejection_reason must be a str or None, got {value!r}")
        self._values["rejection_reason"] = value

    @property
    def _rejection_code(self):
        """The refusal class the engine decided (a detached order: the one it was
        given), None when not rejected."""
        if self._state is None:
            return self._detached("_rejection_code")
        if self._frozen:
            return self._snapshot_code
        if self._get().status != ffi.ORDER_STATUS_REJECTED:
            return None
        cdef int32_t code = -1
        check(ffi.nl_engine_order_rejection_code(self._state.engine, self._id, &code))
        return _REJECTION_CODES.get(code)

    @property
    def rejection_code(self):
        """Why a rejected order was refused, as a stable name ("insufficient_cash",
        "insufficient_buying_power", "account_restriction", "quantity_rounds_to_zero",
        "price_unavailable", ...); None unless rejected. A detached order without
        a given code is classified from its `rejection_reason` text, as ml4t does."""
        if self._state is None:
            if self._values is None:
                return None
            return _ml4t.rejection_code(self._values["status"], self._values["rejection_reason"],
                                        self._values.get("_rejection_code"))
        return self._rejection_code

    def __eq__(self, other):
        if not isinstance(other, Order):
            return NotImplemented
        if self._state is None or (<Order>other)._state is None:
            # Detached orders compare by value, as ml4t's dataclass does.
            return self is other or (self._values is not None and self._values == (<Order>other)._values)
        return (<Order>other)._state is self._state and (<Order>other)._id == self._id

    def __hash__(self):
        if self._state is None:
            # ml4t's Order is a mutable dataclass: unhashable.
            raise TypeError("unhashable type: 'Order' (a detached order)")
        return hash(self._id)

    def __reduce__(self):
        # copy/deepcopy/pickle give a detached order with today's values.
        if self._state is None:
            if self._values is None:
                raise TypeError("cannot copy an uninitialised Order")
            return (_ml4t.rebuild, (Order, dict(self._values)))
        return (_ml4t.rebuild, (Order, dict(
            asset=self.asset, side=self.side, quantity=self.quantity, order_type=self.order_type,
            limit_price=self.limit_price, stop_price=self.stop_price, trail_amount=self.trail_amount,
            parent_id=self.parent_id, rebalance_id=self.rebalance_id, order_id=self.order_id,
            status=self.status, created_at=self.created_at, filled_at=self.filled_at,
            filled_price=self.filled_price, filled_quantity=self.filled_quantity,
            rejection_reason=self.rejection_reason,
            requested_quantity=self.requested_quantity,
            commission_paid=self.commission_paid, cancelled_at=self.cancelled_at,
            cancellation_reason=self.cancellation_reason, _stop_triggered=self.stop_triggered,
            _stop_triggered_at=self.stop_triggered_at, _rejection_code=self._rejection_code)))

    def __repr__(self):
        if self._state is None:
            if self._values is None:
                return "Order(<uninitialised>)"
            v = self._values
            return (f"Order({v['order_id'] or '-'} {_text(v['side'])} {v['quantity']:g} {v['asset']} "
                    f"{_text(v['order_type'])} {_text(v['status'])})")
        o = self._get()
        return (f"Order({self.order_id} {_SIDES[o.side].value} {o.quantity:g} "
                f"{self._state.asset_names[o.asset]} {_TYPES[o.order_type].value} "
                f"{_STATUSES[o.status].value})")


cdef class Position:
    """An open position (ml4t-backtest's `Position` fields). `quantity` is signed.

    An engine's position is a live view, like ml4t's object: while the position
    stays open its fields follow the engine (quantity after adds, marks, bars
    held). Once it is closed or reversed, the object keeps the values it last
    showed. `Position(asset, quantity, entry_price, entry_time, ...)` with
    ml4t's signature builds a detached position holding the values given; its
    `market_value`, `unrealized_pnl()` and `pnl_percent()` use the same Rust
    formulas as an engine's.
    """

    def __init__(self, *args, **kwargs):
        v = _ml4t.bind("Position", _ml4t.POSITION, args, kwargs)
        if not isinstance(v["asset"], str):
            raise TypeError(f"Position: asset must be a str, got {v['asset']!r}")
        for name in ("quantity", "entry_price", "max_favorable_excursion", "max_adverse_excursion",
                     "multiplier", "entry_commission", "entry_slippage"):
            v[name] = _ml4t.number("Position", name, v[name], False)
        for name in ("current_price", "high_water_mark", "low_water_mark", "initial_quantity",
                     "variation_basis", "_commission_adjusted_cost_basis"):
            v[name] = _ml4t.number("Position", name, v[name], True)
        bars = v["bars_held"]
        if isinstance(bars, bool) or not isinstance(bars, int) or not 0 <= bars <= 0xFFFFFFFF:
            raise ValueError(f"Position: bars_held must be an int in 0..4294967295, got {bars!r}")
        context = v["context"]
        if context is None:
            context = {}
        elif not isinstance(context, dict):
            raise TypeError(f"Position: context must be a dict, got {context!r}")
        # ml4t's __post_init__: marks and the initial size default to the entry.
        cdef ffi.NlPosition p
        p.asset = 0
        p.serial = 0
        p.quantity = v["quantity"]
        p.entry_price = v["entry_price"]
        p.current_price = p.entry_price if v["current_price"] is None else v["current_price"]
        p.high_water_mark = p.entry_price if v["high_water_mark"] is None else v["high_water_mark"]
        p.low_water_mark = p.entry_price if v["low_water_mark"] is None else v["low_water_mark"]
        p.initial_quantity = p.quantity if v["initial_quantity"] is None else v["initial_quantity"]
        basis = v["_commission_adjusted_cost_basis"]
        p.cost_basis = p.entry_price if basis is None else _ml4t.number(
            "Position", "_commission_adjusted_cost_basis", basis, False)
        p.bars_held = bars
        p.entry_time = 0
        p.max_favorable_excursion = v["max_favorable_excursion"]
        p.max_adverse_excursion = v["max_adverse_excursion"]
        p.entry_commission = v["entry_commission"]
        p.entry_slippage = v["entry_slippage"]
        self._state = None
        self._open = False
        self._last = p
        self.asset = v["asset"]
        self._context = context
        self._values = {"entry_time": v["entry_time"], "multiplier": v["multiplier"],
                        "variation_basis": v["variation_basis"],
                        "commission_adjusted_cost_basis": v["_commission_adjusted_cost_basis"]}

    def __dealloc__(self):
        # The engine no longer needs to keep this view's position. (Busy in a
        # callback, or already dropped: then the copy simply stays.)
        if self._kept and self._state is not None and self._state.engine is not NULL:
            ffi.nl_engine_release_position(self._state.engine, self._last.serial)

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

    cdef object _detached(self, str name):
        """A detached position's field (None on a bare `Position.__new__(Position)`)."""
        return None if self._values is None else self._values.get(name)

    cdef ffi.NlPositionValues _valued(self, object current_price) except *:
        """The Rust valuation at `current_price` (None: the position's own mark)."""
        cdef ffi.NlPositionValues out
        cdef ffi.NlPosition* p = self._fresh()
        cdef double price = p.current_price
        cdef double multiplier, basis = NAN
        if current_price is not None:
            price = _ml4t.number("Position", "current_price", current_price, False)
        if self._state is not None:
            multiplier = self._state.multipliers[p.asset]
        else:
            multiplier = self.multiplier
            given = self._detached("variation_basis")
            if given is not None:
                basis = given
        check(ffi.nl_position_values(p.quantity, p.entry_price, price, multiplier, basis, &out))
        return out

    @property
    def quantity(self):
        return self._fresh().quantity

    @quantity.setter
    def quantity(self, value):
        self._settable("quantity")
        self._last.quantity = _ml4t.number("Position", "quantity", value, False)

    @property
    def context(self):
        """Values the strategy attached to this position (a `PositionContext`;
        a plain dict on a detached position)."""
        if self._context is None:
            if self._state is None:
                self._context = {}
            else:
                self._context = context_of(self._state, self._last.asset, self._last.serial)
        return self._context

    @property
    def entry_price(self):
        return self._fresh().entry_price

    @entry_price.setter
    def entry_price(self, value):
        self._settable("entry_price")
        self._last.entry_price = _ml4t.number("Position", "entry_price", value, False)

    cdef _settable(self, str name):
        """Only a detached position's fields can be set (an engine's follow the engine)."""
        if self._state is not None:
            raise AttributeError(f"Position.{name}: an engine's position follows the engine and cannot be "
                                 f"set; copy.copy(position) gives a detached one that can")

    def update_water_marks(self, current_price, bar_high=None, bar_low=None, use_high_for_hwm=False,
                           use_low_for_lwm=False):
        """Marks a detached position at `current_price` and moves its water
        marks and excursions (ml4t's `Position.update_water_marks`): the high
        mark from `bar_high` when `use_high_for_hwm`, else the price; the low
        mark likewise. The engine's own rule (Rust) decides."""
        self._settable("update_water_marks()")
        from nautilus_like import _rust

        close = _ml4t.number("Position", "current_price", current_price, False)
        up = _ml4t.number("Position", "bar_high", bar_high, False) if use_high_for_hwm and bar_high is not None else close
        down = _ml4t.number("Position", "bar_low", bar_low, False) if use_low_for_lwm and bar_low is not None else close
        cdef ffi.NlPosition* p = &self._last
        (p.high_water_mark, p.low_water_mark, p.max_favorable_excursion,
         p.max_adverse_excursion) = _rust.position_water_marks(
            p.quantity, p.entry_price, p.high_water_mark, p.low_water_mark, p.max_favorable_excursion,
            p.max_adverse_excursion, close, up, down)
        p.current_price = close

    @property
    def entry_time(self):
        if self._state is None:
            return self._detached("entry_time")
        return self._state.time_at(self._fresh().entry_time)

    @property
    def current_price(self):
        return self._fresh().current_price

    @current_price.setter
    def current_price(self, value):
        # Marks a detached position (ml4t's AccountState.mark_to_market); None
        # marks it at its entry price, as construction does.
        self._settable("current_price")
        price = _ml4t.number("Position", "current_price", value, True)
        self._last.current_price = self._last.entry_price if price is None else price

    @property
    def bars_held(self):
        return self._fresh().bars_held

    @bars_held.setter
    def bars_held(self, value):
        self._settable("bars_held")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"Position: bars_held must be an int in 0..4294967295, got {value!r}")
        self._last.bars_held = value

    @property
    def high_water_mark(self):
        return self._fresh().high_water_mark

    @high_water_mark.setter
    def high_water_mark(self, value):
        self._settable("high_water_mark")
        self._last.high_water_mark = _ml4t.number("Position", "high_water_mark", value, False)

    @property
    def low_water_mark(self):
        return self._fresh().low_water_mark

    @low_water_mark.setter
    def low_water_mark(self, value):
        self._settable("low_water_mark")
        self._last.low_water_mark = _ml4t.number("Position", "low_water_mark", value, False)

    @property
    def max_favorable_excursion(self):
        return self._fresh().max_favorable_excursion

    @max_favorable_excursion.setter
    def max_favorable_excursion(self, value):
        self._settable("max_favorable_excursion")
        self._last.max_favorable_excursion = _ml4t.number("Position", "max_favorable_excursion", value, False)

    @property
    def max_adverse_excursion(self):
        return self._fresh().max_adverse_excursion

    @max_adverse_excursion.setter
    def max_adverse_excursion(self, value):
        self._settable("max_adverse_excursion")
        self._last.max_adverse_excursion = _ml4t.number("Position", "max_adverse_excursion", value, False)

    @property
    def initial_quantity(self):
        return self._fresh().initial_quantity

    @initial_quantity.setter
    def initial_quantity(self, value):
        self._settable("initial_quantity")
        self._last.initial_quantity = _ml4t.number("Position", "initial_quantity", value, False)

    @property
    def entry_commission(self):
        return self._fresh().entry_commission

    @entry_commission.setter
    def entry_commission(self, value):
        self._settable("entry_commission")
        self._last.entry_commission = _ml4t.number("Position", "entry_commission", value, False)

    @property
    def entry_slippage(self):
        return self._fresh().entry_slippage

    @entry_slippage.setter
    def entry_slippage(self, value):
        self._settable("entry_slippage")
        self._last.entry_slippage = _ml4t.number("Position", "entry_slippage", value, False)

    @property
    def multiplier(self):
        if self._state is None:
            m = self._detached("multiplier")
            return 1.0 if m is None else m
        return self._state.multipliers[self._last.asset]

    @property
    def variation_basis(self):
        return self._detached("variation_basis")

    @property
    def commission_adjusted_cost_basis(self):
        """Reporting basis with each fill's fee spread over the remaining
        signed units (the engine's; a hand-built position's given one, else
        its entry price). Never used for P&L."""
        if self._state is not None:
            return self._fresh().cost_basis
        basis = self._detached("commission_adjusted_cost_basis")
        return self._fresh().entry_price if basis is None else basis

    @property
    def market_value(self):
        return self._valued(None).market_value

    def unrealized_pnl(self, current_price=None):
        return self._valued(current_price).unrealized_pnl

    def pnl_percent(self, current_price=None):
        return self._valued(current_price).pnl_percent

    def notional_value(self, current_price=None):
        return self._valued(current_price).notional_value

    @property
    def side(self):
        return "long" if self._fresh().quantity > 0 else "short"

    def __reduce__(self):
        # copy/deepcopy/pickle give a detached position with today's values.
        p = self._fresh()
        return (_ml4t.rebuild, (Position, dict(
            asset=self.asset, quantity=p.quantity, entry_price=p.entry_price, entry_time=self.entry_time,
            current_price=p.current_price, bars_held=p.bars_held, high_water_mark=p.high_water_mark,
            low_water_mark=p.low_water_mark, max_favorable_excursion=p.max_favorable_excursion,
            max_adverse_excursion=p.max_adverse_excursion, initial_quantity=p.initial_quantity,
            context=dict(self.context), multiplier=self.multiplier, entry_commission=p.entry_commission,
            entry_slippage=p.entry_slippage, variation_basis=self.variation_basis,
            _commission_adjusted_cost_basis=self._detached("commission_adjusted_cost_basis"))))

    def __repr__(self):
        p = self._fresh()
        return (f"Position({self.side.upper()} {abs(p.quantity):.2f} {self.asset} "
                f"@ ${p.entry_price:.2f}, current ${p.current_price:.2f}, PnL ${self.unrealized_pnl():+.2f})")


cdef Position position_from(EngineState state, ffi.NlPosition* p):
    # The engine copies a position when it ends only while a view of it
    # exists: this one (see Position._fresh), until it is freed.
    check(ffi.nl_engine_keep_when_closed(state.engine, p.serial))
    cdef Position pos = Position.__new__(Position)
    pos._state = state
    pos._kept = True
    pos.asset = state.asset_names[p.asset]
    pos._last = p[0]
    pos._open = True
    return pos


cdef class Fill:
    """One execution (a snapshot). `Fill(order_id, asset, side, quantity, price,
    timestamp, ...)` with ml4t's signature builds one by hand."""

    def __init__(self, *args, **kwargs):
        v = _ml4t.bind("Fill", _ml4t.FILL, args, kwargs)
        for name in ("order_id", "asset", "order_type", "price_source", "exit_reason"):
            if not isinstance(v[name], str):
                raise TypeError(f"Fill: {name} must be a str, got {v[name]!r}")
        if v["rebalance_id"] is not None and not isinstance(v["rebalance_id"], str):
            raise TypeError(f"Fill: rebalance_id must be a str or None, got {v['rebalance_id']!r}")
        for name in ("quantity", "price", "commission", "slippage"):
            v[name] = _ml4t.number("Fill", name, v[name], False)
        for name in ("limit_price", "stop_price", "reference_price", "quote_mid_price", "bid_price",
                     "ask_price", "spread", "bid_size", "ask_size", "available_size", "multiplier"):
            v[name] = _ml4t.number("Fill", name, v[name], True)
        self.order_id = v["order_id"]
        self.asset = v["asset"]
        self.side = _ml4t.member("Fill", "side", OrderSide, v["side"])
        self.quantity = v["quantity"]
        self.price = v["price"]
        self.timestamp = v["timestamp"]
        self.rebalance_id = v["rebalance_id"]
        self.commission = v["commission"]
        self.slippage = v["slippage"]
        self.order_type = v["order_type"]
        self.limit_price = v["limit_price"]
        self.stop_price = v["stop_price"]
        self.price_source = v["price_source"]
        self.reference_price = v["reference_price"]
        self.quote_mid_price = v["quote_mid_price"]
        self.bid_price = v["bid_price"]
        self.ask_price = v["ask_price"]
        self.spread = v["spread"]
        self.bid_size = v["bid_size"]
        self.ask_size = v["ask_size"]
        self.available_size = v["available_size"]
        self.exit_reason = v["exit_reason"]
        self.exit_reason_detail = v["exit_reason_detail"]
        self.target_intent_id = v["target_intent_id"]
        self.child_intent_id = v["child_intent_id"]
        self.intent_idempotency_key = v["intent_idempotency_key"]
        self.multiplier = v["multiplier"]
        self.currency = v["currency"]
        self.stop_triggered_at = v["stop_triggered_at"]

    def __repr__(self):
        # Total on a bare `Fill.__new__(Fill)` too (fields None / 0).
        return (f"Fill({self.order_id} {_text(self.side)} {self.quantity:g} {self.asset} "
                f"@ {self.price:g}, commission {self.commission:g})")


# ExitReason codes (the header's) -> ml4t's exit_reason strings.
EXIT_REASONS = {
    ffi.EXIT_REASON_SIGNAL: "signal",
    ffi.EXIT_REASON_STOP_LOSS: "stop_loss",
    ffi.EXIT_REASON_TAKE_PROFIT: "take_profit",
    ffi.EXIT_REASON_TRAILING_STOP: "trailing_stop",
    ffi.EXIT_REASON_TIME_STOP: "time_stop",
    ffi.EXIT_REASON_RISK_LIQUIDATION: "risk_liquidation",
    ffi.EXIT_REASON_END_OF_DATA: "end_of_data",
    ffi.EXIT_REASON_MARGIN_CALL: "margin_call",
}

# ExecutionPrice codes (the header's) -> ml4t's price_source strings.
PRICE_SOURCES = {
    ffi.EXECUTION_PRICE_OPEN: "open",
    ffi.EXECUTION_PRICE_CLOSE: "close",
    ffi.EXECUTION_PRICE_PRICE: "price",
    ffi.EXECUTION_PRICE_MID: "mid",
    ffi.EXECUTION_PRICE_VWAP: "vwap",
    ffi.EXECUTION_PRICE_BID: "bid",
    ffi.EXECUTION_PRICE_ASK: "ask",
    ffi.EXECUTION_PRICE_QUOTE_MID: "quote_mid",
    ffi.EXECUTION_PRICE_QUOTE_SIDE: "quote_side",
}


cdef Fill fill_from(EngineState state, ffi.NlFill* f):
    cdef Fill fill = Fill.__new__(Fill)
    fill.order_id = f"ORD-{f.order_id}"
    fill.asset = state.asset_names[f.asset]
    fill.side = _SIDES[f.side]
    fill.quantity = f.quantity
    fill.price = f.price
    fill.timestamp = state.time_at(f.timestamp)
    fill.commission = f.commission
    fill.slippage = f.slippage
    fill.available_size = f.available_size
    fill.order_type = _TYPES[f.order_type].value
    fill.limit_price = _opt(f.limit_price)
    fill.stop_price = _opt(f.stop_price)
    fill.stop_triggered_at = state.time_at(f.stop_triggered_at)
    fill.price_source = PRICE_SOURCES[f.price_source]
    fill.quote_mid_price = _opt(f.quote_mid)
    fill.bid_price = _opt(f.bid)
    fill.ask_price = _opt(f.ask)
    fill.spread = None if isnan(f.bid) or isnan(f.ask) else f.ask - f.bid
    fill.bid_size = _opt(f.bid_size)
    fill.ask_size = _opt(f.ask_size)
    fill.reference_price = f.reference_price
    fill.exit_reason = EXIT_REASONS[f.exit_reason] if f.is_exit else ""
    cdef char* detail = NULL
    if f.is_exit:
        # A position rule's own words for its exit ("stop_loss_5.0%"), as the trade shows.
        check(ffi.nl_engine_order_exit_detail(state.engine, f.order_id, &detail))
        fill.exit_reason_detail = take_string(detail)
    fill.rebalance_id = state.rebalance_ids.get(f.order_id)
    # ml4t's fill carries its contract's units: the multiplier (1 without a
    # ContractSpec) and the spec's currency (None without one). `is not None`:
    # a user's spec may be false-valued.
    fill.multiplier = state.multipliers[f.asset]
    spec = state.contract_specs.get(fill.asset)
    fill.currency = spec.currency if spec is not None else None
    return fill
