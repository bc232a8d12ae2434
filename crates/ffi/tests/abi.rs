//! The C ABI used the way Cython uses it: handles, status codes, error text.

use std::ffi::CStr;
use std::ptr;

use nl_ffi::*;

fn last_error() -> String {
    unsafe { CStr::from_ptr(nl_last_error()) }.to_string_lossy().into_owned()
}

fn config() -> NlEngineConfig {
    NlEngineConfig {
        initial_cash: 1000.0,
        execution_mode: 1,
        execution_price: 0,
        share_type: 0,
        allow_short_selling: false,
        conditional_order_mode: 0,
        limit_gap_fill: 0,
        fill_ordering: 0,
        entry_order_priority: 0,
        mark_price: 2,
        next_bar_execution_price: NL_EXECUTION_PRICE_UNSET,
        partial_fills_allowed: false,
        stop_fill_mode: 0,
        stop_level_basis: 0,
        stop_slippage_rate: 0.0,
        trail_stop_timing: 0,
        cash_buffer_pct: 0.0,
        reject_on_insufficient_cash: true,
        skip_cash_validation: false,
        trail_hwm_source: 0,
        trail_include_entry_bar_extremes: false,
        initial_hwm_source: 0,
        allow_leverage: false,
        initial_margin: 0.5,
        long_maintenance_margin: 0.25,
        short_maintenance_margin: 0.3,
        short_cash_policy: 0,
        settlement_delay: 0,
        settlement_reduces_buying_power: true,
        immediate_fill: false,
        enforce_margin_calls: false,
        borrow_rate: 0.0,
        next_bar_submission_precheck: false,
        next_bar_simple_cash_check: false,
        next_bar_queue_shadow_validation: false,
        buying_power_reservation: false,
        lock_notional_update_mode: 0,
    }
}

fn commission(asset: u32, kind: u32, rate: f64) -> NlCommissionSpec {
    NlCommissionSpec {
        asset,
        kind,
        rate,
        per_share: 0.0,
        per_trade: 0.0,
        minimum: 0.0,
        tiers_start: 0,
        tiers_len: 0,
        callback: None,
        user_data: ptr::null_mut(),
        name: ptr::null(),
    }
}

/// 1% commission on every asset.
unsafe fn set_one_percent(e: *mut NlEngine) -> NlStatus {
    let spec = commission(NL_ALL_ASSETS, NL_COMMISSION_PERCENTAGE, 0.01);
    nl_engine_set_commission(e, &spec, 1, ptr::null(), ptr::null(), 0)
}

unsafe fn submit(e: *mut NlEngine, asset: u32, qty: f64, side: u32, order_type: u32, id: &mut u64, outcome: &mut u32) -> NlStatus {
    nl_engine_submit_order(e, asset, qty, side, order_type, f64::NAN, f64::NAN, f64::NAN, 0, 0, id, outcome)
}

/// One asset, two bars: open 10 then 11, close 10.5 then 11.5.
fn market() -> *mut NlMarketData {
    let (bar, asset) = ([0u32, 1], [0u32, 0]);
    let (open, close, vol) = ([10.0, 11.0], [10.5, 11.5], [0.0, 0.0]);
    let mut md = ptr::null_mut();
    let st = unsafe {
        nl_market_data_new(2, 1, 2, bar.as_ptr(), asset.as_ptr(), open.as_ptr(), close.as_ptr(),
                           open.as_ptr(), close.as_ptr(), vol.as_ptr(), &mut md)
    };
    assert_eq!(st, NlStatus::Ok, "{}", last_error());
    md
}

#[test]
fn a_backtest_through_the_abi() {
    let md = market();
    let mut e = ptr::null_mut();
    unsafe {
        assert_eq!(nl_engine_new(&config(), md, &mut e), NlStatus::Ok);
        assert_eq!(set_one_percent(e), NlStatus::Ok, "{}", last_error());
        nl_market_data_drop(md); // the engine keeps its own reference
        assert_eq!(nl_engine_begin_bar(e, 0), NlStatus::Ok);
        let (mut id, mut outcome) = (0u64, 99u32);
        assert_eq!(submit(e, 0, 10.0, 1, 0, &mut id, &mut outcome), NlStatus::Ok);
        assert_eq!((id, outcome), (1, NL_SUBMIT_ACCEPTED));
        assert_eq!(nl_engine_end_bar(e), NlStatus::Ok);
        assert_eq!(nl_engine_begin_bar(e, 1), NlStatus::Ok);
        let mut f = NlFill::default();
        assert_eq!(nl_engine_fill(e, 0, &mut f), NlStatus::Ok);
        // 10 shares at bar 1's open 11, 1% commission 1.1.
        assert_eq!((f.quantity, f.price, f.commission), (10.0, 11.0, 1.1));
        let (mut cash, mut equity, mut bar) = (0.0, 0.0, 0i64);
        assert_eq!(nl_engine_account(e, &mut cash, &mut equity, &mut bar), NlStatus::Ok);
        assert_eq!((cash, equity, bar), (1000.0 - 110.0 - 1.1, 1000.0 - 110.0 - 1.1 + 115.0, 1));
        nl_engine_drop(e);
    }
}

#[test]
fn errors_carry_a_message() {
    let md = market();
    let mut e = ptr::null_mut();
    unsafe {
        let mut bad = config();
        bad.execution_mode = 7;
        assert_eq!(nl_engine_new(&bad, md, &mut e), NlStatus::InvalidArgument);
        assert!(last_error().contains("ExecutionMode"));
        assert_eq!(nl_engine_new(&config(), md, &mut e), NlStatus::Ok);
        let negative = commission(NL_ALL_ASSETS, NL_COMMISSION_PERCENTAGE, -1.0);
        assert_eq!(nl_engine_set_commission(e, &negative, 1, ptr::null(), ptr::null(), 0), NlStatus::InvalidArgument);
        assert!(last_error().contains("commission_rate"), "{}", last_error());
        let routed_only = commission(0, NL_COMMISSION_PERCENTAGE, 0.01);
        assert_eq!(nl_engine_set_commission(e, &routed_only, 1, ptr::null(), ptr::null(), 0), NlStatus::InvalidArgument);
        assert!(last_error().contains("no default"), "{}", last_error());
        let (mut id, mut outcome) = (0u64, 0u32);
        assert_eq!(submit(e, 5, 1.0, 1, 0, &mut id, &mut outcome), NlStatus::NotFound);
        assert!(last_error().contains("asset index 5"));
        assert_eq!(submit(e, 0, f64::NAN, 1, 0, &mut id, &mut outcome), NlStatus::InvalidArgument);
        assert_eq!(submit(e, 0, 1.0, 3, 0, &mut id, &mut outcome), NlStatus::InvalidArgument);
        // A limit order without its price is refused, naming the argument.
        assert_eq!(submit(e, 0, 1.0, 1, 1, &mut id, &mut outcome),
                   NlStatus::InvalidArgument);
        assert!(last_error().contains("limit_price is required"), "{}", last_error());
        assert_eq!(nl_engine_end_bar(e), NlStatus::InvalidState);
        assert_eq!(nl_engine_begin_bar(ptr::null_mut(), 0), NlStatus::InvalidArgument);
        assert!(last_error().contains("null pointer"));
        let mut o = NlOrder::default();
        assert_eq!(nl_engine_order(e, 42, &mut o), NlStatus::NotFound);
        nl_engine_drop(e);
        nl_market_data_drop(md);
    }
}

#[test]
fn a_panic_becomes_a_status_not_an_abort() {
    assert_eq!(nl_debug_panic(), NlStatus::Panic);
    let msg = last_error();
    assert!(msg.contains("nl_debug_panic called") && msg.contains("Rust panic"), "{msg}");
}

#[test]
fn null_handles_are_safe_to_drop() {
    unsafe {
        nl_engine_drop(ptr::null_mut());
        nl_market_data_drop(ptr::null_mut());
        nl_string_free(ptr::null_mut());
    }
}

fn rule(kind: u32) -> NlRuleSpec {
    NlRuleSpec {
        kind,
        pct: 0.0,
        max_bars: 0,
        callback: None,
        user_data: ptr::null_mut(),
        multiplier: 0.0,
        threshold: 0.0,
        context_key: 0,
        memory_slot: 0,
        use_entry_atr: false,
        pairs: ptr::null(),
        n_pairs: 0,
    }
}

#[test]
fn dynamic_rules_and_position_context_through_the_abi() {
    // One asset, three bars: open 10 / 11 / 12, close 10.5 / 11.5 / 12.5.
    let (bar, asset) = ([0u32, 1, 2], [0u32, 0, 0]);
    let (open, close, vol) = ([10.0, 11.0, 12.0], [10.5, 11.5, 12.5], [0.0; 3]);
    let mut md = ptr::null_mut();
    let mut e = ptr::null_mut();
    unsafe {
        let st = nl_market_data_new(3, 1, 3, bar.as_ptr(), asset.as_ptr(), open.as_ptr(), close.as_ptr(),
                                    open.as_ptr(), close.as_ptr(), vol.as_ptr(), &mut md);
        assert_eq!(st, NlStatus::Ok, "{}", last_error());
        assert_eq!(nl_engine_new(&config(), md, &mut e), NlStatus::Ok);
        nl_market_data_drop(md);
        // Chain: a scaled exit at +50% (never reached), then a signal exit at 0.5 on context key 7.
        let targets = [0.5, 0.5];
        let mut scaled = rule(NL_RULE_SCALED_EXIT);
        scaled.pairs = targets.as_ptr();
        scaled.n_pairs = 1;
        scaled.memory_slot = 1;
        let mut signal = rule(NL_RULE_SIGNAL_EXIT);
        signal.context_key = 7;
        signal.threshold = 0.5;
        let chain = [scaled, signal];
        assert_eq!(nl_engine_set_position_rules(e, NL_ALL_ASSETS, chain.as_ptr(), 2, true), NlStatus::Ok);
        // Pairs announced but missing: refused.
        let mut broken = rule(NL_RULE_TIGHTENING_TRAILING_STOP);
        broken.n_pairs = 2;
        assert_eq!(nl_engine_set_position_rules(e, NL_ALL_ASSETS, &broken, 1, true), NlStatus::InvalidArgument);
        assert!(last_error().contains("pairs"), "{}", last_error());

        assert_eq!(nl_engine_begin_bar(e, 0), NlStatus::Ok);
        let (mut id, mut outcome) = (0u64, 0u32);
        assert_eq!(submit(e, 0, 10.0, 1, 0, &mut id, &mut outcome), NlStatus::Ok);
        assert_eq!(nl_engine_end_bar(e), NlStatus::Ok);
        // Bar 1: bought 10 at 11; the strategy sets the signal -1 on that position.
        assert_eq!(nl_engine_begin_bar(e, 1), NlStatus::Ok);
        let (mut p, mut found) = (NlPosition::default(), 0u8);
        assert_eq!(nl_engine_position(e, 0, &mut p, &mut found), NlStatus::Ok);
        let mut applied = 9u8;
        assert_eq!(nl_engine_set_position_context(e, 0, p.serial + 1, 7, -1.0, true, &mut applied), NlStatus::Ok);
        assert_eq!(applied, 0); // not this position
        assert_eq!(nl_engine_set_position_context(e, 0, p.serial, 7, -1.0, true, &mut applied), NlStatus::Ok);
        assert_eq!(applied, 1);
        assert_eq!(nl_engine_end_bar(e), NlStatus::Ok);
        // Bar 2: +13.6% misses the 50% target; the signal -1 < -0.5 exits at the open 12.
        assert_eq!(nl_engine_begin_bar(e, 2), NlStatus::Ok);
        let mut f = NlFill::default();
        assert_eq!(nl_engine_fill(e, 1, &mut f), NlStatus::Ok);
        assert_eq!((f.quantity, f.price), (10.0, 12.0));
        let mut detail = ptr::null_mut();
        assert_eq!(nl_engine_order_exit_detail(e, f.order_id, &mut detail), NlStatus::Ok);
        assert_eq!(CStr::from_ptr(detail).to_str().unwrap(), "signal_exit_-1.00");
        nl_string_free(detail);
        assert_eq!(nl_engine_reset_rule_memory(e, 1), NlStatus::Ok);
        nl_engine_drop(e);
    }
}

/// What a re-entering callback saw, kept by the test that installed it.
struct Reentry {
    engine: *mut NlEngine,
    account_status: Option<NlStatus>,
    account_error: String,
    context_applied: Option<u8>,
}

impl Reentry {
    fn new() -> Box<Reentry> {
        Box::new(Reentry { engine: ptr::null_mut(), account_status: None, account_error: String::new(), context_applied: None })
    }

    /// Calls back in as a careless user model would: reads the cash, writes
    /// context value 7 = -1 of `asset`'s position `serial`.
    unsafe fn call_back_in(&mut self, asset: u32, serial: u64) {
        let (mut cash, mut equity, mut bar) = (0.0, 0.0, 0i64);
        self.account_status = Some(nl_engine_account(self.engine, &mut cash, &mut equity, &mut bar));
        self.account_error = last_error();
        let mut applied = 9u8;
        assert_eq!(nl_engine_set_position_context(self.engine, asset, serial, 7, -1.0, true, &mut applied), NlStatus::Ok);
        self.context_applied = Some(applied);
    }
}

unsafe extern "C" fn reentering_rule(user: *mut std::ffi::c_void, s: *const NlRuleState, d: *mut NlRuleDecision) -> i32 {
    let r = &mut *(user as *mut Reentry);
    r.call_back_in((*s).asset, (*s).serial);
    (*d).kind = NL_DECISION_HOLD;
    0
}

#[test]
fn a_rule_calling_back_in_is_refused_reads_and_its_context_write_reaches_the_next_rule() {
    // One asset, three bars: open 10 / 11 / 12. Bought at bar 1's open 11.
    // Chain at bar 2: the Python-like rule holds but writes signal -1 on its
    // position; the signal exit after it (threshold 0.5) must see that value
    // in the same evaluation (ml4t's rules share the position's dict) and exit
    // at bar 2's open 12.
    let (bar, asset) = ([0u32, 1, 2], [0u32, 0, 0]);
    let (open, close, vol) = ([10.0, 11.0, 12.0], [10.5, 11.5, 12.5], [0.0; 3]);
    let mut md = ptr::null_mut();
    let mut e = ptr::null_mut();
    let mut seen = Reentry::new();
    unsafe {
        let st = nl_market_data_new(3, 1, 3, bar.as_ptr(), asset.as_ptr(), open.as_ptr(), close.as_ptr(),
                                    open.as_ptr(), close.as_ptr(), vol.as_ptr(), &mut md);
        assert_eq!(st, NlStatus::Ok, "{}", last_error());
        assert_eq!(nl_engine_new(&config(), md, &mut e), NlStatus::Ok);
        nl_market_data_drop(md);
        seen.engine = e;
        let mut user = rule(NL_RULE_CALLBACK);
        user.callback = Some(reentering_rule);
        user.user_data = &mut *seen as *mut Reentry as *mut std::ffi::c_void;
        let mut signal = rule(NL_RULE_SIGNAL_EXIT);
        signal.context_key = 7;
        signal.threshold = 0.5;
        let chain = [user, signal];
        assert_eq!(nl_engine_set_position_rules(e, NL_ALL_ASSETS, chain.as_ptr(), 2, true), NlStatus::Ok);
        assert_eq!(nl_engine_begin_bar(e, 0), NlStatus::Ok);
        let (mut id, mut outcome) = (0u64, 0u32);
        assert_eq!(submit(e, 0, 10.0, 1, 0, &mut id, &mut outcome), NlStatus::Ok);
        assert_eq!(nl_engine_end_bar(e), NlStatus::Ok);
        assert_eq!(nl_engine_begin_bar(e, 1), NlStatus::Ok);
        assert_eq!(nl_engine_end_bar(e), NlStatus::Ok);
        assert_eq!(nl_engine_begin_bar(e, 2), NlStatus::Ok, "{}", last_error());
        assert_eq!(seen.account_status, Some(NlStatus::Busy));
        assert_eq!(seen.account_error,
                   "engine is busy evaluating a callback: get_cash() / get_account_value() cannot be called from inside a position rule");
        assert_eq!(seen.context_applied, Some(NL_CONTEXT_DEFERRED));
        let mut f = NlFill::default();
        assert_eq!(nl_engine_fill(e, 1, &mut f), NlStatus::Ok, "{}", last_error());
        assert_eq!((f.quantity, f.price), (10.0, 12.0));
        // The engine is free again once the outer call returned.
        let (mut cash, mut equity, mut b) = (0.0, 0.0, 0i64);
        assert_eq!(nl_engine_account(e, &mut cash, &mut equity, &mut b), NlStatus::Ok);
        assert_eq!(cash, 1000.0 - 110.0 + 120.0);
        nl_engine_drop(e);
    }
}

unsafe extern "C" fn reentering_commission(user: *mut std::ffi::c_void, asset: u32, _q: f64, _p: f64, _estimate: u8,
                                           out: *mut f64) -> i32 {
    let r = &mut *(user as *mut Reentry);
    let (mut p, mut found) = (NlPosition::default(), 0u8);
    // A read of the position is refused as well.
    assert_eq!(nl_engine_position(r.engine, asset, &mut p, &mut found), NlStatus::Busy);
    r.call_back_in(asset, 1);
    *out = 1.0;
    0
}

#[test]
fn a_commission_model_calling_back_in_is_refused_and_its_context_write_waits() {
    let md = market();
    let mut e = ptr::null_mut();
    let mut seen = Reentry::new();
    unsafe {
        assert_eq!(nl_engine_new(&config(), md, &mut e), NlStatus::Ok);
        nl_market_data_drop(md);
        seen.engine = e;
        let mut spec = commission(NL_ALL_ASSETS, NL_COMMISSION_CALLBACK, 0.0);
        spec.callback = Some(reentering_commission);
        spec.user_data = &mut *seen as *mut Reentry as *mut std::ffi::c_void;
        assert_eq!(nl_engine_set_commission(e, &spec, 1, ptr::null(), ptr::null(), 0), NlStatus::Ok);
        assert_eq!(nl_engine_begin_bar(e, 0), NlStatus::Ok);
        let (mut id, mut outcome) = (0u64, 0u32);
        assert_eq!(submit(e, 0, 10.0, 1, 0, &mut id, &mut outcome), NlStatus::Ok);
        assert_eq!(nl_engine_end_bar(e), NlStatus::Ok);
        // The fill at bar 1's open 11 asks the model: 10 x 11 + fee 1.
        assert_eq!(nl_engine_begin_bar(e, 1), NlStatus::Ok, "{}", last_error());
        assert_eq!(seen.account_status, Some(NlStatus::Busy));
        assert_eq!(seen.account_error,
                   "engine is busy evaluating a callback: get_cash() / get_account_value() cannot be called from inside a commission model");
        assert_eq!(seen.context_applied, Some(NL_CONTEXT_DEFERRED));
        let (mut cash, mut equity, mut b) = (0.0, 0.0, 0i64);
        assert_eq!(nl_engine_account(e, &mut cash, &mut equity, &mut b), NlStatus::Ok);
        assert_eq!(cash, 1000.0 - 110.0 - 1.0);
        nl_engine_drop(e);
    }
}
