//! The account over a portfolio: hand-computed cases for what entries may
//! spend and what the account charges and enforces.

use nl_core::{AssetId, ExecutionPrice, ExitReason, Fill, Order, OrderSide, OrderType, Refusal};

use crate::account::locked_cash::fit_to_free_cash;
use crate::account::margin::MarginSchedule;
use crate::account::margin_call::MarginCall;
use crate::account::{Account, AccountRules, AccountSettings, EntryCheck, OrderEffect, ShortCashPolicy};
use crate::portfolio::Portfolio;

pub(crate) fn settings(allow_leverage: bool, policy: ShortCashPolicy) -> AccountSettings {
    AccountSettings {
        rules: AccountRules { allow_short_selling: true, allow_leverage, initial_margin: 0.5, short_cash_policy: policy },
        long_maintenance_margin: 0.25,
        short_maintenance_margin: 0.30,
        cash_buffer_pct: 0.0,
        settlement_delay: 0,
        settlement_reduces_buying_power: false,
        borrow_rate: 0.0,
        enforce_margin_calls: false,
        lock_notional_update_mode: Default::default(),
    }
}

/// A fill of `quantity` of `asset` at `price` for order 1, no costs.
pub(crate) fn fill(asset: AssetId, side: OrderSide, quantity: f64, price: f64) -> Fill {
    Fill {
        order_id: 1,
        asset,
        side,
        quantity,
        price,
        timestamp: 0,
        commission: 0.0,
        slippage: 0.0,
        price_source: ExecutionPrice::Open,
        reference_price: price,
        available_size: f64::NAN,
        quotes: None,
        is_exit: false,
        order_type: OrderType::Market,
        trigger: None,
        exit_reason: ExitReason::Signal,
        signal_price: f64::NAN,
    }
}

/// Books `f` in the portfolio and the account's ledgers as the kernel does.
pub(crate) fn book(account: &mut Account, portfolio: &mut Portfolio, f: &Fill, order: &Order) {
    let held = portfolio.quantity(f.asset);
    portfolio.apply_fill(f, f.commission);
    account.book_locked_fill(portfolio, f, held, f.commission, order, true);
}

fn market(side: OrderSide, quantity: f64) -> Order {
    Order::new(1, 0, side, OrderType::Market, quantity, 0)
}

#[test]
fn a_short_of_10_at_100_locks_twice_its_notional() {
    // 10,000 cash, LOCK_NOTIONAL. Short 10 @ 100: cash 11,000; free cash
    // 10,000 - 2 x 1,000 = 9,000; the short's basis is 1,000.
    let mut account = Account::new(settings(false, ShortCashPolicy::LockNotional), 10_000.0, 1);
    let mut portfolio = Portfolio::new(10_000.0, 1);
    book(&mut account, &mut portfolio, &fill(0, OrderSide::Sell, 10.0, 100.0), &market(OrderSide::Sell, 10.0));
    assert_eq!(portfolio.cash, 11_000.0);
    assert_eq!((account.locked_cash.free_cash(), account.locked_cash.short_basis(0)), (9_000.0, 1_000.0));
    // A reversal is checked against free cash plus the short's collateral:
    // buying 100 @ 100 closes for 9,000 + 2,000 - 1,000 = 10,000, which pays
    // for a long of 90 (9,000) but not 101 (10,100), without tolerance.
    let reverse = |quantity| EntryCheck { held: -10.0, side: OrderSide::Buy, quantity, price: 100.0, multiplier: 1.0, commission: 0.0 };
    assert_eq!(account.entry_rejection(&portfolio, 0, &reverse(100.0)), None);
    assert_eq!(account.entry_rejection(&portfolio, 0, &reverse(111.0)),
               Some(Refusal::InsufficientCashForReversal { need: 10_100.0, have: 10_000.0 }));
    // Covering 4 of the 10 releases 4/10 of the basis.
    assert_eq!(account.released_short_basis(0, 4.0, -10.0), 400.0);
    // Only a buy against the short is a cover.
    assert!(account.covers_locked_short(OrderSide::Buy, -10.0));
    assert!(!account.covers_locked_short(OrderSide::Sell, -10.0) && !account.covers_locked_short(OrderSide::Buy, 5.0));
    // Without commission free cash sizes directly: 9,000 / 100 = 90 more.
    assert_eq!(account.locked_zero_cost_limit(0, OrderSide::Sell, -10.0, 100.0, 0.0, || Ok(0.0)).unwrap(), Some(90.0));
    assert_eq!(account.locked_zero_cost_limit(0, OrderSide::Sell, -10.0, 100.0, 0.0, || Ok(1.0)).unwrap(), None);
}

#[test]
fn a_free_reversal_opens_what_free_cash_pays_for() {
    // 1,000 cash. Short 5 @ 100: free 500, basis 500. Buy 20 @ 100: the
    // cover releases 1,000 and pays 500 (free 1,000), which pays for a long
    // of 10, not the 15 the order asked for; free cash is then 0.
    let mut account = Account::new(settings(false, ShortCashPolicy::LockNotional), 1_000.0, 1);
    let mut portfolio = Portfolio::new(1_000.0, 1);
    book(&mut account, &mut portfolio, &fill(0, OrderSide::Sell, 5.0, 100.0), &market(OrderSide::Sell, 5.0));
    book(&mut account, &mut portfolio, &fill(0, OrderSide::Buy, 20.0, 100.0), &market(OrderSide::Buy, 20.0));
    assert_eq!(portfolio.quantity(0), 10.0);
    assert_eq!((account.locked_cash.free_cash(), account.locked_cash.short_basis(0)), (0.0, 0.0));
    // The cash moved by the whole fill: 1,500 - 2,000.
    assert_eq!(portfolio.cash, -500.0);
}

#[test]
fn credit_accounts_keep_no_ledger() {
    let mut account = Account::new(settings(false, ShortCashPolicy::Credit), 10_000.0, 1);
    let mut portfolio = Portfolio::new(10_000.0, 1);
    book(&mut account, &mut portfolio, &fill(0, OrderSide::Sell, 10.0, 100.0), &market(OrderSide::Sell, 10.0));
    assert!(!account.locks_short_notional());
    // A reversal is checked against the cash (11,000): buying 120 @ 100
    // covers for 1,000, leaving 10,000 for a long of 110 (11,000).
    let reverse = |quantity| EntryCheck { held: -10.0, side: OrderSide::Buy, quantity, price: 100.0, multiplier: 1.0, commission: 0.0 };
    assert_eq!(account.entry_rejection(&portfolio, 0, &reverse(110.0)), None);
    assert_eq!(account.entry_rejection(&portfolio, 0, &reverse(120.0)),
               Some(Refusal::InsufficientCashForReversal { need: 11_000.0, have: 10_000.0 }));
    assert_eq!(account.locked_cash.free_cash(), 10_000.0);
    // A margin account never locks, whatever its policy says.
    assert!(!Account::new(settings(true, ShortCashPolicy::LockNotional), 0.0, 1).locks_short_notional());
}

#[test]
fn locked_sizing_applies_to_covers_and_reversals() {
    let account = Account::new(settings(false, ShortCashPolicy::LockNotional), 0.0, 1);
    let refusal = |side, held, effect, now| account.locked_sizing_refusal(side, held, effect, now);
    assert_eq!(refusal(OrderSide::Buy, -10.0, OrderEffect::Exit, false), Some(Refusal::InsufficientCashToCoverShort));
    // Filling immediately, a cover that reverses is sized as a cover.
    assert_eq!(refusal(OrderSide::Buy, -10.0, OrderEffect::Reversal, true), Some(Refusal::InsufficientCashToCoverShort));
    assert_eq!(refusal(OrderSide::Sell, 10.0, OrderEffect::Reversal, false), Some(Refusal::InsufficientLockedCashForReversal));
    assert_eq!(refusal(OrderSide::Sell, 10.0, OrderEffect::Reversal, true), None);
    assert_eq!(refusal(OrderSide::Buy, 0.0, OrderEffect::Entry, false), None);
    assert_eq!(refusal(OrderSide::Sell, 10.0, OrderEffect::Exit, false), None);
}

#[test]
fn free_cash_fits_all_part_or_none_of_an_order() {
    // Affords 12.7 of 10: all of it.
    assert_eq!(fit_to_free_cash(10.0, 12.7, true, false), Some(10.0));
    // Affords 6.7: 6 whole shares with partial fills, else refused.
    assert_eq!(fit_to_free_cash(10.0, 6.7, true, true), Some(6.0));
    assert_eq!(fit_to_free_cash(10.0, 6.7, false, true), Some(6.7));
    assert_eq!(fit_to_free_cash(10.0, 6.7, true, false), None);
    // Less than one whole share: nothing to fill.
    assert_eq!(fit_to_free_cash(10.0, 0.5, true, true), None);
}

#[test]
fn margin_buying_power_over_cash_and_positions() {
    // Reg T (IM 50%), 10,000 cash. Long 100 @ 50, marked at 60: cash 5,000,
    // NLV 5,000 + 6,000 = 11,000, initial margin 3,000: (11,000 - 3,000) / 0.5.
    let mut account = Account::new(settings(true, ShortCashPolicy::Credit), 10_000.0, 2);
    let mut portfolio = Portfolio::new(10_000.0, 2);
    book(&mut account, &mut portfolio, &fill(0, OrderSide::Buy, 100.0, 50.0), &market(OrderSide::Buy, 100.0));
    portfolio.mark(0, 60.0);
    assert_eq!(account.buying_power(&portfolio), 16_000.0);
    // Leaving the position out (a reversal closes it first): 5,000 / 0.5.
    assert_eq!(account.margin_buying_power(&portfolio, portfolio.cash, Some(0)), 10_000.0);
    // Maintenance at 25% of 6,000.
    assert_eq!(account.margin.maintenance_requirement(&portfolio), 1_500.0);
    // A buy of 200 @ 80 (16,000) fits; 201 (16,080) does not.
    let buy = |quantity| EntryCheck { held: 0.0, side: OrderSide::Buy, quantity, price: 80.0, multiplier: 1.0, commission: 0.0 };
    assert_eq!(account.entry_rejection(&portfolio, 1, &buy(200.0)), None);
    assert_eq!(account.entry_rejection(&portfolio, 1, &buy(201.0)).map(|r| r.to_string()).as_deref(),
               Some("Insufficient buying power: need $16080.00, have $16000.00 (IM=50.0%)"));
}

#[test]
fn projected_margin_replaces_buying_power_for_scheduled_assets() {
    // A futures contract on 5,000 initial / 4,000 maintenance per contract
    // (multiplier 50), 12,000 cash: two contracts need 10,000, three 15,000.
    let mut account = Account::new(settings(true, ShortCashPolicy::Credit), 12_000.0, 1);
    let mut portfolio = Portfolio::new(12_000.0, 1);
    portfolio.set_multiplier(0, 50.0);
    account.margin.set_schedule(0, MarginSchedule::PerContract { initial: 5_000.0, maintenance: 4_000.0 }).unwrap();
    let buy = |quantity| EntryCheck { held: 0.0, side: OrderSide::Buy, quantity, price: 4_000.0, multiplier: 50.0, commission: 0.0 };
    assert_eq!(account.entry_rejection(&portfolio, 0, &buy(2.0)), None);
    assert_eq!(account.entry_rejection(&portfolio, 0, &buy(3.0)),
               Some(Refusal::InsufficientMargin { need: 15_000.0, equity: 12_000.0 }));
}

#[test]
fn spendable_cash_by_short_policy_settlement_and_buffer() {
    // 10,000 cash, short 10 @ 100: cash 11,000, short collateral 1,000.
    let short = |policy| {
        let mut account = Account::new(settings(false, policy), 10_000.0, 1);
        let mut portfolio = Portfolio::new(10_000.0, 1);
        book(&mut account, &mut portfolio, &fill(0, OrderSide::Sell, 10.0, 100.0), &market(OrderSide::Sell, 10.0));
        (account, portfolio)
    };
    let (credit, p) = short(ShortCashPolicy::Credit);
    assert_eq!(credit.spendable_cash(&p), 11_000.0);
    let (proceeds, p) = short(ShortCashPolicy::CreditProceeds);
    assert_eq!(proceeds.spendable_cash(&p), 10_000.0);
    let (locked, p) = short(ShortCashPolicy::LockNotional);
    assert_eq!((locked.spendable_cash(&p), locked.available_cash(&p), locked.buying_power(&p)), (9_000.0, 9_000.0, 9_000.0));
    // Proceeds of 2,000 held for two bars, and a 10% buffer on the rest.
    let mut s = settings(false, ShortCashPolicy::Credit);
    (s.settlement_delay, s.settlement_reduces_buying_power, s.cash_buffer_pct) = (2, true, 0.1);
    let mut account = Account::new(s, 10_000.0, 1);
    let portfolio = Portfolio::new(10_000.0, 1);
    account.hold_proceeds(3, 2_000.0);
    assert_eq!(account.available_cash(&portfolio), 8_000.0 * 0.9);
    account.settle(5);
    assert_eq!(account.available_cash(&portfolio), 9_000.0);
}

#[test]
fn a_short_pays_its_borrow_fee_for_the_nights_held() {
    // Short 100 @ 50 (market value 5,000) at 7.3% a year, held 5 nights:
    // 5,000 x 0.073 x 5 / 365 = 5.00, from cash (15,000) and from free cash
    // (10,000 less twice the 5,000 basis).
    let mut s = settings(false, ShortCashPolicy::LockNotional);
    s.borrow_rate = 0.073;
    let mut account = Account::new(s, 10_000.0, 2);
    let mut portfolio = Portfolio::new(10_000.0, 2);
    book(&mut account, &mut portfolio, &fill(1, OrderSide::Sell, 100.0, 50.0), &market(OrderSide::Sell, 100.0));
    assert!(account.charges_borrow());
    account.charge_borrow_fees(&mut portfolio, 5.0);
    assert!((account.borrow_fees()[1] - 5.0).abs() < 1e-9);
    assert!((portfolio.cash - (15_000.0 - 5.0)).abs() < 1e-9);
    assert!((account.locked_cash.free_cash() - (5_000.0 - 5.0)).abs() < 1e-9);
    // No night between two bars of one day: nothing.
    account.charge_borrow_fees(&mut portfolio, 0.0);
    assert!((account.borrow_fees()[1] - 5.0).abs() < 1e-9);
}

#[test]
fn a_margin_call_liquidates_the_largest_loss_until_the_rest_is_covered() {
    // Reg T (25% long maintenance), 10,000 cash. Long 300 @ 50 and 100 @ 100:
    // cash -15,000. Marked at 30 and 95: NLV -15,000 + 9,000 + 9,500 = 3,500
    // against 2,250 + 2,375 = 4,625 maintenance. The 6,000 loss goes first;
    // the 2,375 left is then covered, so the other position stays.
    let mut s = settings(true, ShortCashPolicy::Credit);
    s.enforce_margin_calls = true;
    let mut account = Account::new(s, 10_000.0, 2);
    let mut portfolio = Portfolio::new(10_000.0, 2);
    book(&mut account, &mut portfolio, &fill(0, OrderSide::Buy, 300.0, 50.0), &market(OrderSide::Buy, 300.0));
    book(&mut account, &mut portfolio, &fill(1, OrderSide::Buy, 100.0, 100.0), &market(OrderSide::Buy, 100.0));
    assert!(account.margin_call(&portfolio, 6).is_empty());
    portfolio.mark(0, 30.0);
    portfolio.mark(1, 95.0);
    assert_eq!(account.margin_call(&portfolio, 7), [(0, 300.0)]);
    assert_eq!(account.margin_calls(), [MarginCall { timestamp: 7, equity: 3_500.0, requirement: 4_625.0, liquidated: 1 }]);
}
