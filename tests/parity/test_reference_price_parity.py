"""Differential runs over a feed whose reference price is not its close
(`DataFeed(price_col="mid_price")`): ml4t marks positions, prices PRICE fills,
evaluates position rules and measures water marks at the reference price, and
fills CLOSE at the close. Random orders (market, limit, stop, stop-limit, MOC), rules and
settings run on ml4t-backtest 0.2.0 and on nautilus_like; fills and the
equity curve must agree (ml4t is the reference: no expected values here).
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta

import polars as pl
import pytest

pytest.importorskip("ml4t.backtest")

import ml4t.backtest as ml4t  # noqa: E402

import nautilus_like as nl  # noqa: E402
from tests.parity.parity_compare import diff  # noqa: E402

pytestmark = pytest.mark.parity

ASSETS = ["AAA", "BBB"]
N_BARS = 12
CASES = 60


def _prices(rng: random.Random) -> pl.DataFrame:
    rows = []
    for asset in ASSETS:
        close = rng.uniform(40, 120)
        for i in range(N_BARS):
            open_ = round(close * rng.uniform(0.97, 1.03), 2)
            close = round(open_ * rng.uniform(0.96, 1.04), 2)
            high = round(max(open_, close) * rng.uniform(1.0, 1.02), 2)
            low = round(min(open_, close) * rng.uniform(0.98, 1.0), 2)
            # The reference price: inside the bar, apart from the close.
            mid = round(low + (high - low) * rng.uniform(0.1, 0.9), 2)
            rows.append({"timestamp": datetime(2024, 1, 2) + timedelta(days=i), "asset": asset, "open": open_,
                         "high": high, "low": low, "close": close, "mid_price": mid,
                         "volume": 1_000_000.0})
    return pl.DataFrame(rows).sort(["timestamp", "asset"])


def _plan(rng: random.Random) -> dict[int, list[tuple]]:
    plan: dict[int, list[tuple]] = {}
    for _ in range(rng.randint(3, 8)):
        bar = rng.randrange(N_BARS - 1)
        kind = rng.choice(["MARKET", "MARKET", "LIMIT", "STOP", "STOP_LIMIT", "MOC"])
        qty = rng.choice([-15, -5, 5, 10, 20])
        offset = rng.uniform(-0.03, 0.03)
        plan.setdefault(bar, []).append((rng.choice(ASSETS), qty, kind, offset))
    return plan


def _settings(rng: random.Random) -> dict:
    return {
        "execution_mode": rng.choice(["SAME_BAR", "NEXT_BAR"]),
        "execution_price": rng.choice(["PRICE", "CLOSE", "OPEN", "MID", "QUOTE_MID"]),
        "mark_price": rng.choice(["PRICE", "PRICE", "CLOSE", "QUOTE_MID"]),
        "initial_hwm_source": rng.choice(["FILL_PRICE", "BAR_CLOSE", "BAR_HIGH"]),
        "allow_short_selling": True,
        "rule": rng.choice([None, "stop", "trail", "profit"]),
    }


def _run(lib, prices: pl.DataFrame, plan: dict, settings: dict):
    mod = sys.modules["ml4t.backtest"] if lib is ml4t else nl
    types = sys.modules["ml4t.backtest.types"] if lib is ml4t else nl
    config_mod = sys.modules["ml4t.backtest.config"] if lib is ml4t else nl.config
    rule = settings["rule"]

    class Plan(mod.Strategy):
        def __init__(self):
            self.bar = -1

        def on_start(self, broker):
            if rule == "stop":
                broker.set_position_rules(mod.StopLoss(pct=0.02))
            elif rule == "trail":
                broker.set_position_rules(mod.TrailingStop(pct=0.02))
            elif rule == "profit":
                broker.set_position_rules(mod.TakeProfit(pct=0.02))

        def on_data(self, timestamp, data, context, broker):
            self.bar += 1
            for asset, qty, kind, offset in plan.get(self.bar, []):
                if asset not in data:
                    continue
                ref = data[asset]["price"]
                if kind == "MARKET":
                    broker.submit_order(asset, qty)
                elif kind == "MOC":
                    broker.submit_order(asset, qty, order_type=types.OrderType.MOC)
                elif kind == "LIMIT":
                    broker.submit_order(asset, qty, order_type=types.OrderType.LIMIT,
                                        limit_price=round(ref * (1 + offset), 2))
                elif kind == "STOP":
                    broker.submit_order(asset, qty, order_type=types.OrderType.STOP,
                                        stop_price=round(ref * (1 + offset), 2))
                else:
                    # A limit better than the stop: the close decides a fill on the trigger bar.
                    stop = round(ref * (1 + offset), 2)
                    better = round(stop * (0.995 if qty > 0 else 1.005), 2)
                    broker.submit_order(asset, qty, order_type=types.OrderType.STOP_LIMIT,
                                        stop_price=stop, limit_price=better)

    config = mod.BacktestConfig(
        calendar=None,
        execution_mode=config_mod.ExecutionMode[settings["execution_mode"]],
        execution_price=config_mod.ExecutionPrice[settings["execution_price"]],
        mark_price=config_mod.ExecutionPrice[settings["mark_price"]],
        initial_hwm_source=config_mod.InitialHwmSource[settings["initial_hwm_source"]],
        allow_short_selling=settings["allow_short_selling"],
    )
    result = mod.Engine(mod.DataFeed(prices_df=prices, price_col="mid_price"), Plan(), config).run()
    fills = result.to_fills_dataframe().select(
        "asset", "side", "quantity", "price", "price_source", "reference_price", "exit_reason").to_dicts()
    equity = result.to_portfolio_state_dataframe().select("cash", "equity").to_dicts()
    return {"fills": fills, "equity": equity}


@pytest.mark.parametrize("seed", range(CASES))
def test_reference_price_apart_from_the_close_matches_ml4t(seed):
    rng = random.Random(1000 + seed)
    prices, plan, settings = _prices(rng), _plan(rng), _settings(rng)
    ref = _run(ml4t, prices, plan, settings)
    got = _run(nl, prices, plan, settings)
    assert ref["fills"], "a case without fills checks nothing"
    problems = diff(ref, got)
    assert not problems, f"settings={settings} plan={plan}\n" + "\n".join(problems)
