"""LOCK_NOTIONAL's two update modes with hand-computed expectations.

Under ``short_cash_policy=LOCK_NOTIONAL`` (no leverage) a short locks its
proceeds and as much again: free cash = cash - 2 x the shorts' entry basis.
POSITION_LEGS settles a fill's closing leg and then its opening leg;
COMBINED_ORDER (VectorBT OSS, the ``vectorbt_oss_strict`` preset) settles the
fill's gross cash and its change of short debt as one order. They lock the
same amounts; their rounding differs, and so can which orders fit.

Every scenario is a standalone broker filling market orders at once
(SAME_BAR) at the listed price, fractional shares, partial fills allowed and
no costs, so free cash alone sizes an order: a buy of ``q`` at ``p`` fills
``min(q, free / p)``. Free cash is read back that way: a buy of a huge
quantity of an asset priced 1.0 fills exactly the free cash.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import nautilus_like as nl
from nautilus_like.config import LockNotionalUpdateMode

T0 = datetime(2024, 1, 2)
LEGS, COMBINED = LockNotionalUpdateMode.POSITION_LEGS, LockNotionalUpdateMode.COMBINED_ORDER


class Locked:
    """A LOCK_NOTIONAL standalone broker stepped one bar per `at` call."""

    def __init__(self, cash: float, mode: LockNotionalUpdateMode = COMBINED):
        self.broker = nl.Broker(initial_cash=cash, execution_mode=nl.ExecutionMode.SAME_BAR,
                                allow_short_selling=True, short_cash_policy="lock_notional",
                                lock_notional_update_mode=mode, share_type="fractional",
                                partial_fills_allowed=True)
        self.day = 0

    def at(self, prices: dict[str, float], *orders: tuple[str, float]):
        """A new bar at `prices` (the probe asset "C" at 1.0), then `orders`
        (asset, signed quantity) filled at once; returns their fill quantities."""
        prices = {**prices, "C": 1.0}
        self.broker._update_time(T0 + timedelta(days=self.day), prices, prices, prices, prices,
                                 {a: 1e12 for a in prices}, {})
        self.day += 1
        before = len(self.broker.fills)
        for asset, quantity in orders:
            self.broker.submit_order(asset, quantity)
        self.broker._process_orders()
        return [f.quantity for f in self.broker.fills[before:]]

    def free_cash(self) -> float:
        """Buys all the free cash affords of "C" at 1.0 (the last step of a scenario)."""
        (quantity,) = self.at({}, ("C", 1e9))
        return quantity

    def position(self, asset: str) -> float:
        position = self.broker.get_position(asset)
        return 0.0 if position is None else position.quantity


@pytest.mark.parametrize("mode", [LEGS, COMBINED])
def test_flat_account_spends_free_cash_either_way(mode):
    # 1,000 free: 10 @ 100 long or short (a short locks 2 x 1,000 of the 2,000 cash).
    buyer, seller = Locked(1_000.0, mode), Locked(1_000.0, mode)
    assert buyer.at({"A": 100.0}, ("A", 20.0)) == [10.0]
    assert seller.at({"A": 100.0}, ("A", -20.0)) == [10.0]
    assert (buyer.broker.get_cash(), seller.broker.get_cash()) == (0.0, 2_000.0)


def test_combined_order_flip_from_short_to_long_spends_the_released_collateral():
    # Short 10 @ 100 on 1,000: cash 2,000, free 0, basis 1,000. At 50 a cover of
    # all 10 leaves 0 + 2 x 1,000 - 500 = 1,500 > 0, so the order may spend free
    # cash plus the released collateral, 2,000 (no more than the cash, 2,000):
    # 40 units, which cover 10 and open a long of 30. Cash 2,000 - 2,000 = 0.
    account = Locked(1_000.0)
    assert account.at({"A": 100.0}, ("A", -10.0)) == [10.0]
    assert account.broker.get_cash() == 2_000.0
    assert account.at({"A": 50.0}, ("A", 50.0)) == [40.0]
    assert (account.position("A"), account.broker.get_cash()) == (30.0, 0.0)
    # Free: 0 + 2 x 1,000 released - 40 x 50 = 0 (the new long holds it all).
    assert account.at({"A": 50.0}, ("A", 1.0)) == []
    assert account.broker.get_orders()[-1].status.value == "rejected"


def test_combined_order_cover_after_a_rally_is_limited_by_its_net_cost():
    # Short 5 @ 100 on 1,000: cash 1,500, free 500, basis 500 (100 a unit).
    # At 400 covering all 5 would leave 500 + 1,000 - 2,000 < 0: each covered
    # unit costs 400 and releases 2 x 100, 200 net, so 500 / 200 = 2.5 units.
    account = Locked(1_000.0)
    account.at({"A": 100.0}, ("A", -5.0))
    assert account.at({"A": 400.0}, ("A", 10.0)) == [2.5]
    # Cash 1,500 - 1,000 = 500; free 500 + 2 x 250 - 1,000 = 0; basis 250.
    assert (account.position("A"), account.broker.get_cash()) == (-2.5, 500.0)
    # At 200 covering the rest leaves 0 + 2 x 250 - 500 = 0 exactly: then the
    # cash decides, 500 / 200 = 2.5 units.
    assert account.at({"A": 200.0}, ("A", 10.0)) == [2.5]
    assert (account.position("A"), account.broker.get_cash()) == (0.0, 0.0)


def test_combined_order_partial_long_close_releases_the_sale_cash():
    # Long 10 @ 100 on 1,000 (free 0). Selling 5 @ 100 frees 500: a buy of 10
    # then fills 5, and the account is fully invested again.
    account = Locked(1_000.0)
    assert account.at({"A": 100.0}, ("A", 10.0)) == [10.0]
    assert account.at({"A": 100.0}, ("A", -5.0)) == [5.0]
    assert (account.position("A"), account.broker.get_cash()) == (5.0, 500.0)
    assert account.free_cash() == 500.0


def test_combined_order_long_to_short_reversal_reuses_the_sale_proceeds():
    # Long 10 @ 100 (free 0). At 200 the long sells for 2,000, which locks a
    # short of 2,000 / 200 = 10: 10 + 10 = 20 of the 30 asked.
    account = Locked(1_000.0)
    account.at({"A": 100.0}, ("A", 10.0))
    assert account.at({"A": 200.0}, ("A", -30.0)) == [20.0]
    # Cash 0 + 20 x 200 = 4,000; free 0 + 4,000 - 2 x 2,000 = 0.
    assert (account.position("A"), account.broker.get_cash()) == (-10.0, 4_000.0)
    assert account.at({"A": 200.0}, ("B", -1.0)) == []


def test_combined_order_refuses_a_new_short_when_all_cash_is_locked():
    # Short B 10 @ 100 on 1,000 locks everything (free 0): a short of A fills nothing.
    account = Locked(1_000.0)
    account.at({"A": 100.0, "B": 100.0}, ("B", -10.0))
    assert account.at({"A": 100.0, "B": 100.0}, ("A", -1.0)) == []
    assert account.position("A") == 0.0 and len(account.broker.fills) == 1
    assert account.broker.get_orders()[-1].status.value == "rejected"


@pytest.mark.parametrize("mode, expected", [(LEGS, 8_975.300000000001), (COMBINED, 8_975.3)])
def test_the_modes_round_a_cover_differently(mode, expected):
    # Short 25 @ 168.22 on 10,000: basis 4,205.5, free 10,000 - 4,205.5 = 5,794.5.
    # Cover 14 @ 109.24: releases 2 x 14/25 x 4,205.5 = 4,709.56, pays 1,529.36,
    # so free cash is 8,975.30 either way, up to rounding:
    #   POSITION_LEGS:  5,794.5 + (released + released - 1,529.36) = 8975.300000000001
    #   COMBINED_ORDER: (5,794.5 + 2 x released) - 1,529.36        = 8975.3
    account = Locked(10_000.0, mode)
    account.at({"A": 168.22}, ("A", -25.0))
    account.at({"A": 109.24}, ("A", 14.0))
    assert account.free_cash() == expected
