"""A standalone `Broker(initial_cash=..., commission_model=..., ...)`, driven by
hand as ml4t-backtest's tests and research notebooks drive one:

>>> broker = Broker(initial_cash=100_000.0, commission_model=PercentageCommission(0.001))
>>> broker._update_time(timestamp=t, prices={"AAPL": 150.0}, opens={"AAPL": 149.0},
...                     highs={"AAPL": 151.0}, lows={"AAPL": 148.0}, volumes={"AAPL": 1e6}, signals={})
>>> broker.submit_order("AAPL", 100)
>>> broker._process_orders()        # fills now, at the close (SAME_BAR, CLOSE: ml4t's Broker defaults)
>>> broker.get_cash()               # 100_000 - 15_000 - 15 = 84_985.0

Each step is one engine call and none implies another (crates/engine/src/kernel/stepped.rs):
`_update_time` moves to new marks (nothing fills), `_process_orders` matches
pending orders, `evaluate_position_rules` queues rule exits,
`_update_water_marks` moves water marks. Assets join when first marked or
ordered. `broker.positions[asset] = Position(...)` seeds a position (cash
untouched), as ml4t allows.

Where a hand-set mark differs from a feed's rules, ml4t's behaviour is kept: a
NaN mark leaves the asset's last price (it has no bar this step), zero and
negative marks are accepted. Timestamps may repeat (ml4t's tests repeat
them); the engine's clock then advances by one nanosecond per step and
every record shows the timestamp that was given.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, MutableMapping
from datetime import date, datetime, timezone
from inspect import Parameter, Signature
from typing import Any

import msgspec

from nautilus_like import _stepped
from nautilus_like._costs import ALL_ASSETS, routes
from nautilus_like._driver import configure_costs, create_stepped_engine, set_asset_settings
from nautilus_like.config import BacktestConfig, ExecutionPrice, engine_settings
from nautilus_like.contracts import (ContractSpec, merged_margin_schedules, resolve_margin_schedules,
                                     resolve_multipliers)
from nautilus_like.execution import AssetExecutionLimits, impact_spec, limit_routes
from nautilus_like.models import AssetCommission, AssetSlippage, NoCommission, NoSlippage, SpreadSlippage
from nautilus_like.types import ExecutionMode

__all__ = ["BROKER_SIGNATURE", "PositionBook", "Stepper"]

# ml4t-backtest 0.2.0's `Broker.__init__` parameters in order, with its
# defaults. Those that are BacktestConfig fields configure the engine (the
# config refuses values the engine cannot run yet); the models are objects.
_CONFIG_PARAMS: list[tuple[str, Any]] = [
    ("initial_cash", 100_000.0), ("commission_model", None), ("slippage_model", None),
    ("stop_slippage_rate", 0.0), ("execution_mode", ExecutionMode.SAME_BAR),
    ("execution_price", ExecutionPrice.CLOSE), ("mark_price", ExecutionPrice.PRICE),
    ("stop_fill_mode", "stop_price"), ("stop_level_basis", "fill_price"), ("trail_hwm_source", "close"),
    ("trail_include_entry_bar_extremes", False), ("initial_hwm_source", "fill_price"),
    ("trail_stop_timing", "lagged"), ("allow_short_selling", False), ("allow_leverage", False),
    ("initial_margin", 0.5), ("long_maintenance_margin", 0.25), ("short_maintenance_margin", 0.30),
    ("fixed_margin_schedule", None), ("margin_pct_schedule", None), ("short_cash_policy", "credit"),
    ("lock_notional_update_mode", "position_legs"), ("execution_limits", None), ("market_impact_model", None),
    ("contract_specs", None), ("share_type", "integer"), ("fill_ordering", "exit_first"),
    ("entry_order_priority", "submission"), ("next_bar_submission_precheck", False),
    ("next_bar_simple_cash_check", False), ("buying_power_reservation", False),
    ("next_bar_queue_shadow_validation", False), ("immediate_fill", False),
    ("reject_on_insufficient_cash", True), ("skip_cash_validation", False), ("cash_buffer_pct", 0.0),
    ("partial_fills_allowed", False), ("rebalance_headroom_pct", 1.0), ("missing_price_policy", "skip"),
    ("late_asset_policy", "allow"), ("late_asset_min_bars", 1), ("settlement_delay", 0),
    ("settlement_reduces_buying_power", True), ("next_bar_execution_price", None), ("cancel_policy", "never"),
]
_KEYWORD_ONLY = [("conditional_order_mode", "bar_ohlc")]

BROKER_SIGNATURE = Signature(
    [Parameter(n, Parameter.POSITIONAL_OR_KEYWORD, default=d) for n, d in _CONFIG_PARAMS]
    + [Parameter(n, Parameter.KEYWORD_ONLY, default=d) for n, d in _KEYWORD_ONLY])

_OBJECTS = ("commission_model", "slippage_model", "execution_limits", "market_impact_model", "contract_specs")


def bind_broker_args(args: tuple, kwargs: dict) -> dict[str, Any]:
    """ml4t's Broker arguments, bound and defaulted (TypeError as Python gives)."""
    try:
        bound = BROKER_SIGNATURE.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"Broker(): {exc}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def config_of(values: dict[str, Any]) -> BacktestConfig:
    """The BacktestConfig of a standalone broker's settings (validated there)."""
    fields = {f.name for f in msgspec.structs.fields(BacktestConfig)}
    settings = {k: v for k, v in values.items() if k in fields and k not in _OBJECTS}
    return BacktestConfig(**settings)


def timestamp_ns(timestamp: Any, what: str = "timestamp") -> int:
    """Nanoseconds since the epoch (UTC) of a datetime (naive = UTC), a pandas
    Timestamp, a date (midnight UTC), a NumPy datetime64 or an int (ns)."""
    value = getattr(timestamp, "value", None)
    if isinstance(timestamp, datetime) and isinstance(value, int):
        return value  # pandas.Timestamp: its own ns (UTC for aware ones)
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=timezone.utc)
        delta = timestamp - datetime(1970, 1, 1, tzinfo=timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if isinstance(timestamp, date):
        return timestamp_ns(datetime(timestamp.year, timestamp.month, timestamp.day), what)
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        return timestamp
    if type(timestamp).__name__ == "datetime64":
        return int(timestamp.astype("datetime64[ns]").astype("int64"))
    raise TypeError(f"{what} must be a datetime, date, datetime64 or int nanoseconds, got {timestamp!r}")


def _finite(value: Any) -> float:
    """`value` as a float, NaN when missing or not a finite number."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _update_time_args(prices, opens, highs, lows, rest: tuple, kwargs: dict) -> dict[str, Any]:
    """ml4t's `_update_time` argument forms as one dict of caches: keywords; or
    positional (volumes, signals); (closes, volumes, bids, asks, mids,
    bid_sizes, ask_sizes, signals); or the same with vwaps after volumes."""
    caches = {"prices": prices, "opens": opens, "highs": highs, "lows": lows}
    if kwargs:
        if rest:
            raise TypeError("_update_time does not accept mixed positional/keyword cache args")
        caches["highs"] = highs if highs is not None else kwargs.pop("highs", None)
        caches["lows"] = lows if lows is not None else kwargs.pop("lows", None)
        for name in ("closes", "vwaps", "bids", "asks", "mids", "bid_sizes", "ask_sizes"):
            caches[name] = kwargs.pop(name, None)
        for name in ("volumes", "signals"):
            if name not in kwargs:
                raise TypeError(f"_update_time missing required keyword argument: {name!r}")
            caches[name] = kwargs.pop(name)
        if kwargs:
            raise TypeError(f"_update_time got unexpected keyword arguments: {sorted(kwargs)}")
    elif len(rest) == 2:
        caches["volumes"], caches["signals"] = rest
    elif len(rest) in (8, 9):
        names = ["closes", "volumes", "vwaps", "bids", "asks", "mids", "bid_sizes", "ask_sizes", "signals"]
        if len(rest) == 8:
            names.remove("vwaps")
        caches.update(zip(names, rest))
    else:
        raise TypeError("_update_time expects (timestamp, prices, opens, highs, lows, volumes, signals) "
                        "or the quote-aware form with closes/vwaps/bids/asks/mids/bid_sizes/ask_sizes")
    if caches["highs"] is None or caches["lows"] is None:
        raise TypeError("_update_time requires highs and lows")
    for name, cache in caches.items():
        if cache is not None and not isinstance(cache, Mapping):
            raise TypeError(f"_update_time: {name} must be a dict of asset -> value, got {type(cache).__name__}")
    return caches


# ml4t Broker attributes holding the current marks -> `Stepper.current` keys.
MARK_ATTRS = {"_current_time": "time", "_current_prices": "prices", "_current_opens": "opens",
              "_current_highs": "highs", "_current_lows": "lows", "_current_volumes": "volumes",
              "_current_signals": "signals"}
_MARK_CACHES = tuple(key for key in MARK_ATTRS.values() if key != "time")


class Stepper:
    """Drives a standalone broker's engine: asset registration, marks, the
    clock, and the cost routes of assets that join late."""

    def __init__(self, values: dict[str, Any]) -> None:
        config = config_of(values)
        self.config = config
        # `is None`, not `or`: a model that is falsy (defines __len__ or __bool__) is still the model.
        self.commission_model = NoCommission() if values["commission_model"] is None else values["commission_model"]
        self.slippage_model = NoSlippage() if values["slippage_model"] is None else values["slippage_model"]
        self.execution_limits = values["execution_limits"]
        self.market_impact_model = values["market_impact_model"]
        self.contract_specs: dict[str, ContractSpec] = dict(values["contract_specs"] or {})
        merged_margin_schedules(config, self.contract_specs)  # refuses a symbol with both margin kinds now, as ml4t
        if getattr(config.cancel_policy, "value", config.cancel_policy) != "never":
            # Session-end cancels need the bars' exchange sessions, which only an Engine run computes.
            raise ValueError(f"cancel_policy={config.cancel_policy.value!r} is not supported by a standalone "
                             f"nautilus_like Broker yet (an Engine with a calendar runs it)")
        self.state = create_stepped_engine(engine_settings(config), self.contract_specs)
        self.state.config = config
        self.state.commission_model, self.state.slippage_model = self.commission_model, self.slippage_model
        self._last_ns: int | None = None
        # ml4t's `broker._current_time`, `_current_prices`, ... : the marks in
        # force (what `_update_time` last set), readable and assignable.
        # Assigned ones are staged and become one `_update_time` step before
        # the broker's next call (see `stage`).
        self.current: dict[str, Any] = {"time": None, **{key: {} for key in _MARK_CACHES}}
        self.staged = False
        # Fills/trades given by `broker.fills = [...]`: (records, engine count then).
        self._journal: dict[str, tuple[list, int]] = {}
        self._note_per_asset_costs()
        self._send_costs(impact=True)

    def _note_per_asset_costs(self) -> None:
        # Per-asset cost routes must be re-sent when an asset they name joins.
        self._per_asset_costs = (isinstance(self.commission_model, AssetCommission)
                                 or isinstance(self.slippage_model, (AssetSlippage, SpreadSlippage))
                                 or isinstance(self.execution_limits, AssetExecutionLimits))

    def cost_model_changed(self, kind: str, model: Any) -> None:
        """`broker.commission_model = ...` (or slippage) was sent to the engine:
        assets that join later get the new model's routes."""
        if kind == "commission":
            self.commission_model = model
        else:
            self.slippage_model = model
        self._note_per_asset_costs()

    def replace_journal(self, kind: str, records: Any, engine_count: int) -> None:
        """`broker.fills = [...]` / `broker.trades = [...]`: the record reads as
        `records` followed by the engine's records after its `engine_count`th."""
        from nautilus_like._model import Fill
        from nautilus_like.types import Trade

        expected = Fill if kind == "fills" else Trade
        try:
            records = list(records)
        except TypeError:
            raise TypeError(f"broker.{kind} must be a list of {expected.__name__}, got {records!r}") from None
        for record in records:
            if not isinstance(record, expected):
                raise TypeError(f"broker.{kind} must be a list of {expected.__name__}, "
                                f"got an item {type(record).__name__}: {record!r}")
        self._journal[kind] = (records, engine_count)

    def journal(self, kind: str) -> tuple[list, int]:
        """The given records of `kind` and the engine count they replace up to."""
        return self._journal.get(kind, ([], 0))

    def _send_costs(self, impact: bool = False) -> None:
        index = self.state.asset_index
        limits = self.execution_limits
        configure_costs(self.state, routes(self.commission_model, "commission", index),
                        routes(self.slippage_model, "slippage", index),
                        None if limits is None else limit_routes(limits, index, ALL_ASSETS),
                        impact_spec(self.market_impact_model) if impact and self.market_impact_model else None)

    # --------------------------------------------------------------- assets

    def ensure_assets(self, names: Any) -> None:
        """Registers the assets in `names` the engine does not know yet."""
        index = self.state.asset_index
        new = []
        for name in names:
            if name in index or name in new:
                continue
            if not isinstance(name, str):
                raise TypeError(f"asset names must be str, got {name!r}")
            new.append(name)
        if not new:
            return
        _stepped.add_assets(self.state, new)
        joined = {name: index[name] for name in new}
        specs = {name: spec for name, spec in self.contract_specs.items() if name in joined}
        c = self.config
        # The config's margin schedules may name assets that join later.
        only_joined = lambda schedule: {a: v for a, v in (schedule or {}).items() if a in joined} or None  # noqa: E731
        c = msgspec.structs.replace(c, fixed_margin_schedule=only_joined(c.fixed_margin_schedule),
                                    margin_pct_schedule=only_joined(c.margin_pct_schedule))
        set_asset_settings(self.state, resolve_multipliers(specs, joined) or None,
                           resolve_margin_schedules(c, specs, joined) or None)
        if self._per_asset_costs:
            self._send_costs()

    # ---------------------------------------------------------------- steps

    @property
    def has_marks(self) -> bool:
        """Whether a step to marks was taken (before it, nothing can match)."""
        return self._last_ns is not None

    def stage(self, attr: str, value: Any) -> None:
        """`broker._current_prices = {...}` (and the other `MARK_ATTRS`), as
        ml4t's tests set up a hand-driven broker: ml4t reads these dicts at
        its next call, so the assignments made together become one step to
        new marks, taken before the broker's next call (`take_staged`)."""
        key = MARK_ATTRS[attr]
        if key != "time" and not isinstance(value, Mapping):
            raise TypeError(f"broker.{attr} must be a dict of asset -> value, got {type(value).__name__}")
        self.current[key] = value  # held as given, as ml4t holds it
        self.staged = True

    def take_staged(self) -> tuple[Any, dict[str, Any]]:
        """The staged marks as `_update_time` arguments (timestamp, caches)."""
        current = self.current
        if current["time"] is None:  # (stays staged: every call says so until the time is set)
            raise ValueError("broker._current_time is None: set it before trading on marks set by hand")
        self.staged = False
        return current["time"], {key: current[key] for key in _MARK_CACHES}

    def update_time(self, timestamp: Any, caches: dict[str, Any]) -> None:
        """ml4t's `_update_time`: the engine moves to a new bar marked by the caches."""
        # The caches as given (ml4t keeps the caller's dicts; no copy per step).
        self.current = {"time": timestamp, **{key: caches.get(key) or {} for key in _MARK_CACHES}}
        self.staged = False
        ns = timestamp_ns(timestamp)
        if self._last_ns is not None and ns <= self._last_ns:
            ns = self._last_ns + 1  # a repeated (or earlier) timestamp: the clock still advances
        prices = caches["prices"]
        self.ensure_assets(prices)
        get = lambda name, asset: _finite((caches.get(name) or {}).get(asset))  # noqa: E731
        index = self.state.asset_index
        rows = []
        closes = caches.get("closes") or {}
        for asset, raw in prices.items():
            price = _finite(raw)
            if math.isnan(price):
                continue  # ml4t keeps the last finite mark
            # `prices` are the reference (marks, PRICE fills, rules); `closes`
            # the bar's close (CLOSE fills, BAR_CLOSE water marks), else the price.
            close = _finite(closes.get(asset, price))
            close = price if math.isnan(close) else close
            open_ = get("opens", asset)
            open_ = price if math.isnan(open_) else open_
            high, low = get("highs", asset), get("lows", asset)
            high = max(open_, price) if math.isnan(high) else high
            low = min(open_, price) if math.isnan(low) else low
            volume = get("volumes", asset)
            volume = 0.0 if math.isnan(volume) or volume < 0 else volume
            quotes = [get(name, asset) for name in ("vwaps", "bids", "asks", "mids", "bid_sizes", "ask_sizes")]
            quotes = [q if q > 0 or (i >= 4 and q == 0) else math.nan for i, q in enumerate(quotes)]
            rows.append((index[asset], open_, high, low, close, volume, *quotes, price))
        _stepped.step_to(self.state, ns, rows)
        self._last_ns = ns
        self.state.stream_times[ns] = timestamp

    def entry_ns(self, entry_time: Any) -> int:
        """The engine time of a seeded position's entry (None: the current step)."""
        if entry_time is None:
            return self._last_ns if self._last_ns is not None else 0
        ns = timestamp_ns(entry_time, "entry_time")
        self.state.stream_times.setdefault(ns, entry_time)
        return ns


class PositionBook(MutableMapping):
    """A standalone broker's `positions`: reads are the engine's open
    positions; `book[asset] = Position(...)` seeds one (cash untouched) and
    `del book[asset]` drops one without a trade, as ml4t's dict allows."""

    def __init__(self, broker: Any, stepper: Stepper) -> None:
        self._broker = broker
        self._stepper = stepper

    def __getitem__(self, asset: str) -> Any:
        position = self._broker.get_position(asset)
        if position is None:
            raise KeyError(asset)
        return position

    def __setitem__(self, asset: str, position: Any) -> None:
        from nautilus_like._model import Position

        if not isinstance(position, Position):
            raise TypeError(f"positions[{asset!r}] must be a nautilus_like Position, got {type(position).__name__}")
        if position.asset != asset:
            raise ValueError(f"positions[{asset!r}] given a Position in {position.asset!r}")
        self._stepper.ensure_assets([asset])
        entry = self._stepper.entry_ns(position.entry_time)
        _stepped.put_position(self._stepper.state, self._stepper.state.asset_index[asset], position, entry)

    def __delitem__(self, asset: str) -> None:
        index = self._stepper.state.asset_index.get(asset)
        if index is None or not _stepped.remove_position(self._stepper.state, index):
            raise KeyError(asset)

    def __iter__(self) -> Iterator[str]:
        return iter(self._broker.get_positions())

    def __len__(self) -> int:
        return len(self._broker.get_positions())

    def __repr__(self) -> str:
        return repr(self._broker.get_positions())
