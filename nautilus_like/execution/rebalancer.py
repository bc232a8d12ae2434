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
import weakref
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from nautilus_like._rust import MIN_ORDER_VALUE, order_toward_value
from nautilus_like.config import MissingPricePolicy, RebalanceMode, ShareRounding, ShareType, _coerce_enum
from nautilus_like.execution.schedule import RebalanceSchedule, RebalanceScheduleEvaluator
from nautilus_like.time_semantics import UNSET_CALENDAR, CalendarUnset, resolve_calendar
from nautilus_like.types import OrderSide, OrderStatus, OrderType

__all__ = ["RebalanceConfig", "RebalanceMode", "ShareRounding", "TargetWeightExecutor", "rebalance_to_weights"]

# Smaller value changes are not worth an order (ml4t's cent tolerance).
_CENT = MIN_ORDER_VALUE
# Gross weight may exceed the leverage cap by this before it is scaled down.
_LEVERAGE_TOLERANCE = 1e-6
# The RebalanceConfig fields a schedule evaluator is built from.
_SCHEDULE_FIELDS = ("schedule", "calendar", "timezone", "session_start_time", "data_frequency", "timestamp_semantics")


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


def _checked_weights(target_weights: Any, broker: Any, known_only: bool = True) -> dict[str, float]:
    """The weights, checked; `known_only` refuses assets the broker has not
    seen (the executor instead skips an asset without a price in `data`, and a
    standalone broker learns assets from their first order)."""
    if not isinstance(target_weights, Mapping):
        raise TypeError(f"target_weights must be a dict of asset -> weight, got {type(target_weights).__name__}")
    index = broker._state.asset_index
    out = {}
    for asset, weight in target_weights.items():
        if known_only and asset not in index:
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
    * `schedule`: a `RebalanceSchedule`; `execute` then trades only when it
      fires (see `nautilus_like.execution.schedule`), read with `calendar`
      (unset: NYSE; None: no calendar; required by weekly/month-end),
      `timezone` (of naive timestamps), `session_start_time` ("HH:MM"),
      `data_frequency` and `timestamp_semantics`.

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
    schedule: RebalanceSchedule | None = None
    calendar: str | None | CalendarUnset = UNSET_CALENDAR
    timezone: str | None = None
    session_start_time: str | None = None
    data_frequency: Any = None
    timestamp_semantics: Any = None

    def __post_init__(self) -> None:
        self.validate()
        if self.session_start_time is not None:
            from nautilus_like.sessions import _validate_session_start_time

            _validate_session_start_time(self.resolved_calendar, self.session_start_time)

    @property
    def resolved_calendar(self) -> str | None:
        """The schedule's calendar: `calendar`, NYSE when unset, None for none."""
        return resolve_calendar(self.calendar)

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
        if self.schedule is not None and not isinstance(self.schedule, RebalanceSchedule):
            raise ValueError(f"schedule must be a RebalanceSchedule or None, got {self.schedule!r}")
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
        self._evaluator: RebalanceScheduleEvaluator | None = None
        self._evaluator_basis: tuple[Any, ...] | None = None
        self._schedule_evaluator_now()

    # ------------------------------------------------------------ schedule

    def _schedule_basis(self) -> tuple[Any, ...]:
        return tuple(getattr(self.config, name) for name in _SCHEDULE_FIELDS)

    def _schedule_evaluator_now(self) -> RebalanceScheduleEvaluator | None:
        """The evaluator for the config's current schedule fields; a change
        after events were evaluated needs `reset()` (the session count and the
        checks so far were made under the old fields)."""
        basis = self._schedule_basis()
        if basis != self._evaluator_basis:
            if self._evaluator is not None and self._evaluator.has_observations:
                before = self._evaluator_basis or (None,) * len(basis)
                changes = ", ".join(f"{name}: {old!r} -> {new!r}"
                                    for name, old, new in zip(_SCHEDULE_FIELDS, before, basis) if old != new)
                raise ValueError(f"RebalanceConfig changed during evaluation ({changes}); call reset() first")
            cfg = self.config
            self._evaluator = None if cfg.schedule is None else RebalanceScheduleEvaluator(
                cfg.schedule, calendar=cfg.resolved_calendar, timezone=cfg.timezone,
                session_start_time=cfg.session_start_time, data_frequency=cfg.data_frequency,
                timestamp_semantics=cfg.timestamp_semantics)
            self._evaluator_basis = basis
        return self._evaluator

    def reset(self) -> None:
        """Forgets the schedule's state, to reuse this executor for another run."""
        self._evaluator = None
        self._evaluator_basis = None

    def should_rebalance(self, timestamp: datetime, *, is_session_close: bool | None = None) -> bool:
        """Whether the schedule fires at this event (True without a schedule).
        With a schedule, call it (or `execute`) for every event in time order;
        `is_session_close` overrides the calendar's verdict on the event."""
        evaluator = self._schedule_evaluator_now()
        return True if evaluator is None else evaluator.evaluate(timestamp, is_session_close=is_session_close)

    def validate_completed_run(self) -> None:
        """After a run's last event: raises if the run missed what the schedule
        needed (see `RebalanceScheduleEvaluator.validate_completed_run`). An
        Engine run calls it itself."""
        if self._evaluator is not None:
            self._evaluator.validate_completed_run()

    def _validate_engine_run(self, market_event_count: int) -> None:
        if self._evaluator is not None:
            self._evaluator.validate_engine_run(market_event_count)

    # ------------------------------------------------------------- orders

    def execute(self, target_weights: Mapping[str, float], data: Mapping[str, Any], broker: Any, *,
                timestamp: datetime | None = None, is_session_close: bool | None = None) -> list[Any]:
        """Submits the orders that move `broker`'s portfolio to `target_weights`;
        returns them (orders that round to nothing are not submitted). With a
        schedule, `timestamp` (this event's) is required and nothing is traded
        unless the schedule fires."""
        if self.config.schedule is not None:
            if timestamp is None:
                raise ValueError("timestamp is required when RebalanceConfig.schedule is set")
            _register_run_check(broker, self)
            if not self.should_rebalance(timestamp, is_session_close=is_session_close):
                return []
        cfg = self.config.validate()
        weights = _checked_weights(target_weights, broker, known_only=False)
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
        weights = _checked_weights(target_weights, broker, known_only=False)
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


# Scheduled executors that traded through an engine's broker, per engine
# state: after the run the engine checks each saw every event
# (`run_schedule_checks`), as a scheduled executor must.
_RUN_CHECKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _register_run_check(broker: Any, executor: TargetWeightExecutor) -> None:
    state = getattr(broker, "_state", None)
    if state is None:
        return
    try:
        executors = _RUN_CHECKS.setdefault(state, [])
    except TypeError:  # a state that cannot be weakly referenced: nothing to check after
        return
    if not any(e is executor for e in executors):
        executors.append(executor)


def run_schedule_checks(state: Any, market_event_count: int) -> None:
    """Called by the engine after a run with its number of events: each
    scheduled executor that traded through it must have seen all of them and
    met its schedule (ValueError otherwise)."""
    for executor in _RUN_CHECKS.pop(state, []):
        executor._validate_engine_run(market_event_count)
