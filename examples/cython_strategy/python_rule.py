"""The benchmark's signal rule in plain Python, the reference the Cython
`SignalStrategy` must match fill for fill.

`python_strategy(base)` builds it on either library's `Strategy` base class, so
the same body runs on ml4t-backtest and nautilus_like: buy 10 shares when the
signal is > 0.5 and the asset is flat; close when it is < -0.5 and long.
"""


def python_strategy(base: type) -> type:
    class SignalStrategy(base):
        def on_data(self, timestamp, data, context, broker):
            for asset, bar in data.items():
                signal = bar["signals"].get("signal", 0.0)
                if signal > 0.5:
                    if broker.get_position(asset) is None:
                        broker.submit_order(asset, 10)
                elif signal < -0.5:
                    pos = broker.get_position(asset)
                    if pos is not None and pos.quantity > 0:
                        broker.close_position(asset)

    return SignalStrategy
