//! The account policy's judgements, one function per question ml4t-backtest's
//! `UnifiedAccountPolicy` answers: may a new position open, may a position
//! change, may a position reverse, what cash may entries spend. The engine's
//! own check of an order (`order_rejection`) is composed of them, and
//! `nautilus_like.accounting` calls the same functions for a policy object
//! used on its own, so the two cannot disagree.
//!
//! Every function takes the account's open positions as `HeldPosition`s
//! (from the engine's portfolio, or from Python `Position` objects).

use nl_core::{AssetId, Refusal};

use crate::account::margin::Margin;
use crate::account::{order_effect, AccountRules, AccountSettings, EntryCheck, OrderEffect, ShortCashPolicy, CASH_TOLERANCE};
use crate::portfolio::is_flat;

/// One open position as the account's checks read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldPosition {
    pub asset: AssetId,
    /// Signed quantity.
    pub quantity: f64,
    pub entry_price: f64,
    /// Its current mark.
    pub mark: f64,
    /// Contract multiplier (1 for equities).
    pub multiplier: f64,
    /// What it adds to net liquidation value: quantity x mark x multiplier
    /// (a position valued against a variation basis says otherwise).
    pub market_value: f64,
}

impl HeldPosition {
    /// A position whose market value is quantity x mark x multiplier.
    pub fn marked(asset: AssetId, quantity: f64, entry_price: f64, mark: f64, multiplier: f64) -> Self {
        Self { asset, quantity, entry_price, mark, multiplier, market_value: quantity * mark * multiplier }
    }
}

/// A margin schedule's check of a position after the order, given the cash
/// to judge with and the quantity held after it (see `Margin::projected_rejection`).
pub type Projected<'a> = Option<&'a dyn Fn(f64, f64) -> Option<Refusal>>;

/// Collateral a locked short (LOCK_NOTIONAL) releases when it is closed:
/// its entry notional, twice.
pub fn released_short_collateral(held: f64, entry_price: f64, multiplier: f64) -> f64 {
    2.0 * held.abs() * entry_price * multiplier
}

/// Cash the policy leaves for entries: in a short-enabled account without
/// leverage, cash less the shorts' entry notional when their proceeds are
/// held (CREDIT_PROCEEDS), less twice it when locked (LOCK_NOTIONAL).
pub fn spendable_cash(rules: &AccountRules, cash: f64, positions: impl Iterator<Item = HeldPosition>) -> f64 {
    if rules.allow_leverage || !rules.allow_short_selling || rules.short_cash_policy == ShortCashPolicy::Credit {
        return cash;
    }
    let collateral = positions.filter(|p| p.quantity < 0.0)
        .fold(0.0, |acc, p| acc + p.quantity.abs() * p.entry_price * p.multiplier);
    match rules.short_cash_policy {
        ShortCashPolicy::LockNotional => cash - 2.0 * collateral,
        _ => cash - collateral,
    }
}

/// What entries may spend out of `spendable`: less unsettled sale proceeds
/// (when settlement reduces buying power), then less the cash buffer.
pub fn available_cash(settings: &AccountSettings, spendable: f64, unsettled: f64) -> f64 {
    let mut available = spendable;
    if settings.settlement_reduces_buying_power {
        available -= unsettled;
    }
    let buffer = settings.cash_buffer_pct;
    if buffer > 0.0 && available > 0.0 { available * (1.0 - buffer) } else { available }
}

/// Buying power for new longs: a margin account's `margin_buying_power`,
/// else spendable cash, never negative.
pub fn buying_power(rules: &AccountRules, spendable: f64, margin_buying_power: impl FnOnce() -> f64) -> f64 {
    if rules.allow_leverage { margin_buying_power() } else { spendable.max(0.0) }
}

/// Why the account refuses to open `quantity` (signed) at `price` with
/// `cash`, if it does (ml4t's `validate_new_position`). `buying_power(cash)`
/// is a margin account's over the open positions.
pub fn new_position_rejection(
    rules: &AccountRules,
    quantity: f64,
    price: f64,
    multiplier: f64,
    cash: f64,
    buying_power: impl Fn(f64) -> f64,
    projected: Projected<'_>,
) -> Option<Refusal> {
    if quantity < 0.0 && !rules.allow_short_selling {
        return Some(Refusal::ShortSellingNotAllowed);
    }
    if let Some(check) = projected {
        return check(cash, quantity);
    }
    let need = (quantity * price * multiplier).abs();
    if short_needs_no_cash(rules, quantity) {
        return None;
    }
    if rules.allow_leverage {
        return buying_power_rejection(rules, need, buying_power(cash));
    }
    (need > cash + cash_tolerance(rules)).then(|| {
        if rules.allow_short_selling {
            // ml4t's words: anything but a long (even nothing) is "short".
            Refusal::InsufficientCashFor { short: !(quantity > 0.0), need, have: cash }
        } else {
            Refusal::InsufficientCash { need, have: cash }
        }
    })
}

/// Why the account refuses to change `held` (signed) by `delta` at `price`
/// with `cash`, if it does (ml4t's `validate_position_change`): a cash
/// account neither reverses nor holds a short; reducing is free; adding (or
/// the new side of a reversal) must be paid for.
#[allow(clippy::too_many_arguments)]
pub fn position_change_rejection(
    rules: &AccountRules,
    held: f64,
    delta: f64,
    price: f64,
    multiplier: f64,
    cash: f64,
    buying_power: impl Fn(f64) -> f64,
    projected: Projected<'_>,
) -> Option<Refusal> {
    let after = held + delta;
    let reversal = (held > 0.0 && after < 0.0) || (held < 0.0 && after > 0.0);
    if reversal && !rules.allow_short_selling {
        return Some(Refusal::ReversalNotAllowedFrom { current: held, delta });
    }
    if after < 0.0 && !rules.allow_short_selling {
        return Some(Refusal::ShortPositionsNotAllowed);
    }
    let closing = (held > 0.0 && delta < 0.0) || (held < 0.0 && delta > 0.0);
    if closing && !reversal && delta.abs() <= held.abs() {
        return None;
    }
    if let Some(check) = projected {
        return check(cash, after);
    }
    if short_needs_no_cash(rules, after) && delta < 0.0 {
        return None;
    }
    // A reversal pays for its new side; anything else for the change.
    let need = if reversal { (after * price * multiplier).abs() } else { (delta * price * multiplier).abs() };
    if rules.allow_leverage {
        return buying_power_rejection(rules, need, buying_power(cash));
    }
    (need > cash + cash_tolerance(rules)).then_some(Refusal::InsufficientCash { need, have: cash })
}

/// Why the account refuses to reverse `held` (signed) by `delta` at `price`,
/// if it does (ml4t's `handle_reversal`): the old position is closed first
/// (`cash` grows by a long's proceeds, shrinks by a short's cover, and a
/// locked short's `released` collateral comes back; `commission` is paid),
/// then the new side must fit. `buying_power(cash, without_asset)` leaves
/// the closed position out when `without_asset`.
#[allow(clippy::too_many_arguments)]
pub fn reversal_rejection(
    rules: &AccountRules,
    held: f64,
    delta: f64,
    price: f64,
    multiplier: f64,
    cash: f64,
    released: f64,
    commission: f64,
    buying_power: impl Fn(f64, bool) -> f64,
    projected: Projected<'_>,
) -> Option<Refusal> {
    if !rules.allow_short_selling {
        return Some(Refusal::ReversalNotAllowed);
    }
    let after = held + delta;
    if let Some(check) = projected {
        return check(cash - commission, after);
    }
    let proceeds = (held * price * multiplier).abs();
    let locked = !rules.allow_leverage && rules.short_cash_policy == ShortCashPolicy::LockNotional;
    let cash_after_close = if held > 0.0 {
        cash + proceeds
    } else if locked {
        cash + released - proceeds
    } else {
        cash - proceeds
    } - commission;
    if rules.allow_leverage {
        return new_position_rejection(rules, after, price, multiplier, cash_after_close, |c| buying_power(c, true), None);
    }
    if short_needs_no_cash(rules, after) {
        return None;
    }
    let need = (after * price * multiplier).abs();
    (need > cash_after_close + cash_tolerance(rules))
        .then_some(Refusal::InsufficientCashForReversal { need, have: cash_after_close })
}

/// Why the account refuses entry `e` (ml4t's gatekeeper, minus the cash it
/// computes): exits pass, reversals are judged against `cash` (plus a locked
/// short's `released` collateral), entries against `available`, commission
/// included. `buying_power(cash, without_asset)` as in `reversal_rejection`.
pub fn entry_rejection(
    rules: &AccountRules,
    cash: f64,
    released: f64,
    available: f64,
    e: &EntryCheck,
    buying_power: impl Fn(f64, bool) -> f64,
    projected: Projected<'_>,
) -> Option<Refusal> {
    let delta = e.side.sign() * e.quantity;
    match order_effect(e.held, e.side, e.quantity) {
        OrderEffect::Exit => None,
        OrderEffect::Reversal => reversal_rejection(rules, e.held, delta, e.price, e.multiplier, cash, released,
            e.commission, buying_power, projected),
        OrderEffect::Entry => {
            let available = available - e.commission;
            let bp = |c: f64| buying_power(c, false);
            if e.held == 0.0 {
                new_position_rejection(rules, delta, e.price, e.multiplier, available, bp, projected)
            } else {
                position_change_rejection(rules, e.held, delta, e.price, e.multiplier, available, bp, projected)
            }
        }
    }
}

/// The account's state beside its open positions, as an order check reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ledger {
    pub cash: f64,
    /// Free cash of a LOCK_NOTIONAL account (its entries spend this).
    pub free_cash: f64,
    /// Sale proceeds not yet settled.
    pub unsettled: f64,
}

/// Why the account refuses the order `check` on `asset`, if it does: the
/// whole check the engine makes before a fill (ml4t's `Gatekeeper`). A
/// position within rounding noise of zero counts as flat; `positions()`
/// gives the open positions in opening order.
pub fn order_rejection<I: Iterator<Item = HeldPosition>>(
    settings: &AccountSettings,
    margin: &Margin,
    asset: AssetId,
    check: &EntryCheck,
    ledger: Ledger,
    positions: impl Fn() -> I,
) -> Option<Refusal> {
    let rules = &settings.rules;
    let held = if is_flat(check.held, check.held) { 0.0 } else { check.held };
    let check = &EntryCheck { held, ..*check };
    let locked = rules.short_cash_policy == ShortCashPolicy::LockNotional && !rules.allow_leverage;
    let spendable = if locked { ledger.free_cash } else { spendable_cash(rules, ledger.cash, positions()) };
    let available = available_cash(settings, spendable, ledger.unsettled);
    let (cash, released) = if locked {
        let entry = positions().find(|p| p.asset == asset).map(|p| p.entry_price);
        let released = match entry {
            Some(entry) if held < 0.0 => released_short_collateral(held, entry, check.multiplier),
            _ => 0.0,
        };
        (ledger.free_cash, released)
    } else {
        (ledger.cash, 0.0)
    };
    let price = check.price;
    let multiplier = check.multiplier;
    let projected =
        |cash: f64, after: f64| margin.projected_rejection(positions(), asset, multiplier, after, price, cash);
    let projected: Projected<'_> = margin.uses_projected(asset).then_some(&projected);
    let buying_power = |cash: f64, without_asset: bool| {
        margin.buying_power_over(|| positions().filter(move |p| !(without_asset && p.asset == asset)), cash)
    };
    entry_rejection(rules, cash, released, available, check, buying_power, projected)
}

/// One of a margin account's rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarginRate {
    Initial,
    LongMaintenance,
    ShortMaintenance,
}

impl MarginRate {
    /// The setting's name.
    pub fn field(self) -> &'static str {
        match self {
            Self::Initial => "initial_margin",
            Self::LongMaintenance => "long_maintenance_margin",
            Self::ShortMaintenance => "short_maintenance_margin",
        }
    }
}

/// Why a margin account's rates are refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarginRateError {
    /// Not a fraction in (0, 1].
    OutOfRange { rate: MarginRate, value: f64 },
    /// A maintenance rate above the initial rate (equal is allowed).
    AboveInitial { rate: MarginRate, value: f64, initial: f64 },
}

/// Checks a margin account's rates: each in (0, 1], maintenance <= initial.
pub fn check_margin_rates(initial: f64, long_maintenance: f64, short_maintenance: f64) -> Result<(), MarginRateError> {
    let rates = [(MarginRate::Initial, initial), (MarginRate::LongMaintenance, long_maintenance),
                 (MarginRate::ShortMaintenance, short_maintenance)];
    if let Some(&(rate, value)) = rates.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0 && *v <= 1.0)) {
        return Err(MarginRateError::OutOfRange { rate, value });
    }
    match rates[1..].iter().find(|(_, v)| *v > initial) {
        Some(&(rate, value)) => Err(MarginRateError::AboveInitial { rate, value, initial }),
        None => Ok(()),
    }
}

/// A margin account's buying-power shortfall, if `need` exceeds `have`.
fn buying_power_rejection(rules: &AccountRules, need: f64, have: f64) -> Option<Refusal> {
    (need > have + CASH_TOLERANCE).then_some(Refusal::InsufficientBuyingPower { need, have, initial_margin: rules.initial_margin })
}

/// Opening or adding to a short in an account without leverage that holds
/// short proceeds as collateral (CREDIT_PROCEEDS) needs no cash.
fn short_needs_no_cash(rules: &AccountRules, after: f64) -> bool {
    !rules.allow_leverage && rules.allow_short_selling && rules.short_cash_policy == ShortCashPolicy::CreditProceeds
        && after < 0.0
}

/// Locked collateral is exact: its cash checks allow no rounding slack.
fn cash_tolerance(rules: &AccountRules) -> f64 {
    if rules.short_cash_policy == ShortCashPolicy::LockNotional { 0.0 } else { CASH_TOLERANCE }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
