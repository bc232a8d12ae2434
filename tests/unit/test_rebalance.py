"""Target-weight rebalancing with hand-computed expectations:
`broker.rebalance_to_weights` and `TargetWeightExecutor`.

Prices are flat bars (open = high = low = close), so a NEXT_BAR market order
fills at the next bar's listed price and a SAME_BAR one at this bar's.
Cash is 10,000 unless stated.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

import nautilus_like as nl
from nautilus_like import RebalanceConfig, TargetWeightExecutor
from tests.conftest import FLAT_T0, flat_prices

D0 = FLAT_T0


class WithData(nl.Strategy):
    """Runs `actions[bar](broker, data)` and keeps what each returns."""

    def __init__(self, actions):
        self.actions = actions
        self.bar = -1
        self.returned = []

    def on_data(self, timestamp, data, context, broker):
        self.bar += 1
        for action in self.actions.get(self.bar, []):
            self.returned.append(action(broker, data))


def run(closes, actions, engine_kw=None, frame=None, **config):
    """`frame` replaces the flat bars of `closes`; `engine_kw` goes to `Engine`."""
    strategy = WithData(actions)
    config = nl.BacktestConfig(**{"initial_cash": 10_000.0, **config})
    prices = flat_prices(closes) if frame is None else frame
    result = nl.Engine(nl.DataFeed(prices_df=prices), strategy, config, **(engine_kw or {})).run()
    return result, strategy.returned


def bars(asset: str, rows: list[tuple[float, float, float]]) -> pl.DataFrame:
    """One asset's bars from (open, close, volume); high/low span open and close."""
    return pl.DataFrame([{"timestamp": D0 + timedelta(days=i), "asset": asset, "open": o, "high": max(o, c),
                          "low": min(o, c), "close": c, "volume": v} for i, (o, c, v) in enumerate(rows)])


def sides(orders):
    return [(o.asset, o.side.value, o.quantity) for o in orders]


def fills(result):
    return result.to_fills_dataframe().select("asset", "side", "quantity", "price", "rebalance_id").rows()


def execute(weights, **rebalance):
    return lambda b, d: TargetWeightExecutor(RebalanceConfig(**rebalance)).execute(weights, d, b)


# ------------------------------------------------------- rebalance_to_weights


def test_rebalance_to_weights_sells_first_and_an_integer_account_floors_the_buys():
    # Bar 0: 60% of 10,000 in XYZ @ 100 -> 60 shares (filled bar 1 @ 100).
    # Bar 1: {ABC: 0.5}: XYZ is not a target, so its 60 are sold first; then
    # ABC 5,000 / 30 = 166.67, floored to 166 when it fills on bar 2.
    result, returned = run({"XYZ": [100.0] * 3, "ABC": [30.0] * 3}, {
        0: [lambda b, d: b.rebalance_to_weights({"XYZ": 0.6})],
        1: [lambda b, d: b.rebalance_to_weights({"ABC": 0.5})]})
    assert sides(returned[0]) == [("XYZ", "buy", 60.0)]
    assert [(a, s) for a, s, _ in sides(returned[1])] == [("XYZ", "sell"), ("ABC", "buy")]
    assert returned[1][1].requested_quantity == pytest.approx(5000 / 30)
    assert fills(result) == [("XYZ", "buy", 60.0, 100.0, "rebalance-1"), ("XYZ", "sell", 60.0, 100.0, "rebalance-2"),
                             ("ABC", "buy", 166.0, 30.0, "rebalance-2")]
    assert result.metrics["final_value"] == 10_000.0
    assert result.broker.get_cash() == 10_000.0 - 166 * 30.0
    assert result.metrics["num_rebalance_events"] == 2


def test_rebalance_to_weights_scales_weights_by_the_headroom():
    # 100% x headroom 0.5 of 10,000 = 5,000 -> 50 shares @ 100.
    _, returned = run({"XYZ": [100.0] * 2}, {0: [lambda b, d: b.rebalance_to_weights({"XYZ": 1.0})]},
                      rebalance_headroom_pct=0.5)
    assert sides(returned[0]) == [("XYZ", "buy", 50.0)]


def test_rebalance_to_weights_skips_or_uses_the_last_price_for_an_asset_without_a_bar():
    # ABC has no row on bar 1. SKIP: no ABC order. USE_LAST: sized at bar 0's
    # 40 (2,000 / 40 = 50 shares), filled at bar 2's 40.
    closes = {"XYZ": [100.0] * 3, "ABC": [40.0, None, 40.0]}
    act = {1: [lambda b, d: b.rebalance_to_weights({"XYZ": 0.2, "ABC": 0.2})]}
    _, skipped = run(closes, act)
    assert sides(skipped[0]) == [("XYZ", "buy", 20.0)]
    result, used = run(closes, act, missing_price_policy="use_last")
    assert sides(used[0]) == [("XYZ", "buy", 20.0), ("ABC", "buy", 50.0)]
    assert [(a, q, p) for a, _, q, p, _ in fills(result)] == [("XYZ", 20.0, 100.0), ("ABC", 50.0, 40.0)]


def test_rebalance_to_weights_refuses_bad_input():
    def check(weights, order_type=nl.OrderType.MARKET):
        return lambda b, d: b.rebalance_to_weights(weights, order_type)
    for action, error in [(check({"XYZ": float("nan")}), r"target_weights\['XYZ'\] must be a finite number, got nan"),
                          (check({"NOPE": 0.1}), "asset 'NOPE' does not appear in the feed"),
                          (check([("XYZ", 0.1)]), "target_weights must be a dict"),
                          (check({"XYZ": 0.1}, nl.OrderType.LIMIT), "order_type must be OrderType.MARKET or")]:
        with pytest.raises((ValueError, TypeError), match=error):
            run({"XYZ": [100.0] * 2}, {0: [action]})


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.1, float("nan"), "0.9"])
def test_rebalance_headroom_must_be_in_zero_to_one(bad):
    with pytest.raises(ValueError, match=r"rebalance_headroom_pct must be a number in \(0, 1\]"):
        nl.BacktestConfig(rebalance_headroom_pct=bad)


# ----------------------------------------------------------- the executor


def test_executor_rounds_to_the_nearest_share_or_truncates_or_rounds_to_lots():
    # 11.9% of 10,000 = 1,190 at 30 = 39.67 shares: nearest 40, truncated 39,
    # lots of 25: round(1.587) = 2 lots = 50; fractional asks for 39.67 (which
    # this integer account then floors to 39 when it fills).
    def bought(**rebalance):
        _, returned = run({"XYZ": [30.0] * 2}, {0: [execute({"XYZ": 0.119}, **rebalance)]})
        return returned[0][0].requested_quantity
    assert bought() == 40.0
    assert bought(share_rounding="truncate") == 39.0
    assert bought(round_lots=True, lot_size=25) == 50.0
    assert bought(allow_fractional=True) == pytest.approx(1190 / 30)


def test_executor_skips_trades_below_the_value_and_weight_thresholds():
    # Holding 30 XYZ @ 100 (weight 0.3 of 10,000). To 0.32: a 200 trade, below
    # min_trade_value 500. To 0.35: a 0.05 change, below min_weight_change 0.1.
    # To 0.4: 1,000 -> 10 shares.
    hold = [lambda b, d: b.submit_order("XYZ", 30)]
    _, returned = run({"XYZ": [100.0] * 3}, {0: hold, 1: [
        execute({"XYZ": 0.32}, min_trade_value=500), execute({"XYZ": 0.35}, min_weight_change=0.1),
        execute({"XYZ": 0.4}, min_trade_value=500, min_weight_change=0.1)]})
    assert [sides(r) for r in returned[1:]] == [[], [], [("XYZ", "buy", 10.0)]]


def test_executor_caps_single_weights_and_scales_to_the_gross_leverage():
    # {XYZ: 0.9} capped at 0.5 -> 5,000 / 100 = 50. {XYZ: 0.8, ABC: 0.8} with
    # gross leverage 1.0: both scaled to 0.5 -> 50 XYZ and 5,000 / 40 = 125 ABC.
    # A short weight without allow_short means 0: nothing to do from flat.
    closes = {"XYZ": [100.0] * 2, "ABC": [40.0] * 2}
    _, capped = run(closes, {0: [execute({"XYZ": 0.9}, max_single_weight=0.5)]})
    _, scaled = run(closes, {0: [execute({"XYZ": 0.8, "ABC": 0.8}, max_gross_leverage=1.0)]})
    _, short = run(closes, {0: [execute({"XYZ": -0.3})]})
    assert sides(capped[0]) == [("XYZ", "buy", 50.0)]
    assert sides(scaled[0]) == [("XYZ", "buy", 50.0), ("ABC", "buy", 125.0)]
    assert short == [[]]


def test_executor_reduces_then_closes_then_increases():
    # Holding 50 XYZ and 100 ABC @ 40 (weights 0.5 and 0.4). Targets {ABC: 0.1,
    # NEW: 0.3}: ABC reduced first (0.3 x 10,000 / 40 = 75 sold), then XYZ
    # (not a target) closed, then NEW bought (3,000 / 20 = 150).
    closes = {"XYZ": [100.0] * 3, "ABC": [40.0] * 3, "NEW": [20.0] * 3}
    _, returned = run(closes, {0: [lambda b, d: b.submit_order("XYZ", 50), lambda b, d: b.submit_order("ABC", 100)],
                               1: [execute({"NEW": 0.3, "ABC": 0.1})]})
    assert sides(returned[2]) == [("ABC", "sell", 75.0), ("XYZ", "sell", 50.0), ("NEW", "buy", 150.0)]
    assert {o.rebalance_id for o in returned[2]} == {"rebalance-1"}


def test_executor_cancels_pending_orders_or_counts_them():
    # A limit buy of 20 XYZ @ 90 waits (price stays 100). By default the
    # executor cancels it, then buys 0.3 x 10,000 / 100 = 30. Without
    # cancelling, it counts 20 x 90 = 1,800 (weight 0.18): 0.12 -> 12 shares.
    limit = lambda b, d: b.submit_order("XYZ", 20, order_type=nl.OrderType.LIMIT, limit_price=90.0)  # noqa: E731
    result, returned = run({"XYZ": [100.0] * 3}, {0: [limit], 1: [execute({"XYZ": 0.3})]})
    assert returned[0].status.value == "cancelled" and sides(returned[1]) == [("XYZ", "buy", 30.0)]
    _, kept = run({"XYZ": [100.0] * 3}, {0: [limit], 1: [execute({"XYZ": 0.3}, cancel_before_rebalance=False)]})
    assert kept[0].status.value == "pending" and sides(kept[1]) == [("XYZ", "buy", 12.0)]


@pytest.mark.parametrize("mode, abc_shares, cash_seen", [("snapshot", 224.0, 4950.0),
                                                         ("incremental", 223.0, 9900.0 - 223 * 40.4),
                                                         ("hybrid", 224.0, 9900.0 - 224 * 40.4)])
def test_executor_modes_decide_what_the_next_order_is_sized_from(mode, abc_shares, cash_seen):
    # SAME_BAR at the close, 1% commission. Bar 0: 50 XYZ @ 100 -> cash 4,950,
    # equity 9,950. Bar 1, target {ABC: 0.9}: XYZ is closed first.
    # SNAPSHOT sizes from 9,950: 8,955 / 40 = 223.9 -> 224, fills at the bar's end.
    # INCREMENTAL fills the close at once (cash 4,950 + 5,000 - 50 = 9,900) and
    # sizes from equity 9,900: 8,910 / 40 = 222.75 -> 223. HYBRID fills at once
    # too but keeps the starting 9,950: 224. Both fill the ABC buy at once as
    # well (40.40 a share with commission), so the cash seen after the call is
    # what is left; SNAPSHOT's orders still wait for the bar's end.
    cash = []
    def act(b, d):
        orders = execute({"ABC": 0.9}, rebalance_mode=mode)(b, d)
        cash.append(b.get_cash())
        return orders
    result, returned = run({"XYZ": [100.0] * 2, "ABC": [40.0] * 2},
                           {0: [lambda b, d: b.submit_order("XYZ", 50)], 1: [act]},
                           execution_mode=nl.ExecutionMode.SAME_BAR, execution_price="close",
                           commission_type="percentage", commission_rate=0.01)
    assert sides(returned[1]) == [("XYZ", "sell", 50.0), ("ABC", "buy", abc_shares)]
    assert cash == [pytest.approx(cash_seen)]
    assert result.broker.get_cash() == pytest.approx(9900.0 - abc_shares * 40 * 1.01)


def test_executor_preview_says_what_it_would_skip():
    # 0.001 of 10,000 = 10 at 100 = 0.1 share: rounds to nothing.
    def preview(b, d):
        return TargetWeightExecutor().preview({"XYZ": 0.001}, d, b)
    _, returned = run({"XYZ": [100.0] * 2}, {0: [preview]})
    assert returned[0] == [{"asset": "XYZ", "current_weight": 0.0, "target_weight": 0.001, "weight_delta": 0.001,
                            "shares": pytest.approx(0.1), "quantized_shares": 0, "value": 10.0,
                            "skip_reason": "rounds_to_zero_shares"}]


def test_a_rebalance_order_fills_what_cash_affords_in_an_integer_account():
    # 90 XYZ bought @ 100 (cash 1,000); XYZ doubles on bar 2: equity 19,000.
    # Target {ABC: 1.05} (cap lifted): XYZ closed, 19,950 / 50 = 399 ABC. On
    # bar 3 the sale gives cash 19,000, which buys 380 of the 399 (a plain
    # order for 399 would be rejected).
    closes = {"XYZ": [100.0, 100.0, 200.0, 200.0], "ABC": [50.0] * 4}
    hold = [lambda b, d: b.submit_order("XYZ", 90)]
    result, returned = run(closes, {0: hold, 2: [execute({"ABC": 1.05}, max_single_weight=2.0)]})
    assert sides(returned[1]) == [("XYZ", "sell", 90.0), ("ABC", "buy", 380.0)]
    assert returned[1][1].requested_quantity == 399.0 and returned[1][1].status.value == "filled"
    assert result.broker.get_cash() == 19_000.0 - 380 * 50.0
    plain, returned = run(closes, {0: hold, 2: [lambda b, d: b.close_position("XYZ"),
                                                lambda b, d: b.submit_order("ABC", 399)]})
    assert returned[2].status.value == "rejected"


def test_a_rebalance_order_a_volume_limit_partly_filled_still_fills_only_what_cash_affords():
    # Cash 1,000, at most 10% of a bar's volume per order. Bar 0: {A: 1.0} ->
    # 1,000 / 10 = 100 shares. Bar 1 (volume 500): 50 fill @ 10, cash 500.
    # Bar 2 opens @ 20: the other 50 would cost 1,000; cash affords 25, which
    # fill, leaving cash 0. (ml4t 0.2.0 fills all 50 here, cash -500: a
    # deliberate difference, see README.)
    frame = bars("A", [(10.0, 10.0, 1e4), (10.0, 10.0, 500.0), (20.0, 20.0, 1e4), (20.0, 20.0, 1e4)])
    result, returned = run({}, {0: [lambda b, d: b.rebalance_to_weights({"A": 1.0})]}, frame=frame,
                           engine_kw={"execution_limits": nl.VolumeParticipationLimit(0.1)}, initial_cash=1_000.0)
    assert returned[0][0].requested_quantity == 100.0
    assert fills(result) == [("A", "buy", 50.0, 10.0, "rebalance-1"), ("A", "buy", 25.0, 20.0, "rebalance-1")]
    assert result.broker.get_cash() == 0.0
    assert (returned[0][0].status.value, returned[0][0].filled_quantity) == ("filled", 75.0)


ES = {"ES": nl.ContractSpec("ES", nl.AssetClass.FUTURE, multiplier=50.0)}


def test_rebalancing_sizes_contracts_by_the_multiplier():
    # ES @ 4,000 x 50 = 200,000 a contract; cash 1,000,000.
    # rebalance_to_weights {ES: 0.5}: 500,000 / 200,000 = 2.5, floored to 2.
    # Then the executor {ES: 0.6}: held 2 x 4,000 x 50 / 1,000,000 = 0.4, so
    # 0.2 x 1,000,000 / 200,000 = 1 more contract; a preview values it the same way.
    previews = []
    def preview_then_execute(b, d):
        previews.append(TargetWeightExecutor().preview({"ES": 0.6}, d, b))
        return execute({"ES": 0.6})(b, d)
    result, returned = run({"ES": [4000.0] * 4}, {0: [lambda b, d: b.rebalance_to_weights({"ES": 0.5})],
                                                   2: [preview_then_execute]},
                           engine_kw={"contract_specs": ES}, initial_cash=1_000_000.0)
    assert sides(returned[0]) == [("ES", "buy", 2.0)] and returned[0][0].requested_quantity == 2.5
    assert sides(returned[1]) == [("ES", "buy", 1.0)]
    assert previews[0][0]["current_weight"] == pytest.approx(0.4) and previews[0][0]["shares"] == pytest.approx(1.0)
    assert fills(result) == [("ES", "buy", 2.0, 4000.0, "rebalance-1"), ("ES", "buy", 1.0, 4000.0, "rebalance-2")]
    assert result.broker.get_cash() == 1_000_000.0 - 3 * 200_000.0


def test_a_zero_weight_sells_the_whole_position_of_a_multiplied_asset():
    # 26 XOM @ 15.60 x 5 held. Weight 0 sizes 26 x (15.60 x 5) / (15.60 x 5):
    # exactly 26 (26 x 15.60 x 5 / 78 would be 25.999..., floored to 25).
    specs = {"XOM": nl.ContractSpec("XOM", nl.AssetClass.FUTURE, multiplier=5.0)}
    result, returned = run({"XOM": [15.6] * 4}, {0: [lambda b, d: b.submit_order("XOM", 26)],
                                                 2: [lambda b, d: b.rebalance_to_weights({"XOM": 0.0})]},
                           engine_kw={"contract_specs": specs})
    assert sides(returned[1]) == [("XOM", "sell", 26.0)]
    assert result.broker.get_positions() == {}
    assert result.broker.get_cash() == 10_000.0


@pytest.mark.parametrize("mode, buying_power_after", [("snapshot", 19_000.0), ("incremental", 19_100.0),
                                                      ("hybrid", 19_100.0)])
def test_next_bar_matching_between_rebalance_orders_marks_positions_at_the_close(mode, buying_power_after):
    # Margin account, initial margin 50%, NEXT_BAR. 10 XYZ bought at bar 1's
    # open @ 100 (cash 9,000); bar 1 closes @ 110. In bar 1's callback the
    # position is marked at the open: buying power (9,000 + 1,000 - 500) / 0.5
    # = 19,000. INCREMENTAL/HYBRID match between orders (nothing can fill in
    # NEXT_BAR) and the pass marks at the close: (9,000 + 1,100 - 550) / 0.5 =
    # 19,100, as in ml4t. SNAPSHOT runs no pass.
    frame = bars("XYZ", [(100.0, 100.0, 1e6), (100.0, 110.0, 1e6), (110.0, 110.0, 1e6)])
    seen = []
    def act(b, d):
        seen.append(b.get_buying_power())
        orders = execute({"XYZ": 0.5}, rebalance_mode=mode)(b, d)
        seen.append(b.get_buying_power())
        return orders
    _, returned = run({}, {0: [lambda b, d: b.submit_order("XYZ", 10)], 1: [act]}, frame=frame,
                      allow_leverage=True, initial_margin=0.5, long_maintenance_margin=0.25,
                      short_maintenance_margin=0.3)
    # Weight 1,100 / 10,100; (0.5 - 0.1089) x 10,100 / 110 = 35.9 -> 36 more.
    assert sides(returned[1]) == [("XYZ", "buy", 36.0)]
    assert seen == [19_000.0, buying_power_after]


@pytest.mark.parametrize("field, value, message", [
    ("min_trade_value", -1.0, "min_trade_value must be a finite number >= 0, got -1.0"),
    ("min_weight_change", float("inf"), "min_weight_change must be a finite number >= 0"),
    ("max_single_weight", "0.5", "max_single_weight must be a finite number >= 0, got '0.5'"),
    ("max_gross_leverage", 0.0, "max_gross_leverage must be None or a finite number > 0, got 0.0"),
    ("lot_size", 0, "lot_size must be a whole number >= 1, got 0"),
    ("rebalance_mode", "eventually", "rebalance_mode must be one of SNAPSHOT, INCREMENTAL, HYBRID, got 'eventually'"),
    ("share_rounding", "up", "share_rounding must be one of NEAREST, TRUNCATE"),
    ("allow_short", 1, "allow_short must be True or False, got 1"),
    ("allow_fractional", "yes", "allow_fractional must be True, False or None"),
])
def test_rebalance_config_names_the_bad_field(field, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RebalanceConfig(**{field: value})


def test_rebalance_config_accepts_mode_names():
    cfg = RebalanceConfig(rebalance_mode="incremental", share_rounding="TRUNCATE")
    assert (cfg.rebalance_mode, cfg.share_rounding) == (nl.RebalanceMode.INCREMENTAL, nl.ShareRounding.TRUNCATE)
