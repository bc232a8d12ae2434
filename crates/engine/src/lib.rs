//! The trading kernel: market data columns, the order book, the fill engine,
//! cost models, the portfolio and the per-bar step that ties them together.
#![forbid(unsafe_code)]

pub mod config;
pub mod account;
pub mod costs;
pub mod engine;
mod execute;
mod immediate;
mod locked_cash;
mod matching;
mod prechecks;
mod rebalance;
pub mod margin;
pub mod margin_call;
pub mod portfolio_limits;
pub mod rules;
mod dynamic_rules;
pub mod rule_memory;
mod risk;
pub mod execution;
pub mod fill;
pub mod market;
pub mod portfolio;
pub mod sizing;

pub use config::EngineConfig;
pub use costs::{
    Callback, CommissionCallback, CommissionModel, CommissionQuery, Commissions, PerAsset, SlippageCallback,
    SlippageModel, SlippageQuery, Slippages,
};
pub use engine::{Engine, OrderRequest, OrderUpdate, SubmitOutcome};
pub use execution::{ExecutionLimit, MarketImpact};
pub use rules::{PositionRule, RuleAction, RuleCallback, RuleSettings, RuleState};
pub use rule_memory::RuleMemory;
pub use market::{Bar, Column, ColumnBuffer, MarketData, QuoteColumns};
pub use portfolio::Portfolio;
pub use portfolio_limits::{LimitAction, LimitEvent, LimitKind, PortfolioLimit};
