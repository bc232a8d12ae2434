//! Position rules across the ABI: a list of rules in prefix order (a group
//! spec is followed by its children), evaluated as a chain (the first rule
//! that does not hold wins); plus the context values positions carry for
//! them and the reset of stateful rules' memory.

use std::ffi::{c_char, c_void, CStr};
use std::sync::Arc;

use nl_core::{EngineError, ExitReason};
use nl_engine::rule_memory::ContextKey;
use nl_engine::{rules::reason_of, Callback, PositionRule, RuleAction, RuleCallback, RuleState};

use crate::costs::NL_ALL_ASSETS;
use crate::error::{guard, null_error, NlStatus};
use crate::handles::{engine, handle, CallbackScope, Deferred, NlEngine};

/// Rule kinds for [`NlRuleSpec::kind`].
pub const NL_RULE_STOP_LOSS: u32 = 1;
pub const NL_RULE_TAKE_PROFIT: u32 = 2;
pub const NL_RULE_TIME_EXIT: u32 = 3;
pub const NL_RULE_TRAILING_STOP: u32 = 4;
/// A user rule: `callback(user_data, state, decision)`.
pub const NL_RULE_CALLBACK: u32 = 5;
/// `pairs`: (return threshold, trail pct).
pub const NL_RULE_TIGHTENING_TRAILING_STOP: u32 = 6;
/// `pairs`: (return threshold, exit fraction); remembers in `memory_slot`.
pub const NL_RULE_SCALED_EXIT: u32 = 7;
/// `multiplier` x the context value `context_key`; with `use_entry_atr`
/// the first one seen, kept in `memory_slot`.
pub const NL_RULE_VOLATILITY_STOP: u32 = 8;
/// `multiplier` x the context value `context_key` from the water mark.
pub const NL_RULE_VOLATILITY_TRAILING_STOP: u32 = 9;
/// The context value `context_key` against `threshold`.
pub const NL_RULE_SIGNAL_EXIT: u32 = 12;
/// A chain of the next `count` rules (each may itself be a group).
pub const NL_RULE_CHAIN: u32 = 10;
/// All of the next `count` rules.
pub const NL_RULE_ALL_OF: u32 = 11;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlRuleSpec {
    pub kind: u32,
    /// Stop-loss / take-profit / trailing distance as a fraction of the price.
    pub pct: f64,
    /// Time exit: bars held; chain / all-of: how many rules follow in the group.
    pub max_bars: u32,
    pub callback: NlRuleFn,
    /// Passed back to `callback`; must outlive the engine.
    pub user_data: *mut c_void,
    /// Volatility stops: ATRs of distance.
    pub multiplier: f64,
    /// Signal exit: how far the signal must pass zero.
    pub threshold: f64,
    /// The context value the rule reads (a key interned by the caller, the
    /// same number `nl_engine_set_position_context` uses).
    pub context_key: u32,
    /// Stateful rules: where the rule instance's memory lives (rules given the
    /// same slot share it, as one ml4t rule object governing several assets).
    pub memory_slot: u32,
    /// Volatility stop: keep the first ATR seen (ml4t's `use_entry_atr`).
    pub use_entry_atr: bool,
    /// Tightening trailing stop / scaled exit: `n_pairs` pairs, flattened
    /// (threshold0, value0, threshold1, ...); read during the call only.
    pub pairs: *const f64,
    pub n_pairs: usize,
}

/// What a user rule sees (`RuleState` across the ABI).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlRuleState {
    pub asset: u32,
    /// The position's serial (see `NlPosition::serial`).
    pub serial: u64,
    /// The current bar's time.
    pub timestamp: i64,
    pub is_long: bool,
    pub entry_price: f64,
    /// Signed.
    pub quantity: f64,
    pub initial_quantity: f64,
    pub entry_time: i64,
    pub bars_held: u32,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub high_water_mark: f64,
    pub low_water_mark: f64,
    pub max_favorable_excursion: f64,
    pub max_adverse_excursion: f64,
}

/// Decision kinds for [`NlRuleDecision::kind`].
pub const NL_DECISION_HOLD: u32 = 0;
pub const NL_DECISION_EXIT: u32 = 1;
/// Exit `fraction` of the position (ml4t's EXIT_PARTIAL: no re-entry block).
pub const NL_DECISION_EXIT_PARTIAL: u32 = 2;

/// A user rule's decision. `reason` is a NUL-terminated description.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlRuleDecision {
    pub kind: u32,
    /// Fraction of the position to exit (1 = all).
    pub fraction: f64,
    /// NaN: at the pass's price.
    pub fill_price: f64,
    pub defer: bool,
    pub reason: [c_char; 128],
}

/// A user rule: fills `decision` and returns 0, or non-zero when it failed.
pub type NlRuleFn = Option<unsafe extern "C" fn(user_data: *mut c_void, state: *const NlRuleState, decision: *mut NlRuleDecision) -> i32>;

struct ForeignRule {
    f: unsafe extern "C" fn(*mut c_void, *const NlRuleState, *mut NlRuleDecision) -> i32,
    user_data: *mut c_void,
    /// The engine handle's: marks "a position rule" as running while `f` runs
    /// and holds the context writes `f` made meanwhile.
    scope: Arc<CallbackScope>,
}

// SAFETY: the callee takes the GIL itself; the engine's owner keeps
// `user_data` alive and uses an engine from one thread at a time.
unsafe impl Send for ForeignRule {}
unsafe impl Sync for ForeignRule {}

impl RuleCallback for ForeignRule {
    fn evaluate(&self, s: &RuleState) -> Result<RuleAction, String> {
        let state = NlRuleState {
            asset: s.asset,
            serial: s.serial,
            timestamp: s.timestamp,
            is_long: s.is_long,
            entry_price: s.entry_price,
            quantity: s.quantity,
            initial_quantity: s.initial_quantity,
            entry_time: s.entry_time,
            bars_held: s.bars_held,
            open: s.open,
            high: s.high,
            low: s.low,
            close: s.close,
            high_water_mark: s.high_water_mark,
            low_water_mark: s.low_water_mark,
            max_favorable_excursion: s.max_favorable_excursion,
            max_adverse_excursion: s.max_adverse_excursion,
        };
        let mut d = NlRuleDecision { kind: NL_DECISION_HOLD, fraction: 1.0, fill_price: f64::NAN, defer: false, reason: [0; 128] };
        // SAFETY: pointers valid for the call; the callee writes within `d`.
        let status = self.scope.running("a position rule", || unsafe { (self.f)(self.user_data, &state, &mut d) });
        if status != 0 {
            return Err("position rule raised".into());
        }
        if d.kind != NL_DECISION_EXIT && d.kind != NL_DECISION_EXIT_PARTIAL {
            return Ok(RuleAction::Hold);
        }
        d.reason[127] = 0;
        // SAFETY: NUL-terminated above.
        let detail = unsafe { CStr::from_ptr(d.reason.as_ptr()) }.to_string_lossy().into_owned();
        let reason: ExitReason = reason_of(&detail);
        Ok(RuleAction::Exit {
            reason,
            detail,
            fill_price: (!d.fill_price.is_nan()).then_some(d.fill_price),
            defer: d.defer,
            fraction: (d.kind == NL_DECISION_EXIT_PARTIAL).then_some(d.fraction),
        })
    }

    fn take_context_writes(&self, s: &RuleState) -> Vec<(ContextKey, Option<f64>)> {
        self.scope.take_context_writes(s.asset, s.serial)
    }
}

/// A spec's (threshold, value) pairs.
fn pairs(s: &NlRuleSpec) -> Result<Vec<(f64, f64)>, EngineError> {
    if s.n_pairs == 0 {
        return Ok(Vec::new());
    }
    if s.pairs.is_null() {
        return Err(null_error("pairs"));
    }
    // SAFETY: the caller guarantees `pairs` holds `2 * n_pairs` values.
    let flat = unsafe { std::slice::from_raw_parts(s.pairs, 2 * s.n_pairs) };
    Ok(flat.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

/// Parses one rule (a group takes its children from the following specs).
fn parse(specs: &[NlRuleSpec], at: &mut usize, scope: &Arc<CallbackScope>) -> Result<PositionRule, EngineError> {
    let s = specs.get(*at).ok_or_else(|| EngineError::InvalidArgument("rule group runs past the end".into()))?;
    *at += 1;
    Ok(match s.kind {
        NL_RULE_STOP_LOSS => PositionRule::StopLoss { pct: s.pct },
        NL_RULE_TAKE_PROFIT => PositionRule::TakeProfit { pct: s.pct },
        NL_RULE_TIME_EXIT => PositionRule::TimeExit { max_bars: s.max_bars },
        NL_RULE_TRAILING_STOP => PositionRule::TrailingStop { pct: s.pct },
        NL_RULE_TIGHTENING_TRAILING_STOP => PositionRule::tightening_trailing_stop(pairs(s)?),
        NL_RULE_SCALED_EXIT => PositionRule::scaled_exit(pairs(s)?, s.memory_slot),
        NL_RULE_VOLATILITY_STOP => PositionRule::VolatilityStop {
            multiplier: s.multiplier,
            atr_key: s.context_key,
            entry_atr_memory: s.use_entry_atr.then_some(s.memory_slot),
        },
        NL_RULE_VOLATILITY_TRAILING_STOP => PositionRule::VolatilityTrailingStop { multiplier: s.multiplier, atr_key: s.context_key },
        NL_RULE_SIGNAL_EXIT => PositionRule::SignalExit { signal_key: s.context_key, threshold: s.threshold },
        NL_RULE_CALLBACK => {
            let f = s.callback.ok_or_else(|| EngineError::InvalidArgument("rule callback is null".into()))?;
            PositionRule::Callback(Callback(Arc::new(ForeignRule { f, user_data: s.user_data, scope: Arc::clone(scope) })))
        }
        NL_RULE_CHAIN | NL_RULE_ALL_OF => {
            let children = (0..s.max_bars).map(|_| parse(specs, at, scope)).collect::<Result<Vec<_>, _>>()?;
            if s.kind == NL_RULE_CHAIN {
                PositionRule::Chain(children)
            } else {
                PositionRule::AllOf(children)
            }
        }
        other => return Err(EngineError::InvalidArgument(format!("invalid rule kind {other}"))),
    })
}

/// Sets the position rule for every asset (`asset = NL_ALL_ASSETS`) or one
/// asset: the chain `rules[0..n]`. `enabled = false` clears it (for one
/// asset: disables the global rule there).
///
/// # Safety
/// `e` must be a live engine handle; `rules` valid for `n` reads.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_position_rules(
    e: *mut NlEngine,
    asset: u32,
    rules: *const NlRuleSpec,
    n: usize,
    enabled: bool,
) -> NlStatus {
    guard(|| {
        let scope = &handle(e)?.scope;
        let rule = if enabled {
            if rules.is_null() && n > 0 {
                return Err(null_error("rules").into());
            }
            let specs = if n == 0 { &[][..] } else { std::slice::from_raw_parts(rules, n) };
            // The specs are a chain of rules in prefix order.
            let mut at = 0;
            let mut rules = Vec::new();
            while at < specs.len() {
                rules.push(parse(specs, &mut at, scope)?);
            }
            Some(PositionRule::Chain(rules))
        } else {
            None
        };
        let asset = (asset != NL_ALL_ASSETS).then_some(asset);
        Ok(engine(e, "set_position_rules()")?.set_position_rules(asset, rule)?)
    })
}

/// Cancels all pending orders and sends market exits for every open position
/// (exit reason `risk_liquidation`, detail `reason`). Writes up to `cap` exit
/// order ids to `ids`; `out_n` receives how many orders were sent.
///
/// # Safety
/// `e` must be a live engine; `reason` a NUL-terminated string; `ids` valid for `cap` writes.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_flatten_all(
    e: *mut NlEngine,
    reason: *const c_char,
    ids: *mut u64,
    cap: usize,
    out_n: *mut usize,
) -> NlStatus {
    guard(|| {
        if reason.is_null() || out_n.is_null() || (ids.is_null() && cap > 0) {
            return Err(null_error("argument").into());
        }
        let reason = CStr::from_ptr(reason).to_string_lossy().into_owned();
        let sent = engine(e, "flatten_all_positions()")?.flatten_all_positions(&reason)?;
        for (i, id) in sent.iter().take(cap).enumerate() {
            *ids.add(i) = *id;
        }
        *out_n = sent.len();
        Ok(())
    })
}

/// `out_refused` of [`nl_engine_reduce_all`]: every reduction was sent.
pub const NL_REDUCTION_SENT: u32 = 0;
/// The asset's reduction is below the minimum order size: nothing was done.
pub const NL_REDUCTION_TOO_SMALL: u32 = 1;
/// An integer account would floor the asset's reduction to zero: nothing was done.
pub const NL_REDUCTION_ROUNDS_TO_ZERO: u32 = 2;

/// As [`nl_engine_flatten_all`], exiting `fraction` (0 < fraction <= 1) of
/// every open position; when one of them cannot be sent, nothing is done and
/// `out_refused` / `out_asset` say which and why.
///
/// # Safety
/// As [`nl_engine_flatten_all`]; `out_refused` and `out_asset` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_reduce_all(
    e: *mut NlEngine,
    fraction: f64,
    reason: *const c_char,
    ids: *mut u64,
    cap: usize,
    out_n: *mut usize,
    out_refused: *mut u32,
    out_asset: *mut u32,
) -> NlStatus {
    guard(|| {
        if reason.is_null() || out_n.is_null() || out_refused.is_null() || out_asset.is_null()
            || (ids.is_null() && cap > 0) {
            return Err(null_error("argument").into());
        }
        let reason = CStr::from_ptr(reason).to_string_lossy().into_owned();
        let mut eng = engine(e, "reduce_all_positions()")?;
        *out_n = 0;
        *out_refused = NL_REDUCTION_SENT;
        if let Some((asset, rounds)) = eng.unexecutable_reduction(fraction) {
            *out_refused = if rounds { NL_REDUCTION_ROUNDS_TO_ZERO } else { NL_REDUCTION_TOO_SMALL };
            *out_asset = asset;
            return Ok(());
        }
        let sent = eng.reduce_all_positions(fraction, &reason)?;
        for (i, id) in sent.iter().take(cap).enumerate() {
            *ids.add(i) = *id;
        }
        *out_n = sent.len();
        Ok(())
    })
}

/// `out_applied` of [`nl_engine_set_position_context`]: the engine was busy
/// (a position rule or cost model is running), so the write waits: a rule's
/// write to the position it evaluates is applied as soon as the rule returns
/// (before the next rule of its chain reads the context, as ml4t's rules share
/// the position's dict); any other is applied when the running call returns.
pub const NL_CONTEXT_DEFERRED: u8 = 2;

/// Sets (`present`) or removes a context value of `asset`'s open position
/// `serial` (ml4t's `broker.update_position_context`); `out_applied`
/// receives 1 when set, 0 when that position is no longer open (nothing
/// changes), or `NL_CONTEXT_DEFERRED`.
///
/// # Safety
/// `e` must be a live engine handle; `out_applied` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_position_context(
    e: *mut NlEngine,
    asset: u32,
    serial: u64,
    key: u32,
    value: f64,
    present: bool,
    out_applied: *mut u8,
) -> NlStatus {
    guard(|| {
        if out_applied.is_null() {
            return Err(null_error("out_applied").into());
        }
        let h = handle(e)?;
        let value = present.then_some(value);
        if h.is_busy() {
            h.defer(Deferred::Context { asset, serial, key, value });
            *out_applied = NL_CONTEXT_DEFERRED;
            return Ok(());
        }
        let applied = h.borrow("update_position_context()")?.set_position_context(asset, serial, key, value)?;
        *out_applied = applied as u8;
        Ok(())
    })
}

/// Forgets what the stateful rule in `slot` remembered (ml4t's `rule.reset()`).
/// While the engine is busy (called from a callback) the reset waits until
/// the running call returns.
///
/// # Safety
/// `e` must be a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_reset_rule_memory(e: *mut NlEngine, slot: u32) -> NlStatus {
    guard(|| {
        let h = handle(e)?;
        if h.is_busy() {
            h.defer(Deferred::ResetRuleMemory { slot });
            return Ok(());
        }
        h.borrow("resetting a rule")?.reset_rule_memory(slot);
        Ok(())
    })
}
