# cython: language_level=3
"""The public Cython API of nautilus_like: `from nautilus_like cimport ...`.

    from nautilus_like cimport Strategy, Broker, BarData, ORDER_SIDE_BUY

    cdef class Momentum(Strategy):
        cpdef on_data(self, object timestamp, object data, object context, Broker broker):
            cdef BarData bars = <BarData>data
            cdef Py_ssize_t i, col = bars.c_signal_column("signal")   # -1 when absent
            for i in range(bars.c_size()):
                if bars.c_signal(i, col) > 0.5 and broker.c_position(bars.c_asset(i)) == 0:
                    broker.c_buy(bars.c_asset(i), 10)

Build it with a plain `cythonize` and `include_dirs=[nautilus_like.get_include()]`
(see examples/cython_strategy/ and the README's "Strategies in Cython").

Everything a strategy needs is declared here or on the three classes:

* `Strategy`: the base class; `on_data` plus the event hooks `on_fill`,
  `on_order_rejected`, `on_order_cancelled` and `on_position_closed`.
* `BarData`: one timestamp's rows, read straight from the feed's columns
  (`c_size`, `c_asset`, `c_open` ... `c_volume`, `c_signal_column`/`c_signal`,
  `c_bid`/`c_ask` and the other quote fields).
* `Broker`: positions, cash, equity and orders by asset id (`c_asset`,
  `c_position`, `c_cash`, `c_equity`, `c_buy`, `c_sell`, `c_submit`,
  `c_submit_trailing_stop`, `c_submit_bracket`, `c_cancel`, `c_order_status`).
* The codes those methods take, from the generated header: `ORDER_SIDE_*`,
  `ORDER_TYPE_*`, `ORDER_STATUS_*`, `TIME_IN_FORCE_*`.

Asset ids are the same in `BarData.c_asset(i)` and `Broker.c_asset(name)`.
The module names starting with an underscore are not part of the API.
"""

from nautilus_like._strategy cimport Strategy
from nautilus_like._broker cimport Broker
from nautilus_like._data cimport BarData

# Order sides, types, statuses and time-in-force codes (generated from crates/ffi).
from nautilus_like._ffi cimport (
    OrderSide, ORDER_SIDE_BUY, ORDER_SIDE_SELL,
    OrderType, ORDER_TYPE_MARKET, ORDER_TYPE_LIMIT, ORDER_TYPE_STOP, ORDER_TYPE_STOP_LIMIT,
    ORDER_TYPE_TRAILING_STOP, ORDER_TYPE_MARKET_ON_CLOSE,
    OrderStatus, ORDER_STATUS_PENDING, ORDER_STATUS_FILLED, ORDER_STATUS_CANCELLED,
    ORDER_STATUS_REJECTED,
    TimeInForce, TIME_IN_FORCE_GTC, TIME_IN_FORCE_DAY, TIME_IN_FORCE_IOC, TIME_IN_FORCE_FOK,
)
