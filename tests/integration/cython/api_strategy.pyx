# cython: language_level=3
"""A scripted strategy that drives every order type through the public C API
(`from nautilus_like cimport ...` only) and logs its event hooks; compiled and
run by tests/integration/test_cython_api.py, next to a Python twin.

Script (asset "A", bar index = `data.c_bar()`):
  bar 0: bracket: buy 10 at market, take-profit LIMIT 110, stop-loss STOP 97;
         a LIMIT buy of 1,000 "B" at 99 (cash cannot pay for it);
         a STOP_LIMIT buy of 5 "C" (stop 200, limit 201) and a TRAILING_STOP
         sell of 1 "C" (trail 3); both cancelled on bar 2.
  bar 3: buy 5 "A" at market (c_buy); bar 4: sell 5 (c_sell): a round trip.
"""

from libc.stdint cimport uint32_t, uint64_t

from nautilus_like cimport (BarData, Broker, Strategy, ORDER_SIDE_BUY, ORDER_SIDE_SELL,
                            ORDER_TYPE_LIMIT, ORDER_TYPE_STOP_LIMIT, ORDER_STATUS_CANCELLED,
                            ORDER_STATUS_PENDING)


cdef class ScriptedStrategy(Strategy):
    cdef public list log
    cdef public list ids
    cdef public list account
    cdef uint64_t stop_limit, trailing

    def __init__(self):
        self.log = []
        self.ids = []
        self.account = []

    cpdef on_data(self, object timestamp, object data, object context, Broker broker):
        cdef BarData bars = <BarData>data
        cdef uint32_t a = broker.c_asset("A"), b = broker.c_asset("B"), c = broker.c_asset("C")
        cdef uint64_t bracket[3]
        cdef long bar = bars.c_bar()
        self.account.append((bar, broker.c_cash(), broker.c_equity(), broker.c_position(a)))
        if bar == 0:
            broker.c_submit_bracket(a, 10, ORDER_SIDE_BUY, 110.0, 97.0, bracket)
            self.ids.extend([bracket[0], bracket[1], bracket[2]])
            self.ids.append(broker.c_submit(b, 1000, ORDER_SIDE_BUY, ORDER_TYPE_LIMIT, 99.0))
            self.stop_limit = broker.c_submit(c, 5, ORDER_SIDE_BUY, ORDER_TYPE_STOP_LIMIT, 201.0, 200.0)
            self.trailing = broker.c_submit_trailing_stop(c, 1, ORDER_SIDE_SELL, 3.0)
            self.ids.extend([self.stop_limit, self.trailing])
        elif bar == 2:
            assert broker.c_order_status(self.stop_limit) == ORDER_STATUS_PENDING
            assert broker.c_cancel(self.stop_limit)
            assert broker.c_cancel(self.trailing)
            assert not broker.c_cancel(self.trailing)          # no longer pending
            assert broker.c_order_status(self.trailing) == ORDER_STATUS_CANCELLED
        elif bar == 3:
            self.ids.append(broker.c_buy(a, 5))
        elif bar == 4:
            self.ids.append(broker.c_sell(a, broker.c_position(a)))

    cpdef on_fill(self, object fill):
        self.log.append(("fill", fill.order_id, fill.asset, fill.side.value, fill.quantity, fill.price))

    cpdef on_order_rejected(self, object order):
        self.log.append(("rejected", order.order_id, order.asset))

    cpdef on_order_cancelled(self, object order):
        self.log.append(("cancelled", order.order_id, order.asset))

    cpdef on_position_closed(self, object trade):
        self.log.append(("closed", trade.symbol, trade.quantity, trade.entry_price, trade.exit_price,
                         trade.pnl, trade.status))


cdef class Probe(Strategy):
    """Calls one C-API method on the first bar, chosen by name; errors must propagate."""
    cdef public str call

    def __init__(self, call):
        self.call = call

    cpdef on_data(self, object timestamp, object data, object context, Broker broker):
        cdef BarData bars = <BarData>data
        cdef uint32_t a = broker.c_asset("A")
        if bars.c_bar() != 0:
            return
        if self.call == "unknown asset":
            broker.c_asset("ZZZ")
        elif self.call == "row out of range":
            bars.c_close(bars.c_size())
        elif self.call == "negative row":
            bars.c_asset(-1)
        elif self.call == "limit without price":
            broker.c_submit(a, 1, ORDER_SIDE_BUY, ORDER_TYPE_LIMIT)
        elif self.call == "nan quantity":
            broker.c_buy(a, float("nan"))
        elif self.call == "asset id out of range":
            broker.c_buy(999, 1)
        elif self.call == "unknown order":
            broker.c_order_status(12345)
        elif self.call == "bad side":
            broker.c_submit(a, 1, 7)
        elif self.call == "zero quantity":
            assert broker.c_buy(a, 0.0) == 0
            raise LookupError("zero quantity gave order id 0")
        elif self.call == "rows":
            # Every accessor on every row, and the signal/quote edge cases.
            out = []
            for i in range(bars.c_size()):
                out.append((bars.c_asset(i), bars.c_open(i), bars.c_high(i), bars.c_low(i), bars.c_close(i),
                            bars.c_volume(i), bars.c_signal(i, bars.c_signal_column("score")),
                            bars.c_signal(i, bars.c_signal_column("missing")), bars.c_has_quotes(),
                            bars.c_bid(i), bars.c_ask(i)))
            raise LookupError(out)
