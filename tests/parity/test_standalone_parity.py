"""Differential sessions of a standalone Broker driven by hand: random broker
settings, marks and actions (orders, `_process_orders`, position rules,
water marks, seeded positions), run step by step on ml4t-backtest 0.2.0 and
on nautilus_like; after every step cash, positions, fills and order states
must agree (ml4t is the reference: no expected values are hard-coded).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest

pytest.importorskip("ml4t.backtest")

import ml4t.backtest as ml4t  # noqa: E402
from ml4t.backtest import config as ml4t_config, models as ml4t_models, types as ml4t_types  # noqa: E402

import nautilus_like as nl  # noqa: E402

pytestmark = pytest.mark.parity

ASSETS = ["AAA", "BBB", "CCC"]
T0 = datetime(2024, 1, 2, 9, 30)
SESSIONS = 300


def _settings(rng: random.Random) -> dict:
    """Broker keyword arguments as names; each engine resolves them to its own enums."""
    return {
        "initial_cash": rng.choice([10_000.0, 100_000.0]),
        "commission": rng.choice([None, 0.001, 0.01]),
        "execution_mode": rng.choice(["SAME_BAR", "NEXT_BAR"]),
        "share_type": rng.choice(["INTEGER", "FRACTIONAL"]),
        "allow_short_selling": rng.random() < 0.4,
        "fill_ordering": rng.choice(["EXIT_FIRST", "FIFO"]),
    }


def _broker(lib, settings: dict):
    config, models = (ml4t_config, ml4t_models) if lib is ml4t else (nl, nl)
    enums = {"execution_mode": lib.ExecutionMode, "share_type": config.ShareType,
             "fill_ordering": config.FillOrdering}
    kwargs = {name: enums[name][settings[name]] for name in enums}
    rate = settings["commission"]
    return lib.Broker(
        initial_cash=settings["initial_cash"],
        commission_model=models.NoCommission() if rate is None else models.PercentageCommission(rate),
        allow_short_selling=settings["allow_short_selling"],
        **kwargs,
    )


def _bars(rng: random.Random, last: dict) -> dict:
    """One step's marks: a random walk per asset; sometimes an asset is missing."""
    bars = {}
    for asset in ASSETS:
        if rng.random() < 0.15:
            continue
        prev = last.get(asset, rng.uniform(20, 200))
        open_ = round(prev * (1 + rng.gauss(0, 0.02)), 2)
        close = round(open_ * (1 + rng.gauss(0, 0.02)), 2)
        high = round(max(open_, close) * (1 + abs(rng.gauss(0, 0.01))), 2)
        low = round(min(open_, close) * (1 - abs(rng.gauss(0, 0.01))), 2)
        bars[asset] = (open_, high, low, close)
        last[asset] = close
    return bars


def _mark(broker, t, bars: dict) -> None:
    broker._update_time(
        timestamp=t,
        prices={a: b[3] for a, b in bars.items()},
        opens={a: b[0] for a, b in bars.items()},
        highs={a: b[1] for a, b in bars.items()},
        lows={a: b[2] for a, b in bars.items()},
        volumes=dict.fromkeys(bars, 1_000_000.0),
        signals={},
    )


def _order(lib, broker, rng: random.Random, last: dict):
    asset = rng.choice(ASSETS)
    ref = last.get(asset, 100.0)
    qty = rng.choice([1, 5, 10, 50, 2.5])
    side = lib.OrderSide.BUY if rng.random() < 0.6 else lib.OrderSide.SELL
    kind = rng.choice(["MARKET", "MARKET", "LIMIT", "STOP"])
    kwargs = {}
    if kind == "LIMIT":
        kwargs["limit_price"] = round(ref * (0.99 if side == lib.OrderSide.BUY else 1.01), 2)
    elif kind == "STOP":
        kwargs["stop_price"] = round(ref * (1.01 if side == lib.OrderSide.BUY else 0.99), 2)
    return asset, qty, side, lib.OrderType[kind], kwargs


def _state(broker) -> dict:
    positions = {a: (round(p.quantity, 9), round(p.entry_price, 9)) for a, p in broker.get_positions().items()}
    fills = [(f.asset, f.side.value, round(f.quantity, 9), round(f.price, 9), round(f.commission, 9))
             for f in broker.fills]
    orders = [(o.asset, o.status.value, round(o.filled_quantity or 0.0, 9)) for o in broker.orders]
    return {"cash": round(broker.get_cash(), 6), "positions": positions, "fills": fills, "orders": orders}


def _same_orders(want: list, got: list) -> bool:
    """Order states agree, except one ml4t quirk kept out of nautilus_like: when
    a fill reverses a position, ml4t marks every other order of the asset
    still in its pending list CANCELLED (execution/fill_executor.py), which
    includes orders already FILLED or REJECTED earlier in the same pass (their
    fills stand: the fill lists are compared separately)."""
    if len(want) != len(got):
        return False
    for (asset, status, filled), (asset2, status2, filled2) in zip(want, got):
        quirk = status == "cancelled" and status2 in ("filled", "rejected")
        if asset != asset2 or filled != filled2 or (status != status2 and not quirk):
            return False
    return True


@pytest.mark.parametrize("seed", range(SESSIONS))
def test_standalone_session_matches_ml4t(seed: int) -> None:
    rng = random.Random(seed)
    settings = _settings(rng)
    brokers = {"ml4t": _broker(ml4t, settings), "nl": _broker(nl, settings)}
    libs = {"ml4t": ml4t, "nl": nl}
    if rng.random() < 0.3:
        seeded = rng.choice(ASSETS)
        for name, b in brokers.items():
            pos_cls = ml4t_types.Position if name == "ml4t" else nl.Position
            b.positions[seeded] = pos_cls(asset=seeded, quantity=10.0, entry_price=100.0, entry_time=T0)
    if rng.random() < 0.5:
        pct = rng.choice([0.02, 0.05])
        for name, b in brokers.items():
            b.set_position_rules(libs[name].StopLoss(pct))
    last: dict = {}
    log = []
    for step in range(12):
        bars = _bars(rng, last)
        t = T0 + timedelta(days=step)
        actions = []
        for _ in range(rng.randint(0, 3)):
            actions.append(("order", rng.random()))
        actions.append(("rules", None))
        actions.append(("process", rng.random() < 0.3))
        actions.append(("water", None))
        rng.shuffle(actions[:-3])
        for name, b in brokers.items():
            _mark(b, t, bars)
        log.append(f"step {step} bars {bars}")
        for action, arg in actions:
            for name, b in brokers.items():
                lib = libs[name]
                if action == "order":
                    sub = random.Random(arg)
                    asset, qty, side, order_type, kwargs = _order(lib, b, sub, last)
                    try:
                        b.submit_order(asset, qty, side, order_type, **kwargs)
                    except Exception as exc:  # both must refuse alike
                        log.append(f"{name} refused {type(exc).__name__}")
                elif action == "rules":
                    b.evaluate_position_rules()
                elif action == "process":
                    b._process_orders(use_open=arg)
                else:
                    b._update_water_marks()
            log.append(f"  {action} {arg}")
            want, got = _state(brokers["ml4t"]), _state(brokers["nl"])
            orders_agree = _same_orders(want.pop("orders"), got.pop("orders"))
            if want != got or not orders_agree:
                trail = "\n".join(log[-12:])
                pytest.fail(f"seed {seed} settings {settings}\n{trail}\nml4t: {want}\nnl:   {got}")
    assert not math.isnan(brokers["nl"].get_account_value())
