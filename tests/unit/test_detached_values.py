"""Order, Position, Fill and Trade built by hand with ml4t-backtest 0.2.0's
constructors, and the other ways of making or using a public object that used
to crash or fail oddly; each with the value a pencil gives."""

import copy
import math
import pickle
from datetime import datetime

import pytest

import nautilus_like as nl
from nautilus_like import _data
from tests.conftest import run, ts

T = datetime(2024, 1, 2, 9, 30)


def test_a_long_position_built_by_hand():
    # 100 AAPL at 150, marked 155: worth 15,500, up 500, +3.33%.
    p = nl.Position(asset="AAPL", quantity=100.0, entry_price=150.0, current_price=155.0, entry_time=T)
    assert (p.market_value, p.unrealized_pnl(), p.notional_value()) == (15_500.0, 500.0, 15_500.0)
    assert p.pnl_percent() == pytest.approx(5 / 150)
    # At 140: down 1,000, -6.67%; ml4t's __post_init__ defaults.
    assert (p.unrealized_pnl(140.0), p.pnl_percent(140.0)) == (-1_000.0, pytest.approx(-10 / 150))
    assert (p.high_water_mark, p.low_water_mark, p.initial_quantity, p.bars_held) == (150.0, 150.0, 100.0, 0)
    assert (p.side, p.entry_time, p.context, p.multiplier) == ("long", T, {}, 1.0)
    assert repr(p) == "Position(LONG 100.00 AAPL @ $150.00, current $155.00, PnL $+500.00)"


def test_a_short_future_built_by_hand():
    # 2 ES short at 4000 (x50), no mark: valued at the entry; at 3990 up 1,000 (+0.25%).
    p = nl.Position("ES", -2, 4000.0, T, multiplier=50.0, context={"atr": 12.5})
    assert (p.current_price, p.market_value, p.unrealized_pnl()) == (4000.0, -400_000.0, 0.0)
    assert (p.unrealized_pnl(3990.0), p.pnl_percent(3990.0)) == (1_000.0, pytest.approx(0.0025))
    assert (p.side, p.context["atr"]) == ("short", 12.5)
    # ml4t's variation basis: market value is quantity x (price - basis) x multiplier.
    assert nl.Position("ES", -2, 4000.0, T, 3990.0, multiplier=50.0, variation_basis=3995.0).market_value == 500.0


def test_an_order_built_by_hand():
    o = nl.Order(asset="AAPL", side=nl.OrderSide.BUY, quantity=10)
    assert (o.asset, o.side, o.quantity, o.requested_quantity) == ("AAPL", nl.OrderSide.BUY, 10.0, 10.0)
    assert (o.order_type, o.status, o.order_id, o.filled_price, o.filled_quantity) == (
        nl.OrderType.MARKET, nl.OrderStatus.PENDING, "", None, 0.0)
    assert repr(o) == "Order(- buy 10 AAPL market pending)"
    limit = nl.Order("AAPL", "sell", 5, nl.OrderType.LIMIT, limit_price=99.5, order_id="ORD-7")
    assert (limit.side, limit.limit_price, limit.order_id) == (nl.OrderSide.SELL, 99.5, "ORD-7")
    assert limit == copy.copy(limit) and limit != o
    with pytest.raises(TypeError, match="unhashable"):
        hash(o)


def test_a_fill_built_by_hand_and_a_bare_one():
    f = nl.Fill("ORD-1", "AAA", nl.OrderSide.BUY, 10, 101.0, T, commission=1.01)
    assert (f.quantity, f.price, f.commission, f.available_size, f.exit_reason) == (10.0, 101.0, 1.01, None, "")
    assert repr(f) == "Fill(ORD-1 buy 10 AAA @ 101, commission 1.01)"
    assert repr(nl.Fill.__new__(nl.Fill)) == "Fill(None None 0 None @ 0, commission 0)"
    assert pickle.loads(pickle.dumps(f)).price == 101.0


def test_a_trade_built_by_hand():
    t = nl.Trade("AAA", T, T, 100.0, 101.0, 10.0, 10.0, 0.01, 1)
    assert (t.direction, t.exit_reason, t.status) == ("long", "signal", "closed")


@pytest.mark.parametrize("make, error, message", [
    (lambda: nl.Order(asset="AAPL", side=nl.OrderSide.BUY), TypeError, "quantity"),
    (lambda: nl.Order("AAPL", "up", 10), ValueError, "side must be an OrderSide, got 'up'"),
    (lambda: nl.Order("AAPL", "buy", "ten"), TypeError, "quantity must be a number, got 'ten'"),
    (lambda: nl.Order(1, "buy", 10), TypeError, "asset must be a str, got 1"),
    (lambda: nl.Position("AAPL", 100, "x", T), TypeError, "entry_price must be a number, got 'x'"),
    (lambda: nl.Position("AAPL", 100, 150.0, T, bars_held=-1), ValueError, "bars_held must be an int"),
    (lambda: nl.Position("AAPL", 100, 150.0, T).unrealized_pnl("x"), TypeError, "current_price must be a number"),
    (lambda: nl.Fill("ORD-1", "AAA", "buy", 1, None, T), TypeError, "price must be a number, got None"),
    (lambda: nl.Broker(initial_cash=100_000.0, comission_model=None), TypeError, "unexpected keyword argument 'comission_model'"),
    (lambda: nl.Broker(initial_cash="lots"), ValueError, "initial_cash"),
    (lambda: nl.Broker(cancel_policy="session_end"), ValueError, "cancel_policy='session_end' is not supported"),
])
def test_bad_constructions_raise_naming_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bare_objects_read_as_empty_or_raise():
    o = nl.Order.__new__(nl.Order)
    assert (o.asset, o.status, repr(o)) == (None, None, "Order(<uninitialised>)")
    p = nl.Position.__new__(nl.Position)
    assert (p.quantity, p.entry_time, p.multiplier, p.market_value) == (0.0, None, 1.0, 0.0)
    with pytest.raises(TypeError, match="not made by the engine"):
        _data.BarData.__new__(_data.BarData)["AAA"]
    with pytest.raises(TypeError, match="not made by the engine"):
        _data.AssetBar.__new__(_data.AssetBar)["close"]
    assert len(_data.Signals.__new__(_data.Signals)) == 0
    with pytest.raises(TypeError, match="MarketDataHandle"):
        _data.MarketView(12345, [], {}, None)


def test_views_kept_from_a_run_stay_readable_and_copy_as_values():
    kept = {}

    def keep(b):
        kept.update(position=b.get_position("AAA"), order=b.submit_order("BBB", 5))

    def observe(bar, timestamp, data, context, broker):
        if bar == 2:
            kept.update(data=data, bar=data["AAA"])

    # AAA 10 bought at bar 1's open 102; at bar 2 the kept view shows close 105.
    result, _ = run({0: [lambda b: b.submit_order("AAA", 10)], 2: [keep]}, observe=observe)
    del result
    p, o = kept["position"], kept["order"]
    assert (p.quantity, p.entry_price, p.current_price) == (10.0, 102.0, 98.0)  # marked at the last close
    assert (o.status, o.filled_price) == (nl.OrderStatus.FILLED, 48.0)           # BBB at bar 3's open
    snapshot = copy.deepcopy(p)
    assert type(snapshot) is nl.Position and snapshot.entry_time == ts(1) and snapshot.market_value == 980.0
    assert copy.copy(o).filled_price == 48.0
    assert kept["bar"]["close"] == 105.0 and copy.copy(kept["data"])["AAA"]["close"] == 105.0
    assert type(copy.copy(kept["data"])) is dict
    assert math.isclose(pickle.loads(pickle.dumps(p)).pnl_percent(), 98 / 102 - 1)


def test_a_kept_position_view_shows_its_last_state_after_the_close():
    # AAA 10 bought at bar 1's open 102, marked at bar 2's close 105, sold at
    # bar 3's open 103; 5 bought again at bar 4's open 100: a second position.
    kept = {}
    result, _ = run({0: [lambda b: b.submit_order("AAA", 10)],
                     1: [lambda b: kept.update(first=b.get_position("AAA"))],
                     2: [lambda b: b.close_position("AAA")],
                     3: [lambda b: b.submit_order("AAA", 5)]})
    first, second = kept["first"], result.broker.get_position("AAA")
    assert (first.quantity, first.entry_price, first.current_price) == (10.0, 102.0, 105.0)
    assert (second.quantity, second.entry_price) == (5.0, 100.0) and second is not first
    assert first.quantity == 10.0  # read again: still the closed position's last state


def test_a_position_view_outlives_another_view_of_it_that_was_dropped():
    # Two views of AAA's position (bought at bar 1's open 102); the second is
    # dropped before the close at bar 3's open: the first still shows 10 at 102.
    kept = {}

    def look(b):
        kept["first"] = b.get_position("AAA")
        other = b.get_positions()["AAA"]
        assert other.quantity == 10.0
        del other

    run({0: [lambda b: b.submit_order("AAA", 10)], 1: [look], 2: [lambda b: b.close_position("AAA")]})
    assert (kept["first"].quantity, kept["first"].entry_price) == (10.0, 102.0)


def test_water_marks_of_a_position_built_by_hand_move_by_the_engines_rule():
    long = nl.Position(asset="AAPL", quantity=100.0, entry_price=100.0, entry_time=datetime(2024, 1, 1))
    # High mark from the bar's high (asked for), low mark from the close (105 is not below 100).
    long.update_water_marks(105.0, bar_high=108.0, bar_low=103.0, use_high_for_hwm=True)
    assert (long.current_price, long.high_water_mark, long.low_water_mark) == (105.0, 108.0, 100.0)
    assert long.max_favorable_excursion == pytest.approx(0.08) and long.max_adverse_excursion == 0.0
    long.update_water_marks(97.0)                                  # (97 - 100) / 100
    assert long.low_water_mark == 97.0 and long.max_adverse_excursion == pytest.approx(-0.03)
    short = nl.Position(asset="AAPL", quantity=-10.0, entry_price=100.0, entry_time=datetime(2024, 1, 1))
    short.update_water_marks(95.0)                                 # a short gains as the price falls
    assert short.max_favorable_excursion == pytest.approx(0.05) and short.low_water_mark == 95.0
    kept = {}
    run({0: [lambda b: b.submit_order("AAA", 10)], 2: [lambda b: kept.update(view=b.get_position("AAA"))]})
    view = kept["view"]
    with pytest.raises(AttributeError, match=r"update_water_marks\(\): an engine's position follows the engine"):
        view.update_water_marks(1.0)
