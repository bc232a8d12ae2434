"""`Engine` and `run_backtest`: wire a feed, a strategy and a config to the Rust engine."""

from __future__ import annotations

import copy
import functools
import warnings
from pathlib import Path
from typing import Any

import polars as pl

from nautilus_like._broker import Broker
from nautilus_like._controls import FEED_SPECS
from nautilus_like._costs import ALL_ASSETS, commission_model_of, routes, slippage_model_of
from nautilus_like._driver import (
    cash_event_records,
    collect_results,
    create_engine,
    run_bars,
    set_cash_events,
    set_portfolio_limits,
    set_session_closes,
    set_session_mask,
    skipped_bars,
)
from nautilus_like._strategy import Strategy
from nautilus_like.capital import CapitalChange, capital_schedule, chained_returns
from nautilus_like.contracts import ContractSpec, resolve_margin_schedules, resolve_multipliers
from nautilus_like.config import CODES, BacktestConfig, CancelPolicy, ExecutionPrice, engine_settings
from nautilus_like.datafeed import DataFeed
from nautilus_like.execution import impact_spec, is_limited, limit_routes
from nautilus_like.execution.rebalancer import run_schedule_checks
from nautilus_like.funding import FundingPayment, funding_schedule
from nautilus_like.portfolio_limits import limit_specs
from nautilus_like.result import BacktestResult
from nautilus_like.runtime import RuntimeServices
from nautilus_like.runtime import _observe as observe
from nautilus_like.time_semantics import TimestampSemantics

__all__ = ["Engine", "run_backtest"]


class Engine:
    """Runs one backtest: `Engine(feed, strategy, config).run() -> BacktestResult`.

    >>> result = Engine(DataFeed(prices_df=prices), MyStrategy(), BacktestConfig()).run()
    >>> result.metrics["sharpe"]

    An engine runs once; build a new one (they are cheap) for another run.

    `portfolio_limits` (none by default) are enforced by the engine every bar,
    beyond ml4t-backtest (see `nautilus_like.portfolio_limits`):

    >>> Engine(feed, strategy, config, portfolio_limits=[MaxDrawdownLimit(0.20, action="liquidate")])

    `funding_df` schedules perpetual-futures funding (`nautilus_like.funding`);
    the feed's `capital_flows` schedule deposits and withdrawals
    (`nautilus_like.capital`). The engine moves their cash as each bar opens.

    `runtime` (a `RuntimeServices`) bounds the run's trading events (`start`,
    `end`, `execution_windows`), applies fields' publication times
    (`known_at_cols`) and serves causal market reads during the run:

    >>> Engine(feed, strategy, config, runtime=RuntimeServices(start=datetime(2025, 1, 7, tzinfo=UTC)))
    """

    def __init__(self, feed: DataFeed, strategy: Strategy, config: BacktestConfig | None = None, *,
                 commission_model: Any = None, slippage_model: Any = None, execution_limits: Any = None,
                 market_impact_model: Any = None, contract_specs: dict[str, ContractSpec] | None = None,
                 portfolio_limits: Any = None, funding_df: pl.DataFrame | None = None,
                 runtime: RuntimeServices | None = None) -> None:
        if not isinstance(feed, DataFeed):
            raise TypeError(f"feed must be a nautilus_like.DataFeed, got {type(feed).__name__}")
        if not isinstance(strategy, Strategy):
            raise TypeError(
                f"strategy must subclass nautilus_like.Strategy, got {type(strategy).__name__}")
        if config is None:
            config = BacktestConfig()
        elif not isinstance(config, BacktestConfig):
            raise TypeError(f"config must be a BacktestConfig, got {type(config).__name__}")
        # Copy (the caller's config stays untouched) and validate again: fields
        # may have been assigned after construction. The feed's spec fills in
        # the calendar, timezone and frequency the config leaves unset (ml4t's rule).
        config = copy.copy(config)
        config.validate(warn=False)
        config = config.merge_feed_spec(getattr(feed, "feed_spec", None))
        clock = _session_clock(config, feed)
        # An explicit model replaces the config's cost fields (as in ml4t-backtest).
        if commission_model is None:
            commission_model = commission_model_of(config)
        if slippage_model is None:
            slippage_model = slippage_model_of(config)
        self.feed = feed
        self.strategy = strategy
        self.config = config
        # ml4t gives a model that reads observed bar ranges its own runtime.
        if runtime is None and getattr(slippage_model, "requires_observed_ohlc", False):
            runtime = RuntimeServices()
        if runtime is not None and not isinstance(runtime, RuntimeServices):
            raise TypeError(f"runtime must be a nautilus_like.RuntimeServices, got {type(runtime).__name__}")
        self.runtime = runtime
        # The feed as this run reads it: the runtime's trading events only, its
        # fields as published at each event (the caller's feed is unchanged).
        if runtime is not None:
            keep, published = runtime._check_feed(feed), runtime._published_columns(feed)
            signals, context = runtime.signal_known_at_cols, runtime.context_known_at_cols
            eligible = runtime.signal_eligible_cols
            if keep is not None or published or signals or context or eligible:
                feed = feed._for_run(keep, published, signals, context, eligible)
        self._run_feed = feed
        self._view = feed._market_view()
        index = self._view.asset_index
        for field in ("execution_price", "mark_price"):
            if getattr(config, field) is ExecutionPrice.VWAP and not feed.has_vwap:
                raise ValueError(f"{field} is VWAP but the feed declares no VWAP column: pass "
                                 f"DataFeed(..., vwap_col=<column>). (A bar without a VWAP value is an "
                                 f"ordinary no-trade bar; a missing column is a configuration error.)")
        if execution_limits is not None and is_limited(execution_limits) and not feed._has_volume:
            raise ValueError("execution_limits need a 'volume' column in the prices (participation is a "
                             "share of each bar's volume)")
        self.execution_limits = execution_limits
        self.market_impact_model = market_impact_model
        sessions = feed._sessions()
        closes = mask = self._session_warning = None
        if clock is not None:
            from nautilus_like._session_run import session_bounds, session_mask

            if config.enforce_sessions:
                mask, self._session_warning = session_mask(feed.timeline, clock)
            if config.cancel_policy is CancelPolicy.SESSION_END:
                # Calendar sessions replace calendar days (DAY orders follow them too).
                sessions, closes = session_bounds(feed.timeline, clock)
        if config.borrow_rate > 0 and sessions is None:
            raise ValueError(f"borrow_rate={config.borrow_rate} accrues per calendar day, but the feed's "
                             f"timestamps ({feed.timeline.dtype}) are not dates or datetimes")
        # Scheduled cash events, validated before anything runs.
        self._capital = capital_schedule(getattr(feed, "capital_flows", None), feed.timeline)
        self._funding = funding_schedule(funding_df, feed.timeline, index)
        multipliers = resolve_multipliers(contract_specs, index)
        margins = resolve_margin_schedules(config, contract_specs, index)
        limits = limit_specs(portfolio_limits)
        if sessions is None and any(s["kind"] == CODES["NL_PORTFOLIO_LIMIT_DAILY_LOSS"] for s in limits):
            raise ValueError(f"DailyLossLimit resets every trading day, but the feed's timestamps "
                             f"({feed.timeline.dtype}) are not dates or datetimes")
        self._state = create_engine(
            self._view, engine_settings(config), feed.timestamps,
            routes(commission_model, "commission", index), routes(slippage_model, "slippage", index),
            sessions,
            None if execution_limits is None else limit_routes(execution_limits, index, ALL_ASSETS),
            None if market_impact_model is None else impact_spec(market_impact_model), multipliers,
            dict(contract_specs or {}), margins)
        if limits:
            set_portfolio_limits(self._state, limits)
        if self._capital is not None or self._funding is not None:
            set_cash_events(self._state, None if self._capital is None else self._capital.columns(),
                            None if self._funding is None else self._funding.columns())
        if closes is not None:
            set_session_closes(self._state, closes)
        # The bars the run trades (all, unless sessions are enforced).
        self._session_mask = None
        if mask is not None and not mask.all():
            set_session_mask(self._state, mask)
            self._session_mask = mask
            # A cash event on a bar the run passes over would never apply (or apply
            # late): refused, as ml4t refuses events on filtered sessions.
            for what, schedule in (("capital flow", self._capital), ("funding event", self._funding)):
                off = [] if schedule is None else [int(b) for b in schedule.bars if not mask[int(b)]]
                if off:
                    raise ValueError(f"a {what} at {feed.timestamps[off[0]]} falls on a bar outside the exchange "
                                     f"sessions (enforce_sessions=True passes over it); move it to a session bar")
        self.portfolio_limits = list(portfolio_limits or [])
        self._state.config = config
        self._state.commission_model, self._state.slippage_model = commission_model, slippage_model
        if runtime is not None:
            observe(self._state)
        self.broker = Broker(self._state)
        FEED_SPECS[self._state] = feed.feed_spec  # a calendar the feed declares (controls' sessions)
        self._ran = False
        self._run_columns: Any = None

    @property
    def commission_model(self) -> Any:
        """The commission model the run charges (`broker.commission_model`, assignable there)."""
        return self.broker.commission_model

    @property
    def slippage_model(self) -> Any:
        """The slippage model the run prices fills with (`broker.slippage_model`)."""
        return self.broker.slippage_model

    def __getattr__(self, name: str) -> Any:
        # ml4t's Engine exposes its settings as attributes (engine.execution_mode, ...).
        config = self.__dict__.get("config")
        if config is not None and not name.startswith("_") and hasattr(config, name):
            return getattr(config, name)
        raise AttributeError(f"'Engine' object has no attribute {name!r}")

    @classmethod
    def from_config(cls, feed: DataFeed, strategy: Strategy, config: BacktestConfig, *,
                    contract_specs: dict[str, ContractSpec] | None = None, market_impact_model: Any = None,
                    commission_model: Any = None, slippage_model: Any = None, execution_limits: Any = None,
                    portfolio_limits: Any = None, funding_df: pl.DataFrame | None = None,
                    runtime: RuntimeServices | None = None) -> Engine:
        """`Engine(feed, strategy, config, ...)` by name (ml4t's `Engine.from_config`)."""
        return cls(feed, strategy, config, contract_specs=contract_specs, market_impact_model=market_impact_model,
                   commission_model=commission_model, slippage_model=slippage_model,
                   execution_limits=execution_limits, portfolio_limits=portfolio_limits, funding_df=funding_df,
                   runtime=runtime)

    def run(self) -> BacktestResult:
        """Runs every bar and returns the result (`on_end` runs even on failure)."""
        if self._ran:
            raise RuntimeError("Engine.run() was already started; create a new Engine for each run")
        self._ran = True
        in_sessions = self._session_mask is not None
        if self._session_warning is not None:
            warnings.warn(self._session_warning, UserWarning, stacklevel=2)
        feed = self._run_feed
        clock = None if self.runtime is None else self.runtime._bind(self, feed.timestamps)
        try:
            run_bars(self._state, self._view, self.strategy, self.broker, feed._contexts(), self.config, clock,
                     in_sessions)
        except BaseException:
            if self.broker._controls is not None:
                self.broker._controls.discard_unsettled()
            # A failed run keeps what it recorded up to the failure (ml4t's
            # engine.equity_curve after an account control's breach); the
            # run's own error is the one raised, whatever the reading does.
            try:
                self._run_columns = collect_results(self._state, self._view)
            except Exception:
                self._run_columns = None
            raise
        finally:
            if self.runtime is not None:
                self.runtime._unbind()
        if self.broker._controls is not None:
            self.broker._controls.require_closes()
        # A scheduled TargetWeightExecutor must have seen every event and met its schedule.
        run_schedule_checks(self._state, len(feed.timeline))
        run_columns = collect_results(self._state, self._view)
        run_columns["capital_changes"] = changes = self.capital_changes
        run_columns["funding_payments"] = self.funding_payments
        if changes:
            # As ml4t-backtest: a run whose flow-adjusted return is undefined
            # (a nonpositive valuation around a flow) has no result.
            applied = cash_event_records(self._state)["capital_changes"]
            flows = list(zip(applied["bar"].tolist(), applied["nav_before"].tolist(), applied["nav_after"].tolist()))
            chained_returns(run_columns["equity"].tolist(), self.config.initial_cash, flows)
        if in_sessions:
            _index_traded_bars(run_columns, self._session_mask)
            run_columns["skipped_bars"] = skipped_bars(self._state)
        self._run_columns = run_columns
        return self._result_of_run()

    @property
    def capital_changes(self) -> list[CapitalChange]:
        """The external capital flows applied so far, in order (a new list)."""
        if self._capital is None:
            return []
        changes = cash_event_records(self._state)["capital_changes"]
        times, schedule = self._run_feed.timestamps, self._capital
        return [CapitalChange(times[bar], schedule.event_ids[flow], schedule.kind_names[flow],
                              float(schedule.values[flow]), delta, before, after)
                for bar, flow, delta, before, after in zip(
                    changes["bar"].tolist(), changes["flow"].tolist(), changes["cash_delta"].tolist(),
                    changes["nav_before"].tolist(), changes["nav_after"].tolist())]

    @property
    def funding_payments(self) -> list[FundingPayment]:
        """The funding events applied so far, in order (a new list)."""
        if self._funding is None:
            return []
        paid = cash_event_records(self._state)["funding_payments"]
        times, names, schedule = self._run_feed.timestamps, self._view.asset_names, self._funding
        return [FundingPayment(times[bar], names[asset], quantity, None if mark != mark else mark, multiplier,
                               schedule.rates[k], schedule.amounts[k], delta)
                for k, (bar, asset, quantity, mark, multiplier, delta) in enumerate(zip(
                    paid["bar"].tolist(), paid["asset"].tolist(), paid["quantity"].tolist(),
                    paid["mark_price"].tolist(), paid["multiplier"].tolist(), paid["cash_delta"].tolist()))]

    def _result_of_run(self) -> BacktestResult:
        feed = self._run_feed
        timeline = feed.timeline
        if self._session_mask is not None:
            # Bars outside the sessions have no equity point (as in ml4t-backtest).
            timeline = timeline.filter(pl.Series(self._session_mask.astype(bool)))
        result = BacktestResult._from_run(
            self._run_columns,
            assets=feed.assets,
            timeline=timeline,
            last_bar=feed._last_bar(),
            config=self.config,
            broker=self.broker,
            predictions=getattr(feed, "signals", None),
        )
        # What the feed declared about its timestamps (session-aligned P&L reads it).
        result._feed_spec = self.feed.feed_spec
        return result

    @functools.cached_property
    def _own_result(self) -> BacktestResult:
        # The engine's reading of the run (built once, on the first read),
        # apart from the result run() handed out, which its caller may change.
        return self._result_of_run()

    @property
    def equity_curve(self) -> list[tuple[Any, float]]:
        """The run's `(timestamp, equity)` per bar (ml4t's `engine.equity_curve`):
        a new list on every read, apart from the result's; empty before `run()`."""
        return [] if self._run_columns is None else list(self._own_result.equity_curve)

    @property
    def portfolio_state(self) -> list[tuple]:
        """The run's per-bar portfolio rows, as `result.portfolio_state` (a new list)."""
        return [] if self._run_columns is None else list(self._own_result.portfolio_state)


def _index_traded_bars(raw: dict[str, Any], mask: Any) -> None:
    """Renumbers the result columns' bars (indices into the feed's timeline)
    as indices into the traded bars' timeline: the bars passed over outside
    the sessions have no row (-1, "no bar", stays -1)."""
    import numpy as np

    rank = np.cumsum(mask.astype(np.int64)) - 1

    def renumber(bars: Any) -> Any:
        bars = np.asarray(bars, dtype=np.int64)
        return np.where(bars >= 0, rank[np.clip(bars, 0, len(rank) - 1)], -1)

    fills, trades = raw["fills"], raw["trades"]
    fills["bar"] = renumber(fills["bar"])
    fills["stop_triggered_bar"] = renumber(fills["stop_triggered_bar"])
    trades["entry_bar"] = renumber(trades["entry_bar"])
    trades["exit_bar"] = renumber(trades["exit_bar"])
    for pos in raw["positions"]:
        pos["entry_bar"] = int(renumber([pos["entry_bar"]])[0])
    raw["margin_calls"] = [(int(renumber([c[0]])[0]),) + tuple(c[1:]) for c in raw["margin_calls"]]
    raw["limit_events"] = [(int(renumber([x[0]])[0]),) + tuple(x[1:]) for x in raw["limit_events"]]


def _session_clock(config: BacktestConfig, feed: DataFeed) -> Any:
    """The run's calendar settings when the config uses a calendar at run
    time (`enforce_sessions`, `cancel_policy="session_end"`), else None.
    An unset calendar first inherits the feed's declaration."""
    from nautilus_like._session_run import RunClock, inherit_feed_calendar

    inherit_feed_calendar(config, feed)
    session_end = config.cancel_policy is CancelPolicy.SESSION_END
    if not (config.enforce_sessions or session_end):
        return None
    calendar = config.resolved_calendar
    if calendar is None:
        if session_end:
            raise ValueError("session_end cancellation requires a declared calendar (config calendar is None)")
        return None
    from nautilus_like.calendar import get_calendar

    try:
        get_calendar(calendar)
    except RuntimeError as exc:  # pandas-market-calendars' "not one of the registered classes"
        raise ValueError(f"calendar={calendar!r} is not an exchange calendar pandas-market-calendars knows "
                         f"(nautilus_like.calendar.list_calendars() lists them)") from exc
    clock = RunClock(config, feed)
    if session_end and clock.semantics not in (TimestampSemantics.EVENT_TIME, TimestampSemantics.BAR_CLOSE):
        raise ValueError("session_end cancellation requires declared physical timestamp_semantics "
                         "('event_time' or 'bar_close' in the feed spec), got "
                         f"{getattr(clock.semantics, 'value', clock.semantics)!r}")
    return clock


def run_backtest(prices: pl.DataFrame | str | Path, strategy: Strategy, signals: Any = None,
                 context: Any = None, config: BacktestConfig | str | None = None, *,
                 feed_spec: Any = None, contract: Any = None, contract_specs: dict[str, ContractSpec] | None = None,
                 market_impact_model: Any = None, commission_model: Any = None, slippage_model: Any = None,
                 execution_limits: Any = None, portfolio_limits: Any = None,
                 funding_df: pl.DataFrame | None = None, capital_flows: pl.DataFrame | None = None,
                 runtime: RuntimeServices | None = None) -> BacktestResult:
    """One call: build the feed and the engine, run, return the result.

    `prices` (and `signals`/`context`) may be DataFrames or Parquet paths;
    `config` a `BacktestConfig` or a preset name ("default", "backtrader",
    ...). `feed_spec` (or its alias `contract`) names the feed's columns (see
    `DataFeed`); the models, limits and `runtime` are `Engine`'s.

    >>> run_backtest(prices, MyStrategy(), config="backtrader", commission_model=PerShareCommission(0.005))
    """
    if isinstance(config, str):
        config = BacktestConfig.from_preset(config)

    def frame_or_path(name: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        return {f"{name}_path": value} if isinstance(value, (str, Path)) else {f"{name}_df": value}

    feed = DataFeed(**frame_or_path("prices", prices), **frame_or_path("signals", signals),
                    **frame_or_path("context", context), feed_spec=feed_spec, contract=contract,
                    capital_flows=capital_flows)
    return Engine(feed, strategy, config, contract_specs=contract_specs, market_impact_model=market_impact_model,
                  commission_model=commission_model, slippage_model=slippage_model,
                  execution_limits=execution_limits, portfolio_limits=portfolio_limits, funding_df=funding_df,
                  runtime=runtime).run()
