"""Futures cost models (PySystemTrade's formulas) with hand-computed numbers:
`calculate()` quotes the engine's kernel, and a backtest of an ES future
(50 per point) charges the same amounts in cash."""

import pytest

import nautilus_like as nl
from nautilus_like import AssetClass, ContractSpec
from nautilus_like.models import AssetCommission, FuturesCommission, FuturesSlippage, NoCommission
from tests.conftest import Scripted, flat_prices

ES = {"ES": ContractSpec("ES", AssetClass.FUTURE, multiplier=50.0, tick_size=0.25)}


def test_futures_commission_is_the_largest_of_per_trade_per_block_and_percentage():
    pst = FuturesCommission(per_trade=5.0, per_block=2.50, percentage=0.0001)
    assert pst.calculate("ES", 1, 4000.0, multiplier=50.0) == pytest.approx(20.0)   # 1bp of 200,000 > 5 > 2.5
    assert FuturesCommission(per_trade=5.0, per_block=2.50).calculate("ES", 1, 4000.0, 50.0) == 5.0
    assert FuturesCommission(per_trade=5.0, per_block=2.50).calculate("ES", 10, 4000.0, 50.0) == 25.0
    # 10 x 4000 x 50 = 2,000,000 notional: 1bp = 200.
    assert pst.calculate("ES", 10, 4000.0, multiplier=50.0) == 200.0
    # A sale pays by its size; without a multiplier the notional is 100 x 150.
    assert FuturesCommission(per_block=2.25).calculate("ES", -10, 4000.0, 50.0) == 22.5
    assert FuturesCommission(percentage=0.0001).calculate("AAPL", 100, 150.0) == 1.5


def test_futures_slippage_costs_points_times_contracts_times_multiplier():
    es = FuturesSlippage(slippage_points=0.25)
    assert es.calculate("ES", 2, 4000.0, multiplier=50.0) == 25.0        # 2 x 0.25 x 50
    assert es.calculate("ES", -3, 4000.0, None, 50.0) == 37.5            # |-3| x 0.25 x 50
    assert FuturesSlippage(0.02).calculate("CL", 5, 80.0, multiplier=1000.0) == 100.0
    assert es.calculate("ES", 1, 4000.0) == 0.25                          # multiplier 1
    assert FuturesSlippage().calculate("ES", 10, 4000.0, multiplier=50.0) == 0.0


def test_bad_futures_cost_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match=r"per_block must be a finite number >= 0, got -1"):
        FuturesCommission(per_block=-1)
    with pytest.raises(ValueError, match=r"percentage must be a finite number >= 0, got nan"):
        FuturesCommission(percentage=float("nan"))
    with pytest.raises(ValueError, match=r"slippage_points must be a finite number >= 0, got 'x'"):
        FuturesSlippage("x")
    with pytest.raises(ValueError, match=r"multiplier must be a finite number > 0, got 0"):
        FuturesCommission(per_block=1.0).calculate("ES", 1, 4000.0, multiplier=0)
    with pytest.raises(ValueError, match=r"multiplier must be a finite number > 0, got -50"):
        FuturesSlippage(0.25).calculate("ES", 1, 4000.0, multiplier=-50)


def _round_trip(commission_model, slippage_model=None):
    # Buy 2 ES on bar 0 (fills at bar 1's open, 4000), close on bar 2 (fills at 4020).
    strategy = Scripted({0: [lambda b: b.submit_order("ES", 2)], 2: [lambda b: b.close_position("ES")]})
    feed = nl.DataFeed(prices_df=flat_prices({"ES": [4000.0, 4000.0, 4020.0, 4020.0]}))
    return nl.Engine(feed, strategy, nl.BacktestConfig(initial_cash=500_000), contract_specs=ES,
                     commission_model=commission_model, slippage_model=slippage_model).run()


def test_a_futures_round_trip_pays_contract_costs():
    # Slippage 0.25 points: entry 4000.25, exit 4019.75.
    # Fees: 1bp of 2 x 4000.25 x 50 = 400,025 -> 40.0025; of 401,975 -> 40.1975 (both > 5 and 2 x 2.5).
    # P&L: (4019.75 - 4000.25) x 2 x 50 = 1,950 gross, 1,950 - 80.2 = 1,869.8 net.
    result = _round_trip(FuturesCommission(per_trade=5.0, per_block=2.5, percentage=0.0001),
                         FuturesSlippage(slippage_points=0.25))
    fills = result.to_fills_dataframe()
    assert fills["price"].to_list() == [4000.25, 4019.75]
    assert fills["slippage"].to_list() == [0.25, 0.25]
    assert fills["commission"].to_list() == pytest.approx([40.0025, 40.1975], abs=1e-9)
    trade = result.to_trades_dataframe().row(0, named=True)
    assert trade["gross_pnl"] == pytest.approx(1_950.0)
    assert trade["pnl"] == pytest.approx(1_869.8)
    # Cash: 500,000 - 400,025 - 40.0025 + 401,975 - 40.1975.
    assert result.metrics["final_value"] == pytest.approx(501_869.8)


def test_per_block_fees_route_per_asset():
    # IB's 2.25 per contract each way: 2 x 2.25 twice = 9.
    result = _round_trip(AssetCommission({"ES": FuturesCommission(per_block=2.25)}, default=NoCommission()))
    assert result.to_fills_dataframe()["commission"].to_list() == [4.5, 4.5]
    assert result.metrics["final_value"] == pytest.approx(500_000 + 20 * 2 * 50 - 9.0)
