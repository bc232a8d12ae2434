"""Statistics of realized trades (ml4t-backtest's `analytics.trades`).

`TradeAnalyzer` summarises realized exit legs: P&L statistics count every leg
(partial reductions included); holding periods and excursions count only the
legs that closed a position (`status == "closed"`), and are NaN when legs were
realized but no position closed. `MAEMFEAnalyzer` describes the excursion
distributions to suggest stop and target levels.

The trades become one Polars frame on construction; every statistic is an
expression over it. Excursions (`mfe`/`mae`) are tracked by the engine while a
position is open and arrive on each trade record.

>>> from nautilus_like.analytics.trades import TradeAnalyzer
>>> analyzer = TradeAnalyzer(result.trades)
>>> analyzer.win_rate, analyzer.profit_factor, analyzer.by_side("short").num_trades
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from nautilus_like.types import Trade

__all__ = ["MAEMFEAnalyzer", "TradeAnalyzer", "trades_frame"]

_SCHEMA = {
    "symbol": pl.String, "direction": pl.String, "status": pl.String, "pnl": pl.Float64,
    "pnl_percent": pl.Float64, "bars_held": pl.Float64, "fees": pl.Float64, "mfe": pl.Float64,
    "mae": pl.Float64, "gross_pnl": pl.Float64, "slippage_cost": pl.Float64, "cost_drag": pl.Float64,
}


def trades_frame(trades: Sequence[Trade]) -> pl.DataFrame:
    """The columns the analyzers read, one row per trade (in the given order).

    Reads a trade's attributes, so anything shaped like `Trade` works; a trade
    without `status` counts as closed (ml4t's rule)."""
    rows = {name: [] for name in _SCHEMA}
    for t in trades:
        rows["symbol"].append(t.symbol)
        rows["direction"].append(t.direction)
        rows["status"].append(getattr(t, "status", "closed"))
        rows["pnl"].append(t.pnl)
        rows["pnl_percent"].append(t.pnl_percent)
        rows["bars_held"].append(t.bars_held)
        rows["fees"].append(t.fees)
        rows["mfe"].append(t.mfe)
        rows["mae"].append(t.mae)
        rows["gross_pnl"].append(t.gross_pnl)
        rows["slippage_cost"].append(t.total_slippage_cost)
        rows["cost_drag"].append(t.cost_drag)
    return pl.DataFrame(rows, schema=_SCHEMA, strict=False)


def _ratio_of_sums(wins: float, losses: float) -> float:
    """wins / |losses|; inf when only wins, 0 when neither."""
    if losses == 0:
        return math.inf if wins > 0 else 0.0
    return wins / abs(losses)


def _scalar(frame: pl.DataFrame, expr: pl.Expr, empty: float = 0.0) -> float:
    """One aggregate of `frame`; `empty` when the aggregate has no rows (null)."""
    value = frame.select(expr).item()
    return empty if value is None else float(value)


@dataclass
class TradeAnalyzer:
    """Win/loss, return, cost and excursion statistics of realized trades.

    Per-trade return statistics (`avg_win`, `largest_loss`, `expectancy`, ...)
    use `pnl_percent`, not dollars: a dollar loss says little when equity moved.

    >>> a = TradeAnalyzer(trades)
    >>> a.num_winners, a.avg_win, a.payoff_ratio, a.to_dict()["avg_mfe"]
    """

    trades: Sequence[Trade]
    _frame: pl.DataFrame = field(init=False, repr=False)
    _lifecycle: pl.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._frame = trades_frame(self.trades)
        self._lifecycle = self._frame.filter(pl.col("status") == "closed")

    def _sum(self, column: str, where: pl.Expr | None = None) -> float:
        frame = self._frame if where is None else self._frame.filter(where)
        return _scalar(frame, pl.col(column).sum())

    def _pct(self, agg: str, where: pl.Expr) -> float:
        """An aggregate of the returns selected by `where` (0 when none)."""
        return _scalar(self._frame.filter(where), getattr(pl.col("pnl_percent"), agg)())

    # --- counts and dollars

    @property
    def num_trades(self) -> int:
        return self._frame.height

    @property
    def num_winners(self) -> int:
        return int((self._frame["pnl"] > 0).sum())

    @property
    def num_losers(self) -> int:
        return int((self._frame["pnl"] < 0).sum())

    @property
    def win_rate(self) -> float:
        """Share of trades with pnl > 0 (0 without trades)."""
        return self.num_winners / self.num_trades if self.num_trades else 0.0

    @property
    def gross_profit(self) -> float:
        return self._sum("pnl", pl.col("pnl") > 0)

    @property
    def gross_loss(self) -> float:
        """Sum of the losing pnls (negative)."""
        return self._sum("pnl", pl.col("pnl") < 0)

    @property
    def net_profit(self) -> float:
        return self._sum("pnl")

    @property
    def profit_factor(self) -> float:
        return _ratio_of_sums(self.gross_profit, self.gross_loss)

    # --- per-trade returns

    @property
    def avg_win(self) -> float:
        return self._pct("mean", pl.col("pnl_percent") > 0)

    @property
    def avg_loss(self) -> float:
        return self._pct("mean", pl.col("pnl_percent") < 0)

    @property
    def avg_trade(self) -> float:
        return _scalar(self._frame, pl.col("pnl_percent").mean())

    @property
    def expectancy(self) -> float:
        """win_rate x avg_win + (1 - win_rate) x avg_loss."""
        return self.win_rate * self.avg_win + (1 - self.win_rate) * self.avg_loss

    @property
    def largest_win(self) -> float:
        return self._pct("max", pl.col("pnl_percent") > 0)

    @property
    def largest_loss(self) -> float:
        return self._pct("min", pl.col("pnl_percent") < 0)

    @property
    def payoff_ratio(self) -> float:
        return _ratio_of_sums(self.avg_win, self.avg_loss)

    # --- lifecycle (fully closed positions only)

    def _lifecycle_mean(self, expr: pl.Expr) -> float:
        if self._lifecycle.height == 0:
            return math.nan if self.num_trades else 0.0
        return _scalar(self._lifecycle, expr.mean())

    @property
    def avg_bars_held(self) -> float:
        return self._lifecycle_mean(pl.col("bars_held"))

    @property
    def avg_mfe(self) -> float:
        return self._lifecycle_mean(pl.col("mfe"))

    @property
    def avg_mae(self) -> float:
        return self._lifecycle_mean(pl.col("mae"))

    @property
    def mfe_capture_ratio(self) -> float:
        """Mean of return / MFE over closed trades with MFE > 0 (1 = exits at the peak)."""
        if self._lifecycle.height == 0:
            return math.nan if self.num_trades else 0.0
        ratios = self._lifecycle.filter(pl.col("mfe") > 0).select(pl.col("pnl_percent") / pl.col("mfe"))
        return _scalar(ratios, pl.first().mean())

    @property
    def mae_recovery_ratio(self) -> float:
        """Mean of (return - MAE) / |MAE| over closed losers that had an adverse excursion."""
        if self._lifecycle.height == 0:
            return math.nan if self.num_trades else 0.0
        losers = self._lifecycle.filter((pl.col("mae") < 0) & (pl.col("pnl_percent") < 0))
        ratios = losers.select((pl.col("pnl_percent") - pl.col("mae")) / pl.col("mae").abs())
        return _scalar(ratios, pl.first().mean())

    # --- costs

    @property
    def total_fees(self) -> float:
        return self._sum("fees")

    @property
    def total_commission(self) -> float:
        """Alias of `total_fees`."""
        return self.total_fees

    @property
    def total_slippage(self) -> float:
        """Entry plus exit slippage cost in money."""
        return self._sum("slippage_cost")

    @property
    def total_gross_pnl(self) -> float:
        """P&L from price moves alone, before fees and slippage."""
        return self._sum("gross_pnl")

    @property
    def total_costs(self) -> float:
        return self.total_fees + self.total_slippage

    @property
    def avg_cost_drag(self) -> float:
        """Mean of each trade's costs as a fraction of its entry notional."""
        return _scalar(self._frame, pl.col("cost_drag").mean())

    @property
    def gross_profit_factor(self) -> float:
        """Profit factor of the gross (before-cost) P&L: the edge without execution costs."""
        return _ratio_of_sums(self._sum("gross_pnl", pl.col("gross_pnl") > 0),
                              self._sum("gross_pnl", pl.col("gross_pnl") < 0))

    # --- subsets

    def by_side(self, side: str) -> TradeAnalyzer:
        """The trades of one direction ("long" or "short")."""
        return TradeAnalyzer([t for t in self.trades if t.direction == side])

    def by_symbol(self, symbol: str) -> TradeAnalyzer:
        return TradeAnalyzer([t for t in self.trades if t.symbol == symbol])

    def by_asset(self, asset: str) -> TradeAnalyzer:
        """Alias of `by_symbol`."""
        return self.by_symbol(asset)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (
            "num_trades", "num_winners", "num_losers", "win_rate", "gross_profit", "gross_loss", "net_profit",
            "profit_factor", "avg_win", "avg_loss", "avg_trade", "expectancy", "largest_win", "largest_loss",
            "payoff_ratio", "avg_bars_held", "total_commission", "total_slippage", "total_gross_pnl",
            "total_costs", "avg_cost_drag", "gross_profit_factor", "avg_mfe", "avg_mae", "mfe_capture_ratio",
            "mae_recovery_ratio")}


@dataclass
class MAEMFEAnalyzer:
    """Distributions of maximum adverse (MAE, <= 0) and favorable (MFE, >= 0)
    excursions, and the stop/target levels they suggest.

    Percentiles interpolate linearly between ranks; standard deviations are
    population ones (ddof=0).

    >>> a = MAEMFEAnalyzer(trades)
    >>> a.suggest_stop_loss(90)   # the MAE 90% of winning trades stayed above
    >>> a.optimal_exit_levels()   # {"stop_loss": ..., "take_profit": ..., "risk_reward": ...}
    """

    trades: Sequence[Trade]
    _frame: pl.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._frame = trades_frame(self.trades)

    @property
    def num_trades(self) -> int:
        return self._frame.height

    def _stat(self, column: str, expr: pl.Expr, frame: pl.DataFrame | None = None) -> float:
        frame = self._frame if frame is None else frame
        return _scalar(frame.select(pl.col(column).alias("x")), expr)

    @staticmethod
    def _q(percentile: float) -> pl.Expr:
        return pl.col("x").quantile(percentile / 100.0, interpolation="linear")

    @property
    def mae_mean(self) -> float:
        return self._stat("mae", pl.col("x").mean())

    @property
    def mae_median(self) -> float:
        return self._stat("mae", pl.col("x").median())

    @property
    def mae_std(self) -> float:
        return self._stat("mae", pl.col("x").std(ddof=0))

    def mae_percentile(self, q: float) -> float:
        """The MAE at percentile `q` (0-100); 10 is the worst tenth's boundary."""
        return self._stat("mae", self._q(q))

    @property
    def mfe_mean(self) -> float:
        return self._stat("mfe", pl.col("x").mean())

    @property
    def mfe_median(self) -> float:
        return self._stat("mfe", pl.col("x").median())

    @property
    def mfe_std(self) -> float:
        return self._stat("mfe", pl.col("x").std(ddof=0))

    def mfe_percentile(self, q: float) -> float:
        """The MFE at percentile `q` (0-100)."""
        return self._stat("mfe", self._q(q))

    @property
    def edge_ratio(self) -> float:
        """Mean MFE over |mean MAE|: above 1, trades run further for than against."""
        return _ratio_of_sums(self.mfe_mean, self.mae_mean)

    @property
    def efficiency(self) -> float:
        """Mean of return / MFE over trades with MFE > 0."""
        ratios = self._frame.filter(pl.col("mfe") > 0).select((pl.col("pnl_percent") / pl.col("mfe")).alias("x"))
        return _scalar(ratios, pl.col("x").mean())

    def suggest_stop_loss(self, percentile: float = 90) -> float:
        """A stop (as a return, e.g. -0.03) that `percentile`% of the winning
        trades never touched; from all trades' MAE when none won."""
        if self.num_trades == 0:
            return 0.0
        winners = self._frame.filter(pl.col("pnl") > 0)
        if winners.height == 0:
            return self.mae_percentile(100 - percentile)
        return self._stat("mae", self._q(100 - percentile), winners)

    def suggest_take_profit(self, percentile: float = 75) -> float:
        """A target (as a return) that `percentile`% of the trades reached."""
        return self.mfe_percentile(100 - percentile)

    def optimal_exit_levels(self, stop_percentile: float = 90, target_percentile: float = 75) -> dict[str, float]:
        stop = self.suggest_stop_loss(stop_percentile)
        target = self.suggest_take_profit(target_percentile)
        return {"stop_loss": stop, "take_profit": target,
                "risk_reward": abs(target / stop) if stop != 0 else math.inf}

    def distribution_data(self) -> dict[str, list[float]]:
        """The MAE and MFE values, for plotting."""
        return {"mae": self._frame["mae"].to_list(), "mfe": self._frame["mfe"].to_list()}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"num_trades": self.num_trades}
        for side in ("mae", "mfe"):
            out[f"{side}_mean"] = getattr(self, f"{side}_mean")
            out[f"{side}_median"] = getattr(self, f"{side}_median")
            out[f"{side}_std"] = getattr(self, f"{side}_std")
            for q in (10, 25, 50, 75, 90):
                out[f"{side}_p{q}"] = getattr(self, f"{side}_percentile")(q)
        out.update(edge_ratio=self.edge_ratio, efficiency=self.efficiency,
                   suggested_stop_loss=self.suggest_stop_loss(), suggested_take_profit=self.suggest_take_profit())
        return out
