"""nautilus_like.accounting against ml4t-backtest 0.2.0's accounting package on
random accounts, positions and orders: every policy method, the account's
equity and the gatekeeper give the same answer, message text included."""

from __future__ import annotations

import math
import random
from datetime import datetime

import pytest

pytest.importorskip("ml4t.backtest")

import ml4t.backtest as ml4t  # noqa: E402
import ml4t.backtest.accounting as ml4t_acc  # noqa: E402
import ml4t.backtest.models as ml4t_models  # noqa: E402

import nautilus_like as nl  # noqa: E402
import nautilus_like.accounting as nl_acc  # noqa: E402
import nautilus_like.models as nl_models  # noqa: E402

pytestmark = pytest.mark.parity

T0 = datetime(2024, 1, 2)
ASSETS = ["AAPL", "MSFT", "ES", "NQ"]
POLICIES = {
    "cash": {},
    "crypto": {"allow_short_selling": True},
    "credit_proceeds": {"allow_short_selling": True, "short_cash_policy": "credit_proceeds"},
    "lock_notional": {"allow_short_selling": True, "short_cash_policy": "lock_notional"},
    "margin": {"allow_short_selling": True, "allow_leverage": True},
    "margin_lean": {"allow_short_selling": True, "allow_leverage": True, "initial_margin": 0.3,
                    "long_maintenance_margin": 0.2, "short_maintenance_margin": 0.25},
    "futures": {"allow_short_selling": True, "allow_leverage": True,
                "fixed_margin_schedule": {"ES": (12_000.0, 6_000.0)}, "margin_pct_schedule": {"NQ": (0.05, 0.04)}},
}


def _positions(rng: random.Random) -> tuple[dict, dict]:
    """The same random positions in both libraries."""
    ours, theirs = {}, {}
    for asset in rng.sample(ASSETS, rng.randint(0, 3)):
        kw = dict(asset=asset, quantity=rng.choice([-1, 1]) * rng.choice([1.0, 7.0, 100.0, 250.5]),
                  entry_price=rng.uniform(10.0, 300.0), current_price=rng.uniform(10.0, 300.0), entry_time=T0,
                  multiplier=50.0 if asset in ("ES", "NQ") else 1.0)
        ours[asset], theirs[asset] = nl.Position(**kw), ml4t.Position(**kw)
    return ours, theirs


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _outcome(call):
    try:
        return call()
    except Exception as exc:  # the same refusal counts as agreement
        return type(exc).__name__


@pytest.mark.parametrize("name", POLICIES)
def test_policy_methods_match_ml4t(name):
    ours, theirs = nl_acc.UnifiedAccountPolicy(**POLICIES[name]), ml4t_acc.UnifiedAccountPolicy(**POLICIES[name])
    rng = random.Random(name)
    for _ in range(400):
        mine, other = _positions(rng)
        cash = rng.choice([0.0, 1_000.0, 25_000.0, 100_000.0, -5_000.0, rng.uniform(-1e4, 2e5)])
        asset = rng.choice(ASSETS)
        held = rng.choice([0.0, 100.0, -100.0, 7.0])
        delta = rng.choice([1.0, -1.0]) * rng.choice([0.0, 7.0, 50.0, 100.0, 150.0, 300.0])
        price = rng.uniform(5.0, 400.0)
        mult = 50.0 if asset in ("ES", "NQ") else 1.0
        commission = rng.choice([0.0, 1.0, 25.0])
        calls = [
            ("buying_power", lambda p, pos: p.calculate_buying_power(cash, pos)),
            ("spendable", lambda p, pos: p.get_spendable_cash(cash, pos)),
            ("margin_call", lambda p, pos: p.is_margin_call(cash, pos)),
            ("requirement", lambda p, pos: p.get_margin_requirement(asset, delta, price, rng_initial, multiplier=mult)),
            ("new", lambda p, pos: p.validate_new_position(asset, delta, price, pos, cash, multiplier=mult)),
            ("change", lambda p, pos: p.validate_position_change(asset, held, delta, price, pos, cash,
                                                                 multiplier=mult)),
            ("reversal", lambda p, pos: p.handle_reversal(asset, held, delta, price, pos, cash, commission,
                                                          multiplier=mult)),
        ]
        rng_initial = rng.random() < 0.5
        for what, call in calls:
            got, want = _outcome(lambda: call(ours, mine)), _outcome(lambda: call(theirs, other))
            assert _same(got, want), (name, what, cash, asset, held, delta, price, got, want)


@pytest.mark.parametrize("name", POLICIES)
def test_gatekeeper_and_account_match_ml4t(name):
    rng = random.Random(f"gate-{name}")
    for _ in range(300):
        cash = rng.choice([0.0, 5_000.0, 20_000.0, 100_000.0, rng.uniform(0.0, 2e5)])
        ours = nl_acc.AccountState(cash, nl_acc.UnifiedAccountPolicy(**POLICIES[name]))
        theirs = ml4t_acc.AccountState(cash, ml4t_acc.UnifiedAccountPolicy(**POLICIES[name]))
        ours.positions, theirs.positions = _positions(rng)
        if rng.random() < 0.3:
            ours.cash = theirs.cash = cash + rng.uniform(-5_000.0, 5_000.0)
        if rng.random() < 0.3:
            bar, delay, amount = rng.randint(0, 5), rng.randint(0, 3), rng.uniform(0.0, 20_000.0)
            ours.add_settlement_hold(bar, delay, amount)
            theirs.add_settlement_hold(bar, delay, amount)
        assert _same(ours.total_equity, theirs.total_equity)
        assert _same(ours.buying_power, theirs.buying_power)
        assert _same(ours.unsettled_cash, theirs.unsettled_cash)
        rate = rng.choice([0.0, 0.001, 0.01])
        resolver = (lambda a: 50.0 if a in ("ES", "NQ") else 1.0)
        kw = dict(cash_buffer_pct=rng.choice([0.0, 0.05]), settlement_reduces_buying_power=rng.random() < 0.8,
                  multiplier_resolver=resolver)
        gate_ours = nl_acc.Gatekeeper(ours, nl_models.PercentageCommission(rate), **kw)
        gate_theirs = ml4t_acc.Gatekeeper(theirs, ml4t_models.PercentageCommission(rate), **kw)
        asset = rng.choice(ASSETS)
        side = rng.choice(["BUY", "SELL"])
        quantity = rng.choice([1.0, 7.0, 50.0, 100.0, 150.0, 300.0, 1_000.0])
        price = rng.uniform(5.0, 400.0)
        got = gate_ours.validate_order_with_code(nl.Order(asset=asset, side=nl.OrderSide[side], quantity=quantity),
                                                 price)
        want = gate_theirs.validate_order_with_code(
            ml4t.Order(asset=asset, side=ml4t.OrderSide[side], quantity=quantity), price)
        assert got == want, (name, cash, asset, side, quantity, price, got, want)
