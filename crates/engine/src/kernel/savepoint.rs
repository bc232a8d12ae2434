//! Undoing a strategy callback that raised. ml4t-backtest rolls its broker
//! back to where a failed callback found it (orders it submitted, immediate
//! fills with their cash, positions and trades, the volume they used); so
//! does the kernel, for the callback of a bar (between `begin_bar` and
//! `end_bar`).
//!
//! The state is captured lazily, in parts: the first call inside the window
//! that changes orders (`note_change`) records the order book (by length,
//! and the pending orders by value) and the submission prechecks; the first
//! that changes rules (`note_rules`) the rules and their memory; the first
//! fill or matching pass (`note_fill`) the portfolio, the account and the
//! volume budget as well. A callback that only reads costs nothing; one that
//! only submits orders copies no positions.

use crate::account::Account;
use crate::orders::BookSavepoint;
use crate::portfolio::PortfolioSavepoint;
use crate::risk::prechecks::Prechecks;
use crate::rules::evaluation::PositionRules;

use super::Engine;

/// What a strategy callback found, to return to if it raises.
#[derive(Debug)]
pub(crate) struct Savepoint {
    book: BookSavepoint,
    prechecks: Prechecks,
    /// Recorded at the callback's first rule change or fill.
    rules: Option<PositionRules>,
    /// Recorded at the callback's first fill (nothing before it changes these).
    fills: Option<FillSavepoint>,
}

/// What fills change: the fill record, positions and cash, the account, the volume budget.
#[derive(Debug)]
struct FillSavepoint {
    fills_len: usize,
    portfolio: PortfolioSavepoint,
    account: Account,
    volume_consumed: Vec<(u32, f64)>,
}

impl Engine {
    /// Called first by every engine call that changes orders or rules:
    /// inside a callback window, the first one records what it finds.
    #[inline]
    pub(crate) fn note_change(&mut self) {
        if self.callback_window && self.savepoint.is_none() {
            self.savepoint = Some(Box::new(Savepoint {
                book: self.book.savepoint(),
                prechecks: self.prechecks.clone(),
                rules: None,
                fills: None,
            }));
        }
    }

    /// Called first by every engine call that changes position rules or
    /// their memory: inside a callback window, the first one records them.
    #[inline]
    pub(crate) fn note_rules(&mut self) {
        if !self.callback_window || self.savepoint.as_ref().is_some_and(|s| s.rules.is_some()) {
            return;
        }
        self.note_change();
        let rules = self.rules.clone();
        if let Some(sp) = self.savepoint.as_mut() {
            sp.rules = Some(rules);
        }
    }

    /// Called first by every fill and matching pass: inside a callback
    /// window, the first one also records positions, cash and the account
    /// (and the rules, whose memory a fill moves).
    #[inline]
    pub(crate) fn note_fill(&mut self) {
        if !self.callback_window || self.savepoint.as_ref().is_some_and(|s| s.fills.is_some()) {
            return;
        }
        self.note_rules();
        let fills = FillSavepoint {
            fills_len: self.fills.len(),
            portfolio: self.portfolio.savepoint(),
            account: self.account.clone(),
            volume_consumed: self.volume_consumed.clone(),
        };
        if let Some(sp) = self.savepoint.as_mut() {
            sp.fills = Some(fills);
        }
    }

    /// Opens the window of a bar's strategy callback (`begin_bar` done).
    pub(crate) fn open_callback_window(&mut self) {
        self.callback_window = true;
        self.savepoint = None;
    }

    /// Closes it (the callback returned; `end_bar` begins).
    pub(crate) fn close_callback_window(&mut self) {
        self.callback_window = false;
        self.savepoint = None;
    }

    /// Undoes what the strategy changed since the callback window opened
    /// (its callback raised); true if there was anything to undo. The
    /// window closes: what follows is not recorded.
    pub fn rollback_callback(&mut self) -> bool {
        self.callback_window = false;
        let Some(sp) = self.savepoint.take() else { return false };
        let Savepoint { book, prechecks, rules, fills } = *sp;
        self.book.restore(book);
        self.prechecks = prechecks;
        if let Some(rules) = rules {
            self.rules = rules;
        }
        if let Some(FillSavepoint { fills_len, portfolio, account, volume_consumed }) = fills {
            self.fills.truncate(fills_len);
            self.portfolio.restore(portfolio);
            self.account = account;
            self.volume_consumed = volume_consumed;
        }
        true
    }
}
