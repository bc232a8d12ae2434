"""Cross-check against Backtrader: one SMA-crossover strategy, two engines.

Runs the same strategy through backtrader (Cerebro with its default BackBroker:
market orders fill at the next bar's open, no cheat-on-open/close, percentage
commission on notional via `setcommission(commission=...)`) and through
nautilus_like with `BacktestConfig.from_preset("backtrader")`, then prints the
round trips side by side and both final values. Exits 1 on any difference.

    pip install backtrader
    python examples/backtrader_crosscheck.py             # every configuration
    python examples/backtrader_crosscheck.py --show 5    # print 5 trades of each

The strategy, per asset (assets visited in name order, so both engines see the
orders in the same sequence): on an upward cross of SMA(fast) over SMA(slow)
close a short and buy; on a downward cross close a long and, if shorting is on,
sell short. Backtrader's side uses `bt.indicators.SMA`/`CrossOver`; ours
computes the same crossover with Polars rolling means (with Backtrader's
"last non-zero difference" rule) and reads it as a signal. Optionally a
protective stop sits behind every position from the bar after its entry: a STOP
order on both sides (`stop="order"`), or our `StopLoss` position rule against a
Backtrader stop order at the same level (`stop="rule"`). A fifth variant
rebalances monthly with `order_target_percent` by the side of the trend.

Conventions that cannot match (cash checks at submission, short cash, re-entry
after a rule exit, trade bookkeeping) are listed in the README, section
"Cross-check against Backtrader"; the configurations here stay clear of them.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

import nautilus_like as nl
from nautilus_like.risk import StopLoss


@dataclass(frozen=True)
class CrossoverSetup:
    """One configuration of the crossover strategy and its account."""

    name: str
    fast: int = 10
    slow: int = 30
    allow_short: bool = False
    shares: int | None = 100  # fixed size; None sizes by `equity_fraction`
    equity_fraction: float = 0.10  # of account value at the signal bar's close, truncated to whole shares
    commission: float = 0.0  # fraction of notional per fill
    stop_pct: float | None = None  # protective stop distance
    stop: str = "order"  # "order": STOP orders on both sides; "rule": our StopLoss rule
    monthly_target: bool = False  # instead: on each month's first bar, order_target_percent(+/-equity_fraction)
    initial_cash: float = 100_000.0


# --------------------------------------------------------------------- data


def gbm_prices(n_assets: int = 4, start: str = "2012-01-02", end: str = "2023-12-29", seed: int = 7) -> pl.DataFrame:
    """Seeded daily OHLCV bars (business days): a geometric Brownian motion close,
    an overnight gap for the open, and a high/low that contain both. Prices are
    rounded to 4 decimals so the series could come from a CSV file."""
    rng = np.random.default_rng(seed)
    days = pl.date_range(date.fromisoformat(start), date.fromisoformat(end), "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    n = len(days)
    frames = []
    for k in range(n_assets):
        drift, vol = rng.uniform(-0.05, 0.15), rng.uniform(0.15, 0.45)
        log_ret = (drift - vol**2 / 2) / 252 + vol / math.sqrt(252) * rng.standard_normal(n)
        close = rng.uniform(20, 200) * np.exp(np.cumsum(log_ret))
        prev_close = np.concatenate([[close[0]], close[:-1]])
        open_ = prev_close * np.exp(vol / math.sqrt(252) * 0.5 * rng.standard_normal(n))
        spread = np.abs(rng.standard_normal((2, n))) * vol / math.sqrt(252) * 0.6
        high = np.maximum(open_, close) * (1 + spread[0])
        low = np.minimum(open_, close) * (1 - spread[1])
        frames.append(pl.DataFrame({
            "timestamp": days.cast(pl.Datetime("us")), "asset": f"GBM{k}",
            "open": open_, "high": high, "low": low, "close": close,
            "volume": rng.integers(100_000, 1_000_000, n).astype(np.float64),
        }))
    return (pl.concat(frames).with_columns(pl.col("open", "high", "low", "close").round(4))
            .sort("timestamp", "asset"))


def crossover_signals(prices: pl.DataFrame, fast: int, slow: int) -> pl.DataFrame:
    """`cross`: +1 on an upward cross of SMA(fast) over SMA(slow), -1 on a downward one, else 0;
    `trend`: +1 while SMA(fast) > SMA(slow), else -1 (0 during the warm-up).

    Backtrader's CrossOver rule: the previous *non-zero* difference (a tie
    keeps the last sign) was on the other side and today's difference is
    strictly across. Null until both averages and one previous difference
    exist, i.e. the first `slow` bars: Backtrader's minimum period too.
    """
    diff = pl.col("close").rolling_mean(fast) - pl.col("close").rolling_mean(slow)
    nzd = pl.when(diff != 0).then(diff).forward_fill()
    prev = nzd.shift(1)
    cross = (pl.when((prev < 0) & (diff > 0)).then(1.0)
             .when((prev > 0) & (diff < 0)).then(-1.0)
             .otherwise(0.0))
    # The side of the trend (+1 fast above slow, -1 below), with the crossover's warm-up.
    trend = pl.when(prev.is_null()).then(None).when(diff > 0).then(1.0).otherwise(-1.0)
    return (prices.sort("timestamp")
            .select("timestamp", "asset", cross.over("asset").alias("cross"), trend.over("asset").alias("trend"))
            .fill_null(0.0))


# ----------------------------------------------------------- nautilus_like


class SmaCrossover(nl.Strategy):
    """The crossover strategy on nautilus_like's broker."""

    def __init__(self, setup: CrossoverSetup):
        self.setup = setup
        self.stop_orders: dict[str, str] = {}  # asset -> id of its protective STOP order, or "rule"

    def on_data(self, timestamp, data, context, broker):
        s = self.setup
        equity = broker.get_account_value()
        for asset in sorted(data.keys()):
            bar = data[asset]
            position = broker.get_position(asset)
            held = position.quantity if position is not None else 0.0
            cross = bar["signals"]["cross"]
            if (cross > 0 and held <= 0) or (cross < 0 and held >= 0):
                self._drop_stop(broker, asset)
                if held != 0:
                    broker.close_position(asset)
                if cross > 0 or s.allow_short:
                    size = s.shares if s.shares is not None else int(s.equity_fraction * equity / bar["close"])
                    if size > 0:
                        broker.submit_order(asset, size if cross > 0 else -size)
            elif s.stop_pct is not None and held != 0 and s.stop == "order":
                order = broker.get_order(self.stop_orders[asset]) if asset in self.stop_orders else None
                if order is None or order.status is not nl.OrderStatus.PENDING:
                    level = position.entry_price * (1 - s.stop_pct if held > 0 else 1 + s.stop_pct)
                    stop = broker.submit_order(asset, -held, order_type=nl.OrderType.STOP, stop_price=level)
                    self.stop_orders[asset] = stop.order_id
            elif s.stop_pct is not None and held != 0 and asset not in self.stop_orders:
                # The rule's level comes from the signal close (stop_level_basis=signal_price).
                broker.set_position_rules(StopLoss(s.stop_pct), asset=asset)
                self.stop_orders[asset] = "rule"

    def _drop_stop(self, broker, asset: str) -> None:
        """Removes the asset's protective stop before a signal exit, so that
        only the market order closes the position."""
        kind = self.stop_orders.pop(asset, None)
        if kind == "rule":
            broker.set_position_rules(None, asset=asset)
        elif kind is not None:
            broker.cancel_order(kind)


class MonthlyTrendTarget(nl.Strategy):
    """On each month's first bar, target +/- equity_fraction of the account in
    every asset by the side of its trend (flat instead of short if shorting is
    off): exercises `order_target_percent` on positions that already exist."""

    def __init__(self, setup: CrossoverSetup):
        self.setup = setup
        self.month = None  # of the previous bar

    def on_data(self, timestamp, data, context, broker):
        new_month = self.month is not None and (timestamp.year, timestamp.month) != self.month
        self.month = (timestamp.year, timestamp.month)
        if not new_month:
            return
        for asset in sorted(data.keys()):
            trend = data[asset]["signals"]["trend"]
            if trend != 0:  # 0: still warming up
                side = trend if self.setup.allow_short else max(trend, 0.0)
                broker.order_target_percent(asset, side * self.setup.equity_fraction)


def run_nautilus(prices: pl.DataFrame, setup: CrossoverSetup) -> dict:
    """Fills, closed round trips, open positions and final value from nautilus_like."""
    feed = nl.DataFeed(prices_df=prices, signals_df=crossover_signals(prices, setup.fast, setup.slow))
    config = nl.BacktestConfig.from_preset(
        "backtrader", initial_cash=setup.initial_cash, allow_short_selling=setup.allow_short,
        commission_type="percentage" if setup.commission else "none", commission_rate=setup.commission)
    strategy = MonthlyTrendTarget(setup) if setup.monthly_target else SmaCrossover(setup)
    result = nl.Engine(feed, strategy, config).run()
    fills = [(f.timestamp.date(), f.asset, f.quantity if f.side is nl.OrderSide.BUY else -f.quantity, f.price,
              f.commission) for f in result.fills]
    trades, open_positions, still_open = [], [], set()
    for t in result.to_trades_dataframe().iter_rows(named=True):
        if t["status"] == "open":
            open_positions.append((t["symbol"], t["quantity"], t["entry_price"]))
            still_open.add((t["symbol"], t["entry_time"].date()))
        else:
            trades.append(RoundTrip(t["symbol"], t["entry_time"].date(), t["exit_time"].date(), t["quantity"],
                                    t["entry_price"], t["exit_price"], t["gross_pnl"], t["pnl"]))
    # Partial exits of a position still open at the end: Backtrader's Trade for it is not closed.
    trades = [t for t in trades if (t.asset, t.entry_date) not in still_open]
    return {"fills": fills, "trades": trades, "open": sorted(open_positions),
            "final_value": result.metrics["final_value"], "result": result}


@dataclass(frozen=True)
class RoundTrip:
    asset: str
    entry_date: date
    exit_date: date
    quantity: float  # signed: negative for a short
    entry_price: float
    exit_price: float
    gross_pnl: float
    net_pnl: float  # after the commission of both fills


# -------------------------------------------------------------- backtrader


def run_backtrader(prices: pl.DataFrame, setup: CrossoverSetup) -> dict:
    """The same strategy through backtrader's Cerebro and default broker."""
    import backtrader as bt

    class BtSmaCrossover(bt.Strategy):
        def __init__(self):
            self.fast = {d._name: bt.indicators.SMA(d.close, period=setup.fast) for d in self.datas}
            self.slow = {d._name: bt.indicators.SMA(d.close, period=setup.slow) for d in self.datas}
            self.cross = {name: bt.indicators.CrossOver(self.fast[name], self.slow[name]) for name in self.fast}
            self.stop_orders = {}
            self.signal_close = {}
            self.fills, self.trades = [], []

        def next(self):
            equity = self.broker.getvalue()
            for d in sorted(self.datas, key=lambda d: d._name):
                held = self.getposition(d).size
                cross = self.cross[d._name][0]
                if (cross > 0 and held <= 0) or (cross < 0 and held >= 0):
                    stop = self.stop_orders.pop(d._name, None)
                    if stop is not None:
                        self.cancel(stop)
                    if held != 0:
                        self.close(data=d)
                    if cross > 0 or setup.allow_short:
                        size = setup.shares if setup.shares is not None else int(
                            setup.equity_fraction * equity / d.close[0])
                        if size > 0:
                            (self.buy if cross > 0 else self.sell)(data=d, size=size)
                            self.signal_close[d._name] = d.close[0]
                elif setup.stop_pct is not None and held != 0:
                    stop = self.stop_orders.get(d._name)
                    if stop is None or not stop.alive():
                        # A rule's level is measured from the signal close, an order's from the entry fill.
                        basis = self.signal_close[d._name] if setup.stop == "rule" else self.getposition(d).price
                        level = basis * (1 - setup.stop_pct if held > 0 else 1 + setup.stop_pct)
                        self.stop_orders[d._name] = (self.sell if held > 0 else self.buy)(
                            data=d, size=abs(held), exectype=bt.Order.Stop, price=level)

        def notify_order(self, order):
            if order.status == order.Completed:
                ex = order.executed
                self.fills.append((bt.num2date(ex.dt).date(), order.data._name, ex.size, ex.price, ex.comm))

        def notify_trade(self, trade):
            if trade.isclosed:
                first, last = trade.history[0].event, trade.history[-1].event
                self.trades.append(RoundTrip(
                    trade.data._name, bt.num2date(trade.dtopen).date(), bt.num2date(trade.dtclose).date(),
                    first.size, first.price, last.price, trade.pnl, trade.pnlcomm))

    cerebro = bt.Cerebro(stdstats=False, tradehistory=True)
    for asset, frame in prices.partition_by("asset", as_dict=True, maintain_order=True).items():
        df = frame.sort("timestamp").select("timestamp", "open", "high", "low", "close", "volume").to_pandas()
        cerebro.adddata(bt.feeds.PandasData(dataname=df.set_index("timestamp"), openinterest=None),
                        name=asset[0] if isinstance(asset, tuple) else asset)
    class BtMonthlyTrendTarget(BtSmaCrossover):
        def next(self):
            if self.datas[0].datetime.date(0).month == self.datas[0].datetime.date(-1).month:
                return
            for d in sorted(self.datas, key=lambda d: d._name):
                trend = 1.0 if self.fast[d._name][0] > self.slow[d._name][0] else -1.0
                side = trend if setup.allow_short else max(trend, 0.0)
                self.order_target_percent(data=d, target=side * setup.equity_fraction)

    cerebro.addstrategy(BtMonthlyTrendTarget if setup.monthly_target else BtSmaCrossover)
    cerebro.broker.setcash(setup.initial_cash)
    cerebro.broker.setcommission(commission=setup.commission)
    strat = cerebro.run()[0]
    open_positions = sorted((d._name, float(p.size), p.price) for d in strat.datas
                            if (p := strat.getposition(d)).size != 0)
    return {"fills": strat.fills, "trades": strat.trades, "open": open_positions,
            "final_value": cerebro.broker.getvalue()}


# -------------------------------------------------------------- comparison


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return _close(float(a), float(b))
    return a == b


def same_row(a, b) -> bool:
    fields = a.__dict__.values() if isinstance(a, RoundTrip) else a
    other = b.__dict__.values() if isinstance(b, RoundTrip) else b
    return len(tuple(fields)) == len(tuple(other)) and all(_same(x, y) for x, y in zip(fields, other))


def _trade_key(t: RoundTrip) -> tuple:
    return (t.exit_date, t.asset, t.entry_date)


def _fill_key(f: tuple) -> tuple:
    return f[:3]


def position_lifetimes(trades: list[RoundTrip]) -> list[tuple]:
    """(asset, entry date, exit date, gross P&L, net P&L) per position, from
    first entry to flat: Backtrader's Trade. nautilus_like (like ml4t) closes a
    `partial` round trip at every reduction of a position instead; summed over
    the position they are the same P&L."""
    totals: dict[tuple, list] = {}
    for t in trades:
        row = totals.setdefault((t.asset, t.entry_date), [t.exit_date, 0.0, 0.0])
        row[0] = max(row[0], t.exit_date)
        row[1] += t.gross_pnl
        row[2] += t.net_pnl
    return sorted((asset, entry, exit_, gross, net) for (asset, entry), (exit_, gross, net) in totals.items())


def comparable_trades(run: dict, setup: CrossoverSetup) -> list:
    """A run's closed trades in a common order: position lifetimes when `setup`
    scales positions in and out, else round trips by exit date and asset (ties
    within a bar are listed in different fill orders)."""
    if setup.monthly_target:
        return position_lifetimes(run["trades"])
    return sorted(run["trades"], key=_trade_key)


def differences(ours: dict, theirs: dict, setup: CrossoverSetup) -> list[str]:
    """Every difference between two runs of `setup` (floats within 1e-9 relative).

    With a StopLoss rule, each bar's fills are compared as a set: a rule exits
    at the start of a bar, before any order, where Backtrader's stop order
    waits its turn in the order queue. With monthly target orders (which scale
    positions in and out), trades are compared per position lifetime.
    """
    found = []
    for key in ("fills", "trades", "open"):
        a, b = ours[key], theirs[key]
        if key == "trades":
            a, b = comparable_trades(ours, setup), comparable_trades(theirs, setup)
        elif key == "fills" and setup.stop == "rule":
            a, b = sorted(a, key=_fill_key), sorted(b, key=_fill_key)
        if len(a) != len(b):
            found.append(f"{key}: {len(a)} in nautilus_like, {len(b)} in backtrader")
        for i, (x, y) in enumerate(zip(a, b)):
            if not same_row(x, y):
                found.append(f"{key}[{i}]: nautilus_like {x} != backtrader {y}")
                break
    if not _close(ours["final_value"], theirs["final_value"]):
        found.append(f"final value: nautilus_like {ours['final_value']!r} != backtrader {theirs['final_value']!r}")
    return found


SETUPS = [
    CrossoverSetup("long-only, 100 shares, no commission"),
    CrossoverSetup("long/short, 10% of equity, 0.1% commission", allow_short=True, shares=None, commission=0.001),
    CrossoverSetup("long/short, 10% of equity, 0.1% commission, 5% stop orders", allow_short=True, shares=None,
                   commission=0.001, stop_pct=0.05),
    CrossoverSetup("long-only, 10% of equity, 0.1% commission, 4% StopLoss rule", shares=None, commission=0.001,
                   stop_pct=0.04, stop="rule"),
    CrossoverSetup("monthly order_target_percent +/-10% by trend, 0.1% commission", allow_short=True, shares=None,
                   commission=0.001, monthly_target=True),
]


def _print_trades(ours: list, theirs: list, limit: int) -> None:
    """Round trips (or position lifetimes) side by side: ours, then Backtrader's net P&L."""
    print(f"  {'asset':<7} {'entry':<10} {'exit':<10} {'qty':>6} {'entry px':>10} {'exit px':>10}"
          f" {'net pnl (nl)':>14} {'net pnl (bt)':>14}")
    for x, y in list(zip(ours, theirs))[:limit]:
        if isinstance(x, RoundTrip):
            print(f"  {x.asset:<7} {x.entry_date!s:<10} {x.exit_date!s:<10} {x.quantity:>6.0f} {x.entry_price:>10.4f}"
                  f" {x.exit_price:>10.4f} {x.net_pnl:>14.4f} {y.net_pnl:>14.4f}")
        else:
            print(f"  {x[0]:<7} {x[1]!s:<10} {x[2]!s:<10} {'':>6} {'':>10} {'':>10} {x[4]:>14.4f} {y[4]:>14.4f}")


def crosscheck(prices: pl.DataFrame, setup: CrossoverSetup, show: int = 0) -> list[str]:
    """Runs `setup` on both engines, prints a summary, returns the differences."""
    ours, theirs = run_nautilus(prices, setup), run_backtrader(prices, setup)
    found = differences(ours, theirs, setup)
    trades = (len(comparable_trades(ours, setup)), len(comparable_trades(theirs, setup)))
    print(f"{setup.name}: {trades[0]} / {trades[1]} closed {'positions' if setup.monthly_target else 'trades'},"
          f" {len(ours['fills'])} / {len(theirs['fills'])} fills (nautilus_like / backtrader)")
    print(f"  final value  nautilus_like {ours['final_value']:,.6f}   backtrader {theirs['final_value']:,.6f}"
          f"   {'MATCH' if not found else 'DIFFERENT'}")
    if show:
        _print_trades(comparable_trades(ours, setup), comparable_trades(theirs, setup), show)
    for line in found:
        print(f"  ! {line}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=0, help="print the first N round trips of each run")
    args = parser.parse_args(argv)
    from nautilus_like.data import sample_prices

    datasets = {"seeded GBM, 4 assets, 2012-01-02..2023-12-29": gbm_prices(),
                "bundled sample_prices, 8 assets, 2021-01-04..2023-12-29": sample_prices()}
    failures = 0
    for label, prices in datasets.items():
        print(f"== {label} ({prices['timestamp'].n_unique()} bars)")
        for setup in SETUPS:
            failures += bool(crosscheck(prices, setup, args.show))
    print("all configurations match" if not failures else f"{failures} configuration(s) differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
