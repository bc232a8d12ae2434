"""Target-weight rebalancing: turn `{asset: weight}` into orders.

Two entry points with ml4t-backtest 0.2.0's semantics (same orders, so the
same fills):

* `broker.rebalance_to_weights(weights)`: each asset's value (quantity x this
  bar's price x contract multiplier) moves toward `weight` x account value
  (fractional quantities; an integer account floors them when the order is
  processed), positions missing from `weights` closed,
  sells submitted before buys. `BacktestConfig.rebalance_headroom_pct` scales
  every weight; `missing_price_policy` decides whether an asset without a bar
  now is skipped or sized at its last price.
* `TargetWeightExecutor(RebalanceConfig(...)).execute(weights, data, broker)`:
  the same idea with thresholds (`min_trade_value`, `min_weight_change`), share
  quantization (nearest or truncated whole shares, lots, fractional), a cap on
  each weight and on gross leverage, and a choice of how successive orders
  see each other (`rebalance_mode`).

>>> executor = TargetWeightExecutor(RebalanceConfig(min_trade_value=500, max_single_weight=0.4))
>>> executor.execute({"AAPL": 0.5, "MSFT": 0.3}, data, broker)   # inside on_data

Orders of one call share a `rebalance_id` ("rebalance-<n>", on the orders and
their fills). The sizing runs once per rebalance, so it lives here in Python;
every fill, cost and cash check is still the Rust engine's.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import msgspec

from nautilus_like._rust import MIN_ORDER_VALUE, order_toward_value
from nautilus_like.config import MissingPricePolicy, RebalanceMode, ShareRounding, ShareType, _coerce_enum
from nautilus_like.types import OrderSide, OrderStatus, OrderType

__all__ = ["RebalanceConfig", "RebalanceMode", "ShareRounding", "TargetWeightExecutor", "rebalance_to_weights"]

# Smaller value changes are not worth an order (ml4t's cent tolerance).
_CENT = MIN_ORDER_VALUE
# Gross weight may exceed the leverage cap by this before it is scaled down.
_LEVERAGE_TOLERANCE = 1e-6


# --------------------------------------------------------------------- shared


class _RebalanceId:
    """Hands out one broker-wide id per rebalance, on first use (as ml4t
    numbers them: a call that reaches no asset takes no number)."""

    def __init__(self, broker: Any) -> None:
        self._state = broker._state
        self._id: str | None = None

    def get(self) -> str:
        if self._id is None:
            self._state.rebalance_count += 1
            self._id = f"rebalance-{self._state.rebalance_count}"
        return self._id

    def tag(self, order: Any, priority_notional: float | None, broker: Any) -> None:
        """Marks `order` as this rebalance's. The engine then lets an integer
        account fill what cash affords of it, and ranks it by its sizing
        notional under the notional entry priorities (ml4t's rules)."""
        self._state.rebalance_ids[order._id] = self.get()
        if order.status is OrderStatus.PENDING:
            broker._mark_rebalance_order(order, priority_notional)


def _checked_weights(target_weights: Any, broker: Any) -> dict[str, float]:
    if not isinstance(target_weights, Mapping):
        raise TypeError(f"target_weights must be a dict of asset -> weight, got {type(target_weights).__name__}")
    index = broker._state.asset_index
    out = {}
    for asset, weight in target_weights.items():
        if asset not in index:
            raise ValueError(f"target_weights: asset {asset!r} does not appear in the feed")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not math.isfinite(weight):
            raise ValueError(f"target_weights[{asset!r}] must be a finite number, got {weight!r}")
        out[asset] = weight
    return out


def _current_price(broker: Any, asset: str) -> float | None:
    """This bar's price of `asset`, None without a bar now."""
    price = broker._current_price(asset)
    return price if price > 0 else None


# ----------------------------------------------------- broker.rebalance_to_weights


def rebalance_to_weights(broker: Any, target_weights: Mapping[str, float],
                         order_type: OrderType = OrderType.MARKET) -> list[Any]:
    """`broker.rebalance_to_weights`: see the module docstring."""
    if order_type not in (OrderType.MARKET, OrderType.MOC):
        raise ValueError(f"order_type must be OrderType.MARKET or OrderType.MOC (rebalance orders carry no "
                         f"prices), got {order_type!r}")
    weights = _checked_weights(target_weights, broker)
    account_value = broker.get_account_value()
    if account_value <= 0:
        return []
    config = broker._state.config
    headroom = config.rebalance_headroom_pct
    use_last = config.missing_price_policy is MissingPricePolicy.USE_LAST

    def price_of(asset: str) -> float | None:
        price = _current_price(broker, asset)
        if price is None and use_last:
            last = broker.get_last_price(asset)
            price = last if last is not None and last > 0 else None
        return price

    sells: list[tuple[str, float]] = []
    buys: list[tuple[str, float]] = []
    for asset, weight in weights.items():
        price = price_of(asset)
        if price is None:
            continue
        target_value = account_value * (weight * headroom)
        change = target_value - _held_value(broker, asset, price)
        if abs(change) >= _CENT:
            (sells if change < 0 else buys).append((asset, target_value))
    for asset in broker.get_positions():
        if asset not in weights:
            sells.append((asset, 0.0))

    rebalance = _RebalanceId(broker)
    orders = []
    for asset, target_value in sells + buys:
        price = price_of(asset)
        if price is None:
            continue
        rebalance.get()
        order = _order_toward_value(broker, asset, target_value, price, order_type, rebalance)
        if order is not None:
            orders.append(order)
    return orders


def _held_value(broker: Any, asset: str, price: float) -> float:
    # ml4t sorts sells from buys with quantity x price x multiplier, in that
    # order (not the sizing's value per unit), so the rounding is kept as it is.
    position = broker.get_position(asset)
    return position.quantity * price * broker.get_multiplier(asset) if position is not None else 0.0


def _order_toward_value(broker: Any, asset: str, target_value: float, price: float, order_type: OrderType,
                        rebalance: _RebalanceId) -> Any:
    # The engine's own target sizing (Rust `sizing::order_toward_value`, which
    # `order_target_value` uses too).
    position = broker.get_position(asset)
    held = position.quantity if position is not None else 0.0
    sized = order_toward_value(target_value, price, broker.get_multiplier(asset), held)
    if sized is None:
        return None
    quantity, change = sized
    order = broker.submit_order(asset, quantity, None, order_type)
    if order is not None:
        rebalance.tag(order, abs(change), broker)
    return order


# ------------------------------------------------------------ TargetWeightExecutor


class RebalanceConfig(msgspec.Struct):
    """How `TargetWeightExecutor` turns weights into orders (ml4t-backtest's
    `RebalanceConfig` fields and defaults).

    * `min_trade_value` ($) / `min_weight_change`: skip smaller trades.
    * `allow_fractional`: fractional shares; None follows `BacktestConfig.share_type`.
      Whole shares round to the nearest (`share_rounding=NEAREST`, halves away
      from zero) or toward zero (TRUNCATE); `round_lots` rounds to `lot_size`
      multiples instead (Python's round: halves to even).
    * `allow_short`: negative weights short; otherwise they mean 0.
    * `max_single_weight`: each weight's magnitude is capped at it.
    * `max_gross_leverage`: weights are scaled down to this sum of |weight|.
    * `cancel_before_rebalance`: cancel every pending order first; otherwise,
      with `account_for_pending`, pending orders count toward current weights
      (valued at their limit price, else this bar's close).
    * `rebalance_mode`: SNAPSHOT sizes everything from the account value and
      weights at the start; INCREMENTAL matches pending orders after each order
      (SAME_BAR fills them at once) and re-reads value and weights; HYBRID
      matches but keeps the starting basis.

    >>> RebalanceConfig(min_trade_value=500, allow_fractional=True, rebalance_mode="incremental")
    """

    min_trade_value: float = 0.0
    min_weight_change: float = 0.0
    allow_fractional: bool | None = None
    round_lots: bool = False
    lot_size: int = 100
    allow_short: bool = False
    max_single_weight: float = 1.0
    max_gross_leverage: float | None = None
    cancel_before_rebalance: bool = True
    account_for_pending: bool = True
    rebalance_mode: RebalanceMode = RebalanceMode.SNAPSHOT
    share_rounding: ShareRounding = ShareRounding.NEAREST

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> RebalanceConfig:
        """Checks (and normalizes) every field; raises `ValueError` naming the field."""
        self.rebalance_mode = _coerce_enum("rebalance_mode", RebalanceMode, self.rebalance_mode)
        self.share_rounding = _coerce_enum("share_rounding", ShareRounding, self.share_rounding)
        for field in ("min_trade_value", "min_weight_change", "max_single_weight"):
            value = getattr(self, field)
            if not _is_number(value) or value < 0:
                raise ValueError(f"{field} must be a finite number >= 0, got {value!r}")
            setattr(self, field, float(value))
        cap = self.max_gross_leverage
        if cap is not None:
            if not _is_number(cap) or cap <= 0:
                raise ValueError(f"max_gross_leverage must be None or a finite number > 0, got {cap!r}")
            self.max_gross_leverage = float(cap)
        lot = self.lot_size
        if isinstance(lot, bool) or not isinstance(lot, int) or lot < 1:
            raise ValueError(f"lot_size must be a whole number >= 1, got {lot!r}")
        for field in ("round_lots", "allow_short", "cancel_before_rebalance", "account_for_pending"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(f"{field} must be True or False, got {getattr(self, field)!r}")
        if self.allow_fractional is not None and not isinstance(self.allow_fractional, bool):
            raise ValueError(f"allow_fractional must be True, False or None, got {self.allow_fractional!r}")
        return self


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


class TargetWeightExecutor:
    """Rebalances a portfolio to target weights (ml4t-backtest's `TargetWeightExecutor`).

    `execute` first reduces (targets below their current weight, in the order
    given), then closes positions not in the targets, then increases, so sales
    free cash for purchases. Prices are `data[asset]["close"]`; an asset
    without one is skipped.

    >>> executor = TargetWeightExecutor(RebalanceConfig(min_weight_change=0.02))
    >>> orders = executor.execute({"AAPL": 0.3, "GOOG": 0.3, "MSFT": 0.35}, data, broker)
    """

    def __init__(self, config: RebalanceConfig | None = None) -> None:
        if config is not None and not isinstance(config, RebalanceConfig):
            raise TypeError(f"config must be a RebalanceConfig, got {type(config).__name__}")
        self.config = config if config is not None else RebalanceConfig()

    def execute(self, target_weights: Mapping[str, float], data: Mapping[str, Any], broker: Any) -> list[Any]:
        """Submits the orders that move `broker`'s portfolio to `target_weights`;
        returns them (orders that round to nothing are not submitted)."""
        cfg = self.config.validate()
        weights = _checked_weights(target_weights, broker)
        if cfg.cancel_before_rebalance:
            for order in broker.get_pending_orders():
                broker.cancel_order(order)
        equity = broker.get_account_value()
        if equity <= 0:
            return []
        current = self._starting_weights(broker, data)
        weights = self._leverage_capped(weights)
        reducing = [a for a, w in weights.items() if w - current.get(a, 0.0) < 0]
        increasing = [a for a, w in weights.items() if not w - current.get(a, 0.0) < 0]
        rebalance = _RebalanceId(broker)
        mode = cfg.rebalance_mode
        orders = []

        def matched(order_sent: bool) -> None:
            # INCREMENTAL/HYBRID let each order fill (SAME_BAR) before the next
            # is sized; INCREMENTAL then sizes from the new value and weights.
            nonlocal equity, current
            if not order_sent or mode is RebalanceMode.SNAPSHOT:
                return
            broker._match_now()
            if mode is RebalanceMode.INCREMENTAL:
                equity = broker.get_account_value()
                current = self._held_weights(broker, data)

        for asset in reducing:
            order = self._trade(asset, weights[asset], current, equity, data, broker, rebalance)
            if order is not None:
                orders.append(order)
            matched(order is not None)
        for asset in list(current):
            position = broker.get_position(asset)
            if asset in weights or position is None or position.quantity == 0:
                continue
            rebalance.get()
            order = broker.close_position(asset)
            if order is not None:
                rebalance.tag(order, None, broker)
                orders.append(order)
            matched(True)
        for asset in increasing:
            order = self._trade(asset, weights[asset], current, equity, data, broker, rebalance)
            if order is not None:
                orders.append(order)
            matched(order is not None)
        return orders

    def preview(self, target_weights: Mapping[str, float], data: Mapping[str, Any], broker: Any) -> list[dict]:
        """The trades `execute` would size now, without submitting them: one dict
        per target with a price (asset, current/target weight, weight_delta,
        shares, quantized_shares, value, skip_reason), then one per position
        `execute` would close (action "close_position")."""
        cfg = self.config.validate()
        weights = _checked_weights(target_weights, broker)
        equity = broker.get_account_value()
        if equity <= 0:
            return []
        current = self._starting_weights(broker, data)
        previews = []
        for asset, target in weights.items():
            price = _close(data, asset)
            if price is None or price <= 0:
                continue
            change = target - current.get(asset, 0.0)
            value = equity * change
            shares = value / (price * broker.get_multiplier(asset))
            quantized = self._quantized(shares, broker)
            skip = None
            if abs(change) < cfg.min_weight_change:
                skip = "weight_change_too_small"
            elif abs(value) < cfg.min_trade_value:
                skip = "trade_value_too_small"
            elif quantized == 0:
                skip = "rounds_to_zero_shares"
            previews.append({"asset": asset, "current_weight": current.get(asset, 0.0), "target_weight": target,
                             "weight_delta": change, "shares": shares, "quantized_shares": quantized,
                             "value": value, "skip_reason": skip})
        for asset, weight in current.items():
            position = broker.get_position(asset)
            if asset in weights or position is None or position.quantity == 0:
                continue
            price = self._position_price(asset, position, data, broker)
            if price is None or price <= 0:
                continue
            previews.append({"asset": asset, "current_weight": weight, "target_weight": 0.0,
                             "weight_delta": -weight, "shares": -position.quantity,
                             "value": -position.quantity * price * broker.get_multiplier(asset),
                             "skip_reason": None,
                             "action": "close_position"})
        return previews

    # -------------------------------------------------------------- sizing

    def _leverage_capped(self, weights: dict[str, float]) -> dict[str, float]:
        cap = self.config.max_gross_leverage
        if cap is None:
            return weights
        gross = sum(abs(w) for w in weights.values())
        if gross <= cap + _LEVERAGE_TOLERANCE:
            return weights
        scale = cap / gross
        return {asset: w * scale for asset, w in weights.items()}

    def _trade(self, asset: str, target: float, current: dict[str, float], equity: float,
               data: Mapping[str, Any], broker: Any, rebalance: _RebalanceId) -> Any:
        """The order moving `asset` from its current weight to `target`, or None
        when a threshold, a missing price or rounding leaves nothing to trade."""
        cfg = self.config
        rebalance.get()
        cap = cfg.max_single_weight
        target = max(-cap, min(cap, target))
        if target < 0 and not cfg.allow_short:
            target = 0
        change = target - current.get(asset, 0.0)
        if abs(change) < cfg.min_weight_change:
            return None
        price = _close(data, asset)
        if price is None or price <= 0:
            return None
        value = equity * change
        if abs(value) < cfg.min_trade_value:
            return None
        shares = self._quantized(value / (price * broker.get_multiplier(asset)), broker)
        if shares == 0:
            return None
        side = OrderSide.BUY if shares > 0 else OrderSide.SELL
        order = broker.submit_order(asset, abs(shares), side)
        if order is not None:
            rebalance.tag(order, abs(value), broker)
        return order

    def _quantized(self, shares: float, broker: Any) -> float:
        """Whole shares (nearest or truncated), lots, or fractional shares."""
        cfg = self.config
        fractional = cfg.allow_fractional
        if fractional is None:
            fractional = broker._state.config.share_type is ShareType.FRACTIONAL
        if cfg.round_lots:
            lots = round(shares / cfg.lot_size) * cfg.lot_size
            return lots if fractional else int(lots)
        if fractional:
            return shares
        if cfg.share_rounding is ShareRounding.TRUNCATE:
            return int(shares)
        return int(math.copysign(math.floor(abs(shares) + 0.5), shares))

    # ------------------------------------------------------------- weights

    def _starting_weights(self, broker: Any, data: Mapping[str, Any]) -> dict[str, float]:
        cfg = self.config
        if cfg.account_for_pending and not cfg.cancel_before_rebalance:
            return self._weights_with_pending(broker, data)
        return self._held_weights(broker, data)

    def _held_weights(self, broker: Any, data: Mapping[str, Any]) -> dict[str, float]:
        """Each open position's value over the account value."""
        equity = broker.get_account_value()
        if equity <= 0:
            return {}
        return {asset: value / equity for asset, value in self._position_values(broker, data).items()}

    def _weights_with_pending(self, broker: Any, data: Mapping[str, Any]) -> dict[str, float]:
        """Held weights plus pending orders (at their limit price, else this
        bar's close), so orders not yet filled are not sent twice."""
        equity = broker.get_account_value()
        if equity <= 0:
            return {}
        values = self._position_values(broker, data)
        for order in broker.get_pending_orders():
            price = order.limit_price or _close(data, order.asset)
            if price is not None and price > 0:
                sign = 1 if order.side is OrderSide.BUY else -1
                notional = order.quantity * price * broker.get_multiplier(order.asset)
                values[order.asset] = values.get(order.asset, 0) + notional * sign
        return {asset: value / equity for asset, value in values.items()}

    def _position_values(self, broker: Any, data: Mapping[str, Any]) -> dict[str, float]:
        values = {}
        for asset, position in broker.get_positions().items():
            price = self._position_price(asset, position, data, broker)
            if price is not None and price > 0:
                values[asset] = position.quantity * price * broker.get_multiplier(asset)
        return values

    @staticmethod
    def _position_price(asset: str, position: Any, data: Mapping[str, Any], broker: Any) -> float | None:
        """The close in `data`, else this bar's price, the last price, the
        position's mark, its entry price: sparse bars still value a holding."""
        for price in (_close(data, asset), _current_price(broker, asset), broker.get_last_price(asset),
                      position.current_price, position.entry_price):
            if price is not None:
                return price
        return None


def _close(data: Mapping[str, Any], asset: str) -> float | None:
    bar = data.get(asset)
    return bar.get("close") if bar else None
