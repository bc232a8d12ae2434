"""Daily aggregation of a result's equity curve: `to_daily_pnl` and
`to_daily_returns` (ml4t-backtest's rules).

A day is a calendar day of the timestamps, or, for a calendar whose session
opens in the evening (CME's Globex: 17:00 Chicago), the trading session: a
bar at or after the session start belongs to the next day's session.
"""

from __future__ import annotations

from datetime import time
from typing import Any

import polars as pl

__all__ = ["daily_pnl", "daily_returns"]

_DAILY_SCHEMA = {"date": pl.Date, "open_equity": pl.Float64, "close_equity": pl.Float64,
                 "high_equity": pl.Float64, "low_equity": pl.Float64, "pnl": pl.Float64,
                 "return_pct": pl.Float64, "cumulative_return": pl.Float64, "num_bars": pl.Int32}

# Calendars whose session starts the evening before its trading date, with
# the zone and local time of the start.
_EVENING_SESSIONS = {"CME": ("America/Chicago", time(17)), "CBOT": ("America/Chicago", time(17)),
                     "NYMEX": ("America/New_York", time(18)), "COMEX": ("America/New_York", time(18))}


def _evening_session(calendar: str) -> tuple[str, time] | None:
    name = calendar.upper()
    for prefix, session in _EVENING_SESSIONS.items():
        if name.startswith(prefix):
            return session
    return None


def _config_value(config: Any, name: str) -> Any:
    """A config's setting, or its feed spec's (configs without them give None)."""
    value = getattr(config, name, None) if config is not None else None
    if value is None and config is not None:
        value = getattr(getattr(config, "feed_spec", None), name, None)
    return value


def _resolved_calendar(config: Any) -> str | None:
    """The config's calendar in force (`resolved_calendar`), else its `calendar` (None when unset)."""
    if config is not None and hasattr(config, "resolved_calendar"):
        return config.resolved_calendar
    calendar = _config_value(config, "calendar")
    return calendar if isinstance(calendar, str) else None


def _default_calendar(config: Any) -> str | None:
    """The calendar daily returns use when none is asked for: the config's
    resolved feed spec's (None: none), else its calendar, else NYSE."""
    spec = getattr(config, "resolved_feed_spec", None) if config is not None else None
    if spec is not None:
        return spec.resolve_calendar()
    calendar = _config_value(config, "calendar")
    return calendar if isinstance(calendar, str) else "NYSE"


def _session_start(result: Any, calendar: str) -> tuple[str, time] | None:
    session = _evening_session(calendar)
    start = _config_value(result.config, "session_start_time")
    if session is not None and start:
        hour, minute = (int(p) for p in str(start).split(":")[:2])
        session = (session[0], time(hour, minute))
    return session


def _session_dates(result: Any, timestamps: pl.Series, calendar: str) -> pl.Series:
    zone, start = _session_start(result, calendar)
    times = timestamps
    if times.dtype.time_zone is None:
        zone = getattr(result.config, "resolved_timezone", None) or _config_value(result.config, "timezone")
        times = times.dt.replace_time_zone(zone or "UTC")
    local = times.dt.convert_time_zone(zone)
    frame = pl.DataFrame({"local": local})
    return frame.select(pl.when(pl.col("local").dt.time() >= start)
                        .then(pl.col("local").dt.date() + pl.duration(days=1))
                        .otherwise(pl.col("local").dt.date()).alias("date")).to_series()


def _aggregate(result: Any, dates: pl.Series) -> pl.DataFrame:
    equity = result.to_equity_dataframe()
    daily = (equity.with_columns(dates.alias("date")).group_by("date", maintain_order=True)
             .agg(pl.col("equity").first().alias("open_equity"), pl.col("equity").last().alias("close_equity"),
                  pl.col("equity").max().alias("high_equity"), pl.col("equity").min().alias("low_equity"),
                  pl.len().alias("num_bars"))
             .sort("date"))
    initial = result.initial_capital
    if initial is not None:
        daily = daily.with_columns(pl.col("close_equity").shift(1).fill_null(initial).alias("open_equity"))
    daily = daily.with_columns((pl.col("close_equity") - pl.col("open_equity")).alias("pnl"))
    previous = daily["close_equity"].shift(1)
    if initial is not None:
        previous = previous.fill_null(initial)
    return_pct = ((daily["close_equity"] - previous) / previous).fill_null(0.0)
    first_open = daily["open_equity"][0] if daily.height else 1.0
    daily = daily.with_columns(return_pct.alias("return_pct"),
                               (daily["close_equity"] / first_open - 1.0).alias("cumulative_return"))
    return _without_flows(result, equity, dates, daily)


def _without_flows(result: Any, equity: pl.DataFrame, dates: pl.Series, daily: pl.DataFrame) -> pl.DataFrame:
    """With external capital flows, a day's return compounds its bars'
    flow-adjusted returns and its P&L leaves the flows out (`external_flow`)."""
    if not result.capital_changes or not daily.height:
        return daily
    row = {t: i for i, t in enumerate(equity["timestamp"].to_list())}
    flows = [0.0] * equity.height
    for change in result.capital_changes:
        flows[row[change.timestamp]] += change.cash_delta
    per_day = (pl.DataFrame({"date": dates, "r": equity["return"], "f": pl.Series(flows, dtype=pl.Float64)})
               .group_by("date", maintain_order=True)
               .agg(((pl.col("r") + 1.0).product() - 1.0).alias("__return"), pl.col("f").sum().alias("__flow")))
    daily = daily.join(per_day, on="date", how="left", maintain_order="left")
    return (daily.with_columns(pl.col("__return").alias("return_pct"),
                               ((pl.col("__return") + 1.0).cum_prod() - 1.0).alias("cumulative_return"),
                               (pl.col("pnl") - pl.col("__flow")).alias("pnl"),
                               pl.col("__flow").alias("external_flow"))
            .drop("__return", "__flow"))


def daily_pnl(result: Any, *, session_aligned: bool = False) -> pl.DataFrame:
    """Open/close/high/low equity, P&L and return per day (see the module doc)."""
    if not len(result._timeline):
        return pl.DataFrame(schema=_DAILY_SCHEMA)
    equity = result.to_equity_dataframe()
    calendar = _resolved_calendar(result.config)
    if session_aligned and calendar and hasattr(result.config, "resolved_calendar"):
        return _session_pnl(result, calendar)
    if session_aligned and calendar and _evening_session(calendar) is not None:
        return _aggregate(result, _session_dates(result, equity["timestamp"], calendar))
    return _aggregate(result, equity["timestamp"].dt.date())


def _session_pnl(result: Any, calendar: str) -> pl.DataFrame:
    """Per exchange session (`sessions.compute_session_pnl`, as ml4t's
    session-aligned daily P&L): session_date, open/close/high/low equity,
    pnl, return_pct, intra_session_dd, ..."""
    from nautilus_like.sessions import SessionConfig, compute_session_pnl

    config = result.config
    # The config's time fields, else those the run's feed declared.
    fed = getattr(result, "_feed_spec", None)

    def declared(name: str) -> Any:
        value = _config_value(config, name)
        return getattr(fed, name, None) if value is None else value

    clock = SessionConfig(calendar=calendar, timezone=declared("timezone") or "UTC",
                          session_start_time=declared("session_start_time"),
                          timestamp_semantics=declared("timestamp_semantics"), bar_label=declared("bar_label"),
                          data_frequency=config.data_frequency)
    curve = result.equity_curve
    if result.capital_changes:
        # External flows are no P&L: the sessions are measured on the flow-free
        # (time-weighted) equity, the initial capital compounded by each bar's
        # flow-adjusted return, so a deposit is no gain and a withdrawal no
        # drawdown. (Its equity columns are that curve's, not the account's.)
        returns = result.to_equity_dataframe()["return"].fill_null(0.0).to_list()
        value, adjusted = float(result.initial_capital), []
        for (timestamp, _), r in zip(curve, returns, strict=True):
            value *= 1.0 + r
            adjusted.append((timestamp, value))
        curve = adjusted
    return compute_session_pnl(curve, clock, initial_capital=result.initial_capital)


def _looks_date_labeled(timestamps: pl.Series) -> bool:
    """Every timestamp at midnight: daily bars labelled by their date."""
    return bool(timestamps.len()) and bool(((timestamps.dt.hour() == 0) & (timestamps.dt.minute() == 0)).all())


def daily_returns(result: Any, *, calendar: Any, session_aligned: bool | None, unset: Any) -> pl.Series:
    """One return per day (per session with an evening-session calendar), or
    per bar with `calendar=None`."""
    # (ml4t.specs' UNSET_CALENDAR enum member reads the same as ours.)
    if calendar is unset or getattr(calendar, "value", None) == "unset":
        calendar = _default_calendar(result.config)
    if calendar is None:
        if session_aligned:
            raise ValueError("session_aligned=True requires a calendar")
        return result.to_returns_series().alias("daily_return")
    equity = result.to_equity_dataframe()
    if session_aligned is None:
        semantics = _config_value(result.config, "timestamp_semantics")
        semantics = str(getattr(semantics, "value", semantics) or "")
        session_aligned = (_evening_session(calendar) is not None and "session_label" not in semantics
                           and ("event_time" in semantics or "bar_close" in semantics
                                or not _looks_date_labeled(equity["timestamp"])))
    if not equity.height:
        return pl.Series("daily_return", [], dtype=pl.Float64)
    if session_aligned and _evening_session(calendar) is not None:
        daily = _aggregate(result, _session_dates(result, equity["timestamp"], calendar))
    else:
        daily = _aggregate(result, equity["timestamp"].dt.date())
    return daily["return_pct"].alias("daily_return")
