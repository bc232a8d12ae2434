//! The trading kernel as components that own their state:
//!
//! - `orders/`: the order book (orders, pending set, state changes);
//! - `venue/sim/`: the simulated venue (triggers and gap rules, execution
//!   prices, costs, liquidity and impact, matching passes, immediate fills);
//! - `account/`: cash and margin rules, buying power, locked collateral,
//!   settlement, margin calls;
//! - `portfolio/`: positions, trades;
//! - `risk/`: submission prechecks and portfolio limits;
//! - `rules/`: position rules, their memory, and their evaluation each bar;
//! - `market/`: the market data the venue reads;
//! - `kernel/`: the `Engine` that sequences a bar and owns the components.
#![forbid(unsafe_code)]

pub mod account;
pub mod callback;
pub mod config;
pub mod kernel;
pub mod market;
pub mod orders;
pub mod portfolio;
pub mod risk;
pub mod rules;
pub mod sizing;
pub mod venue;

// Paths the FFI and tests have always used.
pub use account::{cash_events, margin, margin_call};
pub use kernel as engine;
pub use risk::portfolio_limits;
pub use rules::memory as rule_memory;
pub use venue::sim::{costs, liquidity as execution, prediction_fees, triggers as fill};

pub use config::EngineConfig;
pub use costs::{
    Callback, CommissionCallback, CommissionModel, CommissionQuery, Commissions, PerAsset, SlippageCallback,
    SlippageModel, SlippageQuery, Slippages,
};
pub use kernel::Engine;
pub use orders::{OrderRequest, OrderUpdate, SubmitOutcome};
pub use execution::{ExecutionLimit, ImpactCallback, LimitAnswer, LimitCallback, LimitQuery, MarketImpact};
pub use rules::{PositionRule, RuleAction, RuleCallback, RuleSettings, RuleState};
pub use rule_memory::RuleMemory;
pub use market::{Bar, Column, ColumnBuffer, MarketData, QuoteColumns};
pub use market::publication::{published_values, NEVER_PUBLISHED};
pub use portfolio::Portfolio;
pub use portfolio_limits::{LimitAction, LimitEvent, LimitKind, PortfolioLimit};
