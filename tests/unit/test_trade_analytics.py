"""Trade statistics, the diagnostic bridge, sweep exports and per-asset
trading statistics, each on a few trades whose numbers a pencil checks."""

from __future__ import annotations

import json
import math
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like.analytics import MAEMFEAnalyzer, TradeAnalyzer, to_equity_dataframe, to_returns_series, to_trade_record
from nautilus_like.config import StatsConfig
from nautilus_like.export import BacktestExporter
from nautilus_like.types import AssetTradingStats, OrderSide, Trade

T0 = datetime(2024, 1, 2)


def trade(pnl_percent, mfe, mae, *, qty=10.0, status="closed", symbol="A", bars=2, fees=1.0):
    entry = 100.0
    exit_ = entry * (1 + (pnl_percent if qty > 0 else -pnl_percent))
    return Trade(symbol=symbol, entry_time=T0, exit_time=T0 + timedelta(days=bars), entry_price=entry,
                 exit_price=exit_, quantity=qty, pnl=(exit_ - entry) * qty - fees, pnl_percent=pnl_percent,
                 bars_held=bars, fees=fees, status=status, mfe=mfe, mae=mae)


# Long +10% (pnl 99), long -5% (pnl -51), short +4% (pnl 39, partial), each with 1.0 fees.
TRADES = [trade(0.10, 0.12, -0.01), trade(-0.05, 0.02, -0.08, bars=4), trade(0.04, 0.05, -0.02, qty=-10.0,
                                                                           status="partial", symbol="B")]


def test_trade_analyzer_counts_every_leg_and_excursions_from_full_closes_only():
    a = TradeAnalyzer(TRADES)
    assert (a.num_trades, a.num_winners, a.num_losers) == (3, 2, 1)
    assert a.win_rate == pytest.approx(2 / 3)
    assert (a.gross_profit, a.gross_loss, a.net_profit) == pytest.approx((138.0, -51.0, 87.0))
    assert a.profit_factor == pytest.approx(138 / 51)
    assert (a.avg_win, a.avg_loss, a.largest_win, a.largest_loss) == pytest.approx((0.07, -0.05, 0.10, -0.05))
    assert a.expectancy == pytest.approx(2 / 3 * 0.07 - 1 / 3 * 0.05)
    assert a.payoff_ratio == pytest.approx(0.07 / 0.05)
    assert (a.total_fees, a.total_gross_pnl) == pytest.approx((3.0, 90.0))
    # The partial leg (B) is left out of holding periods and excursions.
    assert a.avg_bars_held == 3.0
    assert (a.avg_mfe, a.avg_mae) == pytest.approx((0.07, -0.045))
    assert a.mfe_capture_ratio == pytest.approx((0.10 / 0.12 - 0.05 / 0.02) / 2)
    assert a.mae_recovery_ratio == pytest.approx((-0.05 + 0.08) / 0.08)
    assert a.by_side("short").num_trades == 1 and a.by_asset("A").net_profit == pytest.approx(48.0)
    assert math.isnan(a.by_side("short").avg_mfe)   # legs realized, no position closed
    empty = TradeAnalyzer([])
    assert (empty.avg_mfe, empty.profit_factor, empty.avg_bars_held) == (0.0, 0.0, 0.0)
    assert TradeAnalyzer(TRADES[:1]).profit_factor == math.inf


def test_mae_mfe_percentiles_interpolate_and_suggest_levels():
    m = MAEMFEAnalyzer(TRADES)
    # MAE sorted: -0.08, -0.02, -0.01; MFE sorted: 0.02, 0.05, 0.12.
    assert m.mae_percentile(25) == pytest.approx(-0.05)     # halfway from -0.08 to -0.02
    assert m.mfe_percentile(75) == pytest.approx(0.085)
    assert m.mae_std == pytest.approx(pl.Series([-0.08, -0.02, -0.01]).std(ddof=0))
    assert m.edge_ratio == pytest.approx((0.19 / 3) / (0.11 / 3))
    # Winners' MAE: -0.01, -0.02; the 10th percentile is -0.019.
    assert m.suggest_stop_loss(90) == pytest.approx(-0.019)
    assert m.suggest_take_profit(50) == pytest.approx(0.05)
    levels = m.optimal_exit_levels(90, 50)
    assert levels["risk_reward"] == pytest.approx(0.05 / 0.019)
    assert MAEMFEAnalyzer([]).to_dict()["mae_p90"] == 0.0


def test_bridge_records_and_returns():
    record = to_trade_record(TRADES[2])
    assert record["direction"] == "short" and record["quantity"] == -10.0
    assert record["duration"] == timedelta(days=2) and record["timestamp"] == record["exit_time"]
    assert to_returns_series([100.0, 110.0, 99.0]).to_list() == pytest.approx([0.10, -0.10])
    assert to_returns_series([100.0]).len() == 0
    frame = to_equity_dataframe([100.0, 110.0])
    assert frame.columns == ["equity", "returns", "bar"] and frame["returns"].to_list() == pytest.approx([0.0, 0.1])


class _Result:
    """Anything with `metrics` and `to_parquet` exports."""

    def __init__(self, sharpe):
        self.metrics = {"sharpe": sharpe, "total_return_pct": sharpe * 10, "num_trades": 2}

    def to_parquet(self, path, include=None, compression="zstd"):
        Path(path).mkdir(parents=True)
        return {}


def test_sweep_export_and_reports(tmp_path):
    results = [_Result(0.5), _Result(1.5)]
    summary = BacktestExporter.batch_export(results, tmp_path, [{"stop": 0.02}, {"stop": 0.05}])
    assert summary["run_id"].to_list() == [1, 2] and summary["sharpe"].to_list() == [0.5, 1.5]
    assert summary["max_drawdown"].to_list() == [0.0, 0.0]           # missing metrics default
    assert (tmp_path / "run_0002").is_dir() and BacktestExporter.load_sweep_summary(tmp_path).equals(summary)
    with pytest.raises(ValueError, match="must have same length"):
        BacktestExporter.batch_export(results, tmp_path, [{}])
    BacktestExporter.generate_json_report(results, tmp_path / "r.json", metadata={"git": "abc"})
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["meta"]["git"] == "abc" and report["results"][1]["sharpe"] == 1.5
    BacktestExporter.generate_markdown_report(results, tmp_path / "r.md", param_names=["stop"],
                                              param_values=[{"stop": 0.02}, {"stop": 0.05}])
    text = (tmp_path / "r.md").read_text()
    assert "- Best Sharpe: 1.500" in text and "| 2 | 0.05 | 15.00 | 1.500 | 0.00 | 2 |" in text


def test_stats_config_validates_and_stats_roll_their_window():
    with pytest.raises(ValueError, match="recent_window_size must be an integer >= 1, got 0"):
        StatsConfig(recent_window_size=0)
    stats = AssetTradingStats(recent_pnls=deque(maxlen=2))
    for pnl in (10.0, -4.0, 6.0, 0.0):
        stats.record_pnl(pnl)
    assert (stats.total_trades, stats.total_wins, stats.total_realized_pnl) == (4, 2, 12.0)
    assert list(stats.recent_pnls) == [6.0, 0.0] and stats.recent_wins == 1 and stats.recent_expectancy == 3.0


def mark(broker, t, price):
    broker._update_time(timestamp=t, prices={"BTC": price}, opens={"BTC": price}, highs={"BTC": price},
                        lows={"BTC": price}, volumes={"BTC": 1e6}, signals={})


def test_broker_stats_follow_the_engines_realized_legs():
    broker = nl.Broker(initial_cash=100_000.0, commission_model=nl.NoCommission())
    stats = broker.get_asset_stats("BTC")
    mark(broker, T0, 100.0)
    broker.submit_order("BTC", 10.0, OrderSide.BUY)
    broker._process_orders()
    mark(broker, T0 + timedelta(days=1), 110.0)
    broker.submit_order("BTC", 4.0, OrderSide.SELL)     # partial: +40
    broker._process_orders()
    broker.configure_stats(enabled=False)
    mark(broker, T0 + timedelta(days=2), 95.0)
    broker.submit_order("BTC", 2.0, OrderSide.SELL)     # -10, not counted while disabled
    broker._process_orders()
    broker.configure_stats(recent_window_size=5)
    mark(broker, T0 + timedelta(days=3), 90.0)
    broker.submit_order("BTC", 4.0, OrderSide.SELL)     # closes: -40
    broker._process_orders()
    assert broker.get_asset_stats("BTC") is stats
    assert list(stats.recent_pnls) == pytest.approx([40.0, -40.0]) and stats.recent_pnls.maxlen == 5
    assert (stats.total_trades, stats.total_wins, stats.total_realized_pnl) == (2, 1, pytest.approx(0.0))
    assert broker.trades[0].multiplier == 1.0 and broker.get_asset_stats("ETH").total_trades == 0
    with pytest.raises(TypeError, match="config must be a StatsConfig"):
        broker.configure_stats(config={"enabled": True})


class _Sessions:
    """A session calendar opening at 17:00 New York time."""

    timezone = "America/New_York"

    def get_session_timezone(self):
        return ZoneInfo(self.timezone)

    def get_session_start_hour(self):
        return 17

    def get_session_start_minute(self):
        return 0


def test_session_counters_reset_when_a_new_session_opens():
    broker = nl.Broker(initial_cash=100_000.0)
    broker.set_session_config(_Sessions())
    stats = broker.get_asset_stats("BTC")
    stats.record_pnl(5.0)
    mark(broker, datetime(2024, 1, 8, 16, 0), 100.0)     # establishes Monday's session
    assert stats.session_trades == 1
    mark(broker, datetime(2024, 1, 8, 17, 0), 100.0)     # Tuesday's session opens
    assert (stats.session_trades, stats.total_trades) == (0, 1)
    assert stats.session_id == datetime(2024, 1, 9).toordinal()


def test_an_engine_strategy_reads_its_stats_bar_by_bar():
    prices = [100.0, 110.0, 105.0, 100.0, 120.0]
    feed = nl.DataFeed(prices_df=pl.DataFrame({"timestamp": [T0 + timedelta(days=i) for i in range(5)],
                                               "asset": ["A"] * 5, "close": prices}))
    seen = []

    class Flip(nl.Strategy):
        def on_data(self, timestamp, data, context, broker):
            seen.append(broker.get_asset_stats("A").total_trades)
            if broker.get_position("A") is None:
                broker.submit_order("A", 1.0)
            else:
                broker.close_position("A")

    result = nl.Engine(feed, Flip(), nl.BacktestConfig(execution_mode=nl.ExecutionMode.SAME_BAR)).run()
    # Same-bar fills: buy 100, sell 110 (+10), buy 105, sell 100 (-5), buy 120 (open).
    assert seen == [0, 0, 1, 1, 2]
    assert result.trade_analyzer.num_trades == 2 and result.trade_analyzer.net_profit == pytest.approx(5.0)
