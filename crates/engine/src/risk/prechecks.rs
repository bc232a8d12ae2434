//! ml4t-backtest's NEXT_BAR cash models of other frameworks (all off by
//! default; the `backtrader_strict` and `lean` presets turn them on):
//!
//! * Submission precheck (`next_bar_submission_precheck`): a market or
//!   market-on-close order is checked when it is submitted, at the submission
//!   bar's price, against a shadow of the account taken at the first checked
//!   submission of the trading day. Without leverage (or with the simple cash
//!   check) this replays Backtrader's pseudo-execution of its submitted queue:
//!   every order moves the shadow cash, even one it refuses, and an order is
//!   refused once the shadow cash is negative. A margin account runs its
//!   buying-power rules against the shadow instead; accepted orders reserve
//!   their cost there, unless the queue shadow validation checks them again
//!   at the open (then each precheck stands alone).
//! * Simple cash check (`next_bar_simple_cash_check`, Backtrader): at the
//!   open a market entry passes when the cash left after it (at the open
//!   price, with commission) is >= 0, instead of the account check; a
//!   reversal that fails it still closes the old position.
//! * Queue shadow validation (`next_bar_queue_shadow_validation`, LEAN): the
//!   open pass validates every order in submission order against a shadow
//!   account (positions marked at the bar's reference price, each accepted
//!   order booked at its fill price) and then fills the accepted ones.
//! * Buying-power reservation (`buying_power_reservation`, LEAN): a market or
//!   market-on-close order reserves its cost (contract notional, shorts too,
//!   plus commission) in the same day's shadow when submitted, in any
//!   execution mode; one the shadow cash cannot pay for is refused and
//!   reserves nothing. A SEQUENTIAL pass then fills entries unchecked.

use nl_core::{AssetId, OrderSide, OrderType, Refusal};

use crate::account::policy::{entry_rejection, HeldPosition, Projected};
use crate::account::{Account, EntryCheck};
use crate::portfolio::{is_flat, Portfolio};

/// A shadow account's position: asset, signed quantity and a price (the
/// precheck's cost basis, or the queue shadow's mark).
pub(crate) type Holding = (AssetId, f64, f64);

/// The account as submission prechecks see it during one trading day.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubmissionShadow {
    /// The trading day (the bar, without sessions) it was taken on.
    pub(crate) day: Option<i64>,
    pub(crate) cash: f64,
    pub(crate) holdings: Vec<Holding>,
}

/// The next-bar cash models' settings (from the engine config).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PrecheckSettings {
    /// NEXT_BAR execution (every model here is a next-bar one).
    pub next_bar: bool,
    pub submission_precheck: bool,
    pub simple_cash_check: bool,
    pub queue_shadow_validation: bool,
    pub buying_power_reservation: bool,
    pub skip_cash_validation: bool,
    pub allow_leverage: bool,
    pub allow_short_selling: bool,
    pub cash_buffer_pct: f64,
}

/// The next-bar cash models and the shadow account submission prechecks
/// keep through a trading day.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prechecks {
    pub(crate) settings: PrecheckSettings,
    shadow: SubmissionShadow,
}

impl Prechecks {
    pub(crate) fn new(settings: PrecheckSettings) -> Self {
        Self { settings, shadow: SubmissionShadow::default() }
    }

    /// Whether an order of `order_type` is checked when it is submitted.
    pub(crate) fn checks_submission(&self, order_type: OrderType) -> bool {
        let s = &self.settings;
        s.submission_precheck && s.next_bar && matches!(order_type, OrderType::Market | OrderType::MarketOnClose)
    }

    /// Whether an order of `order_type` reserves buying power when submitted.
    pub(crate) fn reserves_buying_power(&self, order_type: OrderType) -> bool {
        self.settings.buying_power_reservation && matches!(order_type, OrderType::Market | OrderType::MarketOnClose)
    }

    /// Whether a SEQUENTIAL pass fills entries without the account check
    /// (their reservation was the check).
    pub(crate) fn reservation_validates_sequential_pass(&self) -> bool {
        self.settings.buying_power_reservation
    }

    /// LEAN's reservation of `size` (signed) of `asset` at `price` (contract
    /// `multiplier`) with `commission`: what it closes frees its value in the
    /// shadow, what it opens (long or short) takes it. Refused, and nothing
    /// reserved, when the shadow cash would go negative.
    pub(crate) fn reserve(&mut self, asset: AssetId, size: f64, price: f64, multiplier: f64, commission: f64)
        -> Option<Refusal> {
        let shadow = &mut self.shadow;
        let (held, basis) = shadow.holdings.iter().find(|h| h.0 == asset).map_or((0.0, price), |h| (h.1, h.2));
        let after = update_position(held, basis, size, price);
        let mut cash = shadow.cash;
        if after.closed != 0.0 {
            cash += -after.closed * price * multiplier;
        }
        if after.opened != 0.0 {
            cash -= after.opened.abs() * price * multiplier;
        }
        cash -= commission;
        if cash < 0.0 {
            return Some(Refusal::ReservationBuyingPower);
        }
        shadow.cash = cash;
        set_holding(&mut shadow.holdings, asset, after.quantity, after.basis, held.abs().max(size.abs()));
        None
    }

    /// Takes a new shadow at the first checked submission of trading day
    /// `day`: the portfolio's cash and open positions, each at its mark now
    /// (`mark(asset, quantity)`), else its last mark, else its entry price.
    pub(crate) fn refresh_shadow(&mut self, day: i64, portfolio: &Portfolio, mark: impl Fn(AssetId, f64) -> Option<f64>) {
        if self.shadow.day == Some(day) {
            return;
        }
        let known = |x: f64| (x != 0.0 && !x.is_nan()).then_some(x);
        let holdings = portfolio.positions().filter(|p| !is_flat(p.quantity, p.quantity)).map(|p| {
            let basis = mark(p.asset, p.quantity).and_then(known).or(known(p.current_price)).unwrap_or(p.entry_price);
            (p.asset, p.quantity, basis)
        }).collect();
        self.shadow = SubmissionShadow { day: Some(day), cash: portfolio.cash, holdings };
    }

    /// Why a submitted `side` order of `quantity` of `asset` at `price` with
    /// `commission` is refused, if it is: a margin account's buying-power
    /// rules against the shadow (unless the simple cash check stands in),
    /// else Backtrader's pseudo-execution. `mark(asset, quantity)` is an
    /// asset's mark now, if it has one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_submission(&mut self, account: &Account, portfolio: &Portfolio, asset: AssetId, side: OrderSide,
                                   quantity: f64, price: f64, commission: f64,
                                   mark: impl Fn(AssetId, f64) -> Option<f64>) -> Option<Refusal> {
        if self.settings.allow_leverage && !self.settings.simple_cash_check {
            self.margin_precheck(account, portfolio, asset, side, quantity, price, commission, mark)
        } else {
            self.pseudo_execute(asset, side.sign() * quantity, price, commission)
        }
    }

    /// Backtrader's check: the order is booked in the shadow at `price`
    /// (shorts credit cash, no multiplier, as Backtrader's stock-like
    /// positions) whether or not it is refused; refused when the shadow cash
    /// is then negative.
    pub(crate) fn pseudo_execute(&mut self, asset: AssetId, size: f64, price: f64, commission: f64) -> Option<Refusal> {
        let shadow = &mut self.shadow;
        let (held, basis) = shadow.holdings.iter().find(|h| h.0 == asset).map_or((0.0, price), |h| (h.1, h.2));
        let after = update_position(held, basis, size, price);
        let mut cash = shadow.cash;
        if after.closed != 0.0 {
            cash += -after.closed * price;
        }
        if after.opened != 0.0 {
            cash -= after.opened * price;
        }
        cash -= commission;
        shadow.cash = cash;
        set_holding(&mut shadow.holdings, asset, after.quantity, after.basis, held.abs().max(size.abs()));
        (cash < 0.0).then_some(Refusal::SubmissionPrecheckCash)
    }

    /// A margin account's check: its buying-power rules against the shadow
    /// (holdings at their marks now, less the cash buffer). An accepted
    /// order reserves its cost in the shadow unless the open pass validates
    /// the queue again.
    #[allow(clippy::too_many_arguments)]
    fn margin_precheck(&mut self, account: &Account, portfolio: &Portfolio, asset: AssetId, side: OrderSide,
                       quantity: f64, price: f64, commission: f64, mark: impl Fn(AssetId, f64) -> Option<f64>)
        -> Option<Refusal> {
        let size = side.sign() * quantity;
        let shadow = &self.shadow;
        let (held, basis) = shadow.holdings.iter().find(|h| h.0 == asset).map_or((0.0, price), |h| (h.1, h.2));
        let holdings: Vec<Holding> =
            shadow.holdings.iter().map(|&(a, q, basis)| (a, q, mark(a, q).filter(|&m| m != 0.0).unwrap_or(basis))).collect();
        let mut available = shadow.cash;
        let buffer = self.settings.cash_buffer_pct;
        if buffer > 0.0 && available > 0.0 {
            available *= 1.0 - buffer;
        }
        let multiplier = portfolio.multiplier(asset);
        let check = EntryCheck { held, side, quantity, price, multiplier, commission };
        if let Some(reason) = shadow_rejection(account, portfolio, self.settings.allow_short_selling, &check, asset,
                                               &holdings, available) {
            return Some(reason);
        }
        if !self.settings.queue_shadow_validation {
            let after = update_position(held, basis, size, price);
            let cost = -size * price * multiplier - commission;
            let shadow = &mut self.shadow;
            shadow.cash += cost;
            set_holding(&mut shadow.holdings, asset, after.quantity, after.basis, held.abs().max(size.abs()));
        }
        None
    }

    /// Whether an order of `order_type` gets Backtrader's simple cash check
    /// in a pass at the open (`at_open`).
    pub(crate) fn uses_simple_cash_check(&self, order_type: OrderType, at_open: bool) -> bool {
        let s = &self.settings;
        s.simple_cash_check && !s.skip_cash_validation && s.next_bar && at_open && order_type == OrderType::Market
    }

    /// Whether a pass at the open (`at_open`) over all pending orders
    /// (`restricted`: only some) is LEAN's queue-validated open pass.
    pub(crate) fn validates_queue(&self, at_open: bool, restricted: bool) -> bool {
        let s = &self.settings;
        s.queue_shadow_validation && s.next_bar && at_open && !restricted
    }

    pub(crate) fn allow_short_selling(&self) -> bool {
        self.settings.allow_short_selling
    }
}

/// Backtrader's open cash check of `quantity` of a `side` order against the
/// position `held` at `price` (contract `multiplier`) with `cash`: the
/// quantity that may fill, or `None` (refused). A reduction passes; a
/// reversal cash cannot pay for is cut to its closing leg. `commission()`
/// is asked only when cash decides.
pub(crate) fn simple_cash_check<E>(held: f64, side: OrderSide, quantity: f64, price: f64, multiplier: f64, cash: f64,
                                   commission: impl FnOnce() -> Result<f64, E>) -> Result<Option<f64>, E> {
    let size = side.sign() * quantity;
    let opposite = held * size < 0.0;
    if opposite && quantity <= held.abs() {
        return Ok(Some(quantity));
    }
    let cash_after = cash - size * price * multiplier - commission()?;
    if cash_after >= 0.0 {
        return Ok(Some(quantity));
    }
    Ok(opposite.then_some(held.abs()))
}

/// The account's reason to refuse `check` on `asset` against a shadow:
/// `cash` and `holdings` (marked) instead of the portfolio's.
pub(crate) fn shadow_rejection(account: &Account, portfolio: &Portfolio, allow_short_selling: bool, check: &EntryCheck,
                               asset: AssetId, holdings: &[Holding], cash: f64) -> Option<Refusal> {
    // The account's rules see every order here, exits too (ml4t's policy
    // classifies with a rounding tolerance, then checks the result
    // exactly): a short an account without shorts holds
    // (skip_cash_validation) can only be closed, not reduced.
    let (held, delta) = (check.held, check.side.sign() * check.quantity);
    let after = held + delta;
    let open = !is_flat(held, held);
    let reverses = open && !is_flat(after, held.abs().max(delta.abs())) && (held > 0.0) != (after > 0.0);
    if open && !reverses && held * delta < 0.0 {
        if allow_short_selling {
            return None;
        }
        if after != 0.0 && (held > 0.0) != (after > 0.0) {
            return Some(Refusal::ReversalNotAllowedFrom { current: held, delta });
        }
        return (after < 0.0).then_some(Refusal::ShortPositionsNotAllowed);
    }
    let check = &EntryCheck { held: if open { held } else { 0.0 }, ..*check };
    let (price, multiplier) = (check.price, check.multiplier);
    let margin = &account.margin;
    // The shadow's positions, each at its mark (entry prices play no part here).
    let held = || holdings.iter().map(|&(a, q, mark)| HeldPosition::marked(a, q, mark, mark, portfolio.multiplier(a)));
    let projected = |cash: f64, after: f64| margin.projected_rejection(held(), asset, multiplier, after, price, cash);
    let projected: Projected<'_> = margin.uses_projected(asset).then_some(&projected);
    let buying_power = |cash: f64, without_asset: bool| {
        margin.buying_power_over(|| held().filter(move |h| !(without_asset && h.asset == asset)), cash)
    };
    entry_rejection(&account.settings.rules, cash, 0.0, cash, check, buying_power, projected)
}

/// Sets `asset`'s quantity and price in `holdings`; a quantity that is zero
/// up to the rounding of `scale` removes it (the others keep their order).
pub(crate) fn set_holding(holdings: &mut Vec<Holding>, asset: AssetId, quantity: f64, price: f64, scale: f64) {
    let slot = holdings.iter().position(|h| h.0 == asset);
    match slot {
        _ if is_flat(quantity, scale) => {
            if let Some(i) = slot {
                holdings.remove(i);
            }
        }
        Some(i) => holdings[i] = (asset, quantity, price),
        None => holdings.push((asset, quantity, price)),
    }
}

/// A position after a trade, as Backtrader's `Position.update` books it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PositionUpdate {
    pub(crate) quantity: f64,
    pub(crate) basis: f64,
    /// The signed part of the trade that opened (or added to) a position.
    pub(crate) opened: f64,
    /// The signed part of the trade that closed the old position.
    pub(crate) closed: f64,
}

/// Backtrader's `Position.update`: `size` (signed) at `price` traded against
/// `held` at cost `basis`.
pub(crate) fn update_position(held: f64, basis: f64, size: f64, price: f64) -> PositionUpdate {
    let quantity = held + size;
    let scale = held.abs().max(size.abs());
    if is_flat(quantity, scale) {
        return PositionUpdate { quantity: 0.0, basis: 0.0, opened: 0.0, closed: size };
    }
    if is_flat(held, held) {
        return PositionUpdate { quantity, basis: price, opened: size, closed: 0.0 };
    }
    let adds = (held > 0.0) == (size > 0.0);
    if adds {
        let basis = (basis * held + size * price) / quantity;
        return PositionUpdate { quantity, basis, opened: size, closed: 0.0 };
    }
    if (held > 0.0) == (quantity > 0.0) {
        return PositionUpdate { quantity, basis, opened: 0.0, closed: size };
    }
    // Reversed: the old position closed, the rest opened at `price`.
    PositionUpdate { quantity, basis: price, opened: quantity, closed: -held }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::account_tests::{fill, settings};
    use crate::account::ShortCashPolicy;

    #[test]
    fn backtrader_position_update_splits_reversals_into_close_and_open() {
        // Long 10 @ 100, buy 10 @ 110: 20 @ 105, all opened.
        assert_eq!(update_position(10.0, 100.0, 10.0, 110.0),
                   PositionUpdate { quantity: 20.0, basis: 105.0, opened: 10.0, closed: 0.0 });
        // Sell 4: 6 left at the old basis, 4 closed.
        assert_eq!(update_position(10.0, 100.0, -4.0, 110.0),
                   PositionUpdate { quantity: 6.0, basis: 100.0, opened: 0.0, closed: -4.0 });
        // Sell 30: 10 closed, short 20 opened at 110.
        assert_eq!(update_position(10.0, 100.0, -30.0, 110.0),
                   PositionUpdate { quantity: -20.0, basis: 110.0, opened: -20.0, closed: -10.0 });
        // Sell 10: flat, the whole trade closed.
        assert_eq!(update_position(10.0, 100.0, -10.0, 110.0),
                   PositionUpdate { quantity: 0.0, basis: 0.0, opened: 0.0, closed: -10.0 });
        // From flat, a short opens at the price.
        assert_eq!(update_position(0.0, 50.0, -5.0, 50.0),
                   PositionUpdate { quantity: -5.0, basis: 50.0, opened: -5.0, closed: 0.0 });
    }

    fn backtrader() -> Prechecks {
        Prechecks::new(PrecheckSettings { next_bar: true, submission_precheck: true, ..PrecheckSettings::default() })
    }

    #[test]
    fn pseudo_execution_books_every_order_and_refuses_once_cash_is_negative() {
        let account = Account::new(settings(false, ShortCashPolicy::Credit), 1_000.0, 1);
        let portfolio = Portfolio::new(1_000.0, 1);
        let mut p = backtrader();
        assert!(p.checks_submission(OrderType::Market) && p.checks_submission(OrderType::MarketOnClose));
        assert!(!p.checks_submission(OrderType::Limit));
        p.refresh_shadow(1, &portfolio, |_, _| None);
        let mut check = |side, quantity| p.check_submission(&account, &portfolio, 0, side, quantity, 100.0, 1.0, |_, _| None);
        // Buy 8 @ 100 + 1: 199 left. Buy 2 more: -2, refused (and still booked).
        assert_eq!(check(OrderSide::Buy, 8.0), None);
        assert_eq!(check(OrderSide::Buy, 2.0), Some(Refusal::SubmissionPrecheckCash));
        // Selling the 10 booked: -2 + 1,000 - 1 = 997.
        assert_eq!(check(OrderSide::Sell, 10.0), None);
        assert_eq!((p.shadow.cash, p.shadow.holdings.len()), (997.0, 0));
        // The same day keeps the shadow; a new day takes a new one, each
        // position at its mark now, else its last mark, else its entry.
        let mut held = Portfolio::new(5.0, 3);
        for asset in 0..3 {
            held.apply_fill(&fill(asset, OrderSide::Buy, 1.0, 10.0), 0.0);
        }
        held.mark(1, 12.0);
        held.mark(2, f64::NAN);
        p.refresh_shadow(1, &held, |_, _| unreachable!());
        assert_eq!(p.shadow.cash, 997.0);
        p.refresh_shadow(2, &held, |a, _| (a == 0).then_some(11.0));
        assert_eq!((p.shadow.cash, p.shadow.holdings.clone()), (-25.0, vec![(0, 1.0, 11.0), (1, 1.0, 12.0), (2, 1.0, 10.0)]));
    }

    #[test]
    fn a_margin_precheck_reserves_buying_power_in_the_shadow() {
        // Reg T, 10,000 in the shadow. Buy 150 @ 100 (15,000 of 20,000 buying
        // power): accepted, reserving it (cash -5,000, 150 held at 100). Buy
        // 60 more: (-5,000 + 15,000 - 7,500) / 0.5 = 5,000 < 6,000.
        let account = Account::new(settings(true, ShortCashPolicy::Credit), 10_000.0, 1);
        let portfolio = Portfolio::new(10_000.0, 1);
        let mut p = Prechecks::new(PrecheckSettings { allow_leverage: true, allow_short_selling: true, ..backtrader().settings });
        p.refresh_shadow(1, &portfolio, |_, _| None);
        let mut check = |quantity| p.check_submission(&account, &portfolio, 0, OrderSide::Buy, quantity, 100.0, 0.0, |_, _| None);
        assert_eq!(check(150.0), None);
        assert_eq!(check(60.0).map(|r| r.to_string()).as_deref(),
                   Some("Insufficient buying power: need $6000.00, have $5000.00 (IM=50.0%)"));
        assert_eq!((p.shadow.cash, p.shadow.holdings.clone()), (-5_000.0, vec![(0, 150.0, 100.0)]));
    }

    #[test]
    fn a_reservation_takes_contract_notional_and_a_refused_order_reserves_nothing() {
        // 100,000 in the shadow; one contract x 50 @ 1,000 reserves 50,000 (+ 2 fee).
        let portfolio = Portfolio::new(100_000.0, 1);
        let mut p = Prechecks::new(PrecheckSettings { buying_power_reservation: true, ..PrecheckSettings::default() });
        assert!(p.reserves_buying_power(OrderType::Market) && p.reserves_buying_power(OrderType::MarketOnClose));
        assert!(!p.reserves_buying_power(OrderType::Limit) && p.reservation_validates_sequential_pass());
        p.refresh_shadow(1, &portfolio, |_, _| None);
        assert_eq!(p.reserve(0, 1.0, 1_000.0, 50.0, 2.0), None);
        // A second: 49,998 - 50,002 < 0, refused; the shadow is unchanged.
        assert_eq!(p.reserve(0, 1.0, 1_000.0, 50.0, 2.0), Some(Refusal::ReservationBuyingPower));
        assert_eq!((p.shadow.cash, p.shadow.holdings.clone()), (49_998.0, vec![(0, 1.0, 1_000.0)]));
        // Selling 3 closes the 1 (frees 50,000) and opens a short of 2, which
        // takes 100,000 too: 49,998 + 50,000 - 100,000 - 2 < 0, refused.
        assert_eq!(p.reserve(0, -3.0, 1_000.0, 50.0, 2.0), Some(Refusal::ReservationBuyingPower));
        // Selling the 1: 49,998 + 50,000 - 2 = 99,996, nothing held.
        assert_eq!(p.reserve(0, -1.0, 1_000.0, 50.0, 2.0), None);
        assert_eq!((p.shadow.cash, p.shadow.holdings.len()), (99_996.0, 0));
        assert_eq!(Refusal::ReservationBuyingPower.to_string(), "Insufficient buying power");
    }

    #[test]
    fn the_open_cash_check_cuts_a_reversal_to_its_closing_leg() {
        let none = || -> Result<f64, ()> { Ok(0.0) };
        // Buy 10 @ 100 with 999: refused; with 1,000: passes.
        assert_eq!(simple_cash_check(0.0, OrderSide::Buy, 10.0, 100.0, 1.0, 999.0, none), Ok(None));
        assert_eq!(simple_cash_check(0.0, OrderSide::Buy, 10.0, 100.0, 1.0, 1_000.0, none), Ok(Some(10.0)));
        // Selling 3 of a long 5 passes without asking the commission.
        assert_eq!(simple_cash_check(5.0, OrderSide::Sell, 3.0, 100.0, 1.0, 0.0, || -> Result<f64, ()> { Err(()) }),
                   Ok(Some(3.0)));
        // Short 5, buy 20 @ 100 with 500: 500 - 2,000 < 0, so only the 5 covering.
        assert_eq!(simple_cash_check(-5.0, OrderSide::Buy, 20.0, 100.0, 1.0, 500.0, none), Ok(Some(5.0)));
        let p = Prechecks::new(PrecheckSettings { simple_cash_check: true, queue_shadow_validation: true, ..backtrader().settings });
        assert!(p.uses_simple_cash_check(OrderType::Market, true) && !p.uses_simple_cash_check(OrderType::Market, false));
        assert!(p.validates_queue(true, false) && !p.validates_queue(true, true));
    }

    #[test]
    fn a_holding_that_nets_to_zero_leaves_the_shadow() {
        let mut h = vec![(0, 10.0, 100.0), (1, 5.0, 20.0)];
        set_holding(&mut h, 0, 0.1 + 0.2 - 0.3, 0.0, 10.0);
        assert_eq!(h, vec![(1, 5.0, 20.0)]);
        set_holding(&mut h, 2, -3.0, 7.0, 3.0);
        set_holding(&mut h, 1, 8.0, 21.0, 5.0);
        assert_eq!(h, vec![(1, 8.0, 21.0), (2, -3.0, 7.0)]);
    }
}
