"""`DataFeed`: long-format prices (+ signals, + context) turned into columns once.

One row per (timestamp, asset). The asset column is detected from `symbol`,
`asset`, `product`, `ticker` (or given as `entity_col`). Only the timestamp,
asset and `close` (or `price`) columns are required: missing or null
open/high/low take the close, a missing or null volume is 0.

>>> feed = DataFeed(prices_df=prices, signals_df=signals)   # polars, pandas or lazy
>>> feed = DataFeed(prices_path="prices.parquet")

Other column names are given as arguments (`timestamp_col`, `price_col`,
`open_col`, ..., `volume_col`) or by a feed spec: ml4t-specs' `FeedSpec`, a
mapping or any object with such fields (`feed_spec=` or `contract=`);
arguments win over the spec:

>>> DataFeed(prices_df=ticks, feed_spec={"time_col": "t", "symbol_col": "ticker", "close_col": "last"})

The price columns are validated once, in Rust (finite and > 0; volume >= 0),
and handed to the engine without copying. Errors name the column, the asset
and the timestamp.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl

from nautilus_like import _rust
from nautilus_like.time_semantics import UNSET_CALENDAR

__all__ = ["DataFeed"]

ENTITY_CANDIDATES = ("symbol", "asset", "product", "ticker")
PRICE_COLUMNS = ("open", "high", "low", "close")
# The reference price column (ml4t's `price_col`) when it is not the close.
REFERENCE_PRICE = "__nl_price"
_FRAME_TYPES = "a polars DataFrame or LazyFrame, a pandas DataFrame, or a Parquet path"


def _load(what: str, df: Any, path: str | Path | None) -> pl.DataFrame | None:
    if df is not None and path is not None:
        raise ValueError(f"Pass either {what}_path or {what}_df, not both")
    if path is not None:
        return pl.read_parquet(path)
    if df is None:
        return None
    if isinstance(df, pl.LazyFrame):
        return df.collect()
    if isinstance(df, pl.DataFrame):
        return df
    if type(df).__module__.startswith("pandas"):
        frame = df.reset_index() if df.index.name is not None or any(df.index.names) else df
        return pl.from_pandas(frame)
    raise TypeError(f"{what}_df must be {_FRAME_TYPES}, got {type(df).__name__}")


def _detect_entity(columns: list[str], entity_col: str | None, what: str) -> str:
    if entity_col is not None:
        if entity_col not in columns:
            raise ValueError(f"entity_col={entity_col!r} not found in {what} columns {columns}")
        return entity_col
    for name in ENTITY_CANDIDATES:
        if name in columns:
            return name
    raise ValueError(
        f"Cannot detect entity column (the asset column) of {what}. Expected one of {ENTITY_CANDIDATES}, "
        f"got columns {columns}")


# A feed spec's column fields and the other names they go by (ml4t-specs'
# FeedSpec, a mapping, or any object with such attributes).
_SPEC_FIELDS = {
    "timestamp_col": ("timestamp_col", "time_col", "datetime_col"),
    "entity_col": ("entity_col", "symbol_col", "group_col", "ticker_col", "asset_col"),
    "price_col": ("price_col",),
    "open_col": ("open_col",),
    "high_col": ("high_col",),
    "low_col": ("low_col",),
    "close_col": ("close_col",),
    "volume_col": ("volume_col",),
    "vwap_col": ("vwap_col",),
    "bid_col": ("bid_col",),
    "ask_col": ("ask_col",),
    "mid_col": ("mid_col",),
    "bid_size_col": ("bid_size_col",),
    "ask_size_col": ("ask_size_col",),
}
_COLUMN_DEFAULTS = {"timestamp_col": "timestamp", "price_col": "close", "open_col": "open", "high_col": "high",
                    "low_col": "low", "close_col": "close", "volume_col": "volume"}


def spec_columns(spec: Any) -> dict[str, Any]:
    """The column names a feed spec declares (only those it declares): from a
    mapping's keys or an object's attributes (its `metadata` first, when it has
    one). A spec naming only `price_col` names the close column too.

    >>> spec_columns({"time_col": "t", "price_col": "last"})
    {'timestamp_col': 't', 'price_col': 'last', 'close_col': 'last'}
    """
    if spec is None:
        return {}
    seen: set[int] = set()
    while not isinstance(spec, Mapping) and getattr(spec, "metadata", None) is not None:
        if id(spec) in seen:
            raise ValueError("feed_spec metadata cannot contain reference cycles")
        seen.add(id(spec))
        spec = spec.metadata
    if isinstance(spec, Mapping):
        get = lambda name: spec.get(name)  # noqa: E731
    else:
        get = lambda name: getattr(spec, name, None)  # noqa: E731
    out: dict[str, Any] = {}
    for field, names in _SPEC_FIELDS.items():
        for name in names:
            value = get(name)
            if value is not None:
                if field == "entity_col" and not isinstance(value, str):
                    values = [str(v) for v in value]
                    if len(values) != 1:
                        raise ValueError(f"feed_spec entity_col must name one column, got {value!r}")
                    value = values[0]
                elif not isinstance(value, str):
                    raise TypeError(f"feed_spec {field} must be a column name (str), got {value!r}")
                out[field] = value
                break
    # ml4t-specs' FeedSpec declares price_col="close" by default: no choice.
    if out.get("price_col") == "close":
        del out["price_col"]
    if "price_col" in out and "close_col" not in out:
        out["close_col"] = out["price_col"]
    return out


def _check_null_keys(df: pl.DataFrame, what: str, keys: list[str]) -> None:
    for key in keys:
        nulls = df[key].null_count()
        if nulls:
            raise ValueError(f"{what} column {key!r} has {nulls} null value(s); keys cannot be null")


def _check_unique_codes(codes: np.ndarray, what: str, describe) -> np.ndarray:
    """Refuses repeated integer keys; returns the argsort of `codes` (reused to match rows)."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    dup = np.flatnonzero(ordered[1:] == ordered[:-1])
    if dup.size:
        raise ValueError(f"duplicate {what} row for ({describe(order[dup[0] + 1])}): keys must be unique")
    return order


def _signal_column(series: pl.Series, has_signals: pl.Series) -> np.ndarray | list:
    """A NumPy array for null-free numeric/bool columns (read without boxing),
    else a list that keeps Python values (strings, None for nulls)."""
    present = series.filter(has_signals)
    dtype = series.dtype
    if present.null_count() == 0:
        if dtype.is_float():
            return series.fill_null(0.0).cast(pl.Float64).to_numpy()
        if dtype.is_integer() and dtype != pl.UInt64:
            return series.fill_null(0).cast(pl.Int64).to_numpy()
        if dtype == pl.Boolean:
            return series.fill_null(False).to_numpy()
    return series.to_list()


class DataFeed:
    """Market data for a backtest (ml4t-backtest's `DataFeed` arguments)."""

    def __init__(
        self,
        prices_path: str | Path | None = None,
        signals_path: str | Path | None = None,
        context_path: str | Path | None = None,
        prices_df: Any = None,
        signals_df: Any = None,
        context_df: Any = None,
        *,
        feed_spec: Any = None,
        contract: Any = None,
        entity_col: str | None = None,
        timestamp_col: str | None = None,
        price_col: str | None = None,
        open_col: str | None = None,
        high_col: str | None = None,
        low_col: str | None = None,
        close_col: str | None = None,
        volume_col: str | None = None,
        vwap_col: str | None = None,
        bid_col: str | None = None,
        ask_col: str | None = None,
        mid_col: str | None = None,
        bid_size_col: str | None = None,
        ask_size_col: str | None = None,
        capital_flows: pl.DataFrame | None = None,
        calendar: Any = UNSET_CALENDAR,
    ) -> None:
        if capital_flows is not None and not isinstance(capital_flows, pl.DataFrame):
            raise TypeError(f"capital_flows must be a Polars DataFrame, got {type(capital_flows).__name__}")
        # External deposits and withdrawals (nautilus_like.capital); the engine
        # validates them against the timeline.
        self.capital_flows: pl.DataFrame | None = None if capital_flows is None else capital_flows.clone()
        if feed_spec is not None and contract is not None:
            raise ValueError("Pass either feed_spec or contract, not both")
        # The exchange calendar the data declares (ml4t's `DataFeed(calendar=)`):
        # a config with an unset calendar inherits it; None declares none.
        self._declared_calendar = calendar
        prices = _load("prices", prices_df, prices_path)
        if prices is None:
            raise ValueError("prices_path or prices_df required")
        signals = _load("signals", signals_df, signals_path)
        # The signal frame as given (ml4t's `feed.signals`; a result's `predictions`).
        self.signals: pl.DataFrame | None = signals
        context = _load("context", context_df, context_path)
        # Column names: explicit arguments, else the spec's, else the plain names.
        declared = spec_columns(feed_spec if feed_spec is not None else contract)
        explicit = {"entity_col": entity_col, "timestamp_col": timestamp_col, "price_col": price_col,
                    "open_col": open_col, "high_col": high_col, "low_col": low_col, "close_col": close_col,
                    "volume_col": volume_col, "vwap_col": vwap_col, "bid_col": bid_col, "ask_col": ask_col,
                    "mid_col": mid_col, "bid_size_col": bid_size_col, "ask_size_col": ask_size_col}
        for name, value in explicit.items():
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a column name (str), got {value!r}")
        columns = {**_COLUMN_DEFAULTS, **declared, **{k: v for k, v in explicit.items() if v is not None}}
        # A price column other than "close" must exist; "close" falls back to close_col.
        price_is_chosen = columns["price_col"] != "close"
        ts = columns["timestamp_col"]
        for what, frame in (("prices", prices), ("signals", signals), ("context", context)):
            if frame is not None and ts not in frame.columns:
                raise ValueError(f"timestamp_col={ts!r} not found in {what} columns {frame.columns}")
        asset = columns["entity_col"] = _detect_entity(prices.columns, columns.get("entity_col"), "prices")
        self.feed_spec = self._resolved_spec(feed_spec if feed_spec is not None else contract, columns)
        self.contract = self.feed_spec
        # The prices as given and their column roles: RuntimeServices reads
        # publication-time columns the engine itself does not keep.
        self._given_prices, self._given_columns = prices, dict(columns)
        prices = self._select_price_columns(prices, columns, price_is_chosen)
        vwap_col, bid_col, ask_col, mid_col, bid_size_col, ask_size_col = (
            columns.get(f"{f}_col") for f in ("vwap", "bid", "ask", "mid", "bid_size", "ask_size"))
        # Volume limits need real volumes (a missing column reads as 0).
        self._has_volume = "volume" in prices.columns
        quote_cols = {"vwap": vwap_col, "bid": bid_col, "ask": ask_col, "mid": mid_col,
                      "bid_size": bid_size_col, "ask_size": ask_size_col}
        quote_cols = {k: v for k, v in quote_cols.items() if v is not None}
        for field, col in quote_cols.items():
            if col not in prices.columns:
                raise ValueError(f"{field}_col={col!r} not found in prices columns {prices.columns}")
            if not (prices[col].dtype.is_numeric() or prices[col].dtype == pl.Null):
                raise ValueError(f"prices column {col!r} ({field}) must be numeric, got {prices[col].dtype}")
        quote_frame = prices.select(
            [pl.col(col).cast(pl.Float64).alias(f"__q_{field}") for field, col in quote_cols.items()])
        prices = self._normalize_prices(prices, ts, asset)
        if quote_cols:
            prices = pl.concat([prices, quote_frame], how="horizontal")
        _check_null_keys(prices, "prices", ["timestamp", "asset"])

        # Every timestamp of any input is a bar (a signals- or context-only
        # timestamp gets an empty `data` mapping), as in ml4t-backtest.
        ts_dtype = prices["timestamp"].dtype
        stamps = [prices["timestamp"]]
        if signals is not None:
            # Signals are keyed by the prices' asset column, as in ml4t-backtest.
            if asset not in signals.columns:
                raise ValueError(f"entity_col={asset!r} not found in signal columns {signals.columns}")
            sig_asset = asset
            signals = signals.rename({ts: "timestamp", sig_asset: "asset"}).with_columns(
                pl.col("timestamp").cast(ts_dtype), pl.col("asset").cast(pl.String))
            _check_null_keys(signals, "signals", ["timestamp", "asset"])
            stamps.append(signals["timestamp"])
        if context is not None:
            context = context.rename({ts: "timestamp"}).with_columns(pl.col("timestamp").cast(ts_dtype))
            _check_null_keys(context, "context", ["timestamp"])
            stamps.append(context["timestamp"])
        timeline = pl.concat(stamps).unique().sort()
        if context is not None:
            codes = timeline.search_sorted(context["timestamp"]).to_numpy().astype(np.uint64)
            _check_unique_codes(codes, "context", lambda i: f"timestamp={context['timestamp'][int(i)]}")

        # Stable sort by time only: within a timestamp, rows keep input order,
        # which is the order strategies see assets in (as in ml4t-backtest).
        # Rows are keyed by integer codes (bar, asset) from here on: duplicate
        # (timestamp, asset) rows are refused by Rust while indexing, and
        # signals are matched to price rows without a hash join.
        if not prices["timestamp"].is_sorted():
            prices = prices.sort("timestamp", maintain_order=True)
        self._assets: list[str] = sorted(prices["asset"].unique().to_list())
        asset_enum = pl.Enum(self._assets)
        prices = prices.with_columns(
            pl.Series("__bar", timeline.search_sorted(prices["timestamp"]), dtype=pl.UInt32),
            pl.col("asset").cast(asset_enum).to_physical().cast(pl.UInt32).alias("__asset"),
        )
        self._signal_columns: dict[str, np.ndarray | list] = {}
        self._has_signals: np.ndarray | None = None
        if signals is not None:
            self._match_signals(prices, signals, timeline, asset_enum)
        # Keep only what Rust reads (zero-copy) and what results need; the
        # timestamp and asset-name columns are represented by their codes.
        quote_names = [c for c in prices.columns if c.startswith("__q_")]
        reference = [REFERENCE_PRICE] if REFERENCE_PRICE in prices.columns else []
        prices = prices.select("__bar", "__asset", "open", "high", "low", "close", "volume", *reference,
                               *quote_names).rechunk()
        self._quotes = self._quote_arrays(prices, quote_cols)
        self._prices = prices
        self._timeline = timeline
        self._timestamps: list[Any] = timeline.to_list()
        self._contexts_source = context
        self._market = self._build_market()

    def _build_market(self) -> Any:
        """The Rust market data over this feed's row columns (no copy)."""
        prices, labels = self._prices, self._timestamps
        return _rust.build_market_data(
            len(self._timeline),
            self._assets,
            prices["__bar"].to_numpy(),
            prices["__asset"].to_numpy(),
            prices["open"].to_numpy(),
            prices["high"].to_numpy(),
            prices["low"].to_numpy(),
            prices["close"].to_numpy(),
            prices["volume"].to_numpy(),
            lambda b: str(labels[b]),
            self._quotes or None,
            self._timestamps_ns(),
            prices[REFERENCE_PRICE].to_numpy() if REFERENCE_PRICE in prices.columns else None,
        )

    def _publication_times(self, known_at_cols: Mapping[str, str]) -> dict[str, np.ndarray]:
        """Per field of `known_at_cols` ({field: datetime column of the given
        prices}), each price row's publication time in ns since the epoch
        (`_rust.NEVER_PUBLISHED` where null), in the engine's row order."""
        from nautilus_like.runtime import _publication_ns

        given, ts = self._given_prices, self._given_columns["timestamp_col"]
        out = {}
        for field, column in known_at_cols.items():
            role = self._given_columns.get(f"{field}_col") or field
            if role not in given.columns:
                raise ValueError(f"Known-at declaration has no input field {field!r} (no column {role!r} in "
                                 f"prices columns {given.columns})")
            if column not in given.columns:
                raise ValueError(f"Known-at column {column!r} (for {field!r}) not found in prices columns "
                                 f"{given.columns}")
            # The engine's rows are the given rows stably sorted by time.
            order = given.select(pl.col(ts)).with_row_index("__row").sort(ts, maintain_order=True)["__row"]
            out[field] = _publication_ns(given, column, given[ts])[order.to_numpy()]
        return out

    def _for_run(self, keep: np.ndarray | None, published: Mapping[str, np.ndarray],
                 signal_published: Mapping[str, str] | None = None,
                 context_published: Mapping[str, str] | None = None,
                 signal_eligible: Mapping[str, str] | None = None) -> DataFeed:
        """This feed as one run reads it: only the bars `keep` marks (a bool per
        bar; None keeps all), and each field of `published` (a publication time
        per row, see `_publication_times`) as published at its row's instant,
        the close where it is not yet (`_rust.published_values`). Signal and
        context fields (`{field: publication column}`) reach the strategy as
        None until published. The feed itself is unchanged."""
        run = _copy.copy(self)
        prices = self._prices
        if signal_published or signal_eligible:
            at = [self._timestamps[b] for b in prices["__bar"].to_list()]
            run._signal_columns = dict(self._signal_columns)
            for field in {*(signal_published or {}), *(signal_eligible or {})}:
                values = self._signal_columns[field]
                values = values.tolist() if isinstance(values, np.ndarray) else list(values)
                column = (signal_published or {}).get(field)
                known = self._signal_columns[column] if column else at
                flag = (signal_eligible or {}).get(field)
                flags = self._signal_columns[flag] if flag else [True] * len(at)
                flags = flags.tolist() if isinstance(flags, np.ndarray) else flags
                run._signal_columns[field] = [v if k is not None and k <= t and e is True else None
                                              for v, k, t, e in zip(values, known, at, flags)]
        if context_published and self._contexts_source is not None:
            run._contexts_source = self._contexts_source.with_columns([
                pl.when(pl.col(column).is_not_null() & (pl.col(column) <= pl.col("timestamp")))
                .then(pl.col(field)).otherwise(None).alias(field)
                for field, column in context_published.items()])
        if published:
            observed = self._timestamps_ns()
            if observed is None:
                raise ValueError(f"known_at_cols need datetime feed timestamps, got {self._timeline.dtype}")
            at = np.ascontiguousarray(observed[prices["__bar"].to_numpy()])
            close = prices["close"].to_numpy()
            prices = prices.with_columns([
                pl.Series(field, _rust.published_values(prices[field].to_numpy(), close,
                                                        np.ascontiguousarray(known), at), dtype=pl.Float64)
                for field, known in published.items()])
        if keep is not None:
            bars = prices["__bar"].to_numpy()
            rows = keep[bars]
            renumber = (np.cumsum(keep) - 1).astype(np.uint32)
            prices = prices.filter(pl.Series(rows)).with_columns(
                pl.Series("__bar", renumber[bars[rows]], dtype=pl.UInt32))
            run._timeline = self._timeline.filter(pl.Series(keep))
            run._timestamps = run._timeline.to_list()
            run._quotes = {f: np.ascontiguousarray(q[rows]) for f, q in self._quotes.items()}
            run._signal_columns = {n: (c[rows] if isinstance(c, np.ndarray) else [v for v, k in zip(c, rows) if k])
                                   for n, c in run._signal_columns.items()}
            if self._has_signals is not None:
                run._has_signals = np.ascontiguousarray(self._has_signals[rows])
        run._prices = prices.rechunk()
        run._market = run._build_market()
        return run

    def _match_signals(self, prices: pl.DataFrame, signals: pl.DataFrame, timeline: pl.Series,
                       asset_enum: pl.Enum) -> None:
        """Finds each price row's signals row by (bar, asset) code. Signals of
        assets or timestamps without a price row are never shown (as in ml4t)."""
        n_assets = len(self._assets)
        known = signals.filter(pl.col("asset").is_in(self._assets))
        sig_codes = (timeline.search_sorted(known["timestamp"]).to_numpy().astype(np.uint64) * n_assets
                     + known["asset"].cast(asset_enum).to_physical().to_numpy().astype(np.uint64))

        def describe(i):
            return f"timestamp={known['timestamp'][int(i)]!r}, asset={known['asset'][int(i)]!r}"

        order = _check_unique_codes(sig_codes, "signals", describe)
        ordered = sig_codes[order]
        price_codes = (prices["__bar"].to_numpy().astype(np.uint64) * n_assets
                       + prices["__asset"].to_numpy().astype(np.uint64))
        pos = np.searchsorted(ordered, price_codes)
        pos_clipped = np.minimum(pos, max(len(ordered) - 1, 0))
        found = (pos < len(ordered)) & (ordered[pos_clipped] == price_codes) if len(ordered) else \
            np.zeros(len(price_codes), dtype=bool)
        rows = np.where(found, order[pos_clipped] if len(ordered) else 0, 0).astype(np.uint32)
        has = pl.Series(found)
        self._has_signals = found.astype(np.uint8)
        names = [c for c in signals.columns if c not in ("timestamp", "asset")]
        for name in names:
            column = known[name].gather(rows) if len(ordered) else pl.Series(name, [None] * len(rows),
                                                                                dtype=known[name].dtype)
            self._signal_columns[name] = _signal_column(column, has)

    @staticmethod
    def _resolved_spec(spec: Any, columns: dict[str, Any]) -> Any:
        """`feed.feed_spec`: the spec with the columns this feed uses. An
        ml4t-specs FeedSpec stays one (its calendar, frequency, ... kept); any
        other spec becomes a namespace of its declared fields and the columns."""
        resolved = {k: v for k, v in columns.items() if v is not None}
        if hasattr(spec, "with_overrides"):
            try:
                return spec.with_overrides(**resolved)
            except TypeError:
                pass
        fields = dict(spec) if isinstance(spec, Mapping) else {
            k: getattr(spec, k) for k in dir(spec) if not k.startswith("_") and not callable(getattr(spec, k))
        } if spec is not None else {}
        return SimpleNamespace(**{**fields, **resolved})

    @staticmethod
    def _select_price_columns(prices: pl.DataFrame, columns: dict[str, Any], price_is_chosen: bool) -> pl.DataFrame:
        """`prices` with the configured OHLCV columns under the plain names the
        engine reads ("open", ..., "close"). A price column apart from the close
        (ml4t's reference price: marks, PRICE fills) becomes `REFERENCE_PRICE`.
        An explicitly chosen price column must exist; otherwise a missing price
        column falls back to the close column."""
        cols = prices.columns
        price, close = columns["price_col"], columns["close_col"]
        if price not in cols:
            if price_is_chosen:
                raise ValueError(f"price_col={price!r} not found in price columns {cols}")
            if close not in cols and "price" not in cols:
                raise ValueError(f"price_col={price!r} and close_col={close!r} not found in price columns {cols}")
            price = close if close in cols else "price"
        if close in cols and close != price and not prices[close].equals(prices[price]):
            renames = {close: "close", price: REFERENCE_PRICE}
        else:
            renames = {price: "close"}
        for field in ("open", "high", "low", "volume"):
            source = columns[f"{field}_col"]
            if source in cols and source != field:
                renames[source] = field
        if list(renames.items()) == [("close", "close")]:
            return prices
        plain = set(renames.values())
        # A plain-named column that is not the chosen one gives way to it.
        keep = [c for c in cols if c not in plain or c in renames]
        return prices.select([pl.col(c).alias(renames.get(c, c)) for c in keep])

    @staticmethod
    def _normalize_prices(prices: pl.DataFrame, ts: str, asset: str) -> pl.DataFrame:
        cols = prices.columns
        if "close" in cols:
            close = pl.col("close")
        elif "price" in cols:
            close = pl.col("price")
        else:
            raise ValueError(f"prices need a 'close' (or 'price') column; got columns {cols}")
        for name in (*PRICE_COLUMNS, "price", "volume"):
            if name in cols and not (prices[name].dtype.is_numeric() or prices[name].dtype == pl.Null):
                raise ValueError(f"prices column {name!r} must be numeric, got {prices[name].dtype}")
        close = close.cast(pl.Float64)
        out = prices.select(
            pl.col(ts).alias("timestamp"),
            pl.col(asset).cast(pl.String).alias("asset"),
            *[
                (pl.col(c).cast(pl.Float64).fill_null(close) if c in cols else close).alias(c)
                for c in ("open", "high", "low")
            ],
            close.alias("close"),
            (pl.col("volume").cast(pl.Float64).fill_null(0.0) if "volume" in cols else pl.lit(0.0)).alias("volume"),
            *([pl.col(REFERENCE_PRICE).cast(pl.Float64)] if REFERENCE_PRICE in cols else []),
        )
        nulls = out.filter(pl.col("close").is_null())
        if nulls.height:
            row = nulls.row(0, named=True)
            raise ValueError(
                f"prices column 'close' is null for asset {row['asset']!r} at {row['timestamp']} "
                f"({nulls.height} null close value(s) in all)")
        return out

    # ----------------------------------------------------------------- queries

    @property
    def timestamps(self) -> list[Any]:
        """Every bar's timestamp, ascending (as Python objects)."""
        return self._timestamps

    @property
    def assets(self) -> list[str]:
        """The assets with prices, sorted."""
        return self._assets

    @property
    def signal_names(self) -> list[str]:
        return list(self._signal_columns)

    def __len__(self) -> int:
        return len(self._timestamps)

    @property
    def n_bars(self) -> int:
        """Number of bars (distinct timestamps)."""
        return len(self._timestamps)

    def __iter__(self) -> Iterator[tuple[Any, dict[str, dict[str, Any]], dict[str, Any]]]:
        """The bars as ml4t's DataFeed yields them, in time order: `(timestamp,
        {asset: {"price", "open", "high", "low", "close", "volume", "signals": {...}}
        plus "vwap"/"bid"/"ask"/"mid"/"bid_size"/"ask_size" where given}, context)`.
        For looking at the data; a backtest reads the columns directly."""
        p = self._prices
        bars = p["__bar"].to_numpy()
        bounds = np.searchsorted(bars, np.arange(len(self._timestamps) + 1))
        cols = {c: p[c].to_list() for c in ("__asset", "open", "high", "low", "close", "volume")}
        cols["price"] = p[REFERENCE_PRICE].to_list() if REFERENCE_PRICE in p.columns else cols["close"]
        quotes = {f: [None if v != v else v for v in arr.tolist()] for f, arr in self._quotes.items()}
        signals = {name: (col.tolist() if isinstance(col, np.ndarray) else list(col))
                   for name, col in self._signal_columns.items()}
        has = self._has_signals
        contexts = self._contexts()
        for b, ts in enumerate(self._timestamps):
            data: dict[str, dict[str, Any]] = {}
            for row in range(int(bounds[b]), int(bounds[b + 1])):
                close = cols["close"][row]
                bar = {"price": cols["price"][row], "open": cols["open"][row], "high": cols["high"][row],
                       "low": cols["low"][row], "close": close, "volume": cols["volume"][row],
                       "signals": ({n: v[row] for n, v in signals.items()} if has is not None and has[row]
                                   else {})}
                bar.update({f: q[row] for f, q in quotes.items() if q[row] is not None})
                data[self._assets[cols["__asset"][row]]] = bar
            yield ts, data, (contexts[b] if contexts is not None else {})

    def __repr__(self) -> str:
        return (f"DataFeed({len(self._timestamps)} timestamps, {len(self._assets)} assets, "
                f"{self._prices.height} rows, signals={self.signal_names})")

    # ------------------------------------------------------- engine interface

    def _market_view(self):
        from nautilus_like._data import MarketView

        return MarketView(self._market, self._assets, self._signal_columns, self._has_signals,
                          self._quotes)

    def _contexts(self) -> list[dict[str, Any]] | None:
        """A fresh context dict per bar ({} where the timestamp has no context row);
        None without context data: the driver then makes each bar's empty dict
        when it runs the bar (thousands of dicts made up front would only feed
        the garbage collector)."""
        if self._contexts_source is None:
            return None
        ctx = self._contexts_source
        names = [c for c in ctx.columns if c != "timestamp"]
        by_ts = dict(zip(ctx["timestamp"].to_list(), ctx.select(names).to_dicts()))
        return [dict(by_ts[t]) if t in by_ts else {} for t in self._timestamps]

    @staticmethod
    def _quote_arrays(prices: pl.DataFrame, quote_cols: dict[str, str]) -> dict[str, np.ndarray]:
        """Quote fields as float64 arrays in row order, NaN where missing; the mid is
        derived from bid and ask where the feed has no mid of its own (as ml4t)."""
        out = {f: prices[f"__q_{f}"].fill_null(np.nan).to_numpy() for f in quote_cols}
        if "bid" in out and "ask" in out:
            derived = (out["bid"] + out["ask"]) / 2.0
            out["mid"] = derived if "mid" not in out else np.where(np.isnan(out["mid"]), derived, out["mid"])
        order = ("vwap", "bid", "ask", "mid", "bid_size", "ask_size")
        return {f: np.ascontiguousarray(out[f]) for f in order if f in out}

    @property
    def has_vwap(self) -> bool:
        """Whether the feed declares a VWAP column (needed by VWAP execution or marks)."""
        return "vwap" in self._quotes

    def _timestamps_ns(self) -> np.ndarray | None:
        """The bar timestamps as nanoseconds since the epoch (UTC; naive
        datetimes and dates read as UTC), the clock Rust keeps; None when the
        timestamps are not dates or datetimes, or fall outside what int64
        nanoseconds can hold (years 1677-2262)."""
        dtype = self._timeline.dtype
        if not (isinstance(dtype, pl.Datetime) or dtype == pl.Date):
            return None
        try:
            ns = self._timeline.cast(pl.Datetime("ns", getattr(dtype, "time_zone", None)), strict=True)
        except pl.exceptions.PolarsError:
            return None
        values = ns.to_physical()
        if values.null_count():
            return None
        return values.cast(pl.Int64).to_numpy()

    def _sessions(self) -> np.ndarray | None:
        """Each bar's trading day (days since 1970-01-01, in the timestamps' own
        time zone), for DAY orders; None when the timestamps are not dates."""
        dtype = self._timeline.dtype
        if isinstance(dtype, pl.Datetime):
            days = self._timeline.dt.date()
        elif dtype == pl.Date:
            days = self._timeline
        else:
            return None
        return days.cast(pl.Int32).cast(pl.Int64).to_numpy()

    @property
    def timeline(self) -> pl.Series:
        """The bar timestamps as a Polars series (the input dtype)."""
        return self._timeline

    def _last_bar(self) -> dict[int, dict[str, float | None]]:
        """Per asset id, the last bar's volume and quotes (None where absent); assets
        without a row on the last bar are absent. Values open positions at the end."""
        rows = np.flatnonzero(self._prices["__bar"].to_numpy() == len(self._timestamps) - 1)
        assets = self._prices["__asset"].to_numpy()[rows]
        volume = self._prices["volume"].to_numpy()[rows]
        out = {}
        for k, (row, a) in enumerate(zip(rows.tolist(), assets.tolist())):
            d: dict[str, float | None] = {"volume": float(volume[k])}
            for field, arr in self._quotes.items():
                v = float(arr[row])
                d[field] = None if v != v else v
            out[a] = d
        return out
