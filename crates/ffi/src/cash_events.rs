//! Scheduled cash events across the ABI: capital flow and funding tables in
//! (sorted by bar, before the first bar), what they moved out.

use nl_engine::cash_events::{CapitalFlow, CapitalFlowKind, FundingEvent, FundingTerms};

use crate::error::{guard, null_error, NlStatus};
use crate::handles::{engine, write, NlEngine};

/// `NlCapitalFlow.kind`: cash added (positive) or withdrawn (negative).
pub const NL_CAPITAL_FLOW_DELTA: u32 = 0;
/// `NlCapitalFlow.kind`: the account value after the flow.
pub const NL_CAPITAL_FLOW_TARGET: u32 = 1;
/// `NlFundingEvent.terms`: `value` is a rate on the position's notional.
pub const NL_FUNDING_RATE: u32 = 0;
/// `NlFundingEvent.terms`: `value` is currency per underlying unit.
pub const NL_FUNDING_AMOUNT_PER_UNIT: u32 = 1;

/// One scheduled capital flow.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlCapitalFlow {
    pub bar: u32,
    /// `NL_CAPITAL_FLOW_*`.
    pub kind: u32,
    pub value: f64,
}

/// One scheduled funding event.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlFundingEvent {
    pub bar: u32,
    pub asset: u32,
    /// `NL_FUNDING_*`.
    pub terms: u32,
    pub value: f64,
}

/// One applied capital flow.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlCapitalChange {
    pub bar: u32,
    /// Index of the flow in the schedule given.
    pub flow: u32,
    pub cash_delta: f64,
    pub nav_before: f64,
    pub nav_after: f64,
}

/// One applied funding event.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlFundingPayment {
    pub bar: u32,
    pub asset: u32,
    pub quantity: f64,
    /// NaN when no position was held.
    pub mark_price: f64,
    pub multiplier: f64,
    pub cash_delta: f64,
}

unsafe fn table<'a, T>(ptr: *const T, n: usize, what: &str) -> Result<&'a [T], nl_core::EngineError> {
    if n == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null_error(what));
    }
    Ok(std::slice::from_raw_parts(ptr, n))
}

/// Schedules `n` capital flows (sorted by bar; applied as their bar opens,
/// before any fill). Before the first bar only.
///
/// # Safety
/// `e` must be a live engine handle; `flows` valid for `n` reads.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_capital_flows(e: *mut NlEngine, flows: *const NlCapitalFlow, n: usize) -> NlStatus {
    guard(|| {
        let v = table(flows, n, "flows")?.iter()
            .map(|f| Ok(CapitalFlow { bar: f.bar, kind: CapitalFlowKind::try_from(f.kind)?, value: f.value }))
            .collect::<Result<Vec<_>, nl_core::EngineError>>()?;
        Ok(engine(e, "scheduling capital flows")?.set_capital_flows(v)?)
    })
}

/// Schedules `n` funding events (sorted by bar; one per asset and bar).
/// Before the first bar only.
///
/// # Safety
/// `e` must be a live engine handle; `events` valid for `n` reads.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_funding_events(e: *mut NlEngine, events: *const NlFundingEvent, n: usize) -> NlStatus {
    guard(|| {
        let v = table(events, n, "events")?.iter()
            .map(|f| {
                let terms = match f.terms {
                    NL_FUNDING_RATE => FundingTerms::Rate(f.value),
                    NL_FUNDING_AMOUNT_PER_UNIT => FundingTerms::AmountPerUnit(f.value),
                    other => return Err(nl_core::EngineError::InvalidArgument(format!("unknown funding terms code {other}"))),
                };
                Ok(FundingEvent { bar: f.bar, asset: f.asset, terms })
            })
            .collect::<Result<Vec<_>, nl_core::EngineError>>()?;
        Ok(engine(e, "scheduling funding events")?.set_funding_events(v)?)
    })
}

/// How many capital flows and funding events were applied so far.
///
/// # Safety
/// `e` must be a live engine handle; the out pointers valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_cash_event_counts(e: *mut NlEngine, out_changes: *mut usize, out_payments: *mut usize)
    -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading cash events")?;
        write(out_changes, eng.capital_changes().len())?;
        write(out_payments, eng.funding_payments().len())
    })
}

/// Copies the applied capital flows (at most `cap`) into `out`; `out_n`
/// receives how many were written.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for `cap` writes; `out_n` for one.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_capital_changes(e: *mut NlEngine, out: *mut NlCapitalChange, cap: usize, out_n: *mut usize)
    -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading capital changes")?;
        let src = eng.capital_changes();
        let n = src.len().min(cap);
        if n > 0 && out.is_null() {
            return Err(null_error("out").into());
        }
        for (i, c) in src[..n].iter().enumerate() {
            out.add(i).write(NlCapitalChange { bar: c.bar, flow: c.flow, cash_delta: c.cash_delta,
                                               nav_before: c.nav_before, nav_after: c.nav_after });
        }
        write(out_n, n)
    })
}

/// Copies the applied funding events (at most `cap`) into `out`; `out_n`
/// receives how many were written.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for `cap` writes; `out_n` for one.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_funding_payments(e: *mut NlEngine, out: *mut NlFundingPayment, cap: usize,
                                                    out_n: *mut usize) -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading funding payments")?;
        let src = eng.funding_payments();
        let n = src.len().min(cap);
        if n > 0 && out.is_null() {
            return Err(null_error("out").into());
        }
        for (i, p) in src[..n].iter().enumerate() {
            out.add(i).write(NlFundingPayment { bar: p.bar, asset: p.asset, quantity: p.quantity, mark_price: p.mark_price,
                                                multiplier: p.multiplier, cash_delta: p.cash_delta });
        }
        write(out_n, n)
    })
}
