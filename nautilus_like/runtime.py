"""`RuntimeServices`: run-scoped time services for one backtest (ml4t-backtest's `runtime`).

>>> runtime = RuntimeServices(start=datetime(2025, 1, 7, 21, tzinfo=UTC),
...                           known_at_cols={"high": "high_published"})
>>> Engine(feed, strategy, config, runtime=runtime).run()

What nautilus_like supports today:

- `start` / `end` (inclusive instants) and `execution_windows` (inclusive,
  ordered, non-overlapping `(open, close)` pairs): only feed events inside them
  are trading events. The strategy sees them, orders fill on them, the account
  is sampled on them; rows outside are left out of the run.
- `market.history(...)` / `market.current(...)` during a run: the raw
  observations up to the run's clock (warmup rows before `start` included),
  by observation count or elapsed duration, with explicit stale reads.
- `signal_known_at_cols` / `context_known_at_cols`: a signal or context field
  reaches the strategy (and `runtime.signals`) only once published; until
  then it reads as None. `signal_eligible_cols={field: <bool column>}`: a
  row whose flag is not True holds no value of the field (and no older value
  is carried over it in a forward-filled read).
- `known_at_cols={field: <datetime column>}`: a field counts only once
  published, in `runtime.market` reads; of the fields the engine trades on,
  open, high and low (close, volume and quotes raise NotImplementedError). At its own event an unpublished (or never published)
  open, high or low reads as the close, as ml4t reads a missing one: a stop
  cannot trigger on a high nobody knew yet. Which value the engine reads is
  decided in Rust (`nl_engine::published_values`).

Every other service of ml4t's `RuntimeServices` (calendar-grid history units,
prepared history, signal and context publication, auxiliary data,
instruments, futures lifecycle, the scheduler) raises `NotImplementedError`
naming the argument or attribute: nothing is silently ignored.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

__all__ = ["RuntimeServices"]

# The engine states whose runs have an observation service (their engines were
# built with RuntimeServices): models that read observed bar ranges need one.
_OBSERVING: weakref.WeakSet[Any] = weakref.WeakSet()

# Fields whose publication the engine honours, and what it reads until then.
_PUBLISHED_FIELDS = ("open", "high", "low")
# The fields the engine itself reads (the rest are read through runtime.market only).
_ENGINE_FIELDS = ("price", "open", "high", "low", "close", "volume", "vwap", "bid", "ask", "mid", "bid_size",
                  "ask_size")


def _not_supported(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"RuntimeServices({name}=...) is not supported by nautilus_like yet: leave it unset "
        f"(nautilus_like implements start, end, execution_windows, known_at_cols and the market view)")


class RuntimeServices:
    """Explicit run-scoped services, bound to one `Engine` run at a time.

    Bounds are inclusive actual event instants; feed rows outside them are
    not trading events (no callback, no fill, no account sample).
    """

    def __init__(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        execution_windows: Sequence[tuple[datetime, datetime]] | None = None,
        known_at_cols: dict[str, str] | None = None,
        history_provider: Any = None,
        history_sources: Mapping[str, Any] | None = None,
        history_assets: Mapping[str, Sequence[str]] | None = None,
        signal_known_at_cols: dict[str, str] | None = None,
        context_known_at_cols: dict[str, str] | None = None,
        signal_eligible_cols: dict[str, str] | None = None,
        auxiliary: Sequence[Any] = (),
        instruments: Any = None,
        instrument_feed_spec: Any = None,
        inactive_position_policy: str = "retain_last_mark",
        futures_lifecycle: Sequence[Any] = (),
    ) -> None:
        if start is not None and not isinstance(start, datetime):
            raise TypeError(f"start must be a datetime, got {start!r}")
        if end is not None and not isinstance(end, datetime):
            raise TypeError(f"end must be a datetime, got {end!r}")
        if start is not None and end is not None:
            try:
                later = start > end
            except TypeError as exc:
                raise ValueError(f"start ({start}) and end ({end}) timezones must be compatible") from exc
            if later:
                raise ValueError(f"start must not exceed end (start={start}, end={end})")
        if history_provider is not None and not callable(history_provider):
            raise TypeError(f"history_provider must be callable, got {history_provider!r}")
        if inactive_position_policy not in {"retain_last_mark", "require_flat"}:
            raise ValueError(f"inactive_position_policy must be retain_last_mark or require_flat, "
                             f"got {inactive_position_policy!r}")
        if instruments is None and (instrument_feed_spec is not None
                                    or inactive_position_policy != "retain_last_mark"):
            raise ValueError("Instrument metadata and policies require instruments")
        unsupported = {
            "history_provider": history_provider is not None,
            "history_sources": bool(history_sources),
            "history_assets": bool(history_assets),
            "auxiliary": bool(tuple(auxiliary)),
            "instruments": instruments is not None,
            "futures_lifecycle": bool(tuple(futures_lifecycle)),
        }
        for name, given in unsupported.items():
            if given:
                raise _not_supported(name)
        self._engine: Any = None
        self._market_view: Any = None
        self._signals_view: Any = None
        self._asof: Any = None
        self._inclusive = False
        self.start, self.end = start, end
        self.execution_windows = execution_windows
        known = dict(known_at_cols or {})
        for field, column in known.items():
            if not isinstance(field, str) or not isinstance(column, str):
                raise TypeError(f"known_at_cols maps field names to column names (str), got {field!r}: {column!r}")
            if field in _ENGINE_FIELDS and field not in _PUBLISHED_FIELDS:
                raise NotImplementedError(
                    f"known_at_cols[{field!r}]: of the fields the engine trades on, nautilus_like honours "
                    f"publication times of {', '.join(_PUBLISHED_FIELDS)} only (they read as the close until "
                    f"published); other columns' publication applies to runtime.market reads")
        self.known_at_cols = known
        self.history_provider = None
        self.history_sources: dict[str, Any] = {}
        self.history_assets: dict[str, tuple[str, ...]] = {}
        self.signal_known_at_cols = _field_columns("signal_known_at_cols", signal_known_at_cols)
        self.context_known_at_cols = _field_columns("context_known_at_cols", context_known_at_cols)
        self.signal_eligible_cols = _field_columns("signal_eligible_cols", signal_eligible_cols)
        self.instruments = None
        self.instrument_feed_spec = None
        self.inactive_position_policy = inactive_position_policy
        self.futures_lifecycle: tuple[Any, ...] = ()

    # ------------------------------------------------------------ declarations

    @property
    def execution_windows(self) -> tuple[tuple[datetime, datetime], ...] | None:
        """Inclusive event intervals; feed rows outside them are not trading events."""
        return self._execution_windows

    @execution_windows.setter
    def execution_windows(self, value: Sequence[tuple[datetime, datetime]] | None) -> None:
        if self._engine is not None:
            raise RuntimeError("Configure execution windows before an active run")
        try:
            windows = None if value is None else tuple(tuple(pair) for pair in value)
        except TypeError as exc:
            raise TypeError(f"Execution windows require pairs of datetimes, got {value!r}") from exc
        previous = None
        for pair in windows or ():
            if len(pair) != 2 or not all(isinstance(time, datetime) for time in pair):
                raise TypeError(f"Each execution window requires two datetimes, got {pair!r}")
            opened, closed = pair
            try:
                invalid = opened > closed or (previous is not None and opened <= previous)
            except TypeError as exc:
                raise ValueError(f"Execution window timezones must be compatible: {pair!r}") from exc
            if invalid:
                raise ValueError(f"Execution windows must be ordered, nonoverlapping intervals: {windows!r}")
            previous = closed
        self._execution_windows = windows
        self._window_starts = tuple(pair[0] for pair in windows or ())

    def _accepts(self, timestamp: Any) -> bool:
        """Whether an event at `timestamp` is inside start/end and an execution window."""
        if (self.start is not None and timestamp < self.start) or (self.end is not None and timestamp > self.end):
            return False
        if self._execution_windows is None:
            return True
        index = bisect_right(self._window_starts, timestamp) - 1
        return index >= 0 and timestamp <= self._execution_windows[index][1]

    @property
    def _bounded(self) -> bool:
        return self.start is not None or self.end is not None or self._execution_windows is not None

    # --------------------------------------------------- services not (yet) here

    def _require_run(self, what: str) -> None:
        if self._engine is None:
            raise RuntimeError(f"{what} services require an active run")

    @property
    def market(self) -> Any:
        """The active run's causal view of the raw observations (`history`, `current`;
        see `nautilus_like._runtime_market.MarketDataView`); only during a run."""
        if self._engine is None:
            raise RuntimeError("market services require an active run")
        if self._market_view is None:
            from nautilus_like._runtime_market import MarketDataView

            feed = self._engine.feed
            self._market_view = MarketDataView(self, feed._given_prices, feed._given_columns, self.known_at_cols)
        return self._market_view

    @property
    def signals(self) -> Any:
        """The active run's causal view of the signal rows (`history`, `current`), each
        field visible once published (`signal_known_at_cols`); no quote aliases."""
        if self._engine is None:
            raise RuntimeError("signal services require an active run")
        feed = self._engine.feed
        if feed.signals is None:
            raise ValueError("Signal queries require a signals frame")
        if self._signals_view is None:
            from nautilus_like._runtime_market import MarketDataView

            self._signals_view = MarketDataView(self, feed.signals, feed._given_columns, self.signal_known_at_cols,
                                                quote_fields=False, eligible_cols=self.signal_eligible_cols)
        return self._signals_view

    @property
    def assets(self) -> Any:
        self._require_run("instrument")
        raise NotImplementedError("RuntimeServices.assets (instruments) is not supported by nautilus_like yet")

    @property
    def scheduler(self) -> Any:
        raise NotImplementedError("RuntimeServices.scheduler (session callbacks) is not supported by "
                                  "nautilus_like yet")

    def history_source(self, source_id: str) -> Any:
        self._require_run("market")
        raise NotImplementedError("RuntimeServices.history_source is not supported by nautilus_like yet")

    def auxiliary(self, source_id: str) -> Any:
        self._require_run("auxiliary")
        raise NotImplementedError("RuntimeServices.auxiliary is not supported by nautilus_like yet")

    def auxiliary_scope(self, sources: Sequence[Any]) -> Any:
        raise NotImplementedError("RuntimeServices.auxiliary_scope is not supported by nautilus_like yet")

    # ----------------------------------------------------------------- binding

    def _check_feed(self, feed: Any) -> np.ndarray | None:
        """Validates the declarations against `feed` (before an engine exists) and
        returns the bars that are trading events (a bool per bar), or None for all."""
        semantics = _declared_semantics(feed)
        if semantics not in {"event_time", "bar_close"}:
            raise ValueError(
                "RuntimeServices requires declared timestamp_semantics='event_time' or 'bar_close' "
                f"(the feed declares {semantics!r}); prepare session labels as actual instants before "
                "binding physical runtime cutoffs")
        self._check_publication(feed)
        keep = None
        if self._bounded:
            try:
                keep = np.fromiter((self._accepts(t) for t in feed.timestamps), dtype=bool,
                                   count=len(feed.timestamps))
            except TypeError as exc:
                raise ValueError("RuntimeServices bounds and feed timestamps must have compatible "
                                 "timezones") from exc
            if not keep.any():
                raise ValueError("RuntimeServices window contains no feed events")
        return keep

    def _check_publication(self, feed: Any) -> None:
        """Refuses signal/context publication declarations the feed cannot honour."""
        ts, entity = feed._given_columns["timestamp_col"], feed._given_columns["entity_col"]
        if self.signal_known_at_cols or self.signal_eligible_cols:
            signals = feed.signals
            if signals is None:
                raise ValueError("Signal known-at declarations require a signals frame")
            for field, column in self.signal_eligible_cols.items():
                if field not in signals.columns or column not in signals.columns or \
                        signals.schema[column] != pl.Boolean:
                    raise ValueError(f"Feature eligibility requires existing fields and boolean eligibility "
                                     f"columns: {field!r} flagged by {column!r}")
            if entity in signals.columns and signals.schema[entity] != feed._given_prices.schema[entity]:
                raise ValueError(f"Signal and price stable asset key dtypes must match: signals {entity!r} is "
                                 f"{signals.schema[entity]}, prices {feed._given_prices.schema[entity]}")
            for field, column in self.signal_known_at_cols.items():
                if field not in signals.columns:
                    raise ValueError(f"Known-at declaration has no input field {field!r} in the signals")
                if column not in signals.columns or not isinstance(signals.schema[column], pl.Datetime):
                    raise ValueError(f"Known-at column {column!r} must contain datetimes in the signals")
        if self.context_known_at_cols:
            context = feed._contexts_source
            if context is None:
                raise ValueError("Context known-at declarations require a context frame")
            if context["timestamp"].is_duplicated().any():
                raise ValueError("Context publication requires unique timestamps")
            for field, column in self.context_known_at_cols.items():
                column = "timestamp" if column == ts else column
                if (field not in context.columns or column not in context.columns
                        or not isinstance(context.schema[column], pl.Datetime)):
                    raise ValueError(f"Context known-at fields require existing fields and datetime publication "
                                     f"columns: {field!r} published in {column!r}")

    def _published_columns(self, feed: Any) -> dict[str, np.ndarray]:
        """Per published field, each price row's publication time in ns (or
        `NEVER_PUBLISHED`), in the feed's row order."""
        engine_read = {f: c for f, c in self.known_at_cols.items() if f in _PUBLISHED_FIELDS}
        for field, column in self.known_at_cols.items():
            if field not in engine_read:
                feed._publication_times({field: column})   # validates the columns
        return feed._publication_times(engine_read) if engine_read else {}

    def _bind(self, engine: Any, timestamps: list[Any]) -> Any:
        """Binds the run of `engine` whose events are `timestamps`; returns the
        clock the driver calls with each event's index."""
        if self._engine is not None:
            raise RuntimeError("RuntimeServices already belongs to an active run")
        self._engine, self._market_view, self._signals_view = engine, None, None
        # Before the first event the views read what was known just before it.
        self._asof = self.start if self.start is not None else timestamps[0]
        self._inclusive = False

        def clock(t: int) -> None:
            self._asof, self._inclusive = timestamps[t], True

        return clock

    def _unbind(self) -> None:
        self._engine, self._market_view, self._signals_view = None, None, None

    def __repr__(self) -> str:
        return (f"RuntimeServices(start={self.start!r}, end={self.end!r}, "
                f"execution_windows={self._execution_windows!r}, known_at_cols={self.known_at_cols!r})")


def _declared_semantics(feed: Any) -> str | None:
    spec = getattr(feed, "feed_spec", None)
    value = spec.get("timestamp_semantics") if isinstance(spec, Mapping) else getattr(
        spec, "timestamp_semantics", None)
    return getattr(value, "value", value)


def _publication_ns(frame: pl.DataFrame, column: str, observed: pl.Series) -> np.ndarray:
    """`frame[column]` (datetimes) as ns since the epoch, null -> NEVER_PUBLISHED."""
    from nautilus_like import _rust

    dtype = frame.schema[column]
    if not isinstance(dtype, pl.Datetime):
        raise ValueError(f"Known-at column {column!r} must contain datetimes, got {dtype}")
    if isinstance(observed.dtype, pl.Datetime) and (dtype.time_zone is None) != (observed.dtype.time_zone is None):
        raise ValueError(f"Known-at column {column!r} ({dtype}) and observation timestamps "
                         f"({observed.dtype}) timezones must be compatible")
    ns = frame[column].cast(pl.Datetime("ns", dtype.time_zone)).to_physical()
    return ns.fill_null(_rust.NEVER_PUBLISHED).cast(pl.Int64).to_numpy()


def _observe(state: Any) -> None:
    """Marks an engine state as having an observation service (its run's RuntimeServices)."""
    _OBSERVING.add(state)


def require_observation(state: Any, model: Any) -> None:
    """Refuses a slippage model that reads observed bar ranges (`requires_observed_ohlc`,
    itself or one of its routes) for an engine without an observation service."""
    routed = [model, getattr(model, "default", None), *getattr(model, "models", {}).values()]
    if any(getattr(m, "requires_observed_ohlc", False) for m in routed) and state not in _OBSERVING:
        raise ValueError(f"This slippage model requires an active raw observation service: "
                         f"{type(model).__name__} reads observed bar ranges; build the Engine with "
                         f"runtime=RuntimeServices(...) (or pass the model to Engine(slippage_model=...))")


def _field_columns(name: str, value: Mapping[str, str] | None) -> dict[str, str]:
    out = dict(value or {})
    for field, column in out.items():
        if not isinstance(field, str) or not isinstance(column, str) or not field or not column:
            raise TypeError(f"{name} maps field names to column names (nonempty str), got {field!r}: {column!r}")
    return out
