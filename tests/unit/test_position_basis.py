"""The commission-adjusted reporting basis: each fill's fee spread over the
remaining signed units; reductions keep the price basis, reversals restart at
the fill price with the whole fee. P&L and cash never use it."""

from datetime import datetime, timedelta

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like.config import ExecutionMode, ExecutionPrice


@pytest.mark.parametrize("multiplier", [1.0, 50.0])
def test_basis_through_add_reduce_and_reversal(multiplier):
    times = [datetime(2025, 1, 6) + timedelta(days=i) for i in range(5)]
    trace = []

    class Trade(nl.Strategy):
        def on_data(self, timestamp, data, context, broker):
            pos = broker.get_position("A")
            trace.append((0.0, 0.0) if pos is None else (pos.quantity, pos.commission_adjusted_cost_basis))
            i = times.index(timestamp)
            if i < 4:
                broker.submit_order("A", [10, 10, -5, -30][i])

    feed = nl.DataFeed(prices_df=pl.DataFrame({"timestamp": times, "asset": ["A"] * 5,
                                               "close": [90.0, 100.0, 110.0, 120.0, 130.0]}))
    config = nl.BacktestConfig(initial_cash=10_000.0 * multiplier, allow_short_selling=True, allow_leverage=True,
                               execution_mode=ExecutionMode.NEXT_BAR, next_bar_execution_price=ExecutionPrice.CLOSE)
    result = nl.Engine(feed, Trade(), config, commission_model=nl.PerShareCommission(0.1 * multiplier),
                       contract_specs={"A": nl.ContractSpec("A", multiplier=multiplier)}).run()
    # Fees: 10 x 0.1 = 1 per 10 units (times the multiplier, spread per contract unit).
    # +10 @ 100: 100 + 1/10 = 100.1; +10 @ 110: (100.1*10 + 110*10)/20 + 1/20 = 105.1;
    # -5 @ 120: 105.1 + 0.5/15; -30 @ 130 reverses to -15: 130 + 3/(-15) = 129.8.
    assert [q for q, _ in trace] == [0.0, 10.0, 20.0, 15.0, -15.0]
    assert [b for _, b in trace] == pytest.approx([0.0, 100.1, 105.1, 105.1 + 0.5 / 15, 129.8])
    # A reporting convention only: the trades' P&L still comes from the gross entry price.
    assert sum(f.commission for f in result.fills) == pytest.approx(5.5 * multiplier)


def test_a_hand_built_position_keeps_the_basis_it_is_given():
    given = nl.Position(asset="A", quantity=10.0, entry_price=100.0, entry_time=datetime(2025, 1, 6),
                        _commission_adjusted_cost_basis=100.25)
    assert given.commission_adjusted_cost_basis == 100.25
    plain = nl.Position(asset="A", quantity=10.0, entry_price=100.0, entry_time=datetime(2025, 1, 6))
    assert plain.commission_adjusted_cost_basis == 100.0
