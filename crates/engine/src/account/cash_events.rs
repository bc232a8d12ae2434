//! Scheduled cash movements outside trading: external capital flows
//! (deposits, withdrawals, target account values) and perpetual-futures
//! funding payments, as ml4t-backtest 0.2.0 applies them.
//!
//! Both arrive as tables sorted by bar before the run (one entry per event,
//! the caller's order within a bar kept) and are applied as a bar opens,
//! after its marks are taken and before any order is matched. A schedule
//! is a cursor over its table: a run without events pays one comparison
//! per bar. Each bar's events apply all or nothing: an event that would
//! leave the ledger invalid refuses the bar's events with the cash untouched.

use nl_core::{AssetId, BarIndex, EngineError, EngineResult};

use crate::account::locked_cash::LockedCash;
use crate::portfolio::Portfolio;

/// How a capital flow's value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum CapitalFlowKind {
    /// Cash added (positive) or withdrawn (negative).
    Delta = 0,
    /// The account value after the flow: the difference moves as cash.
    Target = 1,
}

impl TryFrom<u32> for CapitalFlowKind {
    type Error = EngineError;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        match v {
            0 => Ok(Self::Delta),
            1 => Ok(Self::Target),
            _ => Err(EngineError::InvalidArgument(format!("unknown capital flow kind code {v}"))),
        }
    }
}

/// One scheduled external capital flow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapitalFlow {
    pub bar: BarIndex,
    pub kind: CapitalFlowKind,
    pub value: f64,
}

/// One applied capital flow: its cash and the account value around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapitalChange {
    pub bar: BarIndex,
    /// Position of the flow in the schedule it came from.
    pub flow: u32,
    pub cash_delta: f64,
    pub nav_before: f64,
    pub nav_after: f64,
}

/// How a funding event's payment is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FundingTerms {
    /// A fraction of the position's notional at its last price.
    Rate(f64),
    /// Account currency per underlying unit (quantity times multiplier).
    AmountPerUnit(f64),
}

/// One scheduled funding event of one asset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FundingEvent {
    pub bar: BarIndex,
    pub asset: AssetId,
    pub terms: FundingTerms,
}

/// One applied funding event (zero cash when nothing was held).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FundingPayment {
    pub bar: BarIndex,
    pub asset: AssetId,
    /// Signed position quantity at the event.
    pub quantity: f64,
    /// The last price the payment used (NaN without a position).
    pub mark_price: f64,
    pub multiplier: f64,
    pub cash_delta: f64,
}

/// Both schedules, their cursors and what they applied.
#[derive(Debug, Clone, Default)]
pub struct CashEvents {
    flows: Vec<CapitalFlow>,
    next_flow: usize,
    changes: Vec<CapitalChange>,
    funding: Vec<FundingEvent>,
    next_funding: usize,
    payments: Vec<FundingPayment>,
}

impl CashEvents {
    /// Sets the capital flow schedule (sorted by bar; values finite; a
    /// target nonnegative).
    pub fn set_flows(&mut self, flows: Vec<CapitalFlow>, n_bars: usize) -> EngineResult<()> {
        for (i, f) in flows.iter().enumerate() {
            check_bar("capital flow", i, f.bar, n_bars, flows.get(i.wrapping_sub(1)).map(|p| p.bar))?;
            if !f.value.is_finite() {
                return Err(EngineError::InvalidArgument(format!("capital flow {i}: value must be finite, got {}", f.value)));
            }
            if f.kind == CapitalFlowKind::Target && f.value < 0.0 {
                return Err(EngineError::InvalidArgument(format!(
                    "capital flow {i}: target capital must be nonnegative, got {}", f.value)));
            }
        }
        self.flows = flows;
        Ok(())
    }

    /// Sets the funding schedule (sorted by bar; one event per asset and
    /// bar; assets below `n_assets`; rates and amounts finite).
    pub fn set_funding(&mut self, events: Vec<FundingEvent>, n_bars: usize, n_assets: usize) -> EngineResult<()> {
        for (i, e) in events.iter().enumerate() {
            let previous = events.get(i.wrapping_sub(1));
            check_bar("funding event", i, e.bar, n_bars, previous.map(|p| p.bar))?;
            if e.asset as usize >= n_assets {
                return Err(EngineError::InvalidArgument(format!("funding event {i}: asset index {} is not in the feed", e.asset)));
            }
            let (FundingTerms::Rate(v) | FundingTerms::AmountPerUnit(v)) = e.terms;
            if !v.is_finite() {
                return Err(EngineError::InvalidArgument(format!("funding event {i}: rate or amount_per_unit must be finite, got {v}")));
            }
            if events[..i].iter().rev().take_while(|p| p.bar == e.bar).any(|p| p.asset == e.asset) {
                return Err(EngineError::InvalidArgument(format!(
                    "funding event {i}: duplicate funding event for asset index {} at bar {}", e.asset, e.bar)));
            }
        }
        self.funding = events;
        Ok(())
    }

    /// Whether bar `b` has events still to apply (the per-bar test).
    #[inline]
    pub fn due(&self, b: BarIndex) -> bool {
        self.flows.get(self.next_flow).is_some_and(|f| f.bar == b)
            || self.funding.get(self.next_funding).is_some_and(|e| e.bar == b)
    }

    pub fn capital_changes(&self) -> &[CapitalChange] {
        &self.changes
    }

    pub fn funding_payments(&self) -> &[FundingPayment] {
        &self.payments
    }

    /// Applies bar `b`'s capital flows at account value `nav` (positions at
    /// their current marks). `leverage`: an account that may borrow can
    /// withdraw beyond its cash (not beyond its value).
    pub fn apply_flows(&mut self, b: BarIndex, nav: f64, leverage: bool, portfolio: &mut Portfolio,
                       locked: &mut LockedCash) -> EngineResult<()> {
        let start = self.next_flow;
        let end = start + self.flows[start..].iter().take_while(|f| f.bar == b).count();
        let (mut cash, mut nav) = (portfolio.cash, nav);
        let mut changes = Vec::with_capacity(end - start);
        for (i, f) in self.flows[start..end].iter().enumerate() {
            let delta = match f.kind {
                CapitalFlowKind::Delta => f.value,
                CapitalFlowKind::Target => f.value - nav,
            };
            let (new_cash, new_nav) = (cash + delta, nav + delta);
            // (ml4t-backtest's messages, word for word: the differential
            // suite compares refusals by their text.)
            if !new_cash.is_finite() || !new_nav.is_finite() || new_nav < 0.0 {
                return Err(EngineError::InvalidArgument("capital change would make cash/NAV invalid".into()));
            }
            if !leverage && new_cash < 0.0 {
                return Err(EngineError::InvalidArgument("capital withdrawal exceeds available cash".into()));
            }
            changes.push(CapitalChange { bar: b, flow: (start + i) as u32, cash_delta: delta, nav_before: nav, nav_after: new_nav });
            (cash, nav) = (new_cash, new_nav);
        }
        let delta = cash - portfolio.cash;
        if !(locked.free_cash() + delta).is_finite() {
            return Err(EngineError::InvalidArgument("capital change would make available cash nonfinite".into()));
        }
        if delta != 0.0 {
            portfolio.cash = cash;
            locked.charge(-delta);
        }
        self.changes.extend(changes);
        self.next_flow = end;
        Ok(())
    }

    /// Applies bar `b`'s funding events to the positions held now, each at
    /// `last_price(asset)` (a rate needs a positive finite one).
    pub fn apply_funding(&mut self, b: BarIndex, portfolio: &mut Portfolio, locked: &mut LockedCash,
                         last_price: impl Fn(AssetId) -> f64) -> EngineResult<()> {
        let start = self.next_funding;
        let end = start + self.funding[start..].iter().take_while(|e| e.bar == b).count();
        let mut payments = Vec::with_capacity(end - start);
        for e in &self.funding[start..end] {
            let multiplier = portfolio.multiplier(e.asset);
            let held = portfolio.position(e.asset).map(|p| p.quantity);
            let quantity = held.unwrap_or(0.0);
            let mark = if held.is_some() { last_price(e.asset) } else { f64::NAN };
            let cash_delta = if quantity == 0.0 {
                0.0
            } else {
                match e.terms {
                    FundingTerms::Rate(rate) => {
                        if !(mark.is_finite() && mark > 0.0) {
                            return Err(EngineError::InvalidArgument(format!(
                                "funding mark is unavailable for asset index {}", e.asset)));
                        }
                        -quantity * mark * multiplier * rate
                    }
                    FundingTerms::AmountPerUnit(amount) => -quantity * multiplier * amount,
                }
            };
            if !cash_delta.is_finite() {
                return Err(EngineError::InvalidArgument(format!("funding cash flow is nonfinite for asset index {}", e.asset)));
            }
            payments.push(FundingPayment { bar: b, asset: e.asset, quantity, mark_price: mark, multiplier, cash_delta });
        }
        let total = crate::account::py_sum(payments.iter().map(|p| p.cash_delta));
        if !(portfolio.cash + total).is_finite() || !(locked.free_cash() + total).is_finite() {
            return Err(EngineError::InvalidArgument("funding would make the cash ledger nonfinite".into()));
        }
        if total != 0.0 {
            portfolio.cash += total;
            locked.charge(-total);
        }
        self.payments.extend(payments);
        self.next_funding = end;
        Ok(())
    }

    /// Whether bar `b` has capital flows to apply (the cursor is at them).
    pub fn flows_due(&self, b: BarIndex) -> bool {
        self.flows.get(self.next_flow).is_some_and(|f| f.bar == b)
    }

    /// Whether bar `b` has funding events to apply.
    pub fn funding_due(&self, b: BarIndex) -> bool {
        self.funding.get(self.next_funding).is_some_and(|e| e.bar == b)
    }
}

/// Event `i`'s bar must be in the feed and not before the previous event's.
fn check_bar(what: &str, i: usize, bar: BarIndex, n_bars: usize, previous: Option<BarIndex>) -> EngineResult<()> {
    if bar as usize >= n_bars {
        return Err(EngineError::InvalidArgument(format!("{what} {i}: bar {bar} is not in the feed ({n_bars} bars)")));
    }
    if previous.is_some_and(|p| p > bar) {
        return Err(EngineError::InvalidArgument(format!("{what} {i}: events must be sorted by time (bar {bar} after a later one)")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use nl_core::Position;

    use super::*;

    fn long(portfolio: &mut Portfolio, asset: AssetId, quantity: f64) {
        portfolio.put_position(asset, Position { quantity, entry_price: 100.0, current_price: 100.0, ..Default::default() });
    }

    #[test]
    fn a_deposit_then_a_target_use_the_running_account_value() {
        // Cash 1,000 and NAV 12,000 (positions worth 11,000): +1,000, then
        // target 10,000 withdraws 3,000; cash 1,000 -> 2,000 -> -1,000 with leverage.
        let (mut p, mut locked, mut events) = (Portfolio::new(1_000.0, 1), LockedCash::new(1_000.0, 1, crate::account::LockNotionalUpdateMode::PositionLegs), CashEvents::default());
        events.set_flows(vec![
            CapitalFlow { bar: 1, kind: CapitalFlowKind::Delta, value: 1_000.0 },
            CapitalFlow { bar: 1, kind: CapitalFlowKind::Target, value: 10_000.0 },
        ], 3).unwrap();
        assert!(!events.due(0) && events.due(1));
        events.apply_flows(1, 12_000.0, true, &mut p, &mut locked).unwrap();
        assert_eq!(p.cash, -1_000.0);
        assert_eq!(locked.free_cash(), -1_000.0);
        let c = events.capital_changes();
        assert_eq!((c[0].cash_delta, c[0].nav_before, c[0].nav_after), (1_000.0, 12_000.0, 13_000.0));
        assert_eq!((c[1].cash_delta, c[1].nav_before, c[1].nav_after, c[1].flow), (-3_000.0, 13_000.0, 10_000.0, 1));
        assert!(!events.due(1));
    }

    #[test]
    fn a_refused_flow_applies_none_of_its_bar() {
        let (mut p, mut locked, mut events) = (Portfolio::new(1_000.0, 1), LockedCash::new(1_000.0, 1, crate::account::LockNotionalUpdateMode::PositionLegs), CashEvents::default());
        events.set_flows(vec![
            CapitalFlow { bar: 0, kind: CapitalFlowKind::Delta, value: 500.0 },
            CapitalFlow { bar: 0, kind: CapitalFlowKind::Delta, value: -2_000.0 },
        ], 1).unwrap();
        let err = events.apply_flows(0, 1_000.0, false, &mut p, &mut locked).unwrap_err();
        assert!(err.to_string().contains("capital change would make cash/NAV invalid"), "{err}");
        assert_eq!(p.cash, 1_000.0);
        assert!(events.capital_changes().is_empty() && events.due(0));
    }

    #[test]
    fn without_leverage_only_cash_can_be_withdrawn() {
        let (mut p, mut locked, mut events) = (Portfolio::new(100.0, 1), LockedCash::new(100.0, 1, crate::account::LockNotionalUpdateMode::PositionLegs), CashEvents::default());
        events.set_flows(vec![CapitalFlow { bar: 0, kind: CapitalFlowKind::Delta, value: -200.0 }], 1).unwrap();
        let err = events.apply_flows(0, 10_100.0, false, &mut p, &mut locked).unwrap_err();
        assert!(err.to_string().contains("capital withdrawal exceeds available cash"), "{err}");
    }

    #[test]
    fn funding_charges_longs_pays_shorts_and_records_flat_assets() {
        // 8-hourly rate 0.01% on 1 contract at 50,000: 5.00. Asset 1 short
        // 2 units at 50,000 with multiplier 1: receives 10.00; asset 2 flat.
        let mut p = Portfolio::new(0.0, 3);
        long(&mut p, 0, 1.0);
        long(&mut p, 1, -2.0);
        let mut locked = LockedCash::new(0.0, 3, crate::account::LockNotionalUpdateMode::PositionLegs);
        let mut events = CashEvents::default();
        let rate = FundingTerms::Rate(0.0001);
        events.set_funding(vec![
            FundingEvent { bar: 0, asset: 0, terms: rate },
            FundingEvent { bar: 0, asset: 1, terms: rate },
            FundingEvent { bar: 0, asset: 2, terms: FundingTerms::AmountPerUnit(1.0) },
        ], 1, 3).unwrap();
        events.apply_funding(0, &mut p, &mut locked, |_| 50_000.0).unwrap();
        let paid: Vec<f64> = events.funding_payments().iter().map(|x| x.cash_delta).collect();
        assert_eq!(paid, vec![-5.0, 10.0, 0.0]);
        assert!(events.funding_payments()[2].mark_price.is_nan());
        assert_eq!(p.cash, 5.0);
    }

    #[test]
    fn a_rate_without_a_mark_refuses_every_event_of_its_bar() {
        let mut p = Portfolio::new(0.0, 2);
        long(&mut p, 0, 1.0);
        long(&mut p, 1, 1.0);
        let (mut locked, mut events) = (LockedCash::new(0.0, 2, crate::account::LockNotionalUpdateMode::PositionLegs), CashEvents::default());
        let rate = FundingTerms::Rate(0.01);
        events.set_funding(vec![FundingEvent { bar: 0, asset: 0, terms: rate }, FundingEvent { bar: 0, asset: 1, terms: rate }], 1, 2)
            .unwrap();
        let err = events.apply_funding(0, &mut p, &mut locked, |a| if a == 0 { 100.0 } else { f64::NAN }).unwrap_err();
        assert!(err.to_string().contains("funding mark is unavailable for asset index 1"), "{err}");
        assert_eq!(p.cash, 0.0);
        assert!(events.funding_payments().is_empty());
    }

    #[test]
    fn schedules_are_checked() {
        let mut events = CashEvents::default();
        let flow = |bar, value| CapitalFlow { bar, kind: CapitalFlowKind::Delta, value };
        assert!(events.set_flows(vec![flow(2, 1.0), flow(1, 1.0)], 3).unwrap_err().to_string().contains("sorted"));
        assert!(events.set_flows(vec![flow(3, 1.0)], 3).unwrap_err().to_string().contains("not in the feed"));
        assert!(events.set_flows(vec![flow(0, f64::NAN)], 3).unwrap_err().to_string().contains("finite"));
        let target = CapitalFlow { bar: 0, kind: CapitalFlowKind::Target, value: -1.0 };
        assert!(events.set_flows(vec![target], 3).unwrap_err().to_string().contains("nonnegative"));
        let event = |asset, terms| FundingEvent { bar: 0, asset, terms };
        let r = FundingTerms::Rate(0.01);
        assert!(events.set_funding(vec![event(0, r), event(0, r)], 1, 1).unwrap_err().to_string().contains("duplicate"));
        assert!(events.set_funding(vec![event(1, r)], 1, 1).unwrap_err().to_string().contains("not in the feed"));
        let nan = FundingTerms::AmountPerUnit(f64::NAN);
        assert!(events.set_funding(vec![event(0, nan)], 1, 1).unwrap_err().to_string().contains("finite"));
    }
}
