"""LEAN's buying-power reservation (`buying_power_reservation=True`) with
hand-computed numbers: ES is a future worth 50 per point on flat bars, so a
contract at 1,000 reserves 50,000 of the account when it is submitted."""

import nautilus_like as nl
from nautilus_like import AssetClass, ContractSpec
from tests.conftest import Scripted, flat_prices

ES = {"ES": ContractSpec("ES", AssetClass.FUTURE, multiplier=50.0)}


def _run(actions, closes, **settings):
    strategy = Scripted(actions)
    config = nl.BacktestConfig(initial_cash=100_000, reject_on_insufficient_cash=True, **settings)
    result = nl.Engine(nl.DataFeed(prices_df=flat_prices(closes)), strategy, config, contract_specs=ES).run()
    return [(o.quantity, o.status.value, o.rejection_reason) for o in result.broker.get_orders()], result


def test_the_third_contract_finds_nothing_left_to_reserve():
    # 100,000: two contracts at 1,000 x 50 reserve it all; the third is REJECTED when submitted.
    orders, result = _run({0: [lambda b: b.submit_order("ES", 1) for _ in range(3)]}, {"ES": [1_000.0] * 3},
                          buying_power_reservation=True, fill_ordering=nl.FillOrdering.SEQUENTIAL)
    assert orders == [(1.0, "filled", None), (1.0, "filled", None), (1.0, "rejected", "Insufficient buying power")]
    assert result.broker.get_cash() == 0.0
    # Without it both engines' fill-time check passes the two as well, but the
    # third is refused only at the open, with the account's message.
    orders, _ = _run({0: [lambda b: b.submit_order("ES", 1) for _ in range(3)]}, {"ES": [1_000.0] * 3},
                     fill_ordering=nl.FillOrdering.SEQUENTIAL)
    assert orders[2] == (1.0, "rejected", "Insufficient cash: need $50000.00, have $0.00")


def test_a_short_reserves_its_notional_and_a_refused_order_reserves_nothing():
    # Short 1 ES (reserves 50,000 instead of crediting it), then 2 ES (100,000):
    # refused, leaving 50,000, which the next 1 ES takes.
    orders, _ = _run({0: [lambda b: b.submit_order("ES", -1), lambda b: b.submit_order("ES", 2),
                          lambda b: b.submit_order("ES", 1)]}, {"ES": [1_000.0] * 3},
                     buying_power_reservation=True, allow_short_selling=True)
    assert [status for _, status, _ in orders] == ["filled", "rejected", "filled"]


def test_a_new_day_takes_a_new_shadow_from_the_account():
    # Day 0 reserves both contracts; on day 1 the account holds them (cash 0)
    # and a third still does not fit; selling one on day 2 frees 50,000 at once.
    orders, _ = _run({0: [lambda b: b.submit_order("ES", 2)], 1: [lambda b: b.submit_order("ES", 1)],
                      2: [lambda b: b.submit_order("ES", -1), lambda b: b.submit_order("ES", 1)]},
                     {"ES": [1_000.0] * 4}, buying_power_reservation=True)
    assert [status for _, status, _ in orders] == ["filled", "rejected", "filled", "filled"]
