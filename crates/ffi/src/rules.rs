//! Position rules across the ABI: a list of rules in prefix order (a group
//! spec is followed by its children), evaluated as a chain (the first rule
//! that does not hold wins).

use std::ffi::{c_char, CStr};

use nl_core::EngineError;
use nl_engine::PositionRule;

use crate::costs::NL_ALL_ASSETS;
use crate::error::{guard, null_error, NlStatus};
use crate::handles::{engine, NlEngine};

/// Rule kinds for [`NlRuleSpec::kind`].
pub const NL_RULE_STOP_LOSS: u32 = 1;
pub const NL_RULE_TAKE_PROFIT: u32 = 2;
pub const NL_RULE_TIME_EXIT: u32 = 3;
pub const NL_RULE_TRAILING_STOP: u32 = 4;
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
}

/// Parses one rule (a group takes its children from the following specs).
fn parse(specs: &[NlRuleSpec], at: &mut usize) -> Result<PositionRule, EngineError> {
    let s = specs.get(*at).ok_or_else(|| EngineError::InvalidArgument("rule group runs past the end".into()))?;
    *at += 1;
    Ok(match s.kind {
        NL_RULE_STOP_LOSS => PositionRule::StopLoss { pct: s.pct },
        NL_RULE_TAKE_PROFIT => PositionRule::TakeProfit { pct: s.pct },
        NL_RULE_TIME_EXIT => PositionRule::TimeExit { max_bars: s.max_bars },
        NL_RULE_TRAILING_STOP => PositionRule::TrailingStop { pct: s.pct },
        NL_RULE_CHAIN | NL_RULE_ALL_OF => {
            let children = (0..s.max_bars).map(|_| parse(specs, at)).collect::<Result<Vec<_>, _>>()?;
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
        let rule = if enabled {
            if rules.is_null() && n > 0 {
                return Err(null_error("rules"));
            }
            let specs = if n == 0 { &[][..] } else { std::slice::from_raw_parts(rules, n) };
            // The specs are a chain of rules in prefix order.
            let mut at = 0;
            let mut rules = Vec::new();
            while at < specs.len() {
                rules.push(parse(specs, &mut at)?);
            }
            Some(PositionRule::Chain(rules))
        } else {
            None
        };
        let asset = (asset != NL_ALL_ASSETS).then_some(asset);
        engine(e)?.set_position_rules(asset, rule)
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
            return Err(null_error("argument"));
        }
        let reason = CStr::from_ptr(reason).to_string_lossy().into_owned();
        let sent = engine(e)?.flatten_all_positions(&reason)?;
        for (i, id) in sent.iter().take(cap).enumerate() {
            *ids.add(i) = *id;
        }
        *out_n = sent.len();
        Ok(())
    })
}
