"""Order, position, fill and trade types with ml4t-backtest's names and values.

`from ml4t.backtest.types import OrderSide` becomes
`from nautilus_like.types import OrderSide` and behaves the same.
"""

from __future__ import annotations

from collections import deque
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


@dataclass(repr=False)
class AssetTradingStats:
    """Realized P&L statistics of one asset, for strategies that size or pause
    by their own recent record (`broker.get_asset_stats(asset)`).

    Every realized exit leg (a full close, a partial reduction, the closing
    side of a flip) is one event. Three horizons: all time, the last
    `recent_pnls.maxlen` events, and the current session (reset at session
    boundaries when the broker has a session config). A win is pnl > 0.

    >>> stats = AssetTradingStats(recent_pnls=deque(maxlen=3))
    >>> for pnl in (100.0, -50.0, 75.0, -25.0):
    ...     stats.record_pnl(pnl)
    >>> stats.win_rate, list(stats.recent_pnls), stats.recent_win_rate
    (0.5, [-50.0, 75.0, -25.0], 0.3333333333333333)
    """

    total_realized_pnl: float = 0.0
    total_trades: int = 0
    total_wins: int = 0
    recent_pnls: deque = field(default_factory=lambda: deque(maxlen=50))
    recent_wins: int = 0
    session_pnl: float = 0.0
    session_trades: int = 0
    session_wins: int = 0
    session_id: int | None = None

    @property
    def win_rate(self) -> float:
        return self.total_wins / self.total_trades if self.total_trades else 0.0

    @property
    def recent_win_rate(self) -> float:
        return self.recent_wins / len(self.recent_pnls) if self.recent_pnls else 0.0

    @property
    def recent_expectancy(self) -> float:
        """Mean P&L of the recent window (0 when empty)."""
        return self.recent_total_pnl / len(self.recent_pnls) if self.recent_pnls else 0.0

    @property
    def recent_total_pnl(self) -> float:
        return sum(self.recent_pnls)

    @property
    def session_win_rate(self) -> float:
        return self.session_wins / self.session_trades if self.session_trades else 0.0

    @property
    def avg_pnl(self) -> float:
        return self.total_realized_pnl / self.total_trades if self.total_trades else 0.0

    def record_pnl(self, pnl: float) -> None:
        """Counts one realized P&L event on every horizon."""
        win = pnl > 0
        self.total_realized_pnl += pnl
        self.total_trades += 1
        self.total_wins += win
        window = self.recent_pnls
        if window.maxlen is not None and len(window) == window.maxlen and window and window[0] > 0:
            self.recent_wins -= 1  # the oldest event leaves the window
        window.append(pnl)
        self.recent_wins += win
        self.session_pnl += pnl
        self.session_trades += 1
        self.session_wins += win

    def reset_session(self, new_session_id: int | None = None) -> None:
        """Starts a new session's counters (all-time and recent figures stay)."""
        self.session_pnl = 0.0
        self.session_trades = 0
        self.session_wins = 0
        self.session_id = new_session_id

    def resize_window(self, size: int) -> None:
        """Keeps the newest `size` recent events (and their win count)."""
        self.recent_pnls = deque(list(self.recent_pnls)[-size:], maxlen=size)
        self.recent_wins = sum(1 for pnl in self.recent_pnls if pnl > 0)

    def __repr__(self) -> str:
        return (f"AssetTradingStats(trades={self.total_trades}, win_rate={self.win_rate:.1%}, "
                f"total_pnl=${self.total_realized_pnl:,.2f}, recent_win_rate={self.recent_win_rate:.1%})")
