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
