"""A broker's per-asset trading statistics (`Broker.get_asset_stats`,
`configure_stats`, `set_session_config`).

The realized P&L events are the engine's trade records: Rust appends one for
every realized exit leg as it fills, with its P&L and exit time. This book
folds the records it has not seen into `AssetTradingStats` when a strategy
asks (the broker hands it the new records first), so a run that never reads
its statistics pays nothing for them. Session counters reset where a record's
exit time, or the current bar, falls in a new session of the configured
session calendar.
"""

from __future__ import annotations

from collections import deque
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from nautilus_like.config import StatsConfig
from nautilus_like.types import AssetTradingStats

__all__ = ["TradingStatsBook", "session_ordinal"]


def session_ordinal(timestamp: datetime, data_tz: ZoneInfo, session_tz: ZoneInfo, start: time) -> int:
    """The ordinal of the trading session `timestamp` belongs to.

    Naive timestamps are read in `data_tz`. A session that opens in the evening
    (start hour >= 12, e.g. CME at 17:00) belongs to the next calendar day from
    its open on; a morning session belongs to its local calendar day."""
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=data_tz)
    local = timestamp.astimezone(session_tz)
    day: date = local.date()
    if start.hour >= 12 and local.time() >= start:
        day += timedelta(days=1)
    return day.toordinal()


class TradingStatsBook:
    """The statistics by asset, their settings, and how far into the engine's
    trade records they have been folded."""

    def __init__(self) -> None:
        self.config = StatsConfig()
        self.stats: dict[str, AssetTradingStats] = {}
        self.session_config: Any = None
        self._boundary: tuple[ZoneInfo, ZoneInfo, time] | None = None
        self._session: int | None = None
        self.cursor = 0  # trade records folded so far

    def stats_for(self, asset: str) -> AssetTradingStats:
        """The asset's statistics, created empty (with the configured window) on first use."""
        stats = self.stats.get(asset)
        if stats is None:
            stats = self.stats[asset] = AssetTradingStats(recent_pnls=deque(maxlen=self.config.recent_window_size))
        return stats

    def configure(self, recent_window_size: int | None, track_session_stats: bool | None, enabled: bool | None,
                  config: StatsConfig | None) -> None:
        """ml4t's `configure_stats`: `config` (or the defaults) with the given
        fields overriding it; existing windows keep their newest events."""
        if config is not None and not isinstance(config, StatsConfig):
            raise TypeError(f"config must be a StatsConfig, got {type(config).__name__}")
        overrides = {k: v for k, v in (("recent_window_size", recent_window_size),
                                       ("track_session_stats", track_session_stats),
                                       ("enabled", enabled)) if v is not None}
        new = msgspec.structs.replace(config if config is not None else StatsConfig(), **overrides).validate()
        self.config = new
        for stats in self.stats.values():
            if stats.recent_pnls.maxlen != new.recent_window_size:
                stats.resize_window(new.recent_window_size)

    def set_session_config(self, config: Any) -> None:
        """Session boundaries from a `SessionConfig` (anything with `timezone`,
        `get_session_timezone()`, `get_session_start_hour()` and
        `get_session_start_minute()`), or None for none."""
        if config is None:
            self._boundary = None
        else:
            try:
                self._boundary = (ZoneInfo(config.timezone), config.get_session_timezone(),
                                  time(config.get_session_start_hour(), config.get_session_start_minute()))
            except AttributeError as exc:
                raise TypeError(f"config must be a SessionConfig or None, got {type(config).__name__}") from exc
        self.session_config = config
        self._session = None

    def observe_time(self, timestamp: Any) -> None:
        """Resets every asset's session counters when `timestamp` opens a new
        session (the first time seen only sets the session)."""
        if self._boundary is None or not self.config.track_session_stats or not isinstance(timestamp, datetime):
            return
        session = session_ordinal(timestamp, *self._boundary)
        if self._session is not None and session != self._session:
            for stats in self.stats.values():
                stats.reset_session(session)
        self._session = session

    def record(self, asset: str, pnl: float, exit_time: Any = None) -> None:
        """One realized P&L event (skipped while statistics are disabled)."""
        if not self.config.enabled:
            return
        if exit_time is not None:
            self.observe_time(exit_time)
        self.stats_for(asset).record_pnl(pnl)
