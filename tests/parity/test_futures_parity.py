"""Futures cost models against ml4t-backtest 0.2.0: `calculate()` with contract
multipliers on random inputs, and backtests of contracts (AAA x 5, BBB x 0.5)
charged by FuturesCommission where both engines mean the same fee.

Where they differ by design (README, Behaviour): our engine charges
FuturesCommission's percentage on the contract notional (ml4t's leaves the
multiplier out) and moves fills by FuturesSlippage's points per contract
(ml4t's by points times quantity), so those are not compared here."""

from __future__ import annotations

import math
import random

import pytest

pytest.importorskip("ml4t.backtest")

import ml4t.backtest.models as ml4t_models  # noqa: E402
from test_parity_cases import MODEL_ACTIONS, _contracts, _full, _models, _submit, compare  # noqa: E402

import nautilus_like.models as nl_models  # noqa: E402

pytestmark = pytest.mark.parity

FUTURES_MODELS = [("FuturesCommission", (5.0, 2.5, 0.0001)), ("FuturesCommission", (0.0, 2.25, 0.0)),
                  ("FuturesCommission", (0.0, 0.0, 0.0002)), ("FuturesSlippage", (0.25,)),
                  ("FuturesSlippage", (0.0,))]


@pytest.mark.parametrize("name, args", FUTURES_MODELS, ids=[f"{n}{a}" for n, a in FUTURES_MODELS])
def test_futures_calculate_matches_ml4t(name, args):
    ours, theirs = getattr(nl_models, name)(*args), getattr(ml4t_models, name)(*args)
    rng = random.Random(f"{name}{args}")
    for _ in range(300):
        q, p = rng.choice([0, 1, 2.0, 3, -3, 10, -10.0, 0.5]), rng.uniform(0.5, 50_000.0)
        m = rng.choice([1.0, 5.0, 20.0, 50.0, 1000.0, 0.5])
        if name == "FuturesCommission":
            got, want = ours.calculate("ES", q, p, m), theirs.calculate("ES", q, p, m)
        else:
            got, want = ours.calculate("ES", q, p, multiplier=m), theirs.calculate("ES", q, p, multiplier=m)
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (name, args, q, p, m, got, want)


def _with_contracts(costs, multipliers):
    return lambda lib: {**costs(lib), **(_contracts(multipliers)(lib) if multipliers else {})}


FUTURES_CASES = {
    # Per block and per trade do not depend on the multiplier: both engines agree on contracts.
    "per_block_contracts": (_models(lambda m: m.FuturesCommission(per_trade=1.0, per_block=0.75)),
                            {"AAA": 5.0, "BBB": 0.5}),
    "max_of_three_no_multiplier": (_models(lambda m: m.FuturesCommission(per_trade=2.0, per_block=0.1,
                                                                         percentage=0.002)), None),
    "routed_per_asset": (_models(lambda m: m.AssetCommission(
        {"AAA": m.FuturesCommission(per_block=1.25)}, default=m.PercentageCommission(0.001))),
        {"AAA": 5.0}),
}


@pytest.mark.parametrize("case", sorted(FUTURES_CASES))
def test_futures_commission_backtests_match_ml4t(case):
    costs, multipliers = FUTURES_CASES[case]
    compare(MODEL_ACTIONS, _full, {"execution_mode": "NEXT_BAR"}, models=_with_contracts(costs, multipliers))


# LEAN's buying-power reservation: contracts reserve their notional when submitted.
RESERVATION_ACTIONS = {
    # 3,000 cash; AAA x 5 at 101 is 505 a contract, BBB x 0.5 at 50.5 is 25.25 a unit.
    # The short of 4 AAA reserves 2,020 (+2 fee) rather than crediting cash, so the
    # 40 BBB (1,010 + 20) do not fit; the limit order is not reserved.
    0: [_submit("AAA", -4, "MARKET"), _submit("BBB", 40, "MARKET"), _submit("BBB", 10, "LIMIT", limit_price=50.0)],
    2: [_submit("AAA", 4, "MARKET"), _submit("BBB", 30, "MARKET"), _submit("AAA", 2, "MARKET")],
    3: [_submit("BBB", -40, "MOC"), _submit("AAA", 1, "MARKET")],
}


@pytest.mark.parametrize("mode", ["NEXT_BAR", "SAME_BAR"])
@pytest.mark.parametrize("ordering", ["SEQUENTIAL", "EXIT_FIRST", "FIFO"])
def test_buying_power_reservation_matches_ml4t(ordering, mode):
    config = {"initial_cash": 3000.0, "buying_power_reservation": True, "fill_ordering": ordering,
              "execution_mode": mode, "commission_type": "PER_SHARE", "commission_per_share": 0.5,
              "allow_short_selling": True}
    compare(RESERVATION_ACTIONS, _full, config, models=_contracts({"AAA": 5.0, "BBB": 0.5}))
