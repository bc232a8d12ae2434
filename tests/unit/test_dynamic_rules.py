"""Dynamic position rules and the position context through the Python API.

AAA long (or short) of 10 filled at bar 1's open 102; rules act from bar 2 on
the close, against water marks of the closes up to the previous bar:
bar 2: 104/106/103/105 (HWM 103), 3: 103/104/100/101 (HWM 105), 4: 100/101/97/98.
"""

import pytest

import nautilus_like as nl
from nautilus_like.risk import (AllOf, PositionAction, RuleChain, ScaledExit, SignalExit, TighteningTrailingStop,
                                TimeExit, VolatilityStop, VolatilityTrailingStop)
from tests.conftest import run, ts

SHORTS = nl.BacktestConfig(allow_short_selling=True)


def exits(result):
    f = result.to_fills_dataframe()
    return f.filter(f["exit_reason_detail"].is_not_null()).select(
        "timestamp", "quantity", "price", "exit_reason", "exit_reason_detail").rows()


def enter(rule, qty=10):
    def act(b):
        b.set_position_rules(rule)
        b.submit_order("AAA", qty)
    return act


def context(values):
    return lambda b: b.update_position_context("AAA", values)


def test_tightening_trailing_stop_tightens_with_the_return():
    # Bar 3: return -0.98% >= -1%: trail 3% of HWM 105 = 101.85 >= close 101:
    # exit at the pass's price, bar 3's open 103.
    result, _ = run({0: [enter(TighteningTrailingStop([(-0.02, 0.05), (-0.01, 0.03)]))]})
    assert exits(result) == [(ts(3), 10.0, 103.0, "signal", "tightening_trail_3.0%_at_-1.0%")]
    # Short at 102: bar 2's close 105 (-2.94%) is under threshold 0: its trail
    # 2% of LWM 102 = 104.04 <= 105: exit at bar 2's open 104.
    result, _ = run({0: [enter(TighteningTrailingStop([(0.0, 0.02)]), -10)]}, SHORTS)
    assert exits(result) == [(ts(2), 10.0, 104.0, "signal", "tightening_trail_2.0%_at_-2.9%")]


def test_volatility_stop_reads_the_atr_from_the_position_context():
    # ATR 0.75 set on bar 1, 0.25 from bar 2. The entry ATR (first seen) keeps
    # the stop at 102 - 2 * 0.75 = 100.5: bar 4 closes at 98 and the exit fills
    # at the level 100.5 (above bar 4's open 100: no gap pricing, as in ml4t).
    actions = {0: [enter(VolatilityStop(2.0))], 1: [context({"atr": 0.75})],
               2: [context({"atr": 0.25})], 3: [context({"atr": 0.25})]}
    result, _ = run(actions)
    assert exits(result) == [(ts(4), 10.0, 100.5, "signal", "volatility_stop_2.0x_atr")]
    # Each bar's ATR: bar 3 sees 0.25, stop 101.5 >= close 101: exit at 101.5.
    actions[0] = [enter(VolatilityStop(2.0, use_entry_atr=False))]
    result, _ = run(actions)
    assert exits(result) == [(ts(3), 10.0, 101.5, "signal", "volatility_stop_2.0x_atr")]


def test_volatility_trailing_stop_and_a_custom_key():
    # HWM 105 on bar 3, ATR 1 x 3: stop 102 >= close 101: exit at 102.
    actions = {0: [enter(VolatilityTrailingStop(3.0, atr_key="vol"))], 1: [context({"vol": 1.0})]}
    result, _ = run(actions)
    assert exits(result) == [(ts(3), 10.0, 102.0, "trailing_stop", "vol_trailing_stop_3.0x_atr")]
    # The value under another key is not read.
    actions[1] = [context({"atr": 1.0})]
    assert exits(run(actions)[0]) == []


def test_signal_exit_long_and_short():
    # Long: -0.2 is not below -0.3; -0.5 (set on bar 2) exits at bar 3's open 103.
    actions = {0: [enter(SignalExit(threshold=0.3))], 1: [context({"exit_signal": -0.2})],
               2: [context({"exit_signal": -0.5})]}
    assert exits(run(actions)[0]) == [(ts(3), 10.0, 103.0, "signal", "signal_exit_-0.50")]
    # Short: +0.45 (bar 1) exits at bar 2's open 104.
    actions = {0: [enter(SignalExit("exit_signal", 0.3), -10)], 1: [context({"exit_signal": 0.45})]}
    assert exits(run(actions, SHORTS)[0]) == [(ts(2), 10.0, 104.0, "signal", "signal_exit_0.45")]


def test_scaled_exit_takes_each_target_once():
    # SAME_BAR at the close: 16 bought at bar 0's close 101. Bar 1 (+1.98%):
    # 25% (4) at 103; bar 2 (+3.96%): 50% of 12 (6) at 105; bar 3/4 below both.
    same_bar = nl.BacktestConfig(execution_mode="SAME_BAR", execution_price="CLOSE")
    result, _ = run({0: [enter(ScaledExit([(0.02, 0.5), (0.01, 0.25)]), 16)]}, same_bar)
    assert exits(result) == [(ts(1), 4.0, 103.0, "signal", "scale_out_1%_25%"),
                             (ts(2), 6.0, 105.0, "signal", "scale_out_2%_50%")]


def test_scaled_exit_memory_is_shared_by_one_object_until_reset():
    # Targets 1% (full size): AAA exits at bar 2's open 104 (+2.94% on bar 2), a
    # partial exit, so the re-entry of 5 at bar 2 is allowed (fills at bar 3's
    # open 103). Without reset the same object never exits again; bar 4 opens
    # at 100, so only a reset rule could exit there -- and 98 is below +1%.
    rule = ScaledExit([(0.01, 1.0)])
    seen = {}
    result, _ = run({0: [enter(rule)], 2: [lambda b: seen.update(again=b.submit_order("AAA", 5))]})
    assert exits(result) == [(ts(2), 10.0, 104.0, "signal", "scale_out_1%_100%")]
    assert seen["again"] is not None
    # SAME_BAR at the close: AAA 16 at 101, BBB 10 at 50.5. Bar 1: both are
    # +1.98%. One object for both: AAA (opened first) takes the 1% target (8
    # at 103) and BBB finds it taken. An object per asset: BBB exits 5 at 51.5 too.
    same_bar = nl.BacktestConfig(execution_mode="SAME_BAR", execution_price="CLOSE")

    def both(shared):
        def act(b):
            rule = ScaledExit([(0.01, 0.5)])
            b.set_position_rules(rule, "AAA")
            b.set_position_rules(rule if shared else ScaledExit([(0.01, 0.5)]), "BBB")
            b.submit_order("AAA", 16)
            b.submit_order("BBB", 10)
        return [r[1:3] for r in exits(run({0: [act]}, same_bar)[0])]

    assert both(shared=True) == [(8.0, 103.0)]
    assert both(shared=False) == [(8.0, 103.0), (5.0, 51.5)]


def test_reset_clears_the_memory_of_a_stateful_rule():
    # ScaledExit 1% -> 50%: bar 2 (+2.94%) exits 5 at 104. Reset on bar 2: the
    # target is free again, but bars 3 and 4 are below +1%. Re-arm check with
    # VolatilityStop: entry ATR 0.25 (bar 2: stop 101.5, hold as 105 > 101.5),
    # reset on bar 2 then ATR 0.75 -> stop 100.5: bar 3's close 101 holds, bar 4's 98 exits at 100.5.
    rule = VolatilityStop(2.0)
    actions = {0: [enter(rule)], 1: [context({"atr": 0.25})],
               2: [lambda b: rule.reset(), context({"atr": 0.75})]}
    assert exits(run(actions)[0]) == [(ts(4), 10.0, 100.5, "signal", "volatility_stop_2.0x_atr")]
    # Without the reset the entry ATR 0.25 sticks: stop 101.5 >= bar 3's close 101.
    actions[2] = [context({"atr": 0.75})]
    rule = VolatilityStop(2.0)
    actions[0] = [enter(rule)]
    assert exits(run(actions)[0]) == [(ts(3), 10.0, 101.5, "signal", "volatility_stop_2.0x_atr")]


def test_position_context_is_per_position_and_seen_by_python_rules():
    seen = {}

    class ReadsContext:
        def evaluate(self, state):
            seen.setdefault("contexts", []).append(dict(state.context))
            return PositionAction.hold()

    def first(b):
        b.update_position_context("AAA", {"atr": 1.5, "note": "entry"})
        b.get_position("AAA").context["exit_signal"] = -1
        seen["view"] = dict(b.get_position("AAA").context)

    def flip(b):
        b.submit_order("AAA", -20)      # reverses to a short at bar 3's open

    result, _ = run({0: [enter(ReadsContext())], 1: [first], 2: [flip],
                     3: [lambda b: seen.update(after=dict(b.get_position("AAA").context))]}, SHORTS)
    assert seen["view"] == {"atr": 1.5, "note": "entry", "exit_signal": -1}
    # Bar 2 and 3: the long's context; bar 4: the new short's, empty.
    assert seen["contexts"] == [seen["view"], seen["view"], {}]
    assert seen["after"] == {}


def test_update_position_context_on_a_flat_asset_is_ignored():
    seen = {}

    def act(b):
        b.update_position_context("BBB", {"atr": 2.0})      # no BBB position: nothing happens
        seen["pos"] = b.get_position("BBB")

    run({0: [act]})
    assert seen["pos"] is None


def test_a_python_partial_exit_of_everything_does_not_block_re_entry():
    class AllAsPartial:
        def evaluate(self, state):
            return PositionAction.exit_partial(1.0, "take_profit_all")

    seen = {}
    run({0: [enter(AllAsPartial())], 2: [lambda b: seen.update(again=b.submit_order("AAA", 5))]})
    assert seen["again"] is not None


def test_all_of_returns_the_first_rule_s_partial_size():
    # ScaledExit 1% (50%) and held 1 bar: both on bar 2 -> 5 exit at bar 2's open 104;
    # the joined detail names "time": exit_reason time_stop (ml4t's keyword order).
    result, _ = run({0: [enter(AllOf([ScaledExit([(0.01, 0.5)]), TimeExit(1)]))]})
    assert exits(result) == [(ts(2), 5.0, 104.0, "time_stop", "scale_out_1%_50% AND time_exit_1bars")]


@pytest.mark.parametrize("make, match", [
    (lambda: TighteningTrailingStop([(0.1, -0.01)]), r"schedule entry \(0.1, -0.01\)"),
    (lambda: TighteningTrailingStop(5), "schedule must be a list"),
    (lambda: TighteningTrailingStop([(0.1,)]), r"schedule entries must be"),
    (lambda: ScaledExit([(0.05, 1.5)]), r"targets entry \(0.05, 1.5\).*in \(0, 1\]"),
    (lambda: ScaledExit([(float("nan"), 0.5)]), "targets entry"),
    (lambda: VolatilityStop(-2.0), "multiplier must be a finite number >= 0, got -2.0"),
    (lambda: VolatilityStop(2.0, atr_key=3), "atr_key must be a str"),
    (lambda: VolatilityTrailingStop(float("inf")), "multiplier"),
    (lambda: SignalExit(threshold="high"), "threshold must be a finite number, got 'high'"),
    (lambda: SignalExit(signal_name=None), "signal_name must be a str"),
])
def test_bad_dynamic_rules_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_context_is_refused():
    def act(b):
        with pytest.raises(TypeError, match="context must be a dict"):
            b.update_position_context("AAA", [("atr", 1.0)])
        with pytest.raises(ValueError, match="ZZZ"):
            b.update_position_context("ZZZ", {"atr": 1.0})

    run({0: [act]})
