# cython: language_level=3, nonecheck=True
# (nonecheck: a view made with `cls.__new__(cls)` has no MarketView; using it
# raises AttributeError instead of reading through a null pointer.)
"""The `data` mapping a strategy receives, read lazily from the feed's columns.

`data["AAPL"]["close"]` and `data["AAPL"]["signals"]["x"]` read straight from
the contiguous columns; nothing is copied into dicts per bar. Each level is a
read-only mapping (`get`, `keys`, `values`, `items`, `in`, `len`) registered as a
`collections.abc.Mapping` and compares equal to the plain dict ml4t-backtest
would pass. `to_dict()` builds that dict when you want one.
"""

from collections.abc import Mapping

cimport cython
from cpython.list cimport PyList_GET_ITEM
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.object cimport PyObject
from libc.math cimport NAN
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

from nautilus_like cimport _ffi as ffi
from nautilus_like._model cimport check
from nautilus_like._rust import MarketDataHandle as _MarketDataHandle


# Quote fields with a C accessor on BarData, by slot in MarketView.quote_ptr.
cdef enum:
    QUOTE_VWAP = 0
    QUOTE_BID = 1
    QUOTE_ASK = 2
    QUOTE_MID = 3
    QUOTE_BID_SIZE = 4
    QUOTE_ASK_SIZE = 5
cdef tuple QUOTE_SLOTS = ("vwap", "bid", "ask", "mid", "bid_size", "ask_size")

cdef extern from "Python.h":
    Py_ssize_t _refcount "Py_REFCNT"(PyObject* o)

# The key a strategy reads on every row (`bar["signals"]`): compared by identity first.
cdef object SIGNALS_KEY = "signals"

# Fixed keys of one asset's bar, in ml4t-backtest's order.
cdef tuple BAR_KEYS = ("price", "open", "high", "low", "close", "volume", "signals")
cdef dict BAR_FIELD = {k: i for i, k in enumerate(BAR_KEYS)}


cdef class MarketView:
    def __cinit__(self, object market, list asset_names not None, dict signal_columns not None,
                  object has_signals, dict quotes=None):
        """`market` is the feed's `_rust.MarketDataHandle`; the view takes its own
        C handle from it (never a raw pointer from Python, which could be anything).

        `quotes` maps the feed's optional quote fields ("vwap", "bid", "ask",
        "mid", "bid_size", "ask_size", in that order) to float64 arrays, NaN
        where a row has none; a bar shows a key only where it has a value.

        `signal_columns` maps name -> NumPy array (float64, int64, bool) or list
        (any objects; used for strings and columns with nulls). `has_signals` is
        a uint8 array (1 where the row has a signals row) or None for all rows.
        """
        self.md = NULL
        self.row_of = NULL
        self.sig_kind = NULL
        self.sig_ptr = NULL
        if type(market) is not _MarketDataHandle:
            raise TypeError(f"MarketView needs the feed's MarketDataHandle, got {type(market).__name__}")
        self.md = <ffi.NlMarketData*><size_t>market.ffi_handle()
        check(ffi.nl_market_data_columns(self.md, &self.cols))
        # Rows index these (row_of, has_signals) without bounds checks.
        if len(asset_names) != <Py_ssize_t>self.cols.n_assets:
            raise ValueError(f"MarketView: {len(asset_names)} asset names for {self.cols.n_assets} assets")
        if has_signals is not None and 0 < len(has_signals) != <Py_ssize_t>self.cols.n_rows:
            raise ValueError(f"MarketView: has_signals has {len(has_signals)} rows, expected {self.cols.n_rows}")
        self.asset_names = asset_names
        self.asset_index = {name: i for i, name in enumerate(asset_names)}
        self.row_of = <int32_t*>PyMem_Malloc(max(1, len(asset_names)) * sizeof(int32_t))
        if self.row_of is NULL:
            raise MemoryError()
        self.row_of_bar = -1
        self.signal_names = tuple(signal_columns)
        self.sig_index = {name: i for i, name in enumerate(self.signal_names)}
        self.n_sig = len(self.signal_names)
        self.sig_kind = <int*>PyMem_Malloc(max(1, self.n_sig) * sizeof(int))
        self.sig_ptr = <const void**>PyMem_Malloc(max(1, self.n_sig) * sizeof(void*))
        if self.sig_kind is NULL or self.sig_ptr is NULL:
            raise MemoryError()
        self.sig_objects = []
        self.keepalive = []
        cdef const double[::1] f64
        cdef const int64_t[::1] i64
        cdef const uint8_t[::1] u8
        for i, name in enumerate(self.signal_names):
            col = signal_columns[name]
            self.sig_objects.append(None)
            self.sig_ptr[i] = NULL
            if isinstance(col, list):
                if len(col) != <Py_ssize_t>self.cols.n_rows:
                    raise ValueError(f"signal column {name!r} has {len(col)} rows, expected {self.cols.n_rows}")
                self.sig_kind[i] = SIGNAL_OBJECT
                self.sig_objects[i] = col
                continue
            dtype = str(col.dtype)
            if len(col) != <Py_ssize_t>self.cols.n_rows:
                raise ValueError(f"signal column {name!r} has {len(col)} rows, expected {self.cols.n_rows}")
            self.keepalive.append(col)
            if len(col) == 0:
                self.sig_kind[i] = SIGNAL_OBJECT
                self.sig_objects[i] = []
            elif dtype == "float64":
                f64 = col
                self.sig_kind[i] = SIGNAL_F64
                self.sig_ptr[i] = &f64[0]
            elif dtype == "int64":
                i64 = col
                self.sig_kind[i] = SIGNAL_I64
                self.sig_ptr[i] = &i64[0]
            elif dtype == "bool":
                u8 = col.view("uint8")
                self.sig_kind[i] = SIGNAL_BOOL
                self.sig_ptr[i] = &u8[0]
            else:
                raise TypeError(f"signal column {name!r}: unsupported array dtype {dtype}")
        self.quote_names = tuple(quotes or ())
        self.quote_arrays = tuple((quotes or {}).values())
        cdef const double[::1] q
        for i in range(6):
            self.quote_ptr[i] = NULL
        for name, arr in (quotes or {}).items():
            if name in QUOTE_SLOTS and len(arr) > 0:
                if len(arr) != <Py_ssize_t>self.cols.n_rows:
                    raise ValueError(f"quote column {name!r} has {len(arr)} rows, expected {self.cols.n_rows}")
                q = arr
                self.quote_ptr[QUOTE_SLOTS.index(name)] = &q[0]
        self.has_signals = NULL
        if has_signals is not None and len(has_signals) > 0:
            u8 = has_signals
            self.keepalive.append(has_signals)
            self.has_signals = &u8[0]

    def __dealloc__(self):
        PyMem_Free(self.row_of)
        PyMem_Free(self.sig_kind)
        PyMem_Free(<void*>self.sig_ptr)
        if self.md is not NULL:
            ffi.nl_market_data_drop(self.md)
            self.md = NULL

    @property
    def n_rows(self):
        return self.cols.n_rows

    @property
    def n_bars(self):
        return self.cols.n_bars

    cdef BarData bar(self, long b):
        cdef BarData d = BarData.__new__(BarData)
        d._view = self
        d._bar = b
        d.start = self.cols.bar_starts[b]
        d.end = self.cols.bar_starts[b + 1]
        return d

    cpdef bint has_book_quotes(self):
        """Whether the feed has any of the bid, ask, mid and size columns (else
        every fill's quote fields are NaN)."""
        cdef int i
        for i in range(QUOTE_BID, QUOTE_ASK_SIZE + 1):
            if self.quote_ptr[i] is not NULL:
                return True
        return False

    def bar_data(self, long b):
        """The `data` mapping of bar `b` (0-based)."""
        if b < 0 or b >= <long>self.cols.n_bars:
            raise IndexError(f"bar {b} out of range 0..{self.cols.n_bars - 1}")
        return self.bar(b)

    cdef long row_for(self, long b, Py_ssize_t asset) except -2:
        """Row of `asset` in bar `b`, or -1. Rebuilds a per-asset index once per bar."""
        cdef Py_ssize_t r, n = len(self.asset_names)
        if self.row_of_bar != b:
            for r in range(n):
                self.row_of[r] = -1
            for r in range(<Py_ssize_t>self.cols.bar_starts[b], <Py_ssize_t>self.cols.bar_starts[b + 1]):
                self.row_of[self.cols.asset[r]] = <int32_t>r
            self.row_of_bar = b
        return self.row_of[asset]

    cpdef Py_ssize_t c_signal_column(self, str name):
        """Index of signal column `name` for `BarData.c_signal`, or -1 if absent."""
        col = self.sig_index.get(name)
        return -1 if col is None else <Py_ssize_t>col

    cdef double signal_double(self, Py_ssize_t col, Py_ssize_t row):
        """A signal as a double: NaN if the row has no signals row, the value is
        null, or it is not a number."""
        return _signal_double(self, col, row)

    cdef object signal_value(self, Py_ssize_t col, Py_ssize_t row):
        cdef int kind = self.sig_kind[col]
        if kind == SIGNAL_F64:
            return (<const double*>self.sig_ptr[col])[row]
        if kind == SIGNAL_I64:
            return (<const int64_t*>self.sig_ptr[col])[row]
        if kind == SIGNAL_BOOL:
            return (<const uint8_t*>self.sig_ptr[col])[row] != 0
        return self.sig_objects[col][row]


cdef inline bint _row_has_signals(MarketView v, Py_ssize_t row):
    # A view made with `Signals.__new__(Signals)` has no feed: it is empty.
    return v is not None and (v.has_signals is NULL or v.has_signals[row] != 0)


cdef inline int _attached(MarketView v) except -1:
    """Refuses a data view made with `cls.__new__(cls)` (it has no feed to read)."""
    if v is None:
        raise TypeError("this data view was not made by the engine: it has no bar to read")
    return 0


cdef inline double _signal_double(MarketView v, Py_ssize_t col, Py_ssize_t row):
    # MarketView.signal_double: a signal of any row of the feed.
    if col < 0 or col >= v.n_sig or not _row_has_signals(v, row):
        return NAN
    return _signal_at(v, col, row)


@cython.nonecheck(False)
cdef inline double _signal_at(MarketView v, Py_ssize_t col, Py_ssize_t row):
    """Signal `col` (a valid column) of `row` (which has a signals row) as a double."""
    if v.sig_kind[col] == SIGNAL_F64:
        return (<const double*>v.sig_ptr[col])[row]
    return _signal_slow(v, col, row)


@cython.nonecheck(False)
cdef double _signal_slow(MarketView v, Py_ssize_t col, Py_ssize_t row):
    """`_signal_at` for the columns that are not float64 (out of line)."""
    cdef int kind = v.sig_kind[col]
    if kind == SIGNAL_I64:
        return <double>(<const int64_t*>v.sig_ptr[col])[row]
    if kind == SIGNAL_BOOL:
        return 1.0 if (<const uint8_t*>v.sig_ptr[col])[row] != 0 else 0.0
    value = v.sig_objects[col][row]
    if isinstance(value, (int, float)):
        return <double>value
    return NAN


cdef class BarData:
    """`{asset: bar}` for one timestamp; only assets with a row then appear."""

    # The public C API (declared in _data.pxd, re-exported by nautilus_like/__init__.pxd).

    cdef Py_ssize_t _row_error(self, Py_ssize_t i) except -1:
        raise IndexError(f"row {i} out of range 0..{self.end - self.start - 1} at bar {self._bar}")

    cdef Py_ssize_t c_signal_column(self, str name) except -2:
        """Column id of signal `name` for `c_signal`, or -1 when the feed has none."""
        return self._view.c_signal_column(name)

    @cython.nonecheck(False)
    cdef double _signal_other(self, Py_ssize_t col, Py_ssize_t row) except? -1.0:
        return _signal_slow(self._view, col, row)

    cdef bint c_has_quotes(self) noexcept:
        """Whether the feed has bid and ask columns (a row may still lack them: NaN)."""
        return (self._view is not None and self._view.quote_ptr[QUOTE_BID] is not NULL
                and self._view.quote_ptr[QUOTE_ASK] is not NULL)

    @cython.nonecheck(False)
    cdef double _quote(self, int field, Py_ssize_t i) except? -1.0:
        if <size_t>i >= <size_t>(self.end - self.start):
            return self._row_error(i)
        cdef Py_ssize_t r = self.start + i
        cdef const double* col = self._view.quote_ptr[field]
        return NAN if col is NULL else col[r]

    cdef double c_bid(self, Py_ssize_t i) except? -1.0:
        """Bid of row `i`; NaN when the feed or the row has none."""
        return self._quote(QUOTE_BID, i)

    cdef double c_ask(self, Py_ssize_t i) except? -1.0:
        """Ask of row `i`; NaN when the feed or the row has none."""
        return self._quote(QUOTE_ASK, i)

    cdef double c_mid(self, Py_ssize_t i) except? -1.0:
        """The feed's quote midpoint of row `i` (its "mid" column); NaN when none."""
        return self._quote(QUOTE_MID, i)

    cdef double c_bid_size(self, Py_ssize_t i) except? -1.0:
        """Bid size of row `i`; NaN when none."""
        return self._quote(QUOTE_BID_SIZE, i)

    cdef double c_ask_size(self, Py_ssize_t i) except? -1.0:
        """Ask size of row `i`; NaN when none."""
        return self._quote(QUOTE_ASK_SIZE, i)

    cdef double c_vwap(self, Py_ssize_t i) except? -1.0:
        """VWAP of row `i`; NaN when none."""
        return self._quote(QUOTE_VWAP, i)

    cdef AssetBar _lookup(self, object asset):
        _attached(self._view)
        idx = self._view.asset_index.get(asset)
        if idx is None:
            return None
        cdef long row = self._view.row_for(self._bar, <Py_ssize_t>idx)
        if row < 0:
            return None
        cdef AssetBar a = AssetBar.__new__(AssetBar)
        a._view = self._view
        a._row = row
        a._asset = asset
        return a

    def __getitem__(self, asset):
        cdef AssetBar a = self._lookup(asset)
        if a is None:
            raise KeyError(asset)
        return a

    def get(self, asset, default=None):
        cdef AssetBar a = self._lookup(asset)
        return default if a is None else a

    def __contains__(self, asset):
        return self._lookup(asset) is not None

    def __len__(self):
        return self.end - self.start

    def __iter__(self):
        return iter(self.keys())

    def keys(self):
        _attached(self._view)
        names = self._view.asset_names
        cdef const uint32_t* assets = self._view.cols.asset
        return [names[assets[r]] for r in range(self.start, self.end)]

    def values(self):
        return [v for _, v in self.items()]

    def items(self):
        # During a run, one AssetBar per row is recycled from the run's pool when
        # nothing else refers to it any more (the common
        # `for asset, bar in data.items()`): no allocation per asset and bar.
        cdef MarketView v = self._view
        _attached(v)
        cdef list names = v.asset_names
        cdef const uint32_t* assets = v.cols.asset
        cdef Py_ssize_t n = self.end - self.start, k, r
        cdef list pool = self._pool
        cdef list out = [None] * n
        cdef AssetBar a
        if pool is None:
            pool = []
        while len(pool) < n:
            a = AssetBar.__new__(AssetBar)
            a._view = v
            pool.append(a)
        for k in range(n):
            if _refcount(PyList_GET_ITEM(pool, k)) == 1 and (<AssetBar>PyList_GET_ITEM(pool, k))._view is v:
                a = <AssetBar>PyList_GET_ITEM(pool, k)
            else:
                a = AssetBar.__new__(AssetBar)
                a._view = v
                pool[k] = a
            r = self.start + k
            a._row = r
            a._asset = names[assets[r]]
            out[k] = (a._asset, a)
        return out

    def to_dict(self):
        """A plain `{asset: {...}}` dict, as ml4t-backtest passes it."""
        return {k: bar.to_dict() for k, bar in self.items()}

    def __eq__(self, other):
        if isinstance(other, BarData):
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == {k: (v.to_dict() if isinstance(v, AssetBar) else v)
                                      for k, v in other.items()}
        return NotImplemented

    def __reduce__(self):
        # A copy or a pickle is the plain dict ml4t-backtest passes (a view
        # rebuilt from raw rows and offsets could point anywhere).
        return (dict, (self.to_dict(),))

    def __repr__(self):
        return f"BarData({self.to_dict()!r})"


@cython.freelist(8)
cdef class AssetBar:
    """One asset's bar: price, open, high, low, close, volume and signals."""

    def __getitem__(self, key):
        if key is SIGNALS_KEY:
            return self._signals()
        field = BAR_FIELD.get(key)
        if field is None:
            return self._quote(key)
        return self._field(<int>field)

    cdef Signals _signals(self):
        """This row's Signals view: the last one handed out when nothing else
        refers to it any more (`bar["signals"].get(...)` drops it right away)."""
        cdef Signals s = self._spare
        if s is not None and _refcount(<PyObject*>self._spare) == 2:  # ours and `s`
            s._row = self._row
            return s
        s = Signals.__new__(Signals)
        s._view = self._view
        s._row = self._row
        self._spare = s
        return s

    cdef object _quote(self, object key):
        """A quote field of this row; KeyError when the feed or the row has none."""
        cdef MarketView v = self._view
        cdef Py_ssize_t i
        _attached(v)
        for i in range(len(v.quote_names)):
            if v.quote_names[i] == key:
                value = v.quote_arrays[i][self._row]
                if value != value:
                    break
                return float(value)
        raise KeyError(key)

    cdef tuple _keys(self):
        cdef MarketView v = self._view
        _attached(v)
        if not v.quote_names:
            return BAR_KEYS
        return BAR_KEYS + tuple(name for name, arr in zip(v.quote_names, v.quote_arrays)
                                if arr[self._row] == arr[self._row])

    cdef object _field(self, int field):
        _attached(self._view)
        cdef ffi.NlMarketColumns* c = &self._view.cols
        cdef Py_ssize_t r = self._row
        if field == 0:
            return c.price[r]  # the reference price (the close unless the feed names another)
        if field == 4:
            return c.close[r]
        if field == 1:
            return c.open[r]
        if field == 2:
            return c.high[r]
        if field == 3:
            return c.low[r]
        if field == 5:
            return c.volume[r]
        return self._signals()

    def get(self, key, default=None):
        field = BAR_FIELD.get(key)
        if field is not None:
            return self._field(<int>field)
        try:
            return self._quote(key)
        except KeyError:
            return default

    def __contains__(self, key):
        return key in BAR_FIELD or key in self._keys()

    def __len__(self):
        return len(self._keys())

    def __iter__(self):
        return iter(self._keys())

    def keys(self):
        return list(self._keys())

    def values(self):
        return [self[k] for k in self._keys()]

    def items(self):
        return [(k, self[k]) for k in self._keys()]

    def to_dict(self):
        d = {BAR_KEYS[i]: self._field(i) for i in range(len(BAR_KEYS) - 1)}
        d["signals"] = self._field(6).to_dict()
        for k in self._keys()[len(BAR_KEYS):]:
            d[k] = self._quote(k)
        return d

    def __eq__(self, other):
        if isinstance(other, AssetBar):
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == {k: (v.to_dict() if isinstance(v, Signals) else v)
                                      for k, v in other.items()}
        return NotImplemented

    def __reduce__(self):
        # A copy or a pickle is the plain dict ml4t-backtest passes (a view
        # rebuilt from raw rows and offsets could point anywhere).
        return (dict, (self.to_dict(),))

    def __repr__(self):
        return f"AssetBar({self._asset!r}, {self.to_dict()!r})"


@cython.freelist(8)
cdef class Signals:
    """The asset's signal values at this timestamp (empty if it has no signals row)."""

    def __getitem__(self, name):
        if not _row_has_signals(self._view, self._row):
            raise KeyError(name)
        col = self._view.sig_index.get(name)
        if col is None:
            raise KeyError(name)
        return self._view.signal_value(<Py_ssize_t>col, self._row)

    def get(self, name, default=None):
        if not _row_has_signals(self._view, self._row):
            return default
        col = self._view.sig_index.get(name)
        if col is None:
            return default
        return self._view.signal_value(<Py_ssize_t>col, self._row)

    def __contains__(self, name):
        return _row_has_signals(self._view, self._row) and name in self._view.sig_index

    def __len__(self):
        return self._view.n_sig if _row_has_signals(self._view, self._row) else 0

    def __iter__(self):
        return iter(self.keys())

    def keys(self):
        return list(self._view.signal_names) if _row_has_signals(self._view, self._row) else []

    def values(self):
        return [v for _, v in self.items()]

    def items(self):
        if not _row_has_signals(self._view, self._row):
            return []
        return [(n, self._view.signal_value(i, self._row)) for i, n in enumerate(self._view.signal_names)]

    def to_dict(self):
        return dict(self.items())

    def __eq__(self, other):
        if isinstance(other, (Signals, Mapping)):
            return self.to_dict() == dict(other.items())
        return NotImplemented

    def __reduce__(self):
        # A copy or a pickle is the plain dict ml4t-backtest passes (a view
        # rebuilt from raw rows and offsets could point anywhere).
        return (dict, (self.to_dict(),))

    def __repr__(self):
        return f"Signals({self.to_dict()!r})"


for _cls in (BarData, AssetBar, Signals):
    Mapping.register(_cls)
