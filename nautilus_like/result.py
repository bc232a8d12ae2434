"""`BacktestResult`: fills, trades and equity as Polars tables, plus metrics.

ml4t-backtest 0.2.0's value object: built by `Engine.run()`, or by hand from
its values (`BacktestResult(trades, equity_curve, fills, metrics, ...)`), or
read back with `BacktestResult.from_parquet(path)`. Column names, dtypes and
the artifact layout are ml4t's, so code that reads an ml4t result reads this
one.

>>> result = Engine(feed, strategy, config).run()
>>> result.to_trades_dataframe().select("symbol", "pnl")
>>> result.to_parquet("runs/momentum")   # trades.parquet, fills.parquet, ..., manifest.json
>>> BacktestResult.from_parquet("runs/momentum").metrics["sharpe"]

A result of a run reads the engine's columns only when a table is asked
for: `result.metrics` does not build one Python object per fill.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import polars as pl

from nautilus_like import _artifacts
from nautilus_like._artifacts import (  # noqa: F401  (ml4t's result module exports them)
    ArtifactDiagnostic,
    ArtifactError,
    ArtifactIncompleteError,
    ArtifactManifestError,
    ArtifactNotFoundError,
    ArtifactReadError,
    ArtifactWriteError,
    UnsupportedArtifactVersionError,
)
from nautilus_like._run_columns import RunColumns, compute_metrics
from nautilus_like.analytics.annualization import equity_annualization
from nautilus_like.types import OrderSide, Trade

__all__ = [
    "ArtifactDiagnostic", "ArtifactError", "ArtifactIncompleteError", "ArtifactManifestError",
    "ArtifactNotFoundError", "ArtifactReadError", "ArtifactWriteError", "BacktestResult",
    "UnsupportedArtifactVersionError", "compute_metrics", "enrich_trades_with_signals",
]



def _annualization(config: Any) -> tuple[float | None, bool]:
    """The equity curve's bars a year and whether its years count bars
    (ml4t's `EquityCurve.from_config`): an explicit `periods_per_year`; else
    a run explicitly without a calendar counts observations at 252 a year;
    else the calendar and bar frequency decide (None: inferred from time)."""
    from nautilus_like.analytics.annualization import resolve_periods_per_year
    from nautilus_like.analytics.metrics import TRADING_DAYS_PER_YEAR

    calendar = config.resolved_calendar
    version = getattr(config, "time_contract_version", None)
    observed = calendar is None and (version == 2 or (version is None and config.calendar is None))
    periods = getattr(config, "periods_per_year", None)
    if periods is None and observed:
        periods = float(TRADING_DAYS_PER_YEAR)
    if periods is None:
        periods = resolve_periods_per_year(config.data_frequency, calendar=calendar)
    return periods, observed


class _CalendarUnset:
    """`to_daily_returns(calendar=...)` not given (None means "no calendar")."""

    def __repr__(self) -> str:
        return "UNSET_CALENDAR"


_UNSET: Any = _CalendarUnset()


def _lazy(name: str, doc: str) -> property:
    """A field that a hand-built result holds as given and a run computes on
    first read (from its columns); assigning it replaces the value and drops
    the tables built from the old one."""

    def fget(self: BacktestResult) -> Any:
        values = self._values
        if name not in values:
            values[name] = getattr(self, f"_compute_{name}")()
        return values[name]

    def fset(self: BacktestResult, value: Any) -> None:
        self._values[name] = value
        self._given.add(name)
        self._frames.clear()

    return property(fget, fset, doc=doc)


def _timestamp_dtype(values: Iterable[Any], fallback: Iterable[Any] = ()) -> pl.DataType:
    """The dtype Polars gives the first timestamp (its zone kept); a naive
    microsecond datetime when there is none."""
    for value in (*values, *fallback):
        if value is not None:
            return pl.Series([value]).dtype
    return pl.Datetime()


class BacktestResult:
    """What `Engine.run()` returns (ml4t-backtest's fields, dict-like over `to_dict()`).

    Attributes:
        trades: closed, partial and open round trips (`Trade`)
        equity_curve: `(timestamp, equity)` at the end of every bar
        fills: every execution (`Fill`), in order
        metrics: performance metrics (`result["sharpe"]` reads one)
        rejected_orders: orders the account or a risk check refused, with
            `rejection_reason` and `rejection_code`
        portfolio_state: `(timestamp, equity, cash, gross_exposure, net_exposure, open_positions)` rows
        config, predictions, equity (an `EquityCurve`), initial_capital, ...: as ml4t's
    """

    trades = _lazy("trades", "Closed, partial and open round trips (`Trade` objects).")
    fills = _lazy("fills", "Every fill as a `Fill`, in execution order.")
    equity_curve = _lazy("equity_curve", "`(timestamp, equity)` at the end of every bar.")
    metrics = _lazy("metrics", "Performance metrics (ml4t-backtest's keys).")
    portfolio_state = _lazy("portfolio_state", "Account rows `(timestamp, equity, cash, gross, net, open)`.")
    rejected_orders = _lazy("rejected_orders", "Orders that ended rejected, oldest first.")
    equity = _lazy("equity", "The equity curve's analytics (`EquityCurve`), None when not computed.")

    def __init__(self, trades: list[Trade], equity_curve: list[tuple[datetime, float]], fills: list[Any],
                 metrics: dict[str, Any], predictions: pl.DataFrame | None = None, config: Any = None,
                 equity: Any = None, trade_analyzer: Any = None,
                 portfolio_state: list[tuple[Any, ...]] | None = None, rejected_orders: list[Any] | None = None,
                 funding_payments: list[Any] | None = None, artifact_diagnostics: tuple[Any, ...] = (),
                 initial_capital: float | None = None, holdings: list[tuple[Any, ...]] | None = None,
                 holdings_sampling: str = "none", capital_changes: list[Any] | None = None,
                 returns_include_commissions: bool | None = None,
                 observation_metadata: list[tuple[str, bool, int | None]] | None = None,
                 recorded_variables: list[tuple[Any, ...]] | None = None, account_method: str | None = None,
                 benchmark: pl.DataFrame | None = None, benchmark_metadata: dict[str, Any] | None = None,
                 corporate_actions: list[dict[str, Any]] | None = None,
                 corporate_entitlements: list[dict[str, Any]] | None = None,
                 corporate_receivables: list[float] | None = None,
                 instrument_accounting: dict[str, dict[str, Any]] | None = None,
                 accounting_observations: list[Any] | None = None,
                 futures_settlements: list[dict[str, Any]] | None = None,
                 futures_rolls: list[dict[str, Any]] | None = None,
                 input_provenance: dict[str, Any] | None = None) -> None:
        self._run: RunColumns | None = None
        self._values: dict[str, Any] = {}
        self._given: set[str] = set()
        self._frames: dict[str, pl.DataFrame] = {}
        self.broker = None
        self.trades = trades
        self.equity_curve = equity_curve
        self.fills = fills
        self.metrics = metrics
        self.portfolio_state = [] if portfolio_state is None else portfolio_state
        self.rejected_orders = [] if rejected_orders is None else rejected_orders
        self.equity = equity
        self._frames.clear()
        self.predictions = predictions
        self.config = config
        # `trade_analyzer` may be a computed property of the class; what was
        # given is kept here for it (and for `to_dict`).
        self._given_trade_analyzer = trade_analyzer
        if not hasattr(type(self), "trade_analyzer"):
            self.trade_analyzer = trade_analyzer
        self.funding_payments = [] if funding_payments is None else funding_payments
        self.artifact_diagnostics = tuple(artifact_diagnostics)
        self.initial_capital = initial_capital
        self.holdings = holdings
        self.holdings_sampling = holdings_sampling
        self.capital_changes = [] if capital_changes is None else capital_changes
        self.returns_include_commissions = returns_include_commissions
        self.observation_metadata = [] if observation_metadata is None else observation_metadata
        self.recorded_variables = recorded_variables
        self.account_method = account_method
        self.benchmark = benchmark
        self.benchmark_metadata = benchmark_metadata
        self.corporate_actions = corporate_actions
        self.corporate_entitlements = corporate_entitlements
        self.corporate_receivables = corporate_receivables
        self.instrument_accounting = instrument_accounting
        self.accounting_observations = accounting_observations
        self.futures_settlements = futures_settlements
        self.futures_rolls = futures_rolls
        self.input_provenance = input_provenance

    @classmethod
    def _from_run(cls, raw: dict[str, Any], *, assets: list[str], timeline: pl.Series,
                  last_bar: dict[int, dict[str, float | None]], config: Any, broker: Any = None,
                  predictions: pl.DataFrame | None = None) -> BacktestResult:
        """The result of an engine run: its tables are read from the engine's
        columns when first asked for."""
        self = cls.__new__(cls)
        self._run = RunColumns(raw, assets=assets, timeline=timeline, last_bar=last_bar,
                               initial_cash=config.initial_cash, annualization=equity_annualization(config))
        self._values, self._given, self._frames = {}, set(), {}
        self.broker = broker
        self.predictions = predictions
        self.config = config
        self._given_trade_analyzer = None
        if not hasattr(type(self), "trade_analyzer"):
            self.trade_analyzer = None
        self.funding_payments = list(raw.get("funding_payments") or [])
        self.artifact_diagnostics = ()
        self.initial_capital = config.initial_cash
        self.holdings = None
        self.holdings_sampling = "none"
        self.capital_changes = list(raw.get("capital_changes") or [])
        self.returns_include_commissions = True
        self.observation_metadata = []
        self.recorded_variables = None
        self.account_method = "signed_notional"
        for name in ("benchmark", "benchmark_metadata", "corporate_actions", "corporate_entitlements",
                     "corporate_receivables", "instrument_accounting", "accounting_observations",
                     "futures_settlements", "futures_rolls", "input_provenance"):
            setattr(self, name, None)
        return self

    # ---------------------------------------------------- fields of a run

    def _from_columns(self, name: str) -> bool:
        """Whether `name` comes from the run's columns (not given by hand)."""
        return self._run is not None and name not in self._given

    def _compute_trades(self) -> list[Trade]:
        df = self.to_trades_dataframe()
        fields = [f for f in Trade.__dataclass_fields__ if f in df.columns]
        return [Trade(**{k: row[k] for k in fields}) for row in df.iter_rows(named=True)]

    def _compute_fills(self) -> list[Any]:
        return self.broker.get_fills() if self.broker is not None else []

    def _compute_equity_curve(self) -> list[tuple[Any, float]]:
        return self._run.equity_curve()

    def _compute_metrics(self) -> dict[str, Any]:
        return compute_metrics(self._run)

    def _compute_portfolio_state(self) -> list[tuple[Any, ...]]:
        return list(self._run.portfolio_state().iter_rows())

    def _compute_rejected_orders(self) -> list[Any]:
        return list(self.broker.get_rejected_orders()) if self.broker is not None else []

    def _compute_equity(self) -> Any:
        from nautilus_like.analytics.equity import EquityCurve

        periods, observation_based = self._run.annualization
        return EquityCurve(timestamps=self._run.timeline.to_list(), values=self._run.equity.tolist(),
                           periods_per_year_override=periods, observation_based=observation_based,
                           initial_capital=self.initial_capital)

    @property
    def _raw(self) -> dict[str, Any] | None:
        """The run's columns as `collect_results` returned them (None when built by hand)."""
        return None if self._run is None else self._run._raw

    @property
    def _timeline(self) -> pl.Series:
        if self._run is not None:
            return self._run.timeline
        return pl.Series("timestamp", [t for t, _ in self.equity_curve],
                         dtype=_timestamp_dtype(t for t, _ in self.equity_curve))

    @property
    def initial_cash(self) -> float:
        """The starting cash (`initial_capital`, else the config's)."""
        if self.initial_capital is not None:
            return float(self.initial_capital)
        return float(self.config.initial_cash)

    # ------------------------------------------------------------ tables

    def _time_dtype(self, values: Iterable[Any]) -> pl.DataType:
        if self._run is not None:
            return self._run.timeline.dtype
        return _timestamp_dtype(values, (t for t, _ in self.equity_curve))

    def _cached(self, name: str, build) -> pl.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            frame = self._frames[name] = build()
        return frame

    def to_trades_dataframe(self) -> pl.DataFrame:
        """One row per trade: closed and partial round trips, then open positions
        (`status` "closed", "partial" or "open"), with cost decomposition
        (`gross_pnl`, `net_return`, `total_slippage_cost`, `cost_drag`)."""
        if self._from_columns("trades"):
            return self._cached("trades", self._run.trades_frame)
        return self._cached("trades", self._trades_from_values)

    def _trades_from_values(self) -> pl.DataFrame:
        schema = self._trades_schema()
        schema["entry_time"] = self._time_dtype(t.entry_time for t in self.trades)
        schema["exit_time"] = self._time_dtype(t.exit_time for t in self.trades)
        return pl.DataFrame([{name: getattr(t, name) for name in schema} for t in self.trades], schema=schema)

    def to_fills_dataframe(self) -> pl.DataFrame:
        """One row per fill in execution order (`fill_sequence`), with the order's
        identity, costs, price source, quote context and exit reason."""
        if self._from_columns("fills"):
            return self._cached("fills", self._run.fills_frame)
        return self._cached("fills", self._fills_from_values)

    def _fills_from_values(self) -> pl.DataFrame:
        schema = self._fills_schema()
        schema["timestamp"] = schema["stop_triggered_at"] = self._time_dtype(f.timestamp for f in self.fills)
        rows = []
        for sequence, f in enumerate(self.fills):
            row = {name: getattr(f, name, None) for name in schema}
            row.update(fill_sequence=sequence, side=f.side.value,
                       signed_quantity=f.quantity if f.side is OrderSide.BUY else -f.quantity)
            rows.append(row)
        return pl.DataFrame(rows, schema=schema)

    def to_rejected_orders_dataframe(self) -> pl.DataFrame:
        """One row per rejected order: what was asked, what filled before the
        refusal, and `rejection_code` / `rejection_reason`."""
        return self._cached("rejected_orders", self._rejected_orders_frame)

    def _rejected_orders_frame(self) -> pl.DataFrame:
        schema = self._rejected_orders_schema()
        schema["timestamp"] = self._time_dtype(o.created_at for o in self.rejected_orders)
        return pl.DataFrame([{
            "order_id": o.order_id, "symbol": o.asset, "timestamp": o.created_at,
            "requested_quantity": o.requested_quantity, "filled_quantity": o.filled_quantity,
            "remaining_quantity": o.quantity, "side": o.side.value, "order_type": o.order_type.value,
            "limit_price": o.limit_price, "stop_price": o.stop_price, "trail_amount": o.trail_amount,
            "parent_id": o.parent_id, "rebalance_id": o.rebalance_id, "status": o.status.value,
            "rejection_code": getattr(o, "rejection_code", None), "rejection_reason": o.rejection_reason,
        } for o in self.rejected_orders], schema=schema)

    def to_funding_dataframe(self) -> pl.DataFrame:
        """Funding payments in the order applied (`nautilus_like.funding`): asset,
        signed quantity held, the mark and multiplier used, the rate or amount per
        unit, and the `cash_delta` (negative: paid)."""
        schema = {"timestamp": self._time_dtype(getattr(p, "timestamp", None) for p in self.funding_payments),
                  "asset": pl.String(), "quantity": pl.Float64(), "mark_price": pl.Float64(),
                  "multiplier": pl.Float64(), "rate": pl.Float64(), "amount_per_unit": pl.Float64(),
                  "cash_delta": pl.Float64()}
        return pl.DataFrame([{k: getattr(p, k) for k in schema} for p in self.funding_payments], schema=schema)

    def to_capital_flows_dataframe(self) -> pl.DataFrame:
        """External capital flows in the order applied (`flow_sequence`), with the
        cash each moved and the marked account value before and after it."""
        schema = {"timestamp": self._time_dtype(getattr(c, "timestamp", None) for c in self.capital_changes),
                  "event_id": pl.String(), "kind": pl.String(), "value": pl.Float64(),
                  "cash_delta": pl.Float64(), "nav_before": pl.Float64(), "nav_after": pl.Float64()}
        return pl.DataFrame([{k: getattr(c, k) for k in schema} for c in self.capital_changes],
                            schema=schema).with_row_index("flow_sequence")

    def to_predictions_dataframe(self) -> pl.DataFrame:
        """The prediction (signal) frame the backtest read; an empty frame without one."""
        return pl.DataFrame() if self.predictions is None else self.predictions

    def to_equity_dataframe(self) -> pl.DataFrame:
        """Equity at the end of every bar with `return`, `cumulative_return`,
        `drawdown` and `high_water_mark` (returns and drawdowns count from the
        initial capital when it is known, else from the first value)."""
        return self._cached("equity", self._equity_frame)

    def _equity_frame(self) -> pl.DataFrame:
        if self._from_columns("equity_curve"):
            df = pl.DataFrame({"timestamp": self._run.timeline, "equity": self._run.equity})
        elif not self.equity_curve:
            return pl.DataFrame(schema=self._equity_schema())
        else:
            times = [t for t, _ in self.equity_curve]
            df = pl.DataFrame({"timestamp": pl.Series(times, dtype=_timestamp_dtype(times)),
                               "equity": [float(v) for _, v in self.equity_curve]}).sort("timestamp")
        if not df.height:
            return pl.DataFrame(schema={**self._equity_schema(), "timestamp": df.schema["timestamp"]})
        initial = self.initial_capital if self.initial_capital is not None else df["equity"][0]
        if self.capital_changes:
            # External flows are no return: valuations chain between them.
            if self.initial_capital is None:
                raise ArtifactError("returns with external capital flows need the recorded initial_capital")
            from nautilus_like.capital import flow_adjusted_returns

            returns = flow_adjusted_returns(list(df.select("timestamp", "equity").iter_rows()), initial,
                                            self.capital_changes)
            df = df.with_columns(pl.Series("return", returns, dtype=pl.Float64)).with_columns(
                ((pl.col("return") + 1.0).cum_prod() * initial).alias("performance_equity"))
        else:
            df = df.with_columns(
                (pl.col("equity") / pl.col("equity").shift(1).fill_null(initial) - 1.0).alias("return"),
                pl.col("equity").alias("performance_equity"))
        return (df
            .with_columns(
                (pl.col("performance_equity") / initial - 1.0).alias("cumulative_return"),
                pl.col("performance_equity").cum_max().clip(lower_bound=initial).alias("high_water_mark"))
            .with_columns(
                pl.when(pl.col("high_water_mark") > 0)
                .then(pl.col("performance_equity") / pl.col("high_water_mark") - 1.0)
                .otherwise(0.0).alias("drawdown"))
            .select(list(self._equity_schema())))

    def to_portfolio_state_dataframe(self) -> pl.DataFrame:
        """Account observations in time order: equity, cash, gross and net exposure,
        open positions, and what each observation is (`observation_kind` "bar")."""
        return self._cached("portfolio_state", self._portfolio_state_frame)

    def _portfolio_state_frame(self) -> pl.DataFrame:
        if self._from_columns("portfolio_state"):
            frame = self._run.portfolio_state()
        else:
            schema = self._portfolio_state_schema()
            schema["timestamp"] = self._time_dtype(row[0] for row in self.portfolio_state)
            frame = pl.DataFrame(self.portfolio_state, schema=schema, orient="row").sort(
                "timestamp", maintain_order=True)
        frame = frame.with_row_index("observation_id")
        metadata = self.observation_metadata
        if metadata and len(metadata) != frame.height:
            raise ArtifactError("Account observation metadata must match the recorded timeline")
        if not metadata:
            metadata = [("bar", self.holdings_sampling == "bar" and self.holdings is not None, None)] * frame.height
        return frame.with_columns(
            pl.Series("observation_kind", [m[0] for m in metadata], dtype=pl.String),
            pl.Series("holdings_complete", [m[1] for m in metadata], dtype=pl.Boolean),
            pl.Series("fill_sequence", [m[2] for m in metadata], dtype=pl.UInt32))

    def to_holdings_dataframe(self) -> pl.DataFrame:
        """Per-bar holdings snapshots: not captured by nautilus_like yet."""
        raise ArtifactError("Holdings were not captured; enable holdings_sampling='bar'")

    def to_recorded_dataframe(self) -> pl.DataFrame:
        raise ArtifactError("Strategy variables were not recorded")

    def to_returns_series(self) -> pl.Series:
        """Bar-level returns (one per bar; the first against the initial capital)."""
        return self.to_equity_dataframe()["return"]

    def to_daily_pnl(self, session_aligned: bool = False) -> pl.DataFrame:
        """Equity aggregated by calendar day (or, with `session_aligned=True` and a
        calendar, by trading session): open/close/high/low equity, `pnl`,
        `return_pct`, `cumulative_return` and `num_bars`."""
        from nautilus_like._daily import daily_pnl

        return daily_pnl(self, session_aligned=session_aligned)

    def to_daily_returns(self, calendar: Any = _UNSET, session_aligned: bool | None = None) -> pl.Series:
        """Daily returns for risk metrics. With no calendar given, the config's
        (else NYSE's) sessions; `calendar=None` keeps one return per bar."""
        from nautilus_like._daily import daily_returns

        return daily_returns(self, calendar=calendar, session_aligned=session_aligned, unset=_UNSET)

    def to_trade_records(self) -> list[dict[str, Any]]:
        """Trades in ml4t-diagnostic's `TradeRecord` form (exit time as `timestamp`,
        `duration`, `direction`, ...)."""
        records = []
        for t in self.trades:
            duration = t.exit_time - t.entry_time if t.exit_time is not None and t.entry_time is not None else None
            records.append({
                "timestamp": t.exit_time, "symbol": t.symbol, "entry_price": t.entry_price,
                "exit_price": t.exit_price, "pnl": t.pnl, "duration": duration, "direction": t.direction,
                "quantity": abs(t.quantity), "entry_timestamp": t.entry_time, "fees": t.fees,
                "slippage": t.exit_slippage + t.entry_slippage, "mfe": t.mfe, "mae": t.mae,
                "exit_reason": t.exit_reason, "metadata": {"bars_held": t.bars_held, "pnl_percent": t.pnl_percent},
            })
        return records

    # ------------------------------------------- beyond ml4t (engine records)

    @property
    def margin_calls(self) -> pl.DataFrame:
        """Margin calls the engine enforced (`enforce_margin_calls`): the close that
        breached maintenance margin, equity and requirement there, and how many
        positions were sent to liquidation at the next open."""
        if self._run is None:
            return pl.DataFrame(schema={"timestamp": self._time_dtype(()), "equity": pl.Float64,
                                        "requirement": pl.Float64, "positions_liquidated": pl.UInt32})
        return self._run.margin_calls()

    @property
    def limit_events(self) -> pl.DataFrame:
        """What the engine's portfolio limits did (`Engine(portfolio_limits=...)`), in
        order: a breach starting at a close (`order_id` null; "reduce" and
        "liquidate" exits follow at the next open), an exposure reduction repeated
        at a later close, or an entry refused (`action` "halt", with its order).
        `value` is the drawdown, daily loss or exposure as a fraction of equity,
        or the number of positions; `threshold` the limit it crossed."""
        if self._run is None:
            return pl.DataFrame(schema={"timestamp": self._time_dtype(()), "limit": pl.String,
                                        "action": pl.String, "value": pl.Float64, "threshold": pl.Float64,
                                        "order_id": pl.String})
        return self._run.limit_events()

    @property
    def borrow_fees(self) -> dict[str, float]:
        """Borrow fees charged on shorts (`borrow_rate`), per asset that paid any.
        They reduce cash and equity but not trade P&L."""
        return {} if self._run is None else self._run.borrow_fees()

    # ------------------------------------------------------- dict view

    def to_dict(self) -> dict[str, Any]:
        """The metrics at the top level plus the raw components (`trades`,
        `equity_curve`, `fills`, `portfolio_state`, ...): ml4t-backtest's
        backward-compatible dict of `Engine.run()`."""
        out = dict(self.metrics)
        out.update(self._components())
        return out

    _COMPONENT_NAMES = ("trades", "equity_curve", "fills", "funding_payments", "portfolio_state",
                        "initial_capital", "account_method", "instrument_accounting", "accounting_observations",
                        "futures_settlements", "futures_rolls", "holdings", "holdings_sampling",
                        "observation_metadata", "capital_changes", "recorded_variables",
                        "returns_include_commissions")

    def _optional_components(self) -> dict[str, Any]:
        analyzer = getattr(self, "trade_analyzer", None)
        if analyzer is None:
            analyzer = self._given_trade_analyzer
        return {k: v for k, v in (("predictions", self.predictions), ("input_provenance", self.input_provenance),
                                  ("equity", self.equity), ("trade_analyzer", analyzer)) if v is not None}

    def _components(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self._COMPONENT_NAMES}
        out.update(self._optional_components())
        return out

    def __getitem__(self, key: str) -> Any:
        """A metric or a raw component (`result["sharpe"]`, `result["trades"]`); KeyError if absent."""
        metrics = self.metrics
        if key in metrics:
            return metrics[key]
        if key in self._COMPONENT_NAMES:
            return getattr(self, key)
        return self._optional_components()[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self):
        return self.to_dict().keys()

    def items(self):
        return self.to_dict().items()

    def to_spec_dict(self) -> dict[str, Any]:
        """The resolved config, library version and realised run window (what
        `spec.yaml` holds; its `config` reads back with `BacktestConfig.from_dict`)."""
        from nautilus_like import __version__

        curve = self.equity_curve
        metrics = self.metrics
        start = curve[0][0].isoformat() if curve else None
        end = curve[-1][0].isoformat() if curve else None
        return {
            "version": 1,
            "library_version": __version__,
            "initial_capital": self.initial_capital,
            "account_method": self.account_method,
            "instrument_accounting": self.instrument_accounting,
            "returns_include_commissions": self.returns_include_commissions,
            "lifecycle_version": metrics.get("lifecycle_version"),
            "lifecycle_callback_counts": metrics.get("lifecycle_callback_counts", {}),
            "lifecycle_invocations": metrics.get("lifecycle_invocations", []),
            "execution_policy": metrics.get("execution_policy"),
            "target_intent_count": metrics.get("target_intent_count", 0),
            "child_order_intent_count": metrics.get("child_order_intent_count", 0),
            "intent_reconciliation_count": metrics.get("intent_reconciliation_count", 0),
            "target_rule_reconciliation_count": metrics.get("target_rule_reconciliation_count", 0),
            "target_intents": metrics.get("target_intents", []),
            "child_order_intents": metrics.get("child_order_intents", []),
            "intent_reconciliations": metrics.get("intent_reconciliations", []),
            "target_rule_reconciliations": metrics.get("target_rule_reconciliations", []),
            "config": self.config.to_dict() if self.config is not None else {},
            "window": {"start": start, "end": end},
        }

    # ------------------------------------------------------ artifacts

    def to_parquet(self, path: Any, include: list[str] | None = None, compression: str = "zstd") -> dict[str, Any]:
        """Writes the result as ml4t-backtest's artifact directory: one Parquet
        file per table (`trades.parquet`, `fills.parquet`, ...), `metrics.json`,
        `config.yaml`/`spec.yaml` with a config, and `manifest.json` last.

        `include` selects components (default: every available one). Returns the
        written paths by component, plus `"manifest"`. Raises `ArtifactWriteError`
        naming the component that is unavailable or failed.
        """
        return _artifacts.write(self, path, include=include, compression=compression)

    @classmethod
    def from_parquet(cls, path: Any, *, recovery: bool = False) -> BacktestResult:
        """Reads a directory `to_parquet` wrote, validated against its manifest.
        `recovery=True` accepts manifest-free or damaged artifacts and lists what
        it left out in `artifact_diagnostics`."""
        return _artifacts.read(cls, path, recovery=recovery)

    # ------------------------------------------------------------ schemas

    @staticmethod
    def _trades_schema() -> dict[str, pl.DataType]:
        f, s = pl.Float64(), pl.String()
        return {
            "symbol": s, "entry_time": pl.Datetime(), "exit_time": pl.Datetime(), "entry_price": f,
            "exit_price": f, "quantity": f, "direction": s, "pnl": f, "pnl_percent": f, "bars_held": pl.Int32(),
            "fees": f, "exit_slippage": f, "mfe": f, "mae": f, "entry_slippage": f, "multiplier": f,
            "entry_quote_mid_price": f, "entry_bid_price": f, "entry_ask_price": f, "entry_spread": f,
            "entry_available_size": f, "exit_quote_mid_price": f, "exit_bid_price": f, "exit_ask_price": f,
            "exit_spread": f, "exit_available_size": f, "gross_pnl": f, "net_return": f,
            "total_slippage_cost": f, "cost_drag": f, "exit_reason": s, "exit_reason_detail": s, "status": s,
        }

    @staticmethod
    def _fills_schema() -> dict[str, pl.DataType]:
        f, s = pl.Float64(), pl.String()
        return {
            "order_id": s, "fill_sequence": pl.UInt32(), "rebalance_id": s, "asset": s, "side": s,
            "quantity": f, "signed_quantity": f, "multiplier": f, "currency": s, "price": f,
            "timestamp": pl.Datetime(), "commission": f, "slippage": f, "order_type": s, "limit_price": f,
            "stop_price": f, "stop_triggered_at": pl.Datetime(), "price_source": s, "reference_price": f,
            "quote_mid_price": f, "bid_price": f, "ask_price": f, "spread": f, "bid_size": f, "ask_size": f,
            "available_size": f, "exit_reason": s, "exit_reason_detail": s,
        }

    @staticmethod
    def _rejected_orders_schema() -> dict[str, pl.DataType]:
        f, s = pl.Float64(), pl.String()
        return {
            "order_id": s, "symbol": s, "timestamp": pl.Datetime(), "requested_quantity": f,
            "filled_quantity": f, "remaining_quantity": f, "side": s, "order_type": s, "limit_price": f,
            "stop_price": f, "trail_amount": f, "parent_id": s, "rebalance_id": s, "status": s,
            "rejection_code": s, "rejection_reason": s,
        }

    @staticmethod
    def _equity_schema() -> dict[str, pl.DataType]:
        f = pl.Float64()
        return {"timestamp": pl.Datetime(), "equity": f, "return": f, "cumulative_return": f, "drawdown": f,
                "high_water_mark": f, "performance_equity": f}

    @staticmethod
    def _portfolio_state_schema() -> dict[str, pl.DataType]:
        f = pl.Float64()
        return {"timestamp": pl.Datetime(), "equity": f, "cash": f, "gross_exposure": f, "net_exposure": f,
                "open_positions": pl.Int32()}

    def __repr__(self) -> str:
        metrics = self.metrics
        final_value = metrics.get("final_value", 0)
        total_return = metrics.get("total_return_pct", 0)
        n_trades = (self._run.trades_frame().height if self._from_columns("trades") else len(self.trades))
        n_bars = len(self._run.timeline) if self._from_columns("equity_curve") else len(self.equity_curve)
        return (f"BacktestResult(trades={n_trades}, bars={n_bars}, "
                f"final_value=${final_value:,.2f}, return={total_return:+.2f}%)")

    @property
    def trade_analyzer(self) -> Any:
        """A `TradeAnalyzer` of the realized legs (closed and partial; open positions
        excluded), or the one given to the constructor."""
        if self._given_trade_analyzer is not None:
            return self._given_trade_analyzer
        from nautilus_like.analytics.trades import TradeAnalyzer

        return TradeAnalyzer([t for t in self.trades if t.status != "open"])


def _align_join_time_zones(trades_df: pl.DataFrame, signals_df: pl.DataFrame, timestamp_col: str,
                           trade_time_cols: tuple[str, ...] = ("entry_time", "exit_time"),
                           ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Puts trade times and signal timestamps on one time zone before the join.

    A naive side is the same wall clock with its zone dropped, so it is
    localized to the other side's zone (never shifted: shifting would still
    join, silently to the wrong rows). Two aware sides name instants already,
    so the signals are converted to the trades' zone.
    """
    left = trades_df.schema.get(trade_time_cols[0])
    right = signals_df.schema.get(timestamp_col)
    if not isinstance(left, pl.Datetime) or not isinstance(right, pl.Datetime):
        return trades_df, signals_df
    if left.time_zone == right.time_zone:
        return trades_df, signals_df
    if left.time_zone is None:
        present = [c for c in trade_time_cols if c in trades_df.columns]
        return trades_df.with_columns(pl.col(c).dt.replace_time_zone(right.time_zone) for c in present), signals_df
    if right.time_zone is None:
        return trades_df, signals_df.with_columns(pl.col(timestamp_col).dt.replace_time_zone(left.time_zone))
    return trades_df, signals_df.with_columns(pl.col(timestamp_col).dt.convert_time_zone(left.time_zone))


def enrich_trades_with_signals(trades_df: pl.DataFrame, signals_df: pl.DataFrame,
                               signal_columns: list[str] | None = None, timestamp_col: str = "timestamp",
                               asset_col: str | None = None, trades_asset_col: str | None = None) -> pl.DataFrame:
    """Adds `entry_<signal>` and `exit_<signal>` columns: each signal's last value
    at or before the trade's entry and exit time (backward as-of join), per
    asset when `asset_col` names the signals' asset column.

    >>> trades = result.to_trades_dataframe()
    >>> enriched = enrich_trades_with_signals(trades, signals, signal_columns=["score"], asset_col="asset")
    >>> enriched.filter(pl.col("exit_reason") == "stop_loss").select("exit_score", "pnl")

    `signal_columns` defaults to every column but the timestamp and asset
    columns; the trades' asset column is "symbol", else "asset", unless
    `trades_asset_col` names it. Rows keep the trades' order.
    """
    excluded = {timestamp_col} | ({asset_col} if asset_col else set())
    if signal_columns is None:
        signal_columns = [c for c in signals_df.columns if c not in excluded]
    if not signal_columns:
        return trades_df
    trades_df, signals_df = _align_join_time_zones(trades_df, signals_df, timestamp_col)
    by_asset = bool(asset_col) and asset_col in signals_df.columns
    if by_asset:
        if trades_asset_col is None:
            trades_asset_col = next((c for c in ("symbol", "asset") if c in trades_df.columns), None)
            if trades_asset_col is None:
                raise ValueError("Multi-asset enrichment requires trades_df to include 'symbol' or 'asset', "
                                 "or set trades_asset_col explicitly.")
        if trades_asset_col not in trades_df.columns:
            raise ValueError(f"trades_asset_col '{trades_asset_col}' not found in trades_df "
                             f"(columns: {trades_df.columns})")
    keys = [timestamp_col, asset_col] if by_asset else [timestamp_col]
    signals = signals_df.select(keys + list(signal_columns)).sort(keys[::-1])
    out = trades_df.with_row_index("_trade_order")
    for side in ("entry", "exit"):
        time_col = f"{side}_time"
        renamed = signals.rename({c: f"{side}_{c}" for c in signal_columns})
        if by_asset:
            out = out.sort(trades_asset_col, time_col).join_asof(
                renamed, left_on=time_col, right_on=timestamp_col, by_left=trades_asset_col,
                by_right=asset_col, strategy="backward", check_sortedness=False)
        else:
            out = out.sort(time_col).join_asof(renamed, left_on=time_col, right_on=timestamp_col,
                                               strategy="backward")
    return out.sort("_trade_order").drop("_trade_order")
