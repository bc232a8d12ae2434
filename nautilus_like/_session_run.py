"""What an exchange calendar means for one run: which calendar is in force
(config, then the config's and the feed's declarations, then NYSE), which
bars `enforce_sessions` keeps, and each bar's session and session close for
`CancelPolicy.SESSION_END`.

Everything here is computed once, vectorized, before the first bar; the Rust
kernel reads the results per bar (`nl_engine_set_session_mask`,
`nl_engine_set_sessions`, `nl_engine_set_session_closes`). A run whose config
neither enforces sessions nor cancels at session end never imports the
calendar library.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from nautilus_like.time_semantics import (
    UNSET_CALENDAR,
    FeedTimeMetadata,
    TimestampSemantics,
    coerce_frequency,
    is_unset_calendar,
)

# ml4t-backtest's thresholds for the "did the timezone of naive timestamps
# cost the session filter most bars?" warning.
_DIAGNOSTIC_MAX_DATES = 20
_DIAGNOSTIC_MAX_RETENTION = 0.5
_DIAGNOSTIC_MAX_REQUIRED_GAIN = 4
_DIAGNOSTIC_MIN_GAIN_FRACTION = 0.1
_DIAGNOSTIC_MIN_RELATIVE_GAIN = 1.25
_DIAGNOSTIC_NEAR_TOTAL_LOSS = 0.1


def inherit_feed_calendar(config: Any, feed: Any) -> None:
    """An unset `config.calendar` takes the calendar the config's own
    `feed_spec` declares, else the feed's (None declared under the version-2
    time contract disables calendars); nothing declared leaves it unset (NYSE)."""
    if not is_unset_calendar(config.calendar):
        return
    own = getattr(config, "feed_spec", None)
    if own is not None and not is_unset_calendar(FeedTimeMetadata(own).calendar):
        return  # config.resolved_calendar reads it
    declared = getattr(feed, "_declared_calendar", UNSET_CALENDAR)
    if is_unset_calendar(declared):
        declared = FeedTimeMetadata(getattr(feed, "feed_spec", None)).calendar
    if not is_unset_calendar(declared):
        config.calendar = declared


class RunClock:
    """The time settings of a run: calendar, the zone naive timestamps are
    read in, frequency, timestamp semantics and bar label."""

    def __init__(self, config: Any, feed: Any) -> None:
        own = FeedTimeMetadata(getattr(config, "feed_spec", None))
        fed = FeedTimeMetadata(getattr(feed, "feed_spec", None))
        self.calendar: str | None = config.resolved_calendar
        self.timezone: str = getattr(config, "timezone", None) or own.timezone or fed.timezone or "UTC"
        self.semantics = (getattr(config, "timestamp_semantics", None) or own.timestamp_semantics
                          or fed.timestamp_semantics)
        self.frequency = coerce_frequency(config.data_frequency)
        spec = getattr(feed, "feed_spec", None)
        self.bar_label = getattr(spec, "bar_label", None)

    @property
    def by_date(self) -> bool:
        """Sessions are read off the timestamps' dates (session labels, daily bars)."""
        return self.semantics is TimestampSemantics.SESSION_LABEL or (
            self.semantics is None and self.frequency is not None and self.frequency.value == "daily")


def session_mask(timeline: pl.Series, clock: RunClock) -> tuple[np.ndarray, str | None]:
    """Per bar, 1 when it lies in one of the calendar's sessions (what
    `enforce_sessions` trades), else 0; and the warning a run gives, as
    ml4t-backtest does, when intraday filtering drops nearly everything or
    the zone naive timestamps are read in seems to be the cause (else None)."""
    from nautilus_like import calendar as cal

    if timeline.is_empty():
        return np.ones(0, dtype=np.uint8), None
    mask = cal.trading_bar_mask(timeline, clock.calendar, timezone=clock.timezone,
                                data_frequency=clock.frequency, timestamp_semantics=clock.semantics,
                                bar_label=clock.bar_label)
    warning = None
    if not clock.by_date and timeline.dtype != pl.Date:
        warning = _session_loss_warning(timeline, mask, clock)
    return mask.to_numpy().astype(np.uint8), warning


def _kept(timeline: pl.Series, clock: RunClock, timezone: str) -> int:
    from nautilus_like import calendar as cal

    return int(cal.trading_bar_mask(timeline, clock.calendar, timezone=timezone, data_frequency=clock.frequency,
                                    timestamp_semantics=clock.semantics, bar_label=clock.bar_label).sum())


def _session_loss_warning(timeline: pl.Series, mask: pl.Series, clock: RunClock) -> str | None:
    from nautilus_like import calendar as cal

    total, kept = len(timeline), int(mask.sum())
    retention = kept / total
    naive = isinstance(timeline.dtype, pl.Datetime) and timeline.dtype.time_zone is None
    exchange_zone = str(cal.get_calendar(clock.calendar).tz)
    compare = naive and clock.timezone != exchange_zone and retention <= _DIAGNOSTIC_MAX_RETENTION
    configured = alternative = kept
    sample = total
    if compare:
        # The bars of the first 20 dates: enough to tell, bounded in cost.
        dates = timeline.dt.date()
        first_dates = dates.unique(maintain_order=True).head(_DIAGNOSTIC_MAX_DATES)
        sample = int(dates.is_in(first_dates.implode()).sum())  # the timeline is sorted
        head = timeline.head(sample)
        if sample != total:
            configured = _kept(head, clock, clock.timezone)
        alternative = _kept(head, clock, exchange_zone)
    gain = alternative / configured if configured else (math.inf if alternative else 1.0)
    needed = max(1, min(_DIAGNOSTIC_MAX_REQUIRED_GAIN, math.ceil(sample * _DIAGNOSTIC_MIN_GAIN_FRACTION)))
    zone_explains = compare and alternative - configured >= needed and gain >= _DIAGNOSTIC_MIN_RELATIVE_GAIN
    if not (retention <= _DIAGNOSTIC_NEAR_TOTAL_LOSS or zone_explains):
        return None
    # Looked up on the module at call time (a test may stand in for it).
    if not any(cal.is_trading_day(clock.calendar, d) for d in set(timeline.dt.date().to_list())):
        return None
    if zone_explains:
        note = (f" Interpreting naive timestamps as {exchange_zone!r} would retain {alternative} bars instead of "
                f"{configured} in a {sample}-bar sample.")
    elif naive:
        note = f" Naive timestamps were interpreted as {clock.timezone!r}."
    else:
        note = ""
    return (f"Session filtering for {clock.calendar!r} retained {kept} of {total} intraday bars.{note} "
            "Verify the configured calendar, data timezone, and session coverage.")


_NEVER = np.iinfo(np.int64).max


def session_bounds(timeline: pl.Series, clock: RunClock) -> tuple[np.ndarray, np.ndarray]:
    """Per bar, its session (days since 1970-01-01 of the session's date) and
    that session's close (ns, UTC; int64 max for a date that is no session):
    the session that has opened by the bar (for bars labelled by their
    close: whose (open, close] holds it), or the bar's date for session
    labels and daily bars."""
    from nautilus_like import calendar as cal
    from nautilus_like.sessions import _is_right_labeled_bar

    n = len(timeline)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if timeline.dtype == pl.Date:
        stamps = timeline.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    elif timeline.dtype.time_zone is None:
        stamps = timeline.dt.replace_time_zone(clock.timezone).dt.convert_time_zone("UTC")
    else:
        stamps = timeline.dt.convert_time_zone("UTC")
    stamps = stamps.cast(pl.Datetime("ns", "UTC"))
    first, last = stamps.min().date(), stamps.max().date()
    schedule = cal.get_schedule(clock.calendar, first - timedelta(days=2), last + timedelta(days=2)).select(
        "session_date", pl.col("market_open").cast(pl.Datetime("ns", "UTC")),
        pl.col("market_close").cast(pl.Datetime("ns", "UTC")))
    frame = pl.DataFrame({"t": stamps, "__row": pl.int_range(n, eager=True)})
    if clock.by_date or timeline.dtype == pl.Date:
        labels = (timeline if timeline.dtype == pl.Date else timeline.dt.date()).alias("session_date")
        joined = pl.DataFrame({"session_date": labels}).join(schedule, on="session_date", how="left",
                                                            maintain_order="left")
    else:
        right = _is_right_labeled_bar(clock.semantics, clock.bar_label)
        joined = (frame.sort("t").join_asof(schedule.sort("market_open"), left_on="t", right_on="market_open",
                                            strategy="backward", allow_exact_matches=not right)
                  .sort("__row"))
        # Before the first session opens: the bar's own date, no close known.
        joined = joined.with_columns(pl.col("session_date").fill_null(pl.col("t").dt.date()))
    days = joined["session_date"].cast(pl.Int32).cast(pl.Int64).to_numpy()
    closes = joined["market_close"].to_physical().fill_null(_NEVER).cast(pl.Int64).to_numpy()
    # Sessions never go back (a bar after a session's close but before the
    # next open still belongs to it).
    return np.maximum.accumulate(days), closes
