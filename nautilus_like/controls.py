"""Trading and account controls: validators the broker consults, as ml4t-backtest's `controls`.

A *trading control* inspects one order request before the order exists and
raises `TradingControlViolation` to refuse it; nothing is created, no order id
is used and no cash moves. An *account control* inspects the marked account at
a declared boundary of each market event and raises `AccountControlViolation`
when the account breaches it (it never places or undoes orders).

>>> broker.register_trading_control(OrderConstraints(max_order_quantity=100, long_only=True))
>>> broker.register_trading_control(OrderRequestCount(50))          # per UTC day
>>> broker.register_account_control(AccountConstraints(max_leverage=2.0))

Any object with a `validate(request)` method is a control; validators must be
free of side effects (the broker owns every count they read). The broker
evaluates them in registration order, only while at least one is registered:
a run without controls pays nothing for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar, Literal, Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "AccountConstraints",
    "AccountControl",
    "AccountControlContext",
    "AccountControlViolation",
    "OrderConstraints",
    "OrderControlContext",
    "OrderRequestCount",
    "TradingControl",
    "TradingControlViolation",
]


class TradingControlViolation(ValueError):
    """A trading control refused an order request before it changed the broker."""


class AccountControlViolation(ValueError):
    """The observed account breached a registered account control."""


@dataclass(frozen=True)
class OrderControlContext:
    """What a trading control sees of one order request.

    `quantity` is signed (buy > 0). `pending_buy_quantity`/`pending_sell_quantity`
    are the unfilled remainders of the asset's other working orders. `price` is
    the asset's price this event (None without one), `session_date` the calendar
    session (None without a calendar), `orders_in_session`/`orders_in_day` the
    orders submitted so far in them. `is_update` marks a change of a pending
    order's quantity, which no count limit applies to.
    """

    timestamp: datetime | None
    asset: str
    quantity: float
    position_quantity: float
    pending_buy_quantity: float
    pending_sell_quantity: float
    price: float | None
    multiplier: float
    session_date: date | None
    orders_in_session: int
    orders_in_day: int
    is_update: bool = False

    @property
    def pending_quantity(self) -> float:
        """Net working quantity: pending buys minus pending sells."""
        return self.pending_buy_quantity - self.pending_sell_quantity


class TradingControl(Protocol):
    """A pre-submission validator: raises to refuse, returns None to allow."""

    def validate(self, request: OrderControlContext) -> None: ...


def _check_limit(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and nonnegative, got {value!r}")


def _check_count(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a nonnegative integer, got {value!r}")


@dataclass(frozen=True)
class OrderConstraints:
    """Order, position, count, direction and restriction limits for one asset
    (`asset`) or every asset (`asset=None`).

    * `max_order_quantity` / `max_order_notional`: the order's size.
    * `max_position_quantity` / `max_position_notional`: the position the order
      could leave. With `include_pending` (default) the worst case counts the
      other working orders on the order's side (opposing orders may never fill,
      so they do not offset it).
    * `long_only`: refuses an order that could leave the position short, pending
      sells included; pending buys do not cover a sale before they fill.
    * `max_orders_per_session` (needs a calendar) / `max_orders_per_day` (the
      timestamp's civil date): submitted orders; refused requests do not count.
    * `blocked_assets` / `restriction(request) -> bool`: restricted assets.
    * `notional_basis`: "economic" values a unit at price x contract multiplier,
      "quoted_units" at the price alone.

    >>> OrderConstraints(max_order_quantity=100, blocked_assets={"GME"})
    """

    asset: str | None = None
    max_order_quantity: float | None = None
    max_order_notional: float | None = None
    max_position_quantity: float | None = None
    max_position_notional: float | None = None
    max_orders_per_session: int | None = None
    max_orders_per_day: int | None = None
    long_only: bool = False
    include_pending: bool = True
    notional_basis: Literal["economic", "quoted_units"] = "economic"
    blocked_assets: frozenset[str] = field(default_factory=frozenset)
    restriction: Callable[[OrderControlContext], bool] | None = None

    def __post_init__(self) -> None:
        for name in ("max_order_quantity", "max_order_notional", "max_position_quantity", "max_position_notional"):
            _check_limit(name, getattr(self, name))
        for name in ("max_orders_per_session", "max_orders_per_day"):
            _check_count(name, getattr(self, name))
        if self.notional_basis not in ("economic", "quoted_units"):
            raise ValueError(f"notional_basis must be economic or quoted_units, got {self.notional_basis!r}")
        if isinstance(self.blocked_assets, str) or not isinstance(self.blocked_assets, Iterable):
            raise TypeError(f"blocked_assets must be a collection of stable asset IDs, got {self.blocked_assets!r}")
        if self.restriction is not None and not callable(self.restriction):
            raise TypeError(f"restriction must be callable, got {self.restriction!r}")
        object.__setattr__(self, "blocked_assets", frozenset(self.blocked_assets))

    def _worst_position(self, request: OrderControlContext) -> float:
        """The position if this order and the working orders on its side all fill."""
        after = request.position_quantity + request.quantity
        if not self.include_pending:
            return after
        if request.quantity > 0:
            return after + request.pending_buy_quantity
        return after - request.pending_sell_quantity

    def validate(self, request: OrderControlContext) -> None:
        if self.asset is not None and request.asset != self.asset:
            return
        quantity = request.quantity
        if not math.isfinite(quantity):
            raise TradingControlViolation("Order quantity must be finite")
        if request.asset in self.blocked_assets or (self.restriction is not None and self.restriction(request)):
            raise TradingControlViolation(f"Asset {request.asset!r} is restricted at {request.timestamp}")
        if self.long_only:
            lowest = request.position_quantity + quantity
            if self.include_pending:
                lowest -= request.pending_sell_quantity
            if lowest < 0:
                raise TradingControlViolation("Order would violate the long-only control")
        position = abs(self._worst_position(request))
        size = abs(quantity)
        if self.max_order_quantity is not None and size > self.max_order_quantity:
            raise TradingControlViolation(f"order quantity {size} exceeds {self.max_order_quantity}")
        if self.max_position_quantity is not None and position > self.max_position_quantity:
            raise TradingControlViolation(f"position quantity {position} exceeds {self.max_position_quantity}")
        if self.max_order_notional is not None or self.max_position_notional is not None:
            price = request.price
            if price is None or not math.isfinite(price) or price <= 0:
                raise TradingControlViolation("Notional controls require a current positive observed price")
            unit = price * request.multiplier if self.notional_basis == "economic" else price
            if self.max_order_notional is not None and size * unit > self.max_order_notional:
                raise TradingControlViolation(f"order notional {size * unit} exceeds {self.max_order_notional}")
            if self.max_position_notional is not None and position * unit > self.max_position_notional:
                raise TradingControlViolation(
                    f"position notional {position * unit} exceeds {self.max_position_notional}")
        if request.is_update:
            return
        if self.max_orders_per_session is not None:
            if request.session_date is None:
                raise ValueError("max_orders_per_session requires a declared calendar and current timestamp")
            if request.orders_in_session >= self.max_orders_per_session:
                raise TradingControlViolation("Maximum orders in the exchange session exceeded")
        if self.max_orders_per_day is not None:
            if request.timestamp is None:
                raise ValueError("max_orders_per_day requires a current timestamp")
            if request.orders_in_day >= self.max_orders_per_day:
                raise TradingControlViolation("Maximum orders in the civil day exceeded")


@dataclass(frozen=True)
class OrderRequestCount:
    """At most `max_count` order requests per day in `timezone` (UTC by default).

    Unlike `OrderConstraints.max_orders_per_day`, every request that reaches this
    control counts, also a zero quantity or one a later control or the broker
    then refuses; a request refused by an earlier control does not. The broker
    keeps one count per registered instance (the request's `orders_in_day` is it).

    >>> broker.register_trading_control(OrderRequestCount(390, timezone="America/New_York"))
    """

    max_count: int
    timezone: str = "UTC"
    counts_order_requests: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_count("max_count", self.max_count)
        if not isinstance(self.timezone, str):
            raise TypeError(f"timezone must be an IANA zone name, got {self.timezone!r}")
        ZoneInfo(self.timezone)

    def validate(self, request: OrderControlContext) -> None:
        if request.is_update:
            return
        if request.timestamp is None:
            raise ValueError("Request counts require a simulation timestamp")
        if request.orders_in_day >= self.max_count:
            raise TradingControlViolation("Maximum validated order requests in the civil day exceeded")


@dataclass(frozen=True)
class AccountControlContext:
    """The marked account an account control sees: equity, cash and exposures
    (gross = sum of |position value|, net = signed sum); the optional fields are
    filled where the account keeps them (margin, settlement), else None."""

    timestamp: datetime | None
    equity: float
    cash: float
    gross_exposure: float
    net_exposure: float
    positions_value: float | None = field(default=None, kw_only=True)
    initial_margin_required: float | None = field(default=None, kw_only=True)
    maintenance_margin_required: float | None = field(default=None, kw_only=True)
    available_funds: float | None = field(default=None, kw_only=True)
    futures_unsettled_pnl: float | None = field(default=None, kw_only=True)
    settlement_holds: float | None = field(default=None, kw_only=True)
    cash_buffer: float | None = field(default=None, kw_only=True)
    margin_breach: bool | None = field(default=None, kw_only=True)

    @property
    def leverage(self) -> float:
        """Gross exposure over equity; infinite with exposure and no positive equity."""
        if self.equity > 0:
            return self.gross_exposure / self.equity
        return math.inf if self.gross_exposure else 0.0


class AccountControl(Protocol):
    """An account validator: raises on a breach, never trades."""

    def validate(self, account: AccountControlContext) -> None: ...


@dataclass(frozen=True)
class AccountConstraints:
    """Gross leverage bounds: at most `max_leverage` always; at least
    `min_leverage` after `deadline` (a datetime, required with it).

    >>> AccountConstraints(max_leverage=1.5)
    """

    max_leverage: float | None = None
    min_leverage: float | None = None
    deadline: datetime | None = None

    def __post_init__(self) -> None:
        _check_limit("max_leverage", self.max_leverage)
        _check_limit("min_leverage", self.min_leverage)
        if self.min_leverage is not None and not isinstance(self.deadline, datetime):
            raise ValueError(f"Minimum leverage requires a datetime deadline, got {self.deadline!r}")

    def validate(self, account: AccountControlContext) -> None:
        values = (account.equity, account.cash, account.gross_exposure, account.net_exposure)
        if not all(math.isfinite(v) for v in values):
            raise AccountControlViolation("Account control received non-finite account values")
        leverage = account.leverage
        if self.max_leverage is not None and leverage > self.max_leverage:
            raise AccountControlViolation("Account exceeds the maximum gross leverage")
        if self.min_leverage is None:
            return
        now, deadline = account.timestamp, self.deadline
        if now is None:
            raise ValueError("Minimum leverage requires a current timestamp")
        assert deadline is not None
        if (now.tzinfo is None) != (deadline.tzinfo is None):
            raise ValueError(
                "Minimum leverage deadline and account timestamps require compatible timezone awareness")
        if now > deadline and leverage < self.min_leverage:
            raise AccountControlViolation("Account is below the minimum gross leverage after the deadline")
