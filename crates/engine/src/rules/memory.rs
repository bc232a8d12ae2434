//! What position rules read and remember beyond the bar: context values the
//! strategy attaches to a position (an ATR, an exit signal: ml4t-backtest's
//! `broker.update_position_context`), and the state its stateful rules keep
//! (`ScaledExit`'s triggered targets, `VolatilityStop`'s entry ATR).

use std::collections::HashMap;

use nl_core::AssetId;

/// A context value's name, interned by the caller (the same number in rules
/// and in context updates).
pub type ContextKey = u32;

/// The memory of one stateful rule instance. ml4t keeps it on the rule
/// object, so every position and asset the instance governs shares it and
/// nothing clears it but the rule's `reset()`.
pub type MemorySlot = u32;

#[derive(Debug, Clone, Default)]
pub(crate) struct PositionContext {
    /// The position the values belong to: a new position (opened or
    /// reversed) starts with an empty context, as in ml4t.
    serial: u64,
    values: Vec<(ContextKey, f64)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RuleCell {
    /// ScaledExit: the return thresholds already acted on.
    triggered: Vec<f64>,
    /// VolatilityStop(use_entry_atr): the first usable ATR it saw.
    entry_atr: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct RuleMemory {
    /// By asset index; grown on first use.
    contexts: Vec<PositionContext>,
    cells: HashMap<MemorySlot, RuleCell>,
}

impl RuleMemory {
    /// The value `key` of the position `serial` in `asset`, if the strategy set one.
    pub fn context(&self, asset: AssetId, serial: u64, key: ContextKey) -> Option<f64> {
        let ctx = self.contexts.get(asset as usize)?;
        if ctx.serial != serial {
            return None;
        }
        ctx.values.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Sets (`Some`) or removes (`None`: ml4t's rules treat a missing value
    /// and `None` alike) `key` for the position `serial` in `asset`.
    pub fn set_context(&mut self, asset: AssetId, serial: u64, key: ContextKey, value: Option<f64>) {
        let i = asset as usize;
        if self.contexts.len() <= i {
            self.contexts.resize_with(i + 1, PositionContext::default);
        }
        let ctx = &mut self.contexts[i];
        if ctx.serial != serial {
            *ctx = PositionContext { serial, values: Vec::new() };
        }
        let at = ctx.values.iter().position(|(k, _)| *k == key);
        match (at, value) {
            (Some(j), Some(v)) => ctx.values[j].1 = v,
            (None, Some(v)) => ctx.values.push((key, v)),
            (Some(j), None) => {
                ctx.values.swap_remove(j);
            }
            (None, None) => {}
        }
    }

    /// `set_context` from the strategy: applied only while `serial` is the
    /// position open in `asset` (`open`: the serial open now, if any).
    /// Returns false, changing nothing, otherwise (ml4t ignores updates for
    /// a flat asset).
    pub fn update_open_context(&mut self, open: Option<u64>, asset: AssetId, serial: u64, key: ContextKey,
                               value: Option<f64>) -> bool {
        if open != Some(serial) {
            return false;
        }
        self.set_context(asset, serial, key, value);
        true
    }

    pub fn is_triggered(&self, slot: MemorySlot, threshold: f64) -> bool {
        self.cells.get(&slot).is_some_and(|c| c.triggered.contains(&threshold))
    }

    pub fn mark_triggered(&mut self, slot: MemorySlot, threshold: f64) {
        self.cells.entry(slot).or_default().triggered.push(threshold);
    }

    /// The ATR the rule in `slot` first saw, recording `atr` if it saw none yet.
    pub fn entry_atr(&mut self, slot: MemorySlot, atr: f64) -> f64 {
        *self.cells.entry(slot).or_default().entry_atr.get_or_insert(atr)
    }

    /// Forgets what the rule in `slot` remembered (ml4t's `rule.reset()`).
    pub fn reset(&mut self, slot: MemorySlot) {
        self.cells.remove(&slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_position_starts_with_an_empty_context() {
        let mut m = RuleMemory::default();
        m.set_context(3, 7, 0, Some(2.5));
        m.set_context(3, 7, 1, Some(-0.4));
        assert_eq!((m.context(3, 7, 0), m.context(3, 7, 1)), (Some(2.5), Some(-0.4)));
        // Position 8 in the same asset (reopened or reversed) does not see 7's values.
        assert_eq!(m.context(3, 8, 0), None);
        m.set_context(3, 8, 1, Some(0.9));
        assert_eq!((m.context(3, 8, 0), m.context(3, 8, 1), m.context(3, 7, 1)), (None, Some(0.9), None));
        // None removes a value.
        m.set_context(3, 8, 1, None);
        assert_eq!(m.context(3, 8, 1), None);
    }

    #[test]
    fn the_strategy_writes_only_to_the_open_position() {
        let mut m = RuleMemory::default();
        // Flat asset: ignored.
        assert!(!m.update_open_context(None, 2, 5, 0, Some(1.5)));
        assert_eq!(m.context(2, 5, 0), None);
        // Position 5 is open: applied.
        assert!(m.update_open_context(Some(5), 2, 5, 0, Some(1.5)));
        assert_eq!(m.context(2, 5, 0), Some(1.5));
        // A write for position 4 after 5 opened: ignored, 5 keeps its value.
        assert!(!m.update_open_context(Some(5), 2, 4, 0, Some(9.0)));
        assert_eq!((m.context(2, 4, 0), m.context(2, 5, 0)), (None, Some(1.5)));
    }

    #[test]
    fn rule_memory_is_kept_until_reset() {
        let mut m = RuleMemory::default();
        assert_eq!(m.entry_atr(1, 2.0), 2.0);
        assert_eq!(m.entry_atr(1, 3.0), 2.0); // the first ATR sticks
        m.mark_triggered(1, 0.05);
        assert!(m.is_triggered(1, 0.05) && !m.is_triggered(1, 0.1) && !m.is_triggered(2, 0.05));
        m.reset(1);
        assert!(!m.is_triggered(1, 0.05));
        assert_eq!(m.entry_atr(1, 3.0), 3.0);
    }
}
