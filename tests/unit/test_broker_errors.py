"""Bad strategy input gets a clear exception; nothing crashes the interpreter."""

import math

import pytest

import nautilus_like as nl
from tests.conftest import run


@pytest.mark.parametrize("qty", [math.nan, math.inf, -math.inf])
def test_non_finite_quantities_are_refused(qty):
    with pytest.raises(ValueError, match=r"quantity must be a finite number.*'AAA'"):
        run({0: [lambda b: b.submit_order("AAA", qty)]})


@pytest.mark.parametrize("qty", ["10", True, None, [1]])
def test_non_numeric_quantity_is_refused(qty):
    # ValueError, as ml4t raises for these.
    with pytest.raises(ValueError, match=r"quantity must be a number, got .* for asset 'AAA'"):
        run({0: [lambda b: b.submit_order("AAA", qty)]})


def test_unknown_asset_is_named():
    with pytest.raises(ValueError, match="asset 'ZZZ' does not appear in the feed"):
        run({0: [lambda b: b.submit_order("ZZZ", 1)]})


def test_bad_order_types_and_sides_are_refused():
    with pytest.raises(ValueError, match="order_type must be an OrderType"):
        run({0: [lambda b: b.submit_order("AAA", 1, order_type="limit")]})
    with pytest.raises(ValueError, match="side must be"):
        run({0: [lambda b: b.submit_order("AAA", 1, side="up")]})


@pytest.mark.parametrize("kwargs, text", [
    (dict(order_type=nl.OrderType.LIMIT), "limit_price is required"),
    (dict(order_type=nl.OrderType.LIMIT, limit_price=-5.0), "limit_price must be a finite number > 0"),
    (dict(order_type=nl.OrderType.STOP, stop_price=math.nan), "stop_price must be a finite number > 0"),
    (dict(order_type=nl.OrderType.STOP_LIMIT, limit_price=10.0), "stop_price is required"),
    (dict(order_type=nl.OrderType.TRAILING_STOP, trail_amount=-1.0), "trail_amount must be"),
    (dict(order_type=nl.OrderType.TRAILING_STOP), "trail_amount is required"),
    (dict(order_type=nl.OrderType.LIMIT, limit_price="ten"), "limit_price must be a number"),
])
def test_invalid_order_prices_raise_at_submission(kwargs, text):
    with pytest.raises(ValueError, match=text):
        run({0: [lambda b: b.submit_order("AAA", 1, **kwargs)]})


def test_bad_order_ids():
    # Ids no order can have are unknown orders, answered as ml4t answers them;
    # a value that is not an id at all is an error.
    seen = {}
    run({0: [lambda b: seen.update(bogus=b.cancel_order("bogus"), missing=b.cancel_order("ORD-99"),
                                   order=b.get_order("ORD-99"), updated=b.update_order("x", quantity=1))]})
    assert seen == {"bogus": False, "missing": False, "order": None, "updated": False}
    with pytest.raises(TypeError, match="order_id must be"):
        run({0: [lambda b: b.cancel_order(7)]})


def test_strategy_must_implement_on_data_and_subclass_strategy(prices):
    class NoHook(nl.Strategy):
        pass

    with pytest.raises(TypeError, match="abstract method 'on_data'"):
        NoHook()

    class Duck:
        def on_data(self, *a):
            pass

    with pytest.raises(TypeError, match="must subclass nautilus_like.Strategy"):
        nl.Engine(nl.DataFeed(prices_df=prices), Duck())


def test_engine_runs_once_and_on_end_runs_after_a_failure(prices):
    events = []

    class Boom(nl.Strategy):
        def on_data(self, timestamp, data, context, broker):
            raise RuntimeError("strategy bug")

        def on_end(self, broker):
            events.append("end")

    engine = nl.Engine(nl.DataFeed(prices_df=prices), Boom())
    with pytest.raises(RuntimeError, match="strategy bug"):
        engine.run()
    assert events == ["end"]
    with pytest.raises(RuntimeError, match="already started; create a new Engine"):
        engine.run()


def test_a_rust_panic_becomes_a_python_exception():
    from nautilus_like._model import _debug_panic

    with pytest.raises(nl.EngineError, match="nl_debug_panic called"):
        _debug_panic()
