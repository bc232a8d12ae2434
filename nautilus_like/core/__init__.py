"""ml4t-backtest's `core` package path. nautilus_like's engine core is Rust
(crates/engine); this package only carries the shared numeric constants that
ml4t's public API and tests name (`core.shared`)."""
