//! Position rules across the ABI: a rule is a flat list of leaf rules
//! evaluated as a chain (first rule that does not hold wins).

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

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlRuleSpec {
    pub kind: u32,
    /// Stop-loss / take-profit / trailing distance as a fraction of the price.
    pub pct: f64,
    /// Time exit: bars held.
    pub max_bars: u32,
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
            let leaves = specs
                .iter()
                .map(|s| match s.kind {
                    NL_RULE_STOP_LOSS => Ok(PositionRule::StopLoss { pct: s.pct }),
                    NL_RULE_TAKE_PROFIT => Ok(PositionRule::TakeProfit { pct: s.pct }),
                    NL_RULE_TIME_EXIT => Ok(PositionRule::TimeExit { max_bars: s.max_bars }),
                    NL_RULE_TRAILING_STOP => Ok(PositionRule::TrailingStop { pct: s.pct }),
                    other => Err(EngineError::InvalidArgument(format!("invalid rule kind {other}"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(PositionRule::Chain(leaves))
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
