"""ml4t-backtest 0.2.0's constructor signatures of its value objects (`Order`,
`Position`, `Fill`), for building detached ones by hand, and the argument
checks that go with them (errors name the argument and the value).

`nautilus_like._model` uses these; the objects themselves live there.
"""

from __future__ import annotations

from enum import Enum
from inspect import signature
from numbers import Real
from typing import Any

from nautilus_like.types import OrderSide, OrderStatus, OrderType


def _order(asset, side, quantity, order_type=OrderType.MARKET, limit_price=None, stop_price=None,
           trail_amount=None, parent_id=None, rebalance_id=None, order_id="", status=OrderStatus.PENDING,
           created_at=None, filled_at=None, filled_price=None, filled_quantity=0.0, rejection_reason=None,
           requested_quantity=None, target_intent_id=None, child_intent_id=None, intent_idempotency_key=None,
           _rejection_code=None, _created_bar_index=0, _signal_price=None, _priority_notional=None,
           _risk_exit_reason=None, _exit_reason=None, _risk_fill_price=None, *, commission_paid=0.0,
           action_adjusted_quantity=None, cancelled_at=None, cancellation_reason=None,
           _submitted_session_date=None, _eligible_from=None, _eligible_on_boundary=True,
           _stop_triggered=False, _stop_triggered_at=None): ...


def _position(asset, quantity, entry_price, entry_time, current_price=None, bars_held=0, high_water_mark=None,
              low_water_mark=None, max_favorable_excursion=0.0, max_adverse_excursion=0.0, initial_quantity=None,
              context=None, multiplier=1.0, entry_commission=0.0, entry_slippage=0.0, *,
              _commission_adjusted_cost_basis=None, variation_basis=None): ...


def _fill(order_id, asset, side, quantity, price, timestamp, rebalance_id=None, commission=0.0, slippage=0.0,
          order_type="", limit_price=None, stop_price=None, price_source="", reference_price=None,
          quote_mid_price=None, bid_price=None, ask_price=None, spread=None, bid_size=None, ask_size=None,
          available_size=None, exit_reason="", exit_reason_detail=None, target_intent_id=None,
          child_intent_id=None, intent_idempotency_key=None, multiplier=None, currency=None, *,
          stop_triggered_at=None): ...


ORDER, POSITION, FILL = signature(_order), signature(_position), signature(_fill)


def bind(owner: str, sig, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The arguments bound to ml4t's signature `sig`, defaults applied.

    >>> bind("Position", POSITION, ("AAPL", 100, 150.0), {})
    Traceback (most recent call last):
    TypeError: Position(): missing a required argument: 'entry_time'
    """
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{owner}(): {exc}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def number(owner: str, name: str, value: Any, optional: bool = False) -> float | None:
    """`value` as a float (None kept when `optional`)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    return float(value)


def member(owner: str, name: str, enum: type[Enum], value: Any) -> Enum:
    """`value` as a member of `enum` (its value string accepted too)."""
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except (ValueError, TypeError):
        raise ValueError(f"{owner}: {name} must be an {enum.__name__}, got {value!r}") from None


def order_fields(args: tuple, kwargs: dict) -> dict[str, Any]:
    """Checked fields of an Order built as ml4t builds one (its `__post_init__`:
    the requested quantity defaults to the quantity)."""
    v = bind("Order", ORDER, args, kwargs)
    if not isinstance(v["asset"], str):
        raise TypeError(f"Order: asset must be a str, got {v['asset']!r}")
    v["side"] = member("Order", "side", OrderSide, v["side"])
    v["order_type"] = member("Order", "order_type", OrderType, v["order_type"])
    v["status"] = member("Order", "status", OrderStatus, v["status"])
    for name in ("quantity", "filled_quantity", "commission_paid"):
        v[name] = number("Order", name, v[name])
    for name in ("limit_price", "stop_price", "trail_amount", "filled_price", "requested_quantity"):
        v[name] = number("Order", name, v[name], optional=True)
    if v["requested_quantity"] is None:
        v["requested_quantity"] = v["quantity"]
    for name in ("order_id", "parent_id", "rebalance_id", "rejection_reason", "cancellation_reason"):
        if v[name] is not None and not isinstance(v[name], str):
            raise TypeError(f"Order: {name} must be a str or None, got {v[name]!r}")
    return v


# A detached order has only its rejection text: its category is read from
# the words ml4t-backtest's own classifier looks for, in its order. (An
# engine's order carries the category of its typed refusal instead.)
_CODE_WORDS = (
    (("rounds to zero",), "quantity_rounds_to_zero"),
    (("no price",), "price_unavailable"),
    (("fill check",), "fill_check_failed"),
    (("not allowed",), "account_restriction"),
    (("buying power", "margin"), "insufficient_buying_power"),
    (("cash", "insufficient"), "insufficient_cash"),
    (("short", "reversal not allowed"), "account_restriction"),
)


def rejection_code_of(v: dict[str, Any]) -> str | None:
    """A detached order's `rejection_code`: None unless rejected; the code
    it was built with (`_rejection_code=`), else the category of its text."""
    if v["status"] is not OrderStatus.REJECTED:
        return None
    if v.get("_rejection_code") is not None:
        return v["_rejection_code"]
    text = (v.get("rejection_reason") or "").lower()
    for words, code in _CODE_WORDS:
        if any(word in text for word in words):
            return code
    return "order_validation_failed"


def rebuild(cls: type, kwargs: dict[str, Any]) -> Any:
    """Unpickles (and copies) a detached Order or Position."""
    return cls(**kwargs)
