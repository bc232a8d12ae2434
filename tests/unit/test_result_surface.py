"""BacktestResult as ml4t-backtest's value object: built by hand or by a run,
its tables, its artifact directory, signal enrichment and rejected orders.
Every expectation is computed by hand from the inputs shown."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import polars as pl
import pytest

from nautilus_like import BacktestConfig, DataFeed, Engine, Strategy
from nautilus_like._model import Fill, Order
from nautilus_like.result import (
    ArtifactIncompleteError,
    ArtifactManifestError,
    ArtifactNotFoundError,
    ArtifactReadError,
    ArtifactWriteError,
    BacktestResult,
    UnsupportedArtifactVersionError,
    enrich_trades_with_signals,
)
from nautilus_like.types import ExecutionMode, OrderSide, OrderStatus, Trade

T0 = datetime(2024, 1, 2, 10)


def _by_hand(**extra) -> BacktestResult:
    trade = Trade(symbol="AAPL", entry_time=T0, exit_time=T0 + timedelta(hours=2), entry_price=100.0,
                  exit_price=110.0, quantity=10.0, pnl=95.0, pnl_percent=0.1, bars_held=2, fees=5.0)
    fills = [Fill(order_id="ORD-1", asset="AAPL", side=OrderSide.BUY, quantity=10.0, price=100.0, timestamp=T0,
                  commission=2.5),
             Fill(order_id="ORD-2", asset="AAPL", side=OrderSide.SELL, quantity=10.0, price=110.0,
                  timestamp=T0 + timedelta(hours=2), commission=2.5)]
    # 1000 -> 997.5 (fee) -> 1047.5 -> 1095 (sold at 110 less 2.5 fee).
    curve = [(T0, 997.5), (T0 + timedelta(hours=1), 1047.5), (T0 + timedelta(hours=2), 1095.0)]
    return BacktestResult(trades=[trade], equity_curve=curve, fills=fills,
                          metrics={"final_value": 1095.0, "total_return_pct": 9.5, "sharpe": 1.25},
                          initial_capital=1000.0, **extra)


def test_hand_built_tables_count_from_the_initial_capital():
    result = _by_hand()
    equity = result.to_equity_dataframe()
    # First return is against the initial 1000: 997.5 / 1000 - 1 = -0.0025.
    assert equity["return"].to_list() == pytest.approx([-0.0025, 1047.5 / 997.5 - 1, 1095 / 1047.5 - 1])
    assert equity["high_water_mark"].to_list() == [1000.0, 1047.5, 1095.0]
    assert equity["drawdown"].to_list() == pytest.approx([-0.0025, 0.0, 0.0])
    trades = result.to_trades_dataframe()
    assert trades.select("symbol", "direction", "gross_pnl").row(0) == ("AAPL", "long", 100.0)
    fills = result.to_fills_dataframe()
    assert fills["signed_quantity"].to_list() == [10.0, -10.0]
    assert fills["fill_sequence"].to_list() == [0, 1]
    assert result["sharpe"] == 1.25 and result.get("nope", 7) == 7
    assert result.to_dict()["trades"] == [result.trades[0]]
    # One calendar day: close 1095 against the initial 1000.
    daily = result.to_daily_pnl()
    assert daily.select("open_equity", "close_equity", "pnl", "num_bars").row(0) == (1000.0, 1095.0, 95.0, 3)
    assert result.to_daily_returns(calendar=None).to_list() == pytest.approx(equity["return"].to_list())
    assert repr(result) == "BacktestResult(trades=1, bars=3, final_value=$1,095.00, return=+9.50%)"


def test_artifact_round_trip_keeps_values_and_writes_the_manifest_last(tmp_path):
    result = _by_hand()
    result.metrics["profit_factor"] = math.inf
    written = result.to_parquet(tmp_path / "run")
    assert set(written) >= {"trades", "fills", "rejected_orders", "equity", "portfolio_state", "daily_pnl",
                            "metrics", "manifest"}
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (manifest["artifact_type"], manifest["schema_version"], manifest["complete"]) == (
        "ml4t-backtest-result", 3, True)
    assert manifest["omitted_components"]["config"] == "result has no config"
    assert not (tmp_path / "run" / ".artifact-incomplete").exists()
    # Infinity is tagged, so the file stays standard JSON.
    assert "Infinity" not in (tmp_path / "run" / "metrics.json").read_text()
    loaded = BacktestResult.from_parquet(tmp_path / "run")
    assert loaded.metrics["profit_factor"] == math.inf
    assert loaded.equity_curve == result.equity_curve
    assert loaded.initial_capital == 1000.0
    assert loaded.to_trades_dataframe().equals(result.to_trades_dataframe())
    assert loaded.to_fills_dataframe().equals(result.to_fills_dataframe())
    assert loaded.artifact_diagnostics == ()


def test_artifact_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(ArtifactNotFoundError, match="does not exist"):
        BacktestResult.from_parquet(tmp_path / "missing")
    result = _by_hand()
    path = tmp_path / "run"
    result.to_parquet(path)
    (path / "fills.parquet").unlink()
    with pytest.raises(ArtifactIncompleteError, match="fills"):
        BacktestResult.from_parquet(path)
    recovered = BacktestResult.from_parquet(path, recovery=True)
    assert ("component_missing_file", "fills") in [(d.code, d.component) for d in recovered.artifact_diagnostics]
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["schema_version"] = 42
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UnsupportedArtifactVersionError, match="42"):
        BacktestResult.from_parquet(path)
    (path / "manifest.json").write_text("{")
    with pytest.raises(ArtifactManifestError, match="manifest.json"):
        BacktestResult.from_parquet(path)
    with pytest.raises(ArtifactWriteError, match="opaque"):
        BacktestResult([], [], [], {"opaque": object()}).to_parquet(tmp_path / "bad")
    with pytest.raises(ArtifactWriteError, match="config"):
        BacktestResult([], [], [], {}).to_parquet(tmp_path / "bad2", include=["config"])


def test_daily_pnl_that_contradicts_the_equity_is_refused(tmp_path):
    path = tmp_path / "run"
    _by_hand().to_parquet(path)
    daily = pl.read_parquet(path / "daily_pnl.parquet").with_columns(pl.col("pnl") + 1.0)
    daily.write_parquet(path / "daily_pnl.parquet")
    with pytest.raises(ArtifactReadError, match="inconsistent"):
        BacktestResult.from_parquet(path)


def test_enrichment_takes_the_last_signal_at_or_before_entry_and_exit():
    trades = pl.DataFrame({"symbol": ["A", "B"], "entry_time": [T0, T0 + timedelta(hours=1)],
                           "exit_time": [T0 + timedelta(hours=3), T0 + timedelta(hours=2)]})
    signals = pl.DataFrame({
        "timestamp": [T0, T0, T0 + timedelta(hours=2), T0 + timedelta(hours=2)],
        "asset": ["A", "B", "A", "B"], "score": [1.0, 2.0, 3.0, 4.0]})
    out = enrich_trades_with_signals(trades, signals, asset_col="asset")
    # A: entry 10:00 -> 1.0, exit 13:00 -> 3.0 (12:00's); B: entry 11:00 -> 2.0 (10:00's), exit 12:00 -> 4.0.
    assert out.select("symbol", "entry_score", "exit_score").rows() == [("A", 1.0, 3.0), ("B", 2.0, 4.0)]
    # Naive trade times against UTC signals: localized (10:00 stays 10:00), not shifted.
    utc = signals.filter(pl.col("asset") == "A").drop("asset").with_columns(
        pl.col("timestamp").dt.replace_time_zone("America/New_York"))
    out = enrich_trades_with_signals(trades.head(1), utc)
    assert out.select("entry_score", "exit_score").row(0) == (1.0, 3.0)
    with pytest.raises(ValueError, match="not found in trades_df"):
        enrich_trades_with_signals(trades, signals, asset_col="asset", trades_asset_col="ticker")


def _prices(closes: dict[str, list[float]]) -> pl.DataFrame:
    days = [datetime(2024, 1, d) for d in range(2, 2 + len(next(iter(closes.values()))))]
    return pl.DataFrame([{"timestamp": t, "asset": a, "open": c[i], "high": c[i], "low": c[i], "close": c[i],
                          "volume": 1e6} for a, c in closes.items() for i, t in enumerate(days)])


class _LongShort(Strategy):
    def on_data(self, timestamp, data, context, broker):
        if not broker.positions and not broker.orders:
            broker.submit_order("A", 10)
            broker.submit_order("B", -5)


def test_run_records_gross_and_net_exposure_per_bar():
    # Same-bar fills at the closes: long 10 A at 100, short 5 B at 50.
    result = Engine(DataFeed(prices_df=_prices({"A": [100.0, 110.0], "B": [50.0, 60.0]})), _LongShort(),
                    BacktestConfig(initial_cash=10_000.0, allow_short_selling=True, allow_leverage=True,
                                   execution_mode=ExecutionMode.SAME_BAR)).run()
    state = result.to_portfolio_state_dataframe()
    # Bar 1: 10*100 + 5*50 = 1250 gross, 1000 - 250 = 750 net; bar 2: 1100 + 300 = 1400, 1100 - 300 = 800.
    assert state["gross_exposure"].to_list() == pytest.approx([1250.0, 1400.0])
    assert state["net_exposure"].to_list() == pytest.approx([750.0, 800.0])
    assert state["observation_id"].to_list() == [0, 1]
    assert state["observation_kind"].to_list() == ["bar", "bar"]
    assert (state["equity"] - state["cash"]).to_list() == pytest.approx([750.0, 800.0])
    assert result.portfolio_state[1][3:5] == pytest.approx((1400.0, 800.0))


class _TooBig(Strategy):
    def on_data(self, timestamp, data, context, broker):
        if not broker.orders:
            broker.submit_order("A", 1000)
            broker.submit_order("A", -1)


def test_rejected_orders_carry_the_engines_code_and_survive_the_artifact(tmp_path):
    # Cash account with 10_000: 1000 * 100 is refused for cash, the short for the account.
    result = Engine(DataFeed(prices_df=_prices({"A": [100.0]})), _TooBig(),
                    BacktestConfig(initial_cash=10_000.0, execution_mode=ExecutionMode.SAME_BAR)).run()
    codes = [(o.requested_quantity, o.rejection_code) for o in result.rejected_orders]
    assert codes == [(1000.0, "insufficient_cash"), (1.0, "account_restriction")]
    frame = result.to_rejected_orders_dataframe()
    assert frame["rejection_code"].to_list() == ["insufficient_cash", "account_restriction"]
    assert frame["timestamp"].to_list() == [datetime(2024, 1, 2)] * 2
    assert (result.metrics["num_orders"], result.metrics["num_rejected_orders"]) == (2, 2)
    result.to_parquet(tmp_path / "run")
    loaded = BacktestResult.from_parquet(tmp_path / "run")
    assert loaded.to_rejected_orders_dataframe().equals(frame)
    assert loaded.rejected_orders[0].rejection_code == "insufficient_cash"


def test_a_hand_built_order_is_classified_from_its_reason():
    def code(reason, status=OrderStatus.REJECTED):
        return Order(asset="A", side=OrderSide.BUY, quantity=1.0, status=status, rejection_reason=reason).rejection_code

    assert code("Insufficient cash: need $2.00, have $1.00") == "insufficient_cash"
    assert code("Insufficient buying power") == "insufficient_buying_power"
    assert code("Short selling not allowed in cash account") == "account_restriction"
    assert code("No price available") == "price_unavailable"
    assert code("something else") == "order_validation_failed"
    assert code("Insufficient cash", OrderStatus.PENDING) is None
    given = Order(asset="A", side=OrderSide.BUY, quantity=1.0, status=OrderStatus.REJECTED,
                  rejection_reason="No price available", _rejection_code="insufficient_cash")
    assert given.rejection_code == "insufficient_cash"


class _BuyOnce(Strategy):
    def on_data(self, timestamp, data, context, broker):
        if not broker.orders:
            broker.submit_order("A", 10)


def test_run_backtest_keeps_the_signals_as_predictions_and_takes_engine_keywords():
    from nautilus_like import run_backtest
    from nautilus_like.execution.limits import VolumeParticipationLimit

    prices = _prices({"A": [100.0, 100.0]}).with_columns(pl.lit(4.0).alias("volume"))
    signals = pl.DataFrame({"timestamp": [datetime(2024, 1, 2)], "asset": ["A"], "score": [0.5]})
    result = run_backtest(prices=prices, strategy=_BuyOnce(), signals=signals,
                          config=BacktestConfig(initial_cash=10_000.0, execution_mode=ExecutionMode.SAME_BAR,
                                                partial_fills_allowed=True),
                          execution_limits=VolumeParticipationLimit(max_participation=0.5))
    assert result.to_predictions_dataframe().equals(signals)
    # Half of each bar's volume 4: 2 shares a bar, so 4 of the 10 over two bars.
    assert [f.quantity for f in result.fills] == [2.0, 2.0]


def test_the_engine_keeps_its_own_equity_curve_and_portfolio_rows_apart_from_the_results():
    t1, t2 = datetime(2024, 1, 1), datetime(2024, 1, 2)
    prices = pl.DataFrame({"timestamp": [t1, t2], "asset": ["AAPL", "AAPL"], "open": [100.0, 101.0],
                           "high": [100.0, 101.0], "low": [100.0, 101.0], "close": [100.0, 101.0],
                           "volume": [1000.0, 1000.0]})

    class BuyTen(Strategy):
        def on_data(self, timestamp, data, context, broker):
            if broker.get_position("AAPL") is None:
                broker.submit_order("AAPL", 10)

    engine = Engine(DataFeed(prices_df=prices), BuyTen(),
                    BacktestConfig(initial_cash=10_000.0, execution_mode=ExecutionMode.SAME_BAR))
    assert engine.equity_curve == [] and engine.portfolio_state == []
    result = engine.run()
    # 10 shares at the close of 100 (no costs); bar 2 marks them at 101.
    assert engine.equity_curve == [(t1, 10_000.0), (t2, 10_010.0)]
    result.equity_curve.clear()
    result.portfolio_state.clear()
    assert len(engine.equity_curve) == 2 and len(engine.portfolio_state) == 2
