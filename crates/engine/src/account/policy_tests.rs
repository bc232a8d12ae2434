//! The policy's judgements on hand-computed cases.

use nl_core::{OrderSide, Refusal};

use super::*;
use crate::account::margin::{Margin, MarginSchedule};
use crate::account::{AccountRules, AccountSettings, EntryCheck, ShortCashPolicy};

fn rules(allow_short_selling: bool, allow_leverage: bool, policy: ShortCashPolicy) -> AccountRules {
    AccountRules { allow_short_selling, allow_leverage, initial_margin: 0.5, short_cash_policy: policy }
}

fn cash_account() -> AccountRules {
    rules(false, false, ShortCashPolicy::Credit)
}

fn text(r: Option<Refusal>) -> Option<String> {
    r.map(|r| r.to_string())
}

/// Never asked: the case is decided before buying power matters.
fn no_bp(_: f64) -> f64 {
    unreachable!()
}

#[test]
fn a_cash_account_opens_longs_it_can_pay_for_and_no_shorts() {
    let r = cash_account();
    // 100 @ 150 = 15,000: with 15,000 (and 0.01 tolerance) yes, with 10,000 no.
    assert_eq!(new_position_rejection(&r, 100.0, 150.0, 1.0, 15_000.0, no_bp, None), None);
    assert_eq!(new_position_rejection(&r, 100.0, 150.0, 1.0, 14_999.995, no_bp, None), None);
    assert_eq!(text(new_position_rejection(&r, 100.0, 150.0, 1.0, 10_000.0, no_bp, None)).as_deref(),
               Some("Insufficient cash: need $15000.00, have $10000.00"));
    assert_eq!(new_position_rejection(&r, -100.0, 150.0, 1.0, 50_000.0, no_bp, None), Some(Refusal::ShortSellingNotAllowed));
    // An account that may short names the side it could not pay for.
    let crypto = rules(true, false, ShortCashPolicy::Credit);
    assert_eq!(text(new_position_rejection(&crypto, -0.5, 4_000.0, 1.0, 1_000.0, no_bp, None)).as_deref(),
               Some("Insufficient cash for short: need $2000.00, have $1000.00"));
    // Nothing costs nothing, but not out of overdrawn cash (and is "short" in ml4t's words).
    assert_eq!(new_position_rejection(&crypto, 0.0, 4_000.0, 1.0, 0.0, no_bp, None), None);
    assert_eq!(new_position_rejection(&crypto, 0.0, 4_000.0, 1.0, -1.0, no_bp, None),
               Some(Refusal::InsufficientCashFor { short: true, need: 0.0, have: -1.0 }));
}

#[test]
fn a_position_change_reduces_freely_and_pays_for_what_it_adds() {
    let r = cash_account();
    // Selling 50 or all 100 of a long needs no cash.
    assert_eq!(position_change_rejection(&r, 100.0, -50.0, 150.0, 1.0, 0.0, no_bp, None), None);
    assert_eq!(position_change_rejection(&r, 100.0, -100.0, 150.0, 1.0, 0.0, no_bp, None), None);
    // Adding 50 @ 150 costs 7,500.
    assert_eq!(position_change_rejection(&r, 100.0, 50.0, 150.0, 1.0, 7_500.0, no_bp, None), None);
    assert_eq!(position_change_rejection(&r, 100.0, 50.0, 150.0, 1.0, 7_000.0, no_bp, None),
               Some(Refusal::InsufficientCash { need: 7_500.0, have: 7_000.0 }));
    // A cash account neither reverses (the message quotes both sizes) nor
    // keeps a short, not even a smaller one.
    assert_eq!(text(position_change_rejection(&r, 100.0, -200.0, 150.0, 1.0, 50_000.0, no_bp, None)).as_deref(),
               Some("Position reversal not allowed in cash account (current: 100.00, delta: -200.00)"));
    assert_eq!(position_change_rejection(&r, -100.0, 50.0, 150.0, 1.0, 50_000.0, no_bp, None),
               Some(Refusal::ShortPositionsNotAllowed));
    assert_eq!(position_change_rejection(&r, -100.0, 100.0, 150.0, 1.0, 0.0, no_bp, None), None);
    // A margin account's reversal of long 100 into short 100 @ 100 pays for
    // the new 10,000 side from buying power, without closing first.
    let margin = rules(true, true, ShortCashPolicy::Credit);
    assert_eq!(position_change_rejection(&margin, 100.0, -200.0, 100.0, 1.0, 5_000.0, |c| c / 0.5, None),
               None);
    assert_eq!(text(position_change_rejection(&margin, 100.0, -200.0, 100.0, 1.0, 4_000.0, |c| c / 0.5, None)).as_deref(),
               Some("Insufficient buying power: need $10000.00, have $8000.00 (IM=50.0%)"));
}

#[test]
fn a_reversal_closes_first_then_pays_for_the_new_side() {
    // Crypto (shorts, no leverage), 1,000 cash. Long 10 @ 100 sold 30: the
    // close brings 1,000 (2,000), less 5 commission; short 20 needs 2,000.
    let crypto = rules(true, false, ShortCashPolicy::Credit);
    let never = |_: f64, _: bool| unreachable!();
    assert_eq!(reversal_rejection(&crypto, 10.0, -30.0, 100.0, 1.0, 1_000.0, 0.0, 0.0, never, None), None);
    assert_eq!(text(reversal_rejection(&crypto, 10.0, -30.0, 100.0, 1.0, 1_000.0, 0.0, 5.0, never, None)).as_deref(),
               Some("Insufficient cash for reversal: need $2000.00, have $1995.00 after closing"));
    // Short 10 @ 100 bought 30 with 3,000: the cover costs 1,000, long 20 needs 2,000.
    assert_eq!(reversal_rejection(&crypto, -10.0, 30.0, 100.0, 1.0, 3_000.0, 0.0, 0.0, never, None), None);
    assert!(reversal_rejection(&crypto, -10.0, 30.0, 100.0, 1.0, 2_999.0, 0.0, 0.0, never, None).is_some());
    // Locked collateral: free cash 7,000 plus 2,000 released, less the 1,000
    // cover = 8,000 for a long of 80.0001 @ 100 (8,000.01): no tolerance.
    let locked = rules(true, false, ShortCashPolicy::LockNotional);
    assert_eq!(text(reversal_rejection(&locked, -10.0, 90.0001, 100.0, 1.0, 7_000.0, 2_000.0, 0.0, never, None)).as_deref(),
               Some("Insufficient cash for reversal: need $8000.01, have $8000.00 after closing"));
    // A cash account never reverses.
    assert_eq!(reversal_rejection(&cash_account(), 10.0, -30.0, 100.0, 1.0, 1e9, 0.0, 0.0, never, None),
               Some(Refusal::ReversalNotAllowed));
    // Margin: long 100 @ 100 sold 300 with 10,000: 20,000 after the close,
    // and the new 200 short is judged without the old position.
    let seen = std::cell::Cell::new((0.0, false));
    let margin = rules(true, true, ShortCashPolicy::Credit);
    reversal_rejection(&margin, 100.0, -300.0, 100.0, 1.0, 10_000.0, 0.0, 0.0, |c, w| { seen.set((c, w)); 1e9 }, None);
    assert_eq!(seen.get(), (20_000.0, true));
}

#[test]
fn entries_dispatch_to_the_policy_question_they_ask() {
    let margin = rules(true, true, ShortCashPolicy::Credit);
    let bp = |cash: f64, _: bool| cash / 0.5;
    // 150 @ 100 = 15,000 of 20,000 buying power; 201 = 20,100 is too much.
    let buy = EntryCheck { held: 0.0, side: OrderSide::Buy, quantity: 150.0, price: 100.0, multiplier: 1.0, commission: 0.0 };
    assert_eq!(entry_rejection(&margin, 10_000.0, 0.0, 10_000.0, &buy, bp, None), None);
    let big = EntryCheck { quantity: 201.0, ..buy };
    assert_eq!(text(entry_rejection(&margin, 10_000.0, 0.0, 10_000.0, &big, bp, None)).as_deref(),
               Some("Insufficient buying power: need $20100.00, have $20000.00 (IM=50.0%)"));
    // An exit passes whatever the cash.
    let sell = EntryCheck { held: 100.0, side: OrderSide::Sell, quantity: 100.0, ..buy };
    assert_eq!(entry_rejection(&cash_account(), -1e9, 0.0, -1e9, &sell, bp, None), None);
    // Commission comes out of what entries may spend: 15,000 + 150 > 15,100.
    let fee = EntryCheck { commission: 150.0, ..buy };
    assert_eq!(entry_rejection(&cash_account(), 15_100.0, 0.0, 15_100.0, &fee, bp, None),
               Some(Refusal::InsufficientCash { need: 15_000.0, have: 14_950.0 }));
    // CREDIT_PROCEEDS shorts need no cash; CREDIT ones do.
    let short = EntryCheck { side: OrderSide::Sell, quantity: 1_000.0, ..buy };
    let never = |_: f64, _: bool| unreachable!();
    assert_eq!(entry_rejection(&rules(true, false, ShortCashPolicy::CreditProceeds), 0.0, 0.0, 0.0, &short, never, None), None);
    assert!(entry_rejection(&rules(true, false, ShortCashPolicy::Credit), 0.0, 0.0, 0.0, &short, never, None).is_some());
}

#[test]
fn spendable_cash_holds_back_short_collateral() {
    // Short 100 @ 100 (entry notional 10,000) and long 10 @ 50; cash 110,000.
    let held = [HeldPosition::marked(0, -100.0, 100.0, 120.0, 1.0), HeldPosition::marked(1, 10.0, 50.0, 50.0, 1.0)];
    let of = |r: AccountRules| spendable_cash(&r, 110_000.0, held.iter().copied());
    assert_eq!(of(rules(true, false, ShortCashPolicy::Credit)), 110_000.0);
    assert_eq!(of(rules(true, false, ShortCashPolicy::CreditProceeds)), 100_000.0);
    assert_eq!(of(rules(true, false, ShortCashPolicy::LockNotional)), 90_000.0);
    assert_eq!(of(rules(true, true, ShortCashPolicy::LockNotional)), 110_000.0);
    // Settlement then the buffer: (10,000 - 2,000) x 0.9.
    let mut s = AccountSettings {
        rules: cash_account(),
        long_maintenance_margin: 0.25,
        short_maintenance_margin: 0.30,
        cash_buffer_pct: 0.1,
        settlement_delay: 2,
        settlement_reduces_buying_power: true,
        borrow_rate: 0.0,
        enforce_margin_calls: false,
        lock_notional_update_mode: Default::default(),
    };
    assert_eq!(available_cash(&s, 10_000.0, 2_000.0), 7_200.0);
    s.settlement_reduces_buying_power = false;
    assert_eq!(available_cash(&s, 10_000.0, 2_000.0), 9_000.0);
    assert_eq!(available_cash(&s, -100.0, 0.0), -100.0);
    assert_eq!(buying_power(&cash_account(), -100.0, || unreachable!()), 0.0);
}

#[test]
fn the_order_check_reads_the_ledger_and_positions() {
    let mut settings = AccountSettings {
        rules: rules(true, false, ShortCashPolicy::LockNotional),
        long_maintenance_margin: 0.25,
        short_maintenance_margin: 0.30,
        cash_buffer_pct: 0.0,
        settlement_delay: 0,
        settlement_reduces_buying_power: true,
        borrow_rate: 0.0,
        enforce_margin_calls: false,
        lock_notional_update_mode: Default::default(),
    };
    let margin = Margin::new(2, false, 0.5, 0.25, 0.30);
    // Short 10 @ 100 locked: free cash 9,000 of 11,000. Buying 100 @ 100
    // reverses into long 90: 9,000 + 2,000 - 1,000 = 10,000 pays for 9,000.
    let short = [HeldPosition::marked(0, -10.0, 100.0, 100.0, 1.0)];
    let ledger = Ledger { cash: 11_000.0, free_cash: 9_000.0, unsettled: 0.0 };
    let order = |held, quantity| EntryCheck { held, side: OrderSide::Buy, quantity, price: 100.0, multiplier: 1.0, commission: 0.0 };
    let check = |s: &AccountSettings, l: Ledger, e: EntryCheck| order_rejection(s, &margin, 0, &e, l, || short.iter().copied());
    assert_eq!(check(&settings, ledger, order(-10.0, 100.0)), None);
    assert_eq!(check(&settings, ledger, order(-10.0, 111.0)),
               Some(Refusal::InsufficientCashForReversal { need: 10_100.0, have: 10_000.0 }));
    // A new position in another asset spends free cash, less unsettled proceeds.
    let other = |quantity| EntryCheck { quantity, ..order(0.0, 0.0) };
    let check_other = |s: &AccountSettings, l: Ledger, e: EntryCheck| order_rejection(s, &margin, 1, &e, l, || short.iter().copied());
    assert_eq!(check_other(&settings, ledger, other(90.0)), None);
    assert_eq!(check_other(&settings, Ledger { unsettled: 1_000.0, ..ledger }, other(90.0)),
               Some(Refusal::InsufficientCashFor { short: false, need: 9_000.0, have: 8_000.0 }));
    // A position within rounding noise of zero is flat: a new position.
    settings.rules = cash_account();
    assert_eq!(check(&settings, ledger, EntryCheck { side: OrderSide::Sell, ..order(1e-13, 5.0) }),
               Some(Refusal::ShortSellingNotAllowed));
}

#[test]
fn margin_buying_power_projected_margin_and_maintenance() {
    // Reg T, long 100 @ 50 marked 60 (6,000) and short 50 @ 100 marked 100
    // (-5,000), cash 10,000: NLV 11,000, initial margin 3,000 + 2,500.
    let mut m = Margin::new(2, true, 0.5, 0.25, 0.30);
    let held = [HeldPosition::marked(0, 100.0, 50.0, 60.0, 1.0), HeldPosition::marked(1, -50.0, 100.0, 100.0, 1.0)];
    assert_eq!(m.buying_power_over(|| held.iter().copied(), 10_000.0), 11_000.0);
    // Maintenance 1,500 + 1,500 against NLV cash + 1,000: breached once cash
    // falls below 2,000.
    assert_eq!(m.maintenance_over(held.iter().copied()), 3_000.0);
    assert_eq!(m.maintenance_breach(|| held.iter().copied(), 2_000.0), None);
    assert_eq!(m.maintenance_breach(|| held.iter().copied(), 1_500.0), Some((2_500.0, 3_000.0)));
    assert_eq!(m.maintenance_breach(|| std::iter::empty(), -1e9), None);
    // Asset 0 on 10% of notional: 200 @ 60 needs 1,200, plus asset 1's 2,500,
    // against cash 3,000 + 1,000 = 4,000 equity (the long re-marked at 60).
    m.set_schedule(0, MarginSchedule::PercentOfNotional { initial: 0.10, maintenance: 0.05 }).unwrap();
    assert!(m.uses_projected(0) && !m.uses_projected(1));
    assert_eq!(m.projected_rejection(held.iter().copied(), 0, 1.0, 200.0, 60.0, 3_000.0), None);
    assert_eq!(m.projected_rejection(held.iter().copied(), 0, 1.0, 200.0, 60.0, -1_000.0),
               Some(Refusal::InsufficientMargin { need: 3_700.0, equity: 0.0 }));
    // A variation-settled asset is checked by projected margin too.
    m.set_variation(1).unwrap();
    assert!(m.uses_projected(1));
    assert!(m.set_variation(2).is_err());
}

#[test]
fn margin_rates_are_fractions_and_maintenance_at_most_initial() {
    assert_eq!(check_margin_rates(0.5, 0.25, 0.30), Ok(()));
    assert_eq!(check_margin_rates(0.5, 0.5, 0.5), Ok(()));
    assert_eq!(check_margin_rates(0.0, 0.25, 0.30),
               Err(MarginRateError::OutOfRange { rate: MarginRate::Initial, value: 0.0 }));
    assert_eq!(check_margin_rates(0.5, 1.5, 0.30),
               Err(MarginRateError::OutOfRange { rate: MarginRate::LongMaintenance, value: 1.5 }));
    assert_eq!(check_margin_rates(0.25, 0.5, 0.30),
               Err(MarginRateError::AboveInitial { rate: MarginRate::LongMaintenance, value: 0.5, initial: 0.25 }));
    assert_eq!(check_margin_rates(0.25, 0.25, 0.30),
               Err(MarginRateError::AboveInitial { rate: MarginRate::ShortMaintenance, value: 0.30, initial: 0.25 }));
    assert!(check_margin_rates(f64::NAN, 0.25, 0.30).is_err());
}
