"""Position rules: `broker.set_position_rules(rule, asset=None)`.

Declarations evaluated by the Rust engine at the start of every bar, on that
bar's OHLC, before orders are matched (ml4t-backtest's `ml4t.backtest.risk`
rules, same names and arguments):

>>> broker.set_position_rules(RuleChain([StopLoss(0.05), TakeProfit(0.10), TimeExit(20)]))
>>> broker.set_position_rules(StopLoss(0.02), asset="TSLA")   # per-asset override
>>> broker.set_position_rules(None, asset="TSLA")             # no rules for TSLA

A triggered stop-loss or take-profit closes the whole position with a market
order filled at the rule's level (`BacktestConfig.stop_fill_mode`: at the
level, the open when the bar opened through it, or the close when only the
close reached it; or the close, the bar's extreme, or the next bar's open),
measured from the entry price or the signal price (`stop_level_basis`);
`TrailingStop` trails the best close since entry.
`TimeExit` closes at the pass's execution price. Exits carry `exit_reason`
("stop_loss", "take_profit", "time_stop") and a detail ("stop_loss_5.0%").
After a full rule exit the asset cannot be re-entered in the same bar (as in ml4t).

Dynamic rules compare this bar's close: `TighteningTrailingStop(schedule)`,
`ScaledExit(targets)` (partial exits), and three that read values the strategy
attaches to the position with `broker.update_position_context(asset, {...})`:
`VolatilityStop` / `VolatilityTrailingStop` (an ATR) and `SignalExit`:

>>> broker.set_position_rules(RuleChain([VolatilityStop(2.0), SignalExit(threshold=0.3)]))
>>> broker.update_position_context("AAPL", {"atr": 1.8, "exit_signal": -0.5})   # in on_data

Portfolio limits (`MaxDrawdownLimit`, `DailyLossLimit`, `MaxPositionsLimit`,
`GrossExposureLimit`, `NetExposureLimit`) live in `nautilus_like.risk.portfolio`
and are re-exported here; pass them to `Engine(..., portfolio_limits=[...])`.
"""

from nautilus_like.risk.portfolio import (
    DailyLossLimit,
    GrossExposureLimit,
    MaxDrawdownLimit,
    MaxExposureLimit,
    MaxPositionsLimit,
    NetExposureLimit,
    PortfolioLimit,
    PortfolioState,
    RiskManager,
)
from nautilus_like.risk.position import (
    AllOf,
    AnyOf,
    CompositeRule,
    PositionRule,
    RuleChain,
    ScaledExit,
    SignalExit,
    StopLoss,
    TakeProfit,
    TighteningTrailingStop,
    TimeExit,
    TrailingStop,
    VolatilityStop,
    VolatilityTrailingStop,
    rule_leaves,
)
from nautilus_like.risk.types import ActionType, PositionAction, PositionState

__all__ = ["ActionType", "AllOf", "AnyOf", "CompositeRule", "DailyLossLimit", "GrossExposureLimit",
           "MaxDrawdownLimit", "MaxExposureLimit", "MaxPositionsLimit", "NetExposureLimit", "PortfolioLimit",
           "PortfolioState", "PositionAction", "PositionRule", "PositionState", "RiskManager", "RuleChain", "ScaledExit",
           "SignalExit", "StopLoss", "TakeProfit", "TighteningTrailingStop", "TimeExit", "TrailingStop",
           "VolatilityStop", "VolatilityTrailingStop"]
