"""The broker's register of trading and account controls and the counts they read.

One `ControlBook` per broker, made on the first registration (a broker without
one skips every control step: the hot path tests one pointer). The broker
gathers the request's facts from the engine (position, working orders, price)
and hands them here; the book adds the counts it owns, runs the validators in
registration order and, once the order exists, counts it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from nautilus_like.controls import AccountControlContext, OrderControlContext

BOUNDARIES = ("after_callbacks", "after_fills", "session_end")

# An engine's feed spec by its EngineState (set by Engine): a calendar the feed
# declares gives the sessions when the config names none (ml4t's resolution).
FEED_SPECS: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


class ControlBook:
    """Registered controls plus the order counts of the current day and session.

    `day` / `session` are `(date, submitted orders)` of the latest submission;
    `requests` maps a counting control's identity to `(date, requests)` in the
    control's own time zone.
    """

    __slots__ = ("trading", "account", "day", "session", "requests", "undo", "closes", "_clock", "_config",
                 "_feed_spec", "_bounds")

    def __init__(self, config: Any, feed_spec: Any = None) -> None:
        self.trading: list[Any] = []
        self.account: list[tuple[str, Any]] = []
        self.day: tuple[date, int] | None = None
        self.session: tuple[date, int] | None = None
        self.requests: dict[int, tuple[date, int]] = {}
        # How to undo the registrations of the strategy callback under way (see
        # `settle_callbacks`): a failed callback leaves no control behind.
        self.undo: list[Any] = []
        # Session date -> whether its close was observed (session_end controls).
        self.closes: dict[date, bool] = {}
        self._config = config
        self._feed_spec = feed_spec
        self._clock: Any = False  # not resolved yet
        self._bounds: dict[date, tuple[datetime, datetime]] = {}

    # ------------------------------------------------------------ registering

    def register_trading(self, control: Any, in_callback: bool = False) -> None:
        if not callable(getattr(control, "validate", None)):
            raise TypeError(f"Trading controls must define validate(request), got {control!r}")
        self.trading.append(control)
        if in_callback:
            self.undo.append(lambda: _remove_last(self.trading, control))

    def unregister_trading(self, control: Any, in_callback: bool = False) -> bool:
        for i, registered in enumerate(self.trading):
            if registered is control:
                del self.trading[i]
                count = None
                if not any(other is control for other in self.trading):
                    count = self.requests.pop(id(control), None)
                if in_callback:
                    self.undo.append(lambda: self._reinstate(i, control, count))
                return True
        return False

    def _reinstate(self, index: int, control: Any, count: tuple[date, int] | None) -> None:
        self.trading.insert(index, control)
        if count is not None:
            self.requests[id(control)] = count

    def register_account(self, control: Any, boundary: str, in_callback: bool = False) -> None:
        if boundary not in BOUNDARIES:
            raise ValueError(f"Unknown account control boundary {boundary!r}; expected one of {BOUNDARIES}")
        if not callable(getattr(control, "validate", None)):
            raise TypeError(f"Account controls must define validate(account), got {control!r}")
        entry = (boundary, control)
        self.account.append(entry)
        if in_callback:
            self.undo.append(lambda: _remove_last(self.account, entry))

    def settle_callbacks(self) -> None:
        """The event's strategy callbacks completed: their registrations stand."""
        if self.undo:
            self.undo.clear()

    def discard_unsettled(self) -> None:
        """A strategy callback failed: its registrations and removals are undone."""
        while self.undo:
            self.undo.pop()()

    def counts_zero_requests(self) -> bool:
        """A zero-quantity request still reaches the controls when one counts requests."""
        return any(getattr(c, "counts_order_requests", False) for c in self.trading)

    # --------------------------------------------------------------- sessions

    def clock(self) -> Any:
        """The declared calendar's `SessionConfig` (the config's, else the
        feed's), or None without a calendar."""
        if self._clock is False:
            self._clock = None
            config, spec = self._config, self._feed_spec

            def declared(name: str) -> Any:
                value = getattr(config, f"resolved_{name}", None) or getattr(config, name, None)
                return value if value is not None else getattr(spec, name, None)

            # Only a calendar someone declared (the config's name, else the feed
            # spec's): an unset config's NYSE fallback declares no sessions.
            calendar = config.calendar if isinstance(getattr(config, "calendar", None), str) else None
            if calendar is None:
                spec_calendar = getattr(spec, "calendar", None)
                calendar = spec_calendar if isinstance(spec_calendar, str) else None
            if calendar is not None:
                from nautilus_like.sessions import SessionConfig

                self._clock = SessionConfig(
                    calendar=calendar,
                    timezone=declared("timezone") or "UTC",
                    session_start_time=declared("session_start_time"),
                    data_frequency=declared("data_frequency"),
                    timestamp_semantics=declared("timestamp_semantics"),
                    bar_label=declared("bar_label"),
                )
        return self._clock

    def labels_sessions(self) -> bool:
        """True when the timestamps are session labels, not physical instants."""
        semantics = getattr(self.clock(), "timestamp_semantics", None)
        return str(getattr(semantics, "value", semantics)) == "session_label"

    def observe_session(self, timestamp: datetime, validate: Any) -> None:
        """Runs the session_end controls (`validate()`) when `timestamp` is its
        session's close; remembers each session seen, to require its close."""
        clock = self.clock()
        session = clock.date_for_timestamp(timestamp).date()
        bounds = self._bounds.get(session)
        if bounds is None:
            from nautilus_like.calendar import get_schedule

            schedule = get_schedule(clock.calendar, session, session)
            if schedule.height != 1:
                raise ValueError(f"Cannot assign a session close to non-session {session}")
            bounds = self._bounds[session] = (schedule["market_open"][0], schedule["market_close"][0])
        opened, closed = bounds
        if timestamp.tzinfo is None:  # naive timestamps are the clock's zone's wall time
            zone = ZoneInfo(clock.timezone)
            opened, closed = (t.astimezone(zone).replace(tzinfo=None) for t in bounds)
        if not opened <= timestamp <= closed or self.closes.get(session):
            return
        self.closes[session] = False
        if timestamp == closed:
            validate()
            self.closes[session] = True

    def require_closes(self) -> None:
        """At the end of a run: every session seen by session_end controls had its close."""
        missing = sorted(session for session, closed in self.closes.items() if not closed)
        if missing:
            raise ValueError(f"Session account controls require a close observation for {missing}")

    # ------------------------------------------------------------- validating

    def validate_order(self, timestamp: datetime | None, asset: str, quantity: float, position: float,
                       pending_buy: float, pending_sell: float, price: float | None, multiplier: float,
                       is_update: bool = False) -> OrderControlContext:
        """Runs every trading control on one request (raises to refuse it) and
        returns the request, which `commit` counts once the order exists."""
        clock = self.clock()
        session = clock.date_for_timestamp(timestamp).date() if clock is not None and timestamp is not None else None
        day = timestamp.date() if timestamp is not None else None
        request = OrderControlContext(
            timestamp, asset, quantity, position, pending_buy, pending_sell, price, multiplier, session,
            self.session[1] if self.session is not None and self.session[0] == session else 0,
            self.day[1] if self.day is not None and self.day[0] == day else 0,
            is_update=is_update,
        )
        for control in list(self.trading):
            if is_update or not getattr(control, "counts_order_requests", False):
                control.validate(request)
                continue
            # A counting control sees its own count, in its own zone's day; the
            # request counts once this control has passed it.
            if timestamp is None:
                raise ValueError("Request counts require a simulation timestamp")
            instant = timestamp
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=ZoneInfo(clock.timezone if clock is not None else "UTC"))
            its_day = instant.astimezone(ZoneInfo(getattr(control, "timezone", "UTC"))).date()
            held = self.requests.get(id(control))
            prior = held[1] if held is not None and held[0] == its_day else 0
            control.validate(replace(request, orders_in_day=prior))
            self.requests[id(control)] = (its_day, prior + 1)
        return request

    def commit(self, request: OrderControlContext) -> None:
        """Counts a submitted order in its day and session."""
        self.session = (request.session_date, request.orders_in_session + 1) \
            if request.session_date is not None else None
        self.day = (request.timestamp.date(), request.orders_in_day + 1) if request.timestamp is not None else None

    def save_counts(self) -> tuple[Any, Any]:
        return self.day, self.session

    def restore_counts(self, saved: tuple[Any, Any]) -> None:
        """Undoes `commit`s (of bracket legs that were not submitted after all)."""
        self.day, self.session = saved

    # --------------------------------------------------------------- accounts

    def has_account(self, boundary: str | None = None) -> bool:
        return any(boundary is None or phase == boundary for phase, _ in self.account)

    def validate_account(self, snapshot: Any, boundary: str | None) -> None:
        """Runs the account controls of `boundary` (all with None) on the
        snapshot `snapshot()` takes (only when one applies)."""
        if boundary is not None and boundary not in BOUNDARIES:
            raise ValueError(f"Unknown account control boundary {boundary!r}; expected one of {BOUNDARIES}")
        controls = [c for phase, c in self.account if boundary is None or phase == boundary]
        if not controls:
            return
        state = snapshot()
        for control in controls:
            control.validate(state)


def account_snapshot(timestamp: datetime | None, cash: float, equity: float, positions: Any) -> AccountControlContext:
    """The account control's view: the account's cash and equity, and the gross
    and net exposure of the positions at their marks (signed market values)."""
    gross = net = 0.0
    for position in positions:
        value = position.market_value
        gross += abs(value)
        net += value
    return AccountControlContext(timestamp, equity, cash, gross, net, positions_value=net)


def _remove_last(entries: list[Any], entry: Any) -> None:
    for i in range(len(entries) - 1, -1, -1):
        if entries[i] is entry:
            del entries[i]
            return
