"""The `Broker` a strategy trades through (re-exported from the Cython module)."""

from nautilus_like._broker import Broker

__all__ = ["Broker"]
