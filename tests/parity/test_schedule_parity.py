"""Sessions and rebalance schedules against ml4t-backtest 0.2.0's on random
feeds: the same session dates, the same rebalance timestamps (batch and one
event at a time), the same per-session P&L, or the same exception and message."""

from __future__ import annotations

import random
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("ml4t.backtest")
pytest.importorskip("pandas_market_calendars")

import ml4t.backtest.execution.rebalancer as ml4t_rebalancer  # noqa: E402
import ml4t.backtest.execution.schedule as ml4t_schedule  # noqa: E402
import ml4t.backtest.sessions as ml4t_sessions  # noqa: E402

import nautilus_like.execution.rebalancer as nl_rebalancer  # noqa: E402
import nautilus_like.execution.schedule as nl_schedule  # noqa: E402
import nautilus_like.sessions as nl_sessions  # noqa: E402

pytestmark = pytest.mark.parity

CALENDARS = ["NYSE", "CME_Equity", "XTKS", "CRYPTO", None]
# (data_frequency, timestamp_semantics, bar step)
SHAPES = [("daily", None, timedelta(days=1)), ("daily", "session_label", timedelta(days=1)),
          ("1h", "bar_close", timedelta(hours=1)), ("1h", "event_time", timedelta(hours=1)),
          ("15m", "bar_close", timedelta(minutes=15)), (None, None, timedelta(days=1))]
CADENCES = ["every_bar", "every_session", "fixed_n_sessions", "weekly", "month_end", "explicit_timestamps"]
ZONES = ["UTC", "America/New_York", "America/Chicago", None]


def _outcome(call):
    try:
        return "ok", call()
    except (ValueError, TypeError, KeyError) as exc:
        return "error", type(exc).__name__, str(exc)


def _feed(rng: random.Random, step: timedelta) -> list[datetime]:
    start = datetime(2024, rng.choice([1, 3, 6, 12]), rng.randint(1, 28), rng.choice([0, 14, 21, 22]))
    if step < timedelta(days=1):
        count = rng.randint(5, 80)
    else:
        count = rng.randint(3, 40)
    stamps = [start + k * step for k in range(count)]
    # Drop a few events (gaps, missing closes) now and then.
    return [ts for ts in stamps if rng.random() > 0.05]


@pytest.mark.parametrize("seed", range(300))
def test_resolved_timestamps_and_online_decisions_match(seed):
    rng = random.Random(seed)
    frequency, semantics, step = rng.choice(SHAPES)
    calendar = rng.choice(CALENDARS)
    timezone = rng.choice(ZONES)
    cadence = rng.choice(CADENCES)
    stamps = _feed(rng, step)
    start_time = rng.choice([None, "17:00"]) if calendar in ("CME_Equity", None) else None
    kwargs = dict(calendar=calendar, timezone=timezone, session_start_time=start_time, data_frequency=frequency,
                  timestamp_semantics=semantics)
    n = rng.randint(1, 4)
    # Explicit instants: some of the feed's own, some shifted off it.
    picks = [ts + rng.choice([timedelta(0), timedelta(0), timedelta(minutes=1)]) for ts in stamps if rng.random() < 0.2]
    picks = picks or [stamps[0]]

    def schedule_of(module):
        schedules = module.RebalanceSchedule
        if cadence == "fixed_n_sessions":
            return schedules.fixed_n_sessions(n)
        if cadence == "explicit_timestamps":
            return schedules.explicit_timestamps(picks)
        return getattr(schedules, cadence)()

    def batch(module):
        return module.resolve_rebalance_timestamps(stamps, schedule_of(module), **kwargs).to_list()

    def online(schedule_module, rebalancer_module):
        schedule = schedule_of(schedule_module)
        executor = rebalancer_module.TargetWeightExecutor(rebalancer_module.RebalanceConfig(schedule=schedule,
                                                                                           **kwargs))
        decisions = [executor.should_rebalance(ts) for ts in stamps]
        executor.validate_completed_run()
        return decisions

    with _quiet():
        assert _outcome(lambda: batch(nl_schedule)) == _outcome(lambda: batch(ml4t_schedule))
        assert _outcome(lambda: online(nl_schedule, nl_rebalancer)) == \
            _outcome(lambda: online(ml4t_schedule, ml4t_rebalancer))


@pytest.mark.parametrize("seed", range(100))
def test_session_dates_and_session_pnl_match(seed):
    rng = random.Random(1000 + seed)
    frequency, semantics, step = rng.choice(SHAPES[2:5])
    calendar = rng.choice(["NYSE", "CME_Equity", "XTKS", "NYMEX"])
    timezone = rng.choice(["UTC", "America/New_York", "America/Chicago"])
    start_time = rng.choice([None, None, "17:00"]) if calendar in ("CME_Equity", "NYMEX") else None
    stamps = _feed(rng, step)
    if rng.random() < 0.3:
        stamps = [ts.replace(tzinfo=UTC) for ts in stamps]
    kwargs = dict(calendar=calendar, timezone=timezone, session_start_time=start_time, data_frequency=frequency,
                  timestamp_semantics=semantics)
    ours = [_outcome(lambda ts=ts: nl_sessions.session_date_for_timestamp(ts, **kwargs)) for ts in stamps]
    theirs = [_outcome(lambda ts=ts: ml4t_sessions.session_date_for_timestamp(ts, **kwargs)) for ts in stamps]
    assert ours == theirs

    curve = [(ts, 100_000.0 + rng.uniform(-500, 500)) for ts in stamps]
    capital = rng.choice([None, 100_000.0])

    def pnl(module):
        config = module.SessionConfig(calendar=calendar, timezone=timezone, session_start_time=start_time)
        return module.compute_session_pnl(curve, config, initial_capital=capital).to_dicts()

    status, got = _outcome(lambda: pnl(nl_sessions))
    expected_status, expected = _outcome(lambda: pnl(ml4t_sessions))
    assert status == expected_status
    if status == "ok":
        assert len(got) == len(expected)
        for row, reference in zip(got, expected):
            for key, value in reference.items():
                if isinstance(value, float):
                    assert row[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
                else:
                    assert row[key] == value, key


@contextmanager
def _quiet():
    # The undeclared-metadata warning is not what is compared here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
