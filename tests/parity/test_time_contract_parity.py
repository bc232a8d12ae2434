"""BacktestConfig's time contract against ml4t-backtest 0.2.0's: for every
combination of the config's calendar/timezone/frequency choice, its own feed
spec and a feed's spec, both resolve the same calendar, timezone, frequency
and annualization, before and after `merge_feed_spec`, and write the same
"calendar" and "feed" sections."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("ml4t.backtest")

import ml4t.backtest as ml4t  # noqa: E402
import ml4t.backtest.config as ml4t_config  # noqa: E402
from ml4t.backtest.analytics.annualization import resolve_periods_per_year as their_periods  # noqa: E402
from ml4t.specs.market_data import FeedSpec as TheirFeedSpec  # noqa: E402

import nautilus_like as nl  # noqa: E402
import nautilus_like.config as nl_config  # noqa: E402
from nautilus_like.analytics.annualization import equity_annualization  # noqa: E402

pytestmark = pytest.mark.parity

# Calendars only as feed declarations: a config's named calendar is not supported yet.
_CONFIG_CALENDARS = ["unset", None]
_EXPLICIT = [{}, {"timezone": "UTC"}, {"data_frequency": "1h"}, {"timezone": "Asia/Tokyo", "data_frequency": "daily"}]
_SPECS = [
    None,
    {},
    {"calendar": "CME_Equity", "timezone": "America/Chicago", "data_frequency": "minute"},
    {"calendar": "NYSE", "timezone": "America/New_York", "data_frequency": "5min", "timestamp_semantics": "event_time"},
    {"time_contract_version": 2, "calendar": None, "data_frequency": "daily"},
    {"time_contract_version": 2, "timezone": "Europe/London"},
    {"data_frequency": "weekly"},
    {"calendar": "crypto", "data_frequency": "1h"},
]
_VERSIONS = [1, 2]


def _build(module, spec_class, version, calendar, explicit, spec):
    kwargs = dict(explicit, time_contract_version=version)
    if "data_frequency" in kwargs:
        kwargs["data_frequency"] = module.DataFrequency(kwargs["data_frequency"])
    if calendar != "unset":
        kwargs["calendar"] = calendar
    if spec is not None:
        kwargs["feed_spec"] = spec_class(**spec)
    return module.BacktestConfig(**kwargs)


def _resolution(config) -> tuple:
    semantics = config.resolved_timestamp_semantics
    return (config.resolved_calendar, config.timezone, config.resolved_timezone,
            config.data_frequency.value, config.resolved_data_frequency.value,
            None if semantics is None else str(getattr(semantics, "value", semantics)))


def _sections(config) -> tuple:
    data = config.to_dict()
    calendar = {k: v for k, v in data["calendar"].items() if k != "enforce_sessions"}
    if config.time_contract_version == 1:
        # Deliberate: under time contract 1 ml4t copies a feed spec's calendar into
        # config.calendar; ours keeps None (a named config calendar is not supported
        # yet) and resolves the same calendar from the spec (compared in _resolution).
        calendar.pop("calendar", None)
    return calendar, data["feed"]


_CASES = list(itertools.product(_VERSIONS, _CONFIG_CALENDARS, range(len(_EXPLICIT)), range(len(_SPECS))))


@pytest.mark.parametrize("version, calendar, explicit, spec", _CASES)
def test_config_resolution_and_merge_match_ml4t(version, calendar, explicit, spec):
    args = (version, calendar, _EXPLICIT[explicit], _SPECS[spec])
    theirs = _build(ml4t_config, TheirFeedSpec, *args)
    ours = _build(nl_config, TheirFeedSpec, *args)
    ours_from_mapping = _build(nl_config, dict, *args) if _SPECS[spec] is not None else ours
    for mine in (ours, ours_from_mapping):
        assert _resolution(mine) == _resolution(theirs)
        assert _sections(mine) == _sections(theirs)
        assert equity_annualization(mine)[0] == _their_annualization(theirs)
    for feed in _SPECS:
        merged_theirs = theirs.merge_feed_spec(None if feed is None else TheirFeedSpec(**feed))
        merged_ours = ours.merge_feed_spec(None if feed is None else TheirFeedSpec(**feed))
        assert (merged_ours is ours) == (merged_theirs is theirs)
        assert _resolution(merged_ours) == _resolution(merged_theirs)
        assert _sections(merged_ours) == _sections(merged_theirs)
        restored = nl.BacktestConfig.from_dict(merged_ours.to_dict())
        assert _resolution(restored) == _resolution(ml4t.BacktestConfig.from_dict(merged_theirs.to_dict()))


def _their_annualization(config) -> float | None:
    from ml4t.backtest.analytics.equity import EquityCurve

    return EquityCurve.from_config(config).periods_per_year_override


def test_annualization_table_matches_ml4t():
    for calendar in (None, "NYSE", "crypto", "CME_Equity", "LSE", "JPX", "XHKG", "XTKS"):
        for frequency in ("daily", "1h", "30m", "15m", "5m", "1m", "irregular"):
            assert nl.analytics.annualization.resolve_periods_per_year(frequency, calendar=calendar) == \
                their_periods(ml4t_config.DataFrequency(frequency), calendar=calendar), (calendar, frequency)
