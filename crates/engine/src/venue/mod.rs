//! Venues orders execute at. `sim` is the simulated venue of a backtest.

pub mod sim;
