//! The engine's account judgements for `nautilus_like.accounting`'s objects
//! used on their own (ml4t-backtest's `UnifiedAccountPolicy`, `AccountState`
//! and `Gatekeeper`): buying power, margin, whether a position may open,
//! change or reverse, whether an order passes, and T+N settlement. Each
//! method calls the function the engine's own checks call
//! (`nl_engine::account::policy`, `Margin`, `Settlement`); Python hands in
//! cash and positions and gets the engine's answer.

use std::collections::HashMap;

use nl_core::{AssetId, OrderSide, Refusal};
use nl_engine::account::margin::{net_liquidation_value_over, Margin, MarginSchedule};
use nl_engine::account::policy::{self, check_margin_rates, HeldPosition, Ledger, MarginRateError};
use nl_engine::account::{AccountRules, AccountSettings, EntryCheck, Settlement, ShortCashPolicy};
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A position as Python passes it: (asset, signed quantity, entry price,
/// mark, multiplier, market value).
type PyHolding = (String, f64, f64, f64, f64, f64);

/// A refusal as Python receives it: its message (ml4t's words).
type PyRefusal = Option<String>;

fn refusal(r: Option<Refusal>) -> PyRefusal {
    r.map(|r| r.to_string())
}

/// An account policy's rules and margin schedules (ml4t's
/// `UnifiedAccountPolicy` parameters), judged by the engine's functions.
#[pyclass(module = "nautilus_like._rust", frozen)]
pub struct AccountPolicyRules {
    rules: AccountRules,
    long_maintenance: f64,
    short_maintenance: f64,
    margin: Margin,
    /// Assets with a schedule or variation settlement, by their margin index.
    scheduled: HashMap<String, AssetId>,
}

/// Asset names to indices for one judgement: scheduled assets keep theirs,
/// every other name gets its own (on the account's rates).
struct AssetIndex<'a> {
    known: &'a HashMap<String, AssetId>,
    extra: HashMap<String, AssetId>,
}

impl AssetIndex<'_> {
    fn id(&mut self, name: &str) -> AssetId {
        if let Some(&id) = self.known.get(name) {
            return id;
        }
        let next = (self.known.len() + self.extra.len()) as AssetId;
        *self.extra.entry(name.to_string()).or_insert(next)
    }
}

impl AccountPolicyRules {
    fn index(&self) -> AssetIndex<'_> {
        AssetIndex { known: &self.scheduled, extra: HashMap::new() }
    }

    /// The asset's index and the positions in the engine's terms.
    fn held(&self, asset: &str, holdings: &[PyHolding]) -> (AssetId, Vec<HeldPosition>) {
        let mut index = self.index();
        let id = index.id(asset);
        let held = holdings.iter().map(|(name, quantity, entry_price, mark, multiplier, market_value)| HeldPosition {
            asset: index.id(name),
            quantity: *quantity,
            entry_price: *entry_price,
            mark: *mark,
            multiplier: *multiplier,
            market_value: *market_value,
        }).collect();
        (id, held)
    }

    fn margin_buying_power(&self, held: &[HeldPosition], cash: f64, without: Option<AssetId>) -> f64 {
        self.margin.buying_power_over(|| held.iter().copied().filter(move |p| Some(p.asset) != without), cash)
    }
}

fn schedule_entries(schedule: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, f64, f64)>> {
    let Some(schedule) = schedule else { return Ok(Vec::new()) };
    schedule.iter().map(|(asset, value)| {
        let name: String = asset.extract()?;
        let (initial, maintenance): (f64, f64) = value.extract().map_err(|_| {
            PyValueError::new_err(format!("margin schedule of {name:?} must be an (initial, maintenance) pair, got {value}"))
        })?;
        Ok((name, initial, maintenance))
    }).collect()
}

#[pymethods]
impl AccountPolicyRules {
    /// `short_cash_policy` is the header's code; `fixed_margin_schedule` /
    /// `margin_pct_schedule` map an asset to (initial, maintenance) per
    /// contract / as fractions of notional; `variation_assets` are settled
    /// by variation margin.
    #[new]
    #[pyo3(signature = (allow_short_selling, allow_leverage, initial_margin, long_maintenance_margin,
                        short_maintenance_margin, short_cash_policy, fixed_margin_schedule=None,
                        margin_pct_schedule=None, variation_assets=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        allow_short_selling: bool,
        allow_leverage: bool,
        initial_margin: f64,
        long_maintenance_margin: f64,
        short_maintenance_margin: f64,
        short_cash_policy: u32,
        fixed_margin_schedule: Option<&Bound<'_, PyDict>>,
        margin_pct_schedule: Option<&Bound<'_, PyDict>>,
        variation_assets: Vec<String>,
    ) -> PyResult<Self> {
        let short_cash_policy =
            ShortCashPolicy::try_from(short_cash_policy).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let fixed = schedule_entries(fixed_margin_schedule)?;
        let pct = schedule_entries(margin_pct_schedule)?;
        let mut scheduled = HashMap::new();
        for name in fixed.iter().map(|e| &e.0).chain(pct.iter().map(|e| &e.0)).chain(&variation_assets) {
            let next = scheduled.len() as AssetId;
            scheduled.entry(name.clone()).or_insert(next);
        }
        let mut margin = Margin::new(scheduled.len(), allow_leverage, initial_margin, long_maintenance_margin,
                                     short_maintenance_margin);
        let invalid = |e: nl_core::EngineError| PyValueError::new_err(e.to_string());
        for (name, initial, maintenance) in fixed {
            margin.set_schedule(scheduled[&name], MarginSchedule::PerContract { initial, maintenance }).map_err(invalid)?;
        }
        for (name, initial, maintenance) in pct {
            margin.set_schedule(scheduled[&name], MarginSchedule::PercentOfNotional { initial, maintenance })
                .map_err(invalid)?;
        }
        for name in &variation_assets {
            margin.set_variation(scheduled[name]).map_err(invalid)?;
        }
        Ok(Self {
            rules: AccountRules { allow_short_selling, allow_leverage, initial_margin, short_cash_policy },
            long_maintenance: long_maintenance_margin,
            short_maintenance: short_maintenance_margin,
            margin,
            scheduled,
        })
    }

    /// `policy::spendable_cash`.
    fn spendable_cash(&self, cash: f64, holdings: Vec<PyHolding>) -> f64 {
        let (_, held) = self.held("", &holdings);
        policy::spendable_cash(&self.rules, cash, held.into_iter())
    }

    /// `policy::buying_power`: a margin account's over the positions, else
    /// spendable cash, never negative.
    fn buying_power(&self, cash: f64, holdings: Vec<PyHolding>) -> f64 {
        let (_, held) = self.held("", &holdings);
        let spendable = policy::spendable_cash(&self.rules, cash, held.iter().copied());
        policy::buying_power(&self.rules, spendable, || self.margin_buying_power(&held, cash, None))
    }

    /// `Margin::requirement`: initial (`initial`) or maintenance margin of
    /// `quantity` (signed) of `asset` at `price`.
    fn margin_requirement(&self, asset: &str, quantity: f64, price: f64, initial: bool, multiplier: f64) -> f64 {
        self.margin.requirement(self.index().id(asset), multiplier, quantity, price, initial)
    }

    /// Whether the positions breach maintenance margin with `cash` (a margin account only).
    fn in_margin_call(&self, cash: f64, holdings: Vec<PyHolding>) -> bool {
        let (_, held) = self.held("", &holdings);
        self.margin.maintenance_breach(|| held.iter().copied(), cash).is_some()
    }

    /// Whether `asset` is judged by projected margin (a schedule or
    /// variation settlement in a margin account).
    fn uses_projected_margin(&self, asset: &str) -> bool {
        self.margin.uses_projected(self.index().id(asset))
    }

    /// `policy::new_position_rejection`.
    #[allow(clippy::too_many_arguments)]
    fn new_position(&self, asset: &str, quantity: f64, price: f64, multiplier: f64, cash: f64,
                    holdings: Vec<PyHolding>) -> PyRefusal {
        let (id, held) = self.held(asset, &holdings);
        let check = self.projected(&held, id, multiplier, price);
        refusal(policy::new_position_rejection(&self.rules, quantity, price, multiplier, cash,
            |c| self.margin_buying_power(&held, c, None), check.as_ref().map(|f| f as &dyn Fn(f64, f64) -> _)))
    }

    /// `policy::position_change_rejection`.
    #[allow(clippy::too_many_arguments)]
    fn position_change(&self, asset: &str, held_quantity: f64, delta: f64, price: f64, multiplier: f64, cash: f64,
                       holdings: Vec<PyHolding>) -> PyRefusal {
        let (id, held) = self.held(asset, &holdings);
        let check = self.projected(&held, id, multiplier, price);
        refusal(policy::position_change_rejection(&self.rules, held_quantity, delta, price, multiplier, cash,
            |c| self.margin_buying_power(&held, c, None), check.as_ref().map(|f| f as &dyn Fn(f64, f64) -> _)))
    }

    /// `policy::reversal_rejection`; a locked short's collateral comes from
    /// its position in `holdings` (KeyError when it has none).
    #[allow(clippy::too_many_arguments)]
    fn reversal(&self, asset: &str, held_quantity: f64, delta: f64, price: f64, multiplier: f64, cash: f64,
                commission: f64, holdings: Vec<PyHolding>) -> PyResult<PyRefusal> {
        let (id, held) = self.held(asset, &holdings);
        let locked = !self.rules.allow_leverage && self.rules.short_cash_policy == ShortCashPolicy::LockNotional;
        let released = if self.rules.allow_short_selling && locked && held_quantity < 0.0 {
            let entry = held.iter().find(|p| p.asset == id).map(|p| p.entry_price)
                .ok_or_else(|| PyKeyError::new_err(asset.to_string()))?;
            policy::released_short_collateral(held_quantity, entry, multiplier)
        } else {
            0.0
        };
        let check = self.projected(&held, id, multiplier, price);
        Ok(refusal(policy::reversal_rejection(&self.rules, held_quantity, delta, price, multiplier, cash, released,
            commission, |c, without| self.margin_buying_power(&held, c, without.then_some(id)),
            check.as_ref().map(|f| f as &dyn Fn(f64, f64) -> _))))
    }

    /// `policy::order_rejection`: the engine's whole check of an order of
    /// `quantity` (`is_buy`) of `asset` against `held_quantity`, with the
    /// account's `cash`, `free_cash` (LOCK_NOTIONAL), `unsettled` proceeds,
    /// cash buffer and settlement setting.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (asset, held_quantity, is_buy, quantity, price, multiplier, commission, cash, free_cash,
                        unsettled, cash_buffer_pct, settlement_reduces_buying_power, holdings))]
    fn order(&self, asset: &str, held_quantity: f64, is_buy: bool, quantity: f64, price: f64, multiplier: f64,
             commission: f64, cash: f64, free_cash: f64, unsettled: f64, cash_buffer_pct: f64,
             settlement_reduces_buying_power: bool, holdings: Vec<PyHolding>) -> PyRefusal {
        let (id, held) = self.held(asset, &holdings);
        let settings = AccountSettings {
            rules: self.rules,
            long_maintenance_margin: self.long_maintenance,
            short_maintenance_margin: self.short_maintenance,
            cash_buffer_pct,
            settlement_delay: 0,
            settlement_reduces_buying_power,
            borrow_rate: 0.0,
            enforce_margin_calls: false,
            lock_notional_update_mode: Default::default(),
        };
        let side = if is_buy { OrderSide::Buy } else { OrderSide::Sell };
        let check = EntryCheck { held: held_quantity, side, quantity, price, multiplier, commission };
        refusal(policy::order_rejection(&settings, &self.margin, id, &check, Ledger { cash, free_cash, unsettled },
            || held.iter().copied()))
    }
}

impl AccountPolicyRules {
    /// The projected-margin check of `asset`, when it has one.
    fn projected<'a>(&'a self, held: &'a [HeldPosition], id: AssetId, multiplier: f64, price: f64)
        -> Option<impl Fn(f64, f64) -> Option<Refusal> + 'a> {
        self.margin.uses_projected(id).then(move || {
            move |cash: f64, after: f64| self.margin.projected_rejection(held.iter().copied(), id, multiplier, after, price, cash)
        })
    }
}

/// Cash plus the positions' market value (`net_liquidation_value_over`).
#[pyfunction]
fn net_liquidation_value(cash: f64, holdings: Vec<PyHolding>) -> f64 {
    let held = holdings.iter().map(|&(_, quantity, entry_price, mark, multiplier, market_value)| HeldPosition {
        asset: 0,
        quantity,
        entry_price,
        mark,
        multiplier,
        market_value,
    });
    net_liquidation_value_over(cash, held)
}

/// Why a margin account's rates are refused (`check_margin_rates`), if they
/// are: ("range", rate's field, value, initial) or ("above_initial", ...).
#[pyfunction]
fn margin_rate_error(initial: f64, long_maintenance: f64, short_maintenance: f64) -> Option<(&'static str, &'static str, f64, f64)> {
    match check_margin_rates(initial, long_maintenance, short_maintenance) {
        Ok(()) => None,
        Err(MarginRateError::OutOfRange { rate, value }) => Some(("range", rate.field(), value, initial)),
        Err(MarginRateError::AboveInitial { rate, value, initial }) => Some(("above_initial", rate.field(), value, initial)),
    }
}

/// Sale proceeds held until they settle (T+N bars): the engine's `Settlement`.
#[pyclass(module = "nautilus_like._rust")]
#[derive(Default)]
pub struct SettlementLedger {
    inner: Settlement,
}

fn bar_number(name: &str, value: i64) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| PyValueError::new_err(format!("{name} must be a bar number in 0..=4294967295, got {value}")))
}

#[pymethods]
impl SettlementLedger {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Holds `amount` (positive) from bar `bar_index` for `delay` bars; a
    /// delay of 0 or less, or an amount that is not positive, holds nothing.
    fn hold(&mut self, bar_index: i64, delay: i64, amount: f64) -> PyResult<()> {
        let delay = u32::try_from(delay.max(0)).unwrap_or(u32::MAX);
        self.inner.hold(bar_number("bar_index", bar_index)?, delay, amount);
        Ok(())
    }

    /// Releases what settles by bar `current_bar`.
    fn release(&mut self, current_bar: i64) {
        // Before bar 0 nothing is due; past the last bar number everything is.
        if current_bar >= 0 {
            self.inner.release(u32::try_from(current_bar).unwrap_or(u32::MAX));
        }
    }

    /// Cash held in unsettled sales.
    #[getter]
    fn unsettled(&self) -> f64 {
        self.inner.unsettled()
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AccountPolicyRules>()?;
    m.add_class::<SettlementLedger>()?;
    m.add_function(wrap_pyfunction!(net_liquidation_value, m)?)?;
    m.add_function(wrap_pyfunction!(margin_rate_error, m)?)?;
    Ok(())
}
