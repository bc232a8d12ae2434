from datetime import datetime
from typing import Any

from nautilus_like.types import OrderSide, OrderStatus, OrderType, TimeInForce

class EngineError(RuntimeError): ...

class Order:
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

class Position:
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
    context: dict
    @property
    def market_value(self) -> float: ...
    def unrealized_pnl(self, current_price: float | None = ...) -> float: ...
    def pnl_percent(self, current_price: float | None = ...) -> float: ...
    def notional_value(self, current_price: float | None = ...) -> float: ...
    @property
    def side(self) -> str: ...

class Fill:
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
