# cython: language_level=3
"""The Strategy base class: subclass it in Python, or `cdef class` it in Cython.

    class MyStrategy(Strategy):
        def on_data(self, timestamp, data, context, broker):
            for asset, bar in data.items():
                if bar["signals"].get("go", 0) > 0.5 and broker.get_position(asset) is None:
                    broker.submit_order(asset, 10)

A Cython subclass (`from nautilus_like cimport Strategy, Broker, BarData`;
`cdef class Fast(Strategy)` with `cpdef on_data(...)`) is called through the C
vtable and can use the `c_*` methods of `BarData` and `Broker`.

Beyond ml4t-backtest, four event hooks (default: do nothing) report what the
engine did, each right after the engine step that did it (the bar's start:
NEXT_BAR fills, rule exits, pending matches; `on_data` itself: immediate
rejections, same-bar fills; the bar's end):

* `on_fill(fill)`: every fill (a `Fill`), in execution order;
* `on_position_closed(trade)`: every trade record (a `Trade`), right after the
  fill that produced it. A full close (or the closing part of a reversal) gives
  one with `status == "closed"`; a partial reduction gives one with
  `status == "partial"` for the reduced quantity (the rest stays open);
* `on_order_rejected(order)`: once per rejected order (its `rejection_reason`
  says why), whether refused at submission or at fill time;
* `on_order_cancelled(order)`: once per cancelled order (by `cancel_order`,
  one-cancels-other, DAY expiry, IOC/FOK remainders, a reversal ...).

Within one step the order is: fills (each followed by the trades it closed),
then rejections and cancellations in order-id order. The run checks once, at
its start, which hooks a strategy overrides; one without hooks pays nothing.
"""

from nautilus_like._broker cimport Broker


cdef object _BASE_ON_DATA


cdef class Strategy:
    """Base class with ml4t-backtest's hooks; only `on_data` is required."""

    def __cinit__(self, *args, **kwargs):
        # ml4t-backtest's Strategy is an ABC with abstract on_data; keep that contract.
        if getattr(type(self), "on_data") is _BASE_ON_DATA:
            raise TypeError(
                f"Can't instantiate abstract class {type(self).__name__} "
                "without an implementation for abstract method 'on_data'")

    cpdef on_start(self, Broker broker):
        """Called once before the first bar (no prices yet)."""
        pass

    cpdef on_data(self, object timestamp, object data, object context, Broker broker):
        """Called once per timestamp with that timestamp's bars."""
        raise NotImplementedError

    cpdef on_end(self, Broker broker):
        """Called once after the last bar, also when the run failed."""
        pass

    cpdef on_fill(self, object fill):
        """Called with each `Fill` right after the engine step that executed it."""
        pass

    cpdef on_order_rejected(self, object order):
        """Called once with each rejected `Order` (see its `rejection_reason`)."""
        pass

    cpdef on_order_cancelled(self, object order):
        """Called once with each cancelled `Order`."""
        pass

    cpdef on_position_closed(self, object trade):
        """Called with each `Trade` a fill closed (`status` "closed") or reduced
        (`status` "partial": the reduced part; the position stays open)."""
        pass

    def on_prepare(self, broker, config=None):
        """Called after `on_start`, before the first bar."""
        pass


# The base class's own (abstract) hook, looked up once for the check in __cinit__.
_BASE_ON_DATA = Strategy.__dict__["on_data"]

# The base class's event hooks: the driver compares a strategy's against these.
_BASE_HOOKS = {name: Strategy.__dict__[name] for name in
               ("on_fill", "on_order_rejected", "on_order_cancelled", "on_position_closed")}


def overridden_hooks(strategy):
    """The names of the event hooks `strategy`'s class overrides (a frozenset)."""
    cls = type(strategy)
    return frozenset(name for name, base in _BASE_HOOKS.items() if getattr(cls, name, base) is not base)
