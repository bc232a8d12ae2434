"""Exports of many results at once (ml4t-backtest's `export`): a parameter
sweep's summary table beside each run's Parquet artifact, and JSON / Markdown
reports for CI and for people.

>>> from nautilus_like.export import BacktestExporter
>>> summary = BacktestExporter.batch_export(results, "sweep", param_values=[{"stop": 0.02}, {"stop": 0.05}])
>>> summary.sort("sharpe", descending=True).head(3)
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

if TYPE_CHECKING:
    from nautilus_like.result import BacktestResult

__all__ = ["BacktestExporter"]

Compression = Literal["lz4", "uncompressed", "snappy", "gzip", "brotli", "zstd"]

# Summary metrics of a sweep, each with its value when a result lacks it.
_SUMMARY_METRICS: tuple[tuple[str, Any], ...] = (
    ("num_trades", 0), ("total_return", 0.0), ("total_return_pct", 0.0), ("max_drawdown", 0.0),
    ("max_drawdown_pct", 0.0), ("sharpe", 0.0), ("sortino", 0.0), ("calmar", 0.0), ("cagr", 0.0),
    ("win_rate", 0.0), ("profit_factor", 0.0), ("expectancy", 0.0), ("avg_trade", 0.0), ("final_value", 0.0),
    ("total_commission", 0.0), ("total_slippage", 0.0), ("num_fills", 0), ("num_orders", 0),
    ("num_rejected_orders", 0), ("num_rebalance_events", 0), ("unique_symbols_traded", 0),
    ("total_filled_notional", 0.0), ("avg_turnover", 0.0), ("max_turnover", 0.0), ("avg_open_positions", 0.0),
    ("max_open_positions", 0),
)

# Metrics of each result in the JSON report.
_REPORT_METRICS: tuple[tuple[str, Any], ...] = (
    ("num_trades", 0), ("total_return_pct", 0.0), ("max_drawdown_pct", 0.0), ("sharpe", 0.0), ("sortino", 0.0),
    ("calmar", 0.0), ("win_rate", 0.0), ("profit_factor", 0.0), ("final_value", 0.0), ("num_orders", 0),
    ("num_rejected_orders", 0),
)


def _pick(metrics: dict[str, Any], names: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {name: metrics.get(name, default) for name, default in names}


class BacktestExporter:
    """Static helpers that write results to disk (no state of their own)."""

    @staticmethod
    def to_parquet(result: BacktestResult, path: str | Path, compression: Compression = "zstd",
                   include: list[str] | None = None) -> dict[str, Path]:
        """`result.to_parquet(path, include=..., compression=...)`: the written files by component."""
        return result.to_parquet(path, include=include, compression=compression)

    @staticmethod
    def from_parquet(path: str | Path, *, recovery: bool = False) -> BacktestResult:
        """`BacktestResult.from_parquet(path, recovery=...)`."""
        from nautilus_like.result import BacktestResult

        return BacktestResult.from_parquet(path, recovery=recovery)

    @staticmethod
    def batch_export(results: list[BacktestResult], base_path: str | Path, param_values: list[dict[str, Any]],
                     compression: Compression = "zstd", export_individual: bool = True) -> pl.DataFrame:
        """Writes `sweep_summary.parquet` and `.csv` (one row per run: its
        parameters, `run_id` from 1, and the key metrics) under `base_path`,
        and each run's artifact in `run_0001/`, ... when `export_individual`.
        Returns the summary."""
        if len(results) != len(param_values):
            raise ValueError(f"results ({len(results)}) and param_values ({len(param_values)}) must have same length")
        base = Path(base_path)
        base.mkdir(parents=True, exist_ok=True)
        rows = []
        for run_id, (result, params) in enumerate(zip(results, param_values), start=1):
            rows.append({**params, "run_id": run_id, **_pick(result.metrics, _SUMMARY_METRICS)})
            if export_individual:
                result.to_parquet(base / f"run_{run_id:04d}", compression=compression)
        summary = pl.DataFrame(rows)
        summary.write_parquet(base / "sweep_summary.parquet", compression=compression)
        summary.write_csv(base / "sweep_summary.csv")
        return summary

    @staticmethod
    def load_sweep_summary(base_path: str | Path) -> pl.DataFrame:
        """The summary `batch_export` wrote under `base_path`."""
        return pl.read_parquet(Path(base_path) / "sweep_summary.parquet")

    @staticmethod
    def generate_json_report(results: list[BacktestResult], output_path: str | Path,
                             metadata: dict[str, Any] | None = None) -> None:
        """A JSON file: `meta` (time, Python version, number of results, then
        `metadata`) and `results` (each run's index and key metrics)."""
        report = {
            "meta": {"timestamp": datetime.now().isoformat(), "python_version": sys.version.split()[0],
                     "num_results": len(results), **(metadata or {})},
            "results": [{"index": i, **_pick(r.metrics, _REPORT_METRICS)} for i, r in enumerate(results)],
        }
        Path(output_path).write_text(json.dumps(report, indent=2))

    @staticmethod
    def generate_markdown_report(results: list[BacktestResult], output_path: str | Path,
                                 title: str = "Backtest Results", param_names: list[str] | None = None,
                                 param_values: list[dict[str, Any]] | None = None) -> None:
        """A Markdown file: a summary (runs, best Sharpe and return) and a table
        of the runs, with a column per parameter when `param_names` and
        `param_values` are given."""
        lines = [f"# {title}", "", f"Generated: {datetime.now().isoformat()}", "", "## Summary", "",
                 f"- Total runs: {len(results)}"]
        if results:
            sharpes = [r.metrics.get("sharpe", 0.0) for r in results]
            returns = [r.metrics.get("total_return_pct", 0.0) for r in results]
            lines += [f"- Best Sharpe: {max(sharpes):.3f}", f"- Best Return: {max(returns):.2f}%", ""]
        lines += ["## Results", ""]
        if param_names and param_values:
            lines += ["| Run | " + " | ".join(param_names) + " | Return % | Sharpe | DD % | Trades |",
                      "|" + "|".join(["---"] * (len(param_names) + 5)) + "|"]
            for i, (result, params) in enumerate(zip(results, param_values), start=1):
                m = result.metrics
                cells = " | ".join(str(params.get(p, "")) for p in param_names)
                lines.append(f"| {i} | {cells} | {m.get('total_return_pct', 0):.2f} | {m.get('sharpe', 0):.3f} | "
                             f"{m.get('max_drawdown_pct', 0):.2f} | {m.get('num_trades', 0)} |")
        else:
            lines += ["| Run | Return % | Sharpe | Max DD % | Trades | Win Rate |", "|---|---|---|---|---|---|"]
            for i, result in enumerate(results, start=1):
                m = result.metrics
                lines.append(f"| {i} | {m.get('total_return_pct', 0):.2f} | {m.get('sharpe', 0):.3f} | "
                             f"{m.get('max_drawdown_pct', 0):.2f} | {m.get('num_trades', 0)} | "
                             f"{m.get('win_rate', 0) * 100:.1f}% |")
        lines.append("")
        Path(output_path).write_text("\n".join(lines))
