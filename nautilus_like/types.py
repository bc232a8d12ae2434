"""Order, position, fill and trade types with ml4t-backtest's names and values.

`from ml4t.backtest.types import OrderSide` becomes
`from nautilus_like.types import OrderSide` and behaves the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from nautilus_like.contracts import AssetClass, ContractSpec  # noqa: F401  (ml4t's types module has them)


class OrderSide(Enum):
    BUY = "buy"
    SELL = "sell"


class OrderType(Enum):
    MARKET = "market"
    MOC = "moc"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class OrderStatus(Enum):
    PENDING = "pending"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class StopFillMode(str, Enum):
    """Where a triggered stop-loss / take-profit rule fills (ml4t-backtest's modes)."""

    STOP_PRICE = "stop_price"
    CLOSE_PRICE = "close_price"
    BAR_EXTREME = "bar_extreme"
    NEXT_BAR_OPEN = "next_bar_open"


class StopLevelBasis(str, Enum):
    """What rule levels are measured from: the entry fill price, or the reference
    price when the entry order was submitted (Backtrader's convention)."""

    FILL_PRICE = "fill_price"
    SIGNAL_PRICE = "signal_price"


class TimeInForce(str, Enum):
    """How long an unfilled order works (beyond ml4t-backtest, whose orders are all GTC).

    GTC until filled or cancelled; DAY through the trading day (calendar date of
    the bar timestamps) of the first bar on which the order can execute; IOC one
    matching pass, the rest cancelled; FOK the whole quantity in one pass or
    nothing.
    """

    GTC = "gtc"
    DAY = "day"
    IOC = "ioc"
    FOK = "fok"


class ExecutionMode(str, Enum):
    SAME_BAR = "same_bar"
    NEXT_BAR = "next_bar"


class ExitReason(str, Enum):
    SIGNAL = "signal"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    TIME_STOP = "time_stop"
    RISK_LIQUIDATION = "risk_liquidation"
    END_OF_DATA = "end_of_data"
    # Beyond ml4t: the engine liquidated the position on a maintenance-margin breach.
    MARGIN_CALL = "margin_call"


@dataclass
class Trade:
    """A round trip: entry fill(s) to exit fill(s), or an open position's mark.

    `pnl` is net of the fees of both legs; `pnl_percent` is the gross,
    direction-aware return on the entry price; slippage fields are per unit.
    """

    symbol: str
    entry_time: datetime
    exit_time: datetime | None
    entry_price: float
    exit_price: float
    quantity: float
    pnl: float
    pnl_percent: float
    bars_held: int
    fees: float = 0.0
    exit_slippage: float = 0.0
    exit_reason: str = "signal"
    exit_reason_detail: str | None = None
    status: str = "closed"
    mfe: float = 0.0
    mae: float = 0.0
    entry_slippage: float = 0.0
    multiplier: float = 1.0
    entry_quote_mid_price: float | None = None
    entry_bid_price: float | None = None
    entry_ask_price: float | None = None
    entry_spread: float | None = None
    entry_available_size: float | None = None
    exit_quote_mid_price: float | None = None
    exit_bid_price: float | None = None
    exit_ask_price: float | None = None
    exit_spread: float | None = None
    exit_available_size: float | None = None
    metadata: dict[str, Any] | None = field(default=None)

    @property
    def direction(self) -> str:
        return "long" if self.quantity > 0 else "short"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def commission(self) -> float:
        return self.fees

    @property
    def gross_pnl(self) -> float:
        return (self.exit_price - self.entry_price) * self.quantity * self.multiplier

    @property
    def net_pnl(self) -> float:
        return self.pnl

    @property
    def gross_return(self) -> float:
        return self.pnl_percent

    @property
    def net_return(self) -> float:
        notional = self.entry_price * abs(self.quantity) * self.multiplier
        return 0.0 if notional == 0 else self.pnl / notional

    @property
    def total_slippage_cost(self) -> float:
        return (self.entry_slippage + self.exit_slippage) * abs(self.quantity) * self.multiplier

    @property
    def cost_drag(self) -> float:
        notional = self.entry_price * abs(self.quantity) * self.multiplier
        return 0.0 if notional == 0 else (self.fees + self.total_slippage_cost) / notional


def __getattr__(name: str):
    # Order/Position/Fill are Cython classes; import lazily to avoid a cycle
    # (the Cython module imports the enums above).
    if name in ("Order", "Position", "Fill"):
        from nautilus_like import _model

        return getattr(_model, name)
    raise AttributeError(name)
