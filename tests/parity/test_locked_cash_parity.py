"""Differential sessions of LOCK_NOTIONAL's free-cash ledger in both update
modes (POSITION_LEGS, COMBINED_ORDER): a standalone Broker filling random
market orders at once (SAME_BAR) on ml4t-backtest 0.2.0 and on nautilus_like.
After every step cash, positions and fills must agree; at the end the ledger
itself is compared bit for bit: a buy of a huge quantity of an asset priced
1.0 fills exactly the free cash when nothing else costs cash (ml4t is the
reference: no expected values are hard-coded).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

pytest.importorskip("ml4t.backtest")

import ml4t.backtest as ml4t  # noqa: E402
from ml4t.backtest import config as ml4t_config, models as ml4t_models, types as ml4t_types  # noqa: E402

import nautilus_like as nl  # noqa: E402
from nautilus_like import config as nl_config, types as nl_types  # noqa: E402

pytestmark = pytest.mark.parity

T0 = datetime(2024, 1, 2)
SESSIONS = 160


def _settings(seed: int) -> dict:
    rng = random.Random(f"locked-settings-{seed}")
    return {
        "initial_cash": round(rng.uniform(500, 20_000), rng.choice([0, 2, 6])),
        "mode": rng.choice(["POSITION_LEGS", "COMBINED_ORDER"]),
        "share_type": rng.choice(["FRACTIONAL", "FRACTIONAL", "INTEGER"]),
        "partial_fills_allowed": rng.random() < 0.8,
        # A commission sizes orders by bisection instead of the ledger's direct quotient.
        "commission": rng.choice([None, None, None, 0.001]),
    }


def _broker(lib, settings: dict):
    config, models = (ml4t_config, ml4t_models) if lib is ml4t else (nl_config, nl)
    rate = settings["commission"]
    return lib.Broker(
        initial_cash=settings["initial_cash"], execution_mode=lib.ExecutionMode.SAME_BAR,
        commission_model=models.NoCommission() if rate is None else models.PercentageCommission(rate),
        allow_short_selling=True, short_cash_policy=config.ShortCashPolicy.LOCK_NOTIONAL,
        lock_notional_update_mode=config.LockNotionalUpdateMode[settings["mode"]],
        share_type=config.ShareType[settings["share_type"]],
        partial_fills_allowed=settings["partial_fills_allowed"])


def _state(b) -> tuple:
    positions = {a: p.quantity for a, p in b.get_positions().items() if p.quantity != 0}
    return b.get_cash(), positions, [(f.asset, f.quantity, f.price) for f in b.fills]


@pytest.mark.parametrize("seed", range(SESSIONS))
def test_locked_cash_ledger_matches_ml4t(seed: int) -> None:
    settings = _settings(seed)
    rng = random.Random(f"locked-session-{seed}")
    brokers = {"ml4t": _broker(ml4t, settings), "nl": _broker(nl, settings)}
    sides = {"ml4t": ml4t_types.OrderSide, "nl": nl_types.OrderSide}
    for step in range(rng.randint(2, 8)):
        px = {"A": round(rng.uniform(20, 300), rng.choice([2, 9])), "B": round(rng.uniform(20, 300), 2), "C": 1.0}
        orders = [(a, rng.uniform(0.5, 60), rng.choice(["BUY", "SELL"])) for a in ("A", "B") if rng.random() < 0.8]
        for name, b in brokers.items():
            b._update_time(T0 + timedelta(days=step), px, px, px, px, {a: 1e12 for a in px}, {})
            for asset, quantity, side in orders:
                b.submit_order(asset, quantity, sides[name][side])
            b._process_orders()
        want, got = _state(brokers["ml4t"]), _state(brokers["nl"])
        assert got == want, f"seed {seed} {settings} step {step}"
    if settings["commission"] is None and settings["share_type"] == "FRACTIONAL" \
            and settings["partial_fills_allowed"]:
        probes = {}
        for name, b in brokers.items():
            b.submit_order("C", 1e12, sides[name].BUY)
            b._process_orders()
            probes[name] = b.fills[-1].quantity if b.fills and b.fills[-1].asset == "C" else None
        assert probes["nl"] == probes["ml4t"], f"seed {seed} {settings}: free cash"
