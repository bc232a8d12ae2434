"""Contract multipliers (futures-style P&L) with hand-computed numbers.

ES is a future worth 50 per point; bars are flat, so market orders fill at
the next bar's open = the listed price.
"""

import pytest

import nautilus_like as nl
from nautilus_like import AssetClass, ContractSpec
from tests.conftest import Scripted, flat_prices

ES = {"ES": ContractSpec("ES", AssetClass.FUTURE, multiplier=50.0, tick_size=0.25)}


def run(closes, actions, config=None, specs=ES, observe=None):
    strategy = Scripted(actions, observe)
    feed = nl.DataFeed(prices_df=flat_prices(closes))
    return nl.Engine(feed, strategy, config or nl.BacktestConfig(initial_cash=500_000),
                     contract_specs=specs).run()


def test_cash_values_and_pnl_scale_by_the_multiplier():
    # Buy 2 @ 4000: cash 500,000 - 2 * 4000 * 50 = 100,000. Close 4010: equity
    # 100,000 + 2 * 4010 * 50 = 501,000. Sold @ 4020: P&L (4020 - 4000) * 2 * 50 = 2,000.
    seen = []
    result = run({"ES": [4000.0, 4000.0, 4010.0, 4020.0]},
                 {0: [lambda b: b.submit_order("ES", 2)], 2: [lambda b: b.close_position("ES")]},
                 observe=lambda bar, t, d, c, b: seen.append(
                     (b.get_cash(), b.get_account_value(), b.get_position("ES") and b.get_position("ES").market_value)))
    assert seen[1] == (100_000.0, 500_000.0, 400_000.0)
    assert seen[2] == (100_000.0, 501_000.0, 401_000.0)
    trade = result.to_trades_dataframe().row(0, named=True)
    assert (trade["pnl"], trade["gross_pnl"], trade["multiplier"]) == (2_000.0, 2_000.0, 50.0)
    fills = result.to_fills_dataframe()
    assert fills["multiplier"].to_list() == [50.0, 50.0] and fills["currency"].to_list() == ["USD", "USD"]
    assert result.metrics["final_value"] == 502_000.0
    assert result.metrics["total_filled_notional"] == 2 * 4000 * 50 + 2 * 4020 * 50


def test_notional_sizing_and_the_cash_check_count_the_multiplier():
    # 200,000 of ES at 4000 is one contract; 3 contracts (600,000) exceed 500,000 cash.
    result = run({"ES": [4000.0] * 3}, {0: [lambda b: b.order_target_value("ES", 200_000),
                                            lambda b: b.submit_order("ES", 3)]})
    orders = [(o.quantity, o.status.value, o.rejection_reason) for o in result.broker.get_orders()]
    assert orders == [(1.0, "filled", None),
                      (3.0, "rejected", "Insufficient cash: need $600000.00, have $300000.00")]
    assert result.broker.get_multiplier("ES") == 50.0
    assert result.broker.get_contract_spec("ES").tick_size == 0.25


def test_bad_contract_specs_are_refused():
    with pytest.raises(ValueError, match="multiplier must be a finite number > 0, got 0"):
        ContractSpec("ES", AssetClass.FUTURE, multiplier=0)
    with pytest.raises(ValueError, match="contract_specs names asset 'NQ', which is not in the feed"):
        run({"ES": [4000.0] * 2}, {}, specs={"NQ": ContractSpec("NQ", multiplier=20.0)})
    with pytest.raises(ValueError, match="futures_variation.*not supported"):
        run({"ES": [4000.0] * 2}, {}, specs={"ES": ContractSpec("ES", AssetClass.FUTURE, multiplier=50.0,
                                                                accounting_method="futures_variation")})


def test_futures_margin_per_contract_in_a_margin_account():
    # ES margin 15,000 a contract (maintenance 7,500). 40,000 of equity carries two
    # contracts (30,000) but not three (45,000), whatever the 200,000 notional each.
    specs = {"ES": ContractSpec("ES", AssetClass.FUTURE, multiplier=50.0, margin=15_000.0)}
    config = nl.BacktestConfig(initial_cash=40_000, allow_leverage=True, allow_short_selling=True)
    result = run({"ES": [4000.0] * 4}, {0: [lambda b: b.submit_order("ES", 2)],
                                        1: [lambda b: b.submit_order("ES", 1)]}, config, specs)
    orders = [(o.status.value, o.rejection_reason) for o in result.broker.get_orders()]
    assert orders == [("filled", None), ("rejected", "Insufficient margin: need $45000.00, equity $40000.00")]
    assert result.broker.get_cash() == 40_000.0 - 2 * 4000 * 50


def test_margin_schedules_are_validated():
    # ml4t's wording; raised when the config is built (ml4t: from validate() / the broker).
    with pytest.raises(ValueError, match=r"margin_pct_schedule\['ES'\] maintenance margin \(0.08\) "
                                         r"must be < initial margin \(0.05\)"):
        nl.BacktestConfig(allow_leverage=True, margin_pct_schedule={"ES": (0.05, 0.08)})
    with pytest.raises(ValueError, match=r"margin_pct_schedule\['ES'\] initial margin \(1.5\) must be in \(0.0, 1.0\]"):
        nl.BacktestConfig(margin_pct_schedule={"ES": (1.5, 0.5)})
    with pytest.raises(ValueError, match=r"fixed_margin_schedule\['ES'\] maintenance margin \(0.0\) must be a finite"):
        nl.BacktestConfig(fixed_margin_schedule={"ES": (100.0, 0.0)})
    with pytest.raises(ValueError, match=r"margin_pct_schedule\['ES'\] must be a two-item \(initial, maintenance\)"):
        nl.BacktestConfig(margin_pct_schedule={"ES": 0.05})

    class TooLarge:
        def __float__(self):
            raise OverflowError("too large")

    with pytest.raises(ValueError, match=r"margin_pct_schedule\['ES'\] values must be numeric"):
        nl.BacktestConfig(margin_pct_schedule={"ES": (TooLarge(), 0.05)})
    with pytest.raises(ValueError, match="cannot both define: \\['ES'\\]"):
        nl.BacktestConfig(allow_leverage=True, fixed_margin_schedule={"ES": (100.0, 50.0)},
                          margin_pct_schedule={"ES": (0.1, 0.05)})
    # A cash account holds a schedule (as ml4t's) and ignores it; it round-trips.
    cash = nl.BacktestConfig(margin_pct_schedule={"ES": (0.05, 0.035)})
    assert nl.BacktestConfig.from_dict(cash.to_dict()).margin_pct_schedule == {"ES": (0.05, 0.035)}
    assert nl.BacktestConfig.from_yaml(cash.to_yaml()).margin_pct_schedule == {"ES": (0.05, 0.035)}
