//! Why an order was refused. Control flow matches on the variant; the
//! display text is ml4t-backtest's message, which users (and the
//! differential tests) read as `order.rejection_reason`.

use std::fmt;

/// Why the account, a risk check or the venue refused an order.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A margin account's buying power does not cover the entry.
    InsufficientBuyingPower { need: f64, have: f64, initial_margin: f64 },
    /// A cash account cannot flip a position through zero.
    ReversalNotAllowed,
    /// As `ReversalNotAllowed`, as the submission shadow words it.
    ReversalNotAllowedFrom { current: f64, delta: f64 },
    /// A cash account cannot open a short.
    ShortSellingNotAllowed,
    /// A cash account cannot add to (or hold) a short.
    ShortPositionsNotAllowed,
    /// What is left after closing does not pay for the reversed position.
    InsufficientCashForReversal { need: f64, have: f64 },
    /// A new position in an account that may short (the message says which side).
    InsufficientCashFor { short: bool, need: f64, have: f64 },
    InsufficientCash { need: f64, have: f64 },
    /// A futures-style (scheduled) margin check that produced no number.
    MarginNotFinite,
    InsufficientMargin { need: f64, equity: f64 },
    /// Locked collateral (LOCK_NOTIONAL) does not pay for the cover.
    InsufficientCashToCoverShort,
    /// Locked collateral does not pay for the reversal.
    InsufficientLockedCashForReversal,
    /// Slippage or impact made a locked-short cover unaffordable.
    InsufficientCashToCoverShortAtFinalPrice,
    /// An integer account floored the quantity to zero.
    QuantityRoundsToZero,
    /// The next-bar submission precheck's shadow account went negative.
    SubmissionPrecheckCash,
    /// Backtrader's cash check at the open.
    OpenCashCheck,
    /// LEAN's buying-power reservation at submission found too little.
    ReservationBuyingPower,
    /// An immediate fill found no price from the configured source.
    NoPrice,
    /// A portfolio limit that halts entries is breached (`text` says how).
    PortfolioLimit { name: String, text: String },
    /// A live or paper venue refused the order; `text` is its message.
    Venue { text: String },
}

/// The stable, machine-readable class of a refusal (ml4t-backtest's
/// `Order.rejection_code`); `as_str` is ml4t's name.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionCode {
    /// A cash account (or its submission shadow) cannot pay for the order.
    InsufficientCash = 0,
    /// A margin account's buying power or margin does not cover the order.
    InsufficientBuyingPower = 1,
    /// The account forbids it whatever the quantity (no shorts in a cash account).
    AccountRestriction = 2,
    /// An integer account floored the quantity to zero.
    QuantityRoundsToZero = 3,
    /// No price from the configured source to fill at.
    PriceUnavailable = 4,
    /// Beyond ml4t: a portfolio limit halts entries.
    PortfolioLimit = 5,
    /// Beyond ml4t: a live or paper venue refused the order.
    VenueRejected = 6,
}

impl RejectionCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::InsufficientCash => "insufficient_cash",
            RejectionCode::InsufficientBuyingPower => "insufficient_buying_power",
            RejectionCode::AccountRestriction => "account_restriction",
            RejectionCode::QuantityRoundsToZero => "quantity_rounds_to_zero",
            RejectionCode::PriceUnavailable => "price_unavailable",
            RejectionCode::PortfolioLimit => "portfolio_limit",
            RejectionCode::VenueRejected => "venue_rejected",
        }
    }
}

impl Refusal {
    /// The refusal's class, decided by the variant (never by its message).
    pub fn code(&self) -> RejectionCode {
        use Refusal::*;
        match self {
            InsufficientBuyingPower { .. } | MarginNotFinite | InsufficientMargin { .. } | ReservationBuyingPower => {
                RejectionCode::InsufficientBuyingPower
            }
            ReversalNotAllowed | ReversalNotAllowedFrom { .. } | ShortSellingNotAllowed | ShortPositionsNotAllowed => {
                RejectionCode::AccountRestriction
            }
            InsufficientCashForReversal { .. }
            | InsufficientCashFor { .. }
            | InsufficientCash { .. }
            | InsufficientCashToCoverShort
            | InsufficientLockedCashForReversal
            | InsufficientCashToCoverShortAtFinalPrice
            | SubmissionPrecheckCash
            | OpenCashCheck => RejectionCode::InsufficientCash,
            QuantityRoundsToZero => RejectionCode::QuantityRoundsToZero,
            NoPrice => RejectionCode::PriceUnavailable,
            PortfolioLimit { .. } => RejectionCode::PortfolioLimit,
            Venue { .. } => RejectionCode::VenueRejected,
        }
    }

    /// A cash shortfall: a smaller quantity may be accepted (partial fills).
    pub fn is_insufficient_cash(&self) -> bool {
        use Refusal::*;
        matches!(
            self,
            InsufficientBuyingPower { .. }
                | InsufficientCashForReversal { .. }
                | InsufficientCashFor { .. }
                | InsufficientCash { .. }
                | InsufficientMargin { .. }
                | InsufficientCashToCoverShort
                | InsufficientLockedCashForReversal
                | InsufficientCashToCoverShortAtFinalPrice
                | SubmissionPrecheckCash
                | OpenCashCheck
                | ReservationBuyingPower
        )
    }

    /// A restriction of the account no quantity can fix (no shorts in a cash account).
    pub fn is_account_restriction(&self) -> bool {
        use Refusal::*;
        matches!(
            self,
            ReversalNotAllowed | ReversalNotAllowedFrom { .. } | ShortSellingNotAllowed | ShortPositionsNotAllowed
        )
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Refusal::*;
        match self {
            InsufficientBuyingPower { need, have, initial_margin } => write!(
                f,
                "Insufficient buying power: need ${need:.2}, have ${have:.2} (IM={:.1}%)",
                initial_margin * 100.0
            ),
            ReversalNotAllowed => f.write_str("Position reversal not allowed in cash account"),
            ReversalNotAllowedFrom { current, delta } => write!(
                f,
                "Position reversal not allowed in cash account (current: {current:.2}, delta: {delta:.2})"
            ),
            ShortSellingNotAllowed => f.write_str("Short selling not allowed in cash account"),
            ShortPositionsNotAllowed => f.write_str("Short positions not allowed in cash account"),
            InsufficientCashForReversal { need, have } => {
                write!(f, "Insufficient cash for reversal: need ${need:.2}, have ${have:.2} after closing")
            }
            InsufficientCashFor { short, need, have } => {
                let side = if *short { "short" } else { "long" };
                write!(f, "Insufficient cash for {side}: need ${need:.2}, have ${have:.2}")
            }
            InsufficientCash { need, have } => write!(f, "Insufficient cash: need ${need:.2}, have ${have:.2}"),
            MarginNotFinite => f.write_str("Projected margin and equity must be finite"),
            InsufficientMargin { need, equity } => {
                write!(f, "Insufficient margin: need ${need:.2}, equity ${equity:.2}")
            }
            InsufficientCashToCoverShort => f.write_str("Insufficient cash to cover short"),
            InsufficientLockedCashForReversal => f.write_str("Insufficient cash for reversal"),
            InsufficientCashToCoverShortAtFinalPrice => f.write_str("Insufficient cash to cover short at final price"),
            QuantityRoundsToZero => f.write_str("Quantity rounds to zero (share_type=INTEGER)"),
            SubmissionPrecheckCash => f.write_str("Insufficient cash (submission precheck)"),
            OpenCashCheck => f.write_str("Insufficient cash (open cash check)"),
            ReservationBuyingPower => f.write_str("Insufficient buying power"),
            NoPrice => f.write_str("No price available"),
            PortfolioLimit { name, text } => write!(f, "Portfolio limit {name}: {text}"),
            Venue { text } => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_ml4ts() {
        let r = Refusal::InsufficientBuyingPower { need: 6000.0, have: 5000.0, initial_margin: 0.5 };
        assert_eq!(r.to_string(), "Insufficient buying power: need $6000.00, have $5000.00 (IM=50.0%)");
        let r = Refusal::InsufficientCashFor { short: true, need: 1234.567, have: 1000.0 };
        assert_eq!(r.to_string(), "Insufficient cash for short: need $1234.57, have $1000.00");
        let r = Refusal::ReversalNotAllowedFrom { current: 10.0, delta: -25.0 };
        assert_eq!(r.to_string(), "Position reversal not allowed in cash account (current: 10.00, delta: -25.00)");
    }

    #[test]
    fn classes_are_disjoint() {
        let all = [
            Refusal::InsufficientBuyingPower { need: 1.0, have: 0.0, initial_margin: 0.5 },
            Refusal::ReversalNotAllowed,
            Refusal::ReversalNotAllowedFrom { current: 1.0, delta: -2.0 },
            Refusal::ShortSellingNotAllowed,
            Refusal::ShortPositionsNotAllowed,
            Refusal::InsufficientCashForReversal { need: 1.0, have: 0.0 },
            Refusal::InsufficientCashFor { short: false, need: 1.0, have: 0.0 },
            Refusal::InsufficientCash { need: 1.0, have: 0.0 },
            Refusal::MarginNotFinite,
            Refusal::InsufficientMargin { need: 1.0, equity: 0.0 },
            Refusal::InsufficientCashToCoverShort,
            Refusal::InsufficientLockedCashForReversal,
            Refusal::InsufficientCashToCoverShortAtFinalPrice,
            Refusal::QuantityRoundsToZero,
            Refusal::SubmissionPrecheckCash,
            Refusal::OpenCashCheck,
            Refusal::ReservationBuyingPower,
            Refusal::NoPrice,
            Refusal::PortfolioLimit { name: "MaxDrawdownLimit".into(), text: "drawdown 21.0% >= 20.0%".into() },
            Refusal::Venue { text: "unknown symbol".into() },
        ];
        // Every variant once.
        let kinds: std::collections::HashSet<_> = all.iter().map(std::mem::discriminant).collect();
        assert_eq!(kinds.len(), all.len());
        for r in &all {
            // The classes agree with the words ml4t uses for them.
            let text = r.to_string().to_lowercase();
            assert_eq!(r.is_insufficient_cash(), text.contains("insufficient"), "{r}");
            assert_eq!(r.is_account_restriction(), text.contains("not allowed"), "{r}");
            // The code agrees with the classes.
            assert_eq!(r.code() == RejectionCode::AccountRestriction, r.is_account_restriction(), "{r}");
            let shortfall = matches!(r.code(), RejectionCode::InsufficientCash | RejectionCode::InsufficientBuyingPower);
            assert_eq!(shortfall, r.is_insufficient_cash() || matches!(r, Refusal::MarginNotFinite), "{r}");
        }
        assert_eq!(Refusal::InsufficientMargin { need: 2.0, equity: 1.0 }.code().as_str(), "insufficient_buying_power");
        assert_eq!(Refusal::SubmissionPrecheckCash.code().as_str(), "insufficient_cash");
        assert_eq!(Refusal::QuantityRoundsToZero.code().as_str(), "quantity_rounds_to_zero");
        assert_eq!(Refusal::NoPrice.code().as_str(), "price_unavailable");
    }

    #[test]
    fn codes_are_ml4ts_names() {
        let code = |r: Refusal| r.code().as_str();
        assert_eq!(code(Refusal::InsufficientCash { need: 2.0, have: 1.0 }), "insufficient_cash");
        assert_eq!(code(Refusal::SubmissionPrecheckCash), "insufficient_cash");
        assert_eq!(code(Refusal::InsufficientBuyingPower { need: 2.0, have: 1.0, initial_margin: 0.5 }),
                   "insufficient_buying_power");
        assert_eq!(code(Refusal::ShortSellingNotAllowed), "account_restriction");
        assert_eq!(code(Refusal::QuantityRoundsToZero), "quantity_rounds_to_zero");
        assert_eq!(code(Refusal::NoPrice), "price_unavailable");
    }
}
