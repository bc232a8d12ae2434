"""`TradeAnalyzer`, `MAEMFEAnalyzer`, the diagnostic bridge and
`AssetTradingStats` against ml4t-backtest 0.2.0's on random trades: every
statistic agrees (to rounding: ours sums in Polars, ml4t in NumPy)."""

from __future__ import annotations

import math
import random
from collections import deque
from datetime import datetime, timedelta

import pytest

pytest.importorskip("ml4t.backtest")

from ml4t.backtest.analytics import bridge as their_bridge  # noqa: E402
from ml4t.backtest.analytics import trades as theirs  # noqa: E402
from ml4t.backtest.types import AssetTradingStats as TheirStats  # noqa: E402
from ml4t.backtest.types import Trade as TheirTrade  # noqa: E402

from nautilus_like.analytics import bridge as our_bridge  # noqa: E402
from nautilus_like.analytics import trades as ours  # noqa: E402
from nautilus_like.types import AssetTradingStats as OurStats  # noqa: E402
from nautilus_like.types import Trade as OurTrade  # noqa: E402

pytestmark = pytest.mark.parity


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _trades(rng: random.Random) -> list[dict]:
    out, t0 = [], datetime(2024, 1, 1)
    for i in range(rng.choice([0, 1, 2, 5, 30])):
        entry = rng.uniform(10, 200)
        exit_ = entry * (1 + rng.choice([0.0, rng.gauss(0, 0.05)]))
        qty = rng.choice([-1, 1]) * rng.choice([1.0, 10.0, 2.5])
        pct = (exit_ - entry) / entry * (1 if qty > 0 else -1)
        fees = rng.choice([0.0, rng.uniform(0, 3)])
        out.append(dict(
            symbol=rng.choice(["AAA", "BBB"]), entry_time=t0 + timedelta(days=i), exit_time=t0 + timedelta(days=i + 2),
            entry_price=entry, exit_price=exit_, quantity=qty, pnl=(exit_ - entry) * qty - fees, pnl_percent=pct,
            bars_held=rng.randint(0, 9), fees=fees, exit_slippage=rng.choice([0.0, 0.01]),
            entry_slippage=rng.choice([0.0, 0.02]), status=rng.choice(["closed", "closed", "partial"]),
            mfe=max(pct, 0) + rng.choice([0.0, abs(rng.gauss(0, 0.03))]),
            mae=min(pct, 0) - rng.choice([0.0, abs(rng.gauss(0, 0.03))]),
            multiplier=rng.choice([1.0, 50.0])))
    return out


@pytest.mark.parametrize("seed", range(150))
def test_trade_statistics_match_ml4t(seed):
    rng = random.Random(seed)
    rows = _trades(rng)
    a = ours.TradeAnalyzer([OurTrade(**r) for r in rows])
    b = theirs.TradeAnalyzer([TheirTrade(**r) for r in rows])
    assert _same(a.to_dict(), b.to_dict())
    for side in ("long", "short"):
        assert _same(a.by_side(side).to_dict(), b.by_side(side).to_dict())
    assert _same(a.by_asset("AAA").to_dict(), b.by_asset("AAA").to_dict())
    m = ours.MAEMFEAnalyzer([OurTrade(**r) for r in rows])
    n = theirs.MAEMFEAnalyzer([TheirTrade(**r) for r in rows])
    assert _same(m.to_dict(), n.to_dict())
    assert _same(m.optimal_exit_levels(80, 60), n.optimal_exit_levels(80, 60))
    assert _same(m.distribution_data(), n.distribution_data())
    for q in (0, 33.3, 100):
        assert _same(m.mae_percentile(q), n.mae_percentile(q)) and _same(m.mfe_percentile(q), n.mfe_percentile(q))
    assert _same(our_bridge.to_trade_records([OurTrade(**r) for r in rows]),
                 their_bridge.to_trade_records([TheirTrade(**r) for r in rows]))
    equity = [100.0 + sum(r["pnl"] for r in rows[:i]) for i in range(len(rows) + 1)]
    assert _same(our_bridge.to_returns_series(equity).to_list(), their_bridge.to_returns_series(equity).to_list())
    assert _same(our_bridge.to_equity_dataframe(equity).to_dicts(), their_bridge.to_equity_dataframe(equity).to_dicts())


@pytest.mark.parametrize("seed", range(50))
def test_asset_trading_stats_match_ml4t(seed):
    rng = random.Random(seed)
    window = rng.choice([1, 3, 50])
    a, b = OurStats(recent_pnls=deque(maxlen=window)), TheirStats(recent_pnls=deque(maxlen=window))
    for _ in range(rng.randint(0, 40)):
        if rng.random() < 0.1:
            a.reset_session(7)
            b.reset_session(7)
        pnl = rng.choice([0.0, rng.gauss(0, 100)])
        a.record_pnl(pnl)
        b.record_pnl(pnl)
    for name in ("total_realized_pnl", "total_trades", "total_wins", "recent_wins", "session_pnl", "session_trades",
                 "session_wins", "session_id", "win_rate", "recent_win_rate", "recent_expectancy", "recent_total_pnl",
                 "session_win_rate", "avg_pnl"):
        assert _same(getattr(a, name), getattr(b, name)), name
    assert list(a.recent_pnls) == list(b.recent_pnls) and repr(a) == repr(b)


class _OurSessions:
    """Our side of a CME-style session calendar opening 18:00 Chicago time
    (nautilus_like's broker reads any object with SessionConfig's methods)."""

    timezone = "America/Chicago"

    def get_session_timezone(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)

    def get_session_start_hour(self):
        return 18

    def get_session_start_minute(self):
        return 0


def _stats_run(lib, sessions, seed: int) -> list[tuple]:
    """Five-hourly bars over a week; a strategy trading one asset at random
    (buys, partial and full closes) reads its statistics on every bar."""
    import polars as pl

    rng = random.Random(seed)
    n = 40
    ts = [datetime(2024, 1, 8, 1) + timedelta(hours=5 * i) for i in range(n)]
    price, closes = 100.0, []
    for _ in range(n):
        price *= 1 + rng.gauss(0, 0.02)
        closes.append(round(price, 2))
    feed = lib.DataFeed(prices_df=pl.DataFrame({"timestamp": ts, "asset": ["A"] * n, "open": closes, "high": closes,
                                                "low": closes, "close": closes, "volume": [1e6] * n}))
    window = rng.choice([2, 5])
    seen: list[tuple] = []
    actions = random.Random(seed + 1)

    class Trader(lib.Strategy):
        def on_start(self, broker):
            broker.set_session_config(sessions)
            broker.configure_stats(recent_window_size=window)

        def on_data(self, timestamp, data, context, broker):
            s = broker.get_asset_stats("A")
            seen.append((s.total_trades, s.total_wins, round(s.total_realized_pnl, 9), tuple(s.recent_pnls),
                         s.session_trades, round(s.session_pnl, 9), s.session_id))
            pos = broker.get_position("A")
            u = actions.random()
            if pos is None:
                if u < 0.6:
                    broker.submit_order("A", 10.0)
            elif u < 0.3:
                broker.submit_order("A", -pos.quantity / 2)
            elif u < 0.6:
                broker.close_position("A")

    config = lib.BacktestConfig(execution_mode=lib.ExecutionMode.SAME_BAR)
    lib.Engine(feed, Trader(), config).run()
    return seen


@pytest.mark.parametrize("seed", range(12))
def test_asset_stats_read_each_bar_with_session_resets_match_ml4t(seed):
    import ml4t.backtest as ml4t
    from ml4t.backtest.sessions import SessionConfig

    import nautilus_like as nl

    theirs_seen = _stats_run(ml4t, SessionConfig(calendar="CME_Equity", timezone="America/Chicago",
                                                 session_start_time="18:00"), seed)
    ours_seen = _stats_run(nl, _OurSessions(), seed)
    assert any(row[6] is not None for row in theirs_seen) and theirs_seen[-1][0] > 0   # resets, trades
    for i, (a, b) in enumerate(zip(ours_seen, theirs_seen)):
        assert _same(list(a), list(b)), (i, a, b)
    assert len(ours_seen) == len(theirs_seen)
