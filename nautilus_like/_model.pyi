from collections.abc import Iterator, MutableMapping
from datetime import datetime
from typing import Any

from nautilus_like.types import OrderSide, OrderStatus, OrderType, TimeInForce

class EngineError(RuntimeError): ...

class PositionContext(MutableMapping[Any, Any]):
    def __getitem__(self, key: Any) -> Any: ...
    def __setitem__(self, key: Any, value: Any) -> None: ...
    def __delitem__(self, key: Any) -> None: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...

class Order:
    def __init__(self, asset: str, side: OrderSide | str, quantity: float,
                 order_type: OrderType = ..., limit_price: float | None = ..., stop_price: float | None = ...,
                 trail_amount: float | None = ..., parent_id: str | None = ..., rebalance_id: str | None = ...,
                 order_id: str = ..., status: OrderStatus = ..., created_at: datetime | None = ...,
                 filled_at: datetime | None = ..., filled_price: float | None = ..., filled_quantity: float = ...,
                 rejection_reason: str | None = ..., requested_quantity: float | None = ...,
                 *args: Any, commission_paid: float = ..., cancelled_at: datetime | None = ...,
                 cancellation_reason: str | None = ..., **kwargs: Any) -> None: ...
    @property
    def order_id(self) -> str: ...
    @property
    def asset(self) -> str: ...
    @property
    def side(self) -> OrderSide: ...
    @property
    def quantity(self) -> float: ...
    @property
    def requested_quantity(self) -> float: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def limit_price(self) -> float | None: ...
    @property
    def stop_price(self) -> float | None: ...
    @property
    def trail_amount(self) -> float | None: ...
    @property
    def parent_id(self) -> str | None: ...
    @parent_id.setter
    def parent_id(self, value: str | None) -> None: ...
    @property
    def rebalance_id(self) -> str | None: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def cancelled_at(self) -> Any: ...
    @property
    def cancellation_reason(self) -> str | None: ...
    @property
    def status(self) -> OrderStatus: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def filled_at(self) -> datetime | None: ...
    @property
    def filled_price(self) -> float | None: ...
    @property
    def filled_quantity(self) -> float: ...
    @property
    def commission_paid(self) -> float: ...
    @property
    def rejection_reason(self) -> str | None: ...
    @rejection_reason.setter
    def rejection_reason(self, value: str | None) -> None: ...
    @property
    def rejection_code(self) -> str | None: ...
    @property
    def rejection_code(self) -> str | None: ...
    @property
    def stop_triggered(self) -> bool: ...
    @property
    def stop_triggered_at(self) -> datetime | None: ...

class Position:
    def __init__(self, asset: str, quantity: float, entry_price: float, entry_time: datetime,
                 current_price: float | None = ..., bars_held: int = ..., high_water_mark: float | None = ...,
                 low_water_mark: float | None = ..., max_favorable_excursion: float = ...,
                 max_adverse_excursion: float = ..., initial_quantity: float | None = ...,
                 context: dict[str, Any] | None = ..., multiplier: float = ..., entry_commission: float = ...,
                 entry_slippage: float = ..., *, variation_basis: float | None = ...) -> None: ...
    asset: str
    quantity: float
    entry_price: float
    entry_time: datetime
    current_price: float
    bars_held: int
    high_water_mark: float
    low_water_mark: float
    max_favorable_excursion: float
    max_adverse_excursion: float
    initial_quantity: float
    entry_commission: float
    entry_slippage: float
    multiplier: float
    variation_basis: float | None
    commission_adjusted_cost_basis: float
    @property
    def context(self) -> PositionContext | dict[str, Any]: ...
    @property
    def market_value(self) -> float: ...
    def unrealized_pnl(self, current_price: float | None = ...) -> float: ...
    def pnl_percent(self, current_price: float | None = ...) -> float: ...
    def notional_value(self, current_price: float | None = ...) -> float: ...
    @property
    def side(self) -> str: ...

class Fill:
    def __init__(self, order_id: str, asset: str, side: OrderSide | str, quantity: float, price: float,
                 timestamp: datetime, rebalance_id: str | None = ..., commission: float = ...,
                 slippage: float = ..., order_type: str = ..., *args: Any,
                 stop_triggered_at: datetime | None = ..., **kwargs: Any) -> None: ...
    order_id: str
    asset: str
    side: OrderSide
    quantity: float
    price: float
    timestamp: datetime
    commission: float
    slippage: float
    order_type: str
    price_source: str
    reference_price: float | None
    quote_mid_price: float | None
    bid_price: float | None
    ask_price: float | None
    spread: float | None
    bid_size: float | None
    ask_size: float | None
    exit_reason: str
    rebalance_id: str | None
    available_size: float | None
    exit_reason_detail: str | None
    multiplier: float | None
    currency: str | None
