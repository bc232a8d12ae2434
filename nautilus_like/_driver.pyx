# cython: language_level=3
"""The per-timestamp driver: one Rust call before and one after the strategy."""

cimport cython
from cpython.buffer cimport PyBUF_C_CONTIGUOUS, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.mem cimport PyMem_Malloc, PyMem_Free, PyMem_Realloc
from libc.math cimport NAN
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from nautilus_like cimport _ffi as ffi
from nautilus_like._model cimport EngineState, Order, check, fill_from, store_callback_error, take_string
from nautilus_like._broker cimport Broker
from nautilus_like._data cimport BarData, MarketView
from nautilus_like._strategy cimport Strategy
from nautilus_like._strategy import overridden_hooks
from nautilus_like.execution.limits import user_limit_answer

from copy import deepcopy as _deepcopy
from functools import partial as _partial


def run_bars(EngineState state not None, MarketView view not None, Strategy strategy not None,
             Broker broker not None, list contexts, object config=None, object clock=None,
             bint in_sessions=False):
    """Runs every bar: begin (marks, NEXT_BAR fills) -> on_data -> end (equity).

    `contexts` holds each bar's context dict, or is None: each bar then gets
    a fresh empty dict. `clock` (optional) is called with each bar's index
    before the bar begins (RuntimeServices moves its market view's cutoff).
    With `in_sessions` (after `set_session_mask`) the engine passes over bars
    outside the exchange sessions: the strategy does not see them.

    `on_start`/`on_prepare` run first; `on_end` runs even when a bar raises, and
    the exception propagates afterwards (as in ml4t-backtest). When the
    strategy overrides an event hook (`on_fill`, ...), the events of each step
    are reported after it (see `EventDispatch`); otherwise nothing is tracked.
    """
    cdef list timestamps = state.timestamps
    cdef Py_ssize_t t, n = len(timestamps)
    cdef BarData bar
    cdef uint8_t traded = 1
    # The run's pool of AssetBar views (BarData.items() recycles them).
    cdef list pool = []
    hooks = overridden_hooks(strategy)
    cdef EventDispatch events = EventDispatch(state, strategy, broker, hooks) if hooks else None
    if events is not None:
        events.snapshot()
    strategy.on_start(broker)
    try:
        strategy.on_prepare(broker, config)
        # One loop for both: with no event hooks `events` is None and each
        # dispatch costs a pointer test.
        if events is not None:
            events.dispatch()
        for t in range(n):
            if clock is not None:
                clock(t)
            if in_sessions:
                check(ffi.nl_engine_begin_session_bar(state.engine, <uint32_t>t, &traded))
                if not traded:
                    continue
            else:
                check(ffi.nl_engine_begin_bar(state.engine, <uint32_t>t))
            if events is not None:
                events.dispatch()
            bar = view.bar(t)
            bar._pool = pool
            try:
                strategy.on_data(timestamps[t], bar, {} if contexts is None else contexts[t], broker)
            except BaseException:
                _undo_callback(state)
                raise
            if events is not None:
                events.dispatch()
            if broker._controls is not None:
                _account_boundaries(state, broker)
            check(ffi.nl_engine_end_bar(state.engine))
            if events is not None:
                events.dispatch()
    finally:
        strategy.on_end(broker)


cdef void _undo_callback(EngineState state) noexcept:
    """The bar's strategy callback raised: the engine goes back to where the
    callback found it (its orders, immediate fills, cash, positions and
    volume budget undone), as ml4t-backtest rolls its broker back. The
    callback's exception is what the caller sees, so a failure here is not
    raised over it."""
    cdef uint8_t undone = 0
    ffi.nl_engine_rollback_callback(state.engine, &undone)


cdef int _account_boundaries(EngineState state, Broker broker) except -1:
    """Settles the controls the strategy's callbacks registered, and runs the
    account controls at the event's boundaries: after the callbacks, then
    (the bar closed: its fills done) after the fills and at a session's
    close, before the bar is recorded; a breach raises and ends the run there."""
    broker._controls.settle_callbacks()
    if not broker._controls.account:
        return 0
    broker.validate_account_controls(boundary="after_callbacks")
    cdef bint at_close = broker._controls.has_account("session_end")
    if at_close or broker._controls.has_account("after_fills"):
        check(ffi.nl_engine_close_bar(state.engine))
        broker.validate_account_controls(boundary="after_fills")
        if at_close:
            broker._controls.observe_session(
                broker._control_time(), _partial(broker.validate_account_controls, boundary="session_end"))
    return 0


cdef class EventDispatch:
    """Derives a strategy's events from what the engine exposes, step by step.

    `snapshot()` records the counts of orders, fills and trades and the pending
    order ids; `dispatch()` reports what changed since: new fills (each
    followed by the trades it closed or reduced: same exit order, same bar),
    then each order that was pending or new at the snapshot and is now
    rejected or cancelled, by id. Hooks may trade; what they cause is reported
    in the next round of the same `dispatch()`.
    """
    cdef EngineState state
    cdef Strategy strategy
    cdef Broker broker
    cdef bint want_fill, want_closed, want_rejected, want_cancelled, want_orders
    cdef size_t n_orders, n_fills, n_trades, n_pending
    cdef uint64_t* pending
    cdef size_t cap

    def __cinit__(self, EngineState state, Strategy strategy, Broker broker, hooks):
        self.state = state
        self.strategy = strategy
        self.broker = broker
        self.want_fill = "on_fill" in hooks
        self.want_closed = "on_position_closed" in hooks
        self.want_rejected = "on_order_rejected" in hooks
        self.want_cancelled = "on_order_cancelled" in hooks
        self.want_orders = self.want_rejected or self.want_cancelled
        self.pending = NULL
        self.cap = 0

    def __dealloc__(self):
        PyMem_Free(self.pending)

    cdef int snapshot(self) except -1:
        cdef size_t n_pending = 0, n = 0
        check(ffi.nl_engine_counts(self.state.engine, &self.n_orders, &n_pending, &self.n_fills,
                                   &self.n_trades))
        self.n_pending = 0
        if not self.want_orders or n_pending == 0:
            return 0
        if n_pending > self.cap:
            buf = <uint64_t*>PyMem_Realloc(self.pending, n_pending * 2 * sizeof(uint64_t))
            if buf is NULL:
                raise MemoryError()
            self.pending = buf
            self.cap = n_pending * 2
        check(ffi.nl_engine_pending_ids(self.state.engine, self.pending, self.cap, &n))
        self.n_pending = n
        return 0

    cdef int dispatch(self) except -1:
        cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0, i, j
        cdef size_t f0, t0, o0
        cdef ffi.NlFill f
        cdef ffi.NlTrade tr
        cdef ffi.NlOrder o
        cdef list ended
        cdef int rounds = 0
        while True:
            check(ffi.nl_engine_counts(self.state.engine, &n_orders, &n_pending, &n_fills, &n_trades))
            f0, t0, o0 = self.n_fills, self.n_trades, self.n_orders
            # Orders that were pending at the snapshot or created since and are now done badly.
            ended = []
            if self.want_orders:
                for i in range(self.n_pending):
                    check(ffi.nl_engine_order(self.state.engine, self.pending[i], &o))
                    if o.status == ffi.ORDER_STATUS_REJECTED or o.status == ffi.ORDER_STATUS_CANCELLED:
                        ended.append((self.pending[i], o.status))
                for i in range(o0 + 1, n_orders + 1):
                    check(ffi.nl_engine_order(self.state.engine, i, &o))
                    if o.status == ffi.ORDER_STATUS_REJECTED or o.status == ffi.ORDER_STATUS_CANCELLED:
                        ended.append((i, o.status))
                if len(ended) > 1:
                    ended.sort()
            if f0 == n_fills and t0 == n_trades and not ended and o0 == n_orders:
                return 0
            # The hooks below may trade: what they cause belongs to the next round.
            self.snapshot()
            rounds += 1
            if rounds > 10000:
                raise RuntimeError("event hooks kept causing new events (10,000 rounds in one step)")
            j = t0
            for i in range(f0, n_fills):
                check(ffi.nl_engine_fill(self.state.engine, i, &f))
                if self.want_fill:
                    self.strategy.on_fill(fill_from(self.state, &f))
                while j < n_trades:
                    check(ffi.nl_engine_trade(self.state.engine, j, &tr))
                    if tr.exit_order_id != f.order_id or tr.exit_time != f.timestamp:
                        break
                    if self.want_closed:
                        self.strategy.on_position_closed(self.broker._trade(&tr))
                    j += 1
            while j < n_trades:
                check(ffi.nl_engine_trade(self.state.engine, j, &tr))
                if self.want_closed:
                    self.strategy.on_position_closed(self.broker._trade(&tr))
                j += 1
            for order_id, status in ended:
                if status == ffi.ORDER_STATUS_REJECTED:
                    if self.want_rejected:
                        self.strategy.on_order_rejected(Order(self.state, order_id))
                elif self.want_cancelled:
                    self.strategy.on_order_cancelled(Order(self.state, order_id))


cdef int32_t _commission_callback(void* user, uint32_t asset, double quantity, double price, uint8_t estimate,
                                  double* out) noexcept with gil:
    """Calls a Python commission model's `calculate(asset, quantity, price)`;
    a pre-trade estimate asks a deep copy, so a model that counts its fills
    (fee tiers) advances on fills only, as in ml4t-backtest."""
    cdef tuple entry = <tuple>user
    model = entry[0]
    try:
        if estimate:
            model = _estimate_copy(model, "commission")
        out[0] = _model_output("commission", model, model.calculate(entry[1][asset], quantity, price))
        return 0
    except BaseException as exc:
        store_callback_error(exc)
        return 1


cdef int32_t _slippage_callback(void* user, uint32_t asset, double quantity, double price, double volume,
                                uint8_t estimate, double* out) noexcept with gil:
    """Calls a Python slippage model's `calculate(asset, quantity, price, volume)`;
    a pre-trade estimate asks a deep copy (as for commissions)."""
    cdef tuple entry = <tuple>user
    model = entry[0]
    try:
        if estimate:
            model = _estimate_copy(model, "slippage")
        out[0] = _model_output("slippage", model, model.calculate(
            entry[1][asset], quantity, price, None if volume != volume else volume))
        return 0
    except BaseException as exc:
        store_callback_error(exc)
        return 1


cdef int32_t _limit_callback(void* user, uint32_t asset, double quantity, double volume, double available,
                             double price, double* fillable, double* capacity) noexcept with gil:
    """Asks a Python execution limit what an order fills (`execution.limits.user_limit_answer`)."""
    cdef tuple entry = <tuple>user
    try:
        fillable[0], capacity[0] = user_limit_answer(entry[0], quantity, None if volume != volume else volume,
                                                     None if available != available else available, price)
        return 0
    except BaseException as exc:
        store_callback_error(exc)
        return 1


cdef int32_t _impact_callback(void* user, uint32_t asset, double quantity, double price, double volume,
                              bint is_buy, double* out) noexcept with gil:
    """Calls a Python impact model's `calculate(quantity, price, volume, is_buy)`."""
    cdef tuple entry = <tuple>user
    try:
        value = entry[0].calculate(quantity, price, None if volume != volume else volume, bool(is_buy))
        try:
            out[0] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"Invalid market impact from {type(entry[0]).__name__}: expected a finite adverse "
                             f"value, got {value!r}") from None
        return 0
    except BaseException as exc:
        store_callback_error(exc)
        return 1


cdef object _estimate_copy(object model, str kind):
    try:
        copied = _deepcopy(model)
    except Exception as exc:
        raise TypeError(f"{kind} model {type(model).__name__} must support copy.deepcopy: pre-trade "
                        f"estimates ask a copy, so a stateful model advances on fills only") from exc
    if copied is model:
        raise TypeError(f"{kind} model {type(model).__name__}: execution price models must support independent "
                        f"deepcopy quotes (copy.deepcopy returned the same instance; pre-trade estimates ask a copy)")
    return copied


cdef double _model_output(str kind, object model, object value) except? -1.0:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {kind} from {type(model).__name__}: expected a finite non-negative "
                         f"number, got {value!r}") from None


cdef object _clock_of(MarketView view):
    """The market's bar times (ns) as a NumPy array."""
    import numpy as np
    cdef size_t n = view.cols.n_bars
    if n == 0:
        return np.empty(0, dtype=np.int64)
    return np.array(<const int64_t[:n]>view.cols.timestamps, dtype=np.int64)


def _bars_of(clock, times):
    """The bar (index on `clock`) in effect at each engine time; -1 for
    `NL_NO_TIME` or a time before the first bar."""
    import numpy as np
    return np.searchsorted(clock, times, side="right").astype(np.int64) - 1


@cython.boundscheck(False)
@cython.wraparound(False)
cdef object _bar_column(const int64_t[:] clock, const int64_t[::1] times):
    """`_bars_of` for a result column: one walk along the clock while the
    times do not decrease (fill times, exit times), a search back from the
    last bar where they do (entry times: mostly a few bars back), instead
    of a binary search over the whole clock per row."""
    import numpy as np
    cdef Py_ssize_t n = times.shape[0], m = clock.shape[0], i, j = 0, lo, hi, mid, step
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] bars = out
    cdef int64_t x, prev = 0
    # Invariant: j is the first bar whose time is after the previous time.
    for i in range(n):
        x = times[i]
        if i > 0 and x < prev:
            # Gallop back from j to a bar at or before x, then bisect.
            hi = j
            step = 1
            lo = hi - step
            while lo > 0 and clock[lo] > x:
                hi = lo
                step *= 2
                lo = hi - step
            if lo < 0:
                lo = 0
            while lo < hi:
                mid = (lo + hi) // 2
                if clock[mid] <= x:
                    lo = mid + 1
                else:
                    hi = mid
            j = lo
        else:
            while j < m and clock[j] <= x:
                j += 1
        bars[i] = j - 1
        prev = x
    return out


def create_engine(MarketView view not None, dict cfg not None, list timestamps not None, list commission_routes=None,
                  list slippage_routes=None, object sessions=None, list limit_routes=None,
                  dict impact=None, dict multipliers=None, dict contract_specs=None, dict margins=None):
    """A new Rust engine over the view's market data.

    `cfg` holds `ffi.NlEngineConfig` fields as plain numbers (`config.engine_settings`);
    the routes are `_costs.routes(...)` / `execution.limit_routes(...)` lists;
    `impact` an `execution.impact_spec(...)`; `sessions` one trading-day number
    per bar (or None: DAY orders are then refused).
    """
    cdef ffi.NlEngineConfig c = _engine_config(cfg)
    cdef EngineState state = EngineState.__new__(EngineState)
    state.asset_names = view.asset_names
    state.asset_index = view.asset_index
    state.timestamps = timestamps
    # The engine's clock (a copy: the state outlives no view but keeps its own).
    state.clock = _clock_of(view)
    state.callbacks = []
    state.contract_specs = contract_specs or {}
    state.multipliers = [1.0] * len(view.asset_names)
    check(ffi.nl_engine_new(&c, view.md, &state.engine))
    set_asset_settings(state, multipliers, margins)
    configure_costs(state, commission_routes, slippage_routes, limit_routes, impact)
    cdef const int64_t[:] days
    if sessions is not None and len(sessions) > 0:
        days = sessions
        check(ffi.nl_engine_set_sessions(state.engine, &days[0], len(sessions)))
    return state


def update_settings(EngineState state not None, dict cfg not None):
    """Replaces the live engine's settings with `cfg`'s (`config.engine_settings`
    codes); the engine refuses, changing nothing, a setting that cannot change
    now (`Engine::update_settings`)."""
    cdef ffi.NlEngineConfig c = _engine_config(cfg)
    check(ffi.nl_engine_update_config(state.engine, &c))


def set_session_mask(EngineState state not None, object mask not None):
    """Per bar, whether it lies inside an exchange session (`enforce_sessions`;
    a uint8 array, one entry per bar); `run_bars(..., in_sessions=True)` then
    passes over the others."""
    cdef const uint8_t[:] m = mask
    if len(mask) > 0:
        check(ffi.nl_engine_set_session_mask(state.engine, &m[0], len(mask)))


def set_session_closes(EngineState state not None, object closes not None):
    """`CancelPolicy.SESSION_END`: per bar, the close (ns) of its exchange
    session (an int64 array; the sessions must be set)."""
    cdef const int64_t[:] c = closes
    if len(closes) > 0:
        check(ffi.nl_engine_set_session_closes(state.engine, &c[0], len(closes)))


def skipped_bars(EngineState state not None):
    """How many bars the run passed over outside the exchange sessions."""
    cdef size_t n = 0
    check(ffi.nl_engine_skipped_bars(state.engine, &n))
    return n


cdef ffi.NlEngineConfig _engine_config(dict cfg) except *:
    """`cfg` over Rust's defaults (EngineConfig::default()) for every field it leaves out."""
    cdef ffi.NlEngineConfig c
    check(ffi.nl_engine_config_default(&c))
    cdef dict settings = c
    settings.update(cfg)
    c = settings
    return c


def create_stepped_engine(dict cfg not None, dict contract_specs=None):
    """A new Rust engine for a standalone broker: no assets until they are
    registered (`nl_engine_add_assets`), marks pushed step by step
    (`nautilus_like._stepped`); its clock is `state.stream_times`."""
    cdef ffi.NlEngineConfig c = _engine_config(cfg)
    cdef EngineState state = EngineState.__new__(EngineState)
    state.asset_names = []
    state.asset_index = {}
    state.timestamps = []
    state.clock = _clock_of_nothing()
    state.stream_times = {}
    state.callbacks = []
    state.contract_specs = contract_specs or {}
    state.multipliers = []
    check(ffi.nl_engine_new_stepped(&c, 1, &state.engine))
    return state


cdef object _clock_of_nothing():
    import numpy as np
    return np.empty(0, dtype=np.int64)


def set_asset_settings(EngineState state not None, dict multipliers=None, dict margins=None):
    """Contract multipliers (`{asset id: m}`) and margin schedules
    (`{asset id: (kind, initial, maintenance)}`) of assets the engine has."""
    for a, m in (multipliers or {}).items():
        check(ffi.nl_engine_set_multiplier(state.engine, a, m))
        state.multipliers[a] = m
    for a, (kind, initial, maintenance) in (margins or {}).items():
        check(ffi.nl_engine_set_margin_schedule(state.engine, a, kind, initial, maintenance))


def configure_costs(EngineState state not None, list commission_routes=None, list slippage_routes=None,
                    list limit_routes=None, dict impact=None):
    """Hands the cost routes (`_costs.routes`, `execution.limit_routes`) and the
    impact spec (`execution.impact_spec`) to the engine; None leaves one as is."""
    if commission_routes:
        _set_commission(state, commission_routes)
    if slippage_routes:
        _set_slippage(state, slippage_routes)
    if limit_routes:
        _set_limits(state, limit_routes)
    cdef ffi.NlImpactSpec im
    if impact:
        im.kind = impact["kind"]
        im.coefficient = impact.get("coefficient", 0.0)
        im.volatility = impact.get("volatility", 0.0)
        im.adv_factor = impact.get("adv_factor", 1.0)
        im.exponent = impact.get("exponent", 0.0)
        im.min_impact = impact.get("min_impact", 0.0)
        im.callback = NULL
        im.user_data = NULL
        im.name = NULL
        model = impact.get("model")
        if model is not None:
            im.callback = _impact_callback
            im.user_data = _keep(state, model)
            im.name = _name_of(state, model)
        check(ffi.nl_engine_set_market_impact(state.engine, &im))


def set_portfolio_limits(EngineState state not None, list specs not None):
    """Hands `portfolio_limits.limit_specs(...)` to the engine (before the first bar)."""
    cdef Py_ssize_t n = len(specs), i
    cdef ffi.NlPortfolioLimitSpec* c = <ffi.NlPortfolioLimitSpec*>PyMem_Malloc(max(1, n) * sizeof(ffi.NlPortfolioLimitSpec))
    if c is NULL:
        raise MemoryError()
    try:
        for i in range(n):
            spec = specs[i]
            c[i].kind = spec["kind"]
            c[i].action = spec["action"]
            c[i].threshold = spec.get("threshold", 0.0)
            c[i].lower = spec.get("lower", 0.0)
            c[i].warn_threshold = spec.get("warn_threshold", float("nan"))
            c[i].reduction_pct = spec.get("reduction_pct", 0.0)
            c[i].max_positions = spec.get("max_positions", 0)
        check(ffi.nl_engine_set_portfolio_limits(state.engine, c, n))
    finally:
        PyMem_Free(c)


cdef _set_limits(EngineState state, list routes):
    cdef Py_ssize_t n = len(routes), i
    cdef ffi.NlLimitSpec* specs = <ffi.NlLimitSpec*>PyMem_Malloc(n * sizeof(ffi.NlLimitSpec))
    if specs is NULL:
        raise MemoryError()
    try:
        for i in range(n):
            asset, spec = routes[i]
            specs[i].asset = asset
            specs[i].kind = spec["kind"]
            specs[i].max_participation = spec.get("max_participation", 0.0)
            specs[i].min_volume = spec.get("min_volume", 0.0)
            shared = spec.get("shared_participation")
            specs[i].shared_participation = NAN if shared is None else shared
            specs[i].base_participation = spec.get("base_participation", 0.0)
            specs[i].volatility_factor = spec.get("volatility_factor", 0.0)
            specs[i].min_participation = spec.get("min_participation", 0.0)
            specs[i].avg_volatility = spec.get("avg_volatility", 0.0)
            specs[i].callback = NULL
            specs[i].user_data = NULL
            specs[i].name = NULL
            model = spec.get("model")
            if model is not None:
                specs[i].callback = _limit_callback
                specs[i].user_data = _keep(state, model)
                specs[i].name = _name_of(state, model)
        check(ffi.nl_engine_set_execution_limits(state.engine, specs, n))
    finally:
        PyMem_Free(specs)


cdef void* _keep(EngineState state, object model):
    """The callbacks' user data: `(model, asset names)`, kept alive by the engine's state."""
    entry = (model, state.asset_names)
    state.callbacks.append(entry)
    return <void*>entry


cdef const char* _name_of(EngineState state, object model):
    """The model's class name as a C string (Rust copies it; kept alive anyway)."""
    name = type(model).__name__.encode("utf-8", "replace")
    state.callbacks.append(name)
    return <const char*>(<bytes>name)


cdef Py_ssize_t _commission_c(ffi.NlCommissionSpec* c, uint32_t asset, dict spec, double* thresholds,
                              double* rates, Py_ssize_t t) except -1:
    """Writes a native commission spec (`model._spec()`) into `c`, its tiers into the
    tier arrays from index `t`; returns the next free tier index. No callback."""
    c.asset = asset
    c.kind = spec["kind"]
    c.rate = spec.get("rate", 0.0)
    c.per_share = spec.get("per_share", 0.0)
    c.per_trade = spec.get("per_trade", 0.0)
    c.minimum = spec.get("minimum", 0.0)
    c.tiers_start = t
    c.tiers_len = len(spec.get("tiers", ()))
    for threshold, rate in spec.get("tiers", ()):
        thresholds[t] = threshold
        rates[t] = rate
        t += 1
    c.callback = NULL
    c.user_data = NULL
    c.name = NULL
    return t


cdef int _slippage_c(ffi.NlSlippageSpec* c, uint32_t asset, dict spec) except -1:
    """Writes a native slippage spec (`model._spec()`) into `c`. No callback."""
    c.asset = asset
    c.kind = spec["kind"]
    c.rate = spec.get("rate", 0.0)
    c.amount = spec.get("amount", 0.0)
    c.half_given = spec.get("half_given", False)
    c.requires_volume = spec.get("requires_volume", False)
    c.callback = NULL
    c.user_data = NULL
    c.name = NULL
    return 0


cdef _set_commission(EngineState state, list routes):
    cdef Py_ssize_t n = len(routes), i, n_tiers = 0, t
    for _, spec in routes:
        n_tiers += len(spec.get("tiers", ()))
    cdef ffi.NlCommissionSpec* specs = <ffi.NlCommissionSpec*>PyMem_Malloc(n * sizeof(ffi.NlCommissionSpec))
    cdef double* thresholds = <double*>PyMem_Malloc((n_tiers + 1) * sizeof(double))
    cdef double* rates = <double*>PyMem_Malloc((n_tiers + 1) * sizeof(double))
    if specs is NULL or thresholds is NULL or rates is NULL:
        PyMem_Free(specs); PyMem_Free(thresholds); PyMem_Free(rates)
        raise MemoryError()
    try:
        t = 0
        for i in range(n):
            asset, spec = routes[i]
            t = _commission_c(&specs[i], asset, spec, thresholds, rates, t)
            model = spec.get("model")
            if model is not None:
                specs[i].callback = _commission_callback
                specs[i].user_data = _keep(state, model)
                specs[i].name = _name_of(state, model)
        check(ffi.nl_engine_set_commission(state.engine, specs, n, thresholds, rates, n_tiers))
    finally:
        PyMem_Free(specs); PyMem_Free(thresholds); PyMem_Free(rates)


cdef _set_slippage(EngineState state, list routes):
    cdef Py_ssize_t n = len(routes), i
    cdef ffi.NlSlippageSpec* specs = <ffi.NlSlippageSpec*>PyMem_Malloc(n * sizeof(ffi.NlSlippageSpec))
    if specs is NULL:
        raise MemoryError()
    try:
        for i in range(n):
            asset, spec = routes[i]
            _slippage_c(&specs[i], asset, spec)
            model = spec.get("model")
            if model is not None:
                specs[i].callback = _slippage_callback
                specs[i].user_data = _keep(state, model)
                specs[i].name = _name_of(state, model)
        check(ffi.nl_engine_set_slippage(state.engine, specs, n))
    finally:
        PyMem_Free(specs)
    _set_price_sources(state, [(asset, spec["price_source"]) for asset, spec in routes if "price_source" in spec])


cdef _set_price_sources(EngineState state, list sources):
    """The assets' own fill bases (`AssetSlippage.price_sources`), as header
    codes; an empty list clears those of a replaced slippage model."""
    cdef Py_ssize_t n = len(sources), i
    cdef uint32_t* assets = <uint32_t*>PyMem_Malloc(max(1, n) * sizeof(uint32_t))
    cdef uint32_t* codes = <uint32_t*>PyMem_Malloc(max(1, n) * sizeof(uint32_t))
    if assets is NULL or codes is NULL:
        PyMem_Free(assets); PyMem_Free(codes)
        raise MemoryError()
    try:
        for i in range(n):
            assets[i], codes[i] = sources[i]
        check(ffi.nl_engine_set_asset_price_sources(state.engine, assets, codes, n))
    finally:
        PyMem_Free(assets); PyMem_Free(codes)


cdef void* _data(object array) except? NULL:
    """The data pointer of a 1-D C-contiguous NumPy array (NULL when empty:
    nothing is written through it then)."""
    cdef Py_buffer view
    cdef void* p
    if len(array) == 0:
        return NULL
    PyObject_GetBuffer(array, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS)
    p = view.buf
    # The array keeps the memory; the view only borrowed it.
    PyBuffer_Release(&view)
    return p


def collect_results(EngineState state not None, MarketView view=None):
    """Copies the engine's fills, closed trades, open positions and curves into
    NumPy arrays (one pass in C; no Python object per fill).

    With the run's `view`, a feed without bid, ask, mid or size columns gets
    its fills' and trades' quote columns as read-only all-NaN views (no
    memory: every fill's quote is NaN then) instead of arrays filled with NaN.
    """
    import numpy as np

    cdef bint no_quotes = view is not None and not view.has_book_quotes()
    nan_column = lambda n: np.broadcast_to(np.float64(np.nan), (n,))

    cdef ffi.NlEngine* e = state.engine
    cdef size_t n_orders = 0, n_pending = 0, n_fills = 0, n_trades = 0, i, n_curve = 0
    check(ffi.nl_engine_counts(e, &n_orders, &n_pending, &n_fills, &n_trades))

    # One engine call per table writes every column straight into its array
    # (no row struct, no Python object per fill).
    fills = {k: np.empty(n_fills, dtype=d) for k, d in (
        ("order_id", np.uint64), ("asset", np.uint32), ("side", np.uint32), ("quantity", np.float64),
        ("price", np.float64), ("timestamp", np.int64), ("commission", np.float64), ("slippage", np.float64),
        ("price_source", np.uint32), ("reference_price", np.float64), ("available_size", np.float64),
        ("is_exit", np.bool_), ("order_type", np.uint32), ("limit_price", np.float64),
        ("stop_price", np.float64), ("stop_triggered_at", np.int64), ("bid", np.float64),
        ("ask", np.float64), ("quote_mid", np.float64), ("bid_size", np.float64), ("ask_size", np.float64),
        ("exit_reason", np.uint32))}
    cdef ffi.NlFillColumns fc
    fc.order_id = <uint64_t*>_data(fills["order_id"]); fc.asset = <uint32_t*>_data(fills["asset"])
    fc.side = <uint32_t*>_data(fills["side"]); fc.quantity = <double*>_data(fills["quantity"])
    fc.price = <double*>_data(fills["price"]); fc.timestamp = <int64_t*>_data(fills["timestamp"])
    fc.commission = <double*>_data(fills["commission"]); fc.slippage = <double*>_data(fills["slippage"])
    fc.price_source = <uint32_t*>_data(fills["price_source"])
    fc.reference_price = <double*>_data(fills["reference_price"])
    fc.available_size = <double*>_data(fills["available_size"]); fc.bid = <double*>_data(fills["bid"])
    fc.ask = <double*>_data(fills["ask"]); fc.quote_mid = <double*>_data(fills["quote_mid"])
    fc.bid_size = <double*>_data(fills["bid_size"]); fc.ask_size = <double*>_data(fills["ask_size"])
    fc.is_exit = <ffi.bool*>_data(fills["is_exit"]); fc.order_type = <uint32_t*>_data(fills["order_type"])
    fc.limit_price = <double*>_data(fills["limit_price"]); fc.stop_price = <double*>_data(fills["stop_price"])
    fc.stop_triggered_at = <int64_t*>_data(fills["stop_triggered_at"])
    fc.exit_reason = <uint32_t*>_data(fills["exit_reason"])
    if no_quotes:
        for k in ("bid", "ask", "quote_mid", "bid_size", "ask_size"):
            fills[k] = nan_column(n_fills)
        fc.bid = fc.ask = fc.quote_mid = fc.bid_size = fc.ask_size = NULL
    cdef size_t got = 0
    check(ffi.nl_engine_fill_columns(e, 0, &fc, n_fills, &got))
    if got != n_fills:
        raise RuntimeError(f"the engine counted {n_fills} fills but returned {got}")

    trade_fields = ("entry_price", "exit_price", "quantity", "pnl", "pnl_percent", "fees",
                    "entry_slippage", "exit_slippage", "mfe", "mae", "entry_available_size",
                    "exit_available_size", "entry_bid", "entry_ask", "entry_mid", "exit_bid", "exit_ask",
                    "exit_mid")
    trades = {k: np.empty(n_trades, dtype=np.float64) for k in trade_fields}
    for k in ("asset", "bars_held", "status", "exit_reason"):
        trades[k] = np.empty(n_trades, dtype=np.uint32)
    for k in ("entry_time", "exit_time"):
        trades[k] = np.empty(n_trades, dtype=np.int64)
    trades["exit_order_id"] = np.empty(n_trades, dtype=np.uint64)
    cdef ffi.NlTradeColumns tc
    tc.asset = <uint32_t*>_data(trades["asset"]); tc.entry_time = <int64_t*>_data(trades["entry_time"])
    tc.exit_time = <int64_t*>_data(trades["exit_time"]); tc.entry_price = <double*>_data(trades["entry_price"])
    tc.exit_price = <double*>_data(trades["exit_price"]); tc.quantity = <double*>_data(trades["quantity"])
    tc.pnl = <double*>_data(trades["pnl"]); tc.pnl_percent = <double*>_data(trades["pnl_percent"])
    tc.bars_held = <uint32_t*>_data(trades["bars_held"]); tc.fees = <double*>_data(trades["fees"])
    tc.entry_slippage = <double*>_data(trades["entry_slippage"])
    tc.exit_slippage = <double*>_data(trades["exit_slippage"])
    tc.mfe = <double*>_data(trades["mfe"]); tc.mae = <double*>_data(trades["mae"])
    tc.status = <uint32_t*>_data(trades["status"])
    tc.entry_available_size = <double*>_data(trades["entry_available_size"])
    tc.exit_available_size = <double*>_data(trades["exit_available_size"])
    tc.entry_bid = <double*>_data(trades["entry_bid"]); tc.entry_ask = <double*>_data(trades["entry_ask"])
    tc.entry_mid = <double*>_data(trades["entry_mid"]); tc.exit_bid = <double*>_data(trades["exit_bid"])
    tc.exit_ask = <double*>_data(trades["exit_ask"]); tc.exit_mid = <double*>_data(trades["exit_mid"])
    tc.exit_reason = <uint32_t*>_data(trades["exit_reason"])
    tc.exit_order_id = <uint64_t*>_data(trades["exit_order_id"])
    if no_quotes:
        for k in ("entry_bid", "entry_ask", "entry_mid", "exit_bid", "exit_ask", "exit_mid"):
            trades[k] = nan_column(n_trades)
        tc.entry_bid = tc.entry_ask = tc.entry_mid = tc.exit_bid = tc.exit_ask = tc.exit_mid = NULL
    check(ffi.nl_engine_trade_columns(e, 0, &tc, n_trades, &got))
    if got != n_trades:
        raise RuntimeError(f"the engine counted {n_trades} trades but returned {got}")

    # Open positions, in the order they were opened.
    cdef ffi.NlPosition p
    cdef uint8_t found
    cdef size_t n_pos = 0
    cdef size_t n_assets = len(state.asset_names)
    cdef uint32_t* order = <uint32_t*>PyMem_Malloc(max(1, n_assets) * sizeof(uint32_t))
    if order is NULL:
        raise MemoryError()
    positions = []
    try:
        check(ffi.nl_engine_open_positions(e, order, n_assets, &n_pos))
        for i in range(n_pos):
            check(ffi.nl_engine_position(e, order[i], &p, &found))
            positions.append(dict(
                asset=p.asset, quantity=p.quantity, entry_price=p.entry_price, entry_time=p.entry_time,
                bars_held=p.bars_held, entry_commission=p.entry_commission,
                entry_slippage=p.entry_slippage, mfe=p.max_favorable_excursion,
                mae=p.max_adverse_excursion, current_price=p.current_price,
                entry_available_size=p.entry_available_size, entry_bid=p.entry_bid, entry_ask=p.entry_ask,
                entry_mid=p.entry_mid))
    finally:
        PyMem_Free(order)
    # The result tables index the feed's timeline: each time's bar.
    fills["bar"] = _bar_column(state.clock, fills["timestamp"])
    fills["stop_triggered_bar"] = _bar_column(state.clock, fills["stop_triggered_at"])
    trades["entry_bar"] = _bar_column(state.clock, trades["entry_time"])
    trades["exit_bar"] = _bar_column(state.clock, trades["exit_time"])
    for pos in positions:
        pos["entry_bar"] = int(_bars_of(state.clock, pos["entry_time"]))
    cdef double mark = 0.0
    for pos in positions:
        check(ffi.nl_engine_valuation_price(e, pos["asset"], &mark))
        pos["mark"] = mark

    cdef const double* eq = NULL
    cdef const double* cash = NULL
    cdef const uint32_t* n_open = NULL
    check(ffi.nl_engine_curves(e, &eq, &cash, &n_open, &n_curve))
    equity = np.empty(n_curve, dtype=np.float64)
    cash_arr = np.empty(n_curve, dtype=np.float64)
    open_arr = np.empty(n_curve, dtype=np.uint32)
    cdef double[:] eq_v = equity, cash_v = cash_arr
    cdef unsigned int[:] open_v = open_arr
    for i in range(n_curve):
        eq_v[i] = eq[i]
        cash_v[i] = cash[i]
        open_v[i] = n_open[i]
    # ml4t's account observation exposures (gross and net position value).
    cdef const double* gross = NULL
    cdef const double* net = NULL
    cdef size_t n_exposure = 0
    check(ffi.nl_engine_exposure_curves(e, &gross, &net, &n_exposure))
    if n_exposure != n_curve:
        raise RuntimeError(f"the engine recorded {n_curve} equity values but {n_exposure} exposures")
    gross_arr = np.empty(n_curve, dtype=np.float64)
    net_arr = np.empty(n_curve, dtype=np.float64)
    cdef double[:] gross_v = gross_arr, net_v = net_arr
    for i in range(n_curve):
        gross_v[i] = gross[i]
        net_v[i] = net[i]

    statuses = np.empty(n_orders, dtype=np.uint32)
    has_detail = np.zeros(n_orders, dtype=np.uint8)
    cdef unsigned int[:] st_v = statuses
    cdef unsigned char[:] detail_v = has_detail
    if n_orders:
        check(ffi.nl_engine_order_statuses(e, 1, &st_v[0], &detail_v[0], n_orders, &got))
        if got != n_orders:
            raise RuntimeError(f"the engine counted {n_orders} orders but returned {got}")
    # Rule exits' descriptions ("stop_loss_5.0%"), by order id.
    exit_details = {}
    cdef char* detail = NULL
    for i in range(n_orders):
        if detail_v[i]:
            check(ffi.nl_engine_order_exit_detail(e, i + 1, &detail))
            text = take_string(detail)
            if text is not None:
                exit_details[i + 1] = text
    # Beyond ml4t: the engine's margin calls and borrow fees.
    cdef size_t n_calls = 0
    cdef ffi.NlMarginCall call
    check(ffi.nl_engine_margin_call_count(e, &n_calls))
    margin_calls = []
    for i in range(n_calls):
        check(ffi.nl_engine_margin_call(e, i, &call))
        margin_calls.append((call.timestamp, call.equity, call.requirement, call.liquidated))
    cdef const double* fees = NULL
    cdef size_t n_fees = 0
    check(ffi.nl_engine_borrow_fees(e, &fees, &n_fees))
    borrow_fees = [fees[i] for i in range(n_fees)]
    # Beyond ml4t: what the portfolio limits did.
    cdef size_t n_events = 0
    cdef ffi.NlPortfolioLimitEvent ev
    check(ffi.nl_engine_portfolio_limit_event_count(e, &n_events))
    limit_events = []
    for i in range(n_events):
        check(ffi.nl_engine_portfolio_limit_event(e, i, &ev))
        limit_events.append((ev.timestamp, ev.kind, ev.action, ev.value, ev.threshold, ev.order_id))
    # Records keep engine times; the result tables index the timeline.
    margin_calls = [(int(_bars_of(state.clock, c[0])),) + c[1:] for c in margin_calls]
    limit_events = [(int(_bars_of(state.clock, x[0])),) + x[1:] for x in limit_events]
    return dict(fills=fills, trades=trades, positions=positions, equity=equity, cash=cash_arr,
                gross_exposure=gross_arr, net_exposure=net_arr, open_positions=open_arr, order_status=statuses, exit_details=exit_details,
                margin_calls=margin_calls, borrow_fees=borrow_fees, multipliers=list(state.multipliers),
                currencies=[getattr(state.contract_specs.get(a), "currency", None) for a in state.asset_names],
                limit_events=limit_events, rebalance_ids=dict(state.rebalance_ids))


def quote_commission(dict spec not None, double quantity, double price, double multiplier=1.0):
    """The fee a native commission model's `spec` (`model._spec()`) charges a
    first fill of `quantity` at `price` of a contract worth `multiplier` per
    point: the engine's formula, for `calculate()`."""
    cdef ffi.NlCommissionSpec c
    cdef Py_ssize_t n = len(spec.get("tiers", ()))
    cdef double[:] thresholds = memoryview(bytearray(8 * max(1, n))).cast("d")
    cdef double[:] rates = memoryview(bytearray(8 * max(1, n))).cast("d")
    _commission_c(&c, ffi.NL_ALL_ASSETS, spec, &thresholds[0], &rates[0], 0)
    cdef double out = 0
    check(ffi.nl_commission_quote(&c, &thresholds[0], &rates[0], n, quantity, price, multiplier, &out))
    return out


def quote_slippage(dict spec not None, double quantity, double price, double volume):
    """The per-unit adjustment a native slippage model's `spec` adds to a fill
    of `quantity` at `price` in a bar of `volume` (NaN: unknown), for `calculate()`."""
    cdef ffi.NlSlippageSpec c
    _slippage_c(&c, ffi.NL_ALL_ASSETS, spec)
    cdef double out = 0
    check(ffi.nl_slippage_quote(&c, quantity, price, volume, &out))
    return out


def quote_slippage_cost(dict spec not None, double quantity, double price, double volume, double multiplier):
    """What a native slippage model's `spec` costs a fill of `quantity` at
    `price` in currency, for a contract worth `multiplier` per point (a bar of
    `volume`, NaN: unknown): the engine's formula, for futures `calculate()`."""
    cdef ffi.NlSlippageSpec c
    _slippage_c(&c, ffi.NL_ALL_ASSETS, spec)
    cdef double out = 0
    check(ffi.nl_slippage_cost_quote(&c, quantity, price, volume, multiplier, &out))
    return out


def prediction_fees(uint32_t venue, price, contracts, coefficient, buy, double precision, bint one_order):
    """Fees of a batch of prediction-market fills (`nl_prediction_fees`):
    `price`, `contracts`, `coefficient` contiguous float64 arrays of one length,
    `buy` a contiguous uint8 array of that length or None; returns a new
    float64 numpy array of fees in dollars."""
    import numpy as np

    cdef const double[::1] p = price
    cdef const double[::1] c = contracts
    cdef const double[::1] k = coefficient
    cdef const uint8_t[::1] b
    cdef const uint8_t* bp = NULL
    cdef Py_ssize_t n = p.shape[0]
    if c.shape[0] != n or k.shape[0] != n:
        raise ValueError("prediction_fees: price, contracts and coefficient must have one length")
    if buy is not None:
        b = buy
        if b.shape[0] != n:
            raise ValueError("prediction_fees: buy must have the length of price")
        if n:
            bp = &b[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    if n:
        check(ffi.nl_prediction_fees(venue, n, &p[0], &c[0], &k[0], bp, precision, one_order, &o[0]))
    return out


def set_cash_events(EngineState state not None, object flows=None, object funding=None):
    """Schedules external capital flows and funding events in the engine.

    `flows` is `(bars, kinds, values)` and `funding` `(bars, assets, terms,
    values)`, NumPy columns sorted by bar (`nautilus_like.capital` and
    `nautilus_like.funding` build them); the codes are `NL_CAPITAL_FLOW_*` and
    `NL_FUNDING_*`. Either may be None (nothing scheduled).
    """
    cdef Py_ssize_t i, n
    cdef const uint32_t[:] bars, kinds, assets
    cdef const double[:] values
    cdef ffi.NlCapitalFlow* f = NULL
    cdef ffi.NlFundingEvent* g = NULL
    if flows is not None and len(flows[0]):
        bars, kinds, values = flows
        n = len(bars)
        f = <ffi.NlCapitalFlow*>PyMem_Malloc(n * sizeof(ffi.NlCapitalFlow))
        if f is NULL:
            raise MemoryError()
        try:
            for i in range(n):
                f[i].bar, f[i].kind, f[i].value = bars[i], kinds[i], values[i]
            check(ffi.nl_engine_set_capital_flows(state.engine, f, n))
        finally:
            PyMem_Free(f)
    if funding is not None and len(funding[0]):
        bars, assets, kinds, values = funding
        n = len(bars)
        g = <ffi.NlFundingEvent*>PyMem_Malloc(n * sizeof(ffi.NlFundingEvent))
        if g is NULL:
            raise MemoryError()
        try:
            for i in range(n):
                g[i].bar, g[i].asset, g[i].terms, g[i].value = bars[i], assets[i], kinds[i], values[i]
            check(ffi.nl_engine_set_funding_events(state.engine, g, n))
        finally:
            PyMem_Free(g)


def cash_event_records(EngineState state not None):
    """What the scheduled cash events moved so far, as NumPy columns:
    `{"capital_changes": {bar, flow, cash_delta, nav_before, nav_after},
    "funding_payments": {bar, asset, quantity, mark_price, multiplier, cash_delta}}`
    (a payment without a position has a NaN mark)."""
    import numpy as np
    cdef size_t n_changes = 0, n_payments = 0, got = 0, i
    check(ffi.nl_engine_cash_event_counts(state.engine, &n_changes, &n_payments))
    changes = {k: np.empty(n_changes, dtype=np.uint32 if k in ("bar", "flow") else np.float64)
               for k in ("bar", "flow", "cash_delta", "nav_before", "nav_after")}
    payments = {k: np.empty(n_payments, dtype=np.uint32 if k in ("bar", "asset") else np.float64)
                for k in ("bar", "asset", "quantity", "mark_price", "multiplier", "cash_delta")}
    cdef ffi.NlCapitalChange* c = NULL
    cdef ffi.NlFundingPayment* p = NULL
    cdef uint32_t[:] u0, u1
    cdef double[:] d0, d1, d2, d3
    if n_changes:
        c = <ffi.NlCapitalChange*>PyMem_Malloc(n_changes * sizeof(ffi.NlCapitalChange))
        if c is NULL:
            raise MemoryError()
        try:
            check(ffi.nl_engine_capital_changes(state.engine, c, n_changes, &got))
            u0, u1 = changes["bar"], changes["flow"]
            d0, d1, d2 = changes["cash_delta"], changes["nav_before"], changes["nav_after"]
            for i in range(got):
                u0[i], u1[i], d0[i], d1[i], d2[i] = c[i].bar, c[i].flow, c[i].cash_delta, c[i].nav_before, c[i].nav_after
        finally:
            PyMem_Free(c)
    if n_payments:
        p = <ffi.NlFundingPayment*>PyMem_Malloc(n_payments * sizeof(ffi.NlFundingPayment))
        if p is NULL:
            raise MemoryError()
        try:
            check(ffi.nl_engine_funding_payments(state.engine, p, n_payments, &got))
            u0, u1 = payments["bar"], payments["asset"]
            d0, d1, d2, d3 = payments["quantity"], payments["mark_price"], payments["multiplier"], payments["cash_delta"]
            for i in range(got):
                u0[i], u1[i] = p[i].bar, p[i].asset
                d0[i], d1[i], d2[i], d3[i] = p[i].quantity, p[i].mark_price, p[i].multiplier, p[i].cash_delta
        finally:
            PyMem_Free(p)
    return {"capital_changes": changes, "funding_payments": payments}
