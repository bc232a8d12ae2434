"""Fill execution (ml4t-backtest's `execution.fill_executor`).

In ml4t-backtest, `FillExecutor` is the broker's Python helper that sizes,
prices and books each fill. In nautilus_like that work is the Rust engine's
(crates/engine `kernel/execute.rs`: account sizing, volume limits, impact and
slippage, commission, booking), so there is no executor object to build: this
module keeps ml4t's names for code that imports them — the `FillContext`
record and the trade-PnL formula the ledger uses.

>>> _calculate_position_pnl(100.0, 103.0, -10.0, 1.0)   # a short losing 3 a share
-30.0
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nautilus_like._rust import position_pnl as _position_pnl

__all__ = ["FillContext", "FillExecutor"]


def _calculate_position_pnl(entry_price: float, exit_price: float, signed_quantity: float,
                            multiplier: float) -> float:
    """The gain of `signed_quantity` (negative: short) from `entry_price` to
    `exit_price`, before fees: exit notional minus entry notional, times the
    contract multiplier — the engine's own formula for trade PnL."""
    return _position_pnl(float(entry_price), float(exit_price), float(signed_quantity), float(multiplier))


@dataclass
class FillContext:
    """What one fill of an order was: quantity, price, costs and the quote it saw
    (ml4t's record of a fill in the making)."""

    order: Any
    current_time: datetime
    fill_quantity: float
    fill_price: float
    commission: float
    slippage: float
    signed_qty: float
    is_partial: bool
    price_source: str
    quote_context: dict[str, float | None]
    close_commission: float | None = None
    open_commission: float | None = None


class FillExecutor:
    """ml4t's per-fill helper of its Python broker. nautilus_like's broker fills
    in the Rust engine, so there is nothing to construct: submit orders to a
    `Broker` (or run an `Engine`) instead."""

    def __init__(self, broker: Any, **state: Any) -> None:
        raise TypeError("FillExecutor is internal to ml4t-backtest's Python broker; nautilus_like fills orders in "
                        "its Rust engine: use Broker.submit_order(...) or Engine(...).run()")
