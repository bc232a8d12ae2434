"""`RuntimeServices.market`: read-only causal views of the raw price observations.

A view reads the prices as given (rows before `start` included: warmup
history), only up to the run's clock: the current event, inclusive, once it
is being processed, and before the first event, exclusive of it. A field with
a publication column (`known_at_cols`) is visible once published. Reads never
change what the engine trades on.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import timedelta
from math import isfinite
from typing import Any

import polars as pl

_QUOTE_FIELDS = ("open", "high", "low", "close", "volume", "vwap", "bid", "ask", "mid", "bid_size", "ask_size")
_PRICE_FIELDS = ("price", "open", "high", "low", "close", "vwap", "bid", "ask", "mid")
_SIZE_FIELDS = ("volume", "bid_size", "ask_size")


class MarketDataView:
    """The active run's raw observations (`runtime.market`): `history` and `current`."""

    def __init__(self, runtime: Any, frame: pl.DataFrame, columns: Mapping[str, Any],
                 known_at_cols: Mapping[str, str], *, quote_fields: bool = True,
                 eligible_cols: Mapping[str, str] | None = None) -> None:
        self._runtime = runtime
        self._frame = frame
        self._ts = columns["timestamp_col"]
        self._entity = columns["entity_col"]
        self._columns = set(frame.columns)
        # Signal rows have no quote roles: a feature named "close" is that feature.
        self._roles = {f: columns.get(f"{f}_col") or f for f in _QUOTE_FIELDS} if quote_fields else {}
        if quote_fields:
            price = columns.get("price_col") or self._roles["close"]
            self._roles["price"] = price if price in self._columns else self._roles["close"]
        self._known_at = dict(known_at_cols)
        # field -> boolean column: a published row whose flag is not True holds no value.
        self._eligible = dict(eligible_cols or {})
        self._rows: dict[Any, dict[Any, dict[str, Any]]] = {}
        for row in frame.iter_rows(named=True):
            asset, timestamp = row[self._entity], row[self._ts]
            self._rows.setdefault(asset, {})[timestamp] = row
        self._times = {asset: sorted(rows) for asset, rows in self._rows.items()}
        self._timestamps = sorted({t for times in self._times.values() for t in times})

    # ---------------------------------------------------------------- clock

    def _check_active(self) -> None:
        runtime = self._runtime
        if runtime._engine is None or (runtime._market_view is not self and runtime._signals_view is not self):
            raise RuntimeError("market services require an active run")

    @property
    def _asof(self) -> Any:
        return self._runtime._asof

    @property
    def _inclusive(self) -> bool:
        return self._runtime._inclusive

    def _column(self, field: str) -> str:
        return self._roles.get(field, field)

    def _published(self, field: str, row: dict[str, Any]) -> bool:
        declared = self._known_at.get(field) or next(
            (c for f, c in self._known_at.items() if self._column(f) == self._column(field)), None)
        known = row.get(declared) if declared else row[self._ts]
        if known is None or (row[self._ts] == self._asof and not self._inclusive):
            return False
        return known <= self._asof

    def _ineligible(self, field: str, row: dict[str, Any]) -> bool:
        column = self._eligible.get(field)
        return column is not None and self._published(field, row) and row.get(column) is not True

    # ---------------------------------------------------------------- reads

    def history(self, assets: Sequence[str], fields: Sequence[str], *, bar_count: int | None = None,
                unit: Any = "observation", duration: timedelta | None = None,
                forward_fill: bool | Mapping[str, bool] = False, max_age: timedelta | None = None,
                view: str = "raw", finite_prices_only: bool = False,
                session_close_offset: timedelta | None = None) -> pl.DataFrame:
        """The observations of the last `bar_count` observed instants (`unit="observation"`)
        or of `(clock - duration, clock]` (`unit="elapsed"`), one row per instant and asset.

        >>> runtime.market.history(["AAPL"], ["close"], bar_count=3)   # inside on_data
        """
        if view == "prepared":
            raise ValueError("view='prepared' requires a causal history_provider")
        if view != "raw":
            raise ValueError(f"history view must be raw or prepared, got {view!r}")
        self._check_active()
        unit = getattr(unit, "value", unit)
        if unit not in {"observation", "elapsed", "expected_bar", "session"}:
            raise ValueError(f"unit must be observation, expected_bar, session or elapsed, got {unit!r}")
        if session_close_offset is not None and unit != "expected_bar":
            raise ValueError("session_close_offset requires expected_bar daily history")
        if unit == "elapsed":
            if bar_count is not None or not isinstance(duration, timedelta) or duration <= timedelta(0):
                raise ValueError("elapsed history requires a positive duration and no bar_count")
        elif duration is not None or isinstance(bar_count, bool) or not isinstance(bar_count, int) or bar_count <= 0:
            raise ValueError(f"bar_count must be a positive integer, without duration (got bar_count={bar_count!r}, "
                             f"duration={duration!r})")
        if unit in {"expected_bar", "session"}:
            if getattr(self._runtime._engine.config, "calendar", None) is None:
                raise ValueError(f"history(unit={unit!r}) counts exchange sessions or bars of a calendar grid, "
                                 f"but the run has calendar=None (use unit='observation' or 'elapsed')")
            raise NotImplementedError(f"history(unit={unit!r}) needs exchange calendar grids, which nautilus_like's "
                                      f"RuntimeServices does not support yet (use unit='observation' or 'elapsed')")
        end = bisect_right(self._timestamps, self._asof)
        if not self._inclusive and end and self._timestamps[end - 1] == self._asof:
            end -= 1
        if unit == "elapsed":
            times = self._timestamps[bisect_right(self._timestamps, self._asof - duration, hi=end):end]
        else:
            times = self._timestamps[max(0, end - bar_count):end]
        return self._query(assets, fields, times, forward_fill=forward_fill, max_age=max_age,
                           finite_prices_only=finite_prices_only)

    def current(self, assets: Sequence[str], fields: Sequence[str], *,
                forward_fill: bool | Mapping[str, bool] = False, max_age: timedelta | None = None,
                view: str = "raw", finite_prices_only: bool = False) -> pl.DataFrame:
        """The values at the clock's instant; a stale value only when `forward_fill` asks for one."""
        if view == "prepared":
            raise ValueError("view='prepared' requires a causal history_provider")
        if view != "raw":
            raise ValueError(f"current view must be raw or prepared, got {view!r}")
        self._check_active()
        stale = forward_fill is True or (isinstance(forward_fill, Mapping)
                                         and any(v is True for v in forward_fill.values()))
        times = [self._asof] if self._inclusive or stale else []
        return self._query(assets, fields, times, forward_fill=forward_fill, max_age=max_age,
                           finite_prices_only=finite_prices_only)

    def _fill_fields(self, fields: Sequence[str], forward_fill: Any) -> list[str]:
        if isinstance(forward_fill, bool):
            return list(fields) if forward_fill else []
        if isinstance(forward_fill, Mapping):
            if set(forward_fill) - set(fields) or any(not isinstance(v, bool) for v in forward_fill.values()):
                raise ValueError("forward_fill must map requested field names to booleans")
            return [f for f in fields if forward_fill.get(f, False)]
        raise ValueError(f"forward_fill must be Boolean or a per-field mapping, got {forward_fill!r}")

    def _query(self, assets: Sequence[str], fields: Sequence[str], times: list[Any], *, forward_fill: Any,
               max_age: timedelta | None, finite_prices_only: bool) -> pl.DataFrame:
        if not isinstance(finite_prices_only, bool):
            raise TypeError(f"finite_prices_only must be Boolean, got {finite_prices_only!r}")
        if isinstance(assets, str) or isinstance(fields, str) or not assets or not fields:
            raise ValueError("assets and fields must be nonempty sequences")
        if len(set(assets)) != len(assets) or len(set(fields)) != len(fields):
            raise ValueError("assets and fields cannot contain duplicates")
        if set(fields) & {"timestamp", "asset"}:
            raise ValueError("Requested fields collide with observation keys")
        if max_age is not None and (not isinstance(max_age, timedelta) or max_age < timedelta(0)):
            raise ValueError(f"max_age must be a nonnegative timedelta, got {max_age!r}")
        fill = self._fill_fields(fields, forward_fill)
        if {f"{f}_observed_at" for f in fill} & set(fields):
            raise ValueError("Forward-fill provenance columns collide with requested payload fields")
        sizes = {self._column(f) for f in _SIZE_FIELDS} if self._roles else set()
        for field in fields:
            if self._column(field) not in self._columns and field not in self._roles:
                raise ValueError(f"Unknown market field {field!r}")
            if field in fill and self._column(field) in sizes:
                raise ValueError(f"Forward filling {field!r} would invent tradable volume")
        prices = {self._column(f) for f in _PRICE_FIELDS} if finite_prices_only and self._roles else set()

        def readable(row: dict[str, Any] | None, field: str) -> bool:
            if row is None or not self._published(field, row) or self._ineligible(field, row):
                return False
            value = row.get(self._column(field))
            return value is not None and not (self._column(field) in prices and not isfinite(value))

        records = []
        for timestamp in times:
            for asset in assets:
                row = self._rows.get(asset, {}).get(timestamp)
                record: dict[str, Any] = {"timestamp": timestamp, "asset": asset}
                for field in fields:
                    found, observed = (row, timestamp) if readable(row, field) else (None, timestamp)
                    # A known-ineligible value is no value: nothing older stands in for it.
                    if found is None and field in fill and not (row is not None and self._ineligible(field, row)):
                        past = self._times.get(asset, [])
                        for index in range(bisect_right(past, timestamp) - 1, -1, -1):
                            candidate = self._rows[asset][past[index]]
                            if self._ineligible(field, candidate):
                                break
                            if readable(candidate, field):
                                found, observed = candidate, past[index]
                                break
                    expired = max_age is not None and found is not None and timestamp - observed > max_age
                    record[field] = found.get(self._column(field)) if found is not None and not expired else None
                    if field in fill:
                        record[f"{field}_observed_at"] = observed if found is not None else None
                records.append(record)
        schema = self._frame.schema
        out = {"timestamp": schema[self._ts], "asset": schema[self._entity]}
        out.update({f: schema.get(self._column(f), pl.Float64) for f in fields})
        out.update({f"{f}_observed_at": schema[self._ts] for f in fill})
        return pl.DataFrame(records, schema=out)

    # ------------------------------------------------------------- recency

    def _past_rows(self, asset: str):
        """`(instant, row)` of `asset` known at the clock, latest first."""
        self._check_active()
        times = self._times.get(asset, [])
        end = bisect_right(times, self._asof)
        if not self._inclusive and end and times[end - 1] == self._asof:
            end -= 1
        for index in range(end - 1, -1, -1):
            yield times[index], self._rows[asset][times[index]]

    def last_observed(self, asset: str, field: str = "price") -> Any:
        """The instant of the last known non-null `field` observation of `asset` (None: none yet)."""
        for timestamp, row in self._past_rows(asset):
            if self._published(field, row) and row.get(self._column(field)) is not None:
                return timestamp
        return None

    def last_traded(self, asset: str) -> Any:
        """The instant of the last known bar with a finite price and positive observed volume."""
        if self._column("volume") not in self._columns:
            raise ValueError("last_traded requires observed volume; use last_observed for quotes")
        for timestamp, row in self._past_rows(asset):
            price, volume = row.get(self._column("price")), row.get(self._column("volume"))
            if (self._published("price", row) and self._published("volume", row) and price is not None
                    and isfinite(price) and volume is not None and isfinite(volume) and volume > 0):
                return timestamp
        return None

    def can_trade(self, asset: str, *, require_volume: bool = False) -> bool:
        """Whether `asset` has a known positive price now (and, if asked, positive observed
        volume): data eligibility only, never a stale quote, not buying power."""
        fields = ["price", "volume"] if require_volume else ["price"]
        frame = self.current([asset], fields)
        if frame.is_empty():
            return False
        price = frame["price"][0]
        if price is None or not isfinite(price) or price <= 0:
            return False
        if require_volume:
            volume = frame["volume"][0]
            return volume is not None and isfinite(volume) and volume > 0
        return True

    def observation_age(self, asset: str, field: str = "price") -> timedelta | None:
        """Time since the last known non-null `field` observation (None without one)."""
        if self._column(field) not in self._columns and field not in self._roles:
            raise ValueError(f"Unknown market field {field!r}")
        observed = self.last_observed(asset, field)
        return None if observed is None else self._asof - observed

    def is_stale(self, asset: str, field: str = "price", *, max_age: timedelta = timedelta(0)) -> bool:
        """Whether the last known `field` observation is older than `max_age` (False without one)."""
        if not isinstance(max_age, timedelta) or max_age < timedelta(0):
            raise ValueError(f"max_age must be a nonnegative timedelta, got {max_age!r}")
        age = self.observation_age(asset, field)
        return age is not None and age > max_age
