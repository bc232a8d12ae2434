//! The engine's own judgements for Python objects used on their own, outside
//! a backtest (ml4t-backtest's tests and users call them directly): a
//! position rule's `evaluate(state)` (`PositionRule::evaluate`), an impact
//! model's `calculate(...)` (`MarketImpact::impact`), a volume limit's
//! fillable quantity (`ExecutionLimit::fillable`) and a portfolio limit's
//! `check(state)` (`SnapshotLimit::check`). Python hands in the specs
//! it builds for the engine anyway and the values; nothing is decided here.

use std::sync::{Arc, Mutex};

use nl_core::{StopFillMode, TrailStopTiming};
use nl_engine::callback::Callback;
use nl_engine::rule_memory::{ContextKey, MemorySlot};
use nl_engine::risk::limit_checks::{PortfolioSnapshot, SnapshotLimit};
use nl_engine::rules::reason_of;
use nl_engine::{ExecutionLimit, MarketImpact, PositionRule, RuleAction, RuleCallback, RuleMemory, RuleSettings, RuleState};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

fn number(spec: &Bound<'_, PyDict>, name: &str) -> PyResult<f64> {
    match spec.get_item(name)? {
        Some(v) => v.extract(),
        None => Err(PyValueError::new_err(format!("spec lacks {name:?}"))),
    }
}

fn kind(spec: &Bound<'_, PyDict>) -> PyResult<u32> {
    match spec.get_item("kind")? {
        Some(v) => v.extract(),
        None => Err(PyValueError::new_err("spec lacks \"kind\"")),
    }
}

fn impact_of(spec: &Bound<'_, PyDict>) -> PyResult<MarketImpact> {
    let model = match kind(spec)? {
        nl_ffi::NL_IMPACT_NONE => MarketImpact::None,
        nl_ffi::NL_IMPACT_LINEAR => MarketImpact::Linear { coefficient: number(spec, "coefficient")? },
        nl_ffi::NL_IMPACT_SQUARE_ROOT => MarketImpact::SquareRoot {
            coefficient: number(spec, "coefficient")?,
            volatility: number(spec, "volatility")?,
            adv_factor: number(spec, "adv_factor")?,
        },
        nl_ffi::NL_IMPACT_POWER_LAW => MarketImpact::PowerLaw {
            coefficient: number(spec, "coefficient")?,
            exponent: number(spec, "exponent")?,
            min_impact: number(spec, "min_impact")?,
        },
        other => return Err(PyValueError::new_err(format!("invalid impact kind {other}"))),
    };
    model.validate().map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(model)
}

/// `MarketImpact::impact` for an impact model's spec: the signed price move
/// of an order for `quantity` at `price` in a bar of `volume` (NaN: none).
#[pyfunction]
fn market_impact(spec: &Bound<'_, PyDict>, quantity: f64, price: f64, volume: f64, is_buy: bool) -> PyResult<f64> {
    Ok(impact_of(spec)?.impact(quantity, price, volume, is_buy))
}

fn optional(spec: &Bound<'_, PyDict>, name: &str, default: f64) -> PyResult<f64> {
    match spec.get_item(name)? {
        Some(v) if !v.is_none() => v.extract(),
        _ => Ok(default),
    }
}

/// The engine's limit for a native volume limit's spec (`_spec()` of the
/// classes in `nautilus_like.execution.limits`).
fn limit_of(spec: &Bound<'_, PyDict>) -> PyResult<ExecutionLimit> {
    let limit = match kind(spec)? {
        nl_ffi::NL_LIMIT_NONE => ExecutionLimit::None,
        nl_ffi::NL_LIMIT_VOLUME_PARTICIPATION => ExecutionLimit::VolumeParticipation {
            max_participation: number(spec, "max_participation")?,
            min_volume: number(spec, "min_volume")?,
        },
        nl_ffi::NL_LIMIT_POSITIVE_VOLUME => ExecutionLimit::PositiveVolume,
        nl_ffi::NL_LIMIT_SHARED_VOLUME_PARTICIPATION => ExecutionLimit::SharedVolumeParticipation {
            max_participation: number(spec, "max_participation")?,
            min_volume: number(spec, "min_volume")?,
            shared_participation: optional(spec, "shared_participation", f64::NAN)?,
        },
        nl_ffi::NL_LIMIT_ADAPTIVE_PARTICIPATION => ExecutionLimit::AdaptiveParticipation {
            base_participation: number(spec, "base_participation")?,
            volatility_factor: number(spec, "volatility_factor")?,
            max_participation: number(spec, "max_participation")?,
            min_participation: number(spec, "min_participation")?,
            avg_volatility: number(spec, "avg_volatility")?,
        },
        other => return Err(PyValueError::new_err(format!("invalid execution limit kind {other}"))),
    };
    limit.validate().map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(limit)
}

/// `ExecutionLimit::fillable_at_volatility` for a volume limit's spec: how
/// much of `quantity` a bar of `volume` (NaN: none reported) fills, with the
/// asset's `volatility` (NaN: unknown) for an adaptive limit.
#[pyfunction]
#[pyo3(signature = (spec, quantity, volume, volatility=f64::NAN))]
fn fillable_quantity(spec: &Bound<'_, PyDict>, quantity: f64, volume: f64, volatility: f64) -> PyResult<f64> {
    Ok(limit_of(spec)?.fillable_at_volatility(quantity, volume, volatility))
}

/// `ExecutionLimit::bar_capacity` for a shared volume limit's spec: what all
/// orders of an asset together may fill in a bar that traded `volume` (NaN:
/// none reported); None for a limit without a shared budget.
#[pyfunction]
fn bar_capacity(spec: &Bound<'_, PyDict>, volume: f64) -> PyResult<Option<f64>> {
    Ok(limit_of(spec)?.bar_capacity(volume))
}

/// `portfolio::position_pnl`: the gain of `signed_quantity` from `entry_price`
/// to `exit_price`, before fees, as trades book it.
#[pyfunction]
fn position_pnl(entry_price: f64, exit_price: f64, signed_quantity: f64, multiplier: f64) -> f64 {
    nl_engine::portfolio::position_pnl(entry_price, exit_price, signed_quantity, multiplier)
}

/// `Position::update_water_marks` on a detached position's values:
/// `(high_water_mark, low_water_mark, max_favorable_excursion,
/// max_adverse_excursion)` after a bar closing at `close` whose `up`/`down`
/// may move the marks (ml4t's `Position.update_water_marks`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn position_water_marks(quantity: f64, entry_price: f64, high_water_mark: f64, low_water_mark: f64,
                        max_favorable_excursion: f64, max_adverse_excursion: f64, close: f64, up: f64,
                        down: f64) -> (f64, f64, f64, f64) {
    let mut pos = nl_core::Position {
        quantity, entry_price, high_water_mark, low_water_mark, max_favorable_excursion, max_adverse_excursion,
        ..Default::default()
    };
    pos.update_water_marks(close, up, down);
    (pos.high_water_mark, pos.low_water_mark, pos.max_favorable_excursion, pos.max_adverse_excursion)
}

/// What the rules being evaluated share with the Python rules among them:
/// the state object of the current call and the exception one raised.
#[derive(Default)]
struct CallScope {
    state: Mutex<Option<Py<PyAny>>>,
    raised: Mutex<Option<PyErr>>,
}

/// A rule written in Python (an object with `evaluate(state)`) inside a
/// composite: called with the same state object the caller passed.
struct PythonRule {
    rule: Py<PyAny>,
    scope: Arc<CallScope>,
}

impl PythonRule {
    fn call(&self, py: Python<'_>) -> PyResult<RuleAction> {
        let state = self.scope.state.lock().map_err(|_| PyValueError::new_err("rule state poisoned"))?
            .as_ref().map(|s| s.clone_ref(py));
        let Some(state) = state else {
            return Ok(RuleAction::Hold);
        };
        let action = self.rule.bind(py).call_method1("evaluate", (state,))?;
        let kind: String = action.getattr("action")?.getattr("name")?.extract()?;
        let fraction = match kind.as_str() {
            "EXIT_FULL" => None,
            "EXIT_PARTIAL" => Some(action.getattr("pct")?.extract::<f64>()?),
            // HOLD, and ADJUST_STOP (which the engine ignores, as ml4t's broker does).
            _ => return Ok(RuleAction::Hold),
        };
        let detail: String = action.getattr("reason")?.extract()?;
        let fill_price: Option<f64> = action.getattr("fill_price")?.extract()?;
        let defer: bool = action.getattr("defer_fill")?.is_truthy()?;
        Ok(RuleAction::Exit { reason: reason_of(&detail), detail, fill_price, defer, fraction })
    }
}

impl RuleCallback for PythonRule {
    fn evaluate(&self, _state: &RuleState) -> Result<RuleAction, String> {
        Python::with_gil(|py| {
            self.call(py).map_err(|e| {
                if let Ok(mut slot) = self.scope.raised.lock() {
                    *slot = Some(e);
                }
                "position rule raised".to_string()
            })
        })
    }
}

/// One rule object's compiled rule and the memory its stateful rules keep
/// between calls (ml4t keeps it on the rule object until `reset()`).
#[pyclass(module = "nautilus_like._rust", weakref)]
pub struct PositionRuleEvaluator {
    rule: PositionRule,
    memory: RuleMemory,
    /// Context keys by number (the index).
    keys: Vec<String>,
    /// Stateful rule objects by memory slot (the index), as their `id()`.
    slots: Vec<usize>,
    scope: Arc<CallScope>,
}

struct Parser<'a, 'py> {
    leaves: &'a [Bound<'py, PyDict>],
    at: usize,
    keys: Vec<String>,
    slots: Vec<usize>,
    scope: Arc<CallScope>,
}

impl Parser<'_, '_> {
    fn key(&mut self, spec: &Bound<'_, PyDict>) -> PyResult<ContextKey> {
        let name: String = match spec.get_item("context_key")? {
            Some(v) => v.extract()?,
            None => return Err(PyValueError::new_err("spec lacks \"context_key\"")),
        };
        let at = self.keys.iter().position(|k| *k == name).unwrap_or_else(|| {
            self.keys.push(name);
            self.keys.len() - 1
        });
        Ok(at as ContextKey)
    }

    fn slot(&mut self, spec: &Bound<'_, PyDict>) -> PyResult<MemorySlot> {
        let id = match spec.get_item("memory")? {
            Some(v) => v.as_ptr() as usize,
            None => return Err(PyValueError::new_err("spec lacks \"memory\"")),
        };
        let at = self.slots.iter().position(|s| *s == id).unwrap_or_else(|| {
            self.slots.push(id);
            self.slots.len() - 1
        });
        Ok(at as MemorySlot)
    }

    fn pairs(spec: &Bound<'_, PyDict>) -> PyResult<Vec<(f64, f64)>> {
        let flat: Vec<f64> = match spec.get_item("pairs")? {
            Some(v) => v.extract()?,
            None => return Err(PyValueError::new_err("spec lacks \"pairs\"")),
        };
        Ok(flat.chunks_exact(2).map(|p| (p[0], p[1])).collect())
    }

    fn parse(&mut self) -> PyResult<PositionRule> {
        let spec = self.leaves.get(self.at).ok_or_else(|| PyValueError::new_err("rule group runs past the end"))?.clone();
        self.at += 1;
        Ok(match kind(&spec)? {
            nl_ffi::NL_RULE_STOP_LOSS => PositionRule::StopLoss { pct: number(&spec, "pct")? },
            nl_ffi::NL_RULE_TAKE_PROFIT => PositionRule::TakeProfit { pct: number(&spec, "pct")? },
            nl_ffi::NL_RULE_TRAILING_STOP => PositionRule::TrailingStop { pct: number(&spec, "pct")? },
            nl_ffi::NL_RULE_TIME_EXIT => PositionRule::TimeExit { max_bars: number(&spec, "max_bars")? as u32 },
            nl_ffi::NL_RULE_TIGHTENING_TRAILING_STOP => PositionRule::tightening_trailing_stop(Self::pairs(&spec)?),
            nl_ffi::NL_RULE_SCALED_EXIT => {
                let slot = self.slot(&spec)?;
                PositionRule::scaled_exit(Self::pairs(&spec)?, slot)
            }
            nl_ffi::NL_RULE_VOLATILITY_STOP => {
                let use_entry_atr = spec.get_item("use_entry_atr")?.map(|v| v.is_truthy()).transpose()?.unwrap_or(false);
                let slot = self.slot(&spec)?;
                PositionRule::VolatilityStop {
                    multiplier: number(&spec, "multiplier")?,
                    atr_key: self.key(&spec)?,
                    entry_atr_memory: use_entry_atr.then_some(slot),
                }
            }
            nl_ffi::NL_RULE_VOLATILITY_TRAILING_STOP => {
                PositionRule::VolatilityTrailingStop { multiplier: number(&spec, "multiplier")?, atr_key: self.key(&spec)? }
            }
            nl_ffi::NL_RULE_SIGNAL_EXIT => {
                PositionRule::SignalExit { signal_key: self.key(&spec)?, threshold: number(&spec, "threshold")? }
            }
            nl_ffi::NL_RULE_CALLBACK => {
                let rule = spec.get_item("model")?.ok_or_else(|| PyValueError::new_err("spec lacks \"model\""))?;
                PositionRule::Callback(Callback(Arc::new(PythonRule { rule: rule.unbind(), scope: Arc::clone(&self.scope) })))
            }
            group @ (nl_ffi::NL_RULE_CHAIN | nl_ffi::NL_RULE_ALL_OF) => {
                let n = number(&spec, "max_bars")? as usize;
                let children = (0..n).map(|_| self.parse()).collect::<PyResult<Vec<_>>>()?;
                if group == nl_ffi::NL_RULE_CHAIN {
                    PositionRule::Chain(children)
                } else {
                    PositionRule::AllOf(children)
                }
            }
            other => return Err(PyValueError::new_err(format!("invalid rule kind {other}"))),
        })
    }
}

/// `obj.name`, NaN when it is None.
fn price(state: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    Ok(state.getattr(name)?.extract::<Option<f64>>()?.unwrap_or(f64::NAN))
}

#[pymethods]
impl PositionRuleEvaluator {
    /// `leaves`: the rule's specs in prefix order (`rule_leaves(rule)`).
    #[new]
    fn new(leaves: &Bound<'_, PyList>) -> PyResult<Self> {
        let leaves = leaves.iter().map(|l| l.downcast_into::<PyDict>().map_err(PyErr::from)).collect::<PyResult<Vec<_>>>()?;
        let scope = Arc::new(CallScope::default());
        let mut parser = Parser { leaves: &leaves, at: 0, keys: Vec::new(), slots: Vec::new(), scope: Arc::clone(&scope) };
        let rule = parser.parse()?;
        if parser.at != leaves.len() {
            return Err(PyValueError::new_err("rule specs left over after the first rule"));
        }
        rule.validate().map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self { rule, memory: RuleMemory::default(), keys: parser.keys, slots: parser.slots, scope })
    }

    /// The rule's decision for the position `state` (ml4t's `PositionState`):
    /// None to hold, else `(fraction or None, fill_price or None, defer,
    /// detail)`. `fill_mode` / `trail_timing` are header codes; `base_price`
    /// is what stop and target levels are measured from.
    fn evaluate(&mut self, state: &Bound<'_, PyAny>, fill_mode: u32, trail_timing: u32, base_price: f64)
        -> PyResult<Option<(Option<f64>, Option<f64>, bool, String)>> {
        let settings = RuleSettings {
            fill_mode: StopFillMode::try_from(fill_mode).map_err(|_| PyValueError::new_err(format!("invalid stop fill mode {fill_mode}")))?,
            trail_timing: TrailStopTiming::try_from(trail_timing)
                .map_err(|_| PyValueError::new_err(format!("invalid trail stop timing {trail_timing}")))?,
        };
        let side: String = state.getattr("side")?.extract()?;
        let is_long = match side.as_str() {
            "long" => true,
            "short" => false,
            other => return Err(PyValueError::new_err(format!("state.side must be 'long' or 'short', got {other:?}"))),
        };
        let sign = if is_long { 1.0 } else { -1.0 };
        let quantity: f64 = state.getattr("quantity")?.extract()?;
        let initial_quantity: f64 = state.getattr("initial_quantity")?.extract()?;
        let bars_held: i64 = state.getattr("bars_held")?.extract()?;
        let s = RuleState {
            asset: 0,
            serial: 0,
            timestamp: 0,
            is_long,
            entry_price: state.getattr("entry_price")?.extract()?,
            quantity: sign * quantity.abs(),
            initial_quantity: sign * initial_quantity.abs(),
            entry_time: 0,
            max_favorable_excursion: state.getattr("max_favorable_excursion")?.extract()?,
            max_adverse_excursion: state.getattr("max_adverse_excursion")?.extract()?,
            base_price,
            open: price(state, "bar_open")?,
            high: price(state, "bar_high")?,
            low: price(state, "bar_low")?,
            close: state.getattr("current_price")?.extract()?,
            unrealized_return: state.getattr("unrealized_return")?.extract()?,
            bars_held: bars_held.clamp(0, u32::MAX as i64) as u32,
            high_water_mark: state.getattr("high_water_mark")?.extract()?,
            low_water_mark: state.getattr("low_water_mark")?.extract()?,
        };
        // The context values the rules read: numbers count, anything else
        // (missing, None) is absent.
        let context = state.getattr("context")?;
        for (key, name) in self.keys.iter().enumerate() {
            let value = match context.get_item(name) {
                Ok(v) if !v.is_none() => v.extract::<f64>().ok(),
                _ => None,
            };
            self.memory.set_context(0, 0, key as ContextKey, value);
        }
        *self.scope.state.lock().map_err(|_| PyValueError::new_err("rule state poisoned"))? = Some(state.clone().unbind());
        let result = self.rule.evaluate(&s, settings, &mut self.memory);
        *self.scope.state.lock().map_err(|_| PyValueError::new_err("rule state poisoned"))? = None;
        let raised = self.scope.raised.lock().map_err(|_| PyValueError::new_err("rule state poisoned"))?.take();
        if let Some(e) = raised {
            return Err(e);
        }
        match result.map_err(|e| PyValueError::new_err(e.to_string()))? {
            RuleAction::Hold => Ok(None),
            RuleAction::Exit { detail, fill_price, defer, fraction, .. } => Ok(Some((fraction, fill_price, defer, detail))),
        }
    }

    /// Forgets what the stateful rule object `rule_id` (its `id()`) remembered.
    fn reset(&mut self, rule_id: usize) {
        if let Some(slot) = self.slots.iter().position(|s| *s == rule_id) {
            self.memory.reset(slot as MemorySlot);
        }
    }
}

/// `SnapshotLimit::check` for ml4t's limit class `name` with its fields
/// `params`, on a portfolio snapshot. `series` is the limit's context data:
/// the returns (VaR, CVaR) or one value per position (betas, loadings; NaN
/// where none); `labels` the positions' sectors. Returns None, or
/// `(warning, reason)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn check_portfolio_limit(name: &str, params: &Bound<'_, PyDict>, equity: f64, current_drawdown: f64, num_positions: u64,
                         assets: Vec<String>, values: Vec<f64>, daily_pnl: f64, gross_exposure: f64, net_exposure: f64,
                         series: Vec<f64>, labels: Vec<String>) -> PyResult<Option<(bool, String)>> {
    let p = |field: &str| number(params, field);
    let whole = |field: &str| -> PyResult<u64> {
        match params.get_item(field)? {
            Some(v) => v.extract(),
            None => Err(PyValueError::new_err(format!("spec lacks {field:?}"))),
        }
    };
    let factor_name: String = match name {
        "FactorExposureLimit" => params.get_item("factor_name")?.map(|v| v.str().map(|s| s.to_string())).transpose()?
            .unwrap_or_default(),
        _ => String::new(),
    };
    let limit = match name {
        "MaxDrawdownLimit" => SnapshotLimit::MaxDrawdown {
            max_drawdown: p("max_drawdown")?,
            warn_threshold: params.get_item("warn_threshold")?.map(|v| v.extract::<Option<f64>>()).transpose()?.flatten(),
        },
        "MaxPositionsLimit" => SnapshotLimit::MaxPositions { max_positions: whole("max_positions")? },
        "MaxExposureLimit" => SnapshotLimit::MaxExposure { max_exposure_pct: p("max_exposure_pct")?, assets: &assets },
        "DailyLossLimit" => SnapshotLimit::DailyLoss { max_daily_loss_pct: p("max_daily_loss_pct")? },
        "GrossExposureLimit" => SnapshotLimit::GrossExposure { max_gross_exposure: p("max_gross_exposure")? },
        "NetExposureLimit" => SnapshotLimit::NetExposure {
            max_net_exposure: p("max_net_exposure")?,
            min_net_exposure: p("min_net_exposure")?,
        },
        "VaRLimit" | "CVaRLimit" => {
            let (threshold, confidence, lookback) = (p("threshold")?, p("confidence_level")?, whole("lookback_days")? as usize);
            if name == "VaRLimit" {
                SnapshotLimit::VaR { threshold, confidence, lookback, returns: &series }
            } else {
                SnapshotLimit::CVaR { threshold, confidence, lookback, returns: &series }
            }
        }
        "BetaLimit" => SnapshotLimit::Beta { max_beta: p("max_beta")?, min_beta: p("min_beta")?, betas: &series },
        "SectorExposureLimit" => {
            SnapshotLimit::SectorExposure { max_sector_exposure: p("max_sector_exposure")?, sectors: &labels }
        }
        "FactorExposureLimit" => SnapshotLimit::FactorExposure {
            factor_name: &factor_name,
            max_exposure: p("max_exposure")?,
            min_exposure: p("min_exposure")?,
            loadings: &series,
        },
        other => return Err(PyValueError::new_err(format!("unknown portfolio limit {other:?}"))),
    };
    let snapshot = PortfolioSnapshot { equity, current_drawdown, num_positions, position_values: &values, daily_pnl,
                                       gross_exposure, net_exposure };
    Ok(limit.check(&snapshot).map(|b| (b.warning, b.reason)))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PositionRuleEvaluator>()?;
    m.add_function(wrap_pyfunction!(market_impact, m)?)?;
    m.add_function(wrap_pyfunction!(fillable_quantity, m)?)?;
    m.add_function(wrap_pyfunction!(bar_capacity, m)?)?;
    m.add_function(wrap_pyfunction!(position_pnl, m)?)?;
    m.add_function(wrap_pyfunction!(position_water_marks, m)?)?;
    m.add_function(wrap_pyfunction!(check_portfolio_limit, m)?)?;
    Ok(())
}
