"""The `Strategy` base class (re-exported from the Cython module)."""

from nautilus_like._strategy import Strategy

__all__ = ["Strategy"]
