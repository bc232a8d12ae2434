"""Quickstart: a multi-asset momentum strategy on the bundled sample data.

Each day it holds the (at most) three assets with the strongest positive
momentum signal, buying about 30% of equity in each new name and selling names
that drop out of the top three. Runs next-bar-open fills with 0.1% commission.

    python examples/quickstart.py
"""

import nautilus_like as nl
from nautilus_like.data import sample_prices, sample_signals

TOP_N = 3
WEIGHT = 0.30


class MomentumTopN(nl.Strategy):
    def on_data(self, timestamp, data, context, broker):
        scores = {asset: bar["signals"]["momentum"] for asset, bar in data.items()
                  if "momentum" in bar["signals"]}
        ranked = sorted(scores, key=scores.get, reverse=True)
        keep = {a for a in ranked[:TOP_N] if scores[a] > 0}
        for asset, position in broker.get_positions().items():
            if asset not in keep:
                broker.close_position(asset)
        equity = broker.get_account_value()
        for asset in keep:
            if broker.get_position(asset) is None:
                broker.submit_order(asset, WEIGHT * equity / data[asset]["close"])


def main() -> nl.BacktestResult:
    feed = nl.DataFeed(prices_df=sample_prices(), signals_df=sample_signals())
    config = nl.BacktestConfig(initial_cash=100_000, commission_rate=0.001)
    result = nl.Engine(feed, MomentumTopN(), config).run()
    m = result.metrics
    print(f"{feed}")
    print(f"final value     {m['final_value']:>14,.2f}")
    for key in ("total_return", "cagr", "max_drawdown", "volatility"):
        print(f"{key:<15} {m[key]:>14.2%}")
    for key in ("sharpe", "sortino", "calmar"):
        print(f"{key:<15} {m[key]:>14.3f}")
    print(f"trades          {m['num_trades']:>14d}   win rate {m['win_rate']:.1%}")
    print(f"fills / orders  {m['num_fills']:>7d} / {m['num_orders']:<6d} commission {m['total_commission']:,.2f}")
    print(result.to_trades_dataframe().select("symbol", "entry_time", "exit_time", "quantity", "pnl", "status").tail(5))
    return result


if __name__ == "__main__":
    main()
