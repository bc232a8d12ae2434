"""External capital flows: deposits, withdrawals and target account values on
feed timestamps, and returns that do not count them as investment gains.

A flow table is a Polars frame with `timestamp`, `event_id` (unique), `kind`
("delta": cash added, negative withdraws; "target": the account value after
the flow) and `value`, optionally `known_at` (not after `timestamp`). Each
timestamp must be one of the feed's. The engine applies a timestamp's flows
as its bar opens, after the marks and before any fill, at the account value
with every held position at its current mark (ml4t-backtest 0.2.0's rules):

>>> flows = pl.DataFrame({"timestamp": [datetime(2025, 1, 3)], "event_id": ["top-up"],
...                       "kind": ["delta"], "value": [10_000.0]})
>>> result = Engine(DataFeed(prices_df=prices, capital_flows=flows), strategy).run()
>>> result.to_capital_flows_dataframe()            # cash_delta, nav_before, nav_after
>>> result.to_returns_series()                      # the deposit is no return

Returns chain the valuation ratios between flows (time-weighted): a flow
ends one holding period at `nav_before` and starts the next at `nav_after`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

__all__ = ["CapitalChange", "CapitalEvent", "CapitalSchedule", "capital_schedule", "flow_adjusted_returns",
           "index_capital_events"]

_KIND_CODES = {"delta": 0, "target": 1}


@dataclass(frozen=True)
class CapitalEvent:
    """One scheduled flow (validated)."""

    timestamp: datetime
    event_id: str
    kind: str
    value: float


@dataclass(frozen=True)
class CapitalChange:
    """One applied flow: the cash it moved and the account value around it."""

    timestamp: datetime
    event_id: str
    kind: str
    value: float
    cash_delta: float
    nav_before: float
    nav_after: float


@dataclass(frozen=True)
class CapitalSchedule:
    """A validated flow table in feed order: the engine's columns (bar,
    kind code, value) and each flow's identity."""

    bars: np.ndarray
    kinds: np.ndarray
    values: np.ndarray
    event_ids: list[str]
    kind_names: list[str]

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.bars, self.kinds, self.values


def bars_of(frame: pl.DataFrame, timeline: pl.Series, what: str) -> np.ndarray:
    """The feed bar of each row's `timestamp` (`what` names the input in errors)."""
    ts = frame.schema["timestamp"]
    if not isinstance(ts, pl.Datetime):
        raise ValueError(f"{what} timestamp must be a datetime column, got {ts}")
    line = timeline.dtype
    if not isinstance(line, pl.Datetime):
        raise ValueError(f"{what} need a feed with datetime timestamps, the feed's are {line}")
    if frame["timestamp"].null_count():
        raise ValueError(f"{what} timestamp must not be null")
    stamps = frame["timestamp"]
    if (ts.time_zone is None) != (line.time_zone is None):
        # A naive and an aware instant never name the same event.
        first = stamps[0]
        raise ValueError(f"{what} timestamp {first} must match a feed event timestamp (the feed's time zone is "
                         f"{line.time_zone}, the {what}' {ts.time_zone})")
    if ts.time_zone is not None and ts.time_zone != line.time_zone:
        stamps = stamps.dt.convert_time_zone(line.time_zone)
    stamps = stamps.cast(line)
    index = pl.DataFrame({"timestamp": timeline}).with_row_index("__bar")
    joined = pl.DataFrame({"timestamp": stamps}).join(index, on="timestamp", how="left", maintain_order="left")
    missing = joined.filter(pl.col("__bar").is_null())
    if missing.height:
        raise ValueError(f"{what} timestamp {missing['timestamp'][0]} must match a feed event timestamp")
    return joined["__bar"].cast(pl.UInt32).to_numpy()


def capital_schedule(frame: Any, timeline: pl.Series) -> CapitalSchedule | None:
    """Validates a flow table against the feed's timeline (None: no flows).
    Raises ValueError naming the first bad row before anything runs."""
    if frame is None:
        return None
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"capital_flows must be a Polars DataFrame, got {type(frame).__name__}")
    required = ["timestamp", "event_id", "kind", "value"]
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise ValueError(f"capital_flows requires timestamp, event_id, kind and value columns; missing {absent}")
    if not frame.height:
        return None
    frame = frame.sort("timestamp", maintain_order=True)
    bars = bars_of(frame, timeline, "capital flow")
    seen: set[str] = set()
    event_ids, kinds, values = [], [], []
    known = frame["known_at"].to_list() if "known_at" in frame.columns else None
    for i, row in enumerate(frame.select("timestamp", "event_id", "kind", "value").iter_rows()):
        timestamp, event_id, kind, value = row
        if not isinstance(event_id, str) or not event_id or event_id in seen:
            raise ValueError(f"capital flow event_id must be nonempty and unique, got {event_id!r}")
        seen.add(event_id)
        if kind not in _KIND_CODES:
            raise ValueError(f"capital flow kind must be 'delta' or 'target', got {kind!r} (event {event_id!r})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"capital flow value must be finite, got {value!r} (event {event_id!r})")
        if kind == "target" and value < 0:
            raise ValueError(f"target capital must be nonnegative, got {value!r} (event {event_id!r})")
        if known is not None and known[i] is not None:
            if not isinstance(known[i], datetime):
                raise ValueError(f"capital flow known_at must be a datetime, got {known[i]!r} (event {event_id!r})")
            try:
                future = known[i] > timestamp
            except TypeError as exc:
                raise ValueError(f"capital flow known_at and timestamp need compatible time zones "
                                 f"(event {event_id!r})") from exc
            if future:
                raise ValueError(f"capital flow {event_id!r} at {timestamp} cannot be applied before its "
                                 f"known_at {known[i]}")
        event_ids.append(event_id)
        kinds.append(kind)
        values.append(float(value))
    return CapitalSchedule(bars=bars, kinds=np.array([_KIND_CODES[k] for k in kinds], dtype=np.uint32),
                           values=np.array(values, dtype=np.float64), event_ids=event_ids, kind_names=kinds)


def index_capital_events(frame: pl.DataFrame | None, feed_timestamps: list[datetime]
                         ) -> dict[datetime, list[CapitalEvent]]:
    """ml4t's helper: the validated flows of `frame` by feed timestamp."""
    if frame is None:
        return {}
    timeline = pl.Series("timestamp", list(feed_timestamps))
    schedule = capital_schedule(frame, timeline)
    out: dict[datetime, list[CapitalEvent]] = {}
    if schedule is None:
        return out
    for bar, event_id, kind, value in zip(schedule.bars.tolist(), schedule.event_ids, schedule.kind_names,
                                          schedule.values.tolist()):
        timestamp = feed_timestamps[bar]
        out.setdefault(timestamp, []).append(CapitalEvent(timestamp, event_id, kind, value))
    return out


def _ratio(end: float, start: float) -> float:
    if start == 0 and end == 0:
        return 1.0
    if start <= 0 or not math.isfinite(end / start):
        # (ml4t-backtest's words: a run whose valuation turns nonpositive
        # around a flow has no exact investment return.)
        raise ValueError("exact investment return requires a positive starting valuation")
    return end / start


def chained_returns(values: list[float], initial: float, flows: list[tuple[int, float, float]]) -> list[float]:
    """Per-observation returns of `values` (starting from `initial`), where
    `flows` are `(observation index, nav_before, nav_after)` in order: the
    period before a flow ends at its `nav_before`, the next starts at its
    `nav_after`, so external cash earns no return."""
    returns = []
    previous = initial
    k = 0
    for i, value in enumerate(values):
        factor = 1.0
        while k < len(flows) and flows[k][0] == i:
            factor *= _ratio(flows[k][1], previous)
            previous = flows[k][2]
            k += 1
        factor *= _ratio(value, previous)
        returns.append(factor - 1.0)
        previous = value
    return returns


def flow_adjusted_returns(equity_curve: list[tuple[datetime, float]], initial_capital: float,
                          changes: list[CapitalChange]) -> list[float]:
    """Returns of `(timestamp, equity)` rows with external flows taken out
    (see `chained_returns`); every change must fall on a row's timestamp."""
    position = {timestamp: i for i, (timestamp, _) in enumerate(equity_curve)}
    flows = []
    for change in changes:
        i = position.get(change.timestamp)
        if i is None:
            raise ValueError(f"capital change {change.event_id!r} at {change.timestamp} has no account observation")
        flows.append((i, change.nav_before, change.nav_after))
    flows.sort(key=lambda f: f[0])
    return chained_returns([v for _, v in equity_curve], initial_capital, flows)
