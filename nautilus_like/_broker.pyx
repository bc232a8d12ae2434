# cython: language_level=3
"""The Broker a strategy trades through: validates arguments, calls Rust.

Every trading rule (fills, costs, cash) lives in the Rust engine; this module
only checks arguments, translates names to indices and wraps results.
"""

from array import array
from collections.abc import Mapping
from weakref import ref as _weakref

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject_GenericSetAttr
from libc.math cimport NAN, isfinite
from libc.stdint cimport int32_t, uint8_t, int64_t, uint32_t, uint64_t

from nautilus_like cimport _ffi as ffi
from nautilus_like._model cimport (EngineState, Order, check, context_of, position_from, fill_from,
                                   store_callback_error, take_string)
from nautilus_like._model import EXIT_REASONS
from nautilus_like.types import OrderSide, OrderStatus, OrderType, TimeInForce, Trade

_MARKET = OrderType.MARKET
_ORDER_TYPES = {
    OrderType.MARKET: ffi.ORDER_TYPE_MARKET,
    OrderType.LIMIT: ffi.ORDER_TYPE_LIMIT,
    OrderType.STOP: ffi.ORDER_TYPE_STOP,
    OrderType.STOP_LIMIT: ffi.ORDER_TYPE_STOP_LIMIT,
    OrderType.TRAILING_STOP: ffi.ORDER_TYPE_TRAILING_STOP,
    OrderType.MOC: ffi.ORDER_TYPE_MARKET_ON_CLOSE,
}


cdef double _price_arg(str name, object value) except? -1.0:
    """None -> NaN (not given); anything else must be a real number (Rust checks > 0)."""
    if value is None:
        return NAN
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if v != v:
        raise ValueError(f"{name} must be a finite number > 0, got nan")
    return v


_TIF = {
    TimeInForce.GTC: ffi.TIME_IN_FORCE_GTC,
    TimeInForce.DAY: ffi.TIME_IN_FORCE_DAY,
    TimeInForce.IOC: ffi.TIME_IN_FORCE_IOC,
    TimeInForce.FOK: ffi.TIME_IN_FORCE_FOK,
}


cdef uint32_t _tif_code(object time_in_force) except 0xFFFFFFFF:
    if time_in_force is None:
        return ffi.TIME_IN_FORCE_GTC
    code = _TIF.get(time_in_force)
    if code is None and isinstance(time_in_force, str):
        code = _TIF.get(TimeInForce.__members__.get(time_in_force.upper()))
    if code is None:
        raise ValueError(f"time_in_force must be a TimeInForce (GTC, DAY, IOC, FOK), got {time_in_force!r}")
    return code


cdef double _update_arg(str name, object value) except? -1.0:
    """None -> NaN (keep); else a finite number (Rust checks the rest)."""
    if value is None:
        return NAN
    cdef double v = _price_arg(name, value)
    if not isfinite(v):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


cdef uint32_t _type_code(object order_type) except 0xFFFFFFFF:
    if order_type is _MARKET:
        return ffi.ORDER_TYPE_MARKET
    code = _ORDER_TYPES.get(order_type)
    if code is None:
        raise ValueError(f"order_type must be an OrderType, got {order_type!r}")
    return code


cdef double _quantity_arg(object quantity, object asset) except? -1.0:
    """A signed order quantity as a finite float (TypeError / ValueError naming it)."""
    cdef double q
    # A bool or a string is not a quantity (ml4t refuses both with ValueError).
    if isinstance(quantity, (bool, str, bytes)):
        raise ValueError(f"quantity must be a number, got {quantity!r} for asset {asset!r}")
    try:
        q = quantity
    except TypeError:
        raise ValueError(f"quantity must be a number, got {quantity!r} for asset {asset!r}") from None
    if not isfinite(q):
        raise ValueError(f"quantity must be a finite number, got {quantity!r} for asset {asset!r}")
    return q


cdef uint32_t _side_code(object side) except 0:
    if side is OrderSide.BUY or side == "buy":
        return ffi.ORDER_SIDE_BUY
    if side is OrderSide.SELL or side == "sell":
        return ffi.ORDER_SIDE_SELL
    raise ValueError(f"side must be OrderSide.BUY or OrderSide.SELL, got {side!r}")


cdef unsigned long long _order_number(object order_id) except 0:
    if isinstance(order_id, Order) and (<Order>order_id)._id > 0:
        return (<Order>order_id)._id
    if isinstance(order_id, str) and order_id.startswith("ORD-") and order_id[4:].isdigit():
        n = int(order_id[4:])
        if n > 0:
            return n
    raise ValueError(f"order_id must look like 'ORD-<n>', got {order_id!r}")


cdef unsigned long long _known_order_number(object order_id) except? 0:
    """The order number of an id, or 0 for a string no order of ours can have
    (ml4t answers such ids with None / False, as for any unknown order)."""
    if isinstance(order_id, str) and not (order_id.startswith("ORD-") and order_id[4:].isdigit()
                                          and int(order_id[4:]) > 0):
        return 0
    if not isinstance(order_id, (str, Order)):
        raise TypeError(f"order_id must be an 'ORD-<n>' string or an Order, got {order_id!r}")
    return _order_number(order_id)


cdef int32_t _rule_callback(void* user, const ffi.NlRuleState* s, ffi.NlRuleDecision* d) noexcept with gil:
    """Calls a Python rule's `evaluate(PositionState)` and writes its decision."""
    cdef tuple entry = <tuple>user
    cdef EngineState state = entry[1]
    cdef bytes why
    cdef Py_ssize_t i
    cdef ffi.NlPositionValues values
    try:
        from nautilus_like.risk import PositionState

        qty = abs(s.quantity)
        check(ffi.nl_position_values(s.quantity, s.entry_price, s.close, state.multipliers[s.asset], NAN, &values))
        ps = PositionState(
            asset=state.asset_names[s.asset], side="long" if s.is_long else "short",
            entry_price=s.entry_price, current_price=s.close, quantity=qty,
            initial_quantity=abs(s.initial_quantity),
            unrealized_pnl=values.unrealized_pnl, unrealized_return=values.pnl_percent, bars_held=s.bars_held,
            high_water_mark=s.high_water_mark, low_water_mark=s.low_water_mark,
            bar_open=s.open, bar_high=s.high, bar_low=s.low,
            max_favorable_excursion=s.max_favorable_excursion, max_adverse_excursion=s.max_adverse_excursion,
            entry_time=state.time_at(s.entry_time), current_time=state.time_at(s.timestamp),
            multiplier=state.multipliers[s.asset],
            context=context_of(state, s.asset, s.serial))
        action = entry[0].evaluate(ps)
        kind = "HOLD" if action is None else action.action.name
        if kind == "EXIT_FULL" or kind == "EXIT_PARTIAL":
            d.kind = ffi.NL_DECISION_EXIT if kind == "EXIT_FULL" else ffi.NL_DECISION_EXIT_PARTIAL
            d.fraction = 1.0 if kind == "EXIT_FULL" else float(action.pct)
            if not 0.0 < d.fraction <= 1.0:
                # ml4t would sell more than is held (a reversal labelled as a rule exit).
                raise ValueError(f"{type(entry[0]).__name__}.evaluate: exit_partial pct must be in (0, 1], "
                                 f"got {action.pct!r}")
            d.fill_price = NAN if action.fill_price is None else float(action.fill_price)
            d.defer = bool(getattr(action, "defer_fill", False))
            why = str(action.reason or "").encode("ascii", "replace")[:127]
            for i in range(len(why)):
                d.reason[i] = why[i]
            d.reason[len(why)] = 0
        return 0
    except BaseException as exc:
        store_callback_error(exc)
        return 1


def _warn_inverted_bracket(asset, bint is_long, double tp, double sl, double ref):
    import warnings

    side = "LONG" if is_long else "SHORT"
    if (tp <= ref) if is_long else (tp >= ref):
        where = "above" if is_long else "below"
        warnings.warn(f"Bracket order for {side} {asset}: take_profit ({tp}) is not {where} the entry "
                      f"({ref}); a take-profit should be {where} the entry for a {side.lower()}.",
                      UserWarning, stacklevel=3)
    if (sl >= ref) if is_long else (sl <= ref):
        where = "below" if is_long else "above"
        warnings.warn(f"Bracket order for {side} {asset}: stop_loss ({sl}) is not {where} the entry "
                      f"({ref}); a stop-loss should be {where} the entry for a {side.lower()}.",
                      UserWarning, stacklevel=3)


cdef class Broker:
    """Orders, positions and account queries.

    The API mirrors ml4t-backtest's `Broker`; see `submit_order`. The Engine
    creates one for each run and hands it to the strategy's hooks. Built by
    hand with ml4t's signature, `Broker(initial_cash=..., commission_model=...,
    ...)`, it is a standalone broker driven step by step (`_update_time`,
    `_process_orders`, ...; see `nautilus_like.standalone`).
    """

    def __cinit__(self, *args, **kwargs):
        cdef EngineState state
        if len(args) == 1 and not kwargs and type(args[0]) is EngineState:
            state = <EngineState>args[0]
            if state.engine is NULL:
                raise TypeError("Broker: the engine state has no engine (it was released)")
            self._stepper = None
        else:
            from nautilus_like.standalone import Stepper, bind_broker_args

            self._stepper = Stepper(bind_broker_args(args, kwargs))
            state = self._stepper.state
        self._state = state
        self._engine = state.engine
        self._index = state.asset_index
        cdef Py_ssize_t n = len(state.asset_names)
        self._positions = [None] * n
        self._serials = <uint64_t*>PyMem_Malloc(max(1, n) * sizeof(uint64_t))
        if self._serials is NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self._serials)

    cdef int _grow(self) except -1:
        """Makes room in the per-asset caches for assets that joined since
        (a standalone broker's assets join as they are first seen)."""
        cdef Py_ssize_t n = len(self._state.asset_names), have = len(self._positions)
        if n <= have:
            return 0
        cdef uint64_t* serials = <uint64_t*>PyMem_Realloc(self._serials, n * sizeof(uint64_t))
        if serials is NULL:
            raise MemoryError()
        self._serials = serials
        self._positions.extend([None] * (n - have))
        return 0

    @classmethod
    def from_config(cls, config, execution_limits=None, market_impact_model=None, contract_specs=None,
                    commission_model=None, slippage_model=None):
        """A standalone broker with `config`'s settings (ml4t's `Broker.from_config`);
        explicit models override the config's cost fields."""
        from nautilus_like._costs import commission_model_of, slippage_model_of
        from nautilus_like.config import BacktestConfig
        from nautilus_like.standalone import BROKER_SIGNATURE

        if not isinstance(config, BacktestConfig):
            raise TypeError(f"config must be a BacktestConfig, got {type(config).__name__}")
        config.validate(warn=False)
        settings = {name: getattr(config, name) for name in BROKER_SIGNATURE.parameters if hasattr(config, name)}
        return cls(**settings, execution_limits=execution_limits, market_impact_model=market_impact_model,
                   contract_specs=contract_specs,
                   commission_model=commission_model if commission_model is not None else commission_model_of(config),
                   slippage_model=slippage_model if slippage_model is not None else slippage_model_of(config))

    def __getattr__(self, name):
        if self._stepper is not None and name.startswith("_current_"):
            from nautilus_like.standalone import MARK_ATTRS
            if name in MARK_ATTRS:
                return self._stepper.current[MARK_ATTRS[name]]
        # ml4t's Broker exposes its settings as attributes (broker.execution_mode, ...).
        config = self._state.config
        if config is not None and not name.startswith("_") and hasattr(config, name):
            return getattr(config, name)
        raise AttributeError(f"'Broker' object has no attribute {name!r}")

    def __setattr__(self, name, value):
        # A standalone broker's marks may be set as ml4t's tests set them
        # (`broker._current_prices = {...}`): staged, stepped to before the next call.
        if name.startswith("_current_"):
            from nautilus_like.standalone import MARK_ATTRS
            if name in MARK_ATTRS:
                self._standalone(name + " =").stage(name, value)
                return
        # ml4t's settings attributes (broker.stop_fill_mode = ..., ...): the engine's settings.
        config = self._state.config
        if config is not None and not name.startswith("_") and name in type(config).__struct_fields__:
            self._set_setting(name, value)
            return
        PyObject_GenericSetAttr(self, name, value)

    def _set_setting(self, str name, value):
        """`broker.<setting> = value`: the config with it (validated as
        BacktestConfig validates), sent to the engine, which refuses, changing
        nothing, a setting that cannot change now (crates/engine/src/kernel/
        settings.rs: decision settings any time, account and order-flow
        settings before the first order, fill or position)."""
        import msgspec
        from nautilus_like._driver import update_settings
        from nautilus_like.config import engine_settings

        config = msgspec.structs.replace(self._state.config, **{name: value})
        update_settings(self._state, engine_settings(config))
        self._state.config = config
        if self._stepper is not None:
            self._stepper.config = config

    cdef int _sync(self) except -1:
        """Takes the step to marks assigned by hand since the last call (if any)."""
        if self._stepper is not None and self._stepper.staged:
            timestamp, caches = self._stepper.take_staged()
            self._update_time(timestamp, caches.pop("prices"), caches.pop("opens"), **caches)
        return 0

    @property
    def commission_model(self):
        """The commission model charging this broker's fills. Assigning one
        (any time, as in ml4t-backtest) makes the engine charge later fills
        with it; None charges nothing."""
        return self._state.commission_model

    @commission_model.setter
    def commission_model(self, model):
        self._set_cost_model("commission", model)

    @property
    def slippage_model(self):
        """The slippage model pricing this broker's fills; assignable as
        `commission_model`."""
        return self._state.slippage_model

    @slippage_model.setter
    def slippage_model(self, model):
        self._set_cost_model("slippage", model)

    @property
    def account(self):
        """The account as ml4t's `broker.account` reads it: live cash,
        positions and equity, and the policy of the broker's settings
        (`nautilus_like.accounting.BrokerAccount`)."""
        from nautilus_like.accounting.account import BrokerAccount

        return BrokerAccount(self)

    @property
    def gatekeeper(self):
        """ml4t-backtest's pre-trade checker over this broker's live account
        (`nautilus_like.accounting.gatekeeper.BrokerGatekeeper`): its
        commission model, `cash_buffer_pct` and settlement rule are the
        broker's (assigning one assigns the broker's)."""
        from nautilus_like.accounting.gatekeeper import BrokerGatekeeper

        return BrokerGatekeeper(self)

    def _cash_detail(self):
        """(free cash, unsettled cash) as the engine holds them: cash less a
        LOCK_NOTIONAL account's locked short notional, and sale proceeds not
        yet settled."""
        cdef double free_cash = 0, unsettled = 0
        if self._stepper is not None:
            self._sync()
        check(ffi.nl_engine_cash_detail(self._engine, &free_cash, &unsettled))
        return free_cash, unsettled

    def _order_commission_quote(self, Order order not None, quantity, price):
        """The commission the engine would charge `order`'s next fill of
        `quantity` at `price` (what the order filled and paid so far counted)."""
        cdef double out = 0
        check(ffi.nl_engine_order_commission_quote(self._engine, order._id, _quantity_arg(quantity, order.asset),
                                                   _price_arg("price", price), &out))
        return out

    def _set_cost_model(self, str kind, model):
        from nautilus_like._costs import routes
        from nautilus_like._driver import configure_costs
        from nautilus_like.models import NoCommission, NoSlippage

        if model is None:
            model = NoCommission() if kind == "commission" else NoSlippage()
        if kind == "slippage":
            from nautilus_like.runtime import require_observation
            require_observation(self._state, model)
        cost_routes = routes(model, kind, self._index)
        if kind == "commission":
            configure_costs(self._state, commission_routes=cost_routes)
            self._state.commission_model = model
        else:
            configure_costs(self._state, slippage_routes=cost_routes)
            self._state.slippage_model = model
        if self._stepper is not None:
            self._stepper.cost_model_changed(kind, model)

    # ------------------------------------------------- a standalone broker's steps

    cdef object _standalone(self, str step):
        if self._stepper is None:
            what = step if step.endswith("=") else step + "()"
            raise RuntimeError(f"Broker.{what} is for a standalone Broker(...) driven by hand; the Engine "
                               f"runs these steps and keeps these records itself for the broker it created")
        if step != "_update_time" and not step.startswith("_current_"):
            self._sync()
        return self._stepper

    def _update_time(self, timestamp, prices, opens, highs=None, lows=None, *rest, **kwargs):
        """Moves to new marks (ml4t's `_update_time`): `prices`, `opens`,
        `highs`, `lows`, `volumes`, `signals` (and optionally `closes`,
        `vwaps`, `bids`, `asks`, `mids`, `bid_sizes`, `ask_sizes`) are dicts
        by asset. Nothing fills until `_process_orders()`."""
        from nautilus_like.standalone import _update_time_args

        stepper = self._standalone("_update_time")
        if self._trading_stats is not None:
            self._stats_book()  # the records so far belong to the time before this one
        stepper.update_time(timestamp, _update_time_args(prices, opens, highs, lows, rest, kwargs))
        self._grow()
        if self._trading_stats is not None:
            self._trading_stats.observe_time(timestamp)

    def _process_orders(self, use_open=False, *, order_types=None, order_ids=None, include_orders_this_bar=False):
        """Matches pending orders against the current marks: at the opens with
        `use_open`, else at the configured execution price."""
        stepper = self._standalone("_process_orders")
        if order_types is not None or order_ids is not None or include_orders_this_bar:
            raise NotImplementedError("_process_orders(order_types=, order_ids=, include_orders_this_bar=) "
                                      "is not supported by nautilus_like yet")
        if not stepper.has_marks:
            return  # no marks yet: nothing can fill (ml4t's loop finds no prices)
        from nautilus_like import _stepped
        _stepped.process_orders(self._state, bool(use_open))

    def evaluate_position_rules(self):
        """Evaluates the position rules against the current marks; returns the
        exit orders they queued (filled by the next `_process_orders()`)."""
        stepper = self._standalone("evaluate_position_rules")
        if not stepper.has_marks:
            return []
        from nautilus_like import _stepped
        before = {o.order_id for o in self.get_pending_orders()}
        _stepped.position_rules(self._state)
        return [o for o in self.get_pending_orders() if o.order_id not in before]

    def _update_water_marks(self):
        """Moves the open positions' water marks by the current marks."""
        if not self._standalone("_update_water_marks").has_marks:
            return
        from nautilus_like import _stepped
        _stepped.water_marks(self._state)

    # ------------------------------------------------------------------ orders

    cpdef object submit_order(self, object asset, object quantity, object side=None,
                              object order_type=OrderType.MARKET, object limit_price=None,
                              object stop_price=None, object trail_amount=None,
                              object time_in_force=None):
        """Submit an order; returns the `Order`, or `None` if the quantity rounds to 0.

        `quantity` may be signed when `side` is omitted: positive buys, negative
        sells. With `side` given, the quantity's magnitude is used. LIMIT needs
        `limit_price`, STOP `stop_price`, STOP_LIMIT both, TRAILING_STOP
        `trail_amount` (a price distance); each must be finite and > 0.

        `time_in_force` (beyond ml4t-backtest): `TimeInForce.GTC` (default) works
        until filled or cancelled; DAY through the trading day (date) of the first
        bar on which the order can execute; IOC for one matching pass, the rest
        cancelled; FOK the whole quantity in one pass or nothing.

        >>> broker.submit_order("AAPL", 10)          # buy 10 at the next fill
        >>> broker.submit_order("AAPL", -10, order_type=OrderType.STOP, stop_price=95.0)
        """
        cdef uint32_t a = self.c_asset(asset)
        cdef double q = _quantity_arg(quantity, asset)
        # Market orders without prices (the common case) skip the lookups.
        cdef uint32_t type_code = _type_code(order_type)
        cdef uint32_t tif = ffi.TIME_IN_FORCE_GTC
        if time_in_force is not None:
            tif = _tif_code(time_in_force)
        cdef uint32_t s
        if side is None:
            s = ffi.ORDER_SIDE_BUY if q >= 0 else ffi.ORDER_SIDE_SELL
        else:
            s = _side_code(side)
        cdef uint64_t order_id = 0
        cdef uint32_t outcome = 0
        cdef double limit = NAN, stop = NAN, trail = NAN
        if limit_price is not None:
            limit = _price_arg("limit_price", limit_price)
        if stop_price is not None:
            stop = _price_arg("stop_price", stop_price)
        if trail_amount is not None:
            trail = _price_arg("trail_amount", trail_amount)
        # Registered trading controls see the request before the order exists.
        cdef object request = None
        if self._controls is not None:
            request = self._check_order(a, abs(q) if s == ffi.ORDER_SIDE_BUY else -abs(q))
        check(ffi.nl_engine_submit_order(self._engine, a, abs(q), s, type_code, limit, stop, trail,
                                         0, tif, &order_id, &outcome))
        if outcome == ffi.NL_SUBMIT_IGNORED:
            return None
        if request is not None:
            self._controls.commit(request)
        return Order(self._state, order_id)

    def submit_bracket(self, asset, quantity, take_profit, stop_loss, entry_type=OrderType.MARKET,
                       entry_limit=None, validate_prices=True, *, time_in_force=None):
        """Entry plus take-profit LIMIT and stop-loss STOP exits; returns
        `(entry, take_profit, stop_loss)` orders, or `None` if the quantity is 0.

        `quantity` > 0 enters long, < 0 short; the exits take the other side for
        the same size and carry `parent_id` = the entry's id: when one exit fills
        completely the other is cancelled (one-cancels-other). As in
        ml4t-backtest, the exits are working orders from submission on, not held
        back until the entry fills. With `validate_prices`, a take-profit or
        stop-loss on the wrong side of the entry price (`entry_limit`, else this
        bar's price) gives a `UserWarning`. `time_in_force` applies to the entry.
        """
        cdef uint32_t a = self.c_asset(asset)
        cdef double q = _quantity_arg(quantity, asset)
        cdef uint32_t entry_code = _type_code(entry_type)
        if entry_code != ffi.ORDER_TYPE_MARKET and entry_code != ffi.ORDER_TYPE_LIMIT:
            raise ValueError(f"entry_type must be OrderType.MARKET or OrderType.LIMIT, got {entry_type!r}")
        cdef double tp = _price_arg("take_profit", take_profit)
        cdef double sl = _price_arg("stop_loss", stop_loss)
        if take_profit is None or stop_loss is None:
            raise ValueError("submit_bracket needs both take_profit and stop_loss prices")
        cdef double limit = _price_arg("entry_limit", entry_limit)
        cdef uint32_t side = ffi.ORDER_SIDE_BUY if q >= 0 else ffi.ORDER_SIDE_SELL
        cdef uint64_t ids[3]
        cdef uint32_t outcome = 0
        cdef object counts = None
        if self._controls is not None:
            counts = self._check_bracket(a, q)
        check(ffi.nl_engine_submit_bracket(self._engine, a, abs(q), side, entry_code, limit, tp, sl,
                                           _tif_code(time_in_force), ids, &outcome))
        if outcome == ffi.NL_SUBMIT_IGNORED:
            if counts is not None:
                self._controls.restore_counts(counts)
            return None
        if validate_prices:
            ref = entry_limit if entry_limit is not None else self._current_price(asset)
            if ref == ref:
                _warn_inverted_bracket(asset, side == ffi.ORDER_SIDE_BUY, tp, sl, ref)
        return Order(self._state, ids[0]), Order(self._state, ids[1]), Order(self._state, ids[2])

    def order_target_value(self, asset, target_value, order_type=OrderType.MARKET, limit_price=None):
        """Buy or sell the difference between `asset`'s position value at this bar's
        price and `target_value` (negative: short). `None` without a price this
        bar or when less than a cent is missing."""
        return self._order_target(asset, target_value, False, order_type, limit_price)

    def order_target_percent(self, asset, target_percent, order_type=OrderType.MARKET, limit_price=None):
        """`order_target_value` for `target_percent` (0.10 = 10%) of the account value."""
        return self._order_target(asset, target_percent, True, order_type, limit_price)

    def _order_target(self, asset, target, bint is_percent, order_type, limit_price):
        cdef uint32_t a = self.c_asset(asset)
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            raise ValueError(f"target must be a number, got {target!r}")
        cdef uint64_t order_id = 0
        cdef uint32_t outcome = 0
        cdef double quantity = NAN
        if self._controls is not None:
            # The controls see the quantity the target asks for; the order is then
            # the plain one of that quantity (what the engine's target order is).
            _type_code(order_type)
            check(ffi.nl_engine_target_quantity(self._engine, a, target, is_percent, &quantity))
            return None if quantity != quantity else self.submit_order(
                asset, quantity, None, order_type, limit_price)
        check(ffi.nl_engine_order_target(self._engine, a, target, is_percent, _type_code(order_type),
                                         _price_arg("limit_price", limit_price), &order_id, &outcome))
        return None if outcome == ffi.NL_SUBMIT_IGNORED else Order(self._state, order_id)

    def update_order(self, order_id, *, quantity=None, limit_price=None, stop_price=None, trail_amount=None,
                     **other):
        """Change a pending order's `quantity`, `limit_price`, `stop_price` or
        `trail_amount`; True if it was pending (and is updated), else False.
        A new `stop_price` re-arms a triggered stop. Other fields raise ValueError."""
        if other:
            raise ValueError(
                f"Cannot update order fields: {set(other)}. "
                f"Updatable fields: ['limit_price', 'quantity', 'stop_price', 'trail_amount']")
        cdef double q = NAN
        if quantity is not None:
            if isinstance(quantity, bool) or not isinstance(quantity, (int, float)) \
                    or not isfinite(quantity) or quantity <= 0:
                raise ValueError(f"Updated remaining quantity must be finite and positive, got {quantity!r}")
            q = quantity
        cdef uint8_t done = 0
        cdef unsigned long long number = _known_order_number(order_id)
        if number == 0:
            return False
        cdef ffi.NlOrder o
        if self._controls is not None:
            check(ffi.nl_engine_order(self._engine, number, &o))
            if o.status != ffi.ORDER_STATUS_PENDING:
                return False
            # The replacement is checked as the order's new remaining quantity.
            remaining = o.quantity if q != q else q
            self._check_order(o.asset, remaining if o.side == ffi.ORDER_SIDE_BUY else -remaining, number)
        check(ffi.nl_engine_update_order(
            self._engine, number, q, _update_arg("limit_price", limit_price),
            _update_arg("stop_price", stop_price), _update_arg("trail_amount", trail_amount), &done))
        return done != 0

    def buy(self, asset, shares=None, contracts=None, amount=None, dollars=None,
            order_type=OrderType.MARKET, limit_price=None):
        """Buy `shares` (or `contracts`/`amount`, same meaning), or `dollars` worth at
        this bar's price. Returns `None` when the quantity is not positive."""
        qty = self._resolve_quantity(asset, shares, contracts, amount, dollars)
        return None if qty is None else self.submit_order(asset, qty, OrderSide.BUY, order_type, limit_price)

    def sell(self, asset, shares=None, contracts=None, amount=None, dollars=None,
             order_type=OrderType.MARKET, limit_price=None):
        """Sell `shares` (or `contracts`/`amount`), or `dollars` worth at this bar's price."""
        qty = self._resolve_quantity(asset, shares, contracts, amount, dollars)
        return None if qty is None else self.submit_order(asset, qty, OrderSide.SELL, order_type, limit_price)

    def _resolve_quantity(self, asset, shares, contracts, amount, dollars):
        given = [(n, v) for n, v in (("shares", shares), ("contracts", contracts),
                                     ("amount", amount), ("dollars", dollars)) if v is not None]
        if not given:
            raise ValueError("Must provide one of: shares, contracts, amount, dollars")
        if len(given) > 1:
            raise ValueError(
                f"Must provide only one of: shares, contracts, amount, dollars (got {[n for n, _ in given]})")
        name, value = given[0]
        if name == "dollars":
            # Sized at this bar's price; no bar for the asset now means no order.
            price = self._current_price(asset)
            if not price > 0:
                return None
            value = value / (price * self.get_multiplier(asset))
        qty = float(value)
        return qty if qty > 0 else None

    def close_position(self, asset, order_type=OrderType.MARKET):
        """Submit an order that flattens `asset`; `None` when already flat."""
        cdef double q = self.c_position(self.c_asset(asset))
        if q == 0:
            return None
        return self.submit_order(asset, -q, None, order_type)

    def set_position_rules(self, rules, asset=None):
        """Apply position rules (`nautilus_like.risk`) to every position, or to
        `asset`'s only. `None` disables them (for `asset`: overriding the global
        rules there)."""
        from nautilus_like.risk import rule_leaves

        cdef uint32_t a = 0xFFFFFFFF if asset is None else self.c_asset(asset)
        if rules is None:
            check(ffi.nl_engine_set_position_rules(self._engine, a, NULL, 0, False))
            return
        leaves = rule_leaves(rules)
        cdef Py_ssize_t n = len(leaves), i
        cdef double[::1] pairs
        kept = []    # the pair arrays, alive during the call
        cdef ffi.NlRuleSpec* specs = <ffi.NlRuleSpec*>PyMem_Malloc(max(1, n) * sizeof(ffi.NlRuleSpec))
        if specs is NULL:
            raise MemoryError()
        try:
            for i in range(n):
                leaf = leaves[i]
                specs[i].kind = leaf["kind"]
                specs[i].pct = leaf.get("pct", 0.0)
                specs[i].max_bars = leaf.get("max_bars", 0)
                specs[i].callback = NULL
                specs[i].user_data = NULL
                specs[i].multiplier = leaf.get("multiplier", 0.0)
                specs[i].threshold = leaf.get("threshold", 0.0)
                key = leaf.get("context_key")
                specs[i].context_key = 0 if key is None else self._state.context_key(key)
                specs[i].memory_slot = self._memory_slot(leaf.get("memory"))
                specs[i].use_entry_atr = leaf.get("use_entry_atr", False)
                specs[i].pairs = NULL
                specs[i].n_pairs = 0
                flat = leaf.get("pairs")
                if flat:
                    pairs = array("d", flat)
                    kept.append(pairs)
                    specs[i].pairs = &pairs[0]
                    specs[i].n_pairs = len(flat) // 2
                model = leaf.get("model")
                if model is not None:
                    entry = (model, self._state)
                    self._state.callbacks.append(entry)     # alive as long as the engine
                    specs[i].callback = _rule_callback
                    specs[i].user_data = <void*>entry
            check(ffi.nl_engine_set_position_rules(self._engine, a, specs, n, True))
        finally:
            PyMem_Free(specs)

    cdef uint32_t _memory_slot(self, object rule) except? 0xFFFFFFFF:
        """The engine memory of a stateful rule object: one per object, so an
        object governing several assets (or set again) shares it, as in ml4t."""
        if rule is None:
            return 0
        slot = self._state.rule_slots.get(id(rule))
        if slot is None:
            slot = self._state.rule_slots[id(rule)] = len(self._state.rule_slots) + 1
            self._state.callbacks.append(rule)     # keeps id(rule) unique while the engine lives
            rule._bind_memory(_weakref(self._state), slot)
        return slot

    def update_position_context(self, asset, context):
        """Attach values to `asset`'s open position for its rules (ml4t-backtest's
        API): e.g. `{"atr": 2.5}` for `VolatilityStop`, `{"exit_signal": -0.5}`
        for `SignalExit`. Merged into `get_position(asset).context`; ignored
        when `asset` is flat. A new position starts with an empty context.

        >>> broker.update_position_context("AAPL", {"atr": 2.5, "exit_signal": -0.4})
        """
        if not isinstance(context, Mapping):
            raise TypeError(f"context must be a dict of values, got {context!r}")
        cdef uint32_t idx = self.c_asset(asset)
        cdef ffi.NlPosition p
        cdef uint8_t found = 0
        check(ffi.nl_engine_position(self._engine, idx, &p, &found))
        if found:
            context_of(self._state, idx, p.serial).update(context)

    def flatten_all_positions(self, reason, order_type=OrderType.MARKET):
        """Cancel every pending order and close every position with a market order
        (exit reason "risk_liquidation", detail `reason`); returns the exit orders."""
        if order_type is not _MARKET and order_type != "market":
            raise ValueError(f"flatten_all_positions supports OrderType.MARKET only, got {order_type!r}")
        cdef size_t cap = len(self._state.asset_names) + 1, n = 0
        cdef uint64_t* ids = <uint64_t*>PyMem_Malloc(cap * sizeof(uint64_t))
        if ids is NULL:
            raise MemoryError()
        cdef bytes why = str(reason).encode("utf-8")
        try:
            check(ffi.nl_engine_flatten_all(self._engine, why, ids, cap, &n))
            return [Order(self._state, ids[i]) for i in range(min(n, cap))]
        finally:
            PyMem_Free(ids)

    def reduce_all_positions(self, fraction, reason, order_type=OrderType.MARKET):
        """Cancel every pending order and exit `fraction` (0 < fraction <= 1) of every
        open position with a market order (exit reason "risk_liquidation", detail
        "risk reduction: <reason>"); returns the exit orders. Nothing is done when
        one position's reduction cannot be sent (ValueError naming the asset)."""
        if order_type is not _MARKET and order_type != "market":
            raise ValueError(f"reduce_all_positions supports OrderType.MARKET only, got {order_type!r}")
        # The engine checks the range; a bool is not a fraction.
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise ValueError(f"fraction must be a finite value in (0, 1], got {fraction!r}")
        cdef size_t cap = len(self._state.asset_names) + 1, n = 0
        cdef uint32_t refused = 0, asset = 0
        cdef uint64_t* ids = <uint64_t*>PyMem_Malloc(cap * sizeof(uint64_t))
        if ids is NULL:
            raise MemoryError()
        cdef bytes why = f"risk reduction: {reason}".encode("utf-8")
        try:
            check(ffi.nl_engine_reduce_all(self._engine, fraction, why, ids, cap, &n, &refused, &asset))
            if refused == ffi.NL_REDUCTION_ROUNDS_TO_ZERO:
                raise ValueError(f"reduction quantity for {self._state.asset_names[asset]} rounds to zero")
            if refused == ffi.NL_REDUCTION_TOO_SMALL:
                raise ValueError(f"reduction quantity for {self._state.asset_names[asset]} is not executable")
            return [Order(self._state, ids[i]) for i in range(min(n, cap))]
        finally:
            PyMem_Free(ids)

    def reduce_position(self, asset, fraction, order_type=OrderType.MARKET, limit_price=None):
        """Exit `fraction` (0 < fraction <= 1) of `asset`'s position; None when flat."""
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not (0 < fraction <= 1):
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
        cdef double q = self.c_position(self.c_asset(asset))
        if q == 0:
            return None
        side = OrderSide.SELL if q > 0 else OrderSide.BUY
        return self.submit_order(asset, abs(q) * fraction, side, order_type, limit_price)

    def clear_position_rules(self, asset=None):
        """Disable position rules globally or for one asset."""
        self.set_position_rules(None, asset)

    def cancel_order(self, order_id):
        """Cancel a pending order (`"ORD-<n>"` or an `Order`); True if it was pending."""
        cdef unsigned long long number = _known_order_number(order_id)
        return False if number == 0 else self.c_cancel(number)

    def get_order(self, order_id):
        """The order with this id, or `None` if there is none."""
        n = _known_order_number(order_id)
        if n == 0:
            return None
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        return Order(self._state, n) if n <= n_orders else None

    def get_orders(self, asset=None, *, pending_only=False):
        """All orders (or those of `asset`), oldest first, as a tuple."""
        if pending_only:
            return tuple(self.get_pending_orders(asset))
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        # Copies, as ml4t-backtest returns: they keep the state at this call.
        orders = [Order(self._state, i).frozen_copy() for i in range(1, n_orders + 1)]
        if asset is not None:
            orders = [o for o in orders if o.asset == asset]
        return tuple(orders)

    def _rejected_ids(self):
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0, i
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        cdef ffi.NlOrder o
        ids = []
        for i in range(1, n_orders + 1):
            check(ffi.nl_engine_order(self._engine, i, &o))
            if o.status == ffi.ORDER_STATUS_REJECTED:
                ids.append(i)
        return ids

    def get_rejected_orders(self, asset=None):
        """Rejected orders (each with its `rejection_reason`), oldest first."""
        orders = [Order(self._state, i) for i in self._rejected_ids()]
        if asset is not None:
            orders = [o for o in orders if o.asset == asset]
        return orders

    @property
    def last_rejection_reason(self):
        """The reason of the most recently submitted rejected order, or None."""
        ids = self._rejected_ids()
        return Order(self._state, ids[len(ids) - 1]).rejection_reason if ids else None

    def get_pending_orders(self, asset=None):
        """Orders still waiting to fill, oldest first."""
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0, n = 0
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        if n_pending == 0:
            return []
        cdef uint64_t[:] ids = memoryview(bytearray(8 * n_pending)).cast("Q")
        check(ffi.nl_engine_pending_ids(self._engine, &ids[0], n_pending, &n))
        orders = [Order(self._state, ids[i]) for i in range(n)]
        if asset is not None:
            orders = [o for o in orders if o.asset == asset]
        return orders

    # --------------------------------------------------------------- positions

    cpdef object get_position(self, object asset):
        """The open `Position` in `asset`, or `None` when flat (or unknown).

        While the same position stays open, every call returns the same live
        view (as ml4t-backtest returns its one `Position` object)."""
        if self._stepper is not None:
            self._sync()
        cdef object idx = self._index.get(asset)
        if idx is None:
            return None
        cdef uint32_t a = <uint32_t>idx
        cdef ffi.NlPosition p
        cdef uint8_t found = 0
        check(ffi.nl_engine_position(self._engine, a, &p, &found))
        if not found:
            return None
        if a >= len(self._positions):
            self._grow()
        cached = self._positions[a]
        if cached is not None and self._serials[a] == p.serial:
            return cached
        pos = position_from(self._state, &p)
        self._positions[a] = pos
        self._serials[a] = p.serial
        return pos

    def get_positions(self):
        """`{asset: Position}` for every open position, in the order they were opened."""
        cdef size_t n_assets = len(self._state.asset_names), n = 0, i
        if n_assets == 0:
            return {}
        cdef uint32_t[:] assets = memoryview(bytearray(4 * n_assets)).cast("I")
        check(ffi.nl_engine_open_positions(self._engine, &assets[0], n_assets, &n))
        cdef ffi.NlPosition p
        cdef uint8_t found
        out = {}
        for i in range(n):
            check(ffi.nl_engine_position(self._engine, assets[i], &p, &found))
            out[self._state.asset_names[assets[i]]] = position_from(self._state, &p)
        return out

    # ------------------------------------------------------------ the C API
    # Public through `from nautilus_like cimport Broker`. Asset ids are the
    # feed's (`c_asset(name)`, `BarData.c_asset(i)`); codes are the header's
    # ORDER_SIDE_*, ORDER_TYPE_*, TIME_IN_FORCE_* (re-exported by nautilus_like).
    # Errors raise the Python API's exceptions (Rust's message included).

    cdef uint32_t c_asset(self, str asset) except? 0xFFFFFFFF:
        """The id of asset `asset`; ValueError when the feed has no such asset."""
        if self._stepper is not None:
            self._sync()
        idx = self._index.get(asset)
        if idx is None:
            if self._stepper is None:
                raise ValueError(f"asset {asset!r} does not appear in the feed")
            # A standalone broker has no feed: an asset joins when first named.
            self._stepper.ensure_assets((asset,))
            self._grow()
            idx = self._index[asset]
        return <uint32_t>idx

    cdef double c_position(self, uint32_t asset) except? -1.0:
        """The signed quantity held in `asset`: > 0 long, < 0 short, 0 flat."""
        cdef double quantity = 0.0
        check(ffi.nl_engine_position_quantity(self._engine, asset, &quantity))
        return quantity

    cdef double c_cash(self) except? -1.0:
        """Cash balance, as `get_cash()`."""
        cdef double cash = 0, equity = 0
        cdef int64_t bar = 0
        check(ffi.nl_engine_account(self._engine, &cash, &equity, &bar))
        return cash

    cdef double c_equity(self) except? -1.0:
        """Cash plus open positions at their last prices, as `get_account_value()`."""
        cdef double cash = 0, equity = 0
        cdef int64_t bar = 0
        check(ffi.nl_engine_account(self._engine, &cash, &equity, &bar))
        return equity

    cdef double c_last_price(self, uint32_t asset) except? -1.0:
        """The asset's last known close; NaN before its first bar."""
        cdef double price = 0
        check(ffi.nl_engine_last_price(self._engine, asset, &price))
        return price

    cdef uint64_t c_buy(self, uint32_t asset, double quantity) except? 0:
        """Market order buying `abs(quantity)`; its id, or 0 when the quantity
        rounds to zero and no order was created (ml4t returns None then)."""
        return self.c_submit(asset, quantity, ffi.ORDER_SIDE_BUY)

    cdef uint64_t c_sell(self, uint32_t asset, double quantity) except? 0:
        """Market order selling `abs(quantity)`; its id, or 0 when none was created."""
        return self.c_submit(asset, quantity, ffi.ORDER_SIDE_SELL)

    cdef uint64_t c_submit(self, uint32_t asset, double quantity, uint32_t side,
                           uint32_t order_type=ffi.ORDER_TYPE_MARKET, double limit_price=NAN,
                           double stop_price=NAN, uint32_t time_in_force=ffi.TIME_IN_FORCE_GTC) except? 0:
        """`submit_order` from C: `abs(quantity)` on `side` (ORDER_SIDE_BUY/SELL) as
        `order_type` (ORDER_TYPE_MARKET, _LIMIT, _STOP, _STOP_LIMIT,
        _MARKET_ON_CLOSE; trailing stops: `c_submit_trailing_stop`), NaN for a
        price not given. Returns the order id, 0 when the quantity rounds to
        zero (no order). A missing or invalid price raises ValueError."""
        if not isfinite(quantity):
            raise ValueError(f"quantity must be a finite number, got {quantity!r} for asset id {asset}")
        cdef uint64_t order_id = 0
        cdef uint32_t outcome = 0
        cdef object request = None
        if self._controls is not None:
            request = self._check_order(asset, abs(quantity) if side == ffi.ORDER_SIDE_BUY else -abs(quantity))
        check(ffi.nl_engine_submit_order(self._engine, asset, abs(quantity), side, order_type,
                                         limit_price, stop_price, NAN, 0, time_in_force,
                                         &order_id, &outcome))
        if outcome == ffi.NL_SUBMIT_IGNORED:
            return 0
        if request is not None:
            self._controls.commit(request)
        return order_id

    cdef uint64_t c_submit_trailing_stop(self, uint32_t asset, double quantity, uint32_t side,
                                         double trail_amount,
                                         uint32_t time_in_force=ffi.TIME_IN_FORCE_GTC) except? 0:
        """A TRAILING_STOP order `trail_amount` (a price distance) behind the best
        price; its id, or 0 when none was created."""
        if not isfinite(quantity):
            raise ValueError(f"quantity must be a finite number, got {quantity!r} for asset id {asset}")
        cdef uint64_t order_id = 0
        cdef uint32_t outcome = 0
        cdef object request = None
        if self._controls is not None:
            request = self._check_order(asset, abs(quantity) if side == ffi.ORDER_SIDE_BUY else -abs(quantity))
        check(ffi.nl_engine_submit_order(self._engine, asset, abs(quantity), side,
                                         ffi.ORDER_TYPE_TRAILING_STOP, NAN, NAN, trail_amount, 0,
                                         time_in_force, &order_id, &outcome))
        if outcome == ffi.NL_SUBMIT_IGNORED:
            return 0
        if request is not None:
            self._controls.commit(request)
        return order_id

    cdef uint64_t c_submit_bracket(self, uint32_t asset, double quantity, uint32_t side,
                                   double take_profit, double stop_loss, uint64_t* out_ids,
                                   uint32_t entry_type=ffi.ORDER_TYPE_MARKET,
                                   double entry_limit=NAN) except? 0:
        """`submit_bracket` from C: an entry of `abs(quantity)` on `side`
        (ORDER_TYPE_MARKET, or ORDER_TYPE_LIMIT at `entry_limit`) plus a
        take-profit LIMIT and a stop-loss STOP exit, one-cancels-other.
        Writes (entry, take-profit, stop-loss) ids to `out_ids[0..3]` when it is
        not NULL; returns the entry's id, 0 when no order was created. No
        price-side warnings (the Python `submit_bracket` gives those)."""
        if not isfinite(quantity):
            raise ValueError(f"quantity must be a finite number, got {quantity!r} for asset id {asset}")
        if entry_type != ffi.ORDER_TYPE_MARKET and entry_type != ffi.ORDER_TYPE_LIMIT:
            raise ValueError(f"entry_type must be ORDER_TYPE_MARKET or ORDER_TYPE_LIMIT, got {entry_type}")
        cdef uint64_t ids[3]
        cdef uint32_t outcome = 0
        ids[0] = ids[1] = ids[2] = 0
        cdef object counts = None
        if self._controls is not None:
            counts = self._check_bracket(asset, abs(quantity) if side == ffi.ORDER_SIDE_BUY else -abs(quantity))
        check(ffi.nl_engine_submit_bracket(self._engine, asset, abs(quantity), side, entry_type,
                                           entry_limit, take_profit, stop_loss, ffi.TIME_IN_FORCE_GTC,
                                           ids, &outcome))
        if outcome == ffi.NL_SUBMIT_IGNORED:
            ids[0] = ids[1] = ids[2] = 0
            if counts is not None:
                self._controls.restore_counts(counts)
        if out_ids is not NULL:
            out_ids[0] = ids[0]
            out_ids[1] = ids[1]
            out_ids[2] = ids[2]
        return ids[0]

    cdef bint c_cancel(self, uint64_t order_id) except -1:
        """Cancels a pending order: True if it was pending, False otherwise
        (already filled, cancelled or rejected, or no such order)."""
        cdef uint8_t done = 0
        check(ffi.nl_engine_cancel_order(self._engine, order_id, &done))
        return done != 0

    cdef int c_order_status(self, uint64_t order_id) except -1:
        """The order's ORDER_STATUS_* code (PENDING, FILLED, CANCELLED, REJECTED)."""
        cdef ffi.NlOrder o
        check(ffi.nl_engine_order(self._engine, order_id, &o))
        return <int>o.status


    # ---------------------------------------------------------------- controls

    def register_trading_control(self, control):
        """Adds a pre-submission validator (`nautilus_like.controls`): any object
        with `validate(request)`, raising (`TradingControlViolation`) to refuse an
        order before it exists. Controls run in registration order on every
        submission, bracket leg, target order and quantity update.

        >>> broker.register_trading_control(OrderConstraints(max_order_quantity=100))
        """
        self._control_book().register_trading(control, self._in_callback())

    def unregister_trading_control(self, control):
        """Removes one registration of exactly `control` (identity); True if it
        was registered. Its request count goes with its last registration."""
        if self._controls is None:
            return False
        return self._controls.unregister_trading(control, self._in_callback())

    def register_account_control(self, control, *, boundary="after_fills"):
        """Adds an account validator (`validate(account)`, see
        `AccountConstraints`), run on the marked account `after_callbacks` (the
        strategy's decisions, before this event's later fills), `after_fills`
        (default: once the event's fills are done, before it is recorded) or at
        `session_end` (needs a calendar; register before the first bar)."""
        from nautilus_like._controls import BOUNDARIES

        if boundary not in BOUNDARIES:
            raise ValueError(f"Unknown account control boundary {boundary!r}; expected one of {BOUNDARIES}")
        if boundary == "session_end":
            if self._control_book().clock() is None:
                raise ValueError("Session account controls require a declared calendar")
            if self._controls.labels_sessions():
                raise ValueError("Session account controls require physical instants, not session labels")
            if self._control_time() is not None:
                raise ValueError("Session account controls must be registered before market observations")
        self._control_book().register_account(control, boundary, self._in_callback())

    def _in_callback(self):
        """True inside a run's market event: registrations then stand only once
        the event's callbacks complete (a failed callback leaves none behind)."""
        return self._stepper is None and self._control_time() is not None

    def validate_account_controls(self, *, boundary=None):
        """Runs the account controls of `boundary` (every one with None) on the
        current account snapshot; a breach raises, nothing is undone or traded."""
        if self._controls is None:
            from nautilus_like._controls import BOUNDARIES
            if boundary is not None and boundary not in BOUNDARIES:
                raise ValueError(f"Unknown account control boundary {boundary!r}; expected one of {BOUNDARIES}")
            return
        self._controls.validate_account(self.get_account_snapshot, boundary)

    def _has_account_controls(self):
        return self._controls is not None and self._controls.has_account()

    def get_account_snapshot(self):
        """The marked account now as an `AccountControlContext`: equity, cash and
        the positions' gross and net exposure."""
        from nautilus_like._controls import account_snapshot

        return account_snapshot(self._control_time(), self.get_cash(), self.get_account_value(),
                                self.get_positions().values())

    def _control_time(self):
        """The current event's timestamp, None before the first."""
        cdef double cash = 0, equity = 0
        cdef int64_t bar = -1
        if self._stepper is not None:
            return self._stepper.current["time"]
        check(ffi.nl_engine_account(self._engine, &cash, &equity, &bar))
        return self._state.timestamps[bar] if 0 <= bar < len(self._state.timestamps) else None

    cdef object _control_book(self):
        if self._controls is None:
            from nautilus_like._controls import FEED_SPECS, ControlBook
            self._controls = ControlBook(self._state.config, FEED_SPECS.get(self._state))
        return self._controls

    cdef object _check_order(self, uint32_t asset, double signed_quantity, uint64_t replacing=0,
                             double extra_buy=0.0, double extra_sell=0.0):
        """Runs the trading controls on a request for `signed_quantity` of `asset`
        (raises to refuse it); returns the request to count once the order
        exists, or None when no control ran. `replacing`: the order an update
        replaces (left out of the working orders); `extra_*`: working quantity
        not submitted yet (a bracket's earlier legs)."""
        book = self._controls
        if not book.trading:
            return None
        if signed_quantity == 0 and not book.counts_zero_requests():
            return None  # nothing to submit, and no control counts it
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0, n = 0, i
        cdef ffi.NlOrder o
        cdef double buys = extra_buy, sells = extra_sell, price = NAN
        cdef uint64_t[:] ids
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        if n_pending:
            ids = memoryview(bytearray(8 * n_pending)).cast("Q")
            check(ffi.nl_engine_pending_ids(self._engine, &ids[0], n_pending, &n))
            for i in range(n):
                check(ffi.nl_engine_order(self._engine, ids[i], &o))
                if o.asset != asset or o.id == replacing:
                    continue
                # A pending order's quantity is its unfilled remainder.
                if o.side == ffi.ORDER_SIDE_BUY:
                    buys += o.quantity
                else:
                    sells += o.quantity
        check(ffi.nl_engine_current_price(self._engine, asset, &price))
        return book.validate_order(
            self._control_time(), self._state.asset_names[asset], signed_quantity, self.c_position(asset),
            buys, sells, price if price == price and price > 0 else None, self._state.multipliers[asset],
            replacing != 0)

    def _check_bracket(self, asset, double signed_quantity):
        """The controls on a bracket's three legs in order (entry, take-profit,
        stop-loss), each seeing the earlier legs as working orders and counted
        as submitted; returns the counts before, to restore if none is created."""
        book = self._controls
        saved = book.save_counts()
        cdef uint32_t a = asset
        cdef double q = abs(signed_quantity)
        cdef bint long_entry = signed_quantity >= 0
        # The entry works on its side; the take-profit then works on the other.
        cdef double entry_buy = q if long_entry else 0.0, entry_sell = 0.0 if long_entry else q
        try:
            request = self._check_order(a, signed_quantity)
            if request is None or q == 0:
                return saved
            book.commit(request)
            exit_quantity = -q if long_entry else q
            request = self._check_order(a, exit_quantity, 0, entry_buy, entry_sell)
            book.commit(request)
            # The stop-loss sees the entry and the take-profit: q working on each side.
            request = self._check_order(a, exit_quantity, 0, q, q)
            book.commit(request)
        except BaseException:
            book.restore_counts(saved)
            raise
        return saved

    # ----------------------------------------------------------------- account

    cpdef double get_cash(self) except? -1.0:
        """Cash balance (negative only if a margin account borrows)."""
        if self._stepper is not None:
            self._sync()
        return self.c_cash()

    cpdef double get_account_value(self) except? -1.0:
        """Cash plus open positions marked at their last known price."""
        if self._stepper is not None:
            self._sync()
        return self.c_equity()

    def equity(self):
        """Cash plus open positions at the current marks (ml4t's `Broker.equity()`)."""
        if self._stepper is not None:
            self._sync()
        return self.c_equity()

    def get_buying_power(self):
        """What new long entries can spend now: cash, never below zero (no margin accounts yet)."""
        cdef double value = 0
        check(ffi.nl_engine_buying_power(self._engine, &value))
        return value

    @property
    def cash(self):
        return self.get_cash()

    @cash.setter
    def cash(self, value):
        # ml4t lets a hand-driven broker's cash be written (tests set up accounts so).
        self._standalone("cash =")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"cash must be a number, got {value!r}")
        from nautilus_like import _stepped
        _stepped.set_cash(self._state, value)

    def get_multiplier(self, asset):
        """The asset's contract multiplier (1.0 without a ContractSpec)."""
        return self._state.multipliers[self.c_asset(asset)]

    def get_contract_spec(self, asset):
        """The `ContractSpec` given for `asset`, or `None`."""
        return self._state.contract_specs.get(asset)

    def _current_price(self, asset):
        cdef double price = 0
        check(ffi.nl_engine_current_price(self._engine, self.c_asset(asset), &price))
        return price

    def get_price_for_source(self, source, asset, *, side=None, quantity=None, use_open=False):
        """The current price of `asset` from an `ExecutionPrice` source, as fills
        are priced (OPEN, CLOSE/PRICE, MID, VWAP, BID, ASK, QUOTE_MID, QUOTE_SIDE);
        None when the asset has no bar now or the bar has no such price (no VWAP).
        QUOTE_SIDE takes `side` (or the sign of `quantity`): the ask for a buy, the
        bid for a sell, the quote mid without either."""
        from nautilus_like.config import ExecutionPrice, _TO_CODE

        idx = self._index.get(asset)
        if idx is None:
            return None
        try:
            code = _TO_CODE["execution_price"][ExecutionPrice(source)]
        except ValueError:
            raise ValueError(f"source must be an ExecutionPrice, got {source!r}") from None
        cdef uint32_t side_code = 0
        if side is not None:
            side_code = _side_code(side)
        elif quantity is not None:
            side_code = ffi.ORDER_SIDE_BUY if _quantity_arg(quantity, asset) > 0 else ffi.ORDER_SIDE_SELL
        cdef double price = NAN
        check(ffi.nl_engine_price_for_source(self._engine, <uint32_t>idx, code, side_code, bool(use_open), &price))
        return None if price != price else price

    def get_last_price(self, asset):
        """The asset's last known close, or `None` before its first bar."""
        cdef object idx = self._index.get(asset)
        if idx is None:
            return None
        cdef double price = self.c_last_price(<uint32_t>idx)
        return None if price != price else price

    # ------------------------------------------------------------ fills/trades

    def get_fills(self, order_id=None):
        """Every fill so far (or those of one order), in execution order."""
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0, i
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        cdef ffi.NlFill f
        want = 0 if order_id is None else _order_number(order_id)
        given, start = ([], 0) if self._stepper is None else self._stepper.journal("fills")
        out = [x for x in given if want == 0 or x.order_id == f"ORD-{want}"]
        for i in range(start, n_fills):
            check(ffi.nl_engine_fill(self._engine, i, &f))
            if want == 0 or f.order_id == want:
                out.append(fill_from(self._state, &f))
        return out

    def get_trades(self, asset=None, last_n=None):
        """Closed round trips, oldest first (optionally one asset, the last `n`)."""
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0, i
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        cdef ffi.NlTrade t
        names = self._state.asset_names
        given, start = ([], 0) if self._stepper is None else self._stepper.journal("trades")
        out = [x for x in given if asset is None or x.symbol == asset]
        for i in range(start, n_trades):
            check(ffi.nl_engine_trade(self._engine, i, &t))
            if asset is not None and names[t.asset] != asset:
                continue
            out.append(self._trade(&t))
        if last_n is not None:
            out = out[-last_n:] if last_n > 0 else []
        return out

    def get_last_trade(self, asset=None):
        """The most recent closed trade (of `asset`, if given), or None."""
        trades = self.get_trades(asset, last_n=1)
        return trades[0] if trades else None

    cdef object _trade(self, ffi.NlTrade* t):
        """The `Trade` of one engine trade record (closed, or partial for a reduction)."""
        return Trade(
            symbol=self._state.asset_names[t.asset],
            entry_time=self._state.time_at(t.entry_time),
            exit_time=self._state.time_at(t.exit_time),
            entry_price=t.entry_price, exit_price=t.exit_price, quantity=t.quantity,
            pnl=t.pnl, pnl_percent=t.pnl_percent, bars_held=t.bars_held, fees=t.fees,
            exit_slippage=t.exit_slippage, entry_slippage=t.entry_slippage,
            mfe=t.mfe, mae=t.mae, status="partial" if t.status == ffi.TRADE_STATUS_PARTIAL else "closed",
            exit_reason=EXIT_REASONS[t.exit_reason], exit_reason_detail=self._exit_detail(t.exit_order_id),
            entry_available_size=t.entry_available_size, exit_available_size=t.exit_available_size,
            multiplier=self._state.multipliers[t.asset],
        )

    def _exit_detail(self, unsigned long long order_id):
        """A rule exit's description ("stop_loss_5.0%"), or None."""
        cdef char* s = NULL
        check(ffi.nl_engine_order_exit_detail(self._engine, order_id, &s))
        return take_string(s)

    @property
    def positions(self):
        """`{asset: Position}` of the open positions. A standalone broker's is a
        live mapping that also takes `positions[asset] = Position(...)`."""
        if self._stepper is not None:
            self._sync()
            from nautilus_like.standalone import PositionBook
            return PositionBook(self, self._stepper)
        return self.get_positions()

    @property
    def orders(self):
        return list(self.get_orders())

    @property
    def pending_orders(self):
        return self.get_pending_orders()

    @property
    def fills(self):
        """Every fill so far (`get_fills()`). A standalone broker's record may
        be replaced, `broker.fills = [...]`, as ml4t allows: later fills follow
        the given ones."""
        return self.get_fills()

    @fills.setter
    def fills(self, value):
        self._standalone("fills =").replace_journal("fills", value, self._n_records()[0])

    @property
    def trades(self):
        """Closed round trips so far (`get_trades()`); a standalone broker's
        record may be replaced as `fills`."""
        return self.get_trades()

    @trades.setter
    def trades(self, value):
        self._standalone("trades =").replace_journal("trades", value, self._n_records()[1])

    def _n_records(self):
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        return n_fills, n_trades

    # ------------------------------------------------------------- rebalancing

    def rebalance_to_weights(self, target_weights, order_type=OrderType.MARKET):
        """Orders every asset toward `target_weights` (`{asset: weight}`, 0.10 =
        10% of the account value) and closes positions not in it; sells are
        submitted before buys so they free cash first. Returns the orders.

        Weights are scaled by `BacktestConfig.rebalance_headroom_pct`; an asset
        without a bar now is skipped, or sized at its last price with
        `missing_price_policy=USE_LAST` (see `nautilus_like.rebalance`).

        >>> broker.rebalance_to_weights({"AAPL": 0.5, "MSFT": 0.3})
        """
        from nautilus_like.rebalance import rebalance_to_weights

        return rebalance_to_weights(self, target_weights, order_type)

    def _match_now(self):
        """Matches pending orders inside the callback (SAME_BAR; no-op in NEXT_BAR)."""
        check(ffi.nl_engine_match_now(self._engine))

    def _mark_rebalance_order(self, order, priority_notional=None):
        """Marks a pending order as a rebalance's: an integer account fills what
        cash affords of it; `priority_notional` ranks it under notional priorities."""
        check(ffi.nl_engine_mark_rebalance_order(
            self._engine, _order_number(order), NAN if priority_notional is None else priority_notional))

    # ------------------------------------------------------- trading statistics

    cdef object _stats_book(self):
        """The statistics book, with the engine's trade records it has not seen
        folded in (each is one realized P&L event) and the current bar's session."""
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0, i
        cdef ffi.NlTrade t
        cdef double cash = 0, equity = 0
        cdef int64_t bar = 0
        if self._trading_stats is None:
            from nautilus_like.trading_stats import TradingStatsBook
            self._trading_stats = TradingStatsBook()
        book = self._trading_stats
        check(ffi.nl_engine_counts(self._engine, &n_orders, &n_pending, &n_fills, &n_trades))
        if n_trades < book.cursor:
            book.cursor = n_trades
        names = self._state.asset_names
        for i in range(book.cursor, n_trades):
            check(ffi.nl_engine_trade(self._engine, i, &t))
            book.record(names[t.asset], t.pnl, self._state.time_at(t.exit_time))
        book.cursor = n_trades
        if self._state.stream_times is None:
            check(ffi.nl_engine_account(self._engine, &cash, &equity, &bar))
            if 0 <= bar < len(self._state.timestamps):
                book.observe_time(self._state.timestamps[bar])
        return book

    def get_asset_stats(self, asset):
        """The asset's realized-P&L statistics (`AssetTradingStats`): all time,
        the recent window and the current session. The same object on every
        call, kept up to date with the fills so far.

        >>> stats = broker.get_asset_stats("BTC")
        >>> if stats.total_trades >= 5 and stats.recent_win_rate < 0.4:
        ...     size = size / 2
        """
        if not isinstance(asset, str):
            raise TypeError(f"asset must be a str, got {type(asset).__name__}: {asset!r}")
        return self._stats_book().stats_for(asset)

    def configure_stats(self, recent_window_size=None, track_session_stats=None, enabled=None, config=None):
        """Sets how statistics are kept: `config` (a `StatsConfig`; the defaults
        when None) with any field given here overriding it. Existing recent
        windows keep their newest events when resized; events realized while
        `enabled=False` are not counted.

        >>> broker.configure_stats(recent_window_size=100)
        """
        self._stats_book().configure(recent_window_size, track_session_stats, enabled, config)

    def set_session_config(self, config):
        """Resets every asset's session statistics at the sessions of `config`
        (a `SessionConfig`), or never with None."""
        self._stats_book().set_session_config(config)
