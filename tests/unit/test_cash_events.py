"""External capital flows and perpetual funding, computed by hand.

Both move cash as their bar opens (after the marks, before any fill). A
flow is no return: returns chain the account values between flows.
"""

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from nautilus_like import BacktestConfig, DataFeed, Engine, Strategy
from nautilus_like.config import ExecutionMode
from nautilus_like.contracts import ContractSpec
from nautilus_like.result import BacktestResult
from nautilus_like.types import AssetClass, OrderSide

SAME_BAR = ExecutionMode.SAME_BAR


class BuyOnFirstBar(Strategy):
    def __init__(self, asset: str = "TEST", quantity: float = 100, side: OrderSide = OrderSide.BUY):
        self.asset, self.quantity, self.side, self.bars = asset, quantity, side, 0

    def on_data(self, timestamp, data, context, broker):
        if self.bars == 0:
            broker.submit_order(self.asset, self.quantity, self.side)
        self.bars += 1


class Idle(Strategy):
    def on_data(self, timestamp, data, context, broker):
        pass


def _days(n: int) -> list[datetime]:
    return [datetime(2025, 1, 2, 16, tzinfo=UTC) + timedelta(days=i) for i in range(n)]


def _run(closes: list[float], flows: pl.DataFrame | None = None, cash: float = 10_000.0) -> BacktestResult:
    dates = _days(len(closes))
    prices = pl.DataFrame({"timestamp": dates, "asset": "TEST", "close": closes})
    return Engine(DataFeed(prices_df=prices, capital_flows=flows), BuyOnFirstBar(),
                  BacktestConfig(initial_cash=cash, execution_mode=SAME_BAR)).run()


def _flows(*rows: tuple[int, str, str, float]) -> pl.DataFrame:
    dates = _days(10)
    return pl.DataFrame({"timestamp": [dates[r[0]] for r in rows], "event_id": [r[1] for r in rows],
                         "kind": [r[2] for r in rows], "value": [r[3] for r in rows]})


# ---------------------------------------------------------------- capital flows

def test_a_deposit_mid_run_changes_equity_but_not_the_strategys_return():
    # 100 shares bought at 100 with all 10,000; closes 100, 110, 121, 121.
    # Without the deposit: equity 10,000, 11,000, 12,100, 12,100: +10%, +10%, 0.
    # A 10,000 deposit at day 3 (close 121): NAV 12,100 before, 22,100 after.
    closes = [100.0, 110.0, 121.0, 121.0]
    baseline = _run(closes)
    funded = _run(closes, _flows((2, "top-up", "delta", 10_000.0)))
    assert baseline.to_portfolio_state_dataframe()["equity"].to_list() == [10_000, 11_000, 12_100, 12_100]
    assert funded.to_portfolio_state_dataframe()["equity"].to_list() == [10_000, 11_000, 22_100, 22_100]
    assert funded.to_portfolio_state_dataframe()["cash"].to_list() == [0, 0, 10_000, 10_000]
    assert funded.to_returns_series().to_list() == pytest.approx([0.0, 0.1, 0.1, 0.0])
    assert funded.to_returns_series().to_list() == pytest.approx(baseline.to_returns_series().to_list())
    for key in ("total_return", "max_drawdown", "sharpe", "cagr"):
        assert funded.metrics[key] == pytest.approx(baseline.metrics[key]), key
    assert funded.metrics["total_return"] == pytest.approx(0.21)
    assert funded.metrics["final_value"] == 22_100
    assert funded.metrics["total_external_flow"] == 10_000 and funded.metrics["num_capital_changes"] == 1
    change = funded.capital_changes[0]
    assert (change.event_id, change.kind, change.cash_delta) == ("top-up", "delta", 10_000.0)
    assert (change.nav_before, change.nav_after) == (12_100.0, 22_100.0)
    # The fills are the baseline's: only cash moved.
    assert funded.to_fills_dataframe()["price"].to_list() == [100.0]


def test_deposited_cash_earns_nothing_after_the_flow():
    # As above, then the close goes 121 -> 133.1: the 100 shares gain 1,210 on
    # 22,100 of capital (1,210 / 22,100 = 5.475%), not on 12,100.
    funded = _run([100.0, 110.0, 121.0, 133.1], _flows((2, "top-up", "delta", 10_000.0)))
    returns = funded.to_returns_series().to_list()
    assert returns == pytest.approx([0.0, 0.1, 0.1, 1_210.0 / 22_100.0])
    assert funded.metrics["total_return"] == pytest.approx(1.1 * 1.1 * (23_310.0 / 22_100.0) - 1.0)


def test_a_withdrawal_is_no_loss_and_drawdown_ignores_it():
    # 20,000 of cash buys 100 shares at 100 (10,000 left in cash); closes stay
    # at 100; 5,000 withdrawn on day 2: equity 20,000 -> 15,000, no return.
    result = _run([100.0, 100.0, 100.0], _flows((1, "out", "delta", -5_000.0)), cash=20_000.0)
    assert result.to_portfolio_state_dataframe()["equity"].to_list() == [20_000, 15_000, 15_000]
    assert result.to_returns_series().to_list() == [0.0, 0.0, 0.0]
    assert result.metrics["max_drawdown"] == 0.0 and result.metrics["total_return"] == 0.0
    equity = result.to_equity_dataframe()
    assert equity["drawdown"].to_list() == [0.0, 0.0, 0.0]
    daily = result.to_daily_pnl()
    assert daily["pnl"].to_list() == [0.0, 0.0, 0.0]
    assert daily["external_flow"].to_list() == [0.0, -5_000.0, 0.0]


def test_a_target_flow_moves_the_difference_to_the_marked_account_value():
    # Day 2: 100 shares at 110 + 0 cash = 11,000; target 12,000 deposits 1,000.
    result = _run([100.0, 110.0, 110.0], _flows((1, "t", "target", 12_000.0)))
    change = result.to_capital_flows_dataframe().row(0, named=True)
    assert (change["cash_delta"], change["nav_before"], change["nav_after"]) == (1_000.0, 11_000.0, 12_000.0)
    assert change["flow_sequence"] == 0


def test_a_withdrawal_beyond_cash_fails_the_bar_and_leaves_cash_untouched():
    # Two flows on day 1: +1,000 then -20,000 from 10,000: the second would
    # leave -9,000 of cash and account value; neither applies.
    engine = Engine(DataFeed(prices_df=pl.DataFrame({"timestamp": _days(1), "asset": "TEST", "close": [100.0]}),
                             capital_flows=_flows((0, "a", "delta", 1_000.0), (0, "b", "delta", -20_000.0))),
                    BuyOnFirstBar(), BacktestConfig(initial_cash=10_000))
    with pytest.raises(ValueError, match="capital change would make cash/NAV invalid"):
        engine.run()
    assert engine.broker.get_cash() == 10_000 and engine.capital_changes == []


def test_an_account_without_leverage_withdraws_only_cash():
    # 10,000 all in 100 shares at 100; day 2 (close 100): withdrawing 5,000
    # would leave -5,000 of cash although the account is worth 10,000.
    with pytest.raises(ValueError, match="capital withdrawal exceeds available cash"):
        _run([100.0, 100.0], _flows((1, "out", "delta", -5_000.0)))


def test_flows_written_and_read_back_keep_the_returns(tmp_path):
    funded = _run([100.0, 110.0, 121.0, 121.0], _flows((2, "top-up", "delta", 10_000.0)))
    funded.to_parquet(tmp_path)
    restored = BacktestResult.from_parquet(tmp_path)
    assert restored.to_capital_flows_dataframe().equals(funded.to_capital_flows_dataframe())
    assert restored.to_returns_series().to_list() == pytest.approx([0.0, 0.1, 0.1, 0.0])
    assert restored.metrics["total_external_flow"] == 10_000


@pytest.mark.parametrize("bad,message", [
    ({"value": float("nan")}, "capital flow value must be finite, got nan"),
    ({"kind": "income"}, "capital flow kind must be 'delta' or 'target', got 'income'"),
    ({"event_id": ""}, "capital flow event_id must be nonempty and unique"),
    ({"timestamp": datetime(2030, 1, 1, tzinfo=UTC)}, "must match a feed event timestamp"),
    ({"known_at": datetime(2030, 1, 1, tzinfo=UTC)}, "cannot be applied before its known_at"),
    ({"kind": "target", "value": -1.0}, "target capital must be nonnegative"),
])
def test_bad_flows_are_refused_before_the_run(bad, message):
    row = {"timestamp": _days(1)[0], "event_id": "a", "kind": "delta", "value": 100.0, **bad}
    feed = DataFeed(prices_df=pl.DataFrame({"timestamp": _days(1), "asset": "TEST", "close": [100.0]}),
                    capital_flows=pl.DataFrame([row]))
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Engine(feed, BuyOnFirstBar())


def test_duplicate_flow_ids_are_refused_and_unsorted_flows_are_sorted():
    dates = _days(3)
    prices = pl.DataFrame({"timestamp": dates, "asset": "TEST", "close": [100.0] * 3})
    twice = pl.DataFrame({"timestamp": dates[:2], "event_id": ["a", "a"], "kind": "delta", "value": 1.0})
    with pytest.raises(ValueError, match="unique, got 'a'"):
        Engine(DataFeed(prices_df=prices, capital_flows=twice), BuyOnFirstBar())
    backwards = pl.DataFrame({"timestamp": [dates[2], dates[1]], "event_id": ["late", "early"], "kind": "delta",
                              "value": [2.0, 1.0]})
    result = Engine(DataFeed(prices_df=prices, capital_flows=backwards), Idle(),
                    BacktestConfig(initial_cash=100_000)).run()
    assert [c.event_id for c in result.capital_changes] == ["early", "late"]
    assert result.to_portfolio_state_dataframe()["cash"].to_list() == [100_000.0, 100_001.0, 100_003.0]


def test_capital_flows_must_be_a_polars_frame():
    with pytest.raises(TypeError, match="capital_flows must be a Polars DataFrame, got dict"):
        DataFeed(prices_df=pl.DataFrame({"timestamp": _days(1), "asset": "TEST", "close": [1.0]}),
                 capital_flows={"value": [1.0]})


# --------------------------------------------------------------------- funding

def _perp_run(funding: pl.DataFrame | None, side: OrderSide = OrderSide.BUY, strategy: Strategy | None = None,
              multiplier: float = 1.0) -> BacktestResult:
    # 8-hourly bars, BTC-PERP flat at 50,000; one contract bought (or sold) at the first.
    times = [datetime(2025, 1, 1) + timedelta(hours=8 * i) for i in range(4)]
    prices = pl.DataFrame({"timestamp": times, "asset": "BTC-PERP", "close": 50_000.0})
    specs = {"BTC-PERP": ContractSpec(symbol="BTC-PERP", asset_class=AssetClass.FUTURE, multiplier=multiplier)}
    return Engine(DataFeed(prices_df=prices), strategy or BuyOnFirstBar("BTC-PERP", 1, side),
                  BacktestConfig(initial_cash=100_000, execution_mode=SAME_BAR, allow_short_selling=True,
                                 allow_leverage=True),
                  contract_specs=specs, funding_df=funding).run()


def _eight_hourly(rate: float = 0.0001) -> pl.DataFrame:
    times = [datetime(2025, 1, 1) + timedelta(hours=8 * i) for i in (1, 2, 3)]
    return pl.DataFrame({"timestamp": times, "asset": "BTC-PERP", "rate": rate})


def test_a_long_perpetual_pays_five_dollars_per_eight_hourly_event_at_one_basis_point():
    # 1 contract x 50,000 x 0.0001 = 5 per event, three events after the entry.
    result = _perp_run(_eight_hourly())
    payments = result.to_funding_dataframe()
    assert payments["cash_delta"].to_list() == [-5.0, -5.0, -5.0]
    assert payments["quantity"].to_list() == [1.0, 1.0, 1.0]
    assert payments["mark_price"].to_list() == [50_000.0] * 3
    assert result.to_portfolio_state_dataframe()["cash"].to_list() == [50_000.0, 49_995.0, 49_990.0, 49_985.0]
    assert result.metrics["total_funding"] == -15.0 and result.metrics["num_funding_events"] == 3
    assert result.metrics["final_value"] == 99_985.0
    # Funding is cash, not trade P&L.
    assert result.trades[0].pnl == 0.0


def test_a_short_perpetual_receives_the_same_funding():
    result = _perp_run(_eight_hourly(), side=OrderSide.SELL)
    assert result.to_funding_dataframe()["cash_delta"].to_list() == [5.0, 5.0, 5.0]
    assert result.metrics["total_funding"] == 15.0


def test_amount_per_unit_counts_underlying_units():
    # 0.50 per unit x 1 contract x multiplier 2 = 1.00 per event.
    funding = _eight_hourly().drop("rate").with_columns(amount_per_unit=pl.lit(0.5))
    result = _perp_run(funding, multiplier=2.0)
    assert result.to_funding_dataframe()["cash_delta"].to_list() == [-1.0, -1.0, -1.0]
    assert result.to_funding_dataframe()["rate"].to_list() == [None] * 3


def test_a_position_opened_at_the_event_pays_nothing_and_is_recorded():
    class BuyAtSecondBar(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if timestamp == datetime(2025, 1, 1, 8):
                broker.submit_order("BTC-PERP", 1)

    result = _perp_run(_eight_hourly().head(1), strategy=BuyAtSecondBar())
    payment = result.to_funding_dataframe().row(0, named=True)
    assert (payment["quantity"], payment["mark_price"], payment["cash_delta"]) == (0.0, None, 0.0)


def test_funding_artifact_round_trip(tmp_path):
    result = _perp_run(_eight_hourly())
    result.to_parquet(tmp_path)
    restored = BacktestResult.from_parquet(tmp_path)
    assert restored.to_funding_dataframe().equals(result.to_funding_dataframe())
    assert restored.metrics["total_funding"] == -15.0


@pytest.mark.parametrize("frame,message", [
    (pl.DataFrame({"timestamp": [datetime(2025, 1, 1, 8)], "asset": ["ETH-PERP"], "rate": [0.01]}),
     "funding asset 'ETH-PERP' is absent from the feed"),
    (pl.DataFrame({"timestamp": [datetime(2025, 1, 1, 8)], "asset": ["BTC-PERP"], "rate": [float("nan")]}),
     "funding rate or amount_per_unit must be finite, got nan"),
    (pl.DataFrame({"timestamp": [datetime(2025, 1, 1, 8)] * 2, "asset": ["BTC-PERP"] * 2, "rate": [0.01] * 2}),
     "duplicate funding event for BTC-PERP"),
    (pl.DataFrame({"timestamp": [datetime(2025, 1, 1, 9)], "asset": ["BTC-PERP"], "rate": [0.01]}),
     "funding timestamp 2025-01-01 09:00:00 must match a feed event timestamp"),
    (pl.DataFrame({"timestamp": [datetime(2025, 1, 1, 8)], "asset": ["BTC-PERP"], "rate": [0.01],
                   "amount_per_unit": [0.5]}), "requires exactly one of rate or amount_per_unit"),
    (pl.DataFrame({"timestamp": [datetime(2025, 1, 1, 8)], "asset": ["BTC-PERP"]}),
     "requires a rate or an amount_per_unit column"),
])
def test_bad_funding_is_refused_before_the_run(frame, message):
    with pytest.raises(ValueError, match=message):
        _perp_run(frame)


def test_session_pnl_measures_the_flow_free_equity():
    # One NYSE session, three hourly bars at 100: buy 1 share on the first bar
    # paying a 10 commission (equity 9,990), deposit 10,000 on the second
    # (19,990), withdraw it on the third (9,990). The session lost the fee only:
    # P&L -10, return -0.1%, and its deepest drawdown is the fee too, not the
    # withdrawal's -50%.
    class BuyFirst(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if broker.get_position("TEST") is None:
                broker.submit_order("TEST", 1)

    dates = [datetime(2025, 1, 2, hour, tzinfo=UTC) for hour in (15, 16, 17)]
    prices = pl.DataFrame({"timestamp": dates, "asset": ["TEST"] * 3, "close": [100.0] * 3})
    flows = pl.DataFrame({"timestamp": dates[1:], "event_id": ["in", "out"], "kind": ["delta", "delta"],
                          "value": [10_000.0, -10_000.0]})
    result = Engine(DataFeed(prices_df=prices, capital_flows=flows), BuyFirst(),
                    BacktestConfig(initial_cash=10_000, calendar="NYSE", execution_mode=ExecutionMode.SAME_BAR,
                                   commission_per_trade=10.0)).run()
    assert result.to_portfolio_state_dataframe()["equity"].to_list() == [9_990, 19_990, 9_990]
    daily = result.to_daily_pnl(session_aligned=True)
    assert daily["pnl"].to_list() == pytest.approx([-10.0])
    assert daily["return_pct"].to_list() == pytest.approx([-0.001])
    assert daily["intra_session_dd"].to_list() == pytest.approx([-0.001])
