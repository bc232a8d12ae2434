"""Volume limits against ml4t-backtest 0.2.0: `calculate()` / `bar_capacity()`
of every built-in limit on random inputs, and backtests where competing orders
share a bar's capacity, a bar without volume holds an order back, and a user
limit decides the fills."""

from __future__ import annotations

import math
import os
import random
import sys

import pytest

pytest.importorskip("ml4t.backtest")

sys.path.insert(0, os.path.dirname(__file__))

import ml4t.backtest as ml4t  # noqa: E402
import ml4t.backtest.execution.limits as ml4t_limits  # noqa: E402
import polars as pl  # noqa: E402

import nautilus_like  # noqa: E402
import nautilus_like.execution.limits as nl_limits  # noqa: E402
from test_parity_cases import QUOTE_FEED, compare, prices, quoted_prices  # noqa: E402

pytestmark = pytest.mark.parity

LIMITS = [("NoLimits", (), {}), ("PositiveVolumeLimit", (), {}), ("VolumeParticipationLimit", (0.1, 500.0), {}),
          ("SharedVolumeParticipationLimit", (0.25,), {}),
          ("SharedVolumeParticipationLimit", (0.5, 100.0), {"shared_participation": 0.2}),
          ("AdaptiveParticipationLimit", (), {}),
          ("AdaptiveParticipationLimit", (0.3, 0.8, 0.25, 0.05, 0.03), {})]


def _fields(r):
    return (r.fillable_quantity, r.remaining_quantity, r.adjusted_price, r.impact_cost, r.participation_rate)


@pytest.mark.parametrize("name, args, kwargs", LIMITS, ids=[f"{n}{a}" for n, a, _ in LIMITS])
def test_calculate_matches_ml4t(name, args, kwargs):
    ours, theirs = getattr(nl_limits, name)(*args, **kwargs), getattr(ml4t_limits, name)(*args, **kwargs)
    rng = random.Random(name + repr(args))
    for _ in range(300):
        q, p = rng.choice([1.0, 10.0, 250.0, 1000.0, 5e4]), rng.uniform(0.5, 500.0)
        v = rng.choice([None, 0.0, 1.0, 400.0, 1000.0, 1e5])
        extra = {}
        if name == "AdaptiveParticipationLimit":
            extra["volatility"] = rng.choice([None, 0.0, 0.01, 0.02, 0.05, 0.2])
        got, want = _fields(ours.calculate(q, v, p, **extra)), _fields(theirs.calculate(q, v, p, **extra))
        assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) for a, b in zip(got, want)), (q, v, extra,
                                                                                                 got, want)
        if hasattr(theirs, "bar_capacity"):
            assert ours.bar_capacity(v, p) == pytest.approx(theirs.bar_capacity(v, p), rel=1e-12)


def _fills(state, result, broker):
    f = result.to_fills_dataframe()
    return {"fills": f.select("order_id", "asset", "timestamp", "quantity", "signed_quantity", "price").rows(),
            "cash": broker.get_cash(),
            "orders": [(o.order_id, o.status.value, o.filled_quantity) for o in broker.get_orders()]}


def _order(asset, qty):
    return lambda b, d, s: b.submit_order(asset, qty)


def _limits(name, *args, **kwargs):
    def models(lib):
        module = ml4t_limits if lib is ml4t else nl_limits
        return {"execution_limits": getattr(module, name)(*args, **kwargs)}
    return models


SCENARIOS = {
    # Two buys compete for bar 1's 10% of 2000; BBB has its own budget.
    "competing_buys": {0: [_order("AAA", 150), _order("AAA", 150), _order("BBB", 120)]},
    # A long position, then a sale and a buy in the same bar: both consume it.
    "both_sides": {0: [_order("AAA", 100)], 1: [_order("AAA", -80), _order("AAA", 100)]},
    # More than a whole bar's share: carried over bar after bar.
    "carry_over": {0: [_order("AAA", 900), _order("AAA", 50)]},
}


@pytest.mark.parametrize("mode", ["NEXT_BAR", "SAME_BAR"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("limit", [("SharedVolumeParticipationLimit", (0.1,), {}),
                                   ("SharedVolumeParticipationLimit", (0.5,), {"shared_participation": 0.05}),
                                   ("AdaptiveParticipationLimit", (0.3,), {}),
                                   ("PositiveVolumeLimit", (), {})], ids=lambda x: f"{x[0]}{x[1]}")
def test_limits_in_a_backtest_match_ml4t(limit, scenario, mode):
    name, args, kwargs = limit
    config = {"execution_mode": mode, "execution_price": "CLOSE" if mode == "SAME_BAR" else "OPEN",
              "commission_type": "NONE", "slippage_type": "NONE"}
    compare(SCENARIOS[scenario], _fills, config, models=_limits(name, *args, **kwargs))


def test_shared_capacity_with_quote_sizes_matches_ml4t():
    """Traded volume sets the budget; the quoted size on the order's side caps each fill."""
    actions = {0: [_order("AAA", 30), _order("AAA", 30)], 1: [_order("AAA", 60), _order("BBB", -20)]}
    compare(actions, _fills, {"allow_short_selling": True, "commission_type": "NONE", "slippage_type": "NONE"},
            models=_limits("SharedVolumeParticipationLimit", 0.5), frame=quoted_prices(), feed_kw=QUOTE_FEED)


def test_positive_volume_waits_for_traded_bars_like_ml4t():
    silent = (pl.col("asset") == "AAA") & (pl.col("timestamp").dt.day().is_in([2, 3]))
    frame = prices().with_columns(pl.when(silent).then(0.0).otherwise(pl.col("volume")).alias("volume"))
    compare({0: [_order("AAA", 50), _order("BBB", 50)]}, _fills, {"commission_type": "NONE"},
            models=_limits("PositiveVolumeLimit"), frame=frame)


class _UserLimit:
    """ml4t's protocol without its base class: at most 70 per order and bar."""

    def calculate(self, order_quantity, bar_volume, price):
        fill = min(order_quantity, 70.0)
        return (ml4t_limits if self.lib is ml4t else nl_limits).ExecutionResult(fill, order_quantity - fill, price)


def test_a_user_limit_decides_the_fills_like_ml4t():
    def models(lib):
        limit = _UserLimit()
        limit.lib = lib
        return {"execution_limits": limit}

    compare({0: [_order("AAA", 200), _order("BBB", 100)]}, _fills, {"commission_type": "NONE"}, models=models)
