"""The engine's columnar output as ml4t-backtest's result tables.

`collect_results` hands the run over as NumPy columns (fills, closed trades,
open positions, curves); `RunColumns` turns them into the Polars frames and
the metrics of `BacktestResult` without a Python object per fill. Column
names, dtypes and metric formulas are ml4t-backtest 0.2.0's. Open positions
at the end are reported as trades with `status="open"` (marked to market,
not liquidated).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from nautilus_like._model import EXIT_REASONS as _EXIT_REASON
from nautilus_like._model import PRICE_SOURCES as _PRICE_SOURCE
from nautilus_like._rust import codes
from nautilus_like.analytics.equity import EquityCurve
from nautilus_like.analytics.metrics import TRADING_DAYS_PER_YEAR, calmar_ratio
from nautilus_like.portfolio_limits import ACTION_NAMES as _LIMIT_ACTION
from nautilus_like.portfolio_limits import KIND_NAMES as _LIMIT_KIND
from nautilus_like.types import OrderSide, OrderType

__all__ = ["RunColumns", "compute_metrics"]

# C codes (the generated header's) -> ml4t's names.
_CODES = codes()
_SIDE = {_CODES[f"ORDER_SIDE_{side.name}"]: side.value for side in OrderSide}
_ORDER_TYPE = {_CODES[f"ORDER_TYPE_{'MARKET_ON_CLOSE' if t is OrderType.MOC else t.name}"]: t.value for t in OrderType}
_QUOTE_TRADE_COLUMNS = ("quote_mid_price", "bid_price", "ask_price", "spread")


def _nulls(n: int, dtype: pl.DataType) -> pl.Series:
    return pl.Series([None] * n, dtype=dtype)


class RunColumns:
    """One engine run's columns (`collect_results` output) and the feed's
    timeline they index."""

    def __init__(self, raw: dict[str, Any], *, assets: list[str], timeline: pl.Series,
                 last_bar: dict[int, dict[str, float | None]], initial_cash: float,
                 annualization: tuple[float | None, bool] = (float(TRADING_DAYS_PER_YEAR), False)) -> None:
        self._raw = raw
        # (periods per year, observation based): analytics.annualization.equity_annualization of the config.
        self.annualization = annualization
        self._assets = assets
        self._timeline = timeline
        self._last_bar = last_bar
        self.initial_cash = float(initial_cash)
        self._fills_df: pl.DataFrame | None = None
        self._trades_df: pl.DataFrame | None = None
        # Contract multiplier per asset index (1 without a ContractSpec).
        # Currency per asset index: a ContractSpec's, else None (as ml4t).
        self._currencies = raw.get("currencies") or [None] * len(assets)
        self._multipliers = np.asarray(raw.get("multipliers", np.ones(len(assets))), dtype=np.float64)

    @property
    def timeline(self) -> pl.Series:
        return self._timeline

    @property
    def equity(self) -> np.ndarray:
        return self._raw["equity"]

    def equity_curve(self) -> list[tuple[Any, float]]:
        return list(zip(self._timeline.to_list(), self._raw["equity"].tolist()))

    def _times(self, bars: np.ndarray) -> pl.Series:
        return self._timeline.gather(pl.Series(bars, dtype=pl.UInt32))

    def _times_or_null(self, bars: np.ndarray) -> pl.Series:
        """Timestamps of bar indices, null where the index is -1."""
        idx = pl.Series(bars, dtype=pl.Int64)
        times = self._times(idx.clip(0).cast(pl.UInt32).to_numpy())
        return times.zip_with(idx >= 0, _nulls(len(idx), times.dtype))

    def fills_frame(self) -> pl.DataFrame:
        """One row per fill, in execution order (`fill_sequence`)."""
        if self._fills_df is not None:
            return self._fills_df
        f = self._raw["fills"]
        n = len(f["price"])
        names = np.array(self._assets, dtype=object)
        signed = np.where(f["side"] == _CODES["ORDER_SIDE_BUY"], f["quantity"], -f["quantity"])
        self._fills_df = pl.DataFrame({
            "order_id": pl.Series([f"ORD-{i}" for i in f["order_id"].tolist()], dtype=pl.String),
            "fill_sequence": pl.Series(np.arange(n, dtype=np.uint32)),
            "rebalance_id": pl.Series(self._rebalance_ids(f["order_id"]), dtype=pl.String),
            "asset": pl.Series(names[f["asset"]].tolist() if n else [], dtype=pl.String),
            "side": pl.Series([_SIDE[s] for s in f["side"].tolist()], dtype=pl.String),
            "quantity": f["quantity"],
            "signed_quantity": signed,
            "multiplier": self._multipliers[f["asset"]] if n else np.ones(0),
            "currency": pl.Series([self._currencies[a] for a in f["asset"].tolist()], dtype=pl.String),
            "price": f["price"],
            "timestamp": self._times(f["bar"]),
            "commission": f["commission"],
            "slippage": f["slippage"],
            "order_type": pl.Series([_ORDER_TYPE[t] for t in f["order_type"].tolist()], dtype=pl.String),
            "limit_price": pl.Series(f["limit_price"], dtype=pl.Float64, nan_to_null=True),
            "stop_price": pl.Series(f["stop_price"], dtype=pl.Float64, nan_to_null=True),
            "stop_triggered_at": self._times_or_null(f["stop_triggered_bar"]),
            "price_source": pl.Series([_PRICE_SOURCE[s] for s in f["price_source"].tolist()], dtype=pl.String),
            "reference_price": f["reference_price"],
            **self._fill_quotes(f),
            "available_size": f["available_size"],
            "exit_reason": pl.Series([_EXIT_REASON[r] if x else "" for r, x in
                                      zip(f["exit_reason"].tolist(), f["is_exit"].tolist())], dtype=pl.String),
            # A rule's description stays on its order's fills even when the fill
            # no longer exits (ml4t: the order's risk reason).
            "exit_reason_detail": pl.Series([self._raw["exit_details"].get(o) for o in f["order_id"].tolist()],
                                            dtype=pl.String),
        }, strict=False)
        return self._fills_df

    def _rebalance_ids(self, order_ids: np.ndarray) -> list[str | None]:
        """Each fill's rebalance ("rebalance-<n>"), None for orders no rebalance sent."""
        tags = self._raw.get("rebalance_ids") or {}
        return [tags.get(o) for o in order_ids.tolist()]

    @staticmethod
    def _fill_quotes(f: dict[str, np.ndarray]) -> dict[str, pl.Series]:
        """The fill bar's quote columns (null where the feed has no quote)."""
        def col(v: np.ndarray) -> pl.Series:
            return pl.Series(v, dtype=pl.Float64, nan_to_null=True)
        return {"quote_mid_price": col(f["quote_mid"]), "bid_price": col(f["bid"]), "ask_price": col(f["ask"]),
                "spread": col(f["ask"] - f["bid"]), "bid_size": col(f["bid_size"]), "ask_size": col(f["ask_size"])}

    def trades_frame(self) -> pl.DataFrame:
        """Closed and partial round trips in closing order, then open positions."""
        if self._trades_df is not None:
            return self._trades_df
        t = self._raw["trades"]
        open_rows = self._raw["positions"]
        n_closed, n_open = len(t["pnl"]), len(open_rows)
        last_bar = len(self._timeline) - 1
        qty = np.concatenate([t["quantity"], [p["quantity"] for p in open_rows]])
        entry = np.concatenate([t["entry_price"], [p["entry_price"] for p in open_rows]])
        exit_ = np.concatenate([t["exit_price"], [p["mark"] for p in open_rows]])
        entry_fees = np.array([p["entry_commission"] for p in open_rows], dtype=np.float64)
        open_mult = self._multipliers[np.array([p["asset"] for p in open_rows], dtype=np.int64)]
        # Open rows: mark-to-market P&L net of the entry commission only.
        open_pnl = (exit_[n_closed:] - entry[n_closed:]) * qty[n_closed:] * open_mult - entry_fees
        pnl = np.concatenate([t["pnl"], open_pnl])
        raw_pct = np.divide(exit_ - entry, entry, out=np.zeros_like(entry), where=entry != 0)
        pnl_pct = np.where(qty > 0, raw_pct, -raw_pct)
        pnl_pct[:n_closed] = t["pnl_percent"]
        fees = np.concatenate([t["fees"], entry_fees])
        entry_slip = np.concatenate([t["entry_slippage"], [p["entry_slippage"] for p in open_rows]])
        exit_slip = np.concatenate([t["exit_slippage"], np.zeros(n_open)])
        assets = np.concatenate([t["asset"], np.array([p["asset"] for p in open_rows], dtype=np.uint32)])
        mult = self._multipliers[assets] if len(assets) else np.ones(0)
        notional = entry * np.abs(qty) * mult
        slip_cost = (entry_slip + exit_slip) * np.abs(qty) * mult
        names = np.array(self._assets, dtype=object)
        entry_bars = np.concatenate([t["entry_bar"], np.array([p["entry_bar"] for p in open_rows], dtype=np.uint32)])
        # (No open rows without bars: an empty feed has no last bar.)
        exit_bars = np.concatenate([t["exit_bar"], np.full(n_open, max(last_bar, 0), dtype=np.uint32)])
        status = ["partial" if s == _CODES["TRADE_STATUS_PARTIAL"] else "closed" for s in t["status"].tolist()] + ["open"] * n_open
        n = n_closed + n_open
        # Open rows: quotes of the last bar on the closing side (sell a long, buy a short).
        closing = [self._closing_quote(p) for p in open_rows]
        exit_avail = t["exit_available_size"].tolist() + [c["available_size"] for c in closing]
        quote_cols = {}
        for when, open_quotes in (("entry", [{k: p[f"entry_{k}"] for k in ("bid", "ask", "mid")} for p in open_rows]),
                                  ("exit", closing)):
            bid, ask, mid = (np.concatenate([t[f"{when}_{k}"], np.array([q[k] for q in open_quotes], dtype=np.float64)])
                             for k in ("bid", "ask", "mid"))
            for name, v in (("quote_mid_price", mid), ("bid_price", bid), ("ask_price", ask), ("spread", ask - bid)):
                quote_cols[f"{when}_{name}"] = pl.Series(v, dtype=pl.Float64, nan_to_null=True)
        self._trades_df = pl.DataFrame({
            "symbol": pl.Series(names[assets].tolist() if n else [], dtype=pl.String),
            "entry_time": self._times(entry_bars),
            "exit_time": self._times(exit_bars),
            "entry_price": entry,
            "exit_price": exit_,
            "quantity": qty,
            "direction": pl.Series(np.where(qty > 0, "long", "short").tolist(), dtype=pl.String),
            "pnl": pnl,
            "pnl_percent": pnl_pct,
            "bars_held": pl.Series(np.concatenate(
                [t["bars_held"], [p["bars_held"] for p in open_rows]]).astype(np.int32)),
            "fees": fees,
            "exit_slippage": exit_slip,
            "mfe": np.concatenate([t["mfe"], [p["mfe"] for p in open_rows]]),
            "mae": np.concatenate([t["mae"], [p["mae"] for p in open_rows]]),
            "entry_slippage": entry_slip,
            "multiplier": mult,
            **{f"entry_{c}": quote_cols[f"entry_{c}"] for c in _QUOTE_TRADE_COLUMNS},
            "entry_available_size": np.concatenate(
                [t["entry_available_size"], [p["entry_available_size"] for p in open_rows]]),
            **{f"exit_{c}": quote_cols[f"exit_{c}"] for c in _QUOTE_TRADE_COLUMNS},
            "exit_available_size": pl.Series(exit_avail, dtype=pl.Float64),
            "gross_pnl": (exit_ - entry) * qty * mult,
            "net_return": np.divide(pnl, notional, out=np.zeros_like(pnl), where=notional != 0),
            "total_slippage_cost": slip_cost,
            "cost_drag": np.divide(fees + slip_cost, notional, out=np.zeros_like(pnl), where=notional != 0),
            "exit_reason": pl.Series([_EXIT_REASON[r] for r in t["exit_reason"].tolist()]
                                     + ["end_of_backtest"] * n_open, dtype=pl.String),
            "exit_reason_detail": pl.Series([self._raw["exit_details"].get(o) for o in t["exit_order_id"].tolist()]
                                            + [None] * n_open, dtype=pl.String),
            "status": pl.Series(status, dtype=pl.String),
        }, strict=False)
        return self._trades_df

    def _closing_quote(self, position: dict[str, Any]) -> dict[str, float]:
        """The last bar's quote for closing `position` (NaN where absent)."""
        bar = self._last_bar.get(position["asset"])
        if bar is None:
            return {"bid": np.nan, "ask": np.nan, "mid": np.nan, "available_size": None}
        size = bar.get("bid_size" if position["quantity"] > 0 else "ask_size")
        nan = lambda v: np.nan if v is None else v  # noqa: E731
        return {"bid": nan(bar.get("bid")), "ask": nan(bar.get("ask")), "mid": nan(bar.get("mid")),
                "available_size": bar["volume"] if size is None else size}

    def portfolio_state(self) -> pl.DataFrame:
        """Equity, cash, exposures and open positions at the end of every bar
        (ml4t's account observation columns before its observation metadata)."""
        raw = self._raw
        equity, cash = raw["equity"], raw["cash"]
        # Signed-notional account: equity = cash + net position value.
        net = raw.get("net_exposure")
        if net is None:
            net = equity - cash
        gross = raw.get("gross_exposure")
        if gross is None:
            gross = np.abs(net)
        return pl.DataFrame({
            "timestamp": self._timeline,
            "equity": equity,
            "cash": cash,
            "gross_exposure": pl.Series(gross, dtype=pl.Float64),
            "net_exposure": pl.Series(net, dtype=pl.Float64),
            "open_positions": raw["open_positions"].astype(np.int32),
        })

    def margin_calls(self) -> pl.DataFrame:
        calls = self._raw.get("margin_calls", [])
        bars = np.array([c[0] for c in calls], dtype=np.uint32)
        return pl.DataFrame({
            "timestamp": self._times(bars),
            "equity": pl.Series([c[1] for c in calls], dtype=pl.Float64),
            "requirement": pl.Series([c[2] for c in calls], dtype=pl.Float64),
            "positions_liquidated": pl.Series([c[3] for c in calls], dtype=pl.UInt32),
        })

    def limit_events(self) -> pl.DataFrame:
        events = self._raw.get("limit_events", [])
        bars = np.array([e[0] for e in events], dtype=np.uint32)
        return pl.DataFrame({
            "timestamp": self._times(bars),
            "limit": pl.Series([_LIMIT_KIND[e[1]] for e in events], dtype=pl.String),
            "action": pl.Series([_LIMIT_ACTION[e[2]] for e in events], dtype=pl.String),
            "value": pl.Series([e[3] for e in events], dtype=pl.Float64),
            "threshold": pl.Series([e[4] for e in events], dtype=pl.Float64),
            "order_id": pl.Series([f"ORD-{e[5]}" if e[5] else None for e in events], dtype=pl.String),
        })

    def borrow_fees(self) -> dict[str, float]:
        fees = self._raw.get("borrow_fees", [])
        return {a: f for a, f in zip(self._assets, fees) if f}


def _profit_factor(values: np.ndarray) -> float:
    wins = values[values > 0].sum()
    losses = values[values < 0].sum()
    if losses == 0:
        return math.inf if wins > 0 else 0.0
    return float(wins / abs(losses))


def compute_metrics(run: RunColumns) -> dict[str, Any]:
    """ml4t-backtest's metrics (returns include the first bar against initial cash;
    Sharpe/Sortino use ddof=1 and sqrt(periods per year: 252 for daily bars, see
    analytics.annualization); max_drawdown is a positive fraction)."""
    raw = run._raw
    initial = run.initial_cash
    equity = raw["equity"]
    n = len(equity)
    final = float(equity[-1]) if n else initial
    # Returns count the first bar against the initial cash; years are the
    # feed's elapsed calendar time (analytics.EquityCurve, as ml4t's engine).
    timeline = run._timeline
    periods, observation_based = run.annualization
    changes = raw.get("capital_changes") or []
    payments = raw.get("funding_payments") or []
    if changes:
        # External flows are no return (nautilus_like.capital): the curve chains between them.
        curve = EquityCurve(timestamps=timeline.to_list(), values=equity.tolist(), capital_changes=changes,
                            periods_per_year_override=periods, observation_based=observation_based,
                            initial_capital=initial)
    else:
        curve = EquityCurve(timestamps=[timeline[0], timeline[-1]] if n > 1 else [], values=equity.tolist(),
                            periods_per_year_override=periods, observation_based=observation_based,
                            initial_capital=initial)
    total_return = curve.total_return if n else 0.0
    sharpe, sortino, volatility = curve.sharpe, curve.sortino, curve.volatility
    mdd, cagr = curve.max_dd, curve.cagr
    calmar = calmar_ratio(cagr, mdd)

    trades = run.trades_frame()
    realized = trades.filter(pl.col("status") != "open")
    pnl = realized["pnl"].to_numpy()
    pct = realized["pnl_percent"].to_numpy()
    num_trades = len(pnl)
    winning = int((pnl > 0).sum())
    losing = int((pnl < 0).sum())
    win_rate = winning / num_trades if num_trades else 0.0
    wins_pct, loss_pct = pct[pct > 0], pct[pct < 0]
    avg_win = float(wins_pct.mean()) if len(wins_pct) else 0.0
    avg_loss = float(loss_pct.mean()) if len(loss_pct) else 0.0
    if avg_loss == 0:
        payoff = math.inf if avg_win > 0 else 0.0
    else:
        payoff = avg_win / abs(avg_loss)
    fills = raw["fills"]
    commissions = fills["commission"].tolist()
    notional_per_fill = np.abs(fills["quantity"]) * fills["price"] * run._multipliers[fills["asset"]]
    total_notional = 0.0
    for v in notional_per_fill.tolist():
        total_notional += v
    turnover = []
    if n:
        per_bar = np.zeros(n)
        np.add.at(per_bar, fills["bar"], notional_per_fill)
        turnover = [float(per_bar[i] / equity[i]) if equity[i] else 0.0 for i in range(n)]
    open_counts = raw["open_positions"]
    realized_costs = realized["fees"].to_list()
    metrics: dict[str, Any] = {
        "initial_cash": initial,
        "final_value": final,
        "total_return": total_return,
        "total_return_pct": total_return * 100,
        "max_drawdown": abs(mdd),
        "max_drawdown_pct": abs(mdd) * 100,
        "num_trades": num_trades,
        "winning_trades": winning,
        "losing_trades": losing,
        "win_rate": win_rate,
        "total_commission": sum(commissions),
        "total_slippage": sum(trades["total_slippage_cost"].to_list()),
        "sharpe": sharpe,
        "sortino": sortino,
        "calmar": calmar,
        "cagr": cagr,
        "volatility": volatility,
        "profit_factor": _profit_factor(pnl),
        "expectancy": win_rate * avg_win + (1 - win_rate) * avg_loss,
        "avg_trade": float(pct.mean()) if num_trades else 0.0,
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "largest_win": float(wins_pct.max()) if len(wins_pct) else 0.0,
        "largest_loss": float(loss_pct.min()) if len(loss_pct) else 0.0,
        "payoff_ratio": payoff,
        "total_gross_pnl": sum(realized["gross_pnl"].to_list()),
        "total_costs": sum(realized_costs) + sum(realized["total_slippage_cost"].to_list()),
        "avg_cost_drag": float(realized["cost_drag"].mean()) if num_trades else 0.0,
        "gross_profit_factor": _profit_factor(realized["gross_pnl"].to_numpy()),
        "skipped_bars": int(raw.get("skipped_bars", 0)),
        "num_orders": int(len(raw["order_status"])),
        "num_rejected_orders": int((raw["order_status"] == _CODES["ORDER_STATUS_REJECTED"]).sum()),
        "num_fills": int(len(commissions)),
        "num_rebalance_events": _rebalance_events(fills, raw.get("rebalance_ids") or {}),
        "unique_symbols_traded": int(len(np.unique(fills["asset"]))),
        "total_filled_notional": total_notional,
        "avg_turnover": float(sum(turnover) / len(turnover)) if turnover else 0.0,
        "max_turnover": float(max(turnover)) if turnover else 0.0,
        "avg_open_positions": float(open_counts.mean()) if n else 0.0,
        "max_open_positions": int(open_counts.max()) if n else 0,
        "total_funding": sum(p.cash_delta for p in payments),
        "total_external_flow": sum(c.cash_delta for c in changes),
        "num_capital_changes": len(changes),
        "num_funding_events": len(payments),
    }
    return metrics


def _rebalance_events(fills: dict[str, np.ndarray], tags: dict[int, str]) -> int:
    """ml4t's count: the distinct rebalances among the fills, with every other
    fill counted by its bar (a bar's untagged fills are one event)."""
    events = {tags.get(o, b) for o, b in zip(fills["order_id"].tolist(), fills["bar"].tolist())}
    return len(events)
